package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementContract.ManualClock;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What only the embedded ledger has for claims: its own thread posting a claim with nobody
 * asking, a ledger killed during the window posting the claim once after it restarts, and a
 * file written before claims existed (no claims table) read and then opened.
 */
class ClaimLedgerTest {
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId PROVIDER = AccountId.of("provider:p1");

    private static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    private static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    private static void fund(JdbcLedger ledger) {
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.open(PROVIDER, AccountKind.PROVIDER, false).join();
        ledger.apply(new Operation.Mint(key("m"), BUYER, usd(100))).join();
    }

    @Test
    void sweepThread_postsAClaimPastItsHoldsExpiryWithNobodyAsking() throws InterruptedException {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        Databases.Location location = Databases.sqlite();
        try (JdbcLedger ledger = location.builder().clock(clock).expirySweep(Duration.ofMillis(5))
                .disputeWindow(Duration.ofMinutes(3)).open()) {
            fund(ledger);
            ledger.apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))))
                    .join();
            ledger.apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(5), clock.instant().plus(Duration.ofMinutes(1))))
                    .join();
            ledger.apply(new Operation.Claim(key("c"), key("h"), usd(9), "r")).join();
            clock.advance(Duration.ofMinutes(2));
            waitUntil(() -> ledger.hold(key("h2")).orElseThrow().state() == HoldRecord.State.EXPIRED);
            assertEquals(HoldRecord.State.CLAIMED, ledger.hold(key("h")).orElseThrow().state(),
                    "the sweep expired the unclaimed hold beside it, not the claimed one");
            clock.advance(Duration.ofMinutes(1));
            waitUntil(() -> ledger.hold(key("h")).orElseThrow().state() == HoldRecord.State.POSTED);
            assertEquals(java.util.Optional.of(JdbcLedger.claimPostKey(key("h"))),
                    ledger.hold(key("h")).orElseThrow().resolvedBy());
            assertEquals(9_000_000, ledger.balance(PROVIDER).posted());
            assertEquals(0, ledger.balance(BUYER).held());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
        }
    }

    @Test
    void restartAfterTheWindow_postsTheClaimOnce() {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        Databases.Location location = Databases.sqlite();
        try (JdbcLedger ledger = location.builder().clock(clock).expirySweep(Duration.ZERO).open()) {
            fund(ledger);
            ledger.apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))))
                    .join();
            ledger.apply(new Operation.Claim(key("c"), key("h"), usd(10), "r")).join();
        }
        clock.advance(Duration.ofDays(1));
        // two ledgers on the one file, as after a restart beside a process that never stopped
        try (JdbcLedger a = location.builder().clock(clock).expirySweep(Duration.ZERO).open();
             JdbcLedger b = location.builder().clock(clock).expirySweep(Duration.ZERO).open()) {
            assertEquals(1, a.postDueClaims());
            assertEquals(0, b.postDueClaims());
            assertEquals(0, a.expireDue());
            assertEquals(10_000_000, a.balance(PROVIDER).posted());
            assertEquals(List.of(), a.openHolds());
            assertTrue(a.audit().sound(), () -> a.audit().violations().toString());
        }
    }

    @Test
    void fileWrittenBeforeClaims_isReadAndGainsTheClaimsTableWhenOpened() throws Exception {
        Path dir = Databases.temporaryDirectory("depin-ledger-old");
        Path file = dir.resolve("ledger.db");
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO).open()) {
            fund(ledger);
            ledger.apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))))
                    .join();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("DROP INDEX claims_due");
            s.execute("DROP TABLE claims"); // the schema as it was before claims
        }
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            assertEquals(1, reader.openHolds().size());
            assertTrue(reader.audit().sound(), () -> reader.audit().violations().toString());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM sqlite_master WHERE name = 'claims'")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "the read-only reader created nothing");
        }
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(clock).expirySweep(Duration.ZERO)
                .disputeWindow(Duration.ofSeconds(30)).open()) {
            ledger.apply(new Operation.Claim(key("c"), key("h"), usd(3), "r")).join();
            clock.advance(Duration.ofSeconds(30));
            assertEquals(1, ledger.postDueClaims());
            assertEquals(3_000_000, ledger.balance(PROVIDER).posted());
            assertTrue(ledger.audit().sound(), () -> ledger.audit().violations().toString());
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos(); // a bound, not an assertion
        while (!done.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertTrue(done.getAsBoolean(), "the ledger's own thread did not act within 30 s");
    }
}
