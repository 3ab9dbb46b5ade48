package dev.depin.grpc;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.executor.CpuExecutor;
import dev.depin.node.ProviderNode;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A private provider in a JVM of its own that claims through a {@link ClaimAgent} with a
 * journal, for the kill test of a node mid-claim: prints {@code PAID hold} once an attempt is in
 * the journal, and {@code LISTENING host:port} once it serves.
 */
final class ClaimingNodeProcess {
    private ClaimingNodeProcess() {
    }

    /**
     * @param args the directory's host:port, the node key's seed in hex, the settlement service's
     *             host:port, its key in hex, the journal's path, and the claim delay in milliseconds
     * @throws InterruptedException never in practice: the process is killed
     */
    public static void main(String[] args) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(args[1]));
        NodePublicKey ledgerKey = NodePublicKey.of(Hex.decode(args[3]));
        RemoteSettlement ledger = RemoteSettlement.builder(key, args[2], ledgerKey).connect();
        ClaimAgent agent = ClaimAgent.builder(ledger).delay(Duration.ofMillis(Long.parseLong(args[5])))
                .journal(Path.of(args[4])).build();
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).requireHoldCertificates(ledgerKey)
                .onPaidAttempt(a -> {
                    agent.accept(a);
                    synchronized (System.out) {
                        System.out.println("PAID " + a.certificate().hold());
                        System.out.flush();
                    }
                }).build();
        ProviderServer server = ProviderServer.builder(node, key).directory(args[0]).start();
        server.renewNow();
        System.out.println("LISTENING " + server.address());
        System.out.flush();
        server.awaitTermination();
    }
}
