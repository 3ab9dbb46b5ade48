package dev.depin.grpc.internal;

import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsciiString;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts what a server's transport refuses before any of the server's own code runs, which
 * {@link CallMeters} cannot see because no call reaches it: a stream past the connection's
 * MAX_CONCURRENT_STREAMS (Netty answers RST_STREAM REFUSED_STREAM), any other stream the HTTP/2
 * layer resets with an error, a connection it ends with an error (GOAWAY ENHANCE_YOUR_CALM after
 * too many rapid resets, PROTOCOL_ERROR...), and a message past the inbound size limit
 * (gRPC ends the stream RESOURCE_EXHAUSTED from its length prefix). Published as
 * {@code <prefix>.transport.refusals} with tags {@code kind} ({@code stream_reset},
 * {@code goaway}, {@code message_too_large}) and {@code error} (the HTTP/2 error code, or
 * {@code resource_exhausted}), beside {@code <prefix>.calls}.
 *
 * <p>The HTTP/2 frames are counted as the server writes them: a handler between TLS and gRPC's
 * HTTP/2 handler reads the 9-byte header of each outbound frame (and the error code of
 * RST_STREAM and GOAWAY), skipping every payload by its length, so it costs a few comparisons per
 * frame and copies nothing. Ends that are not refusals (NO_ERROR, CANCEL) are not counted. It is
 * installed through gRPC's protocol negotiator hook: the TLS negotiation is gRPC's own
 * ({@code serverTls}), unchanged; the handler is put in place when the HTTP/2 handler writes its
 * first frame, before any stream can be opened.
 */
public final class TransportRefusals {
    private static final Logger LOG = LoggerFactory.getLogger(TransportRefusals.class);
    /** The description gRPC gives a message past the inbound limit (MessageDeframer). */
    static final String TOO_LARGE = "gRPC message exceeds maximum size";
    /** The TLS handler's class, looked up as a value (its codec superclasses are not on this module's path). */
    private static final Class<?> TLS = SslHandler.class;
    private static final int RST_STREAM = 0x3;
    private static final int GOAWAY = 0x7;
    /** HTTP/2 error codes by value (RFC 9113 §7), as the {@code error} tag writes them. */
    private static final String[] ERRORS = {"no_error", "protocol_error", "internal_error", "flow_control_error",
        "settings_timeout", "stream_closed", "frame_size_error", "refused_stream", "cancel", "compression_error",
        "connect_error", "enhance_your_calm", "inadequate_security", "http_1_1_required"};

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final io.micrometer.core.instrument.MeterRegistry registry;
    private final String prefix;

    /**
     * @param registry where the counts are published, or null for none (they are still kept)
     * @param prefix   the meters' name prefix, e.g. {@code depin.node}
     */
    public TransportRefusals(io.micrometer.core.instrument.MeterRegistry registry, String prefix) {
        this.registry = registry;
        this.prefix = prefix;
        // The refusals an attack makes, published at 0 from the start.
        counter("stream_reset", "refused_stream");
        counter("goaway", "enhance_your_calm");
        counter("message_too_large", "resource_exhausted");
    }

    /**
     * @param kind  {@code stream_reset}, {@code goaway} or {@code message_too_large}
     * @param error the HTTP/2 error code in lower case, or {@code resource_exhausted}
     * @return refusals of that kind counted so far
     */
    public long count(String kind, String error) {
        LongAdder a = counts.get(kind + '|' + error);
        return a == null ? 0 : a.sum();
    }

    /** @return every refusal counted so far, of every kind */
    public long total() {
        return counts.values().stream().mapToLong(LongAdder::sum).sum();
    }

    private void add(String kind, String error) {
        counter(kind, error).increment();
    }

    private LongAdder counter(String kind, String error) {
        return counts.computeIfAbsent(kind + '|' + error, k -> {
            LongAdder a = new LongAdder();
            if (registry != null) {
                io.micrometer.core.instrument.FunctionCounter.builder(prefix + ".transport.refusals", a, LongAdder::sum)
                        .tag("kind", kind).tag("error", error)
                        .description("Streams and connections the transport refused before the server's code ran: "
                                + "streams reset (REFUSED_STREAM past MAX_CONCURRENT_STREAMS...), connections ended "
                                + "with an error (GOAWAY), messages past the inbound limit")
                        .register(registry);
            }
            return a;
        });
    }

    private void frame(int type, long code) {
        if (code == 0x0 || code == 0x8) {
            return; // NO_ERROR, CANCEL: an ordinary end, not a refusal
        }
        add(type == RST_STREAM ? "stream_reset" : "goaway",
                code < ERRORS.length ? ERRORS[(int) code] : "0x" + Long.toHexString(code));
    }

