package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Posting;
import dev.depin.settlement.SettlementContract.ManualClock;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.StatementLine;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The ledger's schema, and files written by earlier ones. {@code ledger-ec0291e.db} (a test
 * resource) is a file written by the ledger at ec0291e, the last commit before holds were keyed
 * by sequence number: a table "holds" keyed by the hold's text key with a text
 * {@code resolved_by}, claims referring to it. It was made with that commit's
 * {@code benchmarks.jar} by a program equivalent to {@link #EARLIER_HISTORY}: holds posted,
 * open, voided, expired by the ledger, claimed, claimed and disputed, one with a spec hash, a
 * transfer, a mint. On it the tests also put the indexes of the schema before 256db36 (full
 * indexes on entries by account and on holds by state) and the entries that writer wrote for
 * each hold's pending leg, so one file carries both earlier schemas. A reader reads it as it
 * is; a ledger opened on it migrates it (SQLite, and PostgreSQL with the same rows under the
 * earlier DDL) and keeps every balance, hold, claim, statement and idempotency key; the
 * queries that need an index by account or by expiry get one (a partial index that SQLite
 * would not use would turn a statement into a scan of every entry, silently).
 */
class LedgerSchemaTest {
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId PROVIDER = AccountId.of("provider:p1");
    private static final Set<String> NEW = Set.of("entries_credit_posted", "entries_debit_posted", "holds_open");
    private static final Set<String> OLD = Set.of("entries_credit", "entries_debit", "holds_state");
    /** What the resource's ledger applied, in order, its clock at 2026-01-01T00:00:00Z. */
    static final String EARLIER_HISTORY = "open buyer:acme BUYER, provider:p1 PROVIDER; mint m $100; hold h1 $10"
            + " (expires +1 min), post p1 $7; hold h2 $20 (+1 min); hold h3 $5 (+1 h), void v3; hold h5 $6 (+1 h), claim c5"
            + " $6; hold h6 $8 (+1 h), claim c6 $8, dispute d6; hold h7 $3 (+1 h, spec 5e x 32); transfer t1 $1; hold h4"
            + " $4 (+30 s); clock +45 s; expireDue() (h4, by ledger:expire:h4)";
    /** The resource's clock when it was closed. */
    private static final Instant CLOSED_AT = Instant.parse("2026-01-01T00:00:45Z");

    /** The schema as the ledger created it up to ec0291e (PostgreSQL's words), for a database of that time. */
    private static final List<String> EARLIER_POSTGRES_SCHEMA = List.of(
            "CREATE TABLE accounts (id VARCHAR(128) PRIMARY KEY, kind VARCHAR(16) NOT NULL,"
                    + " allow_credit INTEGER NOT NULL CHECK (allow_credit IN (0, 1)), posted BIGINT NOT NULL,"
                    + " held BIGINT NOT NULL CHECK (held >= 0), CHECK (allow_credit = 1 OR posted - held >= 0))",
            "CREATE TABLE ops (seq BIGSERIAL PRIMARY KEY, op_key VARCHAR(200) NOT NULL UNIQUE, fields TEXT NOT NULL,"
                    + " at_ms BIGINT NOT NULL)",
            "CREATE TABLE entries (op_seq BIGINT NOT NULL REFERENCES ops(seq), leg INTEGER NOT NULL,"
                    + " debit VARCHAR(128) NOT NULL REFERENCES accounts(id), credit VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                    + " amount BIGINT NOT NULL CHECK (amount >= 0), pending INTEGER NOT NULL CHECK (pending IN (0, 1)),"
                    + " PRIMARY KEY (op_seq, leg), CHECK (debit <> credit))",
            "CREATE INDEX entries_debit_posted ON entries(debit, op_seq) WHERE pending = 0",
            "CREATE INDEX entries_credit_posted ON entries(credit, op_seq) WHERE pending = 0",
            "CREATE TABLE holds (hold_key VARCHAR(200) PRIMARY KEY REFERENCES ops(op_key),"
                    + " payer VARCHAR(128) NOT NULL REFERENCES accounts(id), payee VARCHAR(128) NOT NULL REFERENCES accounts(id),"
                    + " amount BIGINT NOT NULL CHECK (amount > 0), expires_ms BIGINT NOT NULL,"
                    + " state VARCHAR(8) NOT NULL CHECK (state IN ('OPEN', 'POSTED', 'VOIDED', 'EXPIRED')),"
                    + " resolved_by VARCHAR(200) UNIQUE REFERENCES ops(op_key))",
            "CREATE INDEX holds_open ON holds(expires_ms) WHERE state = 'OPEN'",
            "CREATE TABLE claims (hold_key VARCHAR(200) PRIMARY KEY REFERENCES holds(hold_key),"
                    + " claim_key VARCHAR(200) NOT NULL UNIQUE REFERENCES ops(op_key), amount BIGINT NOT NULL CHECK (amount > 0),"
                    + " evidence VARCHAR(200) NOT NULL, filed_ms BIGINT NOT NULL,"
                    + " window_end_ms BIGINT NOT NULL CHECK (window_end_ms >= filed_ms),"
                    + " state VARCHAR(8) NOT NULL CHECK (state IN ('CLAIMED', 'DISPUTED')),"
                    + " disputed_by VARCHAR(200) UNIQUE REFERENCES ops(op_key),"
                    + " CHECK ((state = 'DISPUTED') = (disputed_by IS NOT NULL)))",
            "CREATE INDEX claims_due ON claims(state, window_end_ms)");
    private static final String[][] TABLES = {
        {"accounts", "id, kind, allow_credit, posted, held"},
        {"ops", "seq, op_key, fields, at_ms"},
        {"entries", "op_seq, leg, debit, credit, amount, pending"},
        {"holds", "hold_key, payer, payee, amount, expires_ms, state, resolved_by"},
        {"claims", "hold_key, claim_key, amount, evidence, filed_ms, window_end_ms, state, disputed_by"},
    };

    private static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    private static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    /** A copy of the resource file, written by the ledger at ec0291e. */
    private static Path earlierFile() throws Exception {
        Path file = Databases.temporaryDirectory("depin-ledger-schema").resolve("ledger.db");
        try (InputStream in = LedgerSchemaTest.class.getResourceAsStream("ledger-ec0291e.db")) {
            Files.copy(in, file);
        }
        return file;
    }

    @Test
    void fileOfEarlierSchemas_isReadAsItIsAndMigratedWhenOpened() throws Exception {
        Path file = earlierFile();
        // The indexes the ledger had up to 256db36, and an entry for each hold's pending leg as that
        // writer wrote them.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            for (String index : NEW) {
                s.execute("DROP INDEX " + index);
            }
            s.execute("CREATE INDEX entries_debit ON entries(debit, op_seq)");
            s.execute("CREATE INDEX entries_credit ON entries(credit, op_seq)");
            s.execute("CREATE INDEX holds_state ON holds(state, expires_ms)");
            assertEquals(0, count(s, "SELECT COUNT(*) FROM entries WHERE pending = 1"), "the ec0291e writer wrote no pending entry");
            s.execute("INSERT INTO entries(op_seq, leg, debit, credit, amount, pending)"
                    + " SELECT o.seq, 0, h.payer, h.payee, h.amount, 1 FROM holds h JOIN ops o ON o.op_key = h.hold_key");
            assertEquals(7, count(s, "SELECT COUNT(*) FROM entries WHERE pending = 1"));
        }
        assertEquals(OLD, ledgerIndexes(file));
        Before before;
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            before = new Before(reader);
        }
        assertEquals(OLD, ledgerIndexes(file), "the read-only reader changed no index");
        assertEquals("table", sqliteType(file, "holds"), "the read-only reader migrated nothing");

        ManualClock clock = new ManualClock(CLOSED_AT);
        Supplier<JdbcLedger.Builder> builder = () -> JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO);
        checkMigrated(builder, clock, before);
        assertEquals(NEW, ledgerIndexes(file));
        assertEquals("view", sqliteType(file, "holds"));
        assertEquals("table", sqliteType(file, "hold_rows"));
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            assertEquals(List.of("h5", "h6"), reader.openHolds().stream().map(h -> h.key().value()).toList(),
                    "the reader reads the migrated holds");
            assertEquals(87_000_000, reader.balance(BUYER).posted(), "after p8");
            assertTrue(reader.audit().sound(), () -> reader.audit().violations().toString());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals(7, count(s, "SELECT COUNT(*) FROM entries WHERE pending = 1"), "the holds after migration wrote no entry");
            assertEquals(0, count(s, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'claims_migrated'"));
        }
    }

    @Test
    void postgresDatabaseOfTheEarlierSchema_isMigratedWhenOpened() throws Exception {
        String url = Databases.postgresUrl();
        // The same rows as the resource file, under the DDL the ledger used on PostgreSQL up to ec0291e.
        try (Connection from = DriverManager.getConnection("jdbc:sqlite:" + earlierFile());
             Connection to = DriverManager.getConnection(url)) {
            try (Statement s = to.createStatement()) {
                for (String ddl : EARLIER_POSTGRES_SCHEMA) {
                    s.execute(ddl);
                }
            }
            for (String[] t : TABLES) {
                int columns = t[1].split(",").length;
                try (Statement s = from.createStatement(); ResultSet rs = s.executeQuery("SELECT " + t[1] + " FROM " + t[0]);
                     PreparedStatement p = to.prepareStatement("INSERT INTO " + t[0] + "(" + t[1] + ") VALUES ("
                             + "?, ".repeat(columns - 1) + "?)")) {
                    while (rs.next()) {
                        for (int i = 1; i <= columns; i++) {
                            p.setObject(i, rs.getObject(i));
                        }
                        p.executeUpdate();
                    }
                }
            }
            try (Statement s = to.createStatement()) {
                s.execute("SELECT setval(pg_get_serial_sequence('ops', 'seq'), (SELECT MAX(seq) FROM ops))");
            }
        }
        Before before;
        try (LedgerReader reader = LedgerReader.postgres(url, null, null)) {
            before = new Before(reader);
        }
        ManualClock clock = new ManualClock(CLOSED_AT);
        checkMigrated(() -> JdbcLedger.builder().postgres(url, null, null).clock(clock).expirySweep(Duration.ZERO), clock,
                before);
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            assertEquals(1, count(s, "SELECT COUNT(*) FROM information_schema.views WHERE table_schema = current_schema()"
                    + " AND table_name = 'holds'"));
            assertEquals(8, count(s, "SELECT COUNT(*) FROM hold_rows"));
        }
    }

    /** What a reader saw in the database of the earlier schema. */
    private static final class Before {
        final List<Balance> balances;
        final List<StatementLine> buyer;
        final List<StatementLine> provider;
        final List<OpenHold> holds;

        Before(LedgerReader reader) {
            balances = reader.balances();
            buyer = reader.statement(BUYER);
            provider = reader.statement(PROVIDER);
            holds = reader.openHolds();
            assertTrue(reader.audit().sound(), () -> reader.audit().violations().toString());
            assertEquals(92_000_000, reader.balance(BUYER).posted());
            assertEquals(37_000_000, reader.balance(BUYER).held(), "h2, h5, h6 and h7 hold $37");
            assertEquals(8_000_000, reader.balance(PROVIDER).posted());
            assertEquals(List.of("h2", "h5", "h6", "h7"), holds.stream().map(h -> h.key().value()).toList());
        }
    }

    /**
     * Opens the ledger (which migrates), then checks that it kept every balance, hold, claim,
     * statement and key, refuses what it refused, and goes on; then opens it again, with no
     * memory of recent keys, so that retries are answered by the database.
     */
    private static void checkMigrated(Supplier<JdbcLedger.Builder> builder, ManualClock clock, Before before) {
        try (JdbcLedger ledger = builder.get().open()) {
            assertEquals(before.balances, ledger.balances());
            assertEquals(before.buyer, ledger.statement(BUYER));
            assertEquals(before.provider, ledger.statement(PROVIDER));
            assertEquals(before.holds, ledger.openHolds());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
            assertEquals(List.of(), ledger.memoryDifferences());
            // Identical retries answer with the original results; another operation under a used key is refused.
            Applied h2 = ledger.apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(20),
                    Instant.parse("2026-01-01T00:01:00Z"))).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(20), true)), h2.postings());
            Applied p1 = ledger.apply(new Operation.Post(key("p1"), key("h1"), usd(7))).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(7), false)), p1.postings());
            refused(Reason.IDEMPOTENCY_CONFLICT, () -> ledger.apply(new Operation.Post(key("p1"), key("h1"), usd(6))).join());
            // Each hold resolves once, and its resolving operation is still named.
            SettlementException again = refused(Reason.HOLD_RESOLVED,
                    () -> ledger.apply(new Operation.Post(key("p1b"), key("h1"), usd(1))).join());
            assertTrue(again.getMessage().contains("already POSTED (by p1)"), again.getMessage());
            SettlementException voided = refused(Reason.HOLD_RESOLVED,
                    () -> ledger.apply(new Operation.VoidHold(key("v3b"), key("h3"))).join());
            assertTrue(voided.getMessage().contains("already VOIDED (by v3)"), voided.getMessage());
            SettlementException expired = refused(Reason.HOLD_EXPIRED,
                    () -> ledger.apply(new Operation.Post(key("p4"), key("h4"), usd(1))).join());
            assertTrue(expired.getMessage().contains("(by ledger:expire:h4)"), expired.getMessage());
            // The claims stayed: a claimed hold is not voided, a disputed one does not expire.
            refused(Reason.HOLD_CLAIMED, () -> ledger.apply(new Operation.VoidHold(key("v5"), key("h5"))).join());
            // And the ledger goes on: a post of a migrated hold, the expiry of another.
            ledger.apply(new Operation.Post(key("p7"), key("h7"), usd(3))).join();
            clock.advance(Duration.ofMinutes(1));
            assertEquals(1, ledger.expireDue(), "h2 expires; h5 and h6 are claimed");
            ledger.apply(new Operation.Hold(key("h8"), BUYER, PROVIDER, usd(2), clock.instant().plus(Duration.ofHours(1))))
                    .join();
            assertEquals(89_000_000, ledger.balance(BUYER).posted());
            assertEquals(16_000_000, ledger.balance(BUYER).held(), "h5, h6 and h8");
            assertEquals(11_000_000, ledger.balance(PROVIDER).posted());
            assertEquals(List.of("h5", "h6", "h8"), ledger.openHolds().stream().map(h -> h.key().value()).toList());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
            assertEquals(List.of(), ledger.memoryDifferences());
        }
        try (JdbcLedger ledger = builder.get().recentKeys(0).open()) {
            assertEquals(List.of(), ledger.memoryDifferences(), "opening a migrated ledger again changes nothing");
            Applied p1 = ledger.apply(new Operation.Post(key("p1"), key("h1"), usd(7))).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(7), false)), p1.postings());
            Applied h2 = ledger.apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(20),
                    Instant.parse("2026-01-01T00:01:00Z"))).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(20), true)), h2.postings(),
                    "the earlier writer's pending entry, or the hold row, gives the same leg");
            Applied h8 = ledger.apply(new Operation.Hold(key("h8"), BUYER, PROVIDER, usd(2),
                    CLOSED_AT.plus(Duration.ofMinutes(1)).plus(Duration.ofHours(1)))).join();
            assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(2), true)), h8.postings());
            ledger.apply(new Operation.Post(key("p8"), key("h8"), usd(2))).join();
            assertEquals(List.of("h5", "h6"), ledger.openHolds().stream().map(h -> h.key().value()).toList());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
            assertEquals(List.of(), ledger.memoryDifferences());
        }
    }

    private static SettlementException refused(Reason reason, Runnable action) {
        CompletionException e = assertThrows(CompletionException.class, action::run);
        SettlementException s = assertInstanceOf(SettlementException.class, e.getCause());
        assertEquals(reason, s.reason(), s.getMessage());
        return s;
    }

    private static String sqliteType(Path file, String name) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
             PreparedStatement p = c.prepareStatement("SELECT type FROM sqlite_master WHERE name = ?")) {
            p.setString(1, name);
            try (ResultSet rs = p.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
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
                     + " AND name NOT LIKE 'sqlite_autoindex%' AND tbl_name IN ('entries', 'holds', 'hold_rows')")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
