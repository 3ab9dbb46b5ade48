package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.client.DepinClient;
import dev.depin.client.NoMatchingOfferException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.ProviderNode;
import dev.depin.provider.JobLimits;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A served node's signed offer never promises a job its server refuses for its size alone:
 * a server whose input budgets admit less than the node's job bytes refuses to start, saying
 * which budget and which limit to change; the defaults of both follow the same heap and fit;
 * and the largest job a fitting offer allows runs.
 */
class OfferFitsServerTest {
    private static final long SEED = 0x0FFE_2026_1206L;
    private static final long MIB = 1L << 20;

    private static NodeKeyPair key(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 40);
        return NodeKeyPair.fromSeed(seed);
    }

    @Test
    void defaults_offerTheJobsTheServerAdmits() {
        NodeKeyPair key = key(1);
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build();
        long heap = Runtime.getRuntime().maxMemory();
        try (ProviderServer server = ProviderServer.builder(node, key).start()) {
            JobLimits stated = node.offer().terms().jobLimits().orElseThrow();
            assertEquals(JobLimits.forHeap(heap), stated);
            assertEquals(ProviderServer.inputBytesPerJob(0, 0, 0), stated.maxJobBytes());
            assertEquals(stated.maxJobBytes(), server.limits().maxInputBytesPerPeer());
        }
    }

    @Test
    void forHeap_documentedFractions() {
        assertEquals(new JobLimits(32 * MIB, 64 * MIB), JobLimits.forHeap(512 * MIB));
        assertEquals(new JobLimits(512 * MIB, 1024 * MIB), JobLimits.forHeap(8L << 30));
        assertEquals(new JobLimits(512 * MIB, 1024 * MIB), JobLimits.forHeap(24L << 30));
        assertEquals(new JobLimits(1, 1), JobLimits.forHeap(8));
        assertEquals(new JobLimits(1, 1), JobLimits.ofJobBytes(1));
        assertEquals("maximum heap of 0 bytes: give at least 1",
                assertThrows(InvalidArgumentException.class, () -> JobLimits.forHeap(0)).getMessage());
        assertEquals("job limit of -1 bytes: give at least 1",
                assertThrows(InvalidArgumentException.class, () -> JobLimits.ofJobBytes(-1)).getMessage());
        // Budgets as the builder resolves them: per peer half of the whole, per address 3/4 of it.
        assertEquals(32 * MIB, ProviderServer.inputBytesPerJob(64 * MIB, 0, 0));
        assertEquals(8 * MIB, ProviderServer.inputBytesPerJob(64 * MIB, 16 * MIB, 8 * MIB));
        assertEquals(64 * MIB, ProviderServer.inputBytesPerJob(64 * MIB, 128 * MIB, 0));
        assertEquals("input budgets -1 in all, 0 per peer and 0 per address: give positive values, or 0 for a default",
                assertThrows(InvalidArgumentException.class, () -> ProviderServer.inputBytesPerJob(-1, 0, 0))
                        .getMessage());
    }

    @Test
    void offerLargerThanTheBudgets_serverRefusesToStartSayingWhatToChange() {
        NodeKeyPair key = key(2);
        try (ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).jobLimits(4 * MIB, 16 * MIB).build()) {
            String shortId = key.nodeId().shortId();
            assertEquals("provider " + shortId + " offers jobs of up to 16777216 input + output bytes, but this server "
                    + "admits at most 8388608 input bytes per job (maxInputBytesPerPeer 8388608, "
                    + "maxInputBytesPerAddress 50331648, maxInputBytes 67108864), so buyers would plan jobs it refuses: "
                    + "build the node with jobLimits of at most 8388608 job bytes, or raise the input budgets",
                    assertThrows(InvalidArgumentException.class, () -> ProviderServer.builder(node, key)
                            .maxInputBytes(64 * MIB).maxInputBytesPerPeer(8 * MIB).start()).getMessage());
            // One address below one peer: the address's budget is the bound.
            assertEquals("provider " + shortId + " offers jobs of up to 16777216 input + output bytes, but this server "
                    + "admits at most 12582912 input bytes per job (maxInputBytesPerPeer 33554432, "
                    + "maxInputBytesPerAddress 12582912, maxInputBytes 67108864), so buyers would plan jobs it refuses: "
                    + "build the node with jobLimits of at most 12582912 job bytes, or raise the input budgets",
                    assertThrows(InvalidArgumentException.class, () -> ProviderServer.builder(node, key)
                            .maxInputBytes(64 * MIB).maxInputBytesPerAddress(12 * MIB).start()).getMessage());
            assertEquals("this server would admit at most 2097152 input bytes per job (maxInputBytesPerPeer 2097152, "
                    + "maxInputBytesPerAddress 3145728, maxInputBytes 4194304), less than one Start message of 4194304 "
                    + "bytes, which may carry a job's inputs: give input budgets of at least 4 MiB per peer and per "
                    + "address", assertThrows(InvalidArgumentException.class, () -> ProviderServer.builder(node, key)
                            .maxInputBytes(4 * MIB).start()).getMessage());
            // A refused server neither started nor closed the node: it still signs offers.
            assertEquals(new JobLimits(4 * MIB, 16 * MIB), node.offer().terms().jobLimits().orElseThrow());
        }
    }

    @Test
    void largestOfferedJob_runs_oneFloatMore_isNeverSent() throws Exception {
        System.out.println("OfferFitsServerTest seed " + SEED);
        // reduce-sum: n floats in, one sum out; the offer's job bytes are exactly the per-peer budget.
        int n = (int) ((8 * MIB - sumBytes()) / Float.BYTES);
        long jobBytes = (long) n * Float.BYTES + sumBytes();
        assertEquals(8 * MIB, jobBytes);
        NodeKeyPair key = key(3);
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).jobLimits(sumBytes(), jobBytes).build();
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer server = ProviderServer.builder(node, key).maxInputBytes(16 * MIB)
                     .maxInputBytesPerPeer(8 * MIB).maxInputBytesPerAddress(8 * MIB).directory(directory.address())
                     .start();
             GrpcNetwork net = GrpcNetwork.connect(directory.address());
             DepinClient client = DepinClient.builder(net).build()) {
            server.renewNow();
            float[] x = new float[n];
            double want = 0;
            for (int i = 0; i < n; i++) {
                x[i] = rnd.nextInt(-8, 9);
                want += x[i];
            }
            JobResult r = client.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x)
                    .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90));
            assertEquals(key.nodeId(), r.provider());
            assertEquals((float) want, r.floats("sum")[0]);
            assertEquals(0, node.failedCount());

            JobFailedException bigger = assertThrows(JobFailedException.class, () -> client.submit(
                    Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n + 1).input("x", new float[n + 1])
                            .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90)));
            assertEquals(JobState.REJECTED, bigger.finalState());
            assertEquals(NoMatchingOfferException.class, bigger.getSuppressed()[0].getClass());
            assertTrue(bigger.getMessage().contains("takes at most 8388608 input + output bytes per job, this one needs "
                    + (jobBytes + Float.BYTES)), bigger.getMessage());
            assertEquals(1, node.completedCount(), "the larger job never reached the node");
        }
    }

    /** @return the output bytes reduce-sum declares */
    private static long sumBytes() {
        long out = 0;
        for (BufferDecl d : Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[1]).build()
                .spec().outputs()) {
            out += d.bytes();
        }
        return out;
    }
}