    /** @return a tracer factory counting messages refused for their size; add it to the server's builder */
    public ServerStreamTracer.Factory streamTracer() {
        return new ServerStreamTracer.Factory() {
            @Override
            public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
                return new ServerStreamTracer() {
                    @Override
                    public void streamClosed(Status status) {
                        if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED && status.getDescription() != null
                                && status.getDescription().startsWith(TOO_LARGE)) {
                            add("message_too_large", "resource_exhausted");
                        }
                    }
                };
            }
        };
    }

    /**
     * @param tls the server's TLS context
     * @return gRPC's own server TLS negotiation, with the frame counter put in place behind it
     */
    public InternalProtocolNegotiator.ProtocolNegotiator negotiator(SslContext tls) {
        InternalProtocolNegotiator.ProtocolNegotiator tlsNegotiator = InternalProtocolNegotiators.serverTls(tls);
        return new InternalProtocolNegotiator.ProtocolNegotiator() {
            @Override
            public AsciiString scheme() {
                return tlsNegotiator.scheme();
            }

            @Override
            public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
                ChannelHandler negotiation = tlsNegotiator.newHandler(grpcHandler);
                return new ChannelDuplexHandler() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        // As a plain handler: only its place in the pipeline is looked at.
                        ctx.pipeline().addFirst(new Installer((ChannelHandler) (Object) grpcHandler));
                        ctx.pipeline().replace(this, null, negotiation);
                    }
                };
            }

            @Override
            public void close() {
                tlsNegotiator.close();
            }
        };
    }

    /**
     * Sits first in the pipeline, where every outbound write passes (encrypted), until gRPC's
     * HTTP/2 handler is in the pipeline; then puts the frame counter right after TLS, where the
     * writes are still plain HTTP/2, and leaves.
     */
    private final class Installer extends ChannelDuplexHandler {
        private final ChannelHandler grpc;

        Installer(ChannelHandler grpc) {
            this.grpc = grpc;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (ctx.pipeline().context(grpc) == null) {
                ctx.write(msg, promise);
                return;
            }
            String tls = null;
            for (Map.Entry<String, ChannelHandler> h : ctx.pipeline()) {
                if (TLS.isInstance(h.getValue())) {
                    tls = h.getKey();
                }
            }
            if (tls != null) {
                ctx.pipeline().addAfter(tls, null, new Frames());
            } else {
                LOG.debug("no TLS handler in the pipeline; HTTP/2 refusals are not counted on this connection");
            }
            ctx.write(msg, promise);
            ctx.pipeline().remove(this);
        }
    }

    /** Reads the outbound HTTP/2 frame headers and the error code of RST_STREAM and GOAWAY. */
    private final class Frames extends ChannelOutboundHandlerAdapter {
        private final byte[] head = new byte[9];
        private int headFill;
        private int type;
        private long left;
        private int read;
        private long code;
        private boolean off;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (!off) {
                if (msg instanceof ByteBuf b) {
                    scan(b);
                } else {
                    off = true; // not bytes: the frame boundaries are lost, stop rather than miscount
                    LOG.debug("outbound {} is not bytes; HTTP/2 refusals no longer counted on this connection",
                            msg.getClass().getName());
                }
            }
            super.write(ctx, msg, promise);
        }

        private void scan(ByteBuf b) {
            int i = b.readerIndex();
            int end = b.writerIndex();
            while (i < end) {
                if (headFill < 9) {
                    head[headFill++] = b.getByte(i++);
                    if (headFill == 9) {
                        left = ((head[0] & 0xffL) << 16) | ((head[1] & 0xffL) << 8) | (head[2] & 0xffL);
                        type = head[3] & 0xff;
                        read = 0;
                        code = 0;
                        if (left == 0) {
                            done();
                        }
                    }
                    continue;
                }
                if (type == RST_STREAM || type == GOAWAY) {
                    int from = type == RST_STREAM ? 0 : 4; // GOAWAY: last stream id, then the code
                    if (read >= from && read < from + 4) {
                        code = (code << 8) | (b.getByte(i) & 0xffL);
                    }
                    read++;
                    i++;
                    left--;
                } else {
                    int skip = (int) Math.min(left, end - i);
                    i += skip;
                    left -= skip;
                }
                if (left == 0) {
                    done();
                }
            }
        }

        private void done() {
            if ((type == RST_STREAM && read >= 4) || (type == GOAWAY && read >= 8)) {
                frame(type, code);
            }
            headFill = 0;
        }
    }
}
