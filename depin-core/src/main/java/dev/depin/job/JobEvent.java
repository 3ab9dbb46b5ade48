package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import java.time.Instant;

/**
 * One state change of a job.
 *
 * @param jobId    the job
 * @param attempt  the attempt number, 1 for the first dispatch; 0 before any dispatch
 * @param state    the new state
 * @param provider the provider of this attempt, or {@code null} before matching
 * @param at       when it happened
 * @param detail   a human-readable reason, empty when there is nothing to add
 */
public record JobEvent(String jobId, int attempt, JobState state, NodeId provider, Instant at, String detail) {
    /** @throws InvalidArgumentException on a null field (other than provider) or a negative attempt */
    public JobEvent {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        InvalidArgumentException.requireNonNull(state, "job state");
        InvalidArgumentException.requireNonNull(at, "event time");
        InvalidArgumentException.requireNonNull(detail, "event detail");
        if (attempt < 0) {
            throw new InvalidArgumentException("attempt is " + attempt + ": attempts count from 1");
        }
    }

    @Override
    public String toString() {
        return at + " " + jobId + "#" + attempt + " " + state
                + (provider == null ? "" : " @" + provider.shortId()) + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
