package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.provider.Region;
import java.time.Duration;

/**
 * What a buyer asks a market for: {@code machines} machines, each with {@code gpu}, in
 * {@code region} (or anywhere), for {@code duration}, for at most {@code budget} in all, each
 * running {@code node}.
 *
 * <p>The budget is in micro-USD whatever the market bills in: a market that bills in a token
 * converts through its {@link dev.depin.settlement.spi.PriceOracle} and refuses a request whose
 * quote, at that rate, exceeds the budget ({@link BudgetExceededException}).
 *
 * @param machines how many machines, 1 to 1,000
 * @param gpu      the GPUs on each
 * @param region   where, or null for anywhere
 * @param duration how long each is leased, 1 minute to 90 days
 * @param budget   the most the whole request may cost, in micro-USD
 * @param node     what each machine runs
 */
public record CapacityRequest(int machines, GpuSpec gpu, Region region, Duration duration, MicroUsd budget,
                              NodeTemplate node) {
    /** The longest lease asked for. */
    public static final Duration MAX_DURATION = Duration.ofDays(90);

    /**
     * Checks every field.
     *
     * @param machines how many machines, 1 to 1,000
     * @param gpu      the GPUs on each
     * @param region   where, or null for anywhere
     * @param duration how long each is leased, 1 minute to 90 days
     * @param budget   the most the whole request may cost, in micro-USD
     * @param node     what each machine runs
     * @throws InvalidArgumentException on nulls (except region) or values out of range
     */
    public CapacityRequest {
        InvalidArgumentException.requireNonNull(gpu, "GPU spec");
        InvalidArgumentException.requireNonNull(duration, "lease duration");
        InvalidArgumentException.requireNonNull(budget, "budget");
        InvalidArgumentException.requireNonNull(node, "node template");
        if (machines < 1 || machines > 1000) {
            throw new InvalidArgumentException("machine count " + machines + " must be 1 to 1000");
        }
        if (duration.compareTo(Duration.ofMinutes(1)) < 0 || duration.compareTo(MAX_DURATION) > 0) {
            throw new InvalidArgumentException("lease duration " + duration + " must be 1 minute to 90 days");
        }
    }

    /**
     * @param n how many machines
     * @return this request for {@code n} machines (same budget)
     */
    public CapacityRequest withMachines(int n) {
        return new CapacityRequest(n, gpu, region, duration, budget, node);
    }

    /**
     * @param b the new budget
     * @return this request with budget {@code b}
     */
    public CapacityRequest withBudget(MicroUsd b) {
        return new CapacityRequest(machines, gpu, region, duration, b, node);
    }

    /** @return the duration in whole hours, rounded up (markets that bill by the hour) */
    public long hoursRoundedUp() {
        long s = duration.getSeconds() + (duration.getNano() > 0 ? 1 : 0);
        return (s + 3599) / 3600;
    }

    @Override
    public String toString() {
        return machines + " machine(s) with " + gpu + (region == null ? " anywhere" : " in " + region) + " for "
                + duration + ", budget " + budget;
    }
}
