package dev.depin.job;

/**
 * Where one attempt of a job (one dispatch to one provider) is. An attempt ends
 * {@code ACCEPTED}, {@code FAILED}, {@code DISPUTED} or {@code CANCELLED}; the job goes on
 * after the last three while its deadline and attempt budget allow.
 */
public enum AttemptState {
    /** Handed to the provider. */
    DISPATCHED(false),
    /** The provider reported that execution started. */
    RUNNING(false),
    /** The provider answered; the answer is being checked. */
    RETURNED(false),
    /** The answer passed every check and was accepted (or agreed with the majority). Final. */
    ACCEPTED(true),
    /** The provider refused, failed, timed out or answered malformed. Final. */
    FAILED(true),
    /** The answer failed a check: a {@link DisputeRecord} holds the evidence. Final. */
    DISPUTED(true),
    /** The attempt was stopped: the job was cancelled, ended, or the attempt is no longer needed. Final. */
    CANCELLED(true);

    private final boolean terminal;

    AttemptState(boolean terminal) {
        this.terminal = terminal;
    }

    /** @return whether an attempt in this state changes state no more */
    public boolean isTerminal() {
        return terminal;
    }
}
