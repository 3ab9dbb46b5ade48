package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.network.NetworkContractTest;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.node.ProviderNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The network contract, run against {@link GrpcNetwork}: the same provider nodes as the
 * in-process suite, each behind its own {@link ProviderServer} on a loopback port, found
 * through a {@link DirectoryServer}, every byte over mutual TLS 1.3.
 */
class GrpcNetworkContractTest extends NetworkContractTest {
    @Override
    protected ComputeNetwork createNetwork(List<ProviderNode> nodes) {
        List<NodeKeyPair> keys = new ArrayList<>();
        for (ProviderNode n : nodes) {
            keys.add(keyOf(n));
        }
        return new Loopback(nodes, keys);
    }

    private static NodeKeyPair keyOf(ProviderNode node) {
        for (int i = 0; i < 10; i++) {
            if (key(i).nodeId().equals(node.nodeId())) {
                return key(i);
            }
        }
        throw new AssertionError("provider " + node.nodeId().shortId() + " was not built from the suite's keys");
    }
}
