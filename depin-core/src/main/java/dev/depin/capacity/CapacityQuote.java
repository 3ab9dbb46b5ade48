package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.TokenRate;
import java.time.Instant;

/**
 * What a market says a request would cost, in micro-USD. Where the market bills in a token the
 * quote carries the rate it was converted at, and {@code basis} says how the figure was made
 * (e.g. "1,000 uakt per block × 14,400 blocks at $2.10/AKT").
 *
 * @param market       the market's name
 * @param request      what was asked
 * @param perMachine   what one machine costs for the whole duration
 * @param total        what the whole request costs
 * @param rate         the token rate used, or null when the market bills in USD
 * @param validUntil   when the market's price may have moved
 * @param basis        how the figure was computed, for people
 */
public record CapacityQuote(String market, CapacityRequest request, MicroUsd perMachine, MicroUsd total,
                            TokenRate rate, Instant validUntil, String basis) {
    /**
     * Checks the fields.
     *
     * @param market       the market's name
     * @param request      what was asked
     * @param perMachine   what one machine costs for the whole duration
     * @param total        what the whole request costs
     * @param rate         the token rate used, or null when the market bills in USD
     * @param validUntil   when the market's price may have moved
     * @param basis        how the figure was computed, for people
     * @throws InvalidArgumentException on nulls (except rate)
     */
    public CapacityQuote {
        InvalidArgumentException.requireNonNull(market, "market");
        InvalidArgumentException.requireNonNull(request, "request");
        InvalidArgumentException.requireNonNull(perMachine, "price per machine");
        InvalidArgumentException.requireNonNull(total, "total");
        InvalidArgumentException.requireNonNull(validUntil, "valid until");
        InvalidArgumentException.requireNonNull(basis, "basis");
    }

    /** @return whether the total fits the request's budget */
    public boolean withinBudget() {
        return total.compareTo(request.budget()) <= 0;
    }

    /**
     * @throws BudgetExceededException if the total is over the request's budget
     */
    public void requireWithinBudget() {
        if (!withinBudget()) {
            throw new BudgetExceededException(market, total, request.budget(), basis);
        }
    }
}
