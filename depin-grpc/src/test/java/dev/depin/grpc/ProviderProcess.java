package dev.depin.grpc;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.node.ProviderNode;

/**
 * A provider in a JVM of its own, for crash tests: listed in the given directory, its executor
 * blocks every job until the process dies (so a job is certainly mid-run when it is killed).
 * Prints {@code LISTENING host:port} once it serves.
 */
final class ProviderProcess {
    private ProviderProcess() {
    }

    /**
     * @param args the directory's host:port and the node key's seed in hex
     * @throws InterruptedException never in practice: the process is killed
     */
    public static void main(String[] args) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(args[1]));
        ProviderNode node = ProviderNode.builder(key, new BlockingExecutor(new CpuExecutor(1))).build();
        ProviderServer server = ProviderServer.builder(node, key).directory(args[0]).start();
        server.renewNow();
        System.out.println("LISTENING " + server.address());
        System.out.flush();
        server.awaitTermination();
    }
}
