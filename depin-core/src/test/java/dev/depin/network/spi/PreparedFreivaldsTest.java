package dev.depin.network.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.client.internal.AttemptVerifier;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.VerificationReport;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.verify.OfflineVerifier;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The buyer's Freivalds check prepared before dispatch (A·B side in the background, C summed
 * through an {@link ArrivalTaps} tap as it arrives): it runs on every returned SGEMM result,
 * catches a wrong element as the one-shot check does, and leaves no tap behind.
 */
class PreparedFreivaldsTest {
    private static final long SEED = 0x9E3D_F4E1L;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void seed() {
        System.out.println("PreparedFreivaldsTest seed = " + SEED);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Two providers; provider 0 is much cheaper and, when {@code corrupt} is given, lies with it. */
    private List<ProviderNode> nodes(BiConsumer<String, ByteBuffer> corrupt) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 40);
            DeviceExecutor executor = new CpuExecutor(1);
            if (i == 0 && corrupt != null) {
                executor = new CorruptingExecutor(executor, corrupt);
            }
            ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), executor)
                    .price(new Price(MicroUsd.ofMicros(i == 0 ? 1_000 : 100_000), MicroUsd.ofMicros(1_000))).build();
            nodes.add(node);
        }
        return nodes;
    }

    private DepinClient client(List<ProviderNode> nodes) {
        LocalNetwork net = LocalNetwork.of(nodes);
        DepinClient c = DepinClient.builder(net).maxAttempts(2).build();
        open.add(net);
        open.add(c);
        return c;
    }

    private static Job sgemm(int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(SEED + m * 31L + k * 7L + n);
        return Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                .input("a", random(rnd, m * k)).input("b", random(rnd, k * n))
                .verification(VerificationPolicy.freivalds(20)).timeout(Duration.ofSeconds(60)).build();
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static boolean has(VerificationReport r, String check) {
        return r.checks().stream().anyMatch(c -> c.name().equals(check) && c.passed());
    }

    private static final int[][] SHAPES = {{1, 1, 1}, {7, 5, 7}, {3, 9, 1023}, {1023, 2, 3}, {257, 3, 65}};

    @Test
    void submit_returnedProduct_checkedPrepared() {
        int before = ArrivalTaps.pending();   // taps are global: other tests in this JVM count too
        DepinClient client = client(nodes(null));
        for (int[] s : SHAPES) {
            JobResult r = client.submit(sgemm(s[0], s[1], s[2])).result();
            String shape = s[0] + "x" + s[1] + "x" + s[2];
            assertTrue(has(r.report(), "freivalds"), shape + ": " + r.report());
            assertTrue(has(r.report(), AttemptVerifier.PREPARED_CHECK), shape + ": " + r.report());
            assertEquals(1, r.attempt(), shape);
        }
        assertEquals(before, ArrivalTaps.pending(), "every attempt's tap was taken by its assembler");
    }

    @Test
    void submit_oneWrongElement_caughtOnArrivalAndUpheldOffline() {
        int before = ArrivalTaps.pending();
        for (int[] s : SHAPES) {
            // A fresh client per job: one that caught the liar would not try it again.
            List<ProviderNode> nodes = nodes(CorruptingExecutor.addOneToMiddleElement());
            DepinClient client = client(nodes);
            Job job = sgemm(s[0], s[1], s[2]);
            String shape = s[0] + "x" + s[1] + "x" + s[2];
            JobResult r = client.submit(job).result();
            assertEquals(nodes.get(1).nodeId(), r.provider(), shape + ": rescued by the honest provider");
            assertEquals(1, r.disputes().size(), shape + ": " + r.disputes());
            DisputeRecord d = r.disputes().get(0);
            assertEquals(Reason.RESULT_MISMATCH, d.reason(), shape + ": " + d.message());
            assertEquals("freivalds", d.evidence().check(), shape);
            int middle = s[0] * s[2] / 2;
            assertTrue(d.message().contains("row " + middle / s[2] + ": C[" + middle / s[2] + "][" + middle % s[2]
                    + "]"), shape + ": the evidence names the wrong element: " + d.message());
            VerificationReport upheld = OfflineVerifier.recheck(d, job.inputs(), d.outputs());
            assertTrue(has(upheld, "dispute upheld"), shape + ": " + upheld);
            assertTrue(has(r.report(), AttemptVerifier.PREPARED_CHECK), shape + ": " + r.report());
        }
        assertEquals(before, ArrivalTaps.pending());
    }

    private static ExecutionRequest request(Job job) {
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        new SplittableRandom(SEED).nextBytes(nonce);
        return new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, job.spec(), job.inputs(), nonce);
    }

    @Test
    void assembler_tapSeesEveryByteInOrder_orIsDroppedAndSaysSo() {
        int before = ArrivalTaps.pending();
        Job job = sgemm(9, 2, 1023);
        long size = 4L * 9 * 1023;
        byte[] bytes = new byte[(int) size];
        new SplittableRandom(SEED).nextBytes(bytes);
        for (int throwAt : new int[] {-1, 0, 3}) {
            ExecutionRequest req = request(job);
            ByteBuffer seen = ByteBuffer.allocate((int) size);
            int[] calls = {0};
            Consumer<ByteBuffer> tap = b -> {
                if (calls[0]++ == throwAt) {
                    throw new IllegalStateException("tap failed");
                }
                seen.put(b);
            };
            ArrivalTaps.attach(req, "c", tap);
            OutputAssembler asm = req.newAssembler();
            assertEquals(before, ArrivalTaps.pending(), "the assembler took the tap");
            SplittableRandom cut = new SplittableRandom(SEED + throwAt);
            for (int at = 0; at < size; ) {
                int len = (int) Math.min(size - at, 1 + cut.nextInt(9000));
                asm.write("c", ByteBuffer.wrap(bytes, at, len));
                at += len;
            }
            ReceivedOutput out = asm.finish().get("c");
            assertArrayEquals(Merkle.root(ByteBuffer.wrap(bytes), JobSpec.MERKLE_CHUNK_BYTES), out.merkleRoot(),
                    "a tap never changes what is received or hashed");
            if (throwAt < 0) {
                assertTrue(out.observedBy(tap));
                assertArrayEquals(bytes, seen.array());
            } else {
                assertFalse(out.observedBy(tap), "a tap that threw did not see every byte");
            }
            assertFalse(out.observedBy(null));
            assertFalse(out.observedBy((Consumer<ByteBuffer>) b -> { }));
        }
        // Taps of an attempt that never reached an assembler are detached.
        ExecutionRequest req = request(job);
        ArrivalTaps.attach(req, "c", b -> { });
        assertEquals(before + 1, ArrivalTaps.pending());
        ArrivalTaps.detach(req);
        assertEquals(before, ArrivalTaps.pending());
    }
}
