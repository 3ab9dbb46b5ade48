package dev.depin.job;

/**
 * Where a job is in its life, per the design's lifecycle:
 * {@code SUBMITTED → MATCHED → ESCROWED → DISPATCHED → RUNNING → RETURNED → VERIFIED →
 * SETTLED}, ending in {@code SETTLED} (or {@code VERIFIED} while no settlement backend is
 * configured), {@code REJECTED}, {@code FAILED} or {@code CANCELLED}. A failed or disputed
 * attempt (see {@link AttemptState}) sends the job back to {@code MATCHED} on another
 * provider while its deadline and attempt budget allow.
 *
 * <p>{@code ESCROWED} and {@code SETTLED} are reached only when the client has an
 * {@link dev.depin.settlement.Escrow}; without one a job ends at {@code VERIFIED}. With one,
 * {@code VERIFIED} is followed by {@code SETTLED} once the payment is durable, so
 * {@link #isTerminal()} (true for both) says only that the job's outcome is decided: wait
 * for the result future to know that its money has come to rest.
 */
public enum JobState {
    /** Accepted by the client after validation; not yet matched. */
    SUBMITTED(false),
    /** Offers that meet the requirements and the price cap were chosen for this round. */
    MATCHED(false),
    /** Each attempt's share of the max price is held in escrow (only with an escrow). */
    ESCROWED(false),
    /** The round's attempts were handed to their providers. */
    DISPATCHED(false),
    /** A provider reported that execution started. */
    RUNNING(false),
    /** Outputs came back and are being checked. */
    RETURNED(false),
    /** The outputs passed the job's verification policy. Final without an escrow; with one, SETTLED follows. */
    VERIFIED(true),
    /** The provider was paid what it charged and the rest of the escrow refunded, durably. Final. */
    SETTLED(true),
    /** The job could never run: no offer fits, or its deadline had passed at submission. Final. */
    REJECTED(true),
    /** Every round failed, or the deadline passed. Final. */
    FAILED(true),
    /** The buyer cancelled the job, or closed the client. Final. */
    CANCELLED(true);

    private final boolean terminal;

    JobState(boolean terminal) {
        this.terminal = terminal;
    }

    /** @return whether a job in this state changes state no more */
    public boolean isTerminal() {
        return terminal;
    }
}
