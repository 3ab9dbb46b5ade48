package dev.depin.grpc.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Filter;
import java.util.logging.LogRecord;

/**
 * Keeps gRPC's Netty server from writing a WARNING with a stack trace for every inbound message
 * it refuses. {@code NettyServerStream.TransportState.deframeFailed} logs each message past the
 * inbound size limit (or that cannot be decoded) through {@code java.util.logging} at WARNING,
 * with the whole exception, before it cancels the stream: a peer decides how often that happens,
 * so a flood of oversized renewals made the directory format and print a stack trace per
 * message (about 4 % of its CPU in the directory-flood profile of docs/benchmarks.md). The peer
 * gets the same status as before ({@code RESOURCE_EXHAUSTED: gRPC message exceeds maximum
 * size ...}); only the log record is dropped and counted, and logged once per 10,000 at debug.
 *
 * <p>Likewise {@code NettyServerHandler.onStreamError} logs "Stream Error" at WARNING with the
 * whole exception when a stream ends while its writes wait in HTTP/2 flow control ("Stream closed
 * before write could take place"): exactly what happens when the node resets a reader that
 * granted no window ({@link StreamResets}), so a peer that opens stalled streams would make the
 * node print a stack trace (about 60 lines) per stream. That record is dropped and counted too
 * ({@link #droppedStreamErrors()}); the node counts the resets themselves
 * ({@code depin.node.streams.reset}).
 *
 * <p>Each filter is set on its one logger and drops only its one message; other records of the
 * logger, and any filter set before, are left as they were.
 */
public final class RefusedMessageLog {
    private static final Logger LOG = LoggerFactory.getLogger(RefusedMessageLog.class);
    /** The record gRPC writes per refused message (grpc-netty 1.83). */
    static final String MESSAGE = "Exception processing message";
    /** Held so that the filter stays on the logger (java.util.logging holds loggers weakly). */
    private static final java.util.logging.Logger STREAM_LOG =
            java.util.logging.Logger.getLogger("io.grpc.netty.NettyServerStream");
    private static final AtomicLong DROPPED = new AtomicLong();
    /** The record gRPC writes per stream error (grpc-netty 1.83), and the one error of those dropped. */
    static final String STREAM_ERROR = "Stream Error";
    static final String CLOSED_BEFORE_WRITE = "Stream closed before write could take place";
    private static final java.util.logging.Logger HANDLER_LOG =
            java.util.logging.Logger.getLogger("io.grpc.netty.NettyServerHandler");
    private static final AtomicLong DROPPED_STREAM_ERRORS = new AtomicLong();

    static {
        drop(STREAM_LOG, r -> MESSAGE.equals(r.getMessage()) && r.getThrown() != null, DROPPED,
                "inbound message refused by the transport");
        drop(HANDLER_LOG, r -> STREAM_ERROR.equals(r.getMessage()) && r.getThrown() != null
                        && CLOSED_BEFORE_WRITE.equals(r.getThrown().getMessage())
                        && r.getThrown().getClass().getName().endsWith("Http2Exception$StreamException"),
                DROPPED_STREAM_ERRORS, "stream ended with writes waiting for the reader's window");
    }

    /** Sets on {@code log} a filter that drops and counts the records {@code which} picks. */
    private static void drop(java.util.logging.Logger log, java.util.function.Predicate<LogRecord> which,
                             AtomicLong count, String what) {
        Filter before = log.getFilter();
        log.setFilter(r -> {
            if (which.test(r)) {
                long n = count.incrementAndGet();
                if (n % 10_000 == 1) {
                    LOG.debug("{} (not logged by gRPC; {} so far): {}", what, n, r.getThrown().getMessage());
                }
                return false;
            }
            return before == null || before.isLoggable(r);
        });
    }

    private RefusedMessageLog() {
    }

    /** Installs the filter (once per JVM; later calls do nothing). */
    public static void install() {
        // the static initializer did it
    }

    /** @return inbound messages refused by the transport whose gRPC log record was dropped, in this JVM */
    public static long dropped() {
        return DROPPED.get();
    }

    /**
     * @return gRPC's "Stream Error" records for a stream ended while its writes waited for the
     *         reader's window (a stalled reader reset), dropped in this JVM
     */
    public static long droppedStreamErrors() {
        return DROPPED_STREAM_ERRORS.get();
    }
}
