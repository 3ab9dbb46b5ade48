package dev.depin.examples.cli;

import static dev.depin.examples.cli.EarningsCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code depin ledger} on a temporary SQLite ledger filled through the Settlement SPI. */
class LedgerCommandTest {

    @TempDir
    Path dir;

    private Path filledLedger() {
        Path file = dir.resolve("ledger.db");
        AccountId buyer = AccountId.of("buyer:acme");
        AccountId provider = AccountId.of("provider:gpu1");
        try (JdbcLedger ledger = JdbcLedger.sqlite(file)) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.open(provider, AccountKind.PROVIDER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund-acme"), buyer, MicroUsd.ofUsd("10"))).join();
            OperationKey hold = OperationKey.of("job-1", 1, "hold");
            ledger.apply(new Operation.Hold(hold, buyer, provider, MicroUsd.ofUsd("4"),
                    Instant.now().plusSeconds(3600))).join();
            ledger.apply(new Operation.Post(OperationKey.of("job-1", 1, "post"), hold, MicroUsd.ofUsd("3"))).join();
            // A second hold left open: 2 USD held on the buyer's account.
            ledger.apply(new Operation.Hold(OperationKey.of("job-2", 1, "hold"), buyer, provider,
                    MicroUsd.ofUsd("2"), Instant.now().plusSeconds(3600))).join();
        }
        return file;
    }

    @Test
    void ledger_balances() {
        String out = run(0, "ledger", "--file", filledLedger().toString());
        // Minted 10 to the buyer, 3 of a 4 hold posted to the provider, 2 more held.
        assertTrue(out.matches("(?s).*buyer:acme\\s+BUYER\\s+\\$7\\.00\\s+\\$2\\.00\\s+\\$5\\.00\n.*"), out);
        assertTrue(out.matches("(?s).*provider:gpu1\\s+PROVIDER\\s+\\$3\\.00\\s+\\$0\\.00\\s+\\$3\\.00\n.*"), out);
        assertTrue(out.matches("(?s).*system:issuer\\s+ISSUER\\s+-\\$10\\.00\\s+\\$0\\.00\\s+-\\$10\\.00.*"), out);
    }

    @Test
    void ledger_statement() {
        String out = run(0, "ledger", "--file", filledLedger().toString(), "--account", "buyer:acme");
        assertTrue(out.matches("(?s).*buyer:acme\\s+BUYER\\s+\\$7\\.00\\s+\\$2\\.00\\s+\\$5\\.00\n.*"), out);
        assertTrue(out.matches("(?s).*\\s+fund-acme\\s+system:issuer\\s+\\$10\\.00\\s+\\$10\\.00\n.*"), out);
        assertTrue(out.matches("(?s).*\\s+job-1/1/post\\s+provider:gpu1\\s+-\\$3\\.00\\s+\\$7\\.00\n.*"), out);
        assertTrue(out.contains("2 statement line(s)"), out);
    }

    @Test
    void ledger_unknownAccountExit1() {
        String out = run(1, "ledger", "--file", filledLedger().toString(), "--account", "buyer:nobody");
        assertTrue(out.contains("UNKNOWN ACCOUNT"), out);
        assertTrue(out.contains("buyer:nobody"), out);
    }

    @Test
    void ledger_missingFileExit2AndNotCreated() {
        Path missing = dir.resolve("missing.db");
        String out = run(2, "ledger", "--file", missing.toString());
        assertTrue(out.contains("no ledger file at " + missing), out);
        assertFalse(Files.exists(missing));
    }

    @Test
    void ledger_badUsageExit2() {
        assertTrue(run(2, "ledger", "--file", filledLedger().toString(), "--account", "bad account!")
                .contains("account id 'bad account!' is malformed"));
        assertTrue(run(2, "ledger", "--jdbc-url", "jdbc:mysql://x/y").contains("is not a PostgreSQL JDBC URL"));
        assertTrue(run(2, "ledger").contains("give the ledger: --file FILE, --jdbc-url URL or --service HOST:PORT"));
        assertTrue(run(2, "ledger", "--file", "a.db", "--jdbc-url", "jdbc:postgresql://x/y")
                .contains("mutually exclusive"));
    }

    @Test
    void ledger_notALedgerFileExit2() throws Exception {
        Path junk = dir.resolve("junk.db");
        Files.writeString(junk, "this is not an SQLite database, it is long enough to have a header of sorts....");
        String out = run(2, "ledger", "--file", junk.toString());
        assertTrue(out.contains("cannot open ledger"), out);
        assertFalse(out.contains("\tat "), out);
    }

    @Test
    void ledger_emptyFileExit2AndUntouched() throws Exception {
        Path empty = dir.resolve("empty.db");
        Files.createFile(empty);
        String out = run(2, "ledger", "--file", empty.toString());
        assertTrue(out.contains("cannot open ledger: " + empty + " is empty, not a depin ledger: give the file a "
                + "depin ledger wrote"), out);
        assertEquals(0, Files.size(empty));
        assertNoLogFiles(empty);
    }

    @Test
    void ledger_foreignSqliteFileExit2AndUntouched() throws Exception {
        Path foreign = dir.resolve("foreign.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + foreign); Statement s = c.createStatement()) {
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("CREATE TABLE accounts(name TEXT)");
        }
        byte[] before = Files.readAllBytes(foreign);
        String out = run(2, "ledger", "--file", foreign.toString());
        assertTrue(out.contains("cannot open ledger: " + foreign + " is not a depin ledger (no table "
                + "accounts(id, kind, allow_credit, posted, held)): give the file or database a depin ledger wrote"), out);
        assertArrayEquals(before, Files.readAllBytes(foreign));
        assertNoLogFiles(foreign);
    }

    @Test
    void ledger_notRegularFileExit2() {
        String out = run(2, "ledger", "--file", dir.toString());
        assertTrue(out.contains("no ledger file at " + dir + " (it is not a regular file)"), out);
    }

    @Test
    void ledger_readsWithoutChangingTheFileOrLeavingLogFiles() throws Exception {
        Path file = filledLedger();
        assertNoLogFiles(file);
        byte[] before = Files.readAllBytes(file);
        run(0, "ledger", "--file", file.toString());
        run(0, "ledger", "--file", file.toString(), "--account", "buyer:acme");
        assertArrayEquals(before, Files.readAllBytes(file));
        assertNoLogFiles(file);
    }

    @Test
    void ledger_readsALedgerThatIsOpenElsewhereThroughItsLog() {
        Path file = filledLedger();
        try (JdbcLedger open = JdbcLedger.sqlite(file)) {
            open.apply(new Operation.Mint(OperationKey.of("more"), AccountId.of("buyer:acme"), MicroUsd.ofUsd("1")))
                    .join();
            assertTrue(Files.exists(Path.of(file + "-wal")));
            String out = run(0, "ledger", "--file", file.toString());
            assertTrue(out.matches("(?s).*buyer:acme\\s+BUYER\\s+\\$8\\.00\\s+\\$2\\.00\\s+\\$6\\.00\n.*"), out);
        }
        assertNoLogFiles(file);
    }

    private static void assertNoLogFiles(Path file) {
        assertFalse(Files.exists(Path.of(file + "-wal")), file + "-wal left behind");
        assertFalse(Files.exists(Path.of(file + "-shm")), file + "-shm left behind");
    }
}
