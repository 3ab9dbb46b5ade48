package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.Requirements;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.HeldChunk;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large job's receipt before its wipe attestation, over loopback mutual TLS: the node answers
 * a buyer that sets Start.wipe_may_follow with the receipt alone once the outputs are committed
 * and sends the attestation after its wipe; a buyer that does not (an older one) gets both in one
 * Result, as before. Paid through a ledger: the job settles only once the attestation that
 * followed is checked, and one whose attestation is missing, forged or another job's, or that is
 * cancelled between the two, fails or ends cancelled with nothing paid.
 */
class WipeFollowsOverGrpcTest {
    private static final long SEED = 0x3A1FE5L;
    /** 301 x 301 floats each for A, B and C: 1,087,212 bytes, above ProviderNode.RECEIPT_FIRST_BYTES. */
    private static final int N = 301;
    private final SplittableRandom random = new SplittableRandom(SEED);

    WipeFollowsOverGrpcTest() {
        System.out.println("WipeFollowsOverGrpcTest seed 0x" + Long.toHexString(SEED));
    }

    private Job sgemm(boolean leave) {
        return sgemm(leave, Requirements.ANY, Duration.ofSeconds(60));
    }

    private Job sgemm(boolean leave, Requirements where, Duration timeout) {
        Job.Builder b = Job.builder(BuiltinKernel.SGEMM).param("m", N).param("k", N).param("n", N)
                .input("a", floats(random, N * N)).input("b", floats(random, N * N))
                .verification(VerificationPolicy.spotCheck(0.05)).maxPrice(MicroUsd.ofMicros(200_000))
                .requirements(where).timeout(timeout);
        return (leave ? b.leaveOutputsOnNode(Duration.ofMinutes(5)) : b).build();
    }

    /** The buyer's network with each response passed through a rewrite (the test's "path" from the node). */
    private static final class Rewriting implements ComputeNetwork {
        private final GrpcNetwork net;
        volatile UnaryOperator<ExecutionResponse> rewrite = UnaryOperator.identity();
        final List<ExecutionResponse> seen = new java.util.concurrent.CopyOnWriteArrayList<>();

        Rewriting(GrpcNetwork net) {
            this.net = net;
        }

        @Override
        public String name() {
            return net.name();
        }

        @Override
        public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
            return net.offers(query);
        }

