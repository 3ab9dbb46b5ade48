package dev.depin.sla;

import dev.depin.DepinException;
import dev.depin.job.JobResult;
import java.util.Optional;

/**
 * A job ended, but the client's {@link SlaRecorder} could not record it (for a
 * {@link SlaJournal}: its line could not be written to the disk), so the job's result future
 * fails with this instead of delivering a result whose SLA evidence is missing. The job itself
 * ran and was settled as usual: {@link #result()} holds its result, paid for; the
 * {@linkplain #getCause() cause} says why it was not recorded.
 */
public class SlaNotRecordedException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** The job. */
    private final String jobId;
    /** Its verified result, or null; not serialized. */
    private final transient JobResult result;

    /**
     * @param jobId  the job
     * @param result its verified result, or {@code null} (a job that did not verify fails with its
     *               own exception instead, with this failure suppressed)
     * @param cause  why it was not recorded
     */
    public SlaNotRecordedException(String jobId, JobResult result, Throwable cause) {
        super("job " + jobId + " ended" + (result == null ? "" : " with a verified result (see result())")
                + ", but its SLA record was not kept, so its attempts count toward no SLA statement: "
                + (cause == null ? "unknown cause" : cause.getMessage()), cause);
        this.jobId = jobId;
        this.result = result;
    }

    /** @return the job's id */
    public String jobId() {
        return jobId;
    }

    /** @return the job's verified result, if it had one (not kept across serialization) */
    public Optional<JobResult> result() {
        return Optional.ofNullable(result);
    }
}
