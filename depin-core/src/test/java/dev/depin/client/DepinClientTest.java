package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.LocalNetwork;
import dev.depin.network.ScriptedNetwork;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The buyer's client against a real local network of CPU providers, with faults scripted
 * in front of some of them.
 */
class DepinClientTest {
    private static final long SEED = 20261125L;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void seed() {
        System.out.println("DepinClientTest seed = " + SEED);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /**
     * Providers 0..n-1 with prices ten times apart, so that the ranking cannot flip on the
     * noise in each CPU executor's measured rate: provider 0 is the cheapest.
     */
    private List<ProviderNode> nodes(int n, String... regions) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 1);
            nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1))
                    .region(Region.parse(regions.length > i ? regions[i] : "US/iad-1"))
                    .price(new Price(MicroUsd.ofMicros((long) Math.pow(10, 3 + i)), MicroUsd.ofMicros(10_000)))
                    .build());
        }
        return nodes;
    }

    private DepinClient client(ScriptedNetwork net, int attempts, Duration attemptTimeout) {
        DepinClient c = DepinClient.builder(net).maxAttempts(attempts).attemptTimeout(attemptTimeout).build();
        open.add(net);
        open.add(c);
        return c;
    }

    private static Job sgemm(SplittableRandom rnd, int m, int k, int n) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                .input("a", random(rnd, m * k)).input("b", random(rnd, k * n))
                .maxPrice(MicroUsd.ofUsd("0.01")).timeout(Duration.ofSeconds(30)).build();
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static List<JobState> states(JobHandle h) {
        return h.events().stream().map(JobEvent::state).toList();
    }

    @Test
    void submit_runsOnCheapestAndReturnsCorrectProduct() {
        List<ProviderNode> nodes = nodes(3);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        Job job = Job.builder(BuiltinKernel.SGEMM).param("m", 2).param("k", 3).param("n", 2)
                .input("a", new float[] {1, 2, 3, 4, 5, 6}).input("b", new float[] {7, 8, 9, 10, 11, 12})
                .maxPrice(MicroUsd.ofUsd("0.01")).build();
        JobHandle h = client.submit(job);
        JobResult r = h.result();
        assertArrayEquals(new float[] {58, 64, 139, 154}, r.floats("c"));
        assertEquals(nodes.get(0).nodeId(), r.provider());
        assertEquals(1, r.attempt());
        assertEquals(List.of(JobState.SUBMITTED, JobState.MATCHED, JobState.DISPATCHED, JobState.RUNNING,
                JobState.RETURNED, JobState.VERIFIED), states(h));
        assertEquals(JobState.VERIFIED, h.state());
        assertEquals(job.spec().hash(), r.specHash());
        assertTrue(r.cost().micros() >= 1 && r.cost().compareTo(job.spec().maxPrice()) <= 0, r.cost().toString());
        assertEquals("cpu", r.executorKind());
        assertTrue(client.reputation(r.provider()) > 0.5);
        assertEquals(1, client.history(r.provider())[0]);
    }

    @Test
    void submit_refusingProviderIsRescheduledElsewhere() {
        List<ProviderNode> nodes = nodes(3);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.REFUSE);
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 5, 7, 3));
        JobResult r = h.result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        assertEquals(2, r.attempt());
        List<JobState> s = states(h);
        assertTrue(s.containsAll(List.of(JobState.FAILED, JobState.RESCHEDULED)), s.toString());
        JobEvent failed = h.events().stream().filter(e -> e.state() == JobState.FAILED).findFirst().orElseThrow();
        assertTrue(failed.detail().contains("connection refused"), failed.detail());
        assertEquals(nodes.get(0).nodeId(), failed.provider());
        assertEquals(1, client.history(nodes.get(0).nodeId())[1]);
    }

    @Test
    void submit_adapterThrowingFromDispatchLosesNoJob() {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.THROW);
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 3, 3, 3)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        JobEvent failed = r.history().stream().filter(e -> e.state() == JobState.FAILED).findFirst().orElseThrow();
        assertTrue(failed.detail().contains("adapter bug"), failed.detail());
    }

    @Test
    void submit_silentProviderTimesOutAndIsRescheduled() {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.HANG);
        DepinClient client = client(net, 2, Duration.ofSeconds(2));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 3, 3, 3)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        JobEvent failed = r.history().stream().filter(e -> e.state() == JobState.FAILED).findFirst().orElseThrow();
        assertTrue(failed.detail().startsWith("no answer within"), failed.detail());
    }

    @Test
    void submit_outputNotMatchingReceiptIsDisputed() {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.TAMPER_RESPONSE)
                .tamperResponses(resp -> new ExecutionResponse(resp.jobId(), resp.attempt(), resp.provider(),
                        resp.executorKind(), Map.of("c", ByteBuffer.allocate(4)), resp.startedAt(), resp.endedAt(),
                        resp.deviceNanos(), resp.receipt(), resp.wipe()));
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 4, 4, 4)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        JobEvent disputed = r.history().stream().filter(e -> e.state() == JobState.DISPUTED).findFirst()
                .orElseThrow();
        assertTrue(disputed.detail().startsWith("OUTPUT_SIZE_MISMATCH"), disputed.detail());
        assertEquals(1, r.disputes().size());
    }

    @Test
    void submit_allAttemptsFail() {
        List<ProviderNode> nodes = nodes(3);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        nodes.forEach(n -> net.fault(n.nodeId(), ScriptedNetwork.Fault.REFUSE));
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        JobFailedException e = assertThrows(JobFailedException.class, h::result);
        assertEquals(JobState.FAILED, e.finalState());
        assertTrue(e.getMessage().contains("all 2 round(s) failed"), e.getMessage());
        assertEquals(JobState.FAILED, h.state());
        String history = e.history().toString();
        assertEquals(1, net.dispatches(nodes.get(0).nodeId()), history);
        assertEquals(1, net.dispatches(nodes.get(1).nodeId()), history);
        assertEquals(0, net.dispatches(nodes.get(2).nodeId()), history);
    }

    @Test
    void submit_noOfferFitsIsRejectedWithReasons() {
        List<ProviderNode> nodes = nodes(2, "US/iad-1", "JP/tyo-1");
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 3).input("x", new float[] {1, 2, 3})
                .requirements(Requirements.builder().regions(Region.parse("DE")).build()).build();
        JobHandle h = client.submit(job);
        JobFailedException e = assertThrows(JobFailedException.class, h::result);
        assertEquals(JobState.REJECTED, e.finalState());
        assertTrue(e.getMessage().contains("region US/iad-1 not in [DE]"), e.getMessage());
        assertTrue(e.getMessage().contains("region JP/tyo-1 not in [DE]"), e.getMessage());
        assertEquals(NoMatchingOfferException.class, e.getSuppressed()[0].getClass());
        assertEquals(List.of(JobState.SUBMITTED, JobState.REJECTED), states(h));
    }

    @Test
    void submit_regionRequirementPicksAdmittedProvider() {
        List<ProviderNode> nodes = nodes(3, "US/iad-1", "DE/fra-1", "DE/ber-1");
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 3).input("x", new float[] {1, 2, 3})
                .requirements(Requirements.builder().regions(Region.parse("DE/ber-1")).build()).build();
        JobResult r = client.submit(job).result();
        assertEquals(nodes.get(2).nodeId(), r.provider());
        assertEquals(6f, r.floats("sum")[0]);
    }

    @Test
    void submit_priceCapExcludesExpensiveData() {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        // 3 × 4 MiB moved at 10,000 micro-USD per GB is about 126 micro-USD: above a 100 micro-USD cap.
        int n = 1 << 20;
        Job job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f)
                .input("x", new float[n]).input("y", new float[n]).maxPrice(MicroUsd.ofMicros(100)).build();
        JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
        assertEquals(JobState.REJECTED, e.finalState());
        assertTrue(e.getMessage().contains("above max $0.000100"), e.getMessage());
    }

    @Test
    void submit_pastDeadlineIsRejectedWithoutDispatch() {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[] {1})
                .deadline(Instant.now().minusSeconds(1)).build();
        JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
        assertEquals(JobState.REJECTED, e.finalState());
        assertTrue(e.getMessage().contains("had already passed when the job was submitted"), e.getMessage());
        assertEquals(0, net.dispatches(nodes.get(0).nodeId()));
    }

    @Test
    void submit_kindRequirementExcludesCpu() {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(2)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[] {1})
                .requirements(Requirements.builder().deviceKinds(DeviceKind.CUDA).build()).build();
        JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
        assertTrue(e.getMessage().contains("of kind [CUDA]"), e.getMessage());
    }

    @Test
    void submit_forgedOrExpiredOffersAreNeverUsed() {
        List<ProviderNode> nodes = nodes(3);
        NodeKeyPair mallory = NodeKeyPair.fromSeed(new byte[32]);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes)).tamperOffers(offers -> {
            List<ProviderOffer> out = new ArrayList<>();
            ProviderOffer cheapest = offers.get(0);
            OfferTerms t = cheapest.terms();
            // Cheapest offer with its price lowered after signing: signature no longer covers it.
            OfferTerms cheaper = new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(),
                    new Price(MicroUsd.ZERO, MicroUsd.ZERO), t.stake(), t.validUntil());
            out.add(new ProviderOffer(cheapest.nodeId(), cheapest.publicKey(), cheaper, cheapest.signature()));
            // Second provider's offer re-signed by its own key but already expired.
            ProviderOffer second = offers.get(1);
            OfferTerms s = second.terms();
            out.add(new ProviderOffer(second.nodeId(), second.publicKey(), new OfferTerms(s.endpoint(), s.devices(),
                    s.region(), s.kernels(), s.price(), s.stake(), Instant.now().minusSeconds(1)),
                    dev.depin.crypto.Envelope.sign(ProviderOffer.PAYLOAD_TYPE, new byte[0], mallory)
                            .signatures().get(0).sig()));
            out.add(offers.get(2));
            return out;
        });
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 3, 2, 3)).result();
        assertEquals(nodes.get(2).nodeId(), r.provider());
        assertEquals(0, net.dispatches(nodes.get(0).nodeId()));
        assertEquals(0, net.dispatches(nodes.get(1).nodeId()));
    }

    @Test
    void cancel_beforeResult() throws Exception {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.HANG);
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        while (h.state() != JobState.DISPATCHED) {
            Thread.sleep(5);
        }
        assertTrue(h.cancelAsync().get(1, TimeUnit.SECONDS));
        assertFalse(h.cancelAsync().get(1, TimeUnit.SECONDS));
        assertThrows(CancellationException.class, h::result);
        assertEquals(JobState.CANCELLED, h.state());
    }

    @Test
    void cancel_afterResultReturnsFalse() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        h.result();
        assertFalse(h.cancelAsync().get(1, TimeUnit.SECONDS));
        assertEquals(JobState.VERIFIED, h.state());
    }

    @Test
    void submit_manyConcurrentJobsAllCorrect() {
        List<ProviderNode> nodes = nodes(3);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, 3, Duration.ofSeconds(30));
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<JobHandle> handles = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            int n = 1 + rnd.nextInt(5000);
            float[] x = random(rnd, n);
            double sum = 0;
            for (float v : x) {
                sum += v;
            }
            expected.add(new float[] {(float) sum});
            handles.add(client.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x).build()));
        }
        CompletableFuture.allOf(handles.stream().map(JobHandle::resultAsync).toArray(CompletableFuture[]::new)).join();
        for (int i = 0; i < handles.size(); i++) {
            assertEquals(expected.get(i)[0], handles.get(i).result().floats("sum")[0], Math.ulp(expected.get(i)[0]),
                    "job " + i);
        }
        long used = handles.stream().map(h -> h.result().provider()).distinct().count();
        assertTrue(used >= 1);
    }

    @Test
    void onEvent_replaysPastEventsInOrder() {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        h.result();
        List<JobEvent> seen = new ArrayList<>();
        h.onEvent(seen::add);
        assertEquals(h.events(), seen);
        assertThrows(InvalidArgumentException.class, () -> h.onEvent(null));
    }

    @Test
    void submit_badArguments() {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> client.submit(null));
        assertEquals("job is null: pass a value", e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> DepinClient.builder(null));
        assertThrows(InvalidArgumentException.class, () -> DepinClient.builder(net).maxAttempts(0));
        assertThrows(InvalidArgumentException.class, () -> DepinClient.builder(net).attemptTimeout(Duration.ZERO));
        client.close();
        DepinException closed = assertThrows(DepinException.class,
                () -> client.submit(sgemm(new SplittableRandom(SEED), 1, 1, 1)));
        assertTrue(closed.getMessage().contains("client is closed"), closed.getMessage());
    }
}
