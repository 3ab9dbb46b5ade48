package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.ssl.SslHandler;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A stranger that speaks HTTP/2 frame by frame over the node's mutual TLS with a self-made key:
 * no gRPC client library between it and the node, so nothing on its side queues streams past the
 * server's SETTINGS_MAX_CONCURRENT_STREAMS, and it decides itself whether to acknowledge the
 * server's SETTINGS. It opens Execute streams (or any method's) with HEADERS frames, sends gRPC-framed messages
 * in DATA frames, and records how each stream ended: {@code RST_STREAM <code>} or
 * {@code grpc-status <code>: <message>}. Public, in this module's test jar, for the attacks on
 * {@code depin node} itself (depin-examples' NodeLimitsAttackTest).
 */
public final class RawHttp2 implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
    private final Channel channel;
    private final boolean ackSettings;
    private final Http2Settings settings;
    private final CompletableFuture<Http2Settings> serverSettings = new CompletableFuture<>();
    private final Map<Integer, CompletableFuture<String>> ends = new ConcurrentHashMap<>();
    private final Map<Integer, ByteArrayOutputStream> received = new ConcurrentHashMap<>();
    private volatile String goAway;
    private ChannelHandlerContext ctx;
    private int nextStream = 1;

    /**
     * Connects, completes the TLS handshake (ALPN h2), sends the connection preface and an
     * empty SETTINGS frame, and waits for the server's SETTINGS.
     *
     * @param address     the node, host:port
     * @param provider    the node key the server must hold
     * @param key         the stranger's key
     * @param localHost   the local address to connect from (e.g. 127.0.0.3), or null
     * @param ackSettings whether to acknowledge the server's SETTINGS, as the protocol asks
     */
    public RawHttp2(String address, NodePublicKey provider, NodeKeyPair key, String localHost, boolean ackSettings)
            throws Exception {
        this(address, provider, key, localHost, ackSettings, new Http2Settings());
    }

    /**
     * As {@link #RawHttp2(String, NodePublicKey, NodeKeyPair, String, boolean)}, sending
     * {@code settings} as its SETTINGS: e.g. SETTINGS_INITIAL_WINDOW_SIZE 0, a reader that lets
     * the server send nothing on any stream (a stalled reader, for any answer however small).
     */
    public RawHttp2(String address, NodePublicKey provider, NodeKeyPair key, String localHost, boolean ackSettings,
                    Http2Settings settings) throws Exception {
        this.ackSettings = ackSettings;
        this.settings = settings;
        int colon = address.lastIndexOf(':');
        String host = address.substring(0, colon);
        int port = Integer.parseInt(address.substring(colon + 1));
        var ssl = NodeTls.client(NodeTls.identity(key), provider);
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc(), host, port), new Frames());
                    }
                });
        channel = (localHost == null ? b.connect(host, port)
                : b.connect(new InetSocketAddress(host, port), new InetSocketAddress(localHost, 0))).sync().channel();
        channel.pipeline().get(SslHandler.class).handshakeFuture().sync();
        // The preface went out when the handshake completed (Frames), before any server frame was read.
        serverSettings.get(10, TimeUnit.SECONDS);
    }

    /** @return the server's SETTINGS_MAX_CONCURRENT_STREAMS, null if it sent none */
    public Long serverMaxConcurrentStreams() throws Exception {
        return serverSettings.get(10, TimeUnit.SECONDS).maxConcurrentStreams();
    }

    /**
     * Opens an Execute stream: one HEADERS frame, without END_STREAM.
     *
     * @return its stream id
     */
    public int openExecute() throws Exception {
        return open(ProviderGrpc.getExecuteMethod().getFullMethodName());
    }

    /**
     * Opens a stream of any method: one HEADERS frame, without END_STREAM.
     *
     * @param fullMethodName e.g. {@code depin.v1.Ledger/Apply}
     * @return its stream id
     */
    public int open(String fullMethodName) throws Exception {
        int id;
        synchronized (this) {
            id = nextStream;
            nextStream += 2;
        }
        ends.put(id, new CompletableFuture<>());
        received.put(id, new ByteArrayOutputStream());
        Http2Headers h = new DefaultHttp2Headers().method("POST").scheme("https").authority("depin")
                .path("/" + fullMethodName)
                .add("content-type", "application/grpc").add("te", "trailers");
        onLoop(() -> {
            writer.writeHeaders(ctx, id, h, 0, false, ctx.newPromise());
            ctx.flush();
        });
        return id;
    }

    /**
     * Sends one gRPC message (uncompressed, length-prefixed) in a DATA frame.
     *
     * @param stream the stream
     * @param message the message's protobuf bytes
     */
    public void send(int stream, byte[] message) throws Exception {
        send(stream, message, false);
    }

    /**
     * Sends one gRPC message in a DATA frame, with END_STREAM if {@code last} (the client's
     * half-close: a unary call's request is then whole).
     */
    public void send(int stream, byte[] message, boolean last) throws Exception {
        ByteBuf data = Unpooled.buffer(5 + message.length).writeByte(0).writeInt(message.length).writeBytes(message);
        onLoop(() -> {
            writer.writeData(ctx, stream, data, 0, last, ctx.newPromise());
            ctx.flush();
        });
    }

    /**
     * Sends the start of one gRPC message: its length prefix as for the whole {@code message},
     * then only its first {@code bytes} bytes (a request that is never completed).
     */
    public void sendPart(int stream, byte[] message, int bytes) throws Exception {
        ByteBuf data = Unpooled.buffer(5 + bytes).writeByte(0).writeInt(message.length).writeBytes(message, 0, bytes);
        onLoop(() -> {
            writer.writeData(ctx, stream, data, 0, false, ctx.newPromise());
            ctx.flush();
        });
    }

    /** Sends one Execute message (see {@link #send(int, byte[])}). */
    public void send(int stream, dev.depin.grpc.internal.wire.ExecuteRequest message) throws Exception {
        send(stream, message.toByteArray());
    }

    /** @return the Execute replies the server sent on the stream so far, in order */
    public List<dev.depin.grpc.internal.wire.ExecuteResponse> replies(int stream) throws Exception {
        List<dev.depin.grpc.internal.wire.ExecuteResponse> out = new ArrayList<>();
        for (byte[] m : messages(stream)) {
            out.add(dev.depin.grpc.internal.wire.ExecuteResponse.parseFrom(m));
        }
        return out;
    }

    /**
     * @return the input names of the first Need on the stream, waiting at most {@code seconds}
     *         for one (empty if the stream ended or the time passed without one)
     */
    public List<String> awaitNeed(int stream, long seconds) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            for (var r : replies(stream)) {
                if (r.hasNeed()) {
                    return List.copyOf(r.getNeed().getNamesList());
                }
            }
            if (ended(stream) || System.nanoTime() > until) {
                return List.of();
            }
            Thread.sleep(5);
        }
    }

    /** @return the node id (hex) in the stream's Result, null if none came */
    public String resultProvider(int stream) throws Exception {
        for (var r : replies(stream)) {
            if (r.hasResult()) {
                return r.getResult().getProvider();
            }
        }
        return null;
    }

    /** Cancels a stream (RST_STREAM CANCEL). */
    public void cancel(int stream) throws Exception {
        onLoop(() -> {
            writer.writeRstStream(ctx, stream, Http2Error.CANCEL.code(), ctx.newPromise());
            ctx.flush();
        });
    }

    /** @return whether the stream has ended (reset or trailers) */
    public boolean ended(int stream) {
        return ends.get(stream).isDone();
    }

    /**
     * @return how the stream ended, waiting at most {@code seconds}: {@code RST_STREAM <Http2Error>}
     *         or {@code grpc-status <code>: <message>}
     */
    public String awaitEnd(int stream, long seconds) throws Exception {
        return ends.get(stream).get(seconds, TimeUnit.SECONDS);
    }

    /** @return the gRPC messages the server sent on the stream so far, in order */
    public List<byte[]> messages(int stream) {
        byte[] all;
        ByteArrayOutputStream bytes = received.get(stream);
        synchronized (bytes) {
            all = bytes.toByteArray();
        }
        List<byte[]> out = new ArrayList<>();
        int at = 0;
        while (all.length - at >= 5) {
            int n = ((all[at + 1] & 0xff) << 24) | ((all[at + 2] & 0xff) << 16) | ((all[at + 3] & 0xff) << 8)
                    | (all[at + 4] & 0xff);
            if (all.length - at - 5 < n) {
                break;
            }
            out.add(java.util.Arrays.copyOfRange(all, at + 5, at + 5 + n));
            at += 5 + n;
        }
        return out;
    }

    /** @return the GOAWAY the server sent ({@code <Http2Error> <debug text>}), null if none */
    public String goAway() {
        return goAway;
    }

    private void onLoop(Runnable r) throws Exception {
        channel.eventLoop().submit(r).get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    /** Reads the server's frames (after TLS) and records what they say. */
    private final class Frames extends ByteToMessageDecoder {
        private final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader(true);
        private final Http2FrameAdapter listener = new Http2FrameAdapter() {
            @Override
            public void onSettingsRead(ChannelHandlerContext c, Http2Settings settings) {
                if (ackSettings) {
                    writer.writeSettingsAck(c, c.newPromise());
                    c.flush();
                }
                serverSettings.complete(settings);
            }

            @Override
            public void onPingRead(ChannelHandlerContext c, long data) {
                writer.writePing(c, true, data, c.newPromise());
                c.flush();
            }

            @Override
            public int onDataRead(ChannelHandlerContext c, int streamId, ByteBuf data, int padding,
                                  boolean endOfStream) {
                int n = data.readableBytes() + padding;
                ByteArrayOutputStream bytes = received.get(streamId);
                if (bytes != null) {
                    byte[] copy = new byte[data.readableBytes()];
                    data.readBytes(copy);
                    synchronized (bytes) {
                        bytes.writeBytes(copy);
                    }
                }
                // Credit back what was read, on the stream and on the connection.
                writer.writeWindowUpdate(c, streamId, n, c.newPromise());
                writer.writeWindowUpdate(c, 0, n, c.newPromise());
                c.flush();
                return n;
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers, int padding,
                                      boolean endOfStream) {
                CharSequence status = headers.get("grpc-status");
                if (status != null) {
                    CharSequence message = headers.get("grpc-message");
                    end(streamId, "grpc-status " + status + ": " + (message == null ? ""
                            : URLDecoder.decode(message.toString().replace("+", "%2B"), StandardCharsets.UTF_8)));
                }
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers, int streamDependency,
                                      short weight, boolean exclusive, int padding, boolean endOfStream) {
                onHeadersRead(c, streamId, headers, padding, endOfStream);
            }

            @Override
            public void onRstStreamRead(ChannelHandlerContext c, int streamId, long errorCode) {
                end(streamId, "RST_STREAM " + Http2Error.valueOf(errorCode));
            }

            @Override
            public void onGoAwayRead(ChannelHandlerContext c, int lastStreamId, long errorCode, ByteBuf debugData) {
                goAway = Http2Error.valueOf(errorCode) + " " + debugData.toString(StandardCharsets.UTF_8);
            }
        };

        private void end(int streamId, String how) {
            CompletableFuture<String> f = ends.get(streamId);
            if (f != null) {
                f.complete(how);
            }
        }

        @Override
        public void handlerAdded(ChannelHandlerContext c) {
            ctx = c;
        }

        /**
         * Sends the connection preface and SETTINGS as soon as TLS is up, on the event loop and
         * before this handler reads a byte: the server sends its SETTINGS right after the
         * handshake, and acknowledging them before the preface would break the connection.
         */
        @Override
        public void userEventTriggered(ChannelHandlerContext c, Object evt) throws Exception {
            if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent e && e.isSuccess()) {
                c.write(Http2CodecUtil.connectionPrefaceBuf());
                writer.writeSettings(c, settings, c.newPromise());
                c.flush();
            }
            super.userEventTriggered(c, evt);
        }

        @Override
        protected void decode(ChannelHandlerContext c, ByteBuf in, List<Object> out) throws Exception {
            reader.readFrame(c, in, listener);
        }

        @Override
        public void channelInactive(ChannelHandlerContext c) throws Exception {
            serverSettings.completeExceptionally(new IllegalStateException("connection closed before SETTINGS"));
            ends.values().forEach(f -> f.complete("connection closed"));
            super.channelInactive(c);
        }

        @Override
        public void handlerRemoved0(ChannelHandlerContext c) {
            reader.close();
        }
    }
}
