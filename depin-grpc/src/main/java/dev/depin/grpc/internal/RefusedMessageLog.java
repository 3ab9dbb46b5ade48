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
 * <p>The filter is set on that one logger and drops only that one message; other records of the
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

    static {
        Filter before = STREAM_LOG.getFilter();
        STREAM_LOG.setFilter(new Filter() {
            @Override
            public boolean isLoggable(LogRecord r) {
                if (MESSAGE.equals(r.getMessage()) && r.getThrown() != null) {
                    long n = DROPPED.incrementAndGet();
                    if (n % 10_000 == 1) {
                        LOG.debug("inbound message refused by the transport (not logged by gRPC; {} so far): {}", n,
                                r.getThrown().getMessage());
                    }
                    return false;
                }
                return before == null || before.isLoggable(r);
            }
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
}
