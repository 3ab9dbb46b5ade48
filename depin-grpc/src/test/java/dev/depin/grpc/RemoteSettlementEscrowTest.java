package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * A buyer that pays through the settlement service: its client's {@link Escrow} is on a
 * {@link RemoteSettlement} with a key granted only its own account, the providers are private
 * nodes that run only jobs with the service's hold certificate, and one of them lies. Every
 * honest job settles once; the liar is caught and not paid; the buyer's key may not slash (an
 * operator's), which the job's notes say; the ledger behind the service balances.
 */
class RemoteSettlementEscrowTest {
    private static final long SEED = 20261205L;

    @Test
    void buyerOnTheService_paysPrivateNodesOnceAndNeverTheLiar(@TempDir Path dir) throws Exception {
        System.out.println("RemoteSettlementEscrowTest seed = " + SEED);
        AccountId buyer = AccountId.of("buyer:remote");
        NodeKeyPair ledgerKey = NodeKeyPair.generate();
        NodeKeyPair buyerKey = NodeKeyPair.generate();
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate(), NodeKeyPair.generate());
        List<ProviderNode> nodes = new ArrayList<>();
        nodes.add(ProviderNode.builder(keys.get(0), new CorruptingExecutor(new CpuExecutor(1),
                CorruptingExecutor.addOneToMiddleElement())).price(new Price(MicroUsd.ofMicros(1_000),
                MicroUsd.ofMicros(1_000))).requireHoldCertificates(ledgerKey.publicKey()).build());
        nodes.add(ProviderNode.builder(keys.get(1), new CpuExecutor(1)).price(new Price(MicroUsd.ofMicros(10_000),
                MicroUsd.ofMicros(1_000))).requireHoldCertificates(ledgerKey.publicKey()).build());
        AccountId liar = Escrow.providerAccount(keys.get(0).nodeId());
        AccountId honest = Escrow.providerAccount(keys.get(1).nodeId());
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(ledgerKey).open();
             LedgerServer server = LedgerServer.builder(jdbc, ledgerKey, LedgerAccess.builder()
                     .grant(buyerKey.publicKey(), buyer).build()).start()) {
            // The operator's part (opening and funding accounts) is done on the ledger itself here.
            jdbc.open(buyer, AccountKind.BUYER, false).join();
            jdbc.open(liar, AccountKind.PROVIDER, false).join();
            jdbc.open(honest, AccountKind.PROVIDER, false).join();
            AccountId liarStake = Escrow.stakeAccount(keys.get(0).nodeId());
            jdbc.open(liarStake, AccountKind.STAKE, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("10"))).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("stake"), liarStake, MicroUsd.ofUsd("1"))).join();
            SplittableRandom rnd = new SplittableRandom(SEED);
            List<JobHandle> handles = new ArrayList<>();
            try (RemoteSettlement ledger = RemoteSettlement.builder(buyerKey, server.address(), ledgerKey.publicKey())
                         .callTimeout(Duration.ofSeconds(60)).connect();
                 Loopback net = new Loopback(nodes, keys);
                 DepinClient client = DepinClient.builder(net).maxAttempts(3).banAfterDisputes(0)
                         .escrow(Escrow.builder(ledger, buyer).build()).build()) {
                for (int n : new int[] {1, 17, 1000}) {
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) {
                        x[i] = rnd.nextInt(-50, 51);
                    }
                    handles.add(client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2)
                            .input("x", x).input("y", x).verification(VerificationPolicy.spotCheck(1.0))
                            .maxPrice(MicroUsd.ofMicros(20_000)).timeout(Duration.ofSeconds(120)).build()));
                }
                long paid = 0;
                for (JobHandle h : handles) {
                    JobResult r = h.result();
                    assertEquals(JobState.SETTLED, h.state());
                    assertEquals(keys.get(1).nodeId(), r.provider(), "the liar is caught every time");
                    assertEquals(1, r.disputes().size());
                    assertEquals(0, r.settlement().slashed().micros(), "a buyer's key does not slash");
                    assertTrue(r.settlement().notes().stream().anyMatch(s -> s.contains(
                            "the settlement service does not let this buyer's key slash")), r.settlement().notes().toString());
                    paid += r.cost().micros();
                }
                client.close();
                assertEquals(10_000_000 - paid, ledger.balance(buyer).posted());
                assertEquals(0, ledger.balance(buyer).held());
                assertEquals(List.of(), ledger.openHolds());
            }
            assertEquals(paid(jdbc, honest), jdbc.balance(honest).posted());
            assertEquals(0, jdbc.balance(liar).posted(), "the liar is never paid");
            assertEquals(1_000_000, jdbc.balance(liarStake).posted());
            long sum = 0;
            for (Balance b : jdbc.balances()) {
                sum += b.posted();
                assertEquals(0, b.held(), b.toString());
            }
            assertEquals(0, sum);
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
            assertEquals(3, nodes.get(1).completedCount(), "the honest node ran the three paid jobs once each");
        } finally {
            for (ProviderNode n : nodes) {
                n.close();
            }
        }
    }

    private static long paid(JdbcLedger jdbc, AccountId provider) {
        return jdbc.statement(provider).stream().mapToLong(l -> l.change()).sum();
    }
}
