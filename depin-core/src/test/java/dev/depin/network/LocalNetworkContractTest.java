package dev.depin.network;

import dev.depin.network.spi.ComputeNetwork;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.util.List;

/** The network contract, run against the in-process {@link LocalNetwork}. */
class LocalNetworkContractTest extends NetworkContractTest {
    @Override
    protected ComputeNetwork createNetwork(List<ProviderNode> nodes) {
        return LocalNetwork.of(nodes);
    }
}
