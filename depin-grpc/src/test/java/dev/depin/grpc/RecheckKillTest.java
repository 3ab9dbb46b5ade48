package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementAssertions;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The settlement service killed with SIGKILL between freezing two disputed claims and deciding
 * them (issue 16 item 2, part 3): the service, in a JVM of its own, holds back its decisions
 * ({@link LedgerServiceProcess} {@code hold-decisions}), so each dispute's upload completes, its
 * claim is frozen (DISPUTED, durable) and its re-check never decides. The service is killed,
 * restarted on the same file and port without the hold, and the buyer's client, still retrying
 * the same uploads, resumes both re-checks: the lie's claim is voided and its stake slashed
 * once, the framed dispute of an honest result is rejected and its claim posted once, and the
 * books balance.
 */
class RecheckKillTest {
    private static final long SEED = 20261206_3L;

    @Test
    void serviceKilledBetweenFreezeAndDecision_decidesEachDisputeOnceAfterRestart(@TempDir Path dir) throws Exception {
        System.out.println("RecheckKillTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair ledgerKey = NodeKeyPair.fromSeed(LedgerServiceCrashTest.seed(rnd));
        NodeKeyPair operatorKey = NodeKeyPair.fromSeed(LedgerServiceCrashTest.seed(rnd));
        NodeKeyPair liarKey = NodeKeyPair.fromSeed(LedgerServiceCrashTest.seed(rnd));
        NodeKeyPair honestKey = NodeKeyPair.fromSeed(LedgerServiceCrashTest.seed(rnd));
        Job job = LedgerServiceClaimsTest.saxpy(SEED, 1_000 + rnd.nextInt(3_000));
        JobResult honest = LedgerServiceClaimsTest.runWithALiar(job, liarKey, honestKey);
        DisputeRecord lie = honest.disputes().get(0);
        DisputeRecord framed = LedgerServiceClaimsTest.framed(honest, honestKey);

        AccountId buyer = AccountId.of("buyer:kill");
        AccountId liar = Escrow.providerAccount(liarKey.nodeId());
        AccountId honestProvider = Escrow.providerAccount(honestKey.nodeId());
        AccountId stake = Escrow.stakeAccount(liarKey.nodeId());
        OperationKey liarHold = OperationKey.of(buyer.value() + "/" + lie.jobId(), lie.attempt(), "hold");
        OperationKey honestHold = OperationKey.of(buyer.value() + "/" + honest.jobId(), honest.attempt(), "hold");
        long honestClaim = 1 + rnd.nextInt(999_999);
        Path file = dir.resolve("ledger.db");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String address = "127.0.0.1:" + port;
        Process service = LedgerServiceCrashTest.start(file, port, ledgerKey, operatorKey, "hold-decisions");
        Applied upheldDispute;
        SettlementException rejected;
        try (RemoteSettlement operator = RemoteSettlement.builder(operatorKey, address, ledgerKey.publicKey())
                .retry(new RetryPolicy(100, Duration.ofMillis(50), Duration.ofSeconds(1), 0.5))
                .callTimeout(Duration.ofSeconds(20)).connect();
             RemoteSettlement liarClient = RemoteSettlement.builder(liarKey, address, ledgerKey.publicKey()).connect();
             RemoteSettlement honestClient = RemoteSettlement.builder(honestKey, address, ledgerKey.publicKey()).connect()) {
            operator.open(buyer, AccountKind.BUYER, false).join();
            operator.open(liar, AccountKind.PROVIDER, false).join();
            operator.open(honestProvider, AccountKind.PROVIDER, false).join();
            operator.open(stake, AccountKind.STAKE, false).join();
            operator.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("10"))).join();
            operator.apply(new Operation.Mint(OperationKey.of("stake"), stake, MicroUsd.ofUsd("20"))).join();
            Instant expiry = Instant.now().plus(Duration.ofHours(1));
            for (OperationKey h : List.of(liarHold, honestHold)) {
                operator.apply(new Operation.Hold(h, buyer, h == liarHold ? liar : honestProvider, MicroUsd.ofUsd("1"),
                        expiry, Optional.of(honest.specHash()))).join();
            }
            (lie.batched() != null ? liarClient.claim(liarHold, MicroUsd.ofUsd("1"), lie.batched())
                    : liarClient.claim(liarHold, MicroUsd.ofUsd("1"), lie.receipt())).join();
            (honest.batched() != null ? honestClient.claim(honestHold, MicroUsd.ofMicros(honestClaim), honest.batched())
                    : honestClient.claim(honestHold, MicroUsd.ofMicros(honestClaim), honest.receipt())).join();

            CompletableFuture<List<Applied>> upheld = operator.dispute(liarHold, lie, job.inputs(), lie.outputs());
            CompletableFuture<List<Applied>> notUpheld = operator.dispute(honestHold, framed, job.inputs(),
                    honest.outputs());
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(frozen(operator, liarHold) && frozen(operator, honestHold))) {
                assertTrue(System.nanoTime() < until, "both claims frozen within 60 s");
                Thread.sleep(5);
            }
            assertTrue(!upheld.isDone() && !notUpheld.isDone(), "neither re-check decided before the kill");
            service.destroyForcibly(); // SIGKILL: mid-re-check, no shutdown hook, no close
            assertTrue(service.waitFor(30, TimeUnit.SECONDS));
            System.out.println("RecheckKillTest: killed with both claims frozen and undecided");
            service = LedgerServiceCrashTest.start(file, port, ledgerKey, operatorKey);

