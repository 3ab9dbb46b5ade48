package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
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
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.UnknownAccountException;
import dev.depin.settlement.UnknownHoldException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Settlement contract, run against every database the ledger supports (one subclass
 * each). Every refusal is checked for its specific exception and for leaving the ledger
 * exactly as it was.
 */
abstract class LedgerContractTest {
    static final AccountId BUYER = AccountId.of("buyer:acme");
    static final AccountId PROVIDER = AccountId.of("provider:p1");
    static final AccountId STAKE = AccountId.of("stake:p1");
    static final AccountId FEES = AccountId.of("fees:net");

    final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
    Databases.Location location;
    JdbcLedger ledger;

    abstract Databases.Location freshDatabase();

    @BeforeEach
    void openLedger() {
        location = freshDatabase();
        ledger = location.builder().clock(clock).expirySweep(Duration.ZERO).open();
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.open(PROVIDER, AccountKind.PROVIDER, false).join();
        ledger.open(STAKE, AccountKind.STAKE, false).join();
        ledger.open(FEES, AccountKind.FEES, false).join();
        apply(new Operation.Mint(key("mint-buyer"), BUYER, usd(100)));
        apply(new Operation.Mint(key("mint-stake"), STAKE, usd(50)));
    }

    /** Set by a test whose second writer changed the database behind this ledger's memory. */
    boolean otherWriters;

    @AfterEach
    void closeLedger() {
        if (ledger != null) {
            assertTrue(ledger.audit().sound(), () -> "audit: " + ledger.audit().violations());
            if (!otherWriters) {
                assertEquals(List.of(), ledger.memoryDifferences(), "the writer's memory against the database");
            }
            ledger.close();
        }
    }

    static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    Applied apply(Operation op) {
        return ledger.apply(op).join();
    }

    Instant later() {
        return clock.instant().plus(Duration.ofMinutes(10));
    }

    /** Asserts the specific refusal and that balances, holds and the operation count are unchanged. */
    <T extends Throwable> T refused(Class<T> type, Supplier<?> action) {
        List<Balance> before = ledger.balances();
        List<OpenHold> holdsBefore = ledger.openHolds();
        long opsBefore = ledger.audit().operations();
        Throwable thrown;
        try {
            action.get();
            throw new AssertionError("expected " + type.getSimpleName() + " but the operation was applied");
        } catch (CompletionException e) {
            thrown = e.getCause();
        } catch (RuntimeException e) {
            thrown = e;
        }
        T t = assertInstanceOf(type, thrown, () -> "got " + thrown);
        assertEquals(before, ledger.balances(), "balances changed by a refused operation");
        assertEquals(holdsBefore, ledger.openHolds(), "holds changed by a refused operation");
        assertEquals(opsBefore, ledger.audit().operations(), "a refused operation was recorded");
        return t;
    }

    @Test
    void mint_creditsTheAccountFromTheIssuer() {
        assertEquals(100_000_000, ledger.balance(BUYER).posted());
        assertEquals(-150_000_000, ledger.balance(AccountId.ISSUER).posted());
        LedgerAudit audit = ledger.audit();
        assertEquals(150_000_000, audit.minted());
        assertTrue(audit.sound(), audit.violations()::toString);
    }

