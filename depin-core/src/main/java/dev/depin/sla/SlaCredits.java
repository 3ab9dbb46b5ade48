package dev.depin.sla;

import dev.depin.InvalidArgumentException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.spi.Settlement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Pays SLA credits through the ledger: from the provider's stake account
 * ({@link Escrow#stakeAccount}) to the buyer, one transfer per provider, period and buyer under
 * {@link SlaStatement#creditKey}, so a credit is paid exactly once however often it is settled
 * (a retry, a second buyer process, a restart), and is refused, not paid twice, if a later
 * recomputation disagrees with what was paid.
 */
public final class SlaCredits {
    private SlaCredits() {
    }

    /**
     * Pays one statement's credit.
     *
     * @param ledger    the settlement both sides use; not null
     * @param buyer     the buyer's account credited; not null
     * @param statement the provider's statement for a period that has ended; not null
     * @param now       the current time; the period must have ended by then
     * @return the transfer, or empty when the period was compliant (nothing owed); the future
     *         fails with the ledger's exception (e.g. a stake without the funds)
     * @throws InvalidArgumentException on nulls, a period still open, or a statement still
     *                                  waiting for its directory's presence statement
     */
    public static CompletableFuture<Optional<Applied>> pay(Settlement ledger, AccountId buyer, SlaStatement statement,
                                                           Instant now) {
        InvalidArgumentException.requireNonNull(ledger, "ledger");
        InvalidArgumentException.requireNonNull(buyer, "buyer account");
        InvalidArgumentException.requireNonNull(statement, "SLA statement");
        InvalidArgumentException.requireNonNull(now, "now");
        if (statement.periodEnd().isAfter(now)) {
            throw new InvalidArgumentException("the SLA period of " + statement.provider().shortId() + " ends at "
                    + statement.periodEnd() + ", after " + now + ": settle it once it has ended");
        }
        requireComplete(statement);
        if (statement.credit().micros() == 0) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        Operation.Transfer credit = new Operation.Transfer(statement.creditKey(buyer),
                Escrow.stakeAccount(statement.provider()), buyer, statement.credit());
        return ledger.apply(credit).thenApply(Optional::of);
    }

    /**
     * Pays every closed period's credit that a meter measured, one after the other.
     *
     * @param ledger the settlement; not null
     * @param buyer  the buyer's account; not null
     * @param meter  the buyer's measurements; not null
     * @param now    the current time
     * @return the transfers made or found already made, in statement order
     * @throws InvalidArgumentException on nulls
     */
    public static CompletableFuture<List<Applied>> payAll(Settlement ledger, AccountId buyer, SlaMeter meter,
                                                          Instant now) {
        InvalidArgumentException.requireNonNull(meter, "SLA meter");
        return payAll(ledger, buyer, meter.closedStatements(InvalidArgumentException.requireNonNull(now, "now")), now);
    }

    /**
     * Pays statements' credits one after the other (e.g. {@link SlaBook#closedStatements}).
     *
     * @param ledger     the settlement; not null
     * @param buyer      the buyer's account; not null
     * @param statements statements of periods that have ended by {@code now}
     * @param now        the current time
     * @return the transfers made or found already made, in statement order
     * @throws InvalidArgumentException on nulls, a statement whose period is still open, or one
     *                                  still waiting for its directory's presence statement (none
     *                                  is paid then)
     */
    public static CompletableFuture<List<Applied>> payAll(Settlement ledger, AccountId buyer,
                                                          List<SlaStatement> statements, Instant now) {
        InvalidArgumentException.requireNonNull(statements, "SLA statements");
        InvalidArgumentException.requireNonNull(now, "now");
        for (SlaStatement s : statements) {
            if (s.periodEnd().isAfter(now)) {
                throw new InvalidArgumentException("the SLA period of " + s.provider().shortId() + " ends at "
                        + s.periodEnd() + ", after " + now + ": settle it once it has ended");
            }
            requireComplete(s);
        }
        CompletableFuture<List<Applied>> chain = CompletableFuture.completedFuture(new ArrayList<>());
        for (SlaStatement s : List.copyOf(statements)) {
            chain = chain.thenCompose(done -> pay(ledger, buyer, s, now).thenApply(a -> {
                a.ifPresent(done::add);
                return done;
            }));
        }
        return chain;
    }

    /** Paying a pending statement would fix its credit under the idempotency key before the listed share could raise it. */
    private static void requireComplete(SlaStatement s) {
        if (s.listedBasisPoints() == SlaStatement.LISTED_PENDING) {
            throw new InvalidArgumentException("the SLA of " + s.provider().shortId() + " from " + s.periodStart()
                    + " also measures its listing in a directory: complete the statement with that directory's "
                    + "presence statement (SlaBook.withPresence) before paying");
        }
    }
}
