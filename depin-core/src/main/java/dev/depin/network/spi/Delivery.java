package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Where an attempt's data lives besides the request itself: inputs the provider already holds
 * for this buyer from an earlier job of a chain (sent by root only, with no bytes the buyer
 * could send instead), and whether the outputs stay on the provider instead of coming back.
 *
 * @param heldInputs  declared inputs the buyer has no bytes for: the provider must hold them by
 *                    the roots the spec commits to, else the attempt fails with
 *                    {@link dev.depin.network.OutputGoneException} (never a request for bytes)
 * @param leaveOutputsFor how long the provider keeps the outputs by the roots its receipt
 *                    commits to, sending none of their bytes; null: the outputs come back
 */
public record Delivery(Set<String> heldInputs, Duration leaveOutputsFor) {
    /** The default: every input comes with the request and every output comes back. */
    public static final Delivery RETURN = new Delivery(Set.of(), null);
    /** The longest time to live a buyer may ask for (a node may hold less: its cache's time to live). */
    public static final Duration MAX_LEAVE = dev.depin.job.Job.MAX_LEAVE_OUTPUTS;

    /**
     * Validates.
     *
     * @param heldInputs      inputs held by the provider; not null
     * @param leaveOutputsFor null, or a positive duration of at least 1 ms and at most {@link #MAX_LEAVE}
     * @throws InvalidArgumentException on null or a duration out of range
     */
    public Delivery {
        heldInputs = Set.copyOf(InvalidArgumentException.requireNonNull(heldInputs, "held inputs"));
        if (leaveOutputsFor != null) {
            dev.depin.job.Job.checkLeaveOutputsFor(leaveOutputsFor);
        }
    }

    /** @return how long the outputs stay on the provider, or empty when they come back */
    public Optional<Duration> leave() {
        return Optional.ofNullable(leaveOutputsFor);
    }

    /** @return whether the outputs stay on the provider */
    public boolean leavesOutputs() {
        return leaveOutputsFor != null;
    }
}
