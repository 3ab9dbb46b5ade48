package dev.depin.grpc;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.node.ProviderNode;

import java.time.Duration;

/**
 * A provider in a JVM of its own, for crash tests: listed in the given directory, its executor
 * blocks every job until the process dies (so a job is certainly mid-run when it is killed);
 * or, given {@code count}, runs every job and prints {@code RAN key} (a {@link FaultyExecutor}
 * key) for each run that finished, before its result is sent. Prints
 * {@code LISTENING host:port} once it serves.
 */
final class ProviderProcess {
    private ProviderProcess() {
    }

    /**
     * @param args the directory's host:port, the node key's seed in hex, and optionally
     *             {@code count} and the renewal interval in milliseconds
     * @throws InterruptedException never in practice: the process is killed
     */
    public static void main(String[] args) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(args[1]));
        boolean count = args.length > 2 && args[2].equals("count");
        DeviceExecutor executor = count ? new FaultyExecutor(new CpuExecutor(1), k -> {
            synchronized (System.out) {
                System.out.println("RAN " + k);
                System.out.flush(); // in the pipe before the result leaves, so a SIGKILL cannot lose it
            }
        }, k -> false) : new BlockingExecutor(new CpuExecutor(1));
        ProviderNode.Builder nb = ProviderNode.builder(key, executor);
        if (count) {
            nb.concurrency(4, 1024);
        }
        ProviderNode node = nb.build();
        ProviderServer.Builder b = ProviderServer.builder(node, key).directory(args[0]);
        if (args.length > 3) {
            b.renewEvery(Duration.ofMillis(Long.parseLong(args[3])));
        }
        ProviderServer server = b.start();
        server.renewNow();
        System.out.println("LISTENING " + server.address());
        System.out.flush();
        server.awaitTermination();
    }
}
