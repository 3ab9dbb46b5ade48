package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementContract;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.spi.Settlement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@link SettlementContract} against every database the ledger supports (one subclass
 * each), with the ledger's own audit and memory checks after each test, and what only the
 * ledger has: expiry by the ledger itself and its reserved keys.
 */
abstract class LedgerContractTest extends SettlementContract {
    Databases.Location location;

    /** Set by a test whose second writer changed the database behind this ledger's memory. */
    boolean otherWriters;

    abstract Databases.Location freshDatabase();

    @Override
    protected Settlement open(Clock clock) {
        location = freshDatabase();
        return reopen(clock);
    }

    @Override
    protected Settlement reopen(Clock clock) {
        return location.builder().clock(clock).expirySweep(Duration.ZERO).disputeWindow(DISPUTE_WINDOW)
                .recheckWindow(RECHECK_WINDOW).open();
    }

    @Override
    protected int postDueClaims() {
        return jdbc().postDueClaims();
    }

    @Override
    protected void checkAfterTest(Settlement settlement) {
        JdbcLedger l = (JdbcLedger) settlement;
        assertTrue(l.audit().sound(), () -> "audit: " + l.audit().violations());
        if (!otherWriters) {
            assertEquals(List.of(), l.memoryDifferences(), "the writer's memory against the database");
        }
    }

    JdbcLedger jdbc() {
        return (JdbcLedger) ledger;
    }

    @Test
    void expireDue_expiresEveryHoldPastItsExpiryOnceAndNoOther() {
        apply(new Operation.Hold(key("h1"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(5), clock.instant().plus(Duration.ofMinutes(2))));
        apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(1), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Post(key("p3"), key("h3"), usd(1)));
        assertEquals(0, jdbc().expireDue());
        clock.advance(Duration.ofMinutes(1));
        assertEquals(1, jdbc().expireDue());
        assertEquals(List.of(new OpenHold(key("h2"), BUYER, PROVIDER, usd(5), clock.instant().plus(Duration.ofMinutes(1)))),
                ledger.openHolds());
        assertEquals(0, jdbc().expireDue(), "an expired hold is expired once");
        // The late capture loses the race to the ledger's expiry and changes nothing.
        refused(Reason.HOLD_EXPIRED, () -> apply(new Operation.Post(key("p1"), key("h1"), usd(1))));
        // The buyer's own expiry of the same hold is refused: it resolved once, by the ledger.
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.Expire(key("x1"), key("h1"))));
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 99_000_000, 5_000_000), ledger.balance(BUYER));
        clock.advance(Duration.ofMinutes(1));
        assertEquals(1, jdbc().expireDue());
        assertEquals(List.of(), ledger.openHolds());
        assertEquals(0, ledger.balance(BUYER).held());
    }

    @Test
    void expiryThread_expiresAHoldWithNobodyAsking() throws InterruptedException {
        ledger.close();
        ledger = location.builder().clock(clock).expirySweep(Duration.ofMillis(5)).open();
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        clock.advance(Duration.ofMinutes(1));
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos(); // a bound, not an assertion
        while (!ledger.openHolds().isEmpty() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertEquals(List.of(), ledger.openHolds());
        assertEquals(0, ledger.balance(BUYER).held());
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
    }

    @Test
    void reservedKeys_areRefusedFromCallers() {
        OperationKey mine = JdbcLedger.expiryKey(key("h"));
        assertEquals("ledger:expire:" + key("h").value(), mine.value());
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> ledger.apply(new Operation.Expire(mine, key("h"))));
        assertEquals("operation key " + mine + " begins with ledger:, which is reserved for the ledger's own "
                + "operations (expiries, posts of claims): use another key", e.getMessage());
        String longKey = "k".repeat(200);
        assertEquals("ledger:expire:sha256:" + dev.depin.crypto.Sha256.hex(longKey.getBytes(
                java.nio.charset.StandardCharsets.US_ASCII)), JdbcLedger.expiryKey(OperationKey.of(longKey)).value());
    }
}
