package dev.depin.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.job.JobFailedException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Escrow;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A buyer in a JVM of its own, for the kill test of a buyer between a liar's result and its
 * dispute: pays through the settlement service with a dispute journal, submits one job that the
 * only provider (a liar) answers wrongly, and prints {@code FAILED} or {@code RESULT} when the
 * job ends; then waits to be killed. Its voids wait until the hold was claimed, so the liar's
 * claim always comes first and the engine must dispute it.
 */
final class DisputingBuyerProcess {
    private DisputingBuyerProcess() {
    }

    /**
     * @param args the directory's host:port, the buyer key's seed in hex, the settlement
     *             service's host:port, its key in hex, the buyer account, the journal directory,
     *             and the job's seed
     * @throws InterruptedException never in practice: the process is killed
     */
    public static void main(String[] args) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(args[1]));
        NodePublicKey ledgerKey = NodePublicKey.of(Hex.decode(args[3]));
        RemoteSettlement remote = RemoteSettlement.builder(key, args[2], ledgerKey).connect();
        GrpcNetwork net = GrpcNetwork.builder().directory(args[0]).offerCache(Duration.ZERO).build();
        DepinClient client = DepinClient.builder(net).maxAttempts(1).banAfterDisputes(0)
                .escrow(Escrow.builder(new VoidsAfterClaims(remote), AccountId.of(args[4]))
                        .disputeJournal(Path.of(args[5])).build()).build();
        try {
            client.submit(DisputeKillTest.job(Long.parseLong(args[6]))).result();
            System.out.println("RESULT");
        } catch (JobFailedException e) {
            System.out.println("FAILED " + e.getMessage().replace('\n', ' '));
        }
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
