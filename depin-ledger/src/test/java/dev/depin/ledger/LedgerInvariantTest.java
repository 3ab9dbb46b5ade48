package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.settlement.SettlementContract.ManualClock;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.SettlementAssertions;
import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The invariants under random operation sequences (checked against {@link LedgerModel})
 * and under 16 concurrent writers, once per database.
 */
abstract class LedgerInvariantTest {
    /** Fixed so that a failure reproduces; override with -Dledger.seed=N to explore. */
    static final long SEED = Long.getLong("ledger.seed", 20261128L);

    abstract Databases.Location freshDatabase();

    /** Operations per thread in the concurrent test. */
    abstract int opsPerThread();

    /** Operations in the random-sequence test. */
    abstract int randomOps();

    private static final AccountId[] ACCOUNTS = {
        AccountId.of("buyer:a"), AccountId.of("buyer:b"), AccountId.of("buyer:c"),
        AccountId.of("provider:x"), AccountId.of("provider:y"),
        AccountId.of("stake:x"), AccountId.of("stake:y"), AccountId.of("fees:net"), AccountId.of("buyer:credit"),
        AccountId.ISSUER, AccountId.BURN, AccountId.of("buyer:ghost"),
    };

    @Test
    void randomOperations_agreeWithTheModel() {
        System.out.println(getClass().getSimpleName() + ": random operations with seed " + SEED
                + " (rerun with -Dledger.seed=" + SEED + ")");
        SplittableRandom rnd = new SplittableRandom(SEED);
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        Duration window = Duration.ofSeconds(90);
        Duration recheck = Duration.ofSeconds(45);
        LedgerModel model = new LedgerModel(window.toMillis(), recheck.toMillis());
        List<Operation> done = new ArrayList<>();
        List<OperationKey> holdKeys = new ArrayList<>();
        Map<String, Integer> exercised = new java.util.TreeMap<>();
        try (JdbcLedger ledger = freshDatabase().builder().clock(clock).expirySweep(Duration.ZERO).disputeWindow(window)
                .recheckWindow(recheck).maxBatch(1 + rnd.nextInt(64)).open()) {
            openAccounts(ledger, model);
            for (int i = 0; i < randomOps(); i++) {
                if (rnd.nextInt(20) == 0) {
                    clock.advance(Duration.ofSeconds(rnd.nextInt(120)));
                }
                if (rnd.nextInt(25) == 0) {
                    int posted = ledger.postDueClaims();
                    assertEquals(model.postDueClaims(clock.millis()), posted,
                            "claims posted by the ledger at operation " + i + " (seed " + SEED + ")");
                    exercised.merge("claims posted by the ledger", posted, Integer::sum);
                    exercised.put("disputed claims posted at their re-check deadline", model.disputedPosted);
                }
                Operation op;
                try {
                    op = randomOperation(rnd, i, clock.instant(), done, holdKeys);
                } catch (InvalidArgumentException e) {
                    continue; // the values refuse it themselves; checked in the contract test
                }
                Reason expected = model.apply(op, clock.instant().toEpochMilli());
                Throwable actual = null;
                try {
                    ledger.apply(op).join();
                } catch (CompletionException e) {
                    actual = e.getCause();
                }
                String where = "operation " + i + " " + op + " (seed " + SEED + ")";
                if (expected == null && actual != null) {
                    throw new AssertionError(where + " was refused but the model applies it", actual);
                }
                if (expected != null && SettlementAssertions.reasonOf(actual) != expected) {
                    fail(where + ": expected " + expected + " but got " + actual);
                }
                if (expected == null && !done.contains(op)) {
                    exercised.merge(op.getClass().getSimpleName(), 1, Integer::sum);
                }
                if (expected == null) {
                    done.add(op);
                    if (op instanceof Operation.Hold) {
                        holdKeys.add(op.key());
                    }
                }
                if (i % 50 == 0) {
                    assertEquals(model.balances(), ledger.balances(), where);
                    assertEquals(List.of(), ledger.memoryDifferences(), where);
                }
            }
            assertEquals(model.balances(), ledger.balances());
            System.out.println(getClass().getSimpleName() + ": applied " + exercised);
            for (String kind : List.of("Claim", "Dispute", "claims posted by the ledger",
                    "disputed claims posted at their re-check deadline")) {
                assertTrue(exercised.getOrDefault(kind, 0) > 0, kind + " never happened (seed " + SEED + "): " + exercised);
            }
            LedgerAudit audit = ledger.audit();
            assertTrue(audit.sound(), audit.violations()::toString);
        }
    }

