package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A whole network on loopback: one directory, a {@link ProviderServer} per node (each listed
 * before this returns), and the buyer's {@link GrpcNetwork}; every call goes through the
 * GrpcNetwork over mutual TLS. Closing it closes the buyer's network first, then the
 * servers (and so the nodes), then the directory.
 */
final class Loopback implements ComputeNetwork {
    final DirectoryServer directory;
    final List<ProviderServer> servers = new ArrayList<>();
    final GrpcNetwork network;

    Loopback(List<ProviderNode> nodes, List<NodeKeyPair> keys) {
        directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
        for (int i = 0; i < nodes.size(); i++) {
            ProviderServer s = ProviderServer.builder(nodes.get(i), keys.get(i)).listen("127.0.0.1", 0)
                    .directory(directory.address(), directory.publicKey()).renewEvery(Duration.ofSeconds(5)).start();
            s.renewNow();
            servers.add(s);
        }
        network = GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).build();
    }

    @Override
    public String name() {
        return network.name();
    }

    @Override
    public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
        return network.offers(query);
    }

    @Override
    public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
        return network.dispatch(offer, request, progress);
    }

    @Override
    public void close() {
        network.close();
        servers.forEach(ProviderServer::close);
        directory.close();
    }
}
