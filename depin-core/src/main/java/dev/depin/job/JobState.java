package dev.depin.job;

/**
 * Where a job (or one attempt of it) is in its life, per the design's lifecycle:
 * {@code SUBMITTED → MATCHED → ESCROWED → DISPATCHED → RUNNING → RETURNED → VERIFIED →
 * SETTLED}, with the side exits {@code REJECTED}, {@code FAILED → RESCHEDULED},
 * {@code DISPUTED} and {@code CANCELLED}.
 *
 * <p>{@code ESCROWED} and {@code SETTLED} are reached only when a settlement backend is
 * configured; without one a job ends at {@code VERIFIED}.
 */
public enum JobState {
    /** Accepted by the client after validation; not yet matched. */
    SUBMITTED(false),
    /** An offer that meets the requirements and the price cap was chosen. */
    MATCHED(false),
    /** The maximum price is held in escrow. */
    ESCROWED(false),
    /** The request was handed to the provider. */
    DISPATCHED(false),
    /** The provider reported that execution started. */
    RUNNING(false),
    /** Outputs came back from the provider. */
    RETURNED(false),
    /** The outputs passed the job's verification policy. Final when no settlement is configured. */
    VERIFIED(true),
    /** The provider was paid and the rest of the escrow refunded. */
    SETTLED(true),
    /** No offer fits, or the spec is invalid. Final. */
    REJECTED(true),
    /** An attempt failed (provider error, timeout, bad proof); final for the job when no attempt is left. */
    FAILED(true),
    /** A failed or disputed attempt is being retried on another provider. */
    RESCHEDULED(false),
    /** Verification of an attempt failed; the attempt's evidence is kept for the dispute. */
    DISPUTED(false),
    /** The buyer cancelled the job. Final. */
    CANCELLED(true);

    private final boolean terminal;

    JobState(boolean terminal) {
        this.terminal = terminal;
    }

    /**
     * Whether a job in this state can change state no more. {@code FAILED} is terminal
     * for the job only when it is the job's last event; an attempt's failure is followed
     * by {@code RESCHEDULED}.
     */
    public boolean isTerminal() {
        return terminal;
    }
}
