package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.node.LocalNetwork;
import dev.depin.node.PaidAttempt;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A provider's {@link ClaimAgent} on a private node paid through the settlement service: a
 * buyer that vanishes after its result still pays (the claim, posted by the ledger after the
 * dispute window), also when the service was down when the claimer first tried; an honest
 * buyer that posts is never claimed against twice, and every hold resolves once.
 */
class ClaimAgentTest {
    private static final long SEED = 20261205L;
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair NODE_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId PROVIDER = Escrow.providerAccount(NODE_KEY.nodeId());
    private static final Price PRICE = new Price(MicroUsd.ofMicros(1_000_000), MicroUsd.ofMicros(1_000));

    private static Job job(SplittableRandom rnd) {
        return job(rnd, VerificationPolicy.spotCheck(0.1));
    }

    private static Job job(SplittableRandom rnd, VerificationPolicy policy) {
        int n = 1 + rnd.nextInt(5000);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-50, 51);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3).input("x", x).input("y", x)
                .verification(policy).maxPrice(MicroUsd.ofMicros(500_000)).timeout(Duration.ofSeconds(60)).build();
    }

    private static JdbcLedger ledger(Path dir) {
        JdbcLedger jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY)
                .expirySweep(Duration.ofMillis(20)).disputeWindow(Duration.ofSeconds(1)).open();
        jdbc.open(BUYER, AccountKind.BUYER, false).join();
        jdbc.open(PROVIDER, AccountKind.PROVIDER, false).join();
        jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("10"))).join();
        return jdbc;
    }

    private static LedgerServer serve(JdbcLedger jdbc, int port) {
        return LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER).build())
                .listen("127.0.0.1", port).start();
    }

    private static RemoteSettlement client(NodeKeyPair key, String address, RetryPolicy retry) {
        return RemoteSettlement.builder(key, address, LEDGER_KEY.publicKey()).retry(retry)
                .callTimeout(Duration.ofSeconds(30)).connect();
    }

    @Test
    void vanishedBuyer_paysAfterTheWindow_evenWhenTheServiceWasDownAtTheFirstTry(@TempDir Path dir) throws Exception {
        System.out.println("ClaimAgentTest seed = " + SEED);
        Job job = job(new SplittableRandom(SEED));
        String jobId = Hex.encode(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        OperationKey holdKey = OperationKey.of(BUYER.value() + "/" + jobId, 1, "hold");
        List<PaidAttempt> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (JdbcLedger jdbc = ledger(dir)) {
            LedgerServer server = serve(jdbc, 0);
            int port = server.port();
            String address = server.address();
            try (RemoteSettlement nodeSide = client(NODE_KEY, address, new RetryPolicy(2, Duration.ofMillis(20),
                         Duration.ofMillis(50), 0.5));
                 ClaimAgent agent = ClaimAgent.builder(nodeSide).delay(Duration.ofMillis(300))
                         .retryEvery(Duration.ofMillis(200)).build();
                 ProviderNode node = ProviderNode.builder(NODE_KEY, new CpuExecutor(1)).price(PRICE)
                         .requireHoldCertificates(LEDGER_KEY.publicKey()).onPaidAttempt(a -> {
                             seen.add(a);
                             agent.accept(a);
                         }).build();
                 LocalNetwork net = LocalNetwork.of(List.of(node))) {
                HoldCertificate certificate;
                try (RemoteSettlement buyer = client(BUYER_KEY, address, RemoteSettlement.DEFAULT_RETRY)) {
                    certificate = buyer.apply(new Operation.Hold(holdKey, BUYER, PROVIDER, MicroUsd.ofMicros(400_000),
                            Instant.now().plus(Duration.ofMinutes(2)), Optional.of(job.spec().hash()))).join()
                            .certificate().orElseThrow();
                    // the service goes down before the claimer looks
                    server.close();
                    var r = net.dispatch(node.offer(), new ExecutionRequest(jobId, 1, job.spec(), job.inputs(),
                            new byte[32], Optional.of(certificate)), p -> { }).response().get(60, TimeUnit.SECONDS);
                    assertEquals(NODE_KEY.nodeId(), r.provider());
                } // the buyer vanishes with its result, never posting
                waitUntil(() -> agent.failedTries() >= 1, "the claimer tried while the service was down");
                assertEquals(HoldRecord.State.OPEN, jdbc.hold(holdKey).orElseThrow().state());
                server = serve(jdbc, port); // restarted on the same file and port
                try {
                    waitUntil(() -> jdbc.hold(holdKey).orElseThrow().state() == HoldRecord.State.POSTED,
                            "the ledger posted the claim after the window");
                } finally {
                    server.close();
                }
                assertEquals(1, seen.size());
                MicroUsd owed = seen.get(0).claimable();
                assertTrue(owed.micros() > 0 && owed.micros() < 400_000, owed.toString());
                HoldRecord hold = jdbc.hold(holdKey).orElseThrow();
                assertEquals(Optional.of(JdbcLedger.claimPostKey(holdKey)), hold.resolvedBy());
                assertEquals(owed, hold.claim().orElseThrow().amount());
                assertEquals(owed.micros(), jdbc.balance(PROVIDER).posted(), "the provider is paid what it charged, once");
                assertEquals(10_000_000 - owed.micros(), jdbc.balance(BUYER).posted());
                assertEquals(0, jdbc.balance(BUYER).held());
                assertEquals(1, agent.claimed());
                assertEquals(0, agent.pending());
                assertEquals(0, agent.givenUp());
            }
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
        }
    }

    @Test
    void claimerStoppedBeforeItClaimed_isTakenUpFromItsJournal_andClaimsOnce(@TempDir Path dir) throws Exception {
        Job job = job(new SplittableRandom(SEED + 3));
        String jobId = Hex.encode(new byte[] {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6});
        OperationKey holdKey = OperationKey.of(BUYER.value() + "/" + jobId, 1, "hold");
        Path journal = dir.resolve("claims.journal");
        try (JdbcLedger jdbc = ledger(dir);
             LedgerServer server = serve(jdbc, 0);
             RemoteSettlement nodeSide = client(NODE_KEY, server.address(), RemoteSettlement.DEFAULT_RETRY)) {
            // the first claimer would look only in an hour: it is stopped (as by a kill) long before
            ClaimAgent first = ClaimAgent.builder(nodeSide).delay(Duration.ofHours(1)).lead(Duration.ZERO)
                    .journal(journal).build();
            try (ProviderNode node = ProviderNode.builder(NODE_KEY, new CpuExecutor(1)).price(PRICE)
                         .requireHoldCertificates(LEDGER_KEY.publicKey()).onPaidAttempt(first).build();
                 LocalNetwork net = LocalNetwork.of(List.of(node));
                 RemoteSettlement buyer = client(BUYER_KEY, server.address(), RemoteSettlement.DEFAULT_RETRY)) {
                HoldCertificate c = buyer.apply(new Operation.Hold(holdKey, BUYER, PROVIDER, MicroUsd.ofMicros(400_000),
                        Instant.now().plus(Duration.ofHours(2)), Optional.of(job.spec().hash()))).join()
                        .certificate().orElseThrow();
                net.dispatch(node.offer(), new ExecutionRequest(jobId, 1, job.spec(), job.inputs(), new byte[32],
                        Optional.of(c)), p -> { }).response().get(60, TimeUnit.SECONDS);
                waitUntil(() -> first.pending() == 1, "the node told the claimer");
            }
            first.close();
            assertEquals(0, first.claimed());
            assertEquals(HoldRecord.State.OPEN, jdbc.hold(holdKey).orElseThrow().state());
            // a torn line at the end, as a kill in the middle of a write leaves
            java.nio.file.Files.writeString(journal, "claim\tbuyer:acme/x", java.nio.file.StandardOpenOption.APPEND);
            try (ClaimAgent second = ClaimAgent.builder(nodeSide).journal(journal).build()) {
                waitUntil(() -> second.pending() == 0, "the restarted claimer looked at the journal's hold");
                assertEquals(1, second.claimed());
            }
            waitUntil(() -> jdbc.hold(holdKey).orElseThrow().state() == HoldRecord.State.POSTED,
                    "the ledger posted the claim after the window");
            long owed = jdbc.hold(holdKey).orElseThrow().claim().orElseThrow().amount().micros();
            assertEquals(owed, jdbc.balance(PROVIDER).posted());
            // a third claimer finds nothing pending: the journal was settled
            try (ClaimAgent third = ClaimAgent.builder(nodeSide).journal(journal).build()) {
                assertEquals(0, third.pending());
            }
            assertEquals("", java.nio.file.Files.readString(journal).replaceAll("done\t[^\n]*\n", ""),
                    "only settled entries after the rewrite");
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
        }
    }

    @Test
    void honestBuyer_postsItself_andEachHoldResolvesOnce(@TempDir Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        try (JdbcLedger jdbc = ledger(dir);
             LedgerServer server = serve(jdbc, 0);
             RemoteSettlement nodeSide = client(NODE_KEY, server.address(), RemoteSettlement.DEFAULT_RETRY);
             ClaimAgent agent = ClaimAgent.builder(nodeSide).delay(Duration.ofSeconds(1)).build();
             ProviderNode node = ProviderNode.builder(NODE_KEY, new CpuExecutor(1)).price(PRICE)
                     .requireHoldCertificates(LEDGER_KEY.publicKey()).onPaidAttempt(agent).build();
             LocalNetwork net = LocalNetwork.of(List.of(node))) {
            long paid = 0;
            try (RemoteSettlement buyer = client(BUYER_KEY, server.address(), RemoteSettlement.DEFAULT_RETRY);
                 DepinClient client = DepinClient.builder(net).escrow(Escrow.builder(buyer, BUYER).build()).build()) {
                for (int i = 0; i < 3; i++) {
                    JobResult r = client.submit(job(rnd)).result();
                    assertEquals(JobState.SETTLED, r.history().get(r.history().size() - 1).state());
                    paid += r.cost().micros();
                }
            }
            waitUntil(() -> agent.pending() == 0, "the claimer looked at every hold");
            System.out.println("ClaimAgentTest: honest buyer, " + agent.claimed() + " claim(s) filed before its post, "
                    + agent.resolvedWithoutClaim() + " hold(s) found resolved");
            assertEquals(3, agent.claimed() + agent.resolvedWithoutClaim(), "each hold looked at once");
            assertEquals(0, agent.givenUp());
            assertEquals(paid, jdbc.balance(PROVIDER).posted(), "the provider is paid each job once");
            assertEquals(10_000_000 - paid, jdbc.balance(BUYER).posted());
            assertEquals(List.of(), jdbc.openHolds());
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
        }
    }

    @Test
    void liarThatClaimsBeforeTheVoid_isDisputedByTheEngine_voidedSlashedAndNeverPaid(@TempDir Path dir) throws Exception {
        NodeKeyPair liarKey = NodeKeyPair.generate();
        AccountId liar = Escrow.providerAccount(liarKey.nodeId());
        AccountId liarStake = Escrow.stakeAccount(liarKey.nodeId());
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        try (JdbcLedger jdbc = ledger(dir);
             LedgerServer server = serve(jdbc, 0);
             RemoteSettlement liarSide = client(liarKey, server.address(), RemoteSettlement.DEFAULT_RETRY);
             RemoteSettlement nodeSide = client(NODE_KEY, server.address(), RemoteSettlement.DEFAULT_RETRY);
             ClaimAgent greedy = ClaimAgent.builder(liarSide).delay(Duration.ZERO).build();
             ClaimAgent honestAgent = ClaimAgent.builder(nodeSide).delay(Duration.ofSeconds(1)).build();
             ProviderNode liarNode = ProviderNode.builder(liarKey, new CorruptingExecutor(new CpuExecutor(1),
                     CorruptingExecutor.addOneToMiddleElement())).price(new Price(MicroUsd.ofMicros(1_000),
                     MicroUsd.ofMicros(1))).requireHoldCertificates(LEDGER_KEY.publicKey()).onPaidAttempt(greedy).build();
             ProviderNode node = ProviderNode.builder(NODE_KEY, new CpuExecutor(1)).price(PRICE)
                     .requireHoldCertificates(LEDGER_KEY.publicKey()).onPaidAttempt(honestAgent).build();
             LocalNetwork net = LocalNetwork.of(List.of(liarNode, node))) {
            jdbc.open(liar, AccountKind.PROVIDER, false).join();
            jdbc.open(liarStake, AccountKind.STAKE, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("stake"), liarStake, MicroUsd.ofUsd("100"))).join();
            JobResult r;
            try (RemoteSettlement remote = client(BUYER_KEY, server.address(), RemoteSettlement.DEFAULT_RETRY);
                 DepinClient client = DepinClient.builder(net).maxAttempts(3).banAfterDisputes(0)
                         .escrow(Escrow.builder(new VoidsAfterClaims(remote), BUYER).build()).build()) {
                r = client.submit(job(rnd, VerificationPolicy.spotCheck(1.0))).result();
            }
            assertEquals(NODE_KEY.nodeId(), r.provider(), "the honest node's result");
            assertEquals(1, r.disputes().size(), "the liar answered first and was caught");
            assertEquals(1, greedy.claimed(), "the liar claimed its hold before the buyer's void");
            assertTrue(r.settlement().notes().stream().anyMatch(n -> n.contains("disputed the claim with the settlement "
                    + "service")), r.settlement().notes().toString());
            OperationKey liarHold = OperationKey.of(BUYER.value() + "/" + r.jobId(), r.disputes().get(0).attempt(), "hold");
            HoldRecord held = jdbc.hold(liarHold).orElseThrow();
            assertEquals(HoldRecord.State.VOIDED, held.state());
            assertTrue(held.claim().orElseThrow().disputedBy().isPresent());
            assertEquals(0, jdbc.balance(liar).posted(), "the liar is never paid");
            assertTrue(jdbc.balance(liarStake).posted() < 100_000_000, "the service slashed the liar's stake");
            assertEquals(r.settlement().slashed().micros(), 100_000_000 - jdbc.balance(liarStake).posted());
            assertEquals(List.of(), jdbc.openHolds());
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
        }
    }

    private static void waitUntil(BooleanSupplier done, String what) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // a bound, not an assertion
        while (!done.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        assertTrue(done.getAsBoolean(), what + " (not within 60 s)");
    }
}
