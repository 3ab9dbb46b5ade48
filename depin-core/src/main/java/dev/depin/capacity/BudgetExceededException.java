package dev.depin.capacity;

import dev.depin.money.MicroUsd;

/**
 * Obtaining the machines asked for would cost more than the buyer's budget allows. Nothing was
 * obtained and nothing was spent.
 */
public final class BudgetExceededException extends CapacityException {
    private static final long serialVersionUID = 1L;

    /** What the request would cost. */
    private final MicroUsd needed;
    /** What the buyer allowed. */
    private final MicroUsd budget;

    /**
     * @param market the market's name
     * @param needed what the request would cost
     * @param budget what the buyer allowed
     * @param detail how the cost was computed
     */
    public BudgetExceededException(String market, MicroUsd needed, MicroUsd budget, String detail) {
        super(market + ": the request would cost " + needed + " (" + detail + "), over the budget of " + budget
                + ": raise the budget, ask for fewer machines or hours, or choose cheaper hardware");
        this.needed = needed;
        this.budget = budget;
    }

    /** @return what the request would cost */
    public MicroUsd needed() {
        return needed;
    }

    /** @return what the buyer allowed */
    public MicroUsd budget() {
        return budget;
    }
}