            List<Applied> applied = upheld.get(120, TimeUnit.SECONDS);
            assertEquals(3, applied.size(), applied.toString());
            upheldDispute = applied.get(0);
            assertInstanceOf(Operation.Dispute.class, upheldDispute.operation());
            assertInstanceOf(Operation.VoidHold.class, applied.get(1).operation());
            assertInstanceOf(Operation.Slash.class, applied.get(2).operation());
            try {
                notUpheld.get(120, TimeUnit.SECONDS);
                throw new AssertionError("the framed dispute was upheld");
            } catch (ExecutionException e) {
                rejected = SettlementAssertions.assertReason(Reason.DISPUTE_REJECTED, e.getCause());
            }
            assertTrue(rejected.getMessage().startsWith("dispute rejected, the claim is posted: "), rejected.getMessage());
        } finally {
            service.destroyForcibly();
            service.waitFor(30, TimeUnit.SECONDS);
        }
        try (JdbcLedger jdbc = JdbcLedger.sqlite(file)) {
            LedgerBooks.assertClosed(jdbc);
            String liarBase = jdbc.hold(liarHold).orElseThrow().claim().orElseThrow().key().value();
            String honestBase = jdbc.hold(honestHold).orElseThrow().claim().orElseThrow().key().value();
            HoldRecord l = jdbc.hold(liarHold).orElseThrow();
            assertEquals(HoldRecord.State.VOIDED, l.state());
            assertEquals(Optional.of(OperationKey.of(liarBase + "/void")), l.resolvedBy());
            assertEquals(Optional.of(upheldDispute.operation().key()), l.claim().orElseThrow().disputedBy());
            HoldRecord h = jdbc.hold(honestHold).orElseThrow();
            assertEquals(HoldRecord.State.POSTED, h.state());
            assertEquals(Optional.of(OperationKey.of(honestBase + "/post")), h.resolvedBy());
            assertEquals(Optional.of(OperationKey.of(honestBase + "/dispute")), h.claim().orElseThrow().disputedBy());
            assertEquals(0, jdbc.balance(liar).posted(), "the liar is never paid");
            assertEquals(honestClaim, jdbc.balance(honestProvider).posted(), "the honest claim paid once");
            assertEquals(MicroUsd.ofUsd("10").micros(), jdbc.balance(stake).posted(), "slashed once: ten times the hold");
            assertEquals(MicroUsd.ofUsd("15").micros() - honestClaim, jdbc.balance(buyer).posted(),
                    "the buyer: its 10, half the slash, less the honest claim");
        }
    }

    private static boolean frozen(RemoteSettlement ledger, OperationKey hold) {
        return ledger.hold(hold).orElseThrow().state() == HoldRecord.State.DISPUTED;
    }
}
