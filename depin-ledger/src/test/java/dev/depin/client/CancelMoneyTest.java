package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.ForwardingLedger;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.spi.Settlement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The money of a cancel that races the provider's answer, through a real ledger (SQLite): when
 * the cancel is decided first (even with a scheduler thread taking the job's completion before
 * the canceller, {@link CancelVisibleTest}), the answer is ignored and the attempt's hold is
 * voided exactly once, never paid; when the result is verified first, the cancel loses (the
 * documented rule: a verified job's money is being settled, too late to cancel) and the hold is
 * paid exactly once, never voided. Every operation the client asks of the ledger is counted.
 */
class CancelMoneyTest {
    private static final long SEED = 0x0_2026_1207_1945L;
    private static final AccountId BUYER = AccountId.of("buyer:cancel");
    private static final MicroUsd FUNDS = MicroUsd.ofUsd("1000");
    private static final MicroUsd STAKE = MicroUsd.ofUsd("5");
    private JdbcLedger ledger;

    /** The ledger the client pays through, counting every operation asked of it; holds posts while told to. */
    private static final class Counting extends ForwardingLedger {
        final List<Operation> asked = new CopyOnWriteArrayList<>();
        /** While set, a post waits here (the job is VERIFIED, its money not yet settled) until the test lets it go. */
        volatile CountDownLatch holdPosts;
        final CountDownLatch postArrived = new CountDownLatch(1);

        Counting(Settlement ledger) {
            super(ledger);
        }

        @Override
        public CompletableFuture<Applied> apply(Operation operation) {
            asked.add(operation);
            CountDownLatch hold = holdPosts;
            if (hold != null && operation instanceof Operation.Post) {
                postArrived.countDown();
                try {
                    if (!hold.await(CancelVisibleTest.WAIT_SECONDS, TimeUnit.SECONDS)) {
                        throw new AssertionError("the test never let the post go");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return super.apply(operation);
        }

        @Override
        public void close() {
            // the test closes the ledger
        }

        long count(Class<? extends Operation> type) {
            return asked.stream().filter(type::isInstance).count();
        }
    }

    @AfterEach
    void closeLedger() {
        if (ledger != null) {
            ledger.close();
        }
    }

    private Counting ledger(ProviderNode node) throws Exception {
        Path dir = Files.createTempDirectory("depin-cancel-money");
        dir.toFile().deleteOnExit();
        ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"));
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund-buyer"), BUYER, FUNDS)).join();
        AccountId stake = Escrow.stakeAccount(node.nodeId());
        ledger.open(stake, AccountKind.STAKE, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("stake"), stake, STAKE)).join();
        return new Counting(ledger);
    }

    private static ProviderNode node(int seed) {
        byte[] s = new byte[32];
        s[0] = (byte) seed;
        return ProviderNode.builder(NodeKeyPair.fromSeed(s), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(1000), MicroUsd.ofMicros(10_000))).stake(STAKE).build();
    }

    private static long paidTo(Settlement ledger, ProviderNode node) {
        AccountId provider = Escrow.providerAccount(node.nodeId());
        return ledger.balances().stream().filter(b -> b.account().equals(provider)).mapToLong(Balance::posted).sum();
    }

    /** The ledger sums to zero and holds nothing once the client is closed (its money at rest). */
    private void assertAtRest() {
        long sum = 0;
        for (Balance b : ledger.balances()) {
            sum += b.posted();
            assertEquals(0, b.held(), "money still held: " + ledger.openHolds());
        }
        assertEquals(0, sum, "sum over all accounts, issuer included");
    }

    @Test
    void cancel_decidedBeforeTheAnswerVoidsTheHoldOnceAndPaysNothing() throws Exception {
        System.out.println("CancelMoneyTest.cancelFirst seed = " + SEED);
        ProviderNode node = node(41);
        Counting counting = ledger(node);
        Escrow escrow = Escrow.builder(counting, BUYER).build();
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (CancelVisibleTest.Race race = new CancelVisibleTest.Race(node, b -> b.escrow(escrow),
                SmallRequests.saxpy(rnd, 1 + rnd.nextInt(1000), -2.5f))) {
            CancelVisibleTest.Cancelled seen = race.cancelRacedByTheScheduler(h -> h.cancelAsync().join());
            race.assertCancelledOnce(seen, "cancelAsync with an escrow");
            race.client.close(); // waits until the job's money is at rest
        }
        assertEquals(1, counting.count(Operation.Hold.class), "holds asked: " + counting.asked);
        assertEquals(1, counting.count(Operation.VoidHold.class), "voids asked: " + counting.asked);
        assertEquals(0, counting.count(Operation.Post.class), "posts asked: " + counting.asked);
        assertEquals(0, counting.count(Operation.Slash.class), "slashes asked: " + counting.asked);
        Operation.VoidHold v = (Operation.VoidHold) counting.asked.stream()
                .filter(Operation.VoidHold.class::isInstance).findFirst().orElseThrow();
        assertEquals(HoldRecord.State.VOIDED, ledger.hold(v.hold()).orElseThrow().state());
        assertEquals(FUNDS.micros(), ledger.balance(BUYER).posted(), "the buyer got its hold back");
        assertEquals(0, paidTo(ledger, node), "the provider was paid for a cancelled job");
        assertAtRest();
    }

    @Test
    void cancel_afterTheResultVerifiedLosesAndTheHoldIsPaidOnce() throws Exception {
        System.out.println("CancelMoneyTest.verifiedFirst seed = " + SEED);
        ProviderNode node = node(42);
        Counting counting = ledger(node);
        Escrow escrow = Escrow.builder(counting, BUYER).build();
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        CountDownLatch letPostGo = new CountDownLatch(1);
        counting.holdPosts = letPostGo;
        try (CancelVisibleTest.Race race = new CancelVisibleTest.Race(node, b -> b.escrow(escrow),
                SmallRequests.saxpy(rnd, 1 + rnd.nextInt(1000), 3.0f))) {
            JobHandle h = race.job;
            assertTrue(race.net.dispatched.await(CancelVisibleTest.WAIT_SECONDS, TimeUnit.SECONDS),
                    "the attempt was never dispatched");
            race.net.outer.get(0).complete(race.net.inner.get(0).get(CancelVisibleTest.WAIT_SECONDS,
                    TimeUnit.SECONDS));
            // The result is verified and its post is on its way to the ledger, held there.
            assertTrue(counting.postArrived.await(CancelVisibleTest.WAIT_SECONDS, TimeUnit.SECONDS),
                    "the verified result's post never reached the ledger: " + h.events());
            assertEquals(JobState.VERIFIED, h.state(), h.events().toString());
            assertFalse(h.cancelAsync().join(), "a cancel won against a verified job: " + h.events());
            assertFalse(h.resultAsync().cancel(false), "a cancel through the future won: " + h.events());
            letPostGo.countDown();
            race.recorder.letGo.countDown();
            JobResult r = h.resultAsync().get(CancelVisibleTest.WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(JobState.SETTLED, h.state(), h.events().toString());
            assertEquals(r.settlement().paid().micros(), paidTo(ledger, node));
            assertTrue(r.settlement().paid().micros() > 0, "nothing paid: " + r.settlement());
            race.client.close();
        }
        assertEquals(1, counting.count(Operation.Hold.class), "holds asked: " + counting.asked);
        assertEquals(1, counting.count(Operation.Post.class), "posts asked: " + counting.asked);
        assertEquals(0, counting.count(Operation.VoidHold.class), "voids asked: " + counting.asked);
        assertEquals(0, counting.count(Operation.Slash.class), "slashes asked: " + counting.asked);
        assertAtRest();
    }
}
