package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.HostWipe;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.InputRef;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OutputAssembler;
import dev.depin.network.spi.ReceivedOutput;
import dev.depin.network.spi.TransportBuffers;
import dev.depin.provider.ProviderRejectedException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A node with an input cache: inputs kept with the buyer's consent, staged from the cache, evictions attested. */
class NodeInputCacheTest {
    private static final long SEED = 0x15C0DEL;
    private static final String BUYER = "cd".repeat(32);
    private static final byte[] NONCE = new byte[ExecutionRequest.NONCE_BYTES];
    private final SplittableRandom random = new SplittableRandom(SEED);

    NodeInputCacheTest() {
        System.out.println("NodeInputCacheTest seed 0x" + Long.toHexString(SEED));
    }

    private float[] floats(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }

    private Job saxpy(float[] x, float[] y) {
        return Job.builder(BuiltinKernel.SAXPY).param("n", x.length).param("alpha", 2f).input("x", x).input("y", y)
                .build();
    }

    private record Ran(NodeResult result, Map<String, ReceivedOutput> outputs, Set<String> kept) {
    }

    private static Ran run(ProviderNode node, Job job, int attempt, Map<String, ByteBuffer> sent,
                           InputCaching caching) throws Exception {
        ExecutionRequest r = new ExecutionRequest("0123456789abcdef0123456789abcdef", attempt, job.spec(), sent, NONCE);
        OutputAssembler out = r.newAssembler();
        NodeAttempt a = node.submit(r, p -> { }, out, TransportBuffers.NONE, BUYER, caching);
        NodeResult result = a.result().get(20, TimeUnit.SECONDS);
        return new Ran(result, out.finish(), a.inputsKept());
    }

    private static WipeAttestation wipe(NodeResult r) {
        return WipeAttestation.readUnverified(r.wipe());
    }

    @Test
    void aKeptInputIsServedFromTheCacheAndItsEvictionIsAttestedToItsOwner() throws Exception {
        int n = 3000; // 12,000-byte inputs: three 4 KiB leaves each
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), new CpuExecutor(1))
                .receiptBatching(0).inputCache(new InputCache.Limits(24_000, 8, 24_000, 8, Duration.ofMinutes(5)))
                .meterRegistry(registry).build()) {
            InputCache cache = node.inputCache().orElseThrow();
            float[] x = floats(n);
            Job first = saxpy(x, floats(n));
            Ran cold = run(node, first, 1, first.inputs(), new InputCaching(true, Map.of()));
            assertEquals(Set.of("x", "y"), cold.kept());
            assertEquals(24_000, cache.bytes());

            // Same x, new y: x by root only, y sent and kept (evicting the old y, least recently used).
            Job second = saxpy(x, floats(n));
            InputRef xRef = second.spec().inputs().get(0);
            InputRef oldY = first.spec().inputs().get(1);
            InputCache.Lease lease = cache.acquire(BUYER, xRef).orElseThrow();
            Ran warm = run(node, second, 2, Map.of("y", second.inputs().get("y")),
                    new InputCaching(true, Map.of("x", lease)));
            assertEquals(Set.of("x", "y"), warm.kept());
            Ran reference = run(node, second, 3, second.inputs(), InputCaching.NONE);
            org.junit.jupiter.api.Assertions.assertArrayEquals(reference.outputs().get("out").merkleRoot(),
                    warm.outputs().get("out").merkleRoot());
            String label = "cache:evicted:" + oldY.merkleRoot();
            WipeRecord evicted = new WipeRecord(WipeRecord.HOST, label, 12_000, 12_000, 0,
                    WipeRecord.HOST_READBACK_COMPARE, HostWipe.checkDigest(WipeRecord.HOST, label, 12_000, 0, 0));
            // The eviction happened while the second attempt staged, before its wipe: listed there, once.
            assertEquals(List.of(evicted), wipe(warm.result()).buffers().stream()
                    .filter(b -> b.label().startsWith("cache:")).toList());
            assertEquals(List.of(), wipe(reference.result()).buffers().stream()
                    .filter(b -> b.label().startsWith("cache:")).toList());
            assertEquals(Set.of(), reference.kept(), "kept without the buyer's consent");
            assertEquals(24_000, registry.get("depin.node.input.cache.bytes").gauge().value());
            assertEquals(1, registry.get("depin.node.input.cache.lookups").tag("result", "hit").functionCounter()
                    .count());
            assertEquals(1, registry.get("depin.node.input.cache.evictions").functionCounter().count());
        }
    }

    @Test
    void aLeaseOfAnotherBuyerOrInputIsRefused() throws Exception {
        try (ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), new CpuExecutor(1))
                .receiptBatching(0).inputCache(InputCache.Limits.of(1 << 20, 8)).build()) {
            InputCache cache = node.inputCache().orElseThrow();
            Job job = saxpy(floats(64), floats(64));
            run(node, job, 1, job.inputs(), new InputCaching(true, Map.of()));
            // The lease of y handed in as x: the node refuses rather than stage the wrong bytes.
            InputCache.Lease y = cache.acquire(BUYER, job.spec().inputs().get(1)).orElseThrow();
            ExecutionException e = assertThrows(ExecutionException.class, () -> run(node, job, 2,
                    Map.of("y", job.inputs().get("y")), new InputCaching(false, Map.of("x", y))));
            assertEquals(ProviderRejectedException.class, e.getCause().getClass());
            assertEquals("input 'x' was taken from a cache entry that is not this node's entry of that root for this "
                    + "buyer: transport bug, report it", e.getCause().getMessage());
            // The node let the lease go: the entry can be evicted again.
            assertTrue(cache.holds(BUYER, job.spec().inputs().get(1)));
        }
    }

    @Test
    void theOfferStatesTheCacheSignedAndOffersWithoutItSignTheSameBytesAsBefore() {
        NodeKeyPair key = NodeKeyPair.fromSeed(new byte[32]);
        try (ProviderNode plain = ProviderNode.builder(key, new CpuExecutor(1)).build();
             ProviderNode caching = ProviderNode.builder(key, new CpuExecutor(1))
                     .inputCache(InputCache.Limits.of(3L << 30, 100)).build()) {
            String without = new String(plain.offer().toJson(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(!without.contains("inputCacheBytes"), without);
            assertEquals(0, dev.depin.provider.ProviderOffer.fromJson(plain.offer().toJson()).terms().inputCacheBytes());
            dev.depin.provider.ProviderOffer offer = caching.offer();
            dev.depin.provider.ProviderOffer back = dev.depin.provider.ProviderOffer.fromJson(offer.toJson());
            back.verify(java.time.Instant.now());
            assertEquals(3L << 30, back.terms().inputCacheBytes());
            String json = new String(offer.toJson(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(json.contains("\"inputCacheBytes\":3221225472"), json);
            // Signed: a larger claim does not verify; zero has no second encoding.
            dev.depin.provider.ProviderOffer inflated = dev.depin.provider.ProviderOffer.fromJson(
                    json.replace("\"inputCacheBytes\":3221225472", "\"inputCacheBytes\":6442450944")
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThrows(dev.depin.provider.InvalidOfferException.class, () -> inflated.verify(java.time.Instant.now()));
            assertEquals("offer field 'inputCacheBytes' is 0: omit it for none, else give a positive byte count",
                    assertThrows(dev.depin.provider.InvalidOfferException.class, () -> dev.depin.provider.ProviderOffer
                            .fromJson(json.replace("\"inputCacheBytes\":3221225472", "\"inputCacheBytes\":0")
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8))).getMessage());
        }
    }
}