    /** Opens the accounts {@link #randomOperation} draws from (one with credit) in both. */
    static void openAccounts(JdbcLedger ledger, LedgerModel model) {
        for (int i = 0; i < 9; i++) {
            AccountKind kind = i < 3 ? AccountKind.BUYER : i < 5 ? AccountKind.PROVIDER
                    : i < 7 ? AccountKind.STAKE : i == 7 ? AccountKind.FEES : AccountKind.BUYER;
            boolean credit = i == 8;
            ledger.open(ACCOUNTS[i], kind, credit).join();
            model.open(ACCOUNTS[i], kind, credit);
        }
    }

    static Operation randomOperation(SplittableRandom rnd, int i, Instant now, List<Operation> done,
                                             List<OperationKey> holdKeys) {
        if (!done.isEmpty() && rnd.nextInt(10) == 0) {
            Operation earlier = done.get(rnd.nextInt(done.size()));
            if (rnd.nextBoolean()) {
                return earlier; // an identical retry
            }
            // the same key with other fields
            return new Operation.Transfer(earlier.key(), account(rnd), account(rnd), amount(rnd));
        }
        OperationKey key = OperationKey.of("op-" + i);
        OperationKey hold = holdKeys.isEmpty() || rnd.nextInt(15) == 0
                ? OperationKey.of("op-" + rnd.nextInt(i + 1)) : holdKeys.get(rnd.nextInt(holdKeys.size()));
        switch (rnd.nextInt(11)) {
            case 0:
                return new Operation.Mint(key, account(rnd), amount(rnd));
            case 1:
                return new Operation.Transfer(key, account(rnd), account(rnd), amount(rnd));
            case 2:
            case 3:
                return new Operation.Hold(key, account(rnd), account(rnd), amount(rnd),
                        now.plusSeconds(rnd.nextInt(600)));
            case 4:
                return new Operation.Post(key, hold, rnd.nextInt(4) == 0 ? amount(rnd)
                        : MicroUsd.ofMicros(rnd.nextLong(5_000_000)));
            case 5:
                return new Operation.VoidHold(key, hold);
            case 6:
                return new Operation.Expire(key, hold);
            case 8:
            case 9:
                return new Operation.Claim(key, hold, rnd.nextInt(4) == 0 ? amount(rnd)
                        : MicroUsd.ofMicros(1 + rnd.nextLong(5_000_000)), "receipt-" + i);
            case 10:
                return new Operation.Dispute(key, hold, "dispute-" + i);
            default:
                MicroUsd burned = amount(rnd);
                return rnd.nextBoolean()
                        ? new Operation.Slash(key, account(rnd), Optional.of(account(rnd)), amount(rnd), burned, "d" + i)
                        : new Operation.Slash(key, account(rnd), Optional.empty(), MicroUsd.ZERO, burned, "d" + i);
        }
    }

    private static AccountId account(SplittableRandom rnd) {
        return ACCOUNTS[rnd.nextInt(ACCOUNTS.length)];
    }

    private static MicroUsd amount(SplittableRandom rnd) {
        int r = rnd.nextInt(100);
        if (r == 0) {
            return MicroUsd.ofMicros(Long.MAX_VALUE - rnd.nextInt(1000));
        }
        if (r == 1) {
            return MicroUsd.ofMicros(Long.MAX_VALUE / 2);
        }
        return MicroUsd.ofMicros(1 + rnd.nextLong(30_000_000));
    }

