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
 * (gRPC ends the stream RESOURCE_EXHAUSTED from its length prefix), and a connection that
 * never finished its handshakes (TLS, then the client's HTTP/2 preface): no client certificate,
 * a certificate the node refuses, a certificate whose key the client does not hold, TLS 1.2,
 * plaintext, the handshake timeout, or the client leaving or refusing the server. Published as
 * {@code <prefix>.transport.refusals} with tags {@code kind} ({@code stream_reset},
 * {@code goaway}, {@code message_too_large}, {@code handshake}) and {@code error} (the HTTP/2
 * error code, {@code resource_exhausted}, or the handshake's reason: {@code no_certificate},
 * {@code bad_certificate}, {@code bad_signature}, {@code protocol_version}, {@code not_tls},
 * {@code timeout}, {@code closed}, {@code refused_by_client}, {@code other}), and a connection
 * closed as it was accepted because its address is refused ({@link #refuseConnectionsFrom}: kind
 * {@code connection}, error {@code refused_address}), beside
 * {@code <prefix>.calls}.
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

    /**
     * @param status how a call ended
     * @return whether gRPC's transport refused its message for its size (past the inbound limit)
     */
    public static boolean tooLarge(Status status) {
        return status.getCode() == Status.Code.RESOURCE_EXHAUSTED && status.getDescription() != null
                && status.getDescription().startsWith(TOO_LARGE);
    }
    /** The TLS handler's class, looked up as a value (its codec superclasses are not on this module's path). */
    private static final Class<?> TLS = SslHandler.class;
    private static final int RST_STREAM = 0x3;
    private static final int GOAWAY = 0x7;
    /** HTTP/2 error codes by value (RFC 9113 §7), as the {@code error} tag writes them. */
    private static final String[] ERRORS = {"no_error", "protocol_error", "internal_error", "flow_control_error",
        "settings_timeout", "stream_closed", "frame_size_error", "refused_stream", "cancel", "compression_error",
        "connect_error", "enhance_your_calm", "inadequate_security", "http_1_1_required"};

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    /** The open connections by their peer's socket address, for {@link #closeConnection}. */
    private final Map<java.net.SocketAddress, io.netty.channel.Channel> connections = new ConcurrentHashMap<>();
    private final io.micrometer.core.instrument.MeterRegistry registry;
    private final String prefix;
    /** Addresses whose new connections are closed before TLS, or null for none. */
    private volatile java.util.function.Predicate<java.net.SocketAddress> refusedAddresses;
    /** Told each connection whose handshakes failed, with its reason, or null for none. */
    private volatile java.util.function.BiConsumer<java.net.SocketAddress, String> handshakeListener;

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
        counter("handshake", "timeout");
        counter("handshake", "no_certificate");
    }

    /**
     * @param kind  {@code stream_reset}, {@code goaway}, {@code message_too_large} or {@code handshake}
     * @param error the HTTP/2 error code in lower case, {@code resource_exhausted}, or a handshake's reason
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
                                + "with an error (GOAWAY), messages past the inbound limit, connections that never "
                                + "finished their TLS and HTTP/2 handshakes")
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

    /**
     * Closes the connection a call came on (gRPC gives a server no way to reset one call's stream,
     * and closing a call only queues its trailers behind the data its reader does not take): its
     * calls end CANCELLED on the server, their resources let go, and the peer sees the
     * connection close at once (no TLS close_notify or GOAWAY: both would wait behind what it
     * does not read). For a peer that stopped reading.
     *
     * @param remote the peer's socket address, as the call's {@code TRANSPORT_ATTR_REMOTE_ADDR}
     * @return false if no such connection is open (closed already, or not made through {@link #negotiator})
     */
    public boolean closeConnection(java.net.SocketAddress remote) {
        io.netty.channel.Channel c = remote == null ? null : connections.get(remote);
        if (c == null) {
            return false;
        }
        // From the first handler on, past TLS and HTTP/2: the HTTP/2 handler's own close would wait
        // for the connection's streams to end (a graceful GOAWAY), the stalled one among them.
        ChannelHandlerContext first = c.pipeline().firstContext();
        if (first == null) {
            c.close();
        } else {
            first.close();
        }
        return true;
    }

    /**
     * Has new connections from the addresses {@code refuse} picks closed as they are accepted,
     * before their TLS handshake (counted as kind {@code connection}, error {@code refused_address}).
     * Set it before the server starts.
     *
     * @param refuse true for a peer's socket address whose connections are refused now
     */
    public void refuseConnectionsFrom(java.util.function.Predicate<java.net.SocketAddress> refuse) {
        this.refusedAddresses = refuse;
    }

    /**
     * Tells {@code listener} of each connection whose handshakes failed (the peer's socket
     * address, and the {@code error} tag it is counted with: {@code bad_certificate},
     * {@code timeout}...), on the connection's event loop. Set it before the server starts.
     *
     * @param listener what is told; it must not block
     */
    public void onHandshakeRefused(java.util.function.BiConsumer<java.net.SocketAddress, String> listener) {
        this.handshakeListener = listener;
    }

    /**
     * Ends the connection a call came on gracefully: HTTP/2 GOAWAY, then the close once its open
     * streams have ended (the answers already written to them still reach the peer). For a peer
     * whose address is refused from now on.
     *
     * @param remote the peer's socket address, as the call's {@code TRANSPORT_ATTR_REMOTE_ADDR}
     * @return false if no such connection is open
     */
    public boolean goAway(java.net.SocketAddress remote) {
        io.netty.channel.Channel c = remote == null ? null : connections.get(remote);
        if (c == null) {
            return false;
        }
        c.close(); // from the pipeline's tail: the HTTP/2 handler turns it into GOAWAY, then the close
        return true;
    }

    /** @return a tracer factory counting messages refused for their size; add it to the server's builder */
    public ServerStreamTracer.Factory streamTracer() {
        return new ServerStreamTracer.Factory() {
            @Override
            public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
                return new ServerStreamTracer() {
                    @Override
                    public void streamClosed(Status status) {
                        if (tooLarge(status)) {
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
                        java.util.function.Predicate<java.net.SocketAddress> refuse = refusedAddresses;
                        if (refuse != null && refuse.test(ctx.channel().remoteAddress())) {
                            // Before TLS reads a byte: the connection costs an accept and a close.
                            add("connection", "refused_address");
                            ctx.channel().close();
                            return;
                        }
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
     * Sits first in the pipeline, where every inbound event and outbound write passes (encrypted).
     * gRPC's negotiation puts the TLS handler in place as the connection becomes active; as soon
     * as it is there, before TLS reads a byte, this puts the handshake watcher right behind it,
     * where TLS tells its outcome. Once gRPC's HTTP/2 handler is in the pipeline it puts the frame
     * counter right after TLS, where the writes are still plain HTTP/2, and leaves.
     */
    private final class Installer extends ChannelDuplexHandler {
        private final ChannelHandler grpc;
        private final Handshake handshake = new Handshake();
        private boolean watching;

        Installer(ChannelHandler grpc) {
            this.grpc = grpc;
        }

        private void watch(ChannelHandlerContext ctx) {
            if (watching) {
                return;
            }
            String tls = tlsName(ctx);
            if (tls != null) {
                watching = true;
                ctx.pipeline().addAfter(tls, null, handshake);
            }
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (ctx.channel().isActive()) {
                register(ctx.channel());
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            register(ctx.channel());
            super.channelActive(ctx);
            watch(ctx);
        }

        private void register(io.netty.channel.Channel c) {
            java.net.SocketAddress remote = c.remoteAddress();
            if (remote != null && connections.putIfAbsent(remote, c) == null) {
                c.closeFuture().addListener(f -> connections.remove(remote, c));
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            super.userEventTriggered(ctx, evt);
            watch(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            watch(ctx);
            super.channelRead(ctx, msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (ctx.pipeline().context(grpc) == null) {
                ctx.write(msg, promise);
                return;
            }
            String tls = tlsName(ctx);
            if (tls != null) {
                ctx.pipeline().addAfter(tls, null, new Frames(handshake));
            } else {
                LOG.debug("no TLS handler in the pipeline; HTTP/2 refusals are not counted on this connection");
            }
            ctx.write(msg, promise);
            ctx.pipeline().remove(this);
        }
    }

    private static String tlsName(ChannelHandlerContext ctx) {
        String tls = null;
        for (Map.Entry<String, ChannelHandler> h : ctx.pipeline()) {
            if (TLS.isInstance(h.getValue())) {
                tls = h.getKey();
            }
        }
        return tls;
    }

    /**
     * Why a TLS handshake failed, as the {@code error} tag writes it. The causes differ between
     * the JDK's TLS and BoringSSL (their exception types and messages), so both are read.
     *
     * @param cause       the handshake's failure
     * @param serverClose whether the server had closed the connection (its handshake timeout)
     */
    static String tlsRefusal(Throwable cause, boolean serverClose) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
                return "timeout";
            }
            if (t instanceof io.netty.handler.ssl.NotSslRecordException) {
                return "not_tls";
            }
            if (t instanceof java.security.cert.CertificateException) {
                return "bad_certificate"; // the node's trust manager refused the client's certificate
            }
            if (t instanceof java.nio.channels.ClosedChannelException) {
                return serverClose ? "timeout" : "closed";
            }
            text.append(' ').append(t.getMessage());
        }
        String m = text.toString().toLowerCase(java.util.Locale.ROOT);
        if (m.contains("_alert_") || m.contains("received fatal alert")) {
            // The client ended the handshake: it refused this server (a buyer that pinned another key).
            return "refused_by_client";
        }
        if (m.contains("empty client certificate") || m.contains("peer_did_not_return_a_certificate")
                || m.contains("certificate_required") || m.contains("null cert chain")) {
            return "no_certificate";
        }
        if (m.contains("protocol_version") || m.contains("unsupported_protocol") || m.contains("no appropriate protocol")
                || m.contains("is not enabled or supported") || m.contains("not accepted by server preferences")) {
            return "protocol_version";
        }
        if (m.contains("certificate_verify_failed") || m.contains("certificate_unknown") || m.contains("bad_certificate")
                || m.contains("cert_rejected")) {
            return "bad_certificate";
        }
        if (m.contains("signature") || m.contains("decrypt_error")) {
            return "bad_signature"; // a certificate whose private key the client does not hold
        }
        if (m.contains("closed")) {
            return serverClose ? "timeout" : "closed";
        }
        LOG.debug("TLS handshake failed for a reason not told apart; counted as other", cause);
        return "other";
    }

    /**
     * Watches one connection until both its handshakes are done: TLS, then HTTP/2 (the client's
     * connection preface and its first frame, which gRPC waits for before the connection is
     * ready). A connection that ends before that is counted as {@code handshake}: a TLS failure
     * by its reason ({@link #tlsRefusal}), a connection the server closed mid-handshake (its
     * handshake timeout, or the server stopping) as {@code timeout}, one the client left as
     * {@code closed} (a half-open flood shows as timeouts, a connect-and-go scan as closed). A
     * connection that an HTTP/2 protocol error ended is the GOAWAY {@link Frames} counts, not
     * counted again. Leaves the pipeline once the handshakes are done, so an established
     * connection's reads do not pass through it.
     */
    private final class Handshake extends ChannelDuplexHandler {
        /** The HTTP/2 client preface (24 bytes) and a frame header (9): the client has begun HTTP/2. */
        private static final int PREFACE_AND_FRAME = 24 + 9;
        private boolean tls;
        private boolean done;
        private boolean serverClose;
        private long plain;
        /** Set by {@link Frames} (on the same event loop) when the server ended the connection with an error. */
        boolean goAway;

        private void refused(ChannelHandlerContext ctx, String error) {
            if (!done) {
                done = true;
                add("handshake", error);
                java.util.function.BiConsumer<java.net.SocketAddress, String> l = handshakeListener;
                if (l != null) {
                    l.accept(ctx.channel().remoteAddress(), error);
                }
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent e && !done) {
                if (e.isSuccess()) {
                    tls = true;
                } else {
                    refused(ctx, tlsRefusal(e.cause(), serverClose));
                }
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            boolean begun = false;
            if (tls && !done && msg instanceof ByteBuf b) {
                plain += b.readableBytes();
                begun = plain >= PREFACE_AND_FRAME;
            }
            super.channelRead(ctx, msg);
            if (begun) {
                done = true;
                ctx.pipeline().remove(this);
            }
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
            serverClose = true;
            super.close(ctx, promise);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            // TLS's own failure was told before this (the TLS handler tells it as the connection
            // goes); what is left is a connection gone after TLS, before the client spoke HTTP/2.
            if (tls && !done && !goAway) {
                refused(ctx, serverClose ? "timeout" : "closed");
            }
            done = true;
            super.channelInactive(ctx);
        }
    }

    /** Reads the outbound HTTP/2 frame headers and the error code of RST_STREAM and GOAWAY. */
    private final class Frames extends ChannelOutboundHandlerAdapter {
        private final Handshake handshake;
        private final byte[] head = new byte[9];
        private int headFill;
        private int type;
        private long left;
        private int read;
        private long code;
        private boolean off;

        Frames(Handshake handshake) {
            this.handshake = handshake;
        }

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
                if (type == GOAWAY && code != 0x0) {
                    handshake.goAway = true; // a protocol error ended the connection, counted as such
                }
            }
            headFill = 0;
        }
    }
}
