package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.buyer;
import static dev.depin.grpc.CacheFixtures.bytes;
import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.node;
import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.wire.FetchRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.network.OutputGoneException;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs kept on the node, read back in chunks with their inclusion proofs over loopback
 * mutual TLS: the chunks equal the bytes the job returned, only the buyer whose job kept the
 * output can read it, and an output the node no longer holds (evicted, expired, restarted)
 * is a clear error that moves no money.
 */
class OutputFetchOverGrpcTest {
    private static final long SEED = 0xF37C4L;
    private final SplittableRandom random = new SplittableRandom(SEED);

    OutputFetchOverGrpcTest() {
        System.out.println("OutputFetchOverGrpcTest seed 0x" + Long.toHexString(SEED));
    }

    private Job saxpy(int n) {
        return CacheFixtures.saxpy(floats(random, n), floats(random, n), 50_000);
    }

    /** The output's digest as the receipt the client verified commits to it. */
    static BufferDigest out(JobResult r) {
        return ExecutionReceipt.readUnverified(r.receipt()).outputs().stream()
                .filter(d -> d.name().equals("out")).findFirst().orElseThrow();
    }

    /** Every chunk of the output, in calls of at most 64 chunks and 2 MiB. */
    static byte[] fetchAll(GrpcNetwork net, NodeId provider, BufferDigest d, int chunkBytes) throws Exception {
        int count = (int) ((d.bytes() + chunkBytes - 1) / chunkBytes);
        int perCall = Math.max(1, Math.min(64, (2 << 20) / chunkBytes));
        byte[] all = new byte[(int) d.bytes()];
        for (int from = 0; from < count; from += perCall) {
            List<Integer> asked = new ArrayList<>();
            for (int i = from; i < Math.min(count, from + perCall); i++) {
                asked.add(i);
            }
            List<ByteBuffer> got = net.fetch(provider, d.merkleRoot(), d.bytes(), chunkBytes, asked)
                    .get(30, TimeUnit.SECONDS);
            for (int k = 0; k < asked.size(); k++) {
                got.get(k).duplicate().get(all, asked.get(k) * chunkBytes, got.get(k).remaining());
            }
        }
        return all;
    }

    private static Throwable cause(Throwable t) {
        return t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException
                ? t.getCause() : t;
    }