    @Test
    void concurrentWriters_keepTheInvariantsAndApplyEachKeyOnce() throws Exception {
        int threads = 16;
        int perThread = opsPerThread();
        AccountId[] buyers = new AccountId[4];
        AccountId[] providers = new AccountId[4];
        Map<String, Applied> acknowledged = new ConcurrentHashMap<>();
        AtomicLong minted = new AtomicLong();
        List<Throwable> unexpected = new ArrayList<>();
        Databases.Location location = freshDatabase();
        long start = System.nanoTime();
        try (JdbcLedger ledger = location.builder().open()) {
            for (int i = 0; i < 4; i++) {
                buyers[i] = AccountId.of("buyer:" + i);
                providers[i] = AccountId.of("provider:" + i);
                ledger.open(buyers[i], AccountKind.BUYER, false).join();
                ledger.open(providers[i], AccountKind.PROVIDER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("seed-" + i), buyers[i], MicroUsd.ofMicros(2_000_000))).join();
                minted.addAndGet(2_000_000);
            }
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread w = new Thread(() -> {
                    SplittableRandom rnd = new SplittableRandom(SEED + id);
                    try {
                        go.await();
                        List<java.util.concurrent.CompletableFuture<Applied>> window = new ArrayList<>();
                        for (int n = 0; n < perThread; n += 2) {
                            AccountId buyer = buyers[rnd.nextInt(4)];
                            AccountId provider = providers[rnd.nextInt(4)];
                            OperationKey hold = OperationKey.of("j" + id + "-" + n + "/0/hold");
                            long amount = 1 + rnd.nextInt(50_000);
                            Instant expires = Instant.now().plusSeconds(3600);
                            Operation h = new Operation.Hold(hold, buyer, provider, MicroUsd.ofMicros(amount), expires);
                            Operation second = switch (rnd.nextInt(4)) {
                                case 0 -> new Operation.VoidHold(OperationKey.of("j" + id + "-" + n + "/0/void"), hold);
                                case 1 -> new Operation.Mint(OperationKey.of("j" + id + "-" + n + "/0/mint"), buyer,
                                        MicroUsd.ofMicros(amount));
                                default -> new Operation.Post(OperationKey.of("j" + id + "-" + n + "/0/post"), hold,
                                        MicroUsd.ofMicros(rnd.nextLong(amount + 1)));
                            };
                            try {
                                acknowledged.put(h.key().value(), ledger.apply(h).join());
                            } catch (CompletionException e) {
                                if (!(e.getCause() instanceof SettlementException r && r.is(Reason.INSUFFICIENT_FUNDS))) {
                                    throw e;
                                }
                                continue;
                            }
                            // the second half is submitted twice at once: it must apply once
                            var a = ledger.apply(second);
                            var b = ledger.apply(second);
                            Applied applied = a.join();
                            assertEquals(applied, b.join());
                            acknowledged.put(second.key().value(), applied);
                            if (second instanceof Operation.Mint) {
                                minted.addAndGet(amount);
                                // and the hold that is still open gets voided later by key
                                window.add(ledger.apply(new Operation.VoidHold(
                                        OperationKey.of("j" + id + "-" + n + "/0/late-void"), hold)));
                            }
                            // a post beyond the hold or after resolution is refused, never applied
                            try {
                                ledger.apply(new Operation.Post(OperationKey.of("j" + id + "-" + n + "/0/post2"), hold,
                                        MicroUsd.ofMicros(amount + 1))).join();
                                fail("second resolution of " + hold + " was applied");
                            } catch (CompletionException e) {
                                if (!(e.getCause() instanceof SettlementException r && (r.is(Reason.HOLD_RESOLVED)
                                        || r.is(Reason.POST_EXCEEDS_HOLD)))) {
                                    throw e;
                                }
                            }
                        }
                        for (var f : window) {
                            Applied v = f.join();
                            acknowledged.put(v.operation().key().value(), v);
                        }
                    } catch (Throwable e) {
                        synchronized (unexpected) {
                            unexpected.add(e);
                        }
                    }
                });
                workers.add(w);
                w.start();
            }
            go.countDown();
            for (Thread w : workers) {
                w.join();
            }
            if (!unexpected.isEmpty()) {
                AssertionError e = new AssertionError(unexpected.size() + " writers failed (seed " + SEED + ")");
                unexpected.forEach(e::addSuppressed);
                throw e;
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            System.out.println(getClass().getSimpleName() + ": " + threads + " threads, " + acknowledged.size()
                    + " acknowledged operations in " + ms + " ms (seed " + SEED + ")");
            LedgerAudit audit = ledger.audit();
            assertTrue(audit.sound(), audit.violations()::toString);
            assertEquals(minted.get(), audit.minted(), "minted total");
            assertEquals(acknowledged.size() + 4, audit.operations(), "operations recorded = acknowledged + seeds");
            assertEquals(0, audit.openHolds(), "every hold resolved");
            // every acknowledged operation is there, once, with its original result
            for (Applied a : acknowledged.values()) {
                assertEquals(a, ledger.apply(a.operation()).join());
            }
            assertEquals(acknowledged.size() + 4, ledger.audit().operations());
        }
    }
}
