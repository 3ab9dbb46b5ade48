package dev.depin.grpc.internal;

import com.google.common.util.concurrent.MoreExecutors;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.stub.MetadataUtils;

import java.util.concurrent.Executor;

/**
 * Small jobs whose callbacks run on the transport's own thread (issue 15, item 8). An Execute
 * call whose whole job travels inside its Start (every input inline, none by root, so nothing
 * can follow it) and whose outputs fit one chunk is marked with the header {@value #HEADER}; on
 * such a call, each side runs its callbacks on the Netty event loop that read the bytes
 * ({@code directExecutor}) instead of handing each one to gRPC's shared pool, which cost a
 * thread wake-up per callback (about ten per small job over both sides, and a third of the
 * process's CPU per job). Every callback of such a call is short and bounded: the node parses
 * one Start of at most {@link Wire#MAX_MESSAGE_BYTES} and queues the job (its own workers run it
 * and send the outputs); the buyer hashes at most {@link Wire#INLINE_BYTES} of outputs and hands
 * verification to the client's scheduler. Every other call (streamed inputs, inputs by root,
 * large outputs) keeps gRPC's pool, so hashing bulk inputs never holds an event loop.
 *
 * <p>A peer that marks a call and then streams an input chunk on it is refused with
 * INVALID_ARGUMENT ({@link #refusesChunks()}), so the mark cannot buy a peer more event-loop
 * time than one Start. A peer that does not send the header (an older buyer) gets the pool, as
 * before; an older node ignores the header. The header carries no claim anyone relies on beyond
 * the choice of thread.
 */
public final class InlineCalls {
    /** The header's name; its only value is {@code "1"}. */
    public static final String HEADER = "depin-inline";
    private static final Metadata.Key<String> KEY = Metadata.Key.of(HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private static final Context.Key<Boolean> MARKED = Context.key("depin-inline-call");
    private static final String EXECUTE = ProviderGrpc.getExecuteMethod().getFullMethodName();
    private static final String SESSION = ProviderGrpc.getSessionMethod().getFullMethodName();
    private static final ClientInterceptor MARK;

    static {
        Metadata m = new Metadata();
        m.put(KEY, "1");
        MARK = MetadataUtils.newAttachHeadersInterceptor(m);
    }

    private InlineCalls() {
    }

    /** @return the buyer's interceptor that marks a call (attach it only to a call that qualifies) */
    public static ClientInterceptor mark() {
        return MARK;
    }

    /**
     * Whether a buyer's attempt qualifies: every input inside Start and none by root (nothing
     * can follow the Start) and outputs of at most {@link Wire#INLINE_BYTES} in all.
     *
     * @param closesWithStart whether the Start carries the whole job (the buyer half-closes with it)
     * @param outputBytes     the outputs the job declares, in all
     * @return whether the call is marked and runs its callbacks on the event loop
     */
    public static boolean qualifies(boolean closesWithStart, long outputBytes) {
        return closesWithStart && outputBytes <= Wire.INLINE_BYTES;
    }

    /**
     * @return the node's executor choice: the event loop for a marked Execute call and for a
     *         Session (whose jobs are all small), gRPC's pool (null) for every other call
     */
    public static ServerCallExecutorSupplier executors() {
        return new ServerCallExecutorSupplier() {
            @Override
            public <Q, A> Executor getExecutor(ServerCall<Q, A> call, Metadata headers) {
                // A Session carries only small jobs, each checked as a marked call's (ProviderService).
                return marked(call, headers) || SESSION.equals(call.getMethodDescriptor().getFullMethodName())
                        ? MoreExecutors.directExecutor() : null;
            }
        };
    }

    /** @return the node's interceptor that tells the Execute handler whether its call is marked */
    public static ServerInterceptor context() {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                if (!marked(call, headers)) {
                    return next.startCall(call, headers);
                }
                return Contexts.interceptCall(Context.current().withValue(MARKED, Boolean.TRUE), call, headers, next);
            }
        };
    }

    /** @return whether the current call (inside the node's handler) was marked, so must not stream inputs */
    public static boolean refusesChunks() {
        return Boolean.TRUE.equals(MARKED.get());
    }

    private static boolean marked(ServerCall<?, ?> call, Metadata headers) {
        return "1".equals(headers.get(KEY)) && EXECUTE.equals(call.getMethodDescriptor().getFullMethodName());
    }
}
