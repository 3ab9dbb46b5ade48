package dev.depin.ledger;

import static dev.depin.settlement.SettlementAssertions.assertReason;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.settlement.SettlementAssertions;
import dev.depin.settlement.SettlementContract.ManualClock;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The writer's memory against its database: failed commits roll memory back, keys too old
 * for memory are still applied once, and memory loaded again at open agrees with the
 * database. Run once per database.
 */
abstract class WriterTest {
    static final AccountId BUYER = AccountId.of("buyer:w");
    static final AccountId PROVIDER = AccountId.of("provider:w");
    static final Instant LATER = Instant.parse("2100-01-01T00:00:00Z");

    abstract Databases.Location freshDatabase();

    /** Makes the next {@code failures} commits on the writer's connection fail before they reach the database. */
    static final class FailingCommits implements UnaryOperator<Connection> {
        final AtomicInteger failures = new AtomicInteger();
        /** Commits asked of the connection, failed ones included. */
        final AtomicInteger commits = new AtomicInteger();
        /** Once armed, the next commit waits for {@link #release} (after counting down {@link #entered}). */
        volatile boolean armed;
        final java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

        @Override
        public Connection apply(Connection real) {
            return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("commit")) {
                            commits.incrementAndGet();
                            if (armed) {
                                armed = false;
                                entered.countDown();
                                release.await();
                            }
                        }
                        if (method.getName().equals("commit") && failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                            throw new SQLException("injected: the disk is full");
                        }
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
    }

