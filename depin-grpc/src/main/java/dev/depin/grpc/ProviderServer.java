package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.DirectoryClient;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.Malformed;
import dev.depin.grpc.internal.PeerKeys;
import dev.depin.grpc.internal.ProviderService;
import dev.depin.grpc.internal.Wire;
import dev.depin.network.NetworkException;
import dev.depin.node.ProviderNode;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link ProviderNode} served over gRPC with mutual TLS 1.3: buyers reach it through a
 * {@link GrpcNetwork}, pinning the key of its signed offer. It publishes its offer to each
 * directory it is given and renews it (the renewal is its heartbeat).
 *
 * <p>Each Execute stream is checked as it arrives: inputs are received into buffers of
 * exactly the declared sizes, bounded in total ({@link Builder#maxInputBytes}); a full queue
 * is answered with RESOURCE_EXHAUSTED and the reason; a malformed stream with
 * INVALID_ARGUMENT; a stream that stops, is cancelled or passes its deadline stops the
 * attempt. Outputs are sent under gRPC flow control.
 *
 * <pre>{@code
 * ProviderNode node = ProviderNode.builder(key, new CpuExecutor(2)).build();
 * try (ProviderServer server = ProviderServer.builder(node, key)
 *         .listen("127.0.0.1", 7001).directory("127.0.0.1:7000").start()) {
 *     server.awaitTermination();
 * }
 * }</pre>
 */
public final class ProviderServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderServer.class);

    private final ProviderNode node;
    private final Server server;
    private final ProviderService service;
    private final String address;
    private final String listedAt;
    private final List<DirectoryClient> directories = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private ProviderServer(Builder b) throws IOException {
        this.node = b.node;
        NodeTls.Identity identity = NodeTls.identity(b.key);
        this.service = new ProviderService(b.node, b.maxInputBytes, b.stallTimeout.toMillis());
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(b.host, b.port))
                .sslContext(NodeTls.server(identity))
                .flowControlWindow(Wire.FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(Wire.MAX_MESSAGE_BYTES)
                .maxInboundMetadataSize(16 << 10)
                .handshakeTimeout(10, TimeUnit.SECONDS)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .addService(ServerInterceptors.intercept(Malformed.refuseWithInvalidArgument(service.definition()),
                        new PeerKeys()))
                .build()
                .start();
        this.address = b.host + ":" + server.getPort();
        this.listedAt = b.advertised != null ? b.advertised : address;
        // The offer states where buyers reach the node, which only the server knows (port 0).
        node.advertise(Wire.endpointUri(listedAt));
        for (int i = 0; i < b.directories.size(); i++) {
            directories.add(new DirectoryClient(identity, b.directories.get(i), b.directoryKeys.get(i), node::offer,
                    listedAt, b.renewEvery, b.renewRetry, DirectoryClient.DEFAULT_CALL_TIMEOUT));
        }
        LOG.info("provider node {} serving {} on {} (mutual TLS 1.3){}", node.nodeId().shortId(),
                node.executor().kind(), address, b.directories.isEmpty() ? ""
                        : ", listed" + (listedAt.equals(address) ? "" : " as " + listedAt) + " in " + b.directories);
    }

    /**
     * Starts building a server for {@code node}.
     *
     * @param node the provider node; the server owns it and closes it
     * @param key  the node's identity (its TLS certificate is made from it); must be the key
     *             the node signs with
     * @return a builder
     * @throws InvalidArgumentException on nulls or a key that is not the node's
     */
    public static Builder builder(ProviderNode node, NodeKeyPair key) {
        InvalidArgumentException.requireNonNull(node, "provider node");
        InvalidArgumentException.requireNonNull(key, "node key");
        if (!key.nodeId().equals(node.nodeId())) {
            throw new InvalidArgumentException("key " + key.nodeId().shortId() + " is not the key of provider "
                    + node.nodeId().shortId() + ": give the key the node was built with");
        }
        return new Builder(node, key);
    }

    /** @return where the server listens, as {@code host:port} */
    public String address() {
        return address;
    }

    /**
     * @return the address published in directories: {@link #address()} unless
     *         {@link Builder#advertise} gave another
     */
    public String listedAddress() {
        return listedAt;
    }

    /** @return the port it listens on */
    public int port() {
        return server.getPort();
    }

    /** @return the node's id */
    public NodeId nodeId() {
        return node.nodeId();
    }

    /** @return the node it serves */
    public ProviderNode node() {
        return node;
    }

    /** @return input bytes held right now by streams that are still receiving or running */
    public long reservedInputBytes() {
        return service.reservedInputBytes();
    }

    /**
     * Sends a renewal to every directory now instead of waiting for the next heartbeat.
     *
     * @throws NetworkException if a directory could not be reached or refused the listing
     */
    public void renewNow() {
        for (DirectoryClient d : directories) {
            d.renew();
        }
    }

    /**
     * Blocks until the server has stopped.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /**
     * Stops renewing, refuses new streams, closes the node (queued attempts fail, running
     * ones are cancelled and waited for), then closes every stream. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        directories.forEach(DirectoryClient::close);
        server.shutdown();
        node.close();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        LOG.info("provider node {} on {} stopped", node.nodeId().shortId(), address);
    }

    /**
     * Stops the server at once, as a crash would: every stream and connection is cut, the
     * node is closed afterwards. For tests and the demo's fault injection.
     */
    public void kill() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        directories.forEach(DirectoryClient::close);
        server.shutdownNow();
        node.close();
    }

    /** Options of a {@link ProviderServer}. */
    public static final class Builder {
        private final ProviderNode node;
        private final NodeKeyPair key;
        private String host = "127.0.0.1";
        private int port;
        private final List<String> directories = new ArrayList<>();
        private final List<NodePublicKey> directoryKeys = new ArrayList<>();
        private Duration renewEvery = Duration.ofSeconds(10);
        private RetryPolicy renewRetry = RetryPolicy.DIRECTORY_DEFAULT;
        private String advertised;
        private long maxInputBytes = 1L << 30;
        private Duration stallTimeout = Duration.ofSeconds(60);

        private Builder(ProviderNode node, NodeKeyPair key) {
            this.node = node;
            this.key = key;
        }

        /**
         * @param host the interface to listen on (default {@code 127.0.0.1})
         * @param port the port, or 0 for any free one (default)
         * @return this builder
         * @throws InvalidArgumentException on a null host or a port out of range
         */
        public Builder listen(String host, int port) {
            InvalidArgumentException.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new InvalidArgumentException("port " + port + " must be 0 to 65535");
            }
            this.host = host;
            this.port = port;
            return this;
        }

        /**
         * Publishes the offer to a directory and renews it; may be called for several.
         *
         * @param address the directory's {@code host:port}
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder directory(String address) {
            return directory(address, null);
        }

        /**
         * Publishes the offer to a directory whose key is known, and renews it.
         *
         * @param address the directory's {@code host:port}
         * @param key     the directory's key, pinned; {@code null} accepts any directory key
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder directory(String address, NodePublicKey key) {
            Wire.parseAddress(address);
            directories.add(address);
            directoryKeys.add(key);
            return this;
        }

        /**
         * @param every how often the offer is renewed in each directory (default 10 s); keep
         *              it well under the directory's listing time to live
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder renewEvery(Duration every) {
            InvalidArgumentException.requireNonNull(every, "renewal interval");
            if (every.isNegative() || every.isZero()) {
                throw new InvalidArgumentException("renewal interval " + every + " must be positive");
            }
            this.renewEvery = every;
            return this;
        }

        /**
         * @param policy how each renewal is retried while a directory is UNAVAILABLE or does
         *               not answer in time, before the next heartbeat (default {@link RetryPolicy#DIRECTORY_DEFAULT})
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder renewRetry(RetryPolicy policy) {
            this.renewRetry = InvalidArgumentException.requireNonNull(policy, "renewal retry policy");
            return this;
        }

        /**
         * Publishes another address than the one listened on, for a node behind a NAT, a
         * port forward or a proxy.
         *
         * @param address the {@code host:port} buyers should dial (default: the listen address)
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder advertise(String address) {
            Wire.parseAddress(address);
            this.advertised = address;
            return this;
        }

        /**
         * @param bytes the most input bytes the streams of all buyers may hold at once
         *              (default 1 GiB); a job that does not fit is refused with
         *              RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxInputBytes(long bytes) {
            if (bytes < 1) {
                throw new InvalidArgumentException("maximum input bytes " + bytes + " must be positive");
            }
            this.maxInputBytes = bytes;
            return this;
        }

        /**
         * @param timeout how long a buyer may leave its output stream unread before the
         *                attempt is stopped (default 60 s)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder stallTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "stall timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new InvalidArgumentException("stall timeout " + timeout + " must be positive");
            }
            this.stallTimeout = timeout;
            return this;
        }

        /**
         * Binds the port and starts serving (and renewing, when directories were given).
         *
         * @return the running server
         * @throws NetworkException if the port cannot be bound
         */
        public ProviderServer start() {
            try {
                return new ProviderServer(this);
            } catch (IOException e) {
                throw new NetworkException("could not listen on " + host + ":" + port + ": " + e.getMessage()
                        + " (is the port in use?)", e);
            }
        }
    }
}
