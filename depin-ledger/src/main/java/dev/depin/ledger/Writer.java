package dev.depin.ledger;

import dev.depin.InvalidArgumentException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Posting;
import dev.depin.settlement.SettlementException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * How the writer thread writes a batch: validates it against {@link Live} in memory, writes
 * its rows with JDBC batches, commits once, and only then lets the callers' futures complete.
 *
 * <p><b>Fast path.</b> Each operation is checked in memory, in order, against the balances
 * and holds as the batch's earlier operations left them. One that memory accepts changes
 * memory (with an undo record) and stages its rows; an identical retry of a recent key is
 * answered from memory. One that memory would refuse, or cannot judge (an unknown account,
 * a hold not open in memory, a key retried with other fields), is not refused by memory: the
 * rows staged so far are written, and that one operation runs on the database path
 * ({@link Store#apply}, against the database inside the same transaction, with a savepoint),
 * whose answer is final; memory then re-reads what it touched. So memory may only ever be
 * stricter than the database, never more lenient, and every refusal says exactly what the
 * database path says.
 *
 * <p><b>The database is the judge.</b> Balances are written as compare-and-set updates (the
 * new value where the row still has the value memory last saw), holds are resolved only where
 * still open, keys are UNIQUE and the CHECK constraints stay: if memory was stale (a second
 * writer on a shared PostgreSQL, an old key retried that memory no longer holds), a statement
 * fails or changes no row, the transaction is rolled back, memory is restored from the undo
 * records, and the whole batch runs again on the careful path (one operation at a time
 * against the database, as the ledger did before it kept memory); memory then re-reads the
 * accounts and holds the batch named.
 *
 * <p><b>Failed commits.</b> If the commit itself fails, the same happens: memory returns to the
 * last committed state and the careful path tries once more; if that fails too, every future
 * of the batch fails with {@link LedgerFailureException} and memory is loaded again from the
 * database before the next batch. Nothing is acknowledged before its commit returned.
 */
final class Writer {
    /** Memory cannot decide this operation: the database path must. */
    private static final Object UNDECIDED = new Object();
    private static final Live.Hold NO_HOLD = new Live.Hold(null, null, null, 0, 0, 0);

    private final Store store;
    private final Connection c;
    private final Dialect dialect;
    private final Clock clock;
    private final int recentKeys;
    /** Null when memory must be loaded again from the database before it is trusted. */
    private Live live;
    /** Whether the last careful batch failed as a whole (the database or the disk, not a refusal). */
    private boolean carefulFailed;

    Writer(Store store, Dialect dialect, Clock clock, int recentKeys) {
        this.store = store;
        this.c = store.connection();
        this.dialect = dialect;
        this.clock = clock;
        this.recentKeys = recentKeys;
    }

    /** Loads memory from the database; on failure memory stays unloaded and batches take the careful path. */
    void load() throws SQLException {
        live = null;
        Live l = new Live(recentKeys);
        try {
            store.load(l, recentKeys);
        } finally {
            store.endRead();
        }
        live = l;
    }

    /** Writes a batch and completes (or fails) every request in it. */
    void write(List<Request> batch) {
        Object[] out = null;
        if (live == null) {
            try {
                load();
            } catch (SQLException | RuntimeException e) {
                live = null; // the careful path below says what is wrong with the database
            }
        }
        if (live != null) {
            out = fast(batch);
        }
        if (out == null) {
            out = careful(batch);
            afterCareful(batch, out);
        }
        for (int i = 0; i < batch.size(); i++) {
            Request r = batch.get(i);
            Object o = out[i];
            if (o instanceof Throwable) {
                r.fail((Throwable) o);
            } else if (o instanceof Live.Done) {
                r.complete(((Live.Done) o).applied(((OpRequest) r).operation));
            } else {
                r.complete(o);
            }
        }
    }

    // ---- the fast path --------------------------------------------------------------

    /** What one batch on the fast path changed in memory (to undo it) and has yet to write. */
    private static final class Batch {
        final IdentityHashMap<Live.Account, long[]> before = new IdentityHashMap<>();
        final List<Live.Account> created = new ArrayList<>();
        final Map<String, Live.Hold> holdsBefore = new HashMap<>();
        final LinkedHashMap<String, Live.Done> keys = new LinkedHashMap<>();
        long nextSeqBefore;
        // to be written at the next flush
        final IdentityHashMap<Live.Account, long[]> seen = new IdentityHashMap<>();
        final List<Live.Account> newAccounts = new ArrayList<>();
        final List<Live.Done> ops = new ArrayList<>();
        final List<Live.Hold> newHolds = new ArrayList<>();
        /** Each new hold's operation, beside it in newHolds: the hold's row takes that operation's sequence number. */
        final List<Live.Done> newHoldOps = new ArrayList<>();
        final List<Store.Resolution> resolutions = new ArrayList<>();
    }

    /** @return the outcomes, or null if the batch must run on the careful path (memory is as before) */
    private Object[] fast(List<Request> batch) {
        Batch b = new Batch();
        b.nextSeqBefore = live.nextSeq;
        Object[] out = new Object[batch.size()];
        try {
            for (int i = 0; i < out.length; i++) {
                Request r = batch.get(i);
                Object o = r instanceof OpRequest
                        ? inMemory(((OpRequest) r).operation, clock.instant().truncatedTo(ChronoUnit.MILLIS), b)
                        : inMemory((OpenRequest) r, b);
                if (o == UNDECIDED) {
                    o = onDatabase(r, b);
                }
                out[i] = o;
            }
            flush(b);
            c.commit();
        } catch (Throwable e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the careful path finds the connection broken and says so
            }
            undo(b);
            return null;
        }
        live.recent.putAll(b.keys);
        return out;
    }

    private void undo(Batch b) {
        for (Map.Entry<Live.Account, long[]> e : b.before.entrySet()) {
            e.getKey().posted = e.getValue()[0];
            e.getKey().held = e.getValue()[1];
        }
        for (Live.Account a : b.created) {
            live.accounts.remove(a.id.value());
        }
        for (Map.Entry<String, Live.Hold> e : b.holdsBefore.entrySet()) {
            if (e.getValue() == NO_HOLD) {
                live.holds.remove(e.getKey());
            } else {
                live.holds.put(e.getKey(), e.getValue());
            }
        }
        live.nextSeq = b.nextSeqBefore;
    }

    /** Records an account's values before the batch and before the next flush, then sets new ones. */
    private static void set(Batch b, Live.Account a, long posted, long held) {
        b.before.computeIfAbsent(a, k -> new long[] {k.posted, k.held});
        b.seen.computeIfAbsent(a, k -> new long[] {k.posted, k.held});
        a.posted = posted;
        a.held = held;
    }

    private void setHold(Batch b, String key, Live.Hold h) {
        Live.Hold old = h == null ? live.holds.remove(key) : live.holds.put(key, h);
        b.holdsBefore.putIfAbsent(key, old == null ? NO_HOLD : old);
    }

    /** Writes what the batch staged since the last flush (inside the open transaction). */
    private void flush(Batch b) throws SQLException {
        if (!b.newAccounts.isEmpty()) {
            store.insertAccounts(b.newAccounts);
            b.newAccounts.clear();
        }
        if (!b.ops.isEmpty()) {
            if (dialect == Dialect.POSTGRESQL) {
                long[] seqs = store.nextSequences(b.ops.size());
                for (int i = 0; i < seqs.length; i++) {
                    b.ops.get(i).seq = seqs[i];
                }
            } else {
                for (Live.Done d : b.ops) {
                    d.seq = live.nextSeq++;
                }
            }
            store.insertOps(b.ops);
            b.ops.clear();
        }
        if (!b.newHolds.isEmpty()) {
            for (int i = 0; i < b.newHolds.size(); i++) {
                b.newHolds.get(i).seq = b.newHoldOps.get(i).seq;
            }
            store.insertHolds(b.newHolds);
            b.newHolds.clear();
            b.newHoldOps.clear();
        }
        if (!b.resolutions.isEmpty()) {
            store.resolveHolds(b.resolutions);
            b.resolutions.clear();
        }
        if (!b.seen.isEmpty()) {
            List<Live.Account> changed = new ArrayList<>(b.seen.size());
            for (Map.Entry<Live.Account, long[]> e : b.seen.entrySet()) {
                Live.Account a = e.getKey();
                if (a.posted != e.getValue()[0] || a.held != e.getValue()[1]) {
                    changed.add(a);
                }
            }
            changed.sort(Comparator.comparing(a -> a.id.value())); // one lock order for every writer
            List<long[]> values = new ArrayList<>(changed.size());
            for (Live.Account a : changed) {
                long[] seen = b.seen.get(a);
                values.add(new long[] {a.posted, a.held, seen[0], seen[1]});
            }
            if (!changed.isEmpty()) {
                store.setBalances(changed, values);
            }
            b.seen.clear();
        }
    }

    /**
     * Runs one operation against the database inside the batch's transaction, after writing
     * what the batch staged before it, and re-reads what it touched into memory.
     */
    private Object onDatabase(Request r, Batch b) throws SQLException {
        flush(b);
        Savepoint sp = c.setSavepoint();
        Object result;
        try {
            store.startOperation();
            result = r.run(store, clock);
            c.releaseSavepoint(sp);
        } catch (SettlementException | InvalidArgumentException refusal) {
            c.rollback(sp);
            result = refusal;
        }
        Set<String> accounts = new LinkedHashSet<>();
        Set<OperationKey> holds = new LinkedHashSet<>();
        touched(r, accounts, holds);
        refresh(b, accounts, holds);
        if (result instanceof Applied) {
            Applied a = (Applied) result;
            b.keys.put(a.operation().key().value(), Live.Done.of(a));
            live.nextSeq = Math.max(live.nextSeq, a.sequence() + 1);
        }
        return result;
    }

    /** Reads the named holds (and their accounts) and accounts from the database into memory. */
    private void refresh(Batch b, Set<String> accounts, Set<OperationKey> holds) throws SQLException {
        for (OperationKey key : holds) {
            Store.FoundHold found = store.findHold(key);
            if (found != null) {
                accounts.add(found.hold().payer.value());
                accounts.add(found.hold().payee.value());
            }
            Live.Hold h = found != null && found.open() ? found.hold() : null;
            if (b != null) {
                setHold(b, key.value(), h);
            } else if (h == null) {
                live.holds.remove(key.value());
            } else {
                live.holds.put(key.value(), h);
            }
        }
        for (String id : accounts) {
            Live.Account now = store.findAccount(AccountId.of(id));
            Live.Account mine = live.accounts.get(id);
            if (now == null) {
                if (mine != null && b == null) {
                    live.accounts.remove(id);
                }
            } else if (mine == null) {
                live.accounts.put(id, now);
                if (b != null) {
                    b.created.add(now);
                }
            } else if (b == null) {
                mine.posted = now.posted;
                mine.held = now.held;
            } else {
                set(b, mine, now.posted, now.held);
                b.seen.put(mine, new long[] {now.posted, now.held}); // the database has these now
            }
        }
    }

    private static void touched(Request r, Set<String> accounts, Set<OperationKey> holds) {
        if (r instanceof OpenRequest) {
            accounts.add(((OpenRequest) r).account.value());
            return;
        }
        Operation op = ((OpRequest) r).operation;
        if (op instanceof Operation.Mint m) {
            accounts.add(m.to().value());
            accounts.add(AccountId.ISSUER.value());
        } else if (op instanceof Operation.Transfer t) {
            accounts.add(t.from().value());
            accounts.add(t.to().value());
        } else if (op instanceof Operation.Hold h) {
            accounts.add(h.payer().value());
            accounts.add(h.payee().value());
            holds.add(h.key());
        } else if (op instanceof Operation.Post p) {
            holds.add(p.hold());
        } else if (op instanceof Operation.VoidHold v) {
            holds.add(v.hold());
        } else if (op instanceof Operation.Expire x) {
            holds.add(x.hold());
        } else if (op instanceof Operation.Claim cl) {
            holds.add(cl.hold());
        } else if (op instanceof Operation.Dispute d) {
            holds.add(d.hold());
        } else if (op instanceof Operation.Slash s) {
            accounts.add(s.stake().value());
            s.beneficiary().ifPresent(a -> accounts.add(a.value()));
            accounts.add(AccountId.BURN.value());
        }
    }

    // ---- validation in memory: accept (and stage), or UNDECIDED -----------------------

    private Object inMemory(OpenRequest r, Batch b) {
        Live.Account a = live.accounts.get(r.account.value());
        if (a != null) {
            return a.kind == r.kind && a.credit == r.allowCredit ? a.balance() : UNDECIDED;
        }
        a = new Live.Account(r.account, r.kind, r.allowCredit, 0, 0);
        live.accounts.put(r.account.value(), a);
        b.created.add(a);
        b.newAccounts.add(a);
        return a.balance();
    }

    // Written twice on purpose (issue 19): Store.apply is the database path and the judge; this is
    // the group commit's in-memory check, which may accept but never refuse what Store would. A new
    // operation needs both; LedgerInvariantTest runs random sequences through both against LedgerModel.
    private Object inMemory(Operation op, Instant now, Batch b) {
        String key = op.key().value();
        Live.Done done = b.keys.get(key);
        if (done == null) {
            done = live.recent.get(key);
        }
        if (done != null) {
            return done.fields.equals(op.fields()) ? done : UNDECIDED;
        }
        if (op instanceof Operation.Hold h) {
            return hold(h, now, b);
        } else if (op instanceof Operation.Post p) {
            return post(p, now, b);
        } else if (op instanceof Operation.Mint m) {
            return mint(m, now, b);
        } else if (op instanceof Operation.Transfer t) {
            return transfer(t, now, b);
        } else if (op instanceof Operation.VoidHold v) {
            return release(v, v.hold(), "VOIDED", now, b);
        } else if (op instanceof Operation.Expire x) {
            return release(x, x.hold(), "EXPIRED", now, b);
        } else if (op instanceof Operation.Claim || op instanceof Operation.Dispute) {
            // Rare (a buyer that did not post) and judged against the claims table: the database
            // path decides, and memory then drops the claimed hold, so every later post, void or
            // expiry of it is the database path's too.
            return UNDECIDED;
        } else {
            return slash((Operation.Slash) op, now, b);
        }
    }

    /**
     * Whether moving {@code posted} and {@code held} by these amounts keeps the account in the
     * ledger's range and, unless it has credit, at {@code posted - held >= 0}: the checks of
     * {@link Store}'s {@code change} and {@code checkRange}, and the database's CHECKs.
     */
    private static boolean fits(Live.Account a, long postedDelta, long heldDelta) {
        try {
            long posted = Math.addExact(a.posted, postedDelta);
            long held = Math.addExact(a.held, heldDelta);
            Math.subtractExact(posted, a.held);
            long available = Math.subtractExact(posted, held);
            return posted != Long.MIN_VALUE && held >= 0 && (a.credit || available >= 0);
        } catch (ArithmeticException e) {
            return false;
        }
    }

    private static boolean covers(Live.Account a, long amount) {
        return a.credit || a.posted - a.held >= amount;
    }

    private static boolean paysOut(Live.Account a) {
        return a.kind != AccountKind.ISSUER && a.kind != AccountKind.BURN;
    }

    private Live.Done stage(Batch b, Operation op, Instant now, List<Posting> legs) {
        Live.Done d = new Live.Done(op.key().value(), op.fields(), 0, now.toEpochMilli(), legs);
        b.ops.add(d);
        b.keys.put(d.key, d);
        return d;
    }

    private Object mint(Operation.Mint m, Instant now, Batch b) {
        Live.Account to = live.accounts.get(m.to().value());
        Live.Account issuer = live.accounts.get(AccountId.ISSUER.value());
        long amount = m.amount().micros();
        if (to == null || issuer == null || !paysOut(to) || !fits(issuer, -amount, 0) || !fits(to, amount, 0)) {
            return UNDECIDED;
        }
        set(b, issuer, issuer.posted - amount, issuer.held);
        set(b, to, to.posted + amount, to.held);
        return stage(b, m, now, List.of(new Posting(issuer.id, to.id, m.amount(), false)));
    }

    private Object transfer(Operation.Transfer t, Instant now, Batch b) {
        Live.Account from = live.accounts.get(t.from().value());
        Live.Account to = live.accounts.get(t.to().value());
        long amount = t.amount().micros();
        if (from == null || to == null || !paysOut(from) || to.kind == AccountKind.ISSUER || !covers(from, amount)
                || !fits(from, -amount, 0) || !fits(to, amount, 0)) {
            return UNDECIDED;
        }
        set(b, from, from.posted - amount, from.held);
        set(b, to, to.posted + amount, to.held);
        return stage(b, t, now, List.of(new Posting(from.id, to.id, t.amount(), false)));
    }

    private Object hold(Operation.Hold h, Instant now, Batch b) {
        Live.Account payer = live.accounts.get(h.payer().value());
        Live.Account payee = live.accounts.get(h.payee().value());
        long amount = h.amount().micros();
        if (payer == null || payee == null || !paysOut(payer) || payee.kind == AccountKind.ISSUER
                || !covers(payer, amount) || !fits(payer, 0, amount)) {
            return UNDECIDED;
        }
        set(b, payer, payer.posted, payer.held + amount);
        Live.Hold hold = new Live.Hold(h.key(), payer.id, payee.id, amount, h.expiresAt().toEpochMilli(), 0);
        setHold(b, h.key().value(), hold);
        Live.Done d = stage(b, h, now, List.of(new Posting(payer.id, payee.id, h.amount(), true)));
        b.newHolds.add(hold);
        b.newHoldOps.add(d);
        return d;
    }

    private Object post(Operation.Post p, Instant now, Batch b) {
        Live.Hold h = live.holds.get(p.hold().value());
        if (h == null || now.toEpochMilli() >= h.expiresMs) {
            return UNDECIDED;
        }
        long amount = p.amount().micros();
        Live.Account payer = live.accounts.get(h.payer.value());
        Live.Account payee = live.accounts.get(h.payee.value());
        if (amount > h.amount || payer == null || payee == null
                || !fits(payer, -amount, -h.amount) || !fits(payee, amount, 0)) {
            return UNDECIDED;
        }
        set(b, payer, payer.posted - amount, payer.held - h.amount);
        set(b, payee, payee.posted + amount, payee.held);
        setHold(b, h.key.value(), null);
        Live.Done d = stage(b, p, now, amount == 0 ? List.of() : List.of(new Posting(payer.id, payee.id, p.amount(), false)));
        b.resolutions.add(new Store.Resolution("POSTED", d, h));
        return d;
    }

    private Object release(Operation op, OperationKey holdKey, String state, Instant now, Batch b) {
        Live.Hold h = live.holds.get(holdKey.value());
        if (h == null || (state.equals("EXPIRED") && now.toEpochMilli() < h.expiresMs)) {
            return UNDECIDED;
        }
        Live.Account payer = live.accounts.get(h.payer.value());
        if (payer == null || !fits(payer, 0, -h.amount)) {
            return UNDECIDED;
        }
        set(b, payer, payer.posted, payer.held - h.amount);
        setHold(b, h.key.value(), null);
        Live.Done d = stage(b, op, now, List.of());
        b.resolutions.add(new Store.Resolution(state, d, h));
        return d;
    }

    private Object slash(Operation.Slash s, Instant now, Batch b) {
        Live.Account stake = live.accounts.get(s.stake().value());
        Live.Account burn = live.accounts.get(AccountId.BURN.value());
        Live.Account beneficiary = s.beneficiary().map(a -> live.accounts.get(a.value())).orElse(null);
        long total = s.total().micros();
        long toBeneficiary = s.toBeneficiary().micros();
        long burned = s.burned().micros();
        if (stake == null || burn == null || stake.kind != AccountKind.STAKE || !covers(stake, total)
                || !fits(stake, -total, 0) || !fits(burn, burned, 0)) {
            return UNDECIDED;
        }
        if (s.beneficiary().isPresent() && (beneficiary == null || beneficiary == burn
                || beneficiary.kind == AccountKind.ISSUER || !fits(beneficiary, toBeneficiary, 0))) {
            return UNDECIDED;
        }
        set(b, stake, stake.posted - total, stake.held);
        List<Posting> legs = new ArrayList<>(2);
        if (toBeneficiary > 0) {
            set(b, beneficiary, beneficiary.posted + toBeneficiary, beneficiary.held);
            legs.add(new Posting(stake.id, beneficiary.id, s.toBeneficiary(), false));
        }
        if (burned > 0) {
            set(b, burn, burn.posted + burned, burn.held);
            legs.add(new Posting(stake.id, burn.id, s.burned(), false));
        }
        return stage(b, s, now, List.copyOf(legs));
    }

    // ---- the careful path -----------------------------------------------------------

    /**
     * One transaction for the whole batch against the database, as the ledger wrote before it
     * kept memory. Without savepoints first: every refusal the database path gives is found
     * before the operation's first write. If an operation fails after writing (a constraint,
     * another writer, a database error), the batch is rolled back and run again with a
     * savepoint around each operation.
     */
    private Object[] careful(List<Request> batch) {
        carefulFailed = false;
        Object[] out = careful(batch, false);
        return out != null ? out : careful(batch, true);
    }

    /** @return null when the variant without savepoints must give way to the one with (nothing was committed) */
    private Object[] careful(List<Request> batch, boolean savepoints) {
        Object[] out = new Object[batch.size()];
        try {
            for (int i = 0; i < out.length; i++) {
                Request request = batch.get(i);
                if (!savepoints) {
                    store.startOperation();
                    try {
                        out[i] = request.run(store, clock);
                    } catch (SettlementException | InvalidArgumentException e) {
                        if (store.wroteSinceStart()) {
                            c.rollback();
                            return null;
                        }
                        out[i] = e;
                    } catch (SQLException e) {
                        c.rollback();
                        return null;
                    }
                    continue;
                }
                Savepoint sp = c.setSavepoint();
                try {
                    out[i] = request.run(store, clock);
                    c.releaseSavepoint(sp);
                } catch (SettlementException | InvalidArgumentException e) {
                    c.rollback(sp);
                    out[i] = e;
                } catch (SQLException e) {
                    c.rollback(sp);
                    // A constraint tripped: another writer (a second process on PostgreSQL) got
                    // there first. Run it once more, now that its row is visible: an identical
                    // retry then returns that writer's result, and a real refusal says why.
                    Savepoint again = c.setSavepoint();
                    try {
                        out[i] = request.run(store, clock);
                        c.releaseSavepoint(again);
                    } catch (SettlementException | InvalidArgumentException refusal) {
                        c.rollback(again);
                        out[i] = refusal;
                    } catch (SQLException e2) {
                        c.rollback(again);
                        out[i] = store.explain(e2);
                    }
                }
            }
            c.commit();
        } catch (Throwable e) {
            // Whatever went wrong (the database, the disk, an Error), every caller's future
            // completes: the batch is rolled back and fails as a whole.
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the connection is broken; the next batch fails the same way and says why
            }
            LedgerFailureException failure = new LedgerFailureException(
                    "the ledger could not commit: " + e.getMessage() + " (nothing was applied; retry with the same key)", e);
            java.util.Arrays.fill(out, failure);
            carefulFailed = true;
        }
        return out;
    }

    /** After the careful path committed (or failed), memory re-reads what the batch named. */
    private void afterCareful(List<Request> batch, Object[] out) {
        if (live == null) {
            return;
        }
        if (carefulFailed) {
            live = null; // the database failed: load memory again before trusting it
            return;
        }
        try {
            Set<String> accounts = new LinkedHashSet<>();
            Set<OperationKey> holds = new LinkedHashSet<>();
            for (Request r : batch) {
                touched(r, accounts, holds);
            }
            refresh(null, accounts, holds);
            if (dialect == Dialect.SQLITE) {
                live.nextSeq = store.maxSeq() + 1;
            }
            for (Object o : out) {
                if (o instanceof Applied) {
                    Applied a = (Applied) o;
                    live.recent.put(a.operation().key().value(), Live.Done.of(a));
                }
            }
        } catch (SQLException | RuntimeException e) {
            live = null;
        } finally {
            store.endRead();
        }
    }

    /**
     * For the tests: how memory differs from a fresh load of the database (accounts, open
     * holds, and every remembered key's result); empty when they agree. Runs on the writer
     * thread between batches.
     */
    List<String> differences() throws SQLException {
        if (live == null) {
            return List.of("memory is not loaded");
        }
        Live fresh = new Live(Integer.MAX_VALUE);
        try {
            store.load(fresh, Integer.MAX_VALUE);
        } finally {
            store.endRead();
        }
        List<String> out = new ArrayList<>();
        Set<String> ids = new java.util.TreeSet<>(fresh.accounts.keySet());
        ids.addAll(live.accounts.keySet());
        for (String id : ids) {
            Live.Account m = live.accounts.get(id);
            Live.Account d = fresh.accounts.get(id);
            if (m == null || d == null || m.kind != d.kind || m.credit != d.credit || m.posted != d.posted
                    || m.held != d.held) {
                out.add("account " + id + ": memory " + (m == null ? null : m.balance())
                        + ", database " + (d == null ? null : d.balance()));
            }
        }
        Set<String> holds = new java.util.TreeSet<>(fresh.holds.keySet());
        holds.addAll(live.holds.keySet());
        for (String key : holds) {
            Live.Hold m = live.holds.get(key);
            Live.Hold d = fresh.holds.get(key);
            if (m == null || d == null || !m.payer.equals(d.payer) || !m.payee.equals(d.payee) || m.amount != d.amount
                    || m.expiresMs != d.expiresMs) {
                out.add("open hold " + key + ": " + (m == null ? "not in memory" : d == null ? "not in the database" : "differs"));
            }
        }
        for (Live.Done m : live.recent.values()) {
            Live.Done d = fresh.recent.get(m.key);
            if (d == null || d.seq != m.seq || d.atMs != m.atMs || !d.fields.equals(m.fields) || !d.postings.equals(m.postings)) {
                out.add("key " + m.key + ": memory has seq " + m.seq + ", database " + (d == null ? "nothing" : "seq " + d.seq));
            }
        }
        if (dialect == Dialect.SQLITE && live.nextSeq != fresh.nextSeq) {
            out.add("next sequence number: memory " + live.nextSeq + ", database " + fresh.nextSeq);
        }
        return out;
    }

    // ---- requests -------------------------------------------------------------------

    /** A caller's request, completed by the writer thread after its batch committed. */
    abstract static class Request {
        abstract Object run(Store store, Clock clock) throws SQLException;

        abstract void complete(Object result);

        abstract void fail(Throwable t);
    }

    /** For the tests: asks the writer thread for {@link #differences()} between two batches. */
    static final class Probe {
        final CompletableFuture<List<String>> future = new CompletableFuture<>();
    }

    static final class OpRequest extends Request {
        final Operation operation;
        final CompletableFuture<Applied> future = new CompletableFuture<>();

        OpRequest(Operation operation) {
            this.operation = operation;
        }

        @Override
        Object run(Store store, Clock clock) throws SQLException {
            return store.apply(operation, clock.instant().truncatedTo(ChronoUnit.MILLIS));
        }

        @Override
        void complete(Object result) {
            future.complete((Applied) result);
        }

        @Override
        void fail(Throwable t) {
            future.completeExceptionally(t);
        }
    }

    static final class OpenRequest extends Request {
        final AccountId account;
        final AccountKind kind;
        final boolean allowCredit;
        final CompletableFuture<Balance> future = new CompletableFuture<>();

        OpenRequest(AccountId account, AccountKind kind, boolean allowCredit) {
            this.account = account;
            this.kind = kind;
            this.allowCredit = allowCredit;
        }

        @Override
        Object run(Store store, Clock clock) throws SQLException {
            return store.open(account, kind, allowCredit);
        }

        @Override
        void complete(Object result) {
            future.complete((Balance) result);
        }

        @Override
        void fail(Throwable t) {
            future.completeExceptionally(t);
        }
    }
}