    private static JdbcLedger funded(JdbcLedger.Builder builder) {
        JdbcLedger ledger = builder.open();
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.open(PROVIDER, AccountKind.PROVIDER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("mint"), BUYER, usd(100))).join();
        return ledger;
    }

    static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    private static Operation hold(String key, long dollars) {
        return new Operation.Hold(OperationKey.of(key), BUYER, PROVIDER, usd(dollars), LATER);
    }

    private static Throwable cause(CompletableFuture<?> f) {
        CompletionException e = assertThrows(CompletionException.class, f::join);
        return e.getCause();
    }

    @Test
    void applyAll_groupLargerThanMaxBatch_isOneCommit_andEachOperationIsAnsweredAsAlone() {
        FailingCommits commits = new FailingCommits();
        JdbcLedger.Builder builder = freshDatabase().builder().maxBatch(4);
        builder.writeConnection = commits;
        try (JdbcLedger ledger = funded(builder)) {
            Applied earlier = ledger.apply(hold("earlier", 1)).join();
            long ops = ledger.audit().operations();
            List<Operation> group = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                group.add(hold("g" + i, 1));
            }
            group.add(new Operation.Post(OperationKey.of("g3/post"), OperationKey.of("g3"), usd(1))); // its hold is in the group
            group.add(hold("broke", 100)); // 79 of 100 left free: refused by the database path, in the same commit
            group.add(hold("earlier", 1)); // an identical retry
            Operation reserved = new Operation.Transfer(OperationKey.of(JdbcLedger.RESERVED_PREFIX + "x"), BUYER, PROVIDER, usd(1));
            group.add(reserved);
            group.add(null);
            group.add(new Operation.Post(OperationKey.of("nohold/post"), OperationKey.of("nohold"), usd(1)));
            int before = commits.commits.get();
            List<CompletableFuture<Applied>> out = ledger.applyAll(group);
            assertEquals(group.size(), out.size());
            for (int i = 0; i < 21; i++) {
                assertEquals(group.get(i), out.get(i).join().operation());
            }
            assertEquals(before + 1, commits.commits.get(), "a group of 26 under maxBatch 4 is still one commit");
            assertReason(Reason.INSUFFICIENT_FUNDS, cause(out.get(21)));
            assertEquals(earlier, out.get(22).join());
            InvalidArgumentException alone = assertThrows(InvalidArgumentException.class, () -> ledger.apply(reserved));
            assertEquals(alone.getMessage(), assertInstanceOf(InvalidArgumentException.class, cause(out.get(23))).getMessage());
            assertInstanceOf(InvalidArgumentException.class, cause(out.get(24)));
            assertReason(Reason.UNKNOWN_HOLD, cause(out.get(25)));
            assertEquals(ops + 21, ledger.audit().operations());
            assertEquals(19_000_000 + 1_000_000, ledger.balance(BUYER).held(), "19 holds of the group and the earlier one open");
            assertThrows(InvalidArgumentException.class, () -> ledger.applyAll(null));
            assertEquals(List.of(), ledger.applyAll(List.of()));
            assertEquals(List.of(), ledger.memoryDifferences());
            assertTrue(ledger.audit().sound(), ledger.audit().violations()::toString);
        }
    }

    /**
     * A heavy source's backlog queued while the writer is busy does not delay a light source:
     * the writer takes the sources' units in turns, so the light source's hold is written right
     * after the heavy source's first unit, in the first commit after the busy one, not after the
     * whole backlog (one FIFO would put it behind all 3,000). Each source keeps its own order:
     * the heavy groups are written in the order sent, and the light source's post, queued
     * behind its hold, finds the hold. No timing: the order is read from the sequence numbers.
     */
    @Test
    void sources_takeTurns_aLightSourceIsNotQueuedBehindAHeavyOnesBacklog() throws Exception {
        FailingCommits gate = new FailingCommits();
        JdbcLedger.Builder builder = freshDatabase().builder().maxBatch(1_000).expirySweep(Duration.ZERO);
        builder.writeConnection = gate;
        try (JdbcLedger ledger = funded(builder)) {
            gate.armed = true;
            CompletableFuture<Applied> busy = ledger.apply(hold("busy", 1));
            assertTrue(gate.entered.await(60, java.util.concurrent.TimeUnit.SECONDS), "the writer reached its commit");
            int commitsBefore = gate.commits.get();
            List<List<CompletableFuture<Applied>>> heavy = new ArrayList<>();
            for (int g = 0; g < 6; g++) {
                List<Operation> group = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    group.add(new Operation.Hold(OperationKey.of("heavy/" + g + "/" + i), BUYER, PROVIDER,
                            MicroUsd.ofMicros(1), LATER));
                }
                heavy.add(ledger.applyAll(group, "192.0.2.1"));
            }
            CompletableFuture<Applied> light = ledger.applyAll(List.of(hold("light", 1)), "198.51.100.7").get(0);
            CompletableFuture<Applied> lightPost = ledger.applyAll(List.of(new Operation.Post(OperationKey.of("light/post"),
                    OperationKey.of("light"), usd(1))), "198.51.100.7").get(0);
            gate.release.countDown();
            busy.join();
            long[] first = new long[6];
            long[] last = new long[6];
            for (int g = 0; g < 6; g++) {
                long previous = -1;
                for (CompletableFuture<Applied> f : heavy.get(g)) {
                    long seq = f.join().sequence();
                    assertTrue(seq > previous, "group " + g + " is written in the order sent");
                    previous = seq;
                }
                first[g] = heavy.get(g).get(0).join().sequence();
                last[g] = previous;
                if (g > 0) {
                    assertTrue(first[g] > last[g - 1], "the heavy source's groups keep their order");
                }
            }
            long l = light.join().sequence();
            assertTrue(l > last[0] && l < first[1], "the light hold (seq " + l + ") is written after the heavy source's "
                    + "first group (" + first[0] + ".." + last[0] + ") and before its second (" + first[1] + "..): its turn");
            long p = lightPost.join().sequence();
            assertTrue(p > last[1] && p < first[2], "the light post (seq " + p + ") takes the light source's next turn, "
                    + "in the next commit, after the hold it resolves");
            // busy; then [heavy 0, light hold, heavy 1]; [light post, heavy 2, heavy 3]; [heavy 4, heavy 5]
            assertEquals(commitsBefore + 3, gate.commits.get(), "3 commits after the busy one, each of ~1,000");
            assertThrows(InvalidArgumentException.class, () -> ledger.applyAll(List.of(hold("x", 1)), null));
            assertEquals(List.of(), ledger.memoryDifferences());
            assertTrue(ledger.audit().sound(), ledger.audit().violations()::toString);
        }
    }

    @Test
    void commit_failingTwiceFailsTheBatchAndLeavesMemoryAsCommitted() {
        FailingCommits commits = new FailingCommits();
        JdbcLedger.Builder builder = freshDatabase().builder();
        builder.writeConnection = commits;
        try (JdbcLedger ledger = funded(builder)) {
            long ops = ledger.audit().operations();
            commits.failures.set(2); // the batch's commit, then the careful path's
            Operation h = hold("h", 80);
            Throwable t = cause(ledger.apply(h));
            assertInstanceOf(LedgerFailureException.class, t);
            assertTrue(t.getMessage().contains("could not commit") && t.getMessage().contains("retry with the same key"),
                    t.getMessage());
            assertEquals(0, ledger.balance(BUYER).held());
            assertEquals(ops, ledger.audit().operations());
            assertEquals(List.of("memory is not loaded"), ledger.memoryDifferences(), "memory is loaded again first");
            // Memory forgot the hold: posting it is refused, its key is free, and the retry applies it now.
            assertReason(Reason.UNKNOWN_HOLD,
                    cause(ledger.apply(new Operation.Post(OperationKey.of("p"), OperationKey.of("h"), usd(1)))));
            Applied retried = ledger.apply(h).join();
            assertEquals(h, retried.operation());
            assertEquals(80_000_000, ledger.balance(BUYER).held());
            assertEquals(ops + 1, ledger.audit().operations());
            assertReason(Reason.INSUFFICIENT_FUNDS, cause(ledger.apply(hold("h2", 21))));
            ledger.apply(hold("h3", 20)).join();
            assertEquals(List.of(), ledger.memoryDifferences());
            assertTrue(ledger.audit().sound(), ledger.audit().violations()::toString);
        }
    }

    @Test
    void commit_failingOnceWritesTheBatchAgainAndAppliesEachOnce() {
        FailingCommits commits = new FailingCommits();
        JdbcLedger.Builder builder = freshDatabase().builder();
        builder.writeConnection = commits;
        try (JdbcLedger ledger = funded(builder)) {
            long ops = ledger.audit().operations();
            commits.failures.set(1);
            List<CompletableFuture<Applied>> futures = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                futures.add(ledger.apply(hold("h" + i, 3)));
                futures.add(ledger.apply(new Operation.Post(OperationKey.of("p" + i), OperationKey.of("h" + i), usd(1))));
            }
            for (CompletableFuture<Applied> f : futures) {
                assertNotNull(f.join());
            }
            assertEquals(ops + 20, ledger.audit().operations());
            assertEquals(90_000_000, ledger.balance(BUYER).posted());
            assertEquals(0, ledger.balance(BUYER).held());
            assertEquals(10_000_000, ledger.balance(PROVIDER).posted());
            assertEquals(List.of(), ledger.memoryDifferences());
            assertTrue(ledger.audit().sound(), ledger.audit().violations()::toString);
        }
    }

    @Test
    void apply_oldKeyNotInMemoryReturnsTheOriginal() {
        try (JdbcLedger ledger = funded(freshDatabase().builder().recentKeys(3))) {
            List<Applied> originals = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                originals.add(ledger.apply(hold("h" + i, 1)).join());
                if (i % 2 == 0) {
                    originals.add(ledger.apply(new Operation.Post(OperationKey.of("p" + i), OperationKey.of("h" + i),
                            MicroUsd.ofMicros(500_000))).join());
                }
            }
            long ops = ledger.audit().operations();
            // Every retry at once, between new operations, so that they share batches with them.
            List<CompletableFuture<Applied>> retries = new ArrayList<>();
            List<CompletableFuture<Applied>> fresh = new ArrayList<>();
            for (Applied a : originals) {
                retries.add(ledger.apply(a.operation()));
                fresh.add(ledger.apply(hold("new-" + retries.size(), 1)));
            }
            for (int i = 0; i < originals.size(); i++) {
                assertEquals(originals.get(i), retries.get(i).join(), "retry of " + originals.get(i).operation().key());
                assertNotNull(fresh.get(i).join());
            }
            assertReason(Reason.IDEMPOTENCY_CONFLICT, cause(ledger.apply(hold("h0", 2))));
            assertEquals(ops + fresh.size(), ledger.audit().operations());
            assertEquals(List.of(), ledger.memoryDifferences());
            assertTrue(ledger.audit().sound(), ledger.audit().violations()::toString);
        }
    }

    @Test
    void gatherWindow_aLoneOperationOnAnIdleLedgerIsNeverDelayed_aLoadedOneWaitsAboutOneCommit() {
        long max = Duration.ofMillis(4).toNanos();
        // idle: one operation taken, the batch before held one at most
        assertEquals(0, JdbcLedger.gatherWindow(1, 0, 3_000_000, max));
        assertEquals(0, JdbcLedger.gatherWindow(1, 1, 3_000_000, max));
        assertEquals(0, JdbcLedger.gatherWindow(0, 1, 3_000_000, max));
        // loaded (more came while the last commit was written, or the last batch held several):
        // as long as the last commit took, at most the window
        assertEquals(3_000_000, JdbcLedger.gatherWindow(2, 0, 3_000_000, max));
        assertEquals(3_000_000, JdbcLedger.gatherWindow(1, 2, 3_000_000, max));
        assertEquals(max, JdbcLedger.gatherWindow(300, 250, 9_000_000, max));
        assertEquals(1, JdbcLedger.gatherWindow(300, 250, 1, max));
        assertEquals(0, JdbcLedger.gatherWindow(300, 250, -5, max)); // a clock that went back: no wait
        // a window of zero never waits
        assertEquals(0, JdbcLedger.gatherWindow(300, 250, 9_000_000, 0));
    }

    @Test
    void gather_outOfRangeIsRefused() {
        JdbcLedger.Builder builder = freshDatabase().builder();
        for (Duration bad : new Duration[] {Duration.ofNanos(-1), Duration.ofMillis(100).plusNanos(1), Duration.ofDays(1)}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> builder.gather(bad));
            assertEquals("gather window " + bad + " is out of range: give zero to 100 ms", e.getMessage());
        }
        assertThrows(InvalidArgumentException.class, () -> builder.gather(null));
        builder.gather(Duration.ZERO).gather(Duration.ofMillis(100));
    }

    @Test
    void recentKeys_outOfRangeIsRefused() {
        JdbcLedger.Builder builder = freshDatabase().builder();
        for (int bad : new int[] {-1, Integer.MIN_VALUE, 10_000_001}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> builder.recentKeys(bad));
            assertTrue(e.getMessage().contains("recentKeys is " + bad) && e.getMessage().contains("0 to 10000000"),
                    e.getMessage());
        }
    }

    /**
     * Bursts of random operations (so that batches hold many), checked against the model;
     * the ledger is closed and opened again between bursts with memory of several sizes, and
     * every result recorded before is returned unchanged to a retry afterwards.
     */
    @Test
    void reopen_loadsMemoryThatAgreesWithTheDatabase() {
        long seed = LedgerInvariantTest.SEED;
        System.out.println(getClass().getSimpleName() + ": reopen with seed " + seed + " (rerun with -Dledger.seed=" + seed + ")");
        SplittableRandom rnd = new SplittableRandom(seed);
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        LedgerModel model = new LedgerModel();
        Databases.Location location = freshDatabase();
        List<Operation> done = new ArrayList<>();
        List<OperationKey> holdKeys = new ArrayList<>();
        Map<OperationKey, Applied> results = new HashMap<>();
        int[] memory = {65_536, 0, 1, 7, 250};
        int n = 0;
        for (int round = 0; round < memory.length; round++) {
            try (JdbcLedger ledger = location.builder().clock(clock).expirySweep(Duration.ZERO).recentKeys(memory[round])
                    .maxBatch(1 + rnd.nextInt(300)).open()) {
                if (round == 0) {
                    LedgerInvariantTest.openAccounts(ledger, model);
                }
                assertEquals(model.balances(), ledger.balances(), "round " + round + " (seed " + seed + ")");
                for (Map.Entry<OperationKey, Applied> e : results.entrySet()) {
                    if (rnd.nextInt(4) == 0) {
                        assertEquals(e.getValue(), ledger.apply(e.getValue().operation()).join(), "retry of " + e.getKey());
                    }
                }
                for (int burst = 0; burst < 4; burst++) {
                    clock.advance(Duration.ofSeconds(rnd.nextInt(200)));
                    List<Operation> ops = new ArrayList<>();
                    List<Reason> expected = new ArrayList<>();
                    List<CompletableFuture<Applied>> futures = new ArrayList<>();
                    int size = 1 + rnd.nextInt(150);
                    for (int k = 0; k < size; k++, n++) {
                        Operation op;
                        try {
                            op = LedgerInvariantTest.randomOperation(rnd, n, clock.instant(), done, holdKeys);
                        } catch (InvalidArgumentException e) {
                            continue;
                        }
                        Reason refusal = model.apply(op, clock.instant().toEpochMilli());
                        if (refusal == null) {
                            done.add(op);
                            if (op instanceof Operation.Hold) {
                                holdKeys.add(op.key());
                            }
                        }
                        ops.add(op);
                        expected.add(refusal);
                        futures.add(ledger.apply(op));
                    }
                    for (int k = 0; k < ops.size(); k++) {
                        String where = "round " + round + " burst " + burst + ": " + ops.get(k) + " (seed " + seed + ")";
                        Throwable actual = null;
                        Applied applied = null;
                        try {
                            applied = futures.get(k).join();
                        } catch (CompletionException e) {
                            actual = e.getCause();
                        }
                        if (expected.get(k) == null) {
                            if (actual != null) {
                                throw new AssertionError(where + " was refused but the model applies it", actual);
                            }
                            Applied earlier = results.putIfAbsent(ops.get(k).key(), applied);
                            if (earlier != null) {
                                assertEquals(earlier, applied, where);
                            }
                        } else if (SettlementAssertions.reasonOf(actual) != expected.get(k)) {
                            fail(where + ": expected " + expected.get(k) + " but got " + actual);
                        }
                    }
                    assertEquals(model.balances(), ledger.balances(), "round " + round + " burst " + burst);
                    assertEquals(List.of(), ledger.memoryDifferences(), "round " + round + " burst " + burst);
                }
                LedgerAudit audit = ledger.audit();
                assertTrue(audit.sound(), audit.violations()::toString);
                assertEquals(results.size() + 0L, audit.operations(), "round " + round);
            }
        }
    }
}
