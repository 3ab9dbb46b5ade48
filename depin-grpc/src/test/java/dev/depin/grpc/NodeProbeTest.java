package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.network.NetworkException;
import dev.depin.node.ProviderNode;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The node's health check as a container or operator runs it: the pinned key answers, any other key or no node fails. */
class NodeProbeTest {
    @Test
    void health_answersForThePinnedKeyOnly() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        try (ProviderServer server = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1)).build(), key)
                .start()) {
            assertEquals(key.nodeId(), NodeProbe.health(server.address(), key.publicKey(), Duration.ofSeconds(20)));
            NetworkException other = assertThrows(NetworkException.class, () -> NodeProbe.health(server.address(),
                    NodeKeyPair.generate().publicKey(), Duration.ofSeconds(20)));
            assertTrue(other.getMessage().contains("did not answer its health check: UNAVAILABLE"), other.getMessage());
        }
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        NetworkException gone = assertThrows(NetworkException.class, () -> NodeProbe.health("127.0.0.1:" + closedPort,
                key.publicKey(), Duration.ofSeconds(20)));
        assertTrue(gone.getMessage().contains("did not answer its health check: UNAVAILABLE"), gone.getMessage());
    }
}
