package dev.depin.sla;

import java.util.concurrent.CompletableFuture;

/**
 * Where a buyer's client hands each finished job for SLA measurement
 * ({@code DepinClient.Builder.sla}): an in-memory {@link SlaBook}, or a {@link SlaJournal} that
 * also writes it to disk before the job's result is delivered.
 */
public interface SlaRecorder {
    /**
     * Records one finished job and returns once it is recorded. An exception means it is not.
     *
     * @param record the job
     * @throws dev.depin.InvalidArgumentException if the job was recorded before
     * @throws dev.depin.DepinException           if it cannot be recorded (e.g. the journal's disk failed)
     */
    void record(SlaRecord record);

    /**
     * Records one finished job, possibly later: what the client calls, once per job, after the
     * job's final state is decided. The job's result future completes only once the returned
     * future has: normally; and if it fails, the job's future fails with an
     * {@link SlaNotRecordedException} that still carries the result (a failed job's own failure
     * carries it as a suppressed exception). The default records on the caller's thread through
     * {@link #record}.
     *
     * @param record the job
     * @return completes once the job is recorded, or fails with why it was not
     * @throws dev.depin.InvalidArgumentException on null
     */
    default CompletableFuture<Void> recordAsync(SlaRecord record) {
        dev.depin.InvalidArgumentException.requireNonNull(record, "SLA record");
        try {
            record(record);
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
