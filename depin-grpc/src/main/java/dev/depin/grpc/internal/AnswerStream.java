package dev.depin.grpc.internal;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;

import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One server-streaming answer of the settlement service (a listing of balances, statement lines
 * or holds), sent under the reader's flow control: a page is sent only while the call
 * {@link ServerCallStreamObserver#isReady() is ready}, that is while fewer than
 * {@value #QUEUED_BYTES} bytes wait for the reader, so a call never queues more than that plus
 * one page ({@link LedgerWire#PAGE} items); the rest is sent as the reader takes it (gRPC's
 * on-ready callback). A reader that takes nothing for the stall timeout (no page sent, no
 * readiness, and the call not yet closed, its last bytes and trailers included) is cut off: its
 * connection is closed ({@link TransportRefusals#closeConnection}: gRPC gives a server no way
 * to reset one call's stream, and an error would only queue behind what the reader does not
 * take), which ends its calls CANCELLED and lets go of their slots, calls and queued bytes; its
 * items are dropped and the stall counted ({@link LedgerRefusals.Reason#REPLY_STALLED}).
 *
 * @param <T> an item
 * @param <M> a page
 */
final class AnswerStream<T, M> {
    /** Bytes a call may have waiting for its reader before the next page is held back. */
    static final int QUEUED_BYTES = 32 << 10;

    private final ServerCallStreamObserver<M> out;
    private final Function<List<T>, M> page;
    private final java.util.function.BooleanSupplier cut;
    private final long stallNanos;
    private final ScheduledExecutorService timer;
    private final LedgerRefusals refusals;
    private final Runnable release;
    private List<T> items;
    private int next;
    private boolean completed;
    private boolean ended;
    private long progressNanos;
    private ScheduledFuture<?> stall;

    /**
     * @param out         the call
     * @param items       what to send
     * @param page        makes a page of items
     * @param cut         closes the call's connection; false if it could not (then the call is closed with an error)
     * @param stallMillis how long the reader may take nothing
     * @param timer       where the stall deadline runs (null: none)
     * @param refusals    where a stall is counted
     * @param release     lets go of the call's slot in flight, once, when it ends
     */
    AnswerStream(ServerCallStreamObserver<M> out, List<T> items, Function<List<T>, M> page,
                 java.util.function.BooleanSupplier cut, long stallMillis, ScheduledExecutorService timer,
                 LedgerRefusals refusals, Runnable release) {
        this.out = out;
        this.items = items;
        this.page = page;
        this.cut = cut;
        this.stallNanos = TimeUnit.MILLISECONDS.toNanos(stallMillis);
        this.timer = timer;
        this.refusals = refusals;
        this.release = release;
    }

    /** Starts sending; called from the service method, before it returns. */
    void start() {
        out.setOnReadyThreshold(QUEUED_BYTES);
        out.setOnCancelHandler(this::end);
        out.setOnCloseHandler(this::end);
        out.setOnReadyHandler(this::pump);
        synchronized (this) {
            progressNanos = System.nanoTime();
            arm(stallNanos);
        }
        pump();
    }

    /** Sends pages while the call is ready; completes the call after the last. */
    private void pump() {
        synchronized (this) {
            if (ended) {
                return;
            }
            progressNanos = System.nanoTime(); // ready again: the reader took some
            if (completed) {
                return;
            }
            try {
                while (next < items.size() && out.isReady()) {
                    int to = Math.min(items.size(), next + LedgerWire.PAGE);
                    out.onNext(page.apply(items.subList(next, to)));
                    next = to;
                }
                if (next < items.size()) {
                    return; // the reader has enough waiting: the next page goes when it takes some
                }
                completed = true;
                items = List.of();
                out.onCompleted();
            } catch (StatusRuntimeException cancelled) {
                // the reader went away: the cancel handler ends the call
            }
        }
    }

    private void arm(long delayNanos) {
        if (timer == null) {
            return;
        }
        try {
            stall = timer.schedule(this::checkStall, delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closing) {
            stall = null; // the service is closing: the server cancels the stream
        }
    }

    private void checkStall() {
        synchronized (this) {
            if (ended) {
                return;
            }
            long left = progressNanos + stallNanos - System.nanoTime();
            if (left > 0) {
                arm(left);
                return;
            }
        }
        refusals.add(LedgerRefusals.Reason.REPLY_STALLED, 1);
        if (!cut.getAsBoolean()) {
            StatusRuntimeException why = Status.DEADLINE_EXCEEDED.withDescription("the reader took nothing of this "
                    + "answer for " + TimeUnit.NANOSECONDS.toMillis(stallNanos) + " ms: call ended (read answers as "
                    + "they come; depin ledger serve --stall-timeout sets the limit)").asRuntimeException();
            try {
                out.onError(why);
            } catch (RuntimeException gone) {
                // closed meanwhile
            }
        }
        end();
    }

    /** The call is over (closed, cancelled or stalled): lets go of everything it held, once. */
    private void end() {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            items = List.of();
            if (stall != null) {
                stall.cancel(false);
            }
        }
        release.run();
    }
}
