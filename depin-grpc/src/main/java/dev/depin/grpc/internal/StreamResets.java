package dev.depin.grpc.internal;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.slf4j.LoggerFactory;

/**
 * Lets a server end a stream at the transport (HTTP/2 {@code RST_STREAM}) when its reader
 * stalls, which gRPC's server API has no call for. A stream the server ends with a status
 * (trailers) while its reader has not taken what was sent keeps that status, and the messages
 * queued before it, in Netty's buffers: trailers wait behind unsent data, and gRPC's server
 * sends no reset after them (grpc-java #2162). A reader that never reads and never cancels
 * would hold those bytes, and the stream's slot among the connection's
 * {@code MAX_CONCURRENT_STREAMS}, until its connection ends (hours). gRPC resets a stream whose
 * server-side deadline passes, by cancelling the call's own context with
 * {@code DEADLINE_EXCEEDED}; {@link #reset} does that for the stall limit, the node's deadline
 * for a reader, so the transport lets go of the stream's buffers at once.
 *
 * <p>gRPC gives the application no handle on that context ({@code Context.current()} is a
 * stand-in that cannot cancel it); {@link #capture()}, a server-level interceptor
 * ({@code ServerBuilder.intercept}), reads it from the stand-in's {@code cancellableAncestor}
 * field (package-private in grpc-api; a handle found once, and no reset at all where a gRPC
 * version lacks it) and hands it to the handler through a thread-local around
 * {@code startCall} (the handler runs inside it), so the call's later callbacks pay nothing.
 */
public final class StreamResets {
    private static final ThreadLocal<Context.CancellableContext> STARTING = new ThreadLocal<>();
    /**
     * gRPC's {@code Context.cancellableAncestor} field: a server call runs with an uncancellable
     * stand-in of its own context attached (so {@code Context.current()} cannot cancel it), whose
     * ancestor is the call's {@link Context.CancellableContext}. Read through a handle found once;
     * null where this gRPC has no such field (then no stream is reset, as before).
     */
    private static final java.lang.invoke.VarHandle ANCESTOR = ancestorHandle();
    private static final ServerInterceptor CAPTURE = new ServerInterceptor() {
        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                          ServerCallHandler<Q, A> next) {
            Context.CancellableContext cancellable = cancellableOf(Context.current());
            if (cancellable == null) {
                return next.startCall(call, headers);
            }
            STARTING.set(cancellable);
            try {
                return next.startCall(call, headers);
            } finally {
                STARTING.remove();
            }
        }
    };

    private static java.lang.invoke.VarHandle ancestorHandle() {
        try {
            return java.lang.invoke.MethodHandles.privateLookupIn(Context.class, java.lang.invoke.MethodHandles.lookup())
                    .findVarHandle(Context.class, "cancellableAncestor", Context.CancellableContext.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(StreamResets.class).warn("this gRPC hides a call's context ({}): a stalled "
                    + "reader's stream is not reset, its queued bytes stay until it cancels or its connection ends",
                    e.toString());
            return null;
        }
    }

    /** @return the call's own cancellable context, or null */
    static Context.CancellableContext cancellableOf(Context current) {
        if (current instanceof Context.CancellableContext c) {
            return c;
        }
        return ANCESTOR == null ? null : (Context.CancellableContext) ANCESTOR.get(current);
    }

    private StreamResets() {
    }

    /** @return the server-level interceptor that makes {@link #starting()} answer */
    public static ServerInterceptor capture() {
        return CAPTURE;
    }

    /**
     * @return the context of the call being started on this thread, or null (the server did not
     *         install {@link #capture()}, or gRPC gave the call a context that cannot be cancelled)
     */
    static Context.CancellableContext starting() {
        return STARTING.get();
    }

    /**
     * Resets the call's stream: gRPC sends {@code RST_STREAM} (or trailers, when nothing was
     * sent yet), drops what it queued for the stream and reports the call cancelled to its
     * handler ({@code onCancelHandler}).
     *
     * @param call the call's context from {@link #starting()}, or null (nothing is done)
     * @param why  the reason, for the status
     * @return whether a reset was asked for (false: no context, or it ended already)
     */
    static boolean reset(Context.CancellableContext call, String why) {
        if (call == null || call.isCancelled()) {
            return false;
        }
        return call.cancel(Status.DEADLINE_EXCEEDED.withDescription(why).asRuntimeException());
    }
}
