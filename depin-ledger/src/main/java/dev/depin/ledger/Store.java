package dev.depin.ledger;

import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountConflictException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.AccountKindException;
import dev.depin.settlement.AmountOverflowException;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldExpiredException;
import dev.depin.settlement.HoldNotExpiredException;
import dev.depin.settlement.HoldResolvedException;
import dev.depin.settlement.IdempotencyConflictException;
import dev.depin.settlement.InsufficientFundsException;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.PostExceedsHoldException;
import dev.depin.settlement.Posting;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.UnknownAccountException;
import dev.depin.settlement.UnknownHoldException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The SQL of the ledger on one connection. Writes run on the writer thread inside its
 * transaction; each method validates first and writes afterwards, so a refusal normally
 * writes nothing, and the savepoint around it undoes whatever a constraint stopped.
 */
final class Store {
    private final Connection c;
    private final Dialect dialect;
    private final Map<String, PreparedStatement> statements = new HashMap<>();

    Store(Connection c, Dialect dialect) {
        this.c = c;
        this.dialect = dialect;
    }

    Connection connection() {
        return c;
    }

    /** Writes made by the current operation; see {@code JdbcLedger.writeBatch}. */
    private boolean wrote;

    void startOperation() {
        wrote = false;
    }

    boolean wroteSinceStart() {
        return wrote;
    }