        @Override
        public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
            Dispatch d = net.dispatch(offer, request, progress);
            return Dispatch.of(d.response().thenApply(r -> {
                seen.add(r);
                return rewrite.apply(r);
            }), d.released(), d::cancel);
        }

        @Override
        public CompletableFuture<List<HeldChunk>> fetchHeld(dev.depin.crypto.NodeId provider, String root, long bytes,
                                                            int chunkBytes, int[] chunks) {
            return net.fetchHeld(provider, root, bytes, chunkBytes, chunks);
        }

        @Override
        public void close() {
        }
    }

    /** The same response with another attestation to follow. */
    private static ExecutionResponse following(ExecutionResponse r, CompletableFuture<Envelope> wipe) {
        assertTrue(r.wipeFollows(), "a large job's receipt came before its attestation");
        return new ExecutionResponse(r.jobId(), r.attempt(), r.provider(), r.executorKind(), r.outputs(),
                r.startedAt(), r.endedAt(), r.deviceNanos(), r.receipt(), null, null, r.inputTransfer(), wipe);
    }

    private interface Body {
        void run(ProviderServer server, NodeKeyPair key, Rewriting net, DepinClient client, JdbcLedger ledger,
                 AccountId buyer) throws Exception;
    }

    /** A ledger with a funded buyer, a directory, and the buyer's network of that directory. */
    private record Market(JdbcLedger ledger, DirectoryServer directory, GrpcNetwork grpc) implements AutoCloseable {
        static Market open(Path dir, AccountId buyer, String usd) {
            JdbcLedger ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"));
            DirectoryServer directory = null;
            try {
                ledger.open(buyer, AccountKind.BUYER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd(usd))).join();
                directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
                return new Market(ledger, directory, GrpcNetwork.builder().directory(directory.address(),
                        directory.publicKey()).identity(NodeKeyPair.generate()).offerCache(Duration.ZERO).build());
            } catch (RuntimeException e) {
                if (directory != null) {
                    directory.close();
                }
                ledger.close();
                throw e;
            }
        }

        @Override
        public void close() {
            grpc.close();
            directory.close();
            ledger.close();
        }
    }

    /** One node, a directory, a buyer paying through a ledger with $1; the books closed after. */
    private static void withNode(Path dir, Body body) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        AccountId buyer = AccountId.of("buyer:wipe");
        try (Market m = Market.open(dir, buyer, "1")) {
            JdbcLedger ledger = m.ledger();
            DirectoryServer directory = m.directory();
            GrpcNetwork grpc = m.grpc();
            ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1))
                    .inputCache(InputCache.Limits.of(64L << 20, 64)).build();
            Rewriting net = new Rewriting(grpc);
            try (DepinClient client = DepinClient.builder(net).maxAttempts(1).banAfterDisputes(0)
                    .escrow(Escrow.builder(ledger, buyer).build()).build();
                 ProviderServer server = serve(node, key, directory)) {
                body.run(server, key, net, client, ledger, buyer);
            }
            LedgerBooks.assertClosed(ledger);
        }
    }

    private static JobState settled(JobResult r) {
        return r.history().get(r.history().size() - 1).state();
    }

    /** Nothing was paid: the buyer still has its $1, nothing is held, no provider account has money. */
    private static void nothingPaid(JdbcLedger ledger, AccountId buyer) throws InterruptedException {
        // The cancelled attempt's hold is voided after the cancel returns, as the engine's money moves.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ledger.balances().stream().anyMatch(b -> b.held() != 0) && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        for (Balance b : ledger.balances()) {
            assertEquals(0, b.held(), b.toString());
            if (b.kind() != AccountKind.ISSUER) {
                assertEquals(b.account().equals(buyer) ? 1_000_000 : 0, b.posted(), b.toString());
            }
        }
    }

    @Test
    void largeJobs_settleOnceTheAttestationThatFollowedIsChecked(@TempDir Path dir) throws Exception {
        withNode(dir, (server, key, net, client, ledger, buyer) -> {
            for (boolean leave : new boolean[] {true, false}) {
                JobResult r = client.submit(sgemm(leave)).result();
                assertEquals(JobState.SETTLED, settled(r), r.history().toString());
                // Left here, the outputs are committed at once: the receipt comes alone. Returned,
                // it comes alone when every output was handed to the stream before the wipe, and
                // with the attestation when some still drained from a copy (flow control decides).
                ExecutionResponse seen = net.seen.get(net.seen.size() - 1);
                if (leave) {
                    assertTrue(seen.wipeFollows(), "the receipt came alone");
                }
                if (seen.wipeFollows()) {
                    // The result carries the attestation that followed: its subject is the receipt.
                    assertNotNull(r.wipe());
                    // Left here, C is the node's cache entry itself (taken over, not copied and wiped).
                    ExecutionReceipt claimed = ExecutionReceipt.readUnverified(r.receipt());
                    WipeAttestation.verify(r.wipe(), r.receipt(), key.publicKey(), WipeAttestation.buffersOf(claimed),
                            leave ? WipeAttestation.buffersInCacheOf(claimed) : WipeAttestation.inputRootsOf(claimed));
                }
                assertTrue(r.report().checks().stream().anyMatch(c -> c.name().equals("buffers")),
                        r.report().summary());
                assertTrue(r.cost().micros() > 0);
            }
            // A small job's one Result carries both (one signature, or a batch).
            JobResult small = client.submit(CacheFixtures.saxpy(floats(random, 1000), floats(random, 1000), 50_000))
                    .result();
            assertFalse(net.seen.get(net.seen.size() - 1).wipeFollows());
            assertEquals(JobState.SETTLED, settled(small));
        });
    }

    @Test
    void attestationMissingForgedOrAnotherJobs_failsTheJob_andNothingIsPaid(@TempDir Path dir) throws Exception {
        withNode(dir, (server, key, net, client, ledger, buyer) -> {
            NodeKeyPair stranger = NodeKeyPair.generate();
            Envelope[] firstJobs = new Envelope[1];
            net.rewrite = r -> {
                r.wipeToFollow().thenAccept(w -> firstJobs[0] = w);
                return r;
            };
            assertEquals(JobState.SETTLED, settled(client.submit(sgemm(true)).result()));
            Map<String, UnaryOperator<ExecutionResponse>> tampers = new java.util.LinkedHashMap<>();
            tampers.put("missing", r -> following(r, r.wipeToFollow().thenApply(w -> {
                throw new dev.depin.network.NetworkException("the stream ended before the attestation");
            })));
            tampers.put("forged", r -> following(r, r.wipeToFollow().thenApply(w ->
                    WipeAttestation.readUnverified(w).sign(stranger))));
            tampers.put("another job's", r -> following(r, r.wipeToFollow().thenApply(w -> firstJobs[0])));
            for (Map.Entry<String, UnaryOperator<ExecutionResponse>> t : tampers.entrySet()) {
                List<Balance> before = ledger.balances();
                net.rewrite = t.getValue();
                JobHandle h = client.submit(sgemm(true));
                JobFailedException e = assertThrows(JobFailedException.class, h::result, t.getKey());
                String why = e.getMessage();
                assertTrue(why.contains(switch (t.getKey()) {
                    case "missing" -> "signed its receipt but its wipe attestation did not come (the stream ended "
                            + "before the attestation): the attempt does not count";
                    case "forged" -> "KEY_MISMATCH: the envelope is not signed by the expected key";
                    default -> "SUBJECT_MISMATCH";
                }), t.getKey() + ": " + why);
                assertEquals(before.stream().filter(b -> b.posted() != 0).toList().toString(),
                        ledger.balances().stream().filter(b -> b.posted() != 0).toList().toString(),
                        t.getKey() + ": no money moved");
                ledger.balances().forEach(b -> assertEquals(0, b.held(), b.toString()));
            }
        });
    }

    @Test
    void cancelBetweenTheReceiptAndTheAttestation_endsCancelled_andNothingIsPaid(@TempDir Path dir) throws Exception {
        withNode(dir, (server, key, net, client, ledger, buyer) -> {
            CountDownLatch receiptIn = new CountDownLatch(1);
            CompletableFuture<Void> letGo = new CompletableFuture<>();
            net.rewrite = r -> {
                receiptIn.countDown();
                return following(r, r.wipeToFollow().thenCombine(letGo, (w, v) -> w));
            };
            JobHandle h = client.submit(sgemm(true));
            assertTrue(receiptIn.await(60, TimeUnit.SECONDS), "the receipt came");
            assertTrue(h.cancelAsync().join(), "cancelled while its attestation was awaited");
            letGo.complete(null);
            assertEquals(JobState.CANCELLED, h.state());
            assertTrue(h.resultAsync().isCancelled());
            // The node finishes its wipe and lets go; the buyer's verifier, still waiting, gets the
            // attestation and concludes nothing for a job that has ended.
            Hostile.awaitReleased(server);
            nothingPaid(ledger, buyer);
        });
    }

    /**
     * A provider that sends large jobs' receipts and withholds their attestations pins no
     * verifying thread of the buyer: with one client thread, the buyer's jobs on an honest
     * provider (another region) are checked and paid while the withheld ones wait, and each
     * withheld one then fails with why, its hold voided and nothing paid to that provider.
     */
    @Test
    void withheldAttestations_pinNoVerifyingThread_honestJobsSettle_withheldOnesFail(@TempDir Path dir)
            throws Exception {
        NodeKeyPair honestKey = NodeKeyPair.generate();
        NodeKeyPair hostileKey = NodeKeyPair.generate();
        AccountId buyer = AccountId.of("buyer:withheld");
        Requirements inDe = Requirements.builder().regions(Region.parse("DE")).build();
        Requirements inUs = Requirements.builder().regions(Region.parse("US")).build();
        try (Market m = Market.open(dir, buyer, "10")) {
            JdbcLedger ledger = m.ledger();
            DirectoryServer directory = m.directory();
            GrpcNetwork grpc = m.grpc();
            Rewriting net = new Rewriting(grpc);
            dev.depin.crypto.NodeId hostile = hostileKey.nodeId();
            io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            // The hostile provider's attestations never reach the buyer (the node itself sends them).
            net.rewrite = r -> r.provider().equals(hostile) ? following(r, new CompletableFuture<>()) : r;
            try (ProviderServer honestServer = serve(ProviderNode.builder(honestKey, new CpuExecutor(1))
                         .region(Region.parse("DE/fra-1"))
                         .inputCache(InputCache.Limits.of(64L << 20, 64)).build(), honestKey, directory);
                 ProviderServer hostileServer = serve(ProviderNode.builder(hostileKey, new CpuExecutor(1))
                         .region(Region.parse("US/iad-1"))
                         .inputCache(InputCache.Limits.of(64L << 20, 64)).build(), hostileKey, directory);
                 // One verifying thread: before, the first withheld attestation held it to the job's deadline.
                 DepinClient client = DepinClient.builder(net).threads(1).maxAttempts(1)
                         .wipeAttestationGrace(Duration.ofSeconds(4)).meterRegistry(meters)
                         .escrow(Escrow.builder(ledger, buyer).build()).build()) {
                List<JobHandle> withheld = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    withheld.add(client.submit(sgemm(true, inUs, Duration.ofMinutes(5))));
                }
                // Every withheld receipt is in before the honest jobs start.
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (net.seen.stream().filter(r -> r.provider().equals(hostile)).count() < withheld.size()
                        && withheld.stream().noneMatch(h -> h.resultAsync().isDone()) && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertEquals(withheld.size(), net.seen.stream().filter(r -> r.provider().equals(hostile)).count(),
                        () -> "the hostile provider's receipts came: " + withheld.stream().map(h -> h.state() + " "
                                + h.resultAsync().handle((r, t) -> String.valueOf(t)).getNow("running")).toList());
                for (int i = 0; i < 4; i++) {
                    // A timed wait lends the engine no thread: the job is verified on the client's one.
                    JobResult r = client.submit(sgemm(i % 2 == 0, inDe, Duration.ofMinutes(5))).resultAsync()
                            .get(120, TimeUnit.SECONDS);
                    assertEquals(JobState.SETTLED, settled(r), r.history().toString());
                    assertEquals(honestKey.nodeId(), r.provider());
                }
                for (JobHandle h : withheld) {
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> h.resultAsync().get(120, TimeUnit.SECONDS));
                    JobFailedException f = assertInstanceOf(JobFailedException.class, e.getCause());
                    assertEquals(JobState.FAILED, f.finalState());
                    assertTrue(f.getMessage().contains("provider " + hostile.shortId() + " signed its receipt but "
                            + "withheld its wipe attestation (none came within "), f.getMessage());
                    assertTrue(f.getMessage().contains("of its checked receipt): the attempt does not count and "
                            + "nothing is paid for it; a provider whose wipes are that slow needs a longer "
                            + "DepinClient.Builder.wipeAttestationGrace"), f.getMessage());
                }
                // The buyer's meters show who withheld: the hostile provider, once per withheld job, and no one else.
                assertEquals(withheld.size(), meters.get("depin.client.wipe_attestations.withheld")
                        .tag("provider", hostile.shortId()).counter().count());
                assertEquals(1, meters.find("depin.client.wipe_attestations.withheld").counters().size(),
                        "only the withholding provider is counted");
                for (Balance b : ledger.balances()) {
                    assertEquals(0, b.held(), b.toString());
                    if (b.account().equals(Escrow.providerAccount(hostile))) {
                        assertEquals(0, b.posted(), "nothing paid to the withholding provider: " + b);
                    }
                }
                assertTrue(ledger.balances().stream().anyMatch(b -> b.account().equals(
                        Escrow.providerAccount(honestKey.nodeId())) && b.posted() > 0), "the honest one was paid");
            }
            LedgerBooks.assertClosed(ledger);
        }
    }

    /**
     * The wire: a buyer that sets Start.wipe_may_follow gets the receipt alone in a Result that
     * says the attestation follows, then one WipeFollowing; an older buyer (no such field) gets
     * both envelopes in one Result and no WipeFollowing.
     */
    @Test
    void wire_newBuyerGetsTheReceiptFirst_olderBuyerOneResultWithBoth(@TempDir Path dir) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(ProviderNode.builder(key, new CpuExecutor(1))
                     .inputCache(InputCache.Limits.of(64L << 20, 64)).build(), key, directory);
             Hostile buyer = new Hostile(server.address(), key.publicKey())) {
            for (boolean newer : new boolean[] {true, false}) {
                // Left on the node: its outputs are committed at once, and a newer buyer's receipt comes alone.
                Job job = sgemm(true);
                String jobId = Hostile.jobId(newer ? 1 : 2);
                Hostile.Stream s = buyer.open(true);
                Start.Builder start = Hostile.start(job, jobId).getStart().toBuilder().setWipeMayFollow(newer)
                        .setLeaveOutputsMillis(60_000);
                s.send(ExecuteRequest.newBuilder().setStart(start).build());
                for (Map.Entry<String, ByteBuffer> in : job.inputs().entrySet()) {
                    byte[] bytes = new byte[in.getValue().remaining()];
                    in.getValue().duplicate().get(bytes);
                    for (int from = 0; from < bytes.length; from += 256 << 10) {
                        s.send(Hostile.input(in.getKey(), bytes, from, Math.min(256 << 10, bytes.length - from)));
                    }
                }
                s.requests.onCompleted();
                assertEquals(Status.Code.OK, s.await(60).getCode(), s.status.toString());
                assertEquals(0, s.outputBytes.get(), "C stays on the node");
                assertEquals(List.of("c"), s.result.getKeptOutputsList());
                assertEquals(newer, s.result.getWipeFollows());
                assertFalse(s.result.getReceiptEnvelope().isEmpty());
                assertEquals(newer, s.result.getWipeEnvelope().isEmpty());
                assertEquals(newer ? 1 : 0, s.wipes.size(), "WipeFollowing messages");
                Envelope receipt = Envelope.parse(s.result.getReceiptEnvelope().toByteArray(), 1 << 20);
                Envelope wipe = Envelope.parse((newer ? s.wipes.get(0).getWipeEnvelope()
                        : s.result.getWipeEnvelope()).toByteArray(), 1 << 20);
                assertEquals(jobId, ExecutionReceipt.readUnverified(receipt).jobId());
                WipeAttestation.verify(wipe, receipt, key.publicKey(),
                        WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(receipt)));
                if (newer) {
                    assertEquals(List.of("result", "wipe"), s.kinds.stream().filter(k -> !k.equals("progress")).toList(),
                            "the receipt, then the attestation");
                }
            }
        }
    }
}