    @Test
    void hold_reservesAndPostPartialReturnsTheRest() {
        Applied hold = apply(new Operation.Hold(key("j1/0/hold"), BUYER, PROVIDER, usd(10), later()));
        assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(10), true)), hold.postings());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 100_000_000, 10_000_000), ledger.balance(BUYER));
        assertEquals(1, ledger.openHolds().size());

        Applied post = apply(new Operation.Post(key("j1/0/post"), key("j1/0/hold"), usd(7)));
        assertEquals(List.of(new Posting(BUYER, PROVIDER, usd(7), false)), post.postings());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 93_000_000, 0), ledger.balance(BUYER));
        assertEquals(7_000_000, ledger.balance(PROVIDER).posted());
        assertEquals(List.of(), ledger.openHolds());
    }

    @Test
    void post_fullHoldPaysItAll() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Post(key("p"), key("h"), usd(10)));
        assertEquals(90_000_000, ledger.balance(BUYER).available());
        assertEquals(10_000_000, ledger.balance(PROVIDER).posted());
    }

    @Test
    void void_returnsTheWholeHold() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        Applied v = apply(new Operation.VoidHold(key("v"), key("h")));
        assertEquals(List.of(), v.postings());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 100_000_000, 0), ledger.balance(BUYER));
        assertEquals(0, ledger.balance(PROVIDER).posted());
    }

    @Test
    void expire_afterExpiryReleasesTheHold() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(HoldNotExpiredException.class, () -> apply(new Operation.Expire(key("x"), key("h"))));
        clock.advance(Duration.ofMinutes(10));
        apply(new Operation.Expire(key("x"), key("h")));
        assertEquals(0, ledger.balance(BUYER).held());
        refused(HoldExpiredException.class, () -> apply(new Operation.Post(key("p"), key("h"), usd(1))));
        refused(HoldResolvedException.class, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
    }

    @Test
    void expireDue_expiresEveryHoldPastItsExpiryOnceAndNoOther() {
        apply(new Operation.Hold(key("h1"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(5), clock.instant().plus(Duration.ofMinutes(2))));
        apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(1), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Post(key("p3"), key("h3"), usd(1)));
        assertEquals(0, ledger.expireDue());
        clock.advance(Duration.ofMinutes(1));
        assertEquals(1, ledger.expireDue());
        assertEquals(List.of(new OpenHold(key("h2"), BUYER, PROVIDER, usd(5), clock.instant().plus(Duration.ofMinutes(1)))),
                ledger.openHolds());
        assertEquals(0, ledger.expireDue(), "an expired hold is expired once");
        // The late capture loses the race to the ledger's expiry and changes nothing.
        refused(HoldExpiredException.class, () -> apply(new Operation.Post(key("p1"), key("h1"), usd(1))));
        // The buyer's own expiry of the same hold is refused: it resolved once, by the ledger.
        refused(HoldResolvedException.class, () -> apply(new Operation.Expire(key("x1"), key("h1"))));
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 99_000_000, 5_000_000), ledger.balance(BUYER));
        clock.advance(Duration.ofMinutes(1));
        assertEquals(1, ledger.expireDue());
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
        refused(HoldResolvedException.class, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
    }

    @Test
    void reservedKeys_areRefusedFromCallers() {
        OperationKey mine = JdbcLedger.expiryKey(key("h"));
        assertEquals("ledger:expire:" + key("h").value(), mine.value());
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> ledger.apply(new Operation.Expire(mine, key("h"))));
        assertEquals("operation key " + mine + " begins with ledger:, which is reserved for the ledger's own "
                + "operations (expiries): use another key", e.getMessage());
        String longKey = "k".repeat(200);
        assertEquals("ledger:expire:sha256:" + dev.depin.crypto.Sha256.hex(longKey.getBytes(
                java.nio.charset.StandardCharsets.US_ASCII)), JdbcLedger.expiryKey(OperationKey.of(longKey)).value());
    }

    @Test
    void post_afterExpiryIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        clock.advance(Duration.ofMinutes(11));
        refused(HoldExpiredException.class, () -> apply(new Operation.Post(key("p"), key("h"), usd(1))));
        apply(new Operation.VoidHold(key("v"), key("h")));
    }

    @Test
    void post_aboveHoldIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(PostExceedsHoldException.class,
                () -> apply(new Operation.Post(key("p"), key("h"), MicroUsd.ofMicros(10_000_001))));
    }

    @Test
    void post_afterVoidIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.VoidHold(key("v"), key("h")));
        refused(HoldResolvedException.class, () -> apply(new Operation.Post(key("p"), key("h"), usd(1))));
        refused(HoldResolvedException.class, () -> apply(new Operation.VoidHold(key("v2"), key("h"))));
    }

    @Test
    void void_afterPostIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Post(key("p"), key("h"), usd(3)));
        refused(HoldResolvedException.class, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
        refused(HoldResolvedException.class, () -> apply(new Operation.Post(key("p2"), key("h"), usd(3))));
    }

    @Test
    void post_unknownHoldIsRefused() {
        refused(UnknownHoldException.class, () -> apply(new Operation.Post(key("p"), key("nope"), usd(1))));
    }

    @Test
    void hold_aboveAvailableIsRefused() {
        apply(new Operation.Hold(key("h1"), BUYER, PROVIDER, usd(60), later()));
        refused(InsufficientFundsException.class,
                () -> apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(41), later())));
        refused(InsufficientFundsException.class,
                () -> apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(41))));
        apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(40), later()));
        assertEquals(0, ledger.balance(BUYER).available());
    }

    @Test
    void apply_unknownAccountIsRefused() {
        AccountId ghost = AccountId.of("buyer:ghost");
        refused(UnknownAccountException.class, () -> apply(new Operation.Mint(key("m"), ghost, usd(1))));
        refused(UnknownAccountException.class, () -> apply(new Operation.Hold(key("h"), ghost, PROVIDER, usd(1), later())));
        refused(UnknownAccountException.class, () -> apply(new Operation.Hold(key("h"), BUYER, ghost, usd(1), later())));
        refused(UnknownAccountException.class, () -> apply(new Operation.Transfer(key("t"), BUYER, ghost, usd(1))));
        refused(UnknownAccountException.class, () -> ledger.balance(ghost));
        refused(UnknownAccountException.class, () -> ledger.statement(ghost));
    }

    @Test
    void apply_identicalRetryReturnsTheOriginalResult() {
        Operation[] ops = {
            new Operation.Transfer(key("t"), BUYER, FEES, usd(1)),
            new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()),
            new Operation.Post(key("p"), key("h"), usd(4)),
            new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(5), later()),
            new Operation.VoidHold(key("v"), key("h2")),
            new Operation.Slash(key("s"), STAKE, Optional.of(BUYER), usd(2), usd(3), "dispute:abc"),
        };
        for (Operation op : ops) {
            Applied first = apply(op);
            List<Balance> balances = ledger.balances();
            Applied again = apply(op);
            assertEquals(first, again, "retry of " + op.key());
            assertEquals(balances, ledger.balances(), "a retry moved money: " + op.key());
        }
        assertEquals(ops.length + 2, ledger.audit().operations());
    }

    @Test
    void apply_sameKeyOtherFieldsIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(IdempotencyConflictException.class,
                () -> apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(11), later())));
        refused(IdempotencyConflictException.class,
                () -> apply(new Operation.Transfer(key("h"), BUYER, FEES, usd(1))));
        apply(new Operation.Post(key("p"), key("h"), usd(2)));
        refused(IdempotencyConflictException.class, () -> apply(new Operation.Post(key("p"), key("h"), usd(3))));
        refused(IdempotencyConflictException.class, () -> apply(new Operation.Mint(key("mint-buyer"), BUYER, usd(101))));
    }

    @Test
    void slash_paysTheBuyerAndBurnsTheRest() {
        Applied s = apply(new Operation.Slash(key("s"), STAKE, Optional.of(BUYER), usd(20), usd(5), "dispute:1"));
        assertEquals(List.of(new Posting(STAKE, BUYER, usd(20), false), new Posting(STAKE, AccountId.BURN, usd(5), false)),
                s.postings());
        assertEquals(25_000_000, ledger.balance(STAKE).posted());
        assertEquals(120_000_000, ledger.balance(BUYER).posted());
        assertEquals(5_000_000, ledger.balance(AccountId.BURN).posted());
        apply(new Operation.Slash(key("s2"), STAKE, Optional.empty(), MicroUsd.ZERO, usd(25), "dispute:2"));
        assertEquals(0, ledger.balance(STAKE).posted());
    }

    @Test
    void slash_refusesNonStakeAndMoreThanTheStake() {
        refused(AccountKindException.class,
                () -> apply(new Operation.Slash(key("s"), BUYER, Optional.of(PROVIDER), usd(1), MicroUsd.ZERO, "d")));
        refused(InsufficientFundsException.class,
                () -> apply(new Operation.Slash(key("s"), STAKE, Optional.of(BUYER), usd(40), usd(11), "d")));
    }

    @Test
    void apply_refusesMoneyIntoTheIssuerAndOutOfBurn() {
        apply(new Operation.Slash(key("s"), STAKE, Optional.empty(), MicroUsd.ZERO, usd(1), "d"));
        refused(AccountKindException.class, () -> apply(new Operation.Transfer(key("t"), BUYER, AccountId.ISSUER, usd(1))));
        refused(AccountKindException.class, () -> apply(new Operation.Transfer(key("t"), AccountId.BURN, BUYER, usd(1))));
        refused(AccountKindException.class, () -> apply(new Operation.Transfer(key("t"), AccountId.ISSUER, BUYER, usd(1))));
        refused(AccountKindException.class, () -> apply(new Operation.Mint(key("m"), AccountId.BURN, usd(1))));
    }

    @Test
    void values_refuseNegativeZeroAndOverflowingAmounts() {
        assertThrows(InvalidArgumentException.class, () -> MicroUsd.ofMicros(-1));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Hold(key("h"), BUYER, PROVIDER, MicroUsd.ZERO, later()));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Hold(key("h"), BUYER, BUYER, usd(1), later()));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Post(key("h"), key("h"), usd(1)));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Slash(key("s"), STAKE, Optional.of(BUYER),
                MicroUsd.ofMicros(Long.MAX_VALUE), usd(1), "d"));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Slash(key("s"), STAKE, Optional.empty(),
                usd(1), MicroUsd.ZERO, "d"));
        assertThrows(InvalidArgumentException.class, () -> OperationKey.of("has space"));
        assertThrows(InvalidArgumentException.class, () -> AccountId.of(""));
        assertThrows(InvalidArgumentException.class, () -> ledger.apply(null));
    }

    @Test
    void apply_beyondTheRangeIsRefused() {
        refused(AmountOverflowException.class, () -> apply(new Operation.Mint(key("big"), PROVIDER, MicroUsd.ofMicros(Long.MAX_VALUE))));
        apply(new Operation.Mint(key("most"), PROVIDER, MicroUsd.ofMicros(Long.MAX_VALUE - 150_000_000)));
        refused(AmountOverflowException.class, () -> apply(new Operation.Mint(key("one"), FEES, MicroUsd.ofMicros(1))));
        assertEquals(Long.MAX_VALUE, ledger.audit().minted());
        AccountId credit = AccountId.of("buyer:credit");
        ledger.open(credit, AccountKind.BUYER, true).join();
        refused(AmountOverflowException.class, () -> apply(new Operation.Transfer(key("t"), credit, PROVIDER, usd(151))));
        apply(new Operation.Transfer(key("t2"), credit, BUYER, usd(1)));
        assertEquals(-1_000_000, ledger.balance(credit).posted());
    }

    @Test
    void open_sameAccountOtherKindIsRefused() {
        assertEquals(ledger.balance(BUYER), ledger.open(BUYER, AccountKind.BUYER, false).join());
        refused(AccountConflictException.class, () -> ledger.open(BUYER, AccountKind.PROVIDER, false).join());
        refused(AccountConflictException.class, () -> ledger.open(BUYER, AccountKind.BUYER, true).join());
        assertThrows(InvalidArgumentException.class, () -> ledger.open(AccountId.of("x"), AccountKind.ISSUER, true));
    }

    @Test
    void statement_listsMovementsWithTheRunningBalance() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Post(key("p"), key("h"), usd(6)));
        apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(1)));
        List<StatementLine> lines = ledger.statement(BUYER);
        assertEquals(3, lines.size());
        assertEquals(AccountId.ISSUER, lines.get(0).counterparty());
        assertEquals(100_000_000, lines.get(0).balanceAfter());
        assertEquals(-6_000_000, lines.get(1).change());
        assertEquals(key("p"), lines.get(1).key());
        assertEquals(93_000_000, lines.get(2).balanceAfter());
        assertEquals(ledger.balance(BUYER).posted(), lines.get(2).balanceAfter());
    }

    @Test
    void reopen_keepsBalancesHoldsAndKeys() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        Applied t = apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(1)));
        List<Balance> balances = ledger.balances();
        ledger.close();
        ledger = location.builder().clock(clock).expirySweep(Duration.ZERO).open();
        assertEquals(balances, ledger.balances());
        assertEquals(List.of(new OpenHold(key("h"), BUYER, PROVIDER, usd(10), later())), ledger.openHolds());
        assertEquals(t, apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(1))));
        apply(new Operation.Post(key("p"), key("h"), usd(10)));
    }

    @Test
    void close_failsLaterOperationsClearly() {
        ledger.close();
        CompletionException e = assertThrows(CompletionException.class,
                () -> ledger.apply(new Operation.Mint(key("m"), BUYER, usd(1))).join());
        assertInstanceOf(LedgerFailureException.class, e.getCause());
        assertThrows(LedgerFailureException.class, () -> ledger.balance(BUYER));
        ledger = location.builder().clock(clock).expirySweep(Duration.ZERO).open();
    }
}