    void initialise() throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String ddl : dialect.schema()) {
                s.execute(ddl);
            }
        }
        insertSystemAccount(AccountId.ISSUER, AccountKind.ISSUER, true);
        insertSystemAccount(AccountId.BURN, AccountKind.BURN, false);
        c.commit();
    }

    private void insertSystemAccount(AccountId id, AccountKind kind, boolean credit) throws SQLException {
        PreparedStatement p = prepare("INSERT INTO accounts(id, kind, allow_credit, posted, held)"
                + " VALUES (?, ?, ?, 0, 0) ON CONFLICT (id) DO NOTHING");
        p.setString(1, id.value());
        p.setString(2, kind.name());
        p.setInt(3, credit ? 1 : 0);
        p.executeUpdate();
    }

    void endRead() {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // a broken connection shows on the next read, with its reason
        }
    }

    void close() {
        for (PreparedStatement p : statements.values()) {
            try {
                p.close();
            } catch (SQLException ignored) {
                // closing anyway
            }
        }
        try {
            c.close();
        } catch (SQLException ignored) {
            // closing anyway
        }
    }

    private PreparedStatement prepare(String sql) throws SQLException {
        PreparedStatement p = statements.get(sql);
        if (p == null) {
            p = c.prepareStatement(sql);
            statements.put(sql, p);
        }
        return p;
    }

    // ---- accounts -------------------------------------------------------------------

    private static final class Account {
        final AccountId id;
        final AccountKind kind;
        final boolean credit;
        final long posted;
        final long held;

        Account(AccountId id, AccountKind kind, boolean credit, long posted, long held) {
            this.id = id;
            this.kind = kind;
            this.credit = credit;
            this.posted = posted;
            this.held = held;
        }

        long available() {
            return posted - held;
        }

        Balance balance() {
            return new Balance(id, kind, credit, posted, held);
        }
    }

    private Account find(AccountId id) throws SQLException {
        PreparedStatement p = prepare("SELECT kind, allow_credit, posted, held FROM accounts WHERE id = ?");
        p.setString(1, id.value());
        try (ResultSet rs = p.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            return new Account(id, AccountKind.valueOf(rs.getString(1)), rs.getInt(2) == 1, rs.getLong(3), rs.getLong(4));
        }
    }

    private Account account(AccountId id) throws SQLException {
        Account a = find(id);
        if (a == null) {
            throw new UnknownAccountException("account " + id + " does not exist: open it first");
        }
        return a;
    }

    Balance open(AccountId id, AccountKind kind, boolean credit) throws SQLException {
        Account a = find(id);
        if (a != null) {
            if (a.kind != kind || a.credit != credit) {
                throw new AccountConflictException("account " + id + " exists as " + a.kind
                        + (a.credit ? " with credit" : " without credit") + ", not " + kind
                        + (credit ? " with credit" : " without credit") + ": use another id");
            }
            return a.balance();
        }
        wrote = true;
        PreparedStatement p = prepare("INSERT INTO accounts(id, kind, allow_credit, posted, held) VALUES (?, ?, ?, 0, 0)");
        p.setString(1, id.value());
        p.setString(2, kind.name());
        p.setInt(3, credit ? 1 : 0);
        p.executeUpdate();
        return new Balance(id, kind, credit, 0, 0);
    }

    private void change(Account a, long postedDelta, long heldDelta) throws SQLException {
        try {
            Math.addExact(a.posted, postedDelta);
            Math.addExact(a.held, heldDelta);
        } catch (ArithmeticException e) {
            throw new AmountOverflowException("account " + a.id + " would leave the range of a 64-bit micro-USD count"
                    + " (posted " + a.posted + ", held " + a.held + "): move smaller amounts");
        }
        PreparedStatement p = prepare("UPDATE accounts SET posted = posted + ?, held = held + ? WHERE id = ?");
        p.setLong(1, postedDelta);
        p.setLong(2, heldDelta);
        p.setString(3, a.id.value());
        if (p.executeUpdate() != 1) {
            throw new UnknownAccountException("account " + a.id + " disappeared: open it again");
        }
    }

    private static void requireAvailable(Account a, long amount, String what) {
        if (!a.credit && a.available() < amount) {
            throw new InsufficientFundsException("account " + a.id + " has " + MicroUsd.ofMicros(Math.max(0, a.available()))
                    + " available (" + a.posted + " posted, " + a.held + " held) but " + what + " needs "
                    + MicroUsd.ofMicros(amount) + ": add funds first");
        }
    }

    private static void requireKind(Account a, boolean ok, String why) {
        if (!ok) {
            throw new AccountKindException("account " + a.id + " is of kind " + a.kind + ": " + why);
        }
    }

    // ---- operations -----------------------------------------------------------------

    Applied apply(Operation op, Instant now) throws SQLException {
        Applied earlier = existing(op);
        if (earlier != null) {
            return earlier;
        }
        if (op instanceof Operation.Mint) {
            return mint((Operation.Mint) op, now);
        } else if (op instanceof Operation.Transfer) {
            return transfer((Operation.Transfer) op, now);
        } else if (op instanceof Operation.Hold) {
            return hold((Operation.Hold) op, now);
        } else if (op instanceof Operation.Post) {
            return post((Operation.Post) op, now);
        } else if (op instanceof Operation.VoidHold) {
            Operation.VoidHold v = (Operation.VoidHold) op;
            return release(v, v.hold(), "VOIDED", now);
        } else if (op instanceof Operation.Expire) {
            Operation.Expire x = (Operation.Expire) op;
            return release(x, x.hold(), "EXPIRED", now);
        } else {
            return slash((Operation.Slash) op, now);
        }
    }

    /** The original result of an operation with this key, or null; a conflict if its fields differ. */
    private Applied existing(Operation op) throws SQLException {
        PreparedStatement p = prepare("SELECT seq, fields, at_ms FROM ops WHERE op_key = ?");
        p.setString(1, op.key().value());
        long seq;
        long at;
        try (ResultSet rs = p.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            String fields = rs.getString(2);
            if (!fields.equals(op.fields())) {
                throw new IdempotencyConflictException("key " + op.key() + " was used for [" + fields
                        + "], not [" + op.fields() + "]: use a new key for a different operation");
            }
            seq = rs.getLong(1);
            at = rs.getLong(3);
        }
        return new Applied(seq, op, postings(seq), Instant.ofEpochMilli(at));
    }

    private List<Posting> postings(long seq) throws SQLException {
        PreparedStatement p = prepare("SELECT debit, credit, amount, pending FROM entries WHERE op_seq = ? ORDER BY leg");
        p.setLong(1, seq);
        List<Posting> out = new ArrayList<>();
        try (ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                out.add(new Posting(AccountId.of(rs.getString(1)), AccountId.of(rs.getString(2)),
                        MicroUsd.ofMicros(rs.getLong(3)), rs.getInt(4) == 1));
            }
        }
        return out;
    }

    private long insertOp(Operation op, Instant now) throws SQLException {
        wrote = true;
        PreparedStatement p = prepare(dialect.insertOp());
        p.setString(1, op.key().value());
        p.setString(2, op.fields());
        p.setLong(3, now.toEpochMilli());
        try (ResultSet rs = p.executeQuery()) {
            if (!rs.next()) {
                throw new SQLException("inserting operation " + op.key() + " returned no sequence number");
            }
            return rs.getLong(1);
        }
    }

    private Posting entry(long seq, int leg, AccountId debit, AccountId credit, long amount, boolean pending)
            throws SQLException {
        PreparedStatement p = prepare("INSERT INTO entries(op_seq, leg, debit, credit, amount, pending) VALUES (?, ?, ?, ?, ?, ?)");
        p.setLong(1, seq);
        p.setInt(2, leg);
        p.setString(3, debit.value());
        p.setString(4, credit.value());
        p.setLong(5, amount);
        p.setInt(6, pending ? 1 : 0);
        p.executeUpdate();
        return new Posting(debit, credit, MicroUsd.ofMicros(amount), pending);
    }

    private Applied mint(Operation.Mint m, Instant now) throws SQLException {
        Account to = account(m.to());
        requireKind(to, to.kind != AccountKind.ISSUER && to.kind != AccountKind.BURN,
                "mint into a buyer, provider, stake or fees account");
        Account issuer = account(AccountId.ISSUER);
        long amount = m.amount().micros();
        checkRange(issuer, -amount, to, amount);
        long seq = insertOp(m, now);
        change(issuer, -amount, 0);
        change(to, amount, 0);
        return new Applied(seq, m, List.of(entry(seq, 0, issuer.id, to.id, amount, false)), now);
    }

    private Applied transfer(Operation.Transfer t, Instant now) throws SQLException {
        Account from = account(t.from());
        Account to = account(t.to());
        requireKind(from, from.kind != AccountKind.ISSUER && from.kind != AccountKind.BURN,
                "nothing is transferred out of the issuer (mint instead) or the burn account");
        requireKind(to, to.kind != AccountKind.ISSUER, "nothing is transferred into the issuer");
        long amount = t.amount().micros();
        requireAvailable(from, amount, "transfer " + t.key());
        checkRange(from, -amount, to, amount);
        long seq = insertOp(t, now);
        change(from, -amount, 0);
        change(to, amount, 0);
        return new Applied(seq, t, List.of(entry(seq, 0, from.id, to.id, amount, false)), now);
    }

    private Applied hold(Operation.Hold h, Instant now) throws SQLException {
        Account payer = account(h.payer());
        Account payee = account(h.payee());
        requireKind(payer, payer.kind != AccountKind.ISSUER && payer.kind != AccountKind.BURN,
                "holds are taken from buyer, provider, stake or fees accounts");
        requireKind(payee, payee.kind != AccountKind.ISSUER, "nothing is paid into the issuer");
        long amount = h.amount().micros();
        requireAvailable(payer, amount, "hold " + h.key());
        long seq = insertOp(h, now);
        PreparedStatement p = prepare("INSERT INTO holds(hold_key, payer, payee, amount, expires_ms, state, resolved_by)"
                + " VALUES (?, ?, ?, ?, ?, 'OPEN', NULL)");
        p.setString(1, h.key().value());
        p.setString(2, payer.id.value());
        p.setString(3, payee.id.value());
        p.setLong(4, amount);
        p.setLong(5, h.expiresAt().toEpochMilli());
        p.executeUpdate();
        change(payer, 0, amount);
        return new Applied(seq, h, List.of(entry(seq, 0, payer.id, payee.id, amount, true)), now);
    }

    private static final class HoldRow {
        final OperationKey key;
        final AccountId payer;
        final AccountId payee;
        final long amount;
        final long expiresMs;
        final String state;
        final String resolvedBy;

        HoldRow(OperationKey key, AccountId payer, AccountId payee, long amount, long expiresMs, String state,
                String resolvedBy) {
            this.key = key;
            this.payer = payer;
            this.payee = payee;
            this.amount = amount;
            this.expiresMs = expiresMs;
            this.state = state;
            this.resolvedBy = resolvedBy;
        }
    }

    private HoldRow openHold(OperationKey key) throws SQLException {
        PreparedStatement p = prepare("SELECT payer, payee, amount, expires_ms, state, resolved_by FROM holds WHERE hold_key = ?");
        p.setString(1, key.value());
        HoldRow h;
        try (ResultSet rs = p.executeQuery()) {
            if (!rs.next()) {
                throw new UnknownHoldException("no hold has key " + key + ": name the key the hold was applied with");
            }
            h = new HoldRow(key, AccountId.of(rs.getString(1)), AccountId.of(rs.getString(2)), rs.getLong(3),
                    rs.getLong(4), rs.getString(5), rs.getString(6));
        }
        if (!h.state.equals("OPEN")) {
            throw new HoldResolvedException("hold " + key + " is already " + h.state + " (by " + h.resolvedBy
                    + "): a hold resolves exactly once");
        }
        return h;
    }

    /** Moves a hold out of OPEN; the condition makes a second resolution impossible even across processes. */
    private void resolve(HoldRow h, String state, OperationKey by) throws SQLException {
        PreparedStatement p = prepare("UPDATE holds SET state = ?, resolved_by = ? WHERE hold_key = ? AND state = 'OPEN'");
        p.setString(1, state);
        p.setString(2, by.value());
        p.setString(3, h.key.value());
        if (p.executeUpdate() != 1) {
            throw new HoldResolvedException("hold " + h.key + " was resolved concurrently: a hold resolves exactly once");
        }
    }

    private Applied post(Operation.Post post, Instant now) throws SQLException {
        HoldRow h = openHold(post.hold());
        if (now.toEpochMilli() >= h.expiresMs) {
            throw new HoldExpiredException("hold " + h.key + " expired at " + Instant.ofEpochMilli(h.expiresMs)
                    + " (now " + now + "): it can no longer be posted; void or expire it");
        }
        long amount = post.amount().micros();
        if (amount > h.amount) {
            throw new PostExceedsHoldException("post " + post.key() + " asks for " + post.amount() + " but hold " + h.key
                    + " reserved " + MicroUsd.ofMicros(h.amount) + ": post at most the hold");
        }
        Account payer = account(h.payer);
        Account payee = account(h.payee);
        checkRange(payer, -amount, payee, amount);
        long seq = insertOp(post, now);
        resolve(h, "POSTED", post.key());
        change(payer, -amount, -h.amount);
        change(payee, amount, 0);
        List<Posting> legs = amount == 0 ? List.of() : List.of(entry(seq, 0, payer.id, payee.id, amount, false));
        return new Applied(seq, post, legs, now);
    }

    private Applied release(Operation op, OperationKey holdKey, String state, Instant now) throws SQLException {
        HoldRow h = openHold(holdKey);
        if (state.equals("EXPIRED") && now.toEpochMilli() < h.expiresMs) {
            throw new HoldNotExpiredException("hold " + h.key + " expires at " + Instant.ofEpochMilli(h.expiresMs)
                    + ", after now (" + now + "): void it, or expire it later");
        }
        Account payer = account(h.payer);
        long seq = insertOp(op, now);
        resolve(h, state, op.key());
        change(payer, 0, -h.amount);
        return new Applied(seq, op, List.of(), now);
    }

    private Applied slash(Operation.Slash s, Instant now) throws SQLException {
        Account stake = account(s.stake());
        requireKind(stake, stake.kind == AccountKind.STAKE, "only a stake account can be slashed");
        Account beneficiary = s.beneficiary().isPresent() ? account(s.beneficiary().get()) : null;
        if (beneficiary != null) {
            requireKind(beneficiary, beneficiary.kind != AccountKind.ISSUER, "nothing is paid into the issuer");
        }
        long total = s.total().micros();
        requireAvailable(stake, total, "slash " + s.key());
        Account burn = account(AccountId.BURN);
        long toBeneficiary = s.toBeneficiary().micros();
        long burned = s.burned().micros();
        if (beneficiary != null) {
            checkRange(stake, -total, beneficiary, toBeneficiary);
        }
        checkRange(stake, -total, burn, burned);
        long seq = insertOp(s, now);
        change(stake, -total, 0);
        List<Posting> legs = new ArrayList<>(2);
        if (toBeneficiary > 0) {
            change(beneficiary, toBeneficiary, 0);
            legs.add(entry(seq, legs.size(), stake.id, beneficiary.id, toBeneficiary, false));
        }
        if (burned > 0) {
            change(burn, burned, 0);
            legs.add(entry(seq, legs.size(), stake.id, burn.id, burned, false));
        }
        return new Applied(seq, s, legs, now);
    }

    private static void checkRange(Account from, long fromDelta, Account to, long toDelta) {
        for (Object[] pair : new Object[][] {{from, fromDelta}, {to, toDelta}}) {
            Account a = (Account) pair[0];
            long d = (Long) pair[1];
            try {
                long after = Math.addExact(a.posted, d);
                Math.subtractExact(after, a.held);
                if (after == Long.MIN_VALUE) {
                    // balances stay in [-MAX, MAX], so the total minted (= -issuer) always fits
                    throw new ArithmeticException("minimum");
                }
            } catch (ArithmeticException e) {
                throw new AmountOverflowException("account " + a.id + " would leave the range of a 64-bit micro-USD count"
                        + " (posted " + a.posted + ", change " + d + "): move smaller amounts");
            }
        }
    }

    /**
     * Turns a database refusal (a constraint another process or a race tripped) into the
     * specific refusal, after the savepoint was rolled back.
     */
    SettlementException explain(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String text = String.valueOf(e.getMessage());
        if (state.equals("23514") || text.contains("CHECK constraint failed")) {
            return new InsufficientFundsException("the database refused a balance below zero (" + text
                    + "): another writer took the funds first; retry when funds are available");
        }
        if (state.equals("23505") || text.contains("UNIQUE constraint failed")) {
            return new IdempotencyConflictException("the key was applied concurrently by another writer with"
                    + " other fields (" + text + "): use a new key for a different operation");
        }
        return new LedgerFailureException("the database refused the operation: " + text
                + " (nothing was applied; retry with the same key)", e);
    }

    // ---- reads ----------------------------------------------------------------------

    Balance balance(AccountId id) throws SQLException {
        return account(id).balance();
    }

    List<Balance> balances() throws SQLException {
        List<Balance> out = new ArrayList<>();
        try (PreparedStatement p = c.prepareStatement("SELECT id, kind, allow_credit, posted, held FROM accounts ORDER BY id");
             ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                out.add(new Balance(AccountId.of(rs.getString(1)), AccountKind.valueOf(rs.getString(2)),
                        rs.getInt(3) == 1, rs.getLong(4), rs.getLong(5)));
            }
        }
        return out;
    }

    List<StatementLine> statement(AccountId id) throws SQLException {
        account(id);
        List<StatementLine> out = new ArrayList<>();
        PreparedStatement p = prepare("SELECT e.op_seq, o.op_key, o.at_ms, e.debit, e.credit, e.amount"
                + " FROM entries e JOIN ops o ON o.seq = e.op_seq"
                + " WHERE e.pending = 0 AND (e.debit = ? OR e.credit = ?) ORDER BY e.op_seq, e.leg");
        p.setString(1, id.value());
        p.setString(2, id.value());
        long running = 0;
        try (ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                boolean in = rs.getString(5).equals(id.value());
                long amount = rs.getLong(6);
                long change = in ? amount : -amount;
                running = Math.addExact(running, change);
                out.add(new StatementLine(rs.getLong(1), OperationKey.of(rs.getString(2)),
                        AccountId.of(in ? rs.getString(4) : rs.getString(5)), change, running,
                        Instant.ofEpochMilli(rs.getLong(3))));
            }
        }
        return out;
    }

    List<OpenHold> openHolds() throws SQLException {
        List<OpenHold> out = new ArrayList<>();
        PreparedStatement p = prepare("SELECT h.hold_key, h.payer, h.payee, h.amount, h.expires_ms FROM holds h"
                + " JOIN ops o ON o.op_key = h.hold_key WHERE h.state = 'OPEN' ORDER BY o.seq");
        try (ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                out.add(new OpenHold(OperationKey.of(rs.getString(1)), AccountId.of(rs.getString(2)),
                        AccountId.of(rs.getString(3)), MicroUsd.ofMicros(rs.getLong(4)), Instant.ofEpochMilli(rs.getLong(5))));
            }
        }
        return out;
    }

    LedgerAudit audit() throws SQLException {
        List<String> violations = new ArrayList<>();
        long accounts = 0;
        long sum = 0;
        Map<String, long[]> recomputed = new HashMap<>();
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT debit, credit, amount FROM entries WHERE pending = 0")) {
                while (rs.next()) {
                    long amount = rs.getLong(3);
                    recomputed.computeIfAbsent(rs.getString(1), k -> new long[2])[0] -= amount;
                    recomputed.computeIfAbsent(rs.getString(2), k -> new long[2])[0] += amount;
                }
            }
            long openHolds = 0;
            try (ResultSet rs = s.executeQuery("SELECT payer, amount FROM holds WHERE state = 'OPEN'")) {
                while (rs.next()) {
                    openHolds++;
                    recomputed.computeIfAbsent(rs.getString(1), k -> new long[2])[1] += rs.getLong(2);
                }
            }
            long issuer = 0;
            for (Balance b : balances()) {
                accounts++;
                sum += b.posted();
                long[] r = recomputed.getOrDefault(b.account().value(), new long[2]);
                if (r[0] != b.posted()) {
                    violations.add(b.account() + ": posted " + b.posted() + " but its entries sum to " + r[0]);
                }
                if (r[1] != b.held()) {
                    violations.add(b.account() + ": held " + b.held() + " but its open holds sum to " + r[1]);
                }
                if (!b.allowCredit() && b.available() < 0) {
                    violations.add(b.account() + ": available " + b.available() + " is below zero without credit");
                }
                if (b.account().equals(AccountId.ISSUER)) {
                    issuer = b.posted();
                }
            }
            if (sum != 0) {
                violations.add("posted balances sum to " + sum + ", not 0");
            }
            long minted = 0;
            try (ResultSet rs = s.executeQuery("SELECT COALESCE(SUM(amount), 0) FROM entries WHERE debit = '"
                    + AccountId.ISSUER.value() + "' AND pending = 0")) {
                rs.next();
                minted = rs.getLong(1);
            }
            if (minted != -issuer) {
                violations.add("minted " + minted + " but the issuer's balance is " + issuer);
            }
            long ops;
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM ops")) {
                rs.next();
                ops = rs.getLong(1);
            }
            return new LedgerAudit(accounts, ops, minted, openHolds, violations);
        }
    }

}
