package dev.depin.grpc.internal;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the settlement service refused or cut off for a limit, by reason, counted where an
 * operator looks ({@code depin.ledger.refusals} by {@code reason}): operations past a bound on
 * operations in flight (each refused operation counts, a batch's too), and answer streams
 * cancelled because their reader stopped reading.
 */
public final class LedgerRefusals {
    /** Why something was refused. */
    public enum Reason {
        /** An operation past its key's operations in flight. */
        OPERATIONS_PER_KEY,
        /** An operation past its address's operations in flight, over all its keys. */
        OPERATIONS_PER_ADDRESS,
        /** An operation past the service's operations in flight, over all peers. */
        OPERATIONS_TOTAL,
        /** An operation of a busy address, when only the share kept for light peers was left. */
        OPERATIONS_FAIR_SHARE,
        /** An answer stream whose reader took nothing for the stall timeout: cancelled. */
        REPLY_STALLED;

        /** @return the meter's tag value */
        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final LongAdder[] counts = new LongAdder[Reason.values().length];

    /** Counts without publishing (until {@link #register}). */
    public LedgerRefusals() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    /**
     * Publishes the counts as {@code <prefix>.refusals} by {@code reason}.
     *
     * @param registry where the meters go
     * @param prefix   the meters' name prefix, e.g. {@code depin.ledger}
     * @return this
     */
    public LedgerRefusals register(MeterRegistry registry, String prefix) {
        for (Reason r : Reason.values()) {
            FunctionCounter.builder(prefix + ".refusals", counts[r.ordinal()], LongAdder::doubleValue)
                    .tag("reason", r.tag()).description("What the service refused or cut off for a limit, by reason "
                            + "(operations count one by one)").register(registry);
        }
        return this;
    }

    /**
     * @param reason why
     * @param n      how many (operations, or 1 stream)
     */
    public void add(Reason reason, int n) {
        if (n > 0) {
            counts[reason.ordinal()].add(n);
        }
    }

    /**
     * @param reason why
     * @return how many were refused for it since start
     */
    public long count(Reason reason) {
        return counts[reason.ordinal()].sum();
    }
}
