package dev.depin.settlement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.spi.Settlement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link Settlement} contract, which every implementation passes: the embedded ledger
 * (depin-ledger's {@code JdbcLedger} on SQLite and PostgreSQL) and the remote settlement
 * service's client. A subclass says how to open a fresh, empty settlement on a given clock and
 * how to reopen the same one after {@link Settlement#close()}; each test then opens four
 * accounts and mints into two. Every refusal is checked for its {@link Reason} and for leaving
 * balances, open holds and statements exactly as they were.
 */
public abstract class SettlementContract {
    protected static final AccountId BUYER = AccountId.of("buyer:acme");
    protected static final AccountId PROVIDER = AccountId.of("provider:p1");
    protected static final AccountId STAKE = AccountId.of("stake:p1");
    protected static final AccountId FEES = AccountId.of("fees:net");

    /** The dispute window every settlement under the contract is opened with. */
    public static final Duration DISPUTE_WINDOW = Duration.ofMinutes(5);
    /**
     * How long after a disputed claim's window end its re-check may decide it (a void, or a post
     * for less than the claim) in every settlement under the contract; at the deadline the claim
     * stands and the settlement posts it.
     */
    public static final Duration RECHECK_WINDOW = Duration.ofMinutes(3);

    /** The clock of the settlement under test; tests move it by hand. */
    protected final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    /** The settlement under test. */
    protected Settlement ledger;

    /**
     * A fresh settlement with no accounts but its own, deciding expiry by {@code clock},
     * expiring no hold and posting no claim unless asked (no background expiry), so tests decide
     * when holds expire, with a dispute window of {@link #DISPUTE_WINDOW} and a re-check window
     * of {@link #RECHECK_WINDOW}.
     *
     * @param clock the clock
     * @return the settlement
     */
    protected abstract Settlement open(Clock clock);

    /**
     * The settlement {@link #open} returned, opened again after it was closed: the same
     * durable state.
     *
     * @param clock the clock
     * @return the settlement
     */
    protected abstract Settlement reopen(Clock clock);

    /**
     * Has the settlement post every claim whose dispute window has ended by its clock (a
     * disputed one: whose re-check deadline has), as its
     * background sweep would (for {@code JdbcLedger}, {@code postDueClaims()}, on the ledger
     * behind a service where the settlement is a client).
     *
     * @return how many claims it posted
     */
    protected abstract int postDueClaims();

    /**
     * Checks the implementation's own invariants after each test, before the settlement is
     * closed (an audit, memory against the database). Nothing by default.
     *
     * @param settlement the settlement, open
     */
    protected void checkAfterTest(Settlement settlement) {
    }

    @BeforeEach
    void openSettlement() {
        ledger = open(clock);
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.open(PROVIDER, AccountKind.PROVIDER, false).join();
        ledger.open(STAKE, AccountKind.STAKE, false).join();
        ledger.open(FEES, AccountKind.FEES, false).join();
        apply(new Operation.Mint(key("mint-buyer"), BUYER, usd(100)));
        apply(new Operation.Mint(key("mint-stake"), STAKE, usd(50)));
    }

    @AfterEach
    void closeSettlement() {
        if (ledger != null) {
            assertEquals(0, ledger.balances().stream().mapToLong(Balance::posted).sum(), "posted balances sum to zero");
            checkAfterTest(ledger);
            ledger.close();
        }
    }

    protected static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    protected static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    protected Applied apply(Operation op) {
        return ledger.apply(op).join();
    }

    protected Instant later() {
        return clock.instant().plus(Duration.ofMinutes(10));
    }

    /**
     * Asserts the refusal's reason and that balances, open holds and statements are unchanged.
     *
     * @param reason the reason expected
     * @param action what is refused
     * @return the refusal
     */
    protected SettlementException refused(Reason reason, Supplier<?> action) {
        List<Balance> before = ledger.balances();
        List<OpenHold> holdsBefore = ledger.openHolds();
        List<List<StatementLine>> statementsBefore = statements();
        Throwable thrown;
        try {
            action.get();
            throw new AssertionError("expected " + reason + " but the operation was applied");
        } catch (CompletionException e) {
            thrown = e.getCause();
        } catch (RuntimeException e) {
            thrown = e;
        }
        SettlementException t = SettlementAssertions.assertReason(reason, thrown);
        assertEquals(before, ledger.balances(), "balances changed by a refused operation");
        assertEquals(holdsBefore, ledger.openHolds(), "holds changed by a refused operation");
        assertEquals(statementsBefore, statements(), "statements changed by a refused operation");
        return t;
    }

    private List<List<StatementLine>> statements() {
        return List.of(ledger.statement(BUYER), ledger.statement(PROVIDER), ledger.statement(STAKE),
                ledger.statement(FEES), ledger.statement(AccountId.ISSUER), ledger.statement(AccountId.BURN));
    }

    @Test
    public void mint_creditsTheAccountFromTheIssuer() {
        assertEquals(100_000_000, ledger.balance(BUYER).posted());
        assertEquals(-150_000_000, ledger.balance(AccountId.ISSUER).posted());
        assertEquals(0, ledger.balances().stream().mapToLong(Balance::posted).sum(), "posted balances sum to zero");
    }

    @Test
    public void hold_reservesAndPostPartialReturnsTheRest() {
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
    public void post_fullHoldPaysItAll() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Post(key("p"), key("h"), usd(10)));
        assertEquals(90_000_000, ledger.balance(BUYER).available());
        assertEquals(10_000_000, ledger.balance(PROVIDER).posted());
    }

    @Test
    public void applyAll_answersEachOperationAsApplyWould() {
        Applied earlier = apply(new Operation.Hold(key("e"), BUYER, PROVIDER, usd(10), later()));
        Operation.Hold a1 = new Operation.Hold(key("a1"), BUYER, PROVIDER, usd(10), later());
        List<java.util.concurrent.CompletableFuture<Applied>> out = ledger.applyAll(List.of(a1,
                new Operation.Hold(key("a2"), BUYER, PROVIDER, usd(1_000), later()),
                new Operation.Hold(key("e"), BUYER, PROVIDER, usd(10), later()),
                new Operation.Post(key("nohold/post"), key("nohold"), usd(1))));
        assertEquals(4, out.size());
        assertEquals(a1, out.get(0).join().operation());
        SettlementAssertions.assertReason(Reason.INSUFFICIENT_FUNDS,
                assertThrows(CompletionException.class, out.get(1)::join).getCause());
        assertEquals(earlier, out.get(2).join(), "an identical retry in a group gets the original");
        SettlementAssertions.assertReason(Reason.UNKNOWN_HOLD,
                assertThrows(CompletionException.class, out.get(3)::join).getCause());
        assertEquals(80_000_000, ledger.balance(BUYER).available());
        assertEquals(List.of(), ledger.applyAll(List.of()));
    }

    @Test
    public void void_returnsTheWholeHold() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        Applied v = apply(new Operation.VoidHold(key("v"), key("h")));
        assertEquals(List.of(), v.postings());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 100_000_000, 0), ledger.balance(BUYER));
        assertEquals(0, ledger.balance(PROVIDER).posted());
    }

    @Test
    public void expire_afterExpiryReleasesTheHold() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(Reason.HOLD_NOT_EXPIRED, () -> apply(new Operation.Expire(key("x"), key("h"))));
        clock.advance(Duration.ofMinutes(10));
        apply(new Operation.Expire(key("x"), key("h")));
        assertEquals(0, ledger.balance(BUYER).held());
        refused(Reason.HOLD_EXPIRED, () -> apply(new Operation.Post(key("p"), key("h"), usd(1))));
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
    }

    @Test
    public void post_afterExpiryIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        clock.advance(Duration.ofMinutes(11));
        refused(Reason.HOLD_EXPIRED, () -> apply(new Operation.Post(key("p"), key("h"), usd(1))));
        apply(new Operation.VoidHold(key("v"), key("h")));
    }

    @Test
    public void post_aboveHoldIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(Reason.POST_EXCEEDS_HOLD,
                () -> apply(new Operation.Post(key("p"), key("h"), MicroUsd.ofMicros(10_000_001))));
    }

    @Test
    public void post_afterVoidIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.VoidHold(key("v"), key("h")));
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.Post(key("p"), key("h"), usd(1))));
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.VoidHold(key("v2"), key("h"))));
    }

    @Test
    public void void_afterPostIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Post(key("p"), key("h"), usd(3)));
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.Post(key("p2"), key("h"), usd(3))));
    }

    @Test
    public void post_unknownHoldIsRefused() {
        refused(Reason.UNKNOWN_HOLD, () -> apply(new Operation.Post(key("p"), key("nope"), usd(1))));
    }

    @Test
    public void hold_aboveAvailableIsRefused() {
        apply(new Operation.Hold(key("h1"), BUYER, PROVIDER, usd(60), later()));
        refused(Reason.INSUFFICIENT_FUNDS,
                () -> apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(41), later())));
        refused(Reason.INSUFFICIENT_FUNDS,
                () -> apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(41))));
        apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(40), later()));
        assertEquals(0, ledger.balance(BUYER).available());
    }

    @Test
    public void apply_unknownAccountIsRefused() {
        AccountId ghost = AccountId.of("buyer:ghost");
        refused(Reason.UNKNOWN_ACCOUNT, () -> apply(new Operation.Mint(key("m"), ghost, usd(1))));
        refused(Reason.UNKNOWN_ACCOUNT, () -> apply(new Operation.Hold(key("h"), ghost, PROVIDER, usd(1), later())));
        refused(Reason.UNKNOWN_ACCOUNT, () -> apply(new Operation.Hold(key("h"), BUYER, ghost, usd(1), later())));
        refused(Reason.UNKNOWN_ACCOUNT, () -> apply(new Operation.Transfer(key("t"), BUYER, ghost, usd(1))));
        refused(Reason.UNKNOWN_ACCOUNT, () -> ledger.balance(ghost));
        refused(Reason.UNKNOWN_ACCOUNT, () -> ledger.statement(ghost));
    }

    @Test
    public void apply_identicalRetryReturnsTheOriginalResult() {
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
    }

    @Test
    public void apply_sameKeyOtherFieldsIsRefused() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(Reason.IDEMPOTENCY_CONFLICT,
                () -> apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(11), later())));
        refused(Reason.IDEMPOTENCY_CONFLICT,
                () -> apply(new Operation.Transfer(key("h"), BUYER, FEES, usd(1))));
        apply(new Operation.Post(key("p"), key("h"), usd(2)));
        refused(Reason.IDEMPOTENCY_CONFLICT, () -> apply(new Operation.Post(key("p"), key("h"), usd(3))));
        refused(Reason.IDEMPOTENCY_CONFLICT, () -> apply(new Operation.Mint(key("mint-buyer"), BUYER, usd(101))));
    }

    @Test
    public void slash_paysTheBuyerAndBurnsTheRest() {
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
    public void slash_refusesNonStakeAndMoreThanTheStake() {
        refused(Reason.ACCOUNT_KIND,
                () -> apply(new Operation.Slash(key("s"), BUYER, Optional.of(PROVIDER), usd(1), MicroUsd.ZERO, "d")));
        refused(Reason.INSUFFICIENT_FUNDS,
                () -> apply(new Operation.Slash(key("s"), STAKE, Optional.of(BUYER), usd(40), usd(11), "d")));
    }

    @Test
    public void apply_refusesMoneyIntoTheIssuerAndOutOfBurn() {
        apply(new Operation.Slash(key("s"), STAKE, Optional.empty(), MicroUsd.ZERO, usd(1), "d"));
        refused(Reason.ACCOUNT_KIND, () -> apply(new Operation.Transfer(key("t"), BUYER, AccountId.ISSUER, usd(1))));
        refused(Reason.ACCOUNT_KIND, () -> apply(new Operation.Transfer(key("t"), AccountId.BURN, BUYER, usd(1))));
        refused(Reason.ACCOUNT_KIND, () -> apply(new Operation.Transfer(key("t"), AccountId.ISSUER, BUYER, usd(1))));
        refused(Reason.ACCOUNT_KIND, () -> apply(new Operation.Mint(key("m"), AccountId.BURN, usd(1))));
    }

    @Test
    public void values_refuseNegativeZeroAndOverflowingAmounts() {
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
    public void apply_beyondTheRangeIsRefused() {
        refused(Reason.AMOUNT_OVERFLOW, () -> apply(new Operation.Mint(key("big"), PROVIDER, MicroUsd.ofMicros(Long.MAX_VALUE))));
        apply(new Operation.Mint(key("most"), PROVIDER, MicroUsd.ofMicros(Long.MAX_VALUE - 150_000_000)));
        refused(Reason.AMOUNT_OVERFLOW, () -> apply(new Operation.Mint(key("one"), FEES, MicroUsd.ofMicros(1))));
        assertEquals(-Long.MAX_VALUE, ledger.balance(AccountId.ISSUER).posted());
        AccountId credit = AccountId.of("buyer:credit");
        ledger.open(credit, AccountKind.BUYER, true).join();
        refused(Reason.AMOUNT_OVERFLOW, () -> apply(new Operation.Transfer(key("t"), credit, PROVIDER, usd(151))));
        apply(new Operation.Transfer(key("t2"), credit, BUYER, usd(1)));
        assertEquals(-1_000_000, ledger.balance(credit).posted());
    }

    @Test
    public void open_sameAccountOtherKindIsRefused() {
        assertEquals(ledger.balance(BUYER), ledger.open(BUYER, AccountKind.BUYER, false).join());
        refused(Reason.ACCOUNT_CONFLICT, () -> ledger.open(BUYER, AccountKind.PROVIDER, false).join());
        refused(Reason.ACCOUNT_CONFLICT, () -> ledger.open(BUYER, AccountKind.BUYER, true).join());
        assertThrows(InvalidArgumentException.class, () -> ledger.open(AccountId.of("x"), AccountKind.ISSUER, true));
    }

    @Test
    public void hold_showsPayerPayeeSpecStateAndWhatResolvedIt() {
        String spec = "ab".repeat(32);
        apply(new Operation.Hold(key("h1"), BUYER, PROVIDER, usd(10), later(), Optional.of(spec)));
        apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(5), later()));
        assertEquals(Optional.of(new HoldRecord(key("h1"), BUYER, PROVIDER, usd(10), later(), Optional.of(spec),
                HoldRecord.State.OPEN, Optional.empty())), ledger.hold(key("h1")));
        apply(new Operation.Post(key("p1"), key("h1"), usd(4)));
        apply(new Operation.VoidHold(key("v2"), key("h2")));
        assertEquals(Optional.of(new HoldRecord(key("h1"), BUYER, PROVIDER, usd(10), later(), Optional.of(spec),
                HoldRecord.State.POSTED, Optional.of(key("p1")))), ledger.hold(key("h1")));
        assertEquals(Optional.of(new HoldRecord(key("h2"), BUYER, PROVIDER, usd(5), later(), Optional.empty(),
                HoldRecord.State.VOIDED, Optional.of(key("v2")))), ledger.hold(key("h2")));
        assertEquals(Optional.empty(), ledger.hold(key("p1")), "a post is not a hold");
        assertEquals(Optional.empty(), ledger.hold(key("nope")));
        // a hold that names the offer's price keeps it (a settlement service bounds claims by it)
        dev.depin.money.Price price = new dev.depin.money.Price(MicroUsd.ofMicros(1_234), MicroUsd.ofMicros(0));
        Operation.Hold priced = new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(1), later(), Optional.of(spec),
                Optional.of(price));
        Applied a = apply(priced);
        assertEquals(priced, a.operation());
        assertEquals(Optional.of(new HoldRecord(key("h3"), BUYER, PROVIDER, usd(1), later(), Optional.of(spec),
                HoldRecord.State.OPEN, Optional.empty(), Optional.empty(), Optional.of(price))), ledger.hold(key("h3")));
        assertEquals(a, apply(priced), "an identical retry");
        refused(Reason.IDEMPOTENCY_CONFLICT, () -> ledger.apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(1),
                later(), Optional.of(spec), Optional.of(new dev.depin.money.Price(MicroUsd.ofMicros(1_235),
                MicroUsd.ofMicros(0))))).join());
        apply(new Operation.VoidHold(key("v3"), key("h3")));
        assertThrows(InvalidArgumentException.class, () -> ledger.hold(null));
    }

    @Test
    public void statement_listsMovementsWithTheRunningBalance() {
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
    public void reopen_keepsBalancesHoldsAndKeys() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        Applied t = apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(1)));
        List<Balance> balances = ledger.balances();
        ledger.close();
        ledger = reopen(clock);
        assertEquals(balances, ledger.balances());
        assertEquals(List.of(new OpenHold(key("h"), BUYER, PROVIDER, usd(10), later())), ledger.openHolds());
        assertEquals(t, apply(new Operation.Transfer(key("t"), BUYER, FEES, usd(1))));
        apply(new Operation.Post(key("p"), key("h"), usd(10)));
    }

    @Test
    public void close_failsLaterOperationsClearly() {
        ledger.close();
        CompletionException e = assertThrows(CompletionException.class,
                () -> ledger.apply(new Operation.Mint(key("m"), BUYER, usd(1))).join());
        assertInstanceOf(LedgerFailureException.class, e.getCause());
        assertThrows(LedgerFailureException.class, () -> ledger.balance(BUYER));
        ledger = reopen(clock);
    }

    // ---- claims after a dispute window (issue 16) -----------------------------------

    private HoldRecord.ClaimRecord claimRecord(String claimKey, long dollars, String evidence, Instant filed,
                                               Optional<OperationKey> disputedBy) {
        return new HoldRecord.ClaimRecord(key(claimKey), usd(dollars), evidence, filed, filed.plus(DISPUTE_WINDOW),
                disputedBy);
    }

    @Test
    public void claim_isPostedByTheSettlementWhenTheWindowEnds() {
        String spec = "cd".repeat(32);
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later(), Optional.of(spec)));
        Instant filed = clock.instant();
        Applied claim = apply(new Operation.Claim(key("c"), key("h"), usd(7), "receipt-sha256"));
        assertEquals(List.of(), claim.postings(), "a claim moves no money by itself");
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 100_000_000, 10_000_000), ledger.balance(BUYER));
        assertEquals(Optional.of(new HoldRecord(key("h"), BUYER, PROVIDER, usd(10), later(), Optional.of(spec),
                HoldRecord.State.CLAIMED, Optional.empty(), Optional.of(claimRecord("c", 7, "receipt-sha256", filed,
                Optional.empty())))), ledger.hold(key("h")));
        assertEquals(1, ledger.openHolds().size(), "a claimed hold still reserves the money");
        clock.advance(DISPUTE_WINDOW.minusMillis(1));
        assertEquals(0, postDueClaims(), "not before the window ends");
        clock.advance(Duration.ofMillis(1));
        assertEquals(1, postDueClaims());
        assertEquals(0, postDueClaims(), "a claim is posted once");
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 93_000_000, 0), ledger.balance(BUYER));
        assertEquals(7_000_000, ledger.balance(PROVIDER).posted());
        HoldRecord posted = ledger.hold(key("h")).orElseThrow();
        assertEquals(HoldRecord.State.POSTED, posted.state());
        assertEquals(Optional.of(claimRecord("c", 7, "receipt-sha256", filed, Optional.empty())), posted.claim());
        assertEquals(List.of(), ledger.openHolds());
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
    }

    @Test
    public void claim_keepsTheHoldPastItsExpiryAndCannotBeVoidedOrUndercut() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Claim(key("c"), key("h"), usd(6), "r"));
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Post(key("p"), key("h"), MicroUsd.ofMicros(5_999_999))));
        clock.advance(Duration.ofMinutes(2));
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Expire(key("x"), key("h"))));
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
        assertEquals(HoldRecord.State.CLAIMED, ledger.hold(key("h")).orElseThrow().state());
        clock.advance(DISPUTE_WINDOW);
        assertEquals(1, postDueClaims(), "posted after the hold's own expiry");
        assertEquals(6_000_000, ledger.balance(PROVIDER).posted());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 94_000_000, 0), ledger.balance(BUYER));
    }

    @Test
    public void claim_refusesUnknownResolvedExpiredOversizeAndSecondClaims() {
        refused(Reason.UNKNOWN_HOLD, () -> apply(new Operation.Claim(key("c0"), key("nope"), usd(1), "r")));
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(Reason.POST_EXCEEDS_HOLD,
                () -> apply(new Operation.Claim(key("c1"), key("h"), MicroUsd.ofMicros(10_000_001), "r")));
        Applied c = apply(new Operation.Claim(key("c"), key("h"), usd(10), "r"));
        assertEquals(c, apply(new Operation.Claim(key("c"), key("h"), usd(10), "r")), "an identical retry");
        refused(Reason.IDEMPOTENCY_CONFLICT, () -> apply(new Operation.Claim(key("c"), key("h"), usd(9), "r")));
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Claim(key("c2"), key("h"), usd(1), "r")));

        apply(new Operation.Hold(key("h2"), BUYER, PROVIDER, usd(5), later()));
        apply(new Operation.Post(key("p2"), key("h2"), usd(5)));
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.Claim(key("c3"), key("h2"), usd(1), "r")));

        apply(new Operation.Hold(key("h3"), BUYER, PROVIDER, usd(5), later()));
        clock.advance(Duration.ofMinutes(10));
        refused(Reason.HOLD_EXPIRED, () -> apply(new Operation.Claim(key("c4"), key("h3"), usd(1), "r")));
        apply(new Operation.Expire(key("x3"), key("h3")));
        refused(Reason.HOLD_EXPIRED, () -> apply(new Operation.Claim(key("c4"), key("h3"), usd(1), "r")));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Claim(key("c5"), key("h"), MicroUsd.ZERO, "r"));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Claim(key("c5"), key("h"), usd(1), "two words"));
        assertThrows(InvalidArgumentException.class, () -> new Operation.Claim(key("h"), key("h"), usd(1), "r"));
        assertEquals(1, postDueClaims(), "the one claim that was filed");
    }

    @Test
    public void dispute_stopsTheSettlementsPostAndAVoidUpholdsIt() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        Instant filed = clock.instant();
        apply(new Operation.Claim(key("c"), key("h"), usd(10), "r"));
        clock.advance(DISPUTE_WINDOW.minusMillis(1));
        Applied d = apply(new Operation.Dispute(key("d"), key("h"), "dispute-sha256"));
        assertEquals(List.of(), d.postings());
        assertEquals(d, apply(new Operation.Dispute(key("d"), key("h"), "dispute-sha256")), "an identical retry");
        assertEquals(Optional.of(claimRecord("c", 10, "r", filed, Optional.of(key("d")))),
                ledger.hold(key("h")).orElseThrow().claim());
        assertEquals(HoldRecord.State.DISPUTED, ledger.hold(key("h")).orElseThrow().state());
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Dispute(key("d2"), key("h"), "again")));
        clock.advance(RECHECK_WINDOW); // 1 ms before the re-check deadline
        assertEquals(0, postDueClaims(), "a disputed claim is not posted before its re-check deadline");
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Expire(key("x"), key("h"))));
        apply(new Operation.VoidHold(key("v"), key("h")));
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 100_000_000, 0), ledger.balance(BUYER));
        assertEquals(0, ledger.balance(PROVIDER).posted());
        assertEquals(HoldRecord.State.VOIDED, ledger.hold(key("h")).orElseThrow().state());
    }

    @Test
    public void dispute_rejectedByAPostAfterTheExpiryPaysTheClaim() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Claim(key("c"), key("h"), usd(8), "r"));
        apply(new Operation.Dispute(key("d"), key("h"), "e"));
        clock.advance(DISPUTE_WINDOW.plus(RECHECK_WINDOW).minusMillis(1)); // past the expiry, before the deadline
        refused(Reason.POST_EXCEEDS_HOLD, () -> apply(new Operation.Post(key("p"), key("h"), usd(11))));
        apply(new Operation.Post(key("p"), key("h"), usd(8)));
        assertEquals(8_000_000, ledger.balance(PROVIDER).posted());
        assertEquals(0, ledger.balance(BUYER).held());
    }

    @Test
    public void dispute_whoseRecheckNeverDecidesIsPostedAtItsDeadlineOnce() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        Instant filed = clock.instant();
        apply(new Operation.Claim(key("c"), key("h"), usd(6), "r"));
        clock.advance(DISPUTE_WINDOW.minusMillis(1));
        apply(new Operation.Dispute(key("d"), key("h"), "e"));
        clock.advance(RECHECK_WINDOW); // the re-check deadline is window end + RECHECK_WINDOW: 1 ms away
        assertEquals(0, postDueClaims(), "not before the re-check deadline");
        clock.advance(Duration.ofMillis(1));
        refused(Reason.DISPUTE_WINDOW_CLOSED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
        refused(Reason.DISPUTE_WINDOW_CLOSED, () -> apply(new Operation.Post(key("p"), key("h"), MicroUsd.ofMicros(5_999_999))));
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Expire(key("x"), key("h"))));
        assertEquals(1, postDueClaims(), "posted at the re-check deadline");
        assertEquals(0, postDueClaims(), "posted once");
        assertEquals(6_000_000, ledger.balance(PROVIDER).posted());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 94_000_000, 0), ledger.balance(BUYER));
        HoldRecord posted = ledger.hold(key("h")).orElseThrow();
        assertEquals(HoldRecord.State.POSTED, posted.state());
        assertEquals(Optional.of(claimRecord("c", 6, "r", filed, Optional.of(key("d")))), posted.claim());
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.VoidHold(key("v"), key("h"))));
        assertEquals(List.of(), ledger.openHolds());
    }

    @Test
    public void dispute_decidedAcrossTheWindowEndByAVoidOrAPost() {
        for (String h : List.of("upheld", "rejected")) {
            apply(new Operation.Hold(key(h), BUYER, PROVIDER, usd(10), later()));
            apply(new Operation.Claim(key(h + "-c"), key(h), usd(4), "r-" + h));
        }
        clock.advance(DISPUTE_WINDOW.minusMillis(1));
        apply(new Operation.Dispute(key("upheld-d"), key("upheld"), "e"));
        apply(new Operation.Dispute(key("rejected-d"), key("rejected"), "e"));
        clock.advance(RECHECK_WINDOW); // after the window, 1 ms before the re-check deadline
        apply(new Operation.VoidHold(key("upheld-v"), key("upheld")));
        apply(new Operation.Post(key("rejected-p"), key("rejected"), usd(4)));
        clock.advance(Duration.ofDays(1));
        assertEquals(0, postDueClaims(), "both were decided by their re-checks");
        assertEquals(HoldRecord.State.VOIDED, ledger.hold(key("upheld")).orElseThrow().state());
        assertEquals(Optional.of(key("rejected-p")), ledger.hold(key("rejected")).orElseThrow().resolvedBy());
        assertEquals(4_000_000, ledger.balance(PROVIDER).posted());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 96_000_000, 0), ledger.balance(BUYER));
    }

    @Test
    public void reopen_afterTheRecheckDeadlinePostsTheDisputedClaimOnce() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Claim(key("c"), key("h"), usd(3), "r"));
        apply(new Operation.Dispute(key("d"), key("h"), "e"));
        ledger.close();
        clock.advance(DISPUTE_WINDOW.plus(RECHECK_WINDOW));
        ledger = reopen(clock);
        assertEquals(HoldRecord.State.DISPUTED, ledger.hold(key("h")).orElseThrow().state());
        assertEquals(1, postDueClaims());
        assertEquals(0, postDueClaims());
        assertEquals(3_000_000, ledger.balance(PROVIDER).posted());
    }

    @Test
    public void dispute_refusesUnclaimedResolvedAndLateDisputes() {
        refused(Reason.UNKNOWN_HOLD, () -> apply(new Operation.Dispute(key("d0"), key("nope"), "e")));
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        refused(Reason.HOLD_NOT_CLAIMED, () -> apply(new Operation.Dispute(key("d"), key("h"), "e")));
        apply(new Operation.Claim(key("c"), key("h"), usd(10), "r"));
        clock.advance(DISPUTE_WINDOW);
        refused(Reason.DISPUTE_WINDOW_CLOSED, () -> apply(new Operation.Dispute(key("d"), key("h"), "e")));
        assertEquals(1, postDueClaims());
        refused(Reason.HOLD_RESOLVED, () -> apply(new Operation.Dispute(key("d"), key("h"), "e")));
    }

    @Test
    public void post_ofAClaimedHoldForAtLeastTheClaimResolvesItOnce() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), later()));
        apply(new Operation.Claim(key("c"), key("h"), usd(7), "r"));
        apply(new Operation.Post(key("p"), key("h"), usd(7)));
        clock.advance(DISPUTE_WINDOW);
        assertEquals(0, postDueClaims(), "the payer's post resolved it; the claim is not posted again");
        assertEquals(7_000_000, ledger.balance(PROVIDER).posted());
        assertEquals(HoldRecord.State.POSTED, ledger.hold(key("h")).orElseThrow().state());
        assertEquals(Optional.of(key("p")), ledger.hold(key("h")).orElseThrow().resolvedBy());
    }

    @Test
    public void reopen_keepsClaimsAndPostsThemOnce() {
        apply(new Operation.Hold(key("h"), BUYER, PROVIDER, usd(10), clock.instant().plus(Duration.ofMinutes(1))));
        apply(new Operation.Claim(key("c"), key("h"), usd(4), "r"));
        HoldRecord claimed = ledger.hold(key("h")).orElseThrow();
        ledger.close();
        clock.advance(Duration.ofHours(1));
        ledger = reopen(clock);
        assertEquals(claimed, ledger.hold(key("h")).orElseThrow());
        refused(Reason.HOLD_CLAIMED, () -> apply(new Operation.Expire(key("x"), key("h"))));
        assertEquals(1, postDueClaims());
        assertEquals(0, postDueClaims());
        assertEquals(4_000_000, ledger.balance(PROVIDER).posted());
    }

    /** A clock that tests move by hand, so expiry is decided without sleeping. */
    public static final class ManualClock extends Clock {
        private volatile Instant now;

        /** @param start the first instant */
        public ManualClock(Instant start) {
            this.now = start;
        }

        /** @param d how far to move the clock forward */
        public void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
