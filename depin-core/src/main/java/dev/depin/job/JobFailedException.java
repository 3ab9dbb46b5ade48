package dev.depin.job;

import dev.depin.DepinException;
import java.util.List;

/**
 * A job ended without an accepted result: no offer fit, every attempt failed or was
 * disputed, or the deadline passed. {@link #history()} has every event; the message
 * names the last reason.
 */
public class JobFailedException extends DepinException {
    private static final long serialVersionUID = 1L;
    private final transient List<JobEvent> history;
    /** The state the job ended in: {@link JobState#REJECTED} or {@link JobState#FAILED}. */
    private final JobState finalState;

    /**
     * @param message    what went wrong and what to do
     * @param finalState {@link JobState#REJECTED} or {@link JobState#FAILED}
     * @param history    the job's events
     */
    public JobFailedException(String message, JobState finalState, List<JobEvent> history) {
        super(message);
        this.finalState = finalState;
        this.history = List.copyOf(history);
    }

    /**
     * @param message    what went wrong and what to do
     * @param finalState {@link JobState#REJECTED} or {@link JobState#FAILED}
     * @param history    the job's events
     * @param cause      the failure this one reports again (e.g. from another thread)
     */
    public JobFailedException(String message, JobState finalState, List<JobEvent> history, Throwable cause) {
        super(message, cause);
        this.finalState = finalState;
        this.history = List.copyOf(history);
    }

    /** @return the state the job ended in */
    public JobState finalState() {
        return finalState;
    }

    /** @return the job's events */
    public List<JobEvent> history() {
        return history == null ? List.of() : history;
    }
}