    @Test
    void fetch_awkwardSizesAndChunkSizes_equalTheBytesReturned() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = node(key, InputCache.Limits.of(64L << 20, 64));
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(node, key, directory);
             GrpcNetwork net = buyer(directory, NodeKeyPair.generate(), false, true);
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            // 4 bytes (one short chunk), 4,000 (one leaf, short), 4,096 (exactly one leaf),
            // 400,012 (not a multiple of any chunk size), 1,048,580 (4 bytes past 1 MiB: two 1 MiB chunks).
            for (int n : new int[] {1, 1000, 1024, 100_003, 262_145}) {
                JobResult r = client.submit(saxpy(n)).result();
                BufferDigest d = out(r);
                byte[] returned = bytes(r.outputs().get("out"));
                for (int chunkBytes : new int[] {4096, 65_536, 1 << 20}) {
                    assertEquals(java.util.HexFormat.of().formatHex(returned),
                            java.util.HexFormat.of().formatHex(fetchAll(net, key.nodeId(), d, chunkBytes)),
                            "n " + n + ", chunks of " + chunkBytes);
                }
                // One chunk alone, from the middle (its proof has siblings on both sides).
                int count = (int) ((d.bytes() + 4095) / 4096);
                int mid = count / 2;
                ByteBuffer one = net.fetch(key.nodeId(), d.merkleRoot(), d.bytes(), 4096, List.of(mid))
                        .get(30, TimeUnit.SECONDS).get(0);
                assertEquals(ByteBuffer.wrap(returned, mid * 4096, Math.min(4096, returned.length - mid * 4096)),
                        one, "n " + n + ", chunk " + mid);
            }
        }
    }

    @Test
    void fetch_byAnotherPeer_isNotFoundExactlyLikeAMiss() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = node(key, InputCache.Limits.of(64L << 20, 64));
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(node, key, directory);
             GrpcNetwork net = buyer(directory, NodeKeyPair.generate(), false, true);
             GrpcNetwork stranger = buyer(directory, NodeKeyPair.generate(), false, true);
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            BufferDigest d = out(client.submit(saxpy(5_003)).result());
            stranger.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS);
            Throwable t = cause(assertThrows(Exception.class, () -> stranger.fetch(key.nodeId(), d.merkleRoot(),
                    d.bytes(), 4096, List.of(0)).get(30, TimeUnit.SECONDS)));
            assertInstanceOf(OutputGoneException.class, t);
            assertEquals("provider " + key.nodeId().shortId() + " no longer holds output " + d.merkleRoot() + " ("
                    + d.bytes() + " bytes): NOT_FOUND: this node holds no output of root " + d.merkleRoot() + " and "
                    + d.bytes() + " bytes for you; run the job again (no money moved for this fetch)", t.getMessage());
            // The owner, naming the same root with another size, gets the same words as the stranger did.
            Throwable miss = cause(assertThrows(Exception.class, () -> net.fetch(key.nodeId(), d.merkleRoot(),
                    d.bytes() + 4, 4096, List.of(0)).get(30, TimeUnit.SECONDS)));
            assertEquals(t.getMessage().replace("(" + d.bytes() + " bytes)", "(" + (d.bytes() + 4) + " bytes)")
                    .replace("and " + d.bytes() + " bytes", "and " + (d.bytes() + 4) + " bytes"), miss.getMessage());
            // A raw stranger on the generated stub: the status itself.
            try (Hostile h = new Hostile(server.address(), key.publicKey())) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ProviderGrpc
                        .newBlockingStub(h.channel).fetch(FetchRequest.newBuilder().setRoot(d.merkleRoot())
                                .setBytes(d.bytes()).setChunkBytes(4096).addChunks(0).build()));
                assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
                // Out of bounds: refused before anything is looked up.
                StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> ProviderGrpc
                        .newBlockingStub(h.channel).fetch(FetchRequest.newBuilder().setRoot(d.merkleRoot())
                                .setBytes(d.bytes()).setChunkBytes(4096).addChunks(1).addChunks(0).build()));
                assertEquals("INVALID_ARGUMENT: fetch: chunk indices must be strictly increasing and below the "
                        + "output's 5 chunk(s) of 4096 bytes; got 0 after 1", bad.getMessage());
            }
            // The owner still reads it.
            assertEquals(4096, net.fetch(key.nodeId(), d.merkleRoot(), d.bytes(), 4096, List.of(0))
                    .get(30, TimeUnit.SECONDS).get(0).remaining());
        }
    }

    @Test
    void fetch_afterEvictionExpiryOrRestart_isAClearErrorAndMovesNoMoney(@TempDir Path dir) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        AccountId buyer = AccountId.of("buyer:fetch");
        // Three entries per peer (x, y, out of one job), expiring after 1 s unused.
        InputCache.Limits limits = new InputCache.Limits(64L << 20, 64, 64L << 20, 3, Duration.ofSeconds(1));
        try (JdbcLedger ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"));
             DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                     .start();
             GrpcNetwork net = buyer(directory, NodeKeyPair.generate(), false, true)) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1"))).join();
            try (DepinClient client = DepinClient.builder(net).maxAttempts(1)
                    .escrow(Escrow.builder(ledger, buyer).build()).build()) {
                ProviderNode node = node(key, limits);
                ProviderServer server = serve(node, key, directory);
                String gone = "provider " + key.nodeId().shortId() + " no longer holds output ";
                try {
                    // Evicted: the next job's three entries take the peer's whole share.
                    BufferDigest first = out(client.submit(saxpy(3_001)).result());
                    BufferDigest second = out(client.submit(saxpy(3_001)).result());
                    List<Balance> before = ledger.balances();
                    Throwable evicted = cause(assertThrows(Exception.class, () -> net.fetch(key.nodeId(),
                            first.merkleRoot(), first.bytes(), 4096, List.of(0, 2)).get(30, TimeUnit.SECONDS)));
                    assertInstanceOf(OutputGoneException.class, evicted);
                    assertTrue(evicted.getMessage().startsWith(gone + first.merkleRoot() + " (12004 bytes): NOT_FOUND"),
                            evicted.getMessage());
                    assertEquals(before, ledger.balances());
                    // Expired: not used for the idle time to live.
                    InputCache cache = node.inputCache().orElseThrow();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (cache.entries() > 0 && System.nanoTime() < deadline) {
                        Thread.sleep(100);
                        cache.expireIdle();
                    }
                    assertEquals(0, cache.entries());
                    Throwable expired = cause(assertThrows(Exception.class, () -> net.fetch(key.nodeId(),
                            second.merkleRoot(), second.bytes(), 4096, List.of(1)).get(30, TimeUnit.SECONDS)));
                    assertInstanceOf(OutputGoneException.class, expired);
                    assertTrue(expired.getMessage().startsWith(gone + second.merkleRoot()), expired.getMessage());
                    assertEquals(before, ledger.balances());
                } finally {
                    server.close();
                }
                // Restarted: the same key, a new process's empty cache.
                BufferDigest third;
                server = serve(node(key, limits.withIdleTtl(Duration.ofMinutes(10))), key, directory);
                try {
                    net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS);
                    third = out(client.submit(saxpy(777)).result());
                    assertEquals(777 * 4, net.fetch(key.nodeId(), third.merkleRoot(), third.bytes(), 4096,
                            List.of(0)).get(30, TimeUnit.SECONDS).get(0).remaining());
                } finally {
                    server.close();
                }
                server = serve(node(key, limits), key, directory);
                try {
                    net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS);
                    List<Balance> before = ledger.balances();
                    Throwable restarted = cause(assertThrows(Exception.class, () -> net.fetch(key.nodeId(),
                            third.merkleRoot(), third.bytes(), 4096, List.of(0)).get(30, TimeUnit.SECONDS)));
                    assertInstanceOf(OutputGoneException.class, restarted);
                    assertEquals(gone + third.merkleRoot() + " (3108 bytes): NOT_FOUND: this node holds no output "
                            + "of root " + third.merkleRoot() + " and 3108 bytes for you; run the job again (no money "
                            + "moved for this fetch)", restarted.getMessage());
                    assertEquals(before, ledger.balances());
                } finally {
                    server.close();
                }
            }
            long sum = 0;
            for (Balance b : ledger.balances()) {
                sum += b.posted();
                assertEquals(0, b.held(), b.toString());
            }
            assertEquals(0, sum);
        }
    }

    /**
     * Verification without the bytes: the sampled chunks of a kept output are fetched with their
     * proofs and recomputed. An honest node passes; a node whose executor changed one element
     * (and signed a receipt over it) is caught in the chunk that holds it.
     */
    @Test
    void spotCheckKept_fetchesOnlySampledChunks_andCatchesALieInOne() throws Exception {
        byte[] seed = new byte[32];
        random.nextBytes(seed);
        int n = 100_003; // 400,012 bytes: 7 chunks of 64 KiB, the last of 6,796
        for (boolean liar : new boolean[] {false, true}) {
            NodeKeyPair key = NodeKeyPair.generate();
            dev.depin.executor.spi.DeviceExecutor executor = liar
                    ? new dev.depin.executor.CorruptingExecutor(new CpuExecutor(1),
                    dev.depin.executor.CorruptingExecutor.addOneToMiddleElement())
                    : new CpuExecutor(1);
            ProviderNode node = ProviderNode.builder(key, executor).receiptBatching(0)
                    .inputCache(InputCache.Limits.of(64L << 20, 64)).build();
            try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                    .start();
                 ProviderServer server = serve(node, key, directory);
                 GrpcNetwork net = buyer(directory, NodeKeyPair.generate(), false, true);
                 DepinClient client = DepinClient.builder(net).maxAttempts(1).build();
                 dev.depin.kernel.CpuReference cpu = new dev.depin.kernel.CpuReference(1)) {
                Job job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2)
                        .input("x", saxpy(n).inputs().get("x")).input("y", saxpy(n).inputs().get("y"))
                        .maxPrice(MicroUsd.ofMicros(50_000)).timeout(Duration.ofSeconds(60))
                        // The buyer checks the kept copy itself, below.
                        .verification(dev.depin.job.VerificationPolicy.signatureOnly()).build();
                BufferDigest d = out(client.submit(job).result());
                if (!liar) {
                    dev.depin.crypto.VerificationReport report = net.spotCheckKept(key.nodeId(), job.spec(),
                            job.inputs(), d, 0.3, seed, cpu);
                    String detail = report.checks().get(0).detail();
                    assertTrue(detail.startsWith("3 of 7 chunk(s) of 65536 bytes (4096-byte leaves; fraction 0.4286"),
                            detail);
                    assertTrue(detail.contains("(read from the provider with their proofs; the rest not fetched)"),
                            detail);
                } else {
                    dev.depin.crypto.VerificationException e = assertThrows(
                            dev.depin.crypto.VerificationException.class,
                            () -> net.spotCheckKept(key.nodeId(), job.spec(), job.inputs(), d, 1.0, seed, cpu));
                    assertEquals(dev.depin.crypto.VerificationException.Reason.RESULT_MISMATCH, e.reason());
                    // The middle float, element 50,001, is byte 200,004: chunk 3.
                    assertTrue(e.getMessage().startsWith("RESULT_MISMATCH: spot check failed: chunk 3 (bytes "
                            + "196608..262144) differs from the reference at byte 200004 (expected "), e.getMessage());
                    assertEquals("chunk 3 byte 200004", e.evidence().orElseThrow().location());
                }
            }
        }
    }
}
