package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import java.time.Instant;

/**
 * One state change of a job or of one of its attempts. Job-level events have a null
 * {@code attemptState}; attempt-level events carry the job's state at that moment.
 *
 * @param jobId        the job
 * @param attempt      the attempt number, from 1; 0 for job-level events before any dispatch
 * @param state        the job's state after this event
 * @param attemptState the attempt's new state, or {@code null} for a job-level event
 * @param provider     the provider of this attempt, or {@code null}
 * @param at           when it happened
 * @param detail       a human-readable reason, empty when there is nothing to add
 */
public record JobEvent(String jobId, int attempt, JobState state, AttemptState attemptState, NodeId provider,
                       Instant at, String detail) {
    /**
     * Creates an event after checking its fields.
     *
     * @param jobId        the job's id; not null
     * @param attempt      the attempt number, from 1; 0 for job-level events before any dispatch
     * @param state        the job's state after this event; not null
     * @param attemptState the attempt's new state, or {@code null} for a job-level event
     * @param provider     the provider of this attempt, or {@code null} when there is none
     * @param at           when it happened; not null
     * @param detail       a human-readable reason, empty (not null) when there is nothing to add
     * @throws InvalidArgumentException on a null field (other than attempt state and provider) or a negative attempt
     */
    public JobEvent {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        InvalidArgumentException.requireNonNull(state, "job state");
        InvalidArgumentException.requireNonNull(at, "event time");
        InvalidArgumentException.requireNonNull(detail, "event detail");
        if (attempt < 0) {
            throw new InvalidArgumentException("attempt is " + attempt + ": attempts count from 1");
        }
    }

    /** @return whether this event is a change of an attempt rather than of the job */
    public boolean isAttemptEvent() {
        return attemptState != null;
    }

    @Override
    public String toString() {
        return at + " " + jobId + "#" + attempt + " "
                + (attemptState == null ? String.valueOf(state) : "attempt " + attemptState)
                + (provider == null ? "" : " @" + provider.shortId()) + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
