package dev.depin.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The network path pays like the local one: jobs over loopback mutual TLS through
 * {@link GrpcNetwork}, escrowed in a real SQLite ledger, settled exactly once, the lying
 * provider slashed, and the ledger balanced at the end.
 */
class RemoteEscrowTest {
    private static final long SEED = 20261128L;

    @Test
    void remoteJobs_areEscrowedSettledAndTheLiarSlashed(@TempDir Path dir) throws Exception {
        System.out.println("RemoteEscrowTest seed = " + SEED);
        AccountId buyer = AccountId.of("buyer:remote");
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate(), NodeKeyPair.generate());
        List<ProviderNode> nodes = new ArrayList<>();
        // Node 0 is the cheaper one and lies about every result; node 1 is honest.
        nodes.add(ProviderNode.builder(keys.get(0), new CorruptingExecutor(new CpuExecutor(1),
                CorruptingExecutor.addOneToMiddleElement())).price(new Price(MicroUsd.ofMicros(1_000),
                MicroUsd.ofMicros(1_000))).build());
        nodes.add(ProviderNode.builder(keys.get(1), new CpuExecutor(1)).price(new Price(MicroUsd.ofMicros(10_000),
                MicroUsd.ofMicros(1_000))).build());
        try (JdbcLedger ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"))) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("10"))).join();
            AccountId liarStake = Escrow.stakeAccount(keys.get(0).nodeId());
            ledger.open(liarStake, AccountKind.STAKE, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("stake"), liarStake, MicroUsd.ofUsd("1"))).join();
            SplittableRandom rnd = new SplittableRandom(SEED);
            List<JobHandle> handles = new ArrayList<>();
            try (Loopback net = new Loopback(nodes, keys);
                 DepinClient client = DepinClient.builder(net).maxAttempts(3).banAfterDisputes(0)
                         .escrow(Escrow.builder(ledger, buyer).build()).build()) {
                for (int n : new int[] {1, 2, 17, 1000}) {
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) {
                        x[i] = rnd.nextInt(-50, 51);
                    }
                    handles.add(client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2)
                            .input("x", x).input("y", x).verification(VerificationPolicy.spotCheck(1.0))
                            .maxPrice(MicroUsd.ofMicros(20_000)).timeout(Duration.ofSeconds(60)).build()));
                }
                long paid = 0;
                for (JobHandle h : handles) {
                    JobResult r = h.result();
                    assertEquals(JobState.SETTLED, h.state());
                    assertEquals(keys.get(1).nodeId(), r.provider(), "the liar is caught every time");
                    assertEquals(1, r.disputes().size());
                    assertEquals(200_000, r.settlement().slashed().micros(), "10 x the $0.02 hold");
                    paid += r.cost().micros();
                }
                client.close();
                assertEquals(paid, ledger.balance(Escrow.providerAccount(keys.get(1).nodeId())).posted());
                assertEquals(0, ledger.balance(Escrow.providerAccount(keys.get(0).nodeId())).posted());
                assertEquals(1_000_000 - 4 * 200_000, ledger.balance(liarStake).posted());
                assertEquals(10_000_000 - paid + 4 * 100_000, ledger.balance(buyer).posted(),
                        "the buyer paid the honest provider and got half of each slash");
            }
            long sum = 0;
            for (Balance b : ledger.balances()) {
                sum += b.posted();
                assertEquals(0, b.held(), b.toString());
            }
            assertEquals(0, sum);
            assertTrue(ledger.openHolds().isEmpty());
        }
    }

    /**
     * A private network over gRPC: the certificate travels in Start, a paid job runs, and a job
     * without one is refused (PERMISSION_DENIED) before its inputs are taken, without running.
     */
    @Test
    void privateNetwork_runsCertifiedJobsAndRefusesOthersAtStart(@TempDir Path dir) throws Exception {
        AccountId buyer = AccountId.of("buyer:private");
        NodeKeyPair ledgerKey = NodeKeyPair.generate();
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate());
        List<ProviderNode> nodes = List.of(ProviderNode.builder(keys.get(0), new CpuExecutor(1))
                .requireHoldCertificates(ledgerKey.publicKey()).build());
        Job.Builder job = Job.builder(BuiltinKernel.SAXPY).param("n", 3).param("alpha", 2)
                .input("x", new float[] {1, 2, 3}).input("y", new float[] {1, 1, 1})
                .maxPrice(MicroUsd.ofMicros(20_000)).timeout(Duration.ofSeconds(60));
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(ledgerKey).open();
             Loopback net = new Loopback(nodes, keys)) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1"))).join();
            try (DepinClient paying = DepinClient.builder(net).escrow(Escrow.builder(ledger, buyer).build()).build()) {
                JobHandle h = paying.submit(job.build());
                h.result();
                assertEquals(JobState.SETTLED, h.state());
            }
            try (DepinClient free = DepinClient.builder(net).maxAttempts(1).build()) {
                dev.depin.job.JobFailedException e = org.junit.jupiter.api.Assertions.assertThrows(
                        dev.depin.job.JobFailedException.class, () -> free.submit(job.build()).result());
                assertTrue(e.getMessage().contains("PERMISSION_DENIED") && e.getMessage().contains(
                        "runs only jobs whose money is held: send the hold certificate of ledger "
                                + ledgerKey.nodeId().shortId()), e.getMessage());
            }
            assertEquals(1, nodes.get(0).completedCount(), "only the paid job ran");
            assertTrue(ledger.openHolds().isEmpty());
        }
    }
}
