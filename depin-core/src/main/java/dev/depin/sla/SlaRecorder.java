package dev.depin.sla;

/**
 * Where a buyer's client hands each finished job for SLA measurement
 * ({@code DepinClient.Builder.sla}): an in-memory {@link SlaBook}, or a {@link SlaJournal} that
 * also writes it to disk before the job's result is delivered.
 */
public interface SlaRecorder {
    /**
     * Records one finished job. Called once per job, on the client's thread, after the job's
     * final state is decided and before its result future completes; an exception is logged
     * and does not change the job's outcome.
     *
     * @param record the job
     * @throws dev.depin.InvalidArgumentException if the job was recorded before
     * @throws dev.depin.DepinException           if it cannot be recorded (e.g. the journal's disk failed)
     */
    void record(SlaRecord record);
}
