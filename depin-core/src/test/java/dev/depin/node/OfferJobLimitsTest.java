package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.ScriptedNetwork;
import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.JobLimits;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A node's signed offer states the largest job it takes ({@link JobLimits}), and buyers place
 * jobs only where they fit: a too-large job is never sent to a node that would refuse it at
 * admission, and when no offer takes it the job is rejected with each offer's limit.
 */
class OfferJobLimitsTest {
    private static final long SEED = 0x11_2026_1205L;

    @BeforeAll
    static void seed() {
        System.out.println("OfferJobLimitsTest seed = " + SEED);
    }

    private static ProviderNode node(int i, long priceMicros, long maxOut, long maxJob) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 90);
        return ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(priceMicros), MicroUsd.ofMicros(1_000)))
                .jobLimits(maxOut, maxJob).build();
    }

    private static String json(ProviderOffer o) {
        return new String(o.toJson(), StandardCharsets.UTF_8);
    }

    private static ProviderOffer read(String json) {
        return ProviderOffer.fromJson(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void nodeOffer_statesItsLimits_signedAndReadBack() {
        try (ProviderNode n = node(0, 1_000, 4096, 1 << 20)) {
            ProviderOffer offer = n.offer();
            assertEquals(new JobLimits(4096, 1 << 20), offer.terms().limits());
            String json = json(offer);
            assertTrue(json.contains("\"limits\":{\"maxJobBytes\":1048576,\"maxOutputBytes\":4096}"), json);
            ProviderOffer back = read(json);
            back.verify(Instant.now());
            assertEquals(offer.terms(), back.terms());
            // Signed: a buyer cannot be told a larger limit than the node signed.
            ProviderOffer inflated = read(json.replace("\"maxOutputBytes\":4096", "\"maxOutputBytes\":8192"));
            assertThrows(InvalidOfferException.class, () -> inflated.verify(Instant.now()));
        }
    }

    @Test
    void termsWithoutLimits_signTheBytesTheyAlwaysDid() {
        try (ProviderNode n = node(1, 1_000, 4096, 1 << 20)) {
            OfferTerms stated = n.offer().terms();
            OfferTerms unstated = stated.withLimits(null);
            assertFalse(json(ProviderOffer.sign(NodeKeyPair.fromSeed(new byte[32]), unstated)).contains("limits"));
            assertEquals(unstated, new OfferTerms(stated.endpoint(), stated.devices(), stated.region(), stated.kernels(),
                    stated.price(), stated.stake(), stated.validUntil(), stated.sla(), stated.inputCacheBytes()));
            assertTrue(unstated.jobLimits().isEmpty());
        }
    }

    @Test
    void malformedLimits_refusedWithWhatIsWrong() {
        try (ProviderNode n = node(2, 1_000, 4096, 1 << 20)) {
            String json = json(n.offer());
            String limits = "\"limits\":{\"maxJobBytes\":1048576,\"maxOutputBytes\":4096}";
            assertEquals("offer limits are invalid: job limits of 4096 output bytes and 1024 bytes in all: give 1 <= "
                    + "output <= all", assertThrows(InvalidOfferException.class, () -> read(json.replace(limits,
                    "\"limits\":{\"maxJobBytes\":1024,\"maxOutputBytes\":4096}"))).getMessage());
            assertEquals("offer limits are invalid: job limits of 0 output bytes and 1048576 bytes in all: give 1 <= "
                    + "output <= all", assertThrows(InvalidOfferException.class, () -> read(json.replace(limits,
                    "\"limits\":{\"maxJobBytes\":1048576,\"maxOutputBytes\":0}"))).getMessage());
            String extra = assertThrows(InvalidOfferException.class, () -> read(json.replace(limits,
                    "\"limits\":{\"maxJobBytes\":1048576,\"maxOutputBytes\":4096,\"maxGpuBytes\":1}"))).getMessage();
            assertTrue(extra.contains("offer limits") && extra.contains("maxGpuBytes"), extra);
            String missing = assertThrows(InvalidOfferException.class, () -> read(json.replace(limits,
                    "\"limits\":{\"maxJobBytes\":1048576}"))).getMessage();
            assertTrue(missing.contains("offer limits") && missing.contains("maxOutputBytes"), missing);
            String notObject = assertThrows(InvalidOfferException.class, () -> read(json.replace(limits,
                    "\"limits\":7"))).getMessage();
            assertTrue(notObject.contains("offer limits"), notObject);
        }
        assertEquals("job limits of 5 output bytes and 4 bytes in all: give 1 <= output <= all",
                assertThrows(InvalidArgumentException.class, () -> new JobLimits(5, 4)).getMessage());
    }

    @Test
    void largeJob_placedOnlyWhereItFits_smallJobsOnTheCheapestNode() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        // The cheap node takes at most 1 KiB of output and 3 KiB in all; the dear one 1 MiB.
        List<ProviderNode> nodes = List.of(node(3, 1_000, 1024, 3072), node(4, 50_000, 1 << 20, 1 << 20));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        try (DepinClient client = DepinClient.builder(net).build()) {
            for (int round = 0; round < 12; round++) {
                // Awkward sizes both sides of the cheap node's limit: 256 floats = 1 KiB of output.
                int n = round % 2 == 0 ? 1 + rnd.nextInt(256) : 257 + rnd.nextInt(4000);
                float[] x = new float[n];
                float[] y = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) rnd.nextDouble(-1, 1);
                    y[i] = (float) rnd.nextDouble(-1, 1);
                }
                Job job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f).input("x", x)
                        .input("y", y).maxPrice(MicroUsd.ofMicros(1_000_000)).build();
                JobResult r = client.submit(job).result();
                boolean fitsCheap = 4L * n <= 1024 && 12L * n <= 3072;
                assertEquals(nodes.get(fitsCheap ? 0 : 1).nodeId(), r.provider(), "n = " + n);
                assertEquals(1, r.attempt(), "n = " + n + ": placed where it fits, never refused first");
                float[] out = r.floats("out");
                for (int i = 0; i < n; i++) {
                    assertEquals(2f * x[i] + y[i], out[i], 0f, "n = " + n + ", i = " + i);
                }
            }
            assertEquals(0, nodes.get(0).failedCount() + nodes.get(1).failedCount());
        }
    }

    @Test
    void jobLargerThanEveryOffer_rejectedWithEachLimit() {
        List<ProviderNode> nodes = List.of(node(5, 1_000, 1024, 4096), node(6, 2_000, 2048, 2048));
        try (DepinClient client = DepinClient.builder(new ScriptedNetwork(LocalNetwork.of(nodes))).build()) {
            int n = 1000; // 4000 output bytes, 12000 in all
            Job job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 1f).input("x", new float[n])
                    .input("y", new float[n]).build();
            JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
            assertEquals(JobState.REJECTED, e.finalState());
            assertTrue(e.getMessage().contains(nodes.get(0).nodeId().shortId()
                    + " takes at most 1024 output bytes per job, this one declares 4000"), e.getMessage());
            assertTrue(e.getMessage().contains(nodes.get(1).nodeId().shortId()
                    + " takes at most 2048 output bytes per job, this one declares 4000"), e.getMessage());
            assertEquals(NoMatchingOfferException.class, e.getSuppressed()[0].getClass());
            assertEquals(0, nodes.get(0).completedCount() + nodes.get(1).completedCount());
        }
    }
}
