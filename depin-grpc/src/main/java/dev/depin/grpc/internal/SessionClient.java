package dev.depin.grpc.internal;

import dev.depin.grpc.internal.wire.Cancel;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.JobEnded;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The buyer's side of one Session stream to a provider: many small jobs, each a
 * {@link RemoteAttempt} that sees a stream of its own ({@link Job}), multiplexed by job number
 * (docs/decisions.md, "Many small jobs per stream"). The session is usable once the node's
 * opening message arrived ({@link #opened()} true); a node without the method answers
 * UNIMPLEMENTED ({@link #opened()} false) and the buyer sends each job on its own stream.
 *
 * <p>What one stream per job gave each attempt, the session gives it too: its own deadline
 * (checked by {@link #sweep}, one timer for all sessions, instead of one per job), its own
 * cancellation (a Cancel message; the attempt fails at once as a reset stream would, and its
 * slot stays counted until the node's JobEnded), and the failure of its stream when the
 * session breaks (every job in flight fails with the session's status, as each of their
 * streams would have). At most {@link Wire#SESSION_JOBS} jobs are in flight on a session; a
 * session takes no new job after {@link #MAX_AGE_NANOS} (a node's connection age limit must
 * not cut jobs in flight) or once idle for {@link Wire#SESSION_BUYER_IDLE_MILLIS}, and then
 * half-closes once it is empty.
 */
public final class SessionClient implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
    /** A session takes new jobs for this long, then retires (well inside a node's 10-minute connection age grace). */
    static final long MAX_AGE_NANOS = TimeUnit.MINUTES.toNanos(5);
    /** How long the node's opening message may take before the session is given up (and opened again later). */
    static final long OPEN_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final String provider;
    /** Where attempts hear of their failures that do not come from the transport's thread. */
    private final Executor callbacks;
    private final CompletableFuture<Boolean> opened = new CompletableFuture<>();
    /** The session's clock, nanoseconds as {@link System#nanoTime} (tests move it by hand). */
    private final LongSupplier ticker;
    private final long openedNanos;
    /** Jobs numbered and not yet ended by the node (or the session), by number. */
    private final Map<Long, Job> jobs = new ConcurrentHashMap<>();
    /** Serializes writes to {@link #requests} and guards the fields below it. */
    private final Object lock = new Object();
    private ClientCallStreamObserver<ExecuteRequest> requests;
    /** Slots taken: jobs reserved, numbered or not, until their JobEnded or the session's end. */
    private int inFlight;
    private long next;
    /** Takes no new job (retired, closed or broken). */
    private boolean retired;
    private boolean halfClosed;
    private boolean ended;
    private long lastUseNanos;

    /**
     * @param provider  the provider's short id, for messages
     * @param callbacks runs attempt failures that must not run under a caller's lock
     * @param ticker    the session's clock for its age, idle time and job deadlines, as
     *                  {@link System#nanoTime} ({@code System::nanoTime} outside tests)
     */
    public SessionClient(String provider, Executor callbacks, LongSupplier ticker) {
        this.provider = provider;
        this.callbacks = callbacks;
        this.ticker = ticker;
        this.openedNanos = ticker.getAsLong();
        this.lastUseNanos = openedNanos;
    }

    /** @return completes true once the node's opening message came, false when it does not serve sessions */
    public CompletableFuture<Boolean> opened() {
        return opened;
    }

    /** @return whether the session takes no new job (it may still finish the ones in flight) */
    public boolean retired() {
        synchronized (lock) {
            return retired;
        }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecuteRequest> stream) {
        synchronized (lock) {
            requests = stream;
        }
    }

    /**
     * Takes a slot for a job, if the session is open, young enough, and has one free.
     *
     * @return the job's stream, or null (send the job on its own Execute stream)
     */
    public Job reserve() {
        synchronized (lock) {
            if (retired || !Boolean.TRUE.equals(opened.getNow(null))) {
                return null;
            }
            if (ticker.getAsLong() - openedNanos > MAX_AGE_NANOS) {
                retire();
                return null;
            }
            if (inFlight >= Wire.SESSION_JOBS) {
                return null;
            }
            inFlight++;
            lastUseNanos = ticker.getAsLong();
            return new Job();
        }
    }

    /** Takes no new job; half-closes once no job is in flight (under lock). */
    private void retire() {
        retired = true;
        if (inFlight == 0 && !halfClosed && !ended && requests != null) {
            halfClosed = true;
            try {
                requests.onCompleted();
            } catch (RuntimeException e) {
                // Cut meanwhile: nothing in flight to tell.
            }
        }
    }

    /**
     * Fails the jobs whose deadline passed (DEADLINE_EXCEEDED, and a Cancel to the node) and
     * retires a session idle for {@link Wire#SESSION_BUYER_IDLE_MILLIS}. Called by the buyer's
     * one sweep timer.
     */
    public void sweep() {
        long now = ticker.getAsLong();
        if (!opened.isDone() && now - openedNanos > OPEN_NANOS) {
            // A node that neither serves nor refuses the session: its jobs keep their own streams.
            close("provider " + provider + " sent no opening message on its session in "
                    + TimeUnit.NANOSECONDS.toSeconds(OPEN_NANOS) + " s");
            return;
        }
        for (Job j : jobs.values()) {
            if (now - j.deadlineNanos > 0) {
                j.expire();
            }
        }
        synchronized (lock) {
            if (inFlight == 0 && now - lastUseNanos > TimeUnit.MILLISECONDS.toNanos(Wire.SESSION_BUYER_IDLE_MILLIS)) {
                retire();
            }
        }
    }

    /** Cuts the session (the network is closing): every job in flight fails. */
    public void close(String why) {
        ClientCallStreamObserver<ExecuteRequest> r;
        synchronized (lock) {
            retired = true;
            r = requests;
        }
        if (r != null) {
            r.cancel(why, null);
        }
    }

    /** @return whether the session has ended (cut, closed, or refused) */
    public boolean ended() {
        synchronized (lock) {
            return ended;
        }
    }

    @Override
    public void onNext(ExecuteResponse m) {
        long n = m.getSessionJob();
        if (n == 0) {
            if (m.getKindCase() != ExecuteResponse.KindCase.KIND_NOT_SET || opened.isDone()) {
                broke("provider " + provider + " sent a session message without a job number");
                return;
            }
            opened.complete(true);
            return;
        }
        Job j = jobs.get(n);
        if (j == null) {
            boolean known;
            synchronized (lock) {
                known = n > 0 && n <= next;
            }
            if (!known) {
                broke("provider " + provider + " sent a message for job number " + Long.toUnsignedString(n)
                        + ", which this session never started");
            }
            return; // a job that ended (and was told) already
        }
        ExecuteResponse.KindCase kind = m.getKindCase();
        if (kind == ExecuteResponse.KindCase.ENDED || kind == ExecuteResponse.KindCase.FOLDED) {
            jobs.remove(n);
            synchronized (lock) {
                inFlight--;
                if (retired) {
                    retire();
                }
            }
            if (kind == ExecuteResponse.KindCase.FOLDED) {
                // The outputs, the Result and the end in one message (Start.folded): the attempt
                // checks every part (a broken one fails it as a broken protocol), then hears its end.
                j.deliverFolded(m);
                j.deliverCompleted();
                return;
            }
            JobEnded e = m.getEnded();
            if (e.getCode() == 0) {
                j.deliverCompleted();
            } else {
                j.deliverError(Status.fromCodeValue(e.getCode()).withDescription(e.getDescription())
                        .asRuntimeException());
            }
            return;
        }
        j.deliver(m);
    }

    /** The node broke the session's protocol: cut it (every job in flight fails). */
    private void broke(String why) {
        ClientCallStreamObserver<ExecuteRequest> r;
        synchronized (lock) {
            r = requests;
        }
        r.cancel(why, null);
    }

    @Override
    public void onError(Throwable t) {
        Status s = Status.fromThrowable(t);
        ended(s.getCode() == Status.Code.UNIMPLEMENTED, t);
    }

    @Override
    public void onCompleted() {
        // A node closes a session only with no job of it in flight: any job here never reached it.
        ended(false, Status.UNAVAILABLE.withDescription("provider " + provider + " closed the session before "
                + "this job's Start reached it").asRuntimeException());
    }

    private void ended(boolean unimplemented, Throwable t) {
        List<Job> open;
        synchronized (lock) {
            ended = true;
            retired = true;
            open = new ArrayList<>(jobs.values());
            jobs.clear();
        }
        if (unimplemented) {
            opened.complete(false);
        } else {
            opened.completeExceptionally(t);
        }
        for (Job j : open) {
            j.deliverError(t);
        }
    }

    /**
     * One job on the session, as its {@link RemoteAttempt} sees its request stream: a message
     * goes out tagged with the job's number (taken by its first message, the Start, in the
     * order the messages reach the session); half-closing does nothing (the whole job is in its
     * Start); a cancel sends Cancel and fails the attempt at once, as resetting a stream does.
     */
    public final class Job extends ClientCallStreamObserver<ExecuteRequest> {
        private RemoteAttempt attempt;
        private Runnable onReady;
        private long number;
        private volatile long deadlineNanos = Long.MAX_VALUE;
        /** Whether the attempt heard its end (guarded by this). */
        private boolean told;

        private Job() {
        }

        /**
         * Sends the attempt's Start on the session.
         *
         * @param a             the attempt, whose call qualifies ({@link RemoteAttempt#inlineCall})
         * @param deadlineNanos when the attempt fails with DEADLINE_EXCEEDED (the session's clock)
         */
        public void start(RemoteAttempt a, long deadlineNanos) {
            this.attempt = a;
            this.deadlineNanos = deadlineNanos;
            a.beforeStart(this);
            try {
                onReady.run(); // sends Start
            } catch (RuntimeException e) {
                deliverError(e instanceof StatusRuntimeException ? e
                        : Status.UNAVAILABLE.withDescription(e.getMessage()).withCause(e).asRuntimeException());
                release();
            }
        }

        /** A job that never got its number frees its slot. */
        private void release() {
            synchronized (lock) {
                if (number == 0) {
                    inFlight--;
                    number = -1;
                }
            }
        }

        @Override
        public void onNext(ExecuteRequest m) {
            synchronized (lock) {
                if (ended || halfClosed) {
                    throw Status.UNAVAILABLE.withDescription("the session to provider " + provider
                            + " has ended").asRuntimeException();
                }
                ExecuteRequest.Builder b = m.toBuilder();
                if (number == 0) {
                    number = ++next;
                    jobs.put(number, this);
                    // The node stops the job at this limit too, as gRPC would end its own stream.
                    long left = deadlineNanos == Long.MAX_VALUE ? 0
                            : Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - ticker.getAsLong()));
                    b.setTimeoutMillis(left);
                    if (b.hasStart()) {
                        // This buyer takes a job's outputs, Result and end folded into one message.
                        b.getStartBuilder().setFolded(true);
                    }
                }
                requests.onNext(b.setSessionJob(number).build());
            }
        }

        @Override
        public void onCompleted() {
            // The whole job travelled in its Start.
        }

        @Override
        public void onError(Throwable t) {
            cancel(t.getMessage(), t);
        }

        @Override
        public void cancel(String message, Throwable cause) {
            cancelWith(Status.CANCELLED.withDescription(message).withCause(cause));
        }

        private void expire() {
            cancelWith(Status.DEADLINE_EXCEEDED.withDescription("the job's deadline passed on its session to "
                    + "provider " + provider));
        }

        /**
         * Ends the job with {@code status} on this side, as a gRPC client's reset of its own
         * stream does: the attempt hears this status, whatever the node answers the Cancel with
         * (its answer may come back before the callback below runs: before, a loaded buyer then
         * reported the node's "cancelled before it started" for its own deadline).
         */
        private void cancelWith(Status status) {
            synchronized (this) {
                if (told) {
                    return;
                }
                told = true;
            }
            synchronized (lock) {
                if (number > 0 && !ended && jobs.containsKey(number)) {
                    try {
                        requests.onNext(ExecuteRequest.newBuilder().setSessionJob(number)
                                .setCancel(Cancel.newBuilder().setReason(Wire.shorten(String.valueOf(
                                        status.getDescription())))).build());
                    } catch (RuntimeException e) {
                        // The session is being cut: its end tells the node.
                    }
                }
            }
            release();
            // Not under the caller's locks (RemoteAttempt cancels under its own): as gRPC tells a reset stream.
            callbacks.execute(() -> attempt.onError(status.asRuntimeException()));
        }

        void deliver(ExecuteResponse m) {
            synchronized (this) {
                if (told) {
                    return;
                }
            }
            attempt.onNext(m);
        }

        void deliverFolded(ExecuteResponse m) {
            synchronized (this) {
                if (told) {
                    return;
                }
            }
            attempt.onFolded(m);
        }

        void deliverCompleted() {
            synchronized (this) {
                if (told) {
                    return;
                }
                told = true;
            }
            attempt.onCompleted();
        }

        void deliverError(Throwable t) {
            synchronized (this) {
                if (told) {
                    return;
                }
                told = true;
            }
            attempt.onError(t);
        }

        @Override
        public boolean isReady() {
            ClientCallStreamObserver<ExecuteRequest> r;
            synchronized (lock) {
                r = requests;
            }
            return r != null && r.isReady();
        }

        @Override
        public void setOnReadyHandler(Runnable handler) {
            this.onReady = handler;
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void request(int count) {
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }
    }
}
