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
     *
     * <p><b>Threads.</b> The future is completed on one of the client's threads: a thread of its
     * scheduler, or the thread waiting in {@link #result()} (or in this future's {@code get} or
     * {@code join}), which runs the job's stages meanwhile; a job rejected at once is completed
     * inside {@code submit}. Never on a transport's or a ledger's thread, never under a lock of
     * the engine, and never inside {@link #cancelAsync()} or this future's {@code cancel}: a
     * cancel that wins makes the future read as cancelled at once, and its dependents then run
     * on the client's scheduler. Dependents registered with the non-async methods
     * ({@code thenApply}, {@code whenComplete}, ...) run on that completing thread, or on the
     * registering thread when the future is already complete, as for any
     * {@code CompletableFuture}; a dependent that blocks holds that client thread, so register
     * blocking work with the {@code ...Async(fn, executor)} methods and an executor of your own.
     *
     * @return a future of the verified result (see above for how it completes)
     */
    CompletableFuture<JobResult> resultAsync();

    /** @return the job's current state */
    JobState state();

    /** @return every event so far, in order */
    List<JobEvent> events();

    /**
     * Registers a listener for events from now on; it first receives the events that
     * already happened, in order. Listeners run on the client's listener executor (see
     * {@code DepinClient.Builder.listenerExecutor}), one event at a time per job, never on
     * a transport thread and never under the engine's locks; a listener that throws is
     * logged and ignored.
     *
     * @param listener called with each event
     */
    void onEvent(Consumer<JobEvent> listener);

    /**
     * Asks to cancel the job: its attempts are stopped where they run, and their holds (with an
     * escrow) voided. A job whose result is already verified can no longer be cancelled: its
     * money is being settled. The returned future is complete when this returns; when it is
     * {@code true}, {@link #resultAsync()} already reads as cancelled (done, cancelled, its
     * getters throw {@link CancellationException}) and {@link #state()} is {@code CANCELLED} (the
     * same holds when {@code resultAsync().cancel(..)} returns {@code true}). This call never
     * runs the caller's code: the result future's dependents, the job's SLA record and the voids
     * follow on the client's scheduler, so a dependent that blocks does not hold up the cancel
     * (only while the client is closing, and its scheduler takes no more work, may they run
     * here).
     *
     * @return completes with {@code true} if the job was cancelled, {@code false} if it had
     *         already ended or been verified
     */
    CompletableFuture<Boolean> cancelAsync();

    /**
     * Waits for the result.
     *
     * @return the verified result
     * @throws JobFailedException    if the job failed or was rejected (its cause is the
     *                               exception as raised on the engine's thread; this one
     *                               carries the caller's stack)
     * @throws CancellationException if it was cancelled
     */
    default JobResult result() {
        try {
            return resultAsync().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DepinException("interrupted while waiting for job " + jobId(), e);
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        } catch (CancellationException e) {
            throw rethrown(e);
        }
    }

    /**
     * Waits at most {@code timeout} for the result, as {@link java.util.concurrent.Future#get(long, TimeUnit)}
     * does: a wait that runs out is not a failure of the job, which keeps running.
     *
     * @param timeout how long to wait
     * @return the verified result
     * @throws TimeoutException      if the job has not ended within {@code timeout}
     * @throws JobFailedException    if the job failed or was rejected
     * @throws CancellationException if it was cancelled
     */
    default JobResult result(Duration timeout) throws TimeoutException {
        dev.depin.InvalidArgumentException.requireNonNull(timeout, "timeout");
        try {
            return resultAsync().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DepinException("interrupted while waiting for job " + jobId(), e);
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        } catch (CancellationException e) {
            throw rethrown(e);
        } catch (TimeoutException e) {
            TimeoutException t = new TimeoutException("job " + jobId() + " did not end within " + timeout
                    + " (state " + state() + "); it keeps running: wait again or cancel it");
            t.initCause(e);
            throw t;
        }
    }

    /** The engine's exception again, created on the caller's thread (so its stack is the caller's), with the original as cause. */
    private static RuntimeException rethrown(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof JobFailedException jf) {
            JobFailedException again = new JobFailedException(jf.getMessage(), jf.finalState(), jf.history(), jf);
            for (Throwable s : jf.getSuppressed()) {
                again.addSuppressed(s); // e.g. NoMatchingOfferException on a rejection
            }
            return again;
        }
        if (t instanceof CancellationException ce) {
            CancellationException again = new CancellationException(ce.getMessage());
            again.initCause(ce);
            return again;
        }
        return new DepinException("job failed: " + t, t);
    }
}
