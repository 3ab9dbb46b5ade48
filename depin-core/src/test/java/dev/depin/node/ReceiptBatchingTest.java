package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.client.DepinClient;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.VerificationReport;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.ScriptedNetwork;
import dev.depin.verify.OfflineVerifier;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Providers that sign receipts in batches (one Ed25519 signature for many jobs): buyers
 * verify each job by inclusion in the signed batch, every binding of the single path still
 * holds, and a dispute over a batched attempt carries the batch and is re-checkable offline.
 */
class ReceiptBatchingTest {
    private static final long SEED = 0xBA7C4_2026_1128L;

    @BeforeAll
    static void seed() {
        System.out.println("ReceiptBatchingTest seed = " + SEED);
    }

    private static ProviderNode node(int i, DeviceExecutor executor, int batch) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 40);
        return ProviderNode.builder(NodeKeyPair.fromSeed(seed), executor)
                .price(new Price(MicroUsd.ofMicros(i == 0 ? 1_000 : 100_000), MicroUsd.ofMicros(1_000)))
                .concurrency(2, 4096).receiptBatching(batch).build();
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    @Test
    void batchedProviders_everyJobVerifiedByInclusion() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<ProviderNode> nodes = List.of(node(0, new CpuExecutor(1), 64), node(1, new CpuExecutor(1), 64));
        try (LocalNetwork net = LocalNetwork.of(nodes);
             DepinClient client = DepinClient.builder(net).build()) {
            List<JobHandle> handles = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                int n = 1 + rnd.nextInt(300);
                float[] x = random(rnd, n);
                float[] y = random(rnd, n);
                float[] out = new float[n];
                for (int j = 0; j < n; j++) {
                    out[j] = 3f * x[j] + y[j];
                }
                expected.add(out);
                handles.add(client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3)
                        .input("x", x).input("y", y).timeout(Duration.ofSeconds(60)).build()));
            }
            CompletableFuture.allOf(handles.stream().map(JobHandle::resultAsync).toArray(CompletableFuture[]::new))
                    .get(60, TimeUnit.SECONDS);
            Set<String> batches = new HashSet<>();
            for (int i = 0; i < handles.size(); i++) {
                JobResult r = handles.get(i).result();
                assertNotNull(r.batched(), "a batching provider sends a batched receipt");
                assertNull(r.receipt());
                assertNull(r.wipe());
                // The default policy spot-checks SAXPY: the batch proves the receipt, the sample the values.
                assertEquals(Assurance.Level.SAMPLED, r.report().assurance().level());
                assertTrue(r.report().summary().startsWith("batchSignature+wipeAttestation(batchSignature)+spotCheck(0.05)"),
                        r.report().summary());
                assertTrue(r.report().checks().stream().anyMatch(c -> c.name().equals("batchSignature")));
                float[] got = r.floats("out");
                for (int j = 0; j < got.length; j++) {
                    assertEquals(expected.get(i)[j], got[j], "job " + i + " element " + j);
                }
                batches.add(r.batched().batch().digestHex());
            }
            System.out.println("ReceiptBatchingTest: 300 jobs signed in " + batches.size() + " batch(es)");
            assertTrue(batches.size() <= handles.size());
            for (ProviderNode n : nodes) {
                assertEquals(0, n.busy());
            }
        }
    }

    @Test
    void batchedLiar_disputedWithTheBatchAndUpheldOffline() {
        List<ProviderNode> nodes = List.of(
                node(0, new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement()), 16),
                node(1, new CpuExecutor(1), 16));
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        Job job = Job.builder(BuiltinKernel.SGEMM).param("m", 21).param("k", 13).param("n", 17)
                .input("a", random(rnd, 21 * 13)).input("b", random(rnd, 13 * 17))
                .verification(VerificationPolicy.freivalds(20)).timeout(Duration.ofSeconds(60)).build();
        try (LocalNetwork net = LocalNetwork.of(nodes);
             DepinClient client = DepinClient.builder(net).build()) {
            JobHandle h = client.submit(job);
            JobResult r = h.result();
            assertEquals(nodes.get(1).nodeId(), r.provider(), "the honest provider delivered");
            assertTrue(h.events().stream().anyMatch(e -> e.attemptState() == AttemptState.DISPUTED));
            assertEquals(1, r.disputes().size());
            DisputeRecord d = r.disputes().get(0);
            assertEquals(Reason.RESULT_MISMATCH, d.reason());
            assertNotNull(d.batched(), "the dispute carries the signed batch and the statements");
            assertNull(d.receipt());
            VerificationReport upheld = OfflineVerifier.recheck(d, job.inputs(), d.outputs());
            assertTrue(upheld.checks().stream().anyMatch(c -> c.name().equals("dispute upheld")));
            assertTrue(upheld.checks().stream().anyMatch(c -> c.name().equals("batch inclusion")));
            DisputeRecord back = DisputeRecord.fromJson(d.toJson());
            assertEquals(d, back);
            OfflineVerifier.recheck(back, job.inputs(), d.outputs());
        }
    }

    @Test
    void batchedBytesAlteredInTransit_outputRootMismatch() {
        List<ProviderNode> nodes = List.of(node(0, new CpuExecutor(1), 8), node(1, new CpuExecutor(1), 8));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.TAMPER_RESPONSE)
                .tamperResponses(resp -> {
                    ByteBuffer c = resp.outputBytes().get("sum");
                    ByteBuffer flipped = ByteBuffer.allocate(c.remaining());
                    flipped.put(c).flip();
                    flipped.put(0, (byte) (flipped.get(0) ^ 0x01));
                    return ScriptedNetwork.withOutputs(resp, Map.of("sum", flipped));
                });
        try (net; DepinClient client = DepinClient.builder(net).build()) {
            JobHandle h = client.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 3)
                    .input("x", new float[] {1, 2, 3}).timeout(Duration.ofSeconds(60)).build());
            JobResult r = h.result();
            assertEquals(nodes.get(1).nodeId(), r.provider());
            assertEquals(Reason.OUTPUT_ROOT_MISMATCH, r.disputes().get(0).reason());
            assertEquals(6f, r.floats("sum")[0]);
        }
    }

    @Test
    void receiptBatching_badSizeRejected() {
        ProviderNode.Builder b = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1));
        for (int bad : new int[] {1, -1, 65_537}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> b.receiptBatching(bad));
            assertTrue(e.getMessage().contains("give 2 to 65536, or 0"), e.getMessage());
        }
        b.receiptBatching(0).build().close();
    }
}
