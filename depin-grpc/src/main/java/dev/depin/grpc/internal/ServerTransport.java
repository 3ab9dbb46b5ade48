package dev.depin.grpc.internal;

import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyServerBuilder;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The part of a server's transport that every depin server shares (the directory, the
 * provider node and the settlement service): mutual TLS 1.3 with the node's identity, and the
 * limits a peer meets before any of the server's own code runs. Each server then sets what is
 * its own (message sizes, flow-control window, streams per connection, keep-alive, connection
 * age); a setting it gives again replaces the one here.
 *
 * <p>One place, so that a limit added for one server (as the rapid-reset window was) is not
 * missing from another.
 */
public final class ServerTransport {
    /** Headers one call may send: enough for gRPC's own and a few of ours, far below Netty's 8 KiB per header × many. */
    public static final int MAX_METADATA_BYTES = 16 << 10;
    /** How long a connection may take to finish its TLS handshake before it is closed. */
    public static final int HANDSHAKE_TIMEOUT_SECONDS = 10;
    /** RST_STREAM frames one connection may send per {@link #RST_WINDOW_SECONDS} (HTTP/2 rapid reset). */
    public static final int MAX_RST_FRAMES = 10_000;
    /** The window of {@link #MAX_RST_FRAMES}. */
    public static final int RST_WINDOW_SECONDS = 10;

    private ServerTransport() {
    }

    /**
     * Starts a server builder on {@code host:port} with mutual TLS 1.3 as {@code identity}, the
     * shared limits above, and the log line of a refused oversized message installed.
     *
     * @param host     the interface to listen on
     * @param port     the port, 0 for any free one
     * @param identity the server's TLS identity
     * @return the builder, for the server's own settings
     */
    public static NettyServerBuilder mutualTls(String host, int port, NodeTls.Identity identity) {
        RefusedMessageLog.install();
        return limits(NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .sslContext(NodeTls.server(identity)));
    }

    /**
     * As {@link #mutualTls(String, int, NodeTls.Identity)}, with what the transport refuses before
     * the server's code runs counted in {@code refusals} (streams past MAX_CONCURRENT_STREAMS,
     * other HTTP/2 resets and GOAWAYs with an error, messages past the inbound limit).
     *
     * @param host      the interface to listen on
     * @param port      the port, 0 for any free one
     * @param identity  the server's TLS identity
     * @param refusals  where the transport's refusals are counted
     * @return the builder, for the server's own settings
     */
    public static NettyServerBuilder mutualTls(String host, int port, NodeTls.Identity identity,
                                               TransportRefusals refusals) {
        RefusedMessageLog.install();
        return limits(NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .protocolNegotiator(refusals.negotiator(NodeTls.server(identity)))
                .addStreamTracerFactory(refusals.streamTracer()));
    }

    private static NettyServerBuilder limits(NettyServerBuilder b) {
        return b.maxInboundMetadataSize(MAX_METADATA_BYTES)
                .handshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .maxRstFramesPerWindow(MAX_RST_FRAMES, RST_WINDOW_SECONDS);
    }

    /**
     * @param service      a service's definition
     * @param interceptors interceptors around the rest (as {@link ServerInterceptors#intercept}
     *                     orders them, the last runs first), so a metric counts every call,
     *                     also one refused for its peer
     * @return the service as every depin server serves it: a malformed request answered
     *         INVALID_ARGUMENT, and the authenticated peer's key read first (once per TLS session)
     */
    public static ServerServiceDefinition authenticated(ServerServiceDefinition service,
                                                        ServerInterceptor... interceptors) {
        ServerInterceptor[] all = new ServerInterceptor[interceptors.length + 1];
        all[0] = new PeerKeys();
        System.arraycopy(interceptors, 0, all, 1, interceptors.length);
        return ServerInterceptors.intercept(Malformed.refuseWithInvalidArgument(service), all);
    }
}
