package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Posting;
import dev.depin.settlement.SettlementContract.ManualClock;
import dev.depin.settlement.StatementLine;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The ledger's schema: a file of the previous one (full indexes on entries by account and on
 * holds by state, and an entry for each hold's pending leg) is read as it is and migrated when a
 * ledger opens it, a hold writes no entry now, and the queries that
 * need an index by account or by expiry get one (a partial index that SQLite would not use
 * would turn a statement into a scan of every entry, silently).
 */
class LedgerSchemaTest {
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId PROVIDER = AccountId.of("provider:p1");
    private static final Set<String> NEW = Set.of("entries_credit_posted", "entries_debit_posted", "holds_open");
    private static final Set<String> OLD = Set.of("entries_credit", "entries_debit", "holds_state");

    private static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    private static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    @Test
    void fileWithThePreviousIndexes_isReadAsItIsAndMigratedWhenOpened() throws Exception {
        Path file = Databases.temporaryDirectory("depin-ledger-schema").resolve("ledger.db");
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        Instant h2Expiry = clock.instant().plus(Duration.ofMinutes(1));
        Instant h3Expiry = clock.instant().plus(Duration.ofMinutes(10));
        List<StatementLine> buyerBefore;
        List<StatementLine> providerBefore;
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO).open()) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
            ledger.open(PROVIDER, AccountKind.PROVIDER, false).join();
            ledger.apply(new Operation.Mint(key("m"), BUYER, usd(100))).join();
            Instant expiry = clock.instant().plus(Duration.ofMinutes(1));
            ledger.apply(new Operation.Hold(key("h1"), BUYER, PROVIDER, usd(10), expiry)).join();
            ledger.apply(new Operation.Post(key("p1"), key("h1"), usd(7))).join();
            ledger.apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(20), expiry)).join();
            buyerBefore = ledger.statement(BUYER);
            providerBefore = ledger.statement(PROVIDER);
        }
        // The schema as the ledger wrote it up to 256db36: these three indexes, not the partial ones.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            for (String index : NEW) {
                s.execute("DROP INDEX " + index);
            }
            s.execute("CREATE INDEX entries_debit ON entries(debit, op_seq)");
            s.execute("CREATE INDEX entries_credit ON entries(credit, op_seq)");
            s.execute("CREATE INDEX holds_state ON holds(state, expires_ms)");
            assertEquals(0, count(s, "SELECT COUNT(*) FROM entries WHERE pending = 1"), "a hold writes no entry now");
            // ...and the previous writer wrote each hold's pending leg as an entry
            s.execute("INSERT INTO entries(op_seq, leg, debit, credit, amount, pending)"
                    + " SELECT o.seq, 0, h.payer, h.payee, h.amount, 1 FROM holds h JOIN ops o ON o.op_key = h.hold_key");
            assertEquals(2, count(s, "SELECT COUNT(*) FROM entries WHERE pending = 1"));
        }
        assertEquals(OLD, ledgerIndexes(file));
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            assertEquals(buyerBefore, reader.statement(BUYER));
            assertEquals(1, reader.openHolds().size());
            assertTrue(reader.audit().sound(), () -> reader.audit().violations().toString());
        }
        assertEquals(OLD, ledgerIndexes(file), "the read-only reader changed no index");

        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO).open()) {
            assertEquals(NEW, ledgerIndexes(file));
            assertEquals(List.of(), ledger.memoryDifferences(), "memory loaded the old pending entries as the same legs");
            Applied retried = ledger.apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(20), h2Expiry)).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(20), true)), retried.postings());
            assertEquals(buyerBefore, ledger.statement(BUYER));
            assertEquals(providerBefore, ledger.statement(PROVIDER));
            clock.advance(Duration.ofMinutes(2));
            assertEquals(1, ledger.expireDue(), "h2 is found through holds_open");
            assertEquals(0, ledger.balance(BUYER).held());
            assertEquals(93_000_000, ledger.balance(BUYER).posted());
            assertTrue(ledger.openHolds().isEmpty());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
            ledger.apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(5), h3Expiry)).join();
        }
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO).open()) {
            assertEquals(NEW, ledgerIndexes(file), "opening a migrated file again changes nothing");
            assertEquals(List.of(), ledger.memoryDifferences(), "memory loaded h3's leg from its hold row");
            Applied h3 = ledger.apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(5), h3Expiry)).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(5), true)), h3.postings());
        }
        // Retries that memory does not remember: the database path finds each key and gives the same
        // leg, from the previous writer's entry (h2) or from the hold itself (h3).
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO).recentKeys(0)
                .open()) {
            Applied h3 = ledger.apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(5), h3Expiry)).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(5), true)), h3.postings());
            Applied h2 = ledger.apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(20), h2Expiry)).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(20), true)), h2.postings());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals(2, count(s, "SELECT COUNT(*) FROM entries WHERE pending = 1"), "h3 wrote no entry");
        }
    }

    @Test
    void statementAndExpiryQueries_searchThePartialIndexes() throws Exception {
        Path file = Databases.temporaryDirectory("depin-ledger-schema").resolve("ledger.db");
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).expirySweep(Duration.ZERO).open()) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            String statement = plan(c, Store.STATEMENT_SQL);
            assertTrue(statement.contains("SEARCH e USING INDEX entries_debit_posted (debit=?)"), statement);
            assertTrue(statement.contains("SEARCH e USING INDEX entries_credit_posted (credit=?)"), statement);
            assertFalse(statement.contains("SCAN e"), statement);
            String expired = plan(c, Store.EXPIRED_HOLDS_SQL + 1024);
            assertTrue(expired.contains("SEARCH h USING INDEX holds_open (expires_ms<?)"), expired);
        }
    }

    private static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String plan(Connection c, String sql) throws SQLException {
        List<String> steps = new ArrayList<>();
        try (var p = c.prepareStatement("EXPLAIN QUERY PLAN " + sql)) {
            for (int i = 1; i <= p.getParameterMetaData().getParameterCount(); i++) {
                p.setString(i, "x");
            }
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    steps.add(rs.getString(4));
                }
            }
        }
        return String.join("; ", steps);
    }

    /** The indexes of the ledger's tables that it names itself (not SQLite's automatic ones). */
    private static Set<String> ledgerIndexes(Path file) throws SQLException {
        Set<String> out = new TreeSet<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'index'"
                     + " AND name NOT LIKE 'sqlite_autoindex%' AND tbl_name IN ('entries', 'holds')")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
