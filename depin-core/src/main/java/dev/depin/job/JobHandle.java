package dev.depin.job;

import dev.depin.DepinException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A submitted job: its result as a {@link CompletableFuture}, its current state, and the
 * stream of its state changes.
 *
 * <pre>{@code
 * JobHandle h = client.submit(job);
 * h.onEvent(e -> log.info("{}", e));
 * h.resultAsync().thenAccept(r -> use(r.floats("c")));
 * }</pre>
 */
public interface JobHandle {

    /** @return the job id, 32 lower-case hex characters */
    String jobId();

    /** @return the job's spec */
    JobSpec spec();

    /** @return the job as submitted: its spec and input bytes */
    Job job();

    /**
     * The result. Completes normally once the outputs are verified; exceptionally with
     * {@link JobFailedException} when the job is rejected or fails, or with a
     * {@link CancellationException} when it is cancelled.
     */
    CompletableFuture<JobResult> resultAsync();

    /** @return the job's current state */
    JobState state();

    /** @return every event so far, in order */
    List<JobEvent> events();

    /**
     * Registers a listener for events from now on; it first receives the events that
     * already happened, in order. Listeners run on the client's threads and must not
     * block.
     */
    void onEvent(Consumer<JobEvent> listener);

    /**
     * Asks to cancel the job. Completes with {@code true} if the job was cancelled,
     * {@code false} if it had already ended.
     */
    CompletableFuture<Boolean> cancelAsync();

    /**
     * Waits for the result.
     *
     * @throws JobFailedException    if the job failed or was rejected
     * @throws CancellationException if it was cancelled
     */
    default JobResult result() {
        try {
            return resultAsync().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DepinException("interrupted while waiting for job " + jobId(), e);
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        }
    }

    /**
     * Waits at most {@code timeout} for the result.
     *
     * @throws JobFailedException if the job failed, or did not finish in time (the job
     *                            itself keeps running)
     */
    default JobResult result(Duration timeout) {
        try {
            return resultAsync().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DepinException("interrupted while waiting for job " + jobId(), e);
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        } catch (TimeoutException e) {
            throw new JobFailedException("job " + jobId() + " did not finish within " + timeout
                    + " (state " + state() + "); it keeps running: wait longer or cancel it", state(), events());
        }
    }

    private static RuntimeException unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof RuntimeException re) {
            return re;
        }
        return new DepinException("job failed: " + t, t);
    }
}
