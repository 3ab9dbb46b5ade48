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
    void cachedInputsReadInPlace_sameOutput_entriesUnchanged_statedInTheAttestation_wipedAndListedOnEviction()
            throws Exception {
        int n = 3000; // 12,000-byte inputs
        NodeKeyPair key = NodeKeyPair.fromSeed(new byte[32]);
        try (ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).receiptBatching(0)
                .inputCache(new InputCache.Limits(24_000, 8, 24_000, 8, Duration.ofMinutes(5))).build()) {
            InputCache cache = node.inputCache().orElseThrow();
            Job job = saxpy(floats(n), floats(n));
            InputRef x = job.spec().inputs().get(0);
            InputRef y = job.spec().inputs().get(1);
            run(node, job, 1, job.inputs(), new InputCaching(true, Map.of()));
            Ran reference = run(node, job, 2, job.inputs(), InputCaching.NONE);

            Ran inPlace = run(node, job, 3, Map.of(), new InputCaching(false, Map.of("x",
                    cache.acquire(BUYER, x).orElseThrow(), "y", cache.acquire(BUYER, y).orElseThrow()), false, true));
            org.junit.jupiter.api.Assertions.assertArrayEquals(reference.outputs().get("out").merkleRoot(),
                    inPlace.outputs().get("out").merkleRoot());
            assertEquals(Set.of("x", "y"), inPlace.kept());
            List<WipeRecord> records = wipe(inPlace.result()).buffers();
            assertEquals(List.of(new WipeRecord(WipeRecord.HOST, "x", 12_000, 0, 0, WipeRecord.CACHE_IN_PLACE,
                    x.merkleRoot()), new WipeRecord(WipeRecord.HOST, "y", 12_000, 0, 0, WipeRecord.CACHE_IN_PLACE,
                    y.merkleRoot())), records.stream().filter(r -> r.bytesOverwritten() != r.bytes()).toList());
            assertTrue(records.stream().anyMatch(r -> r.label().equals("out") && r.bytesOverwritten() == r.bytes()), records.toString());
            dev.depin.crypto.ExecutionReceipt receipt = dev.depin.crypto.ExecutionReceipt.readUnverified(
                    inPlace.result().receipt());
            assertTrue(WipeAttestation.verify(inPlace.result().wipe(), inPlace.result().receipt(), key.publicKey(),
                    WipeAttestation.buffersOf(receipt), WipeAttestation.inputRootsOf(receipt)).allPassed());
            // The live buyer's rule: an input's cache-in-place record only where it sent that input
            // by root, or its network lets providers keep the inputs it sends.
            ExecutionRequest bothByRoot = new ExecutionRequest("0123456789abcdef0123456789abcdef", 3, job.spec(),
                    Map.of(), NONCE, java.util.Optional.empty(), new dev.depin.network.spi.Delivery(Set.of("x", "y"),
                    null));
            assertTrue(WipeAttestation.verify(inPlace.result().wipe(), inPlace.result().receipt(), key.publicKey(),
                    WipeAttestation.buffersOf(receipt), dev.depin.client.internal.AttemptVerifier.inCache(bothByRoot,
                            receipt, false)).allPassed());
            ExecutionRequest ySent = new ExecutionRequest("0123456789abcdef0123456789abcdef", 3, job.spec(),
                    Map.of("y", job.inputs().get("y")), NONCE, java.util.Optional.empty(),
                    new dev.depin.network.spi.Delivery(Set.of("x"), null));
            dev.depin.crypto.VerificationException refused = assertThrows(dev.depin.crypto.VerificationException.class,
                    () -> WipeAttestation.verify(inPlace.result().wipe(), inPlace.result().receipt(), key.publicKey(),
                            WipeAttestation.buffersOf(receipt), dev.depin.client.internal.AttemptVerifier.inCache(ySent,
                                    receipt, false)));
            assertEquals(dev.depin.crypto.VerificationException.Reason.WIPE_INCOMPLETE, refused.reason());
            assertTrue(refused.getMessage().contains("buffer 'y' (host, 12000 bytes) is stated as the node's cache "
                    + "entry (root " + y.merkleRoot() + "), which is allowed only for an input the buyer sent by "
                    + "root or let the node keep"), refused.getMessage());
            assertTrue(WipeAttestation.verify(inPlace.result().wipe(), inPlace.result().receipt(), key.publicKey(),
                    WipeAttestation.buffersOf(receipt), dev.depin.client.internal.AttemptVerifier.inCache(ySent,
                            receipt, true)).allPassed(), "y may have been kept from an earlier job and sent by root");
            // An older buyer's rule (every buffer overwritten) rejects it: the node reads in place only
            // for a buyer that asked (InputCaching.readInPlace, the wire's Start.buffers_in_place).
            assertEquals(dev.depin.crypto.VerificationException.Reason.WIPE_INCOMPLETE, assertThrows(
                    dev.depin.crypto.VerificationException.class, () -> WipeAttestation.verify(inPlace.result().wipe(),
                            inPlace.result().receipt(), key.publicKey(), WipeAttestation.buffersOf(receipt))).reason());
            // The kernel read the entries; it did not change them (their bytes still hash to their roots).
            for (InputRef in : List.of(x, y)) {
                try (InputCache.Lease l = cache.acquire(BUYER, in).orElseThrow()) {
                    assertEquals(in.merkleRoot(), dev.depin.crypto.Hex.encode(dev.depin.crypto.Merkle.root(l.view(),
                            dev.depin.job.JobSpec.MERKLE_CHUNK_BYTES)));
                }
            }

            // A buyer that did not ask: the cached inputs are copied into the job and wiped with it.
            Ran copied = run(node, job, 4, Map.of(), new InputCaching(false, Map.of("x",
                    cache.acquire(BUYER, x).orElseThrow(), "y", cache.acquire(BUYER, y).orElseThrow())));
            assertTrue(wipe(copied.result()).buffers().stream().allMatch(r -> r.bytesOverwritten() == r.bytes()));
            assertTrue(WipeAttestation.verify(copied.result().wipe(), copied.result().receipt(), key.publicKey(),
                    WipeAttestation.buffersOf(receipt)).allPassed());

            // The leases were let go when the attempts ended: new inputs evict both entries, each
            // wiped and listed for this buyer in the attestation of its next attempt.
            Job other = saxpy(floats(n), floats(n));
            Ran evicting = run(node, other, 5, other.inputs(), new InputCaching(true, Map.of()));
            assertEquals(Set.of("cache:evicted:" + x.merkleRoot(), "cache:evicted:" + y.merkleRoot()),
                    wipe(evicting.result()).buffers().stream().map(WipeRecord::label).filter(l -> l.startsWith("cache:"))
                            .collect(java.util.stream.Collectors.toSet()));
            assertTrue(!cache.holds(BUYER, x) && !cache.holds(BUYER, y));
        }
    }

    @Test
    void aLeftOutputIsTheJobsOwnBufferTakenOver_statedInTheAttestation_wipedAndListedWhenItExpires()
            throws Exception {
        int n = 3000;
        NodeKeyPair key = NodeKeyPair.fromSeed(new byte[32]);
        // The node's clock moves by hand, so the hold expires when the test says, not when a
        // loaded machine lets 300 ms pass between two jobs.
        dev.depin.settlement.SettlementContract.ManualClock clock =
                new dev.depin.settlement.SettlementContract.ManualClock(java.time.Instant.now());
        try (ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).receiptBatching(0).clock(clock)
                .inputCache(new InputCache.Limits(1 << 20, 8, 1 << 20, 8, Duration.ofMinutes(5))).build()) {
            InputCache cache = node.inputCache().orElseThrow();
            Job job = saxpy(floats(n), floats(n));
            Ran returned = run(node, job, 1, job.inputs(), InputCaching.NONE);
            byte[] outRoot = returned.outputs().get("out").merkleRoot();
            InputRef out = new InputRef("out", 12_000, dev.depin.crypto.Hex.encode(outRoot));
            dev.depin.network.spi.Delivery leave = new dev.depin.network.spi.Delivery(Set.of(), Duration.ofMillis(300));

            NodeResult left = leave(node, job, 2, leave, new InputCaching(false, Map.of(), false, true));
            List<WipeRecord> records = WipeAttestation.readUnverified(left.wipe()).buffers();
            assertTrue(records.contains(new WipeRecord(WipeRecord.HOST, "out", 12_000, 0, 0, WipeRecord.CACHE_IN_PLACE,
                    out.merkleRoot())), records.toString());
            assertTrue(records.stream().filter(r -> r.label().equals("out")).count() == 1, records.toString());
            dev.depin.crypto.ExecutionReceipt receipt = dev.depin.crypto.ExecutionReceipt.readUnverified(left.receipt());
            assertTrue(WipeAttestation.verify(left.wipe(), left.receipt(), key.publicKey(),
                    WipeAttestation.buffersOf(receipt), WipeAttestation.buffersInCacheOf(receipt)).allPassed());
            // A buyer that did not leave its outputs does not accept an output kept in place.
            assertThrows(dev.depin.crypto.VerificationException.class, () -> WipeAttestation.verify(left.wipe(),
                    left.receipt(), key.publicKey(), WipeAttestation.buffersOf(receipt),
                    WipeAttestation.inputRootsOf(receipt)));
            try (InputCache.Lease l = cache.acquire(BUYER, out).orElseThrow()) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(outRoot, dev.depin.crypto.Merkle.root(l.view(),
                        dev.depin.job.JobSpec.MERKLE_CHUNK_BYTES), "the held entry is the job's output, unchanged");
            }

            // The same output left again: the cache holds these bytes already, so the job's buffer
            // stays the job's and is wiped with it.
            NodeResult again = leave(node, job, 3, leave, new InputCaching(false, Map.of(), false, true));
            List<WipeRecord> againRecords = WipeAttestation.readUnverified(again.wipe()).buffers();
            assertTrue(againRecords.stream().anyMatch(r -> r.label().equals("out") && r.bytes() == 12_000
                    && r.bytesOverwritten() == 12_000), againRecords.toString());
            assertTrue(againRecords.stream().noneMatch(r -> r.method().equals(WipeRecord.CACHE_IN_PLACE)));

            // A buyer that did not ask: copied into the cache, the job's buffer wiped.
            NodeResult copied = leave(node, saxpy(floats(n), floats(n)), 4, leave, InputCaching.NONE);
            assertTrue(WipeAttestation.readUnverified(copied.wipe()).buffers().stream()
                    .allMatch(r -> r.bytesOverwritten() == r.bytes()));

            // Held for 300 ms, then expired: wiped and listed for the buyer in its next attempt.
            clock.advance(Duration.ofMillis(400));
            assertEquals(2, cache.expireIdle(), "this output and the copied one (the node does this periodically)");
            Ran next = run(node, job, 5, job.inputs(), InputCaching.NONE);
            assertTrue(wipe(next.result()).buffers().stream().anyMatch(r -> r.label().equals("cache:expired:"
                    + out.merkleRoot()) && r.bytesOverwritten() == 12_000), wipe(next.result()).buffers().toString());
            assertTrue(!cache.holds(BUYER, out));
        }
    }

    private static NodeResult leave(ProviderNode node, Job job, int attempt, dev.depin.network.spi.Delivery delivery,
                                    InputCaching caching) throws Exception {
        ExecutionRequest r = new ExecutionRequest("0123456789abcdef0123456789abcdef", attempt, job.spec(), job.inputs(),
                NONCE, java.util.Optional.empty(), delivery);
        NodeAttempt a = node.submit(r, p -> { }, r.newAssembler(), TransportBuffers.NONE, BUYER, caching);
        return a.result().get(20, TimeUnit.SECONDS);
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
