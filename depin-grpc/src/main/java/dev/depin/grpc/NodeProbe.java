package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.network.NetworkException;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Asks a provider node whether it serves, through its own {@code Provider.Health} RPC over mutual
 * TLS 1.3 with the node's key pinned: what a container's health check or an operator's script
 * needs. The caller authenticates with a throwaway key made for the call.
 *
 * <pre>{@code
 * NodeId id = NodeProbe.health("127.0.0.1:7001", nodePublicKey, Duration.ofSeconds(5));
 * }</pre>
 */
public final class NodeProbe {
    private NodeProbe() {
    }

    /**
     * @param address where the node listens, {@code host:port}
     * @param pinned  the node's public key: the handshake fails for any other
     * @param timeout the longest the call may take, handshake included
     * @return the node's id, once it answered {@code SERVING} with the pinned key's id
     * @throws NetworkException if the node cannot be reached, presents another key, does not
     *                          answer in time, is not serving, or names another id
     */
    public static NodeId health(String address, NodePublicKey pinned, Duration timeout) {
        InvalidArgumentException.requireNonNull(address, "address");
        InvalidArgumentException.requireNonNull(pinned, "node public key");
        InvalidArgumentException.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new InvalidArgumentException("timeout " + timeout + " must be positive");
        }
        NodeId expected = NodeId.of(pinned);
        ManagedChannel channel = NettyChannelBuilder.forTarget(address)
                .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), pinned)).build();
        try {
            HealthReply reply = ProviderGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .health(HealthRequest.getDefaultInstance());
            if (reply.getStatus() != HealthReply.Status.SERVING) {
                throw new NetworkException("node " + expected.shortId() + " at " + address + " is " + reply.getStatus());
            }
            if (!reply.getNodeId().equals(expected.hex())) {
                throw new NetworkException("the node at " + address + " names itself " + reply.getNodeId()
                        + ", not " + expected.hex());
            }
            return expected;
        } catch (StatusRuntimeException e) {
            throw new NetworkException("node " + expected.shortId() + " at " + address + " did not answer its health "
                    + "check: " + e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
                    : " (" + e.getStatus().getDescription() + ")"), e);
        } finally {
            channel.shutdownNow();
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
