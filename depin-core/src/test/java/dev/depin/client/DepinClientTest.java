package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.AttemptState;
import dev.depin.job.Requirements;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.network.ScriptedNetwork;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.OfferTerms;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

    /** @return the job-level states, in order (attempt events left out) */
    private static List<JobState> states(JobHandle h) {
        return states(h.events());
    }

    /**
     * The job-level states, in order, without RUNNING: a provider's "running" progress is
     * asynchronous and may arrive after its answer, when it is rightly dropped. Where RUNNING
     * appears, it directly follows DISPATCHED.
     */
    static List<JobState> states(List<JobEvent> events) {
        List<JobState> all = events.stream().filter(e -> !e.isAttemptEvent()).map(JobEvent::state).toList();
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i) == JobState.RUNNING) {
                assertEquals(JobState.DISPATCHED, all.get(i - 1), all.toString());
            }
        }
        return all.stream().filter(s -> s != JobState.RUNNING).toList();
    }

    /** @return the first attempt event that ended in {@code s} */
    private static JobEvent attempt(List<JobEvent> events, AttemptState s) {
        return events.stream().filter(e -> e.attemptState() == s).findFirst()
                .orElseThrow(() -> new AssertionError("no attempt " + s + " in " + events));
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
        assertEquals(List.of(JobState.SUBMITTED, JobState.MATCHED, JobState.DISPATCHED,
                JobState.RETURNED, JobState.VERIFIED), states(h));
        assertEquals(JobState.VERIFIED, h.state());
        assertEquals(job.spec().hash(), r.specHash());
        assertTrue(r.cost().micros() >= 1 && r.cost().compareTo(job.spec().maxPrice()) <= 0, r.cost().toString());
        assertEquals("cpu", r.executorKind());
        assertTrue(client.reputation(r.provider()) > 0.5);
        assertEquals(new ProviderHistory(1, 0, 0, client.reputation(r.provider())), client.history(r.provider()));
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
        // The job goes back to MATCHED for round 2; the failure is the attempt's, not the job's.
        assertEquals(List.of(JobState.SUBMITTED, JobState.MATCHED, JobState.DISPATCHED, JobState.MATCHED,
                JobState.DISPATCHED, JobState.RETURNED, JobState.VERIFIED), states(h));
        JobEvent failed = attempt(h.events(), AttemptState.FAILED);
        assertTrue(failed.detail().contains("connection refused"), failed.detail());
        assertEquals(nodes.get(0).nodeId(), failed.provider());
        assertEquals(1, failed.attempt());
        assertEquals(1, client.history(nodes.get(0).nodeId()).failed());
    }

    @Test
    void submit_adapterThrowingFromDispatchLosesNoJob() {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.THROW);
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 3, 3, 3)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        JobEvent failed = attempt(r.history(), AttemptState.FAILED);
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
        JobEvent failed = attempt(r.history(), AttemptState.FAILED);
        assertTrue(failed.detail().startsWith("no answer within"), failed.detail());
    }

    @Test
    void submit_outputNotMatchingReceiptIsDisputed() {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.TAMPER_RESPONSE)
                .tamperResponses(resp -> ScriptedNetwork.withOutputs(resp, Map.of("c", ByteBuffer.allocate(4))));
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 4, 4, 4)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        JobEvent disputed = attempt(r.history(), AttemptState.DISPUTED);
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
        // result() rethrows on the caller's thread and keeps the reason type, as does the engine's exception.
        assertEquals(NoMatchingOfferException.class, e.getSuppressed()[0].getClass());
        assertEquals(NoMatchingOfferException.class, e.getCause().getSuppressed()[0].getClass());
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
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes)).tamperOffers(offers -> {
            List<ProviderOffer> out = new ArrayList<>();
            ProviderOffer cheapest = offers.get(0);
            OfferTerms t = cheapest.terms();
            // Cheapest offer with its price lowered after signing: signature no longer covers it.
            OfferTerms cheaper = new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(),
                    new Price(MicroUsd.ZERO, MicroUsd.ZERO), t.stake(), t.validUntil());
            out.add(new ProviderOffer(cheapest.nodeId(), cheapest.publicKey(), cheaper, cheapest.signature()));
            // Second provider's offer, already expired and with a bogus signature.
            ProviderOffer second = offers.get(1);
            OfferTerms s = second.terms();
            out.add(new ProviderOffer(second.nodeId(), second.publicKey(), new OfferTerms(s.endpoint(), s.devices(),
                    s.region(), s.kernels(), s.price(), s.stake(), Instant.now().minusSeconds(1)),
                    new byte[64]));
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
        List<JobEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        h.onEvent(seen::add);
        // Listeners run on the client's listener executor: wait (bounded) for the replay.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (seen.size() < h.events().size() && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
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

    // ------------------------------------------------------------ every job ends (issue 6 §3)

    /** A one-provider network whose answers pass through {@code tamper}; one round. */
    private JobFailedException failsWithTamperedResponse(java.util.function.UnaryOperator<ExecutionResponse> tamper)
            throws Exception {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.TAMPER_RESPONSE).tamperResponses(tamper);
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 3, 2));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.FAILED, e.finalState());
        assertEquals(JobState.FAILED, h.state());
        assertTrue(e.getMessage().startsWith("job " + h.jobId() + " failed: attempt 1 at "
                + nodes.get(0).nodeId().shortId() + ": "), e.getMessage());
        return e;
    }

    @Test
    void submit_responseWithNoOutputsEnds() throws Exception {
        JobFailedException e = failsWithTamperedResponse(r -> ScriptedNetwork.withOutputs(r, Map.of()));
        assertTrue(e.getMessage().contains(": malformed response: it carries outputs [] but the job declares ['c'] "),
                e.getMessage());
    }

    @Test
    void submit_outputNamedEmptyStringEnds() throws Exception {
        JobFailedException e = failsWithTamperedResponse(r -> ScriptedNetwork.withOutputs(r,
                Map.of("", r.outputBytes().get("c"))));
        assertTrue(e.getMessage().contains(": malformed response: it carries outputs [''] but the job declares ['c'] "),
                e.getMessage());
    }

    @Test
    void submit_responseFutureWithNullEnds() throws Exception {
        JobFailedException e = failsWithTamperedResponse(r -> null);
        assertTrue(e.getMessage().contains("no response"), e.getMessage());
    }

    @Test
    void submit_responseTamperThrowingEnds() throws Exception {
        JobFailedException e = failsWithTamperedResponse(r -> {
            throw new IllegalStateException("decoder blew up");
        });
        assertTrue(e.getMessage().contains("decoder blew up"), e.getMessage());
        assertEquals(1, count(e.getMessage(), "decoder blew up"), e.getMessage());
    }

    @Test
    void submit_offersThrowingEnds() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1))).offersCall(f -> {
            throw new IllegalStateException("directory down");
        });
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.FAILED, e.finalState());
        assertTrue(e.getMessage().startsWith("job " + h.jobId() + " failed: all 2 round(s) failed; last: could not "
                + "fetch offers from scripted: "), e.getMessage());
        assertEquals(1, count(e.getMessage(), "directory down"), e.getMessage());
    }

    @Test
    void submit_offersReturningNullFutureEnds() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1))).offersCall(f -> null);
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.FAILED, e.finalState());
        assertTrue(e.getMessage().contains("network scripted returned no future of offers"), e.getMessage());
    }

    @Test
    void submit_offersFutureOfNullEnds() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1))).tamperOffers(l -> null);
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.FAILED, e.finalState());
        assertTrue(e.getMessage().contains("the network returned null"), e.getMessage());
    }

    @Test
    void submit_nullInOfferListIsSkipped() throws Exception {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes)).tamperOffers(l -> {
            List<ProviderOffer> out = new ArrayList<>();
            out.add(null);
            out.addAll(l);
            return out;
        });
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2)).result(Duration.ofSeconds(30));
        assertEquals(nodes.get(0).nodeId(), r.provider());
    }

    @Test
    void submit_onlyNullOffersIsRejected() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1))).tamperOffers(l -> {
            List<ProviderOffer> out = new ArrayList<>();
            out.add(null);
            return out;
        });
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.REJECTED, e.finalState());
        assertTrue(e.getMessage().contains("(null offer from the network)"), e.getMessage());
    }

    @Test
    void submit_adapterReturningNullDispatchLosesNoJob() throws Exception {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.NULL_DISPATCH);
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobResult r = client.submit(sgemm(new SplittableRandom(SEED), 3, 3, 3)).result(Duration.ofSeconds(30));
        assertEquals(nodes.get(1).nodeId(), r.provider());
        JobEvent failed = attempt(r.history(), AttemptState.FAILED);
        assertEquals("network scripted returned no dispatch", failed.detail());
    }

    @Test
    void cancel_racingVerifiedAgreesWithFuture() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(2)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        SplittableRandom rnd = new SplittableRandom(SEED);
        int verified = 0;
        int cancelled = 0;
        for (int i = 0; i < 300; i++) {
            JobHandle h = client.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 4)
                    .input("x", new float[] {1, 2, 3, 4}).build());
            long spin = rnd.nextLong(0, 2_000_000);
            long until = System.nanoTime() + spin;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            boolean viaFuture = rnd.nextBoolean();
            boolean won = viaFuture ? h.resultAsync().cancel(false) : h.cancelAsync().get(10, TimeUnit.SECONDS);
            try {
                h.resultAsync().get(30, TimeUnit.SECONDS);
            } catch (CancellationException | ExecutionException e) {
                // judged below
            }
            List<JobState> s = h.events().stream().filter(e -> !e.isAttemptEvent()).map(JobEvent::state).toList();
            JobState last = s.get(s.size() - 1);
            String why = "try " + i + (viaFuture ? " via future" : " via cancelAsync") + ": " + h.events();
            assertEquals(last, h.state(), why);
            if (h.resultAsync().isCancelled()) {
                cancelled++;
                assertEquals(JobState.CANCELLED, last, why);
                assertFalse(s.contains(JobState.VERIFIED), why);
                assertTrue(won, why);
            } else {
                verified++;
                assertEquals(JobState.VERIFIED, last, why);
                assertFalse(s.contains(JobState.CANCELLED), why);
                assertFalse(won, why);
            }
        }
        System.out.println("cancel_racingVerifiedAgreesWithFuture: " + verified + " verified, " + cancelled
                + " cancelled");
    }

    @Test
    void submit_timedOutAttemptIsCancelledAtProvider() throws Exception {
        byte[] seed = new byte[32];
        seed[0] = 42;
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), slow).build();
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(node)));
        // The 300 ms timeout fires once the attempt runs at the provider, not after 300 ms of a
        // machine that may not have started it yet (a queued attempt is cancelled before it runs).
        List<HeldTimers> timers = new ArrayList<>();
        DepinClient client = DepinClient.builder(net).maxAttempts(1).attemptTimeout(Duration.ofMillis(300))
                .schedulers(HeldTimers.into(timers)).build();
        open.add(net);
        open.add(client);
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        assertTrue(slow.awaitRuns(1, 30), "the attempt never ran: " + h.events());
        assertEquals(1, timers.get(0).fire(Duration.ofMillis(300)), "the attempt's timer");
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.FAILED, e.finalState());
        assertTrue(e.getMessage().contains("attempt 1 at " + node.nodeId().shortId() + ": no answer within PT0.3S"),
                e.getMessage());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (node.busy() != 0 && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertEquals(0, node.busy(), "the provider still works on the abandoned attempt");
        assertEquals(0, node.completedCount(), "a timed-out attempt must never count as completed");
        assertEquals(1, node.cancelledCount());
        assertTrue(slow.log.contains("cancel"), slow.log.toString());
        slow.release(1); // nothing may run any more: the attempt stays cancelled
        assertEquals(0, node.completedCount());
    }

    // ------------------------------------------------------------ API defects (issue 6 §4)

    /** Providers whose price is almost all data moved, so that estimates barely depend on the CPU's rate. */
    private List<ProviderNode> dataPricedNodes(int n) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 50);
            nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1))
                    .price(new Price(MicroUsd.ofMicros(1), MicroUsd.ofMicros(10_000))).build());
        }
        return nodes;
    }

    private static Job bigSaxpy(VerificationPolicy policy, long maxMicros) {
        // 3 × 4 MiB moved at 10,000 micro-USD per GB: about 126 micro-USD per replica.
        int n = 1 << 20;
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f)
                .input("x", new float[n]).input("y", new float[n]).verification(policy)
                .maxPrice(MicroUsd.ofMicros(maxMicros)).build();
    }

    @Test
    void submit_redundantPlansEveryReplicaWithinMaxPrice() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(dataPricedNodes(2)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        // Each replica alone fits 200 micro-USD; both together do not.
        JobHandle h = client.submit(bigSaxpy(VerificationPolicy.redundant(2), 200));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.REJECTED, e.finalState());
        assertTrue(e.getMessage().contains("the 2 cheapest fitting providers are estimated at "), e.getMessage());
        assertTrue(e.getMessage().contains("above the job's max $0.000200 (which covers every replica)"),
                e.getMessage());
        assertEquals(0, net.dispatches(net.offers(new dev.depin.network.spi.OfferQuery("saxpy", Requirements.ANY,
                10)).join().get(0).nodeId()));
    }

    @Test
    void submit_redundantCostNeverExceedsMaxPrice() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(dataPricedNodes(2)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobResult r = client.submit(bigSaxpy(VerificationPolicy.redundant(2), 400)).result(Duration.ofSeconds(30));
        assertTrue(r.cost().micros() > 126 * 2 - 1, "both replicas are paid: " + r.cost());
        assertTrue(r.cost().compareTo(MicroUsd.ofMicros(400)) <= 0, r.cost().toString());
    }

    @Test
    void result_timeoutThrowsTimeoutExceptionAndJobKeepsRunning() throws Exception {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.HANG);
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        TimeoutException t = assertThrows(TimeoutException.class, () -> h.result(Duration.ofMillis(100)));
        assertTrue(t.getMessage().startsWith("job " + h.jobId() + " did not end within PT0.1S"), t.getMessage());
        assertTrue(t.getMessage().endsWith("it keeps running: wait again or cancel it"), t.getMessage());
        assertFalse(h.resultAsync().isDone());
        assertFalse(h.state().isTerminal(), h.state().toString());
        assertTrue(h.cancelAsync().get(10, TimeUnit.SECONDS));
        assertThrows(CancellationException.class, () -> h.result(Duration.ofSeconds(10)));
    }

    @Test
    void param_integerForFloatParameterIsTakenAsFloat() throws Exception {
        Job job = Job.builder(BuiltinKernel.SAXPY).param("n", 3).param("alpha", 2)
                .input("x", new float[] {1, 2, 3}).input("y", new float[] {10, 20, 30}).build();
        assertEquals(2.0f, job.spec().params().requireFloat("alpha"));
        assertFalse(job.spec().params().longs().containsKey("alpha"));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1)));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        assertArrayEquals(new float[] {12, 24, 36}, client.submit(job).result(Duration.ofSeconds(30)).floats("out"));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Job.builder(BuiltinKernel.SAXPY).param("alpha", 16_777_217));
        assertEquals("parameter 'alpha' of saxpy is a float, and 16777217 has no exact float value: pass a float "
                + "instead", e.getMessage());
    }

    @Test
    void history_countsVerifiedFailedAndDisputed() throws Exception {
        List<ProviderNode> nodes = nodes(2);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.REFUSE);
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        assertEquals(new ProviderHistory(0, 0, 0, 0.5), client.history(nodes.get(0).nodeId()));
        client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2)).result(Duration.ofSeconds(30));
        ProviderHistory refused = client.history(nodes.get(0).nodeId());
        ProviderHistory rescuer = client.history(nodes.get(1).nodeId());
        assertEquals(new ProviderHistory(0, 1, 0, 1.0 / 3), refused);
        assertEquals(new ProviderHistory(1, 0, 0, 2.0 / 3), rescuer);
        assertThrows(InvalidArgumentException.class, () -> client.history(null));
        assertThrows(InvalidArgumentException.class, () -> new ProviderHistory(-1, 0, 0, 0.5));
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int at = s.indexOf(part); at >= 0; at = s.indexOf(part, at + part.length())) {
            n++;
        }
        return n;
    }

    @Test
    void result_messageLeadsWithRootCauseOnce() throws Exception {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.TAMPER_RESPONSE).tamperResponses(r -> {
                    ByteBuffer c = r.outputBytes().get("c");
                    ByteBuffer flipped = ByteBuffer.allocate(c.remaining());
                    flipped.put(c).flip();
                    flipped.put(3, (byte) (flipped.get(3) ^ 1));
                    return ScriptedNetwork.withOutputs(r, Map.of("c", flipped));
                });
        // Two rounds but one provider: round 2 finds no other provider; the message leads with round 1's cause.
        DepinClient client = client(net, 2, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
        assertEquals(JobState.FAILED, e.finalState());
        String m = e.getMessage();
        assertTrue(m.startsWith("job " + h.jobId() + " failed: attempt 1 at " + nodes.get(0).nodeId().shortId()
                + ": OUTPUT_ROOT_MISMATCH: "), m);
        assertEquals(1, count(m, "OUTPUT_ROOT_MISMATCH"), m);
        assertTrue(m.indexOf("no other provider is left to try") > m.indexOf("OUTPUT_ROOT_MISMATCH"), m);
        JobEvent disputed = attempt(e.history(), AttemptState.DISPUTED);
        assertEquals(1, count(disputed.detail(), "OUTPUT_ROOT_MISMATCH"), disputed.detail());
        JobEvent last = e.history().get(e.history().size() - 1);
        assertEquals(JobState.FAILED, last.state());
        assertEquals(1, count(last.detail(), "OUTPUT_ROOT_MISMATCH"), last.detail());
    }

    @Test
    void result_exceptionCarriesCallersStack() throws Exception {
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        nodes.forEach(n -> net.fault(n.nodeId(), ScriptedNetwork.Fault.REFUSE));
        DepinClient client = client(net, 1, Duration.ofSeconds(30));
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        for (JobFailedException e : List.of(assertThrows(JobFailedException.class, h::result),
                assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30))))) {
            assertTrue(java.util.Arrays.stream(e.getStackTrace())
                    .anyMatch(f -> f.getMethodName().equals("result_exceptionCarriesCallersStack")),
                    "the caller's frames are missing");
            assertEquals(JobFailedException.class, e.getCause().getClass());
            JobFailedException original = (JobFailedException) e.getCause();
            assertTrue(java.util.Arrays.stream(original.getStackTrace())
                    .noneMatch(f -> f.getMethodName().equals("result_exceptionCarriesCallersStack")));
            assertEquals(original.getMessage(), e.getMessage());
            assertEquals(original.finalState(), e.finalState());
            assertEquals(original.history(), e.history());
        }
        ScriptedNetwork hang = new ScriptedNetwork(LocalNetwork.of(nodes(1)));
        hang.fault(hang.offers(new dev.depin.network.spi.OfferQuery("sgemm", Requirements.ANY, 1)).join().get(0)
                .nodeId(), ScriptedNetwork.Fault.HANG);
        DepinClient c2 = client(hang, 1, Duration.ofSeconds(30));
        JobHandle waiting = c2.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        waiting.cancelAsync().get(10, TimeUnit.SECONDS);
        CancellationException ce = assertThrows(CancellationException.class, waiting::result);
        assertTrue(java.util.Arrays.stream(ce.getStackTrace())
                .anyMatch(f -> f.getMethodName().equals("result_exceptionCarriesCallersStack")));
    }

    /** Runs one job on a provider that waits for the test, with a dependent registered before the job ends. */
    private void dependentSeesEndOutsideLock(boolean honest, JobState expected) throws Exception {
        byte[] seed = new byte[32];
        seed[0] = 43;
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), slow).build();
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(node)));
        if (!honest) {
            net.fault(node.nodeId(), ScriptedNetwork.Fault.TAMPER_RESPONSE).tamperResponses(r -> null);
        }
        JobLocks locks = new JobLocks();
        DepinClient client = DepinClient.builder(net).maxAttempts(1).attemptTimeout(Duration.ofSeconds(30))
                .seams(locks).build();
        open.add(net);
        open.add(client);
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        java.util.concurrent.atomic.AtomicBoolean underLock = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicReference<List<JobEvent>> seen =
                new java.util.concurrent.atomic.AtomicReference<>();
        CompletableFuture<Void> dependent = h.resultAsync().handle((r, t) -> {
            underLock.set(locks.heldHere(h));
            seen.set(h.events());
            return null;
        });
        assertTrue(slow.awaitStarted(10));
        slow.release(1);
        dependent.get(30, TimeUnit.SECONDS);
        assertFalse(underLock.get(), "user code ran under the engine's lock");
        List<JobEvent> jobLevel = seen.get().stream().filter(e -> !e.isAttemptEvent()).toList();
        assertEquals(expected, jobLevel.get(jobLevel.size() - 1).state(), seen.get().toString());
    }

    @Test
    void resultAsync_dependentsOfVerifiedJobRunOutsideLockAndSeeFinalEvent() throws Exception {
        dependentSeesEndOutsideLock(true, JobState.VERIFIED);
    }

    @Test
    void resultAsync_dependentsOfFailedJobRunOutsideLockAndSeeFinalEvent() throws Exception {
        dependentSeesEndOutsideLock(false, JobState.FAILED);
    }

    @Test
    void close_racingSubmitEndsEveryJobOrRefusesIt() throws Exception {
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(2)));
        open.add(net);
        SplittableRandom rnd = new SplittableRandom(SEED);
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 2).input("x", new float[] {1, 2}).build();
        for (int i = 0; i < 100; i++) {
            DepinClient client = DepinClient.builder(net).threads(1).build();
            List<JobHandle> handles = new java.util.concurrent.CopyOnWriteArrayList<>();
            CompletableFuture<Throwable> refused = CompletableFuture.supplyAsync(() -> {
                while (true) {
                    try {
                        handles.add(client.submit(job));
                    } catch (RuntimeException e) {
                        return e;
                    }
                }
            });
            long until = System.nanoTime() + rnd.nextLong(0, 3_000_000);
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            client.close();
            Throwable t = refused.get(30, TimeUnit.SECONDS);
            assertEquals(DepinException.class, t.getClass(), "try " + i + ": " + t);
            assertTrue(t.getMessage().contains("client is closed"), t.getMessage());
            for (JobHandle h : handles) {
                try {
                    h.result(Duration.ofSeconds(30));
                } catch (CancellationException | JobFailedException e) {
                    // ended
                }
                assertTrue(h.state().isTerminal(), "try " + i + ": " + h.events());
            }
        }
    }

    @Test
    void onEvent_listenersRunOnTheListenerExecutorOutsideTheLock() throws Exception {
        java.util.concurrent.ExecutorService mine = java.util.concurrent.Executors.newSingleThreadExecutor(r ->
                new Thread(r, "my-listeners"));
        try {
            ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes(1)));
            JobLocks locks = new JobLocks();
            DepinClient client = DepinClient.builder(net).listenerExecutor(mine).seams(locks).build();
            open.add(net);
            open.add(client);
            JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
            List<String> where = new java.util.concurrent.CopyOnWriteArrayList<>();
            h.onEvent(e -> where.add(Thread.currentThread().getName() + (locks.heldHere(h) ? " locked" : "")));
            h.result(Duration.ofSeconds(30));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (where.size() < h.events().size() && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertEquals(h.events().size(), where.size());
            assertEquals(List.of("my-listeners"), where.stream().distinct().toList());
        } finally {
            mine.shutdown();
            assertTrue(mine.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void close_leavesNoClientThreadBehindWithHungAttempts() throws Exception {
        java.util.Set<Thread> before = java.util.Set.copyOf(Thread.getAllStackTraces().keySet());
        List<ProviderNode> nodes = nodes(1);
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.HANG);
        open.add(net);
        // A long attempt timeout: the hung attempt's timer must not keep the client's threads alive.
        DepinClient client = DepinClient.builder(net).attemptTimeout(Duration.ofMinutes(10)).build();
        JobHandle h = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (net.dispatches(nodes.get(0).nodeId()) == 0 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertEquals(1, net.dispatches(nodes.get(0).nodeId()));
        Thread.sleep(100); // the client arms the attempt's timer right after dispatch() returns
        client.close();
        assertThrows(CancellationException.class, () -> h.result(Duration.ofSeconds(10)));
        List<String> left = List.of();
        until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        do {
            left = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !before.contains(t) && t.getName().startsWith("depin-client"))
                    .map(Thread::getName).toList();
            if (left.isEmpty()) {
                break;
            }
            Thread.sleep(10);
        } while (System.nanoTime() < until);
        assertEquals(List.of(), left, "client threads still alive after close()");
    }

    /**
     * With the attempt timeout (default 10 min) longer than the job's deadline, the attempt's
     * timeout is the deadline and the job keeps one timer: every time, the job ends with the
     * attempt timed out first and the deadline after it, the provider is charged a failure and
     * the attempt is cancelled where it runs (with two timers for one instant, which message won
     * was a race).
     */
    @Test
    void submit_deadlineBeforeAttemptTimeoutEndsWithTheAttemptTimedOut() throws Exception {
        byte[] seed = new byte[32];
        seed[0] = 46;
        // The deadline passes at a step of the test, not after 200 ms of a machine that may be too
        // loaded to send the attempt by then: the clocks of the client and the node move by hand,
        // and the client's timers wait for the test to fire them.
        dev.depin.settlement.SettlementContract.ManualClock clock = new dev.depin.settlement.SettlementContract
                .ManualClock(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), slow).clock(clock).build();
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(node)));
        List<HeldTimers> timers = new ArrayList<>();
        DepinClient client = DepinClient.builder(net).maxAttempts(3).clock(clock).schedulers(HeldTimers.into(timers)).build();
        open.add(net);
        open.add(client);
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 1; i <= 3; i++) {
            Job job = Job.builder(BuiltinKernel.SGEMM).param("m", 2).param("k", 2).param("n", 2)
                    .input("a", random(rnd, 4)).input("b", random(rnd, 4)).clock(clock)
                    .maxPrice(MicroUsd.ofUsd("0.01")).timeout(Duration.ofMillis(200)).build();
            JobHandle h = client.submit(job);
            assertTrue(slow.awaitRuns(i, 30), "attempt " + i + " never reached the provider: " + h.events());
            clock.advance(Duration.ofMillis(200));
            // One timer per job: the deadline's watchdog, which times the attempt out too.
            assertEquals(1, timers.get(0).fire(), "timers held for job " + i);
            JobFailedException e = assertThrows(JobFailedException.class, () -> h.result(Duration.ofSeconds(30)));
            assertEquals(JobState.FAILED, e.finalState());
            String expected = "job " + h.jobId() + " failed: attempt 1 at " + node.nodeId().shortId()
                    + ": no answer within PT0\\.2S \\(deadline " + java.util.regex.Pattern.quote(
                    job.spec().deadline().toString()) + " passed in state (DISPATCHED|RUNNING) after 1 round\\(s\\)\\)";
            assertTrue(e.getMessage().matches(expected), e.getMessage());
            JobEvent failed = attempt(e.history(), AttemptState.FAILED);
            assertEquals("no answer within PT0.2S", failed.detail());
            assertEquals(List.of(), e.history().stream().filter(ev -> ev.attemptState() == AttemptState.CANCELLED)
                    .toList());
            assertEquals(i, client.history(node.nodeId()).failed());
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (node.cancelledCount() < i && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(i, node.cancelledCount(), "the timed-out attempt was not cancelled at the provider");
        }
        assertEquals(0, node.completedCount());
        assertEquals(0, timers.get(0).pending());
    }

    @Test
    void submit_providerStillWorkingOnTimedOutAttemptCountsAsLoaded() throws Exception {
        byte[] cheap = new byte[32];
        cheap[0] = 44;
        byte[] dear = new byte[32];
        dear[0] = 45;
        // A device that cannot stop a launch: the provider stays busy after the client gave up.
        BlockingExecutor stuck = new BlockingExecutor(new CpuExecutor(1), false);
        ProviderNode a = ProviderNode.builder(NodeKeyPair.fromSeed(cheap), stuck)
                .price(new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(10_000))).build();
        ProviderNode b = ProviderNode.builder(NodeKeyPair.fromSeed(dear), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(1_000_000), MicroUsd.ofMicros(10_000))).build();
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(a, b)));
        open.add(net);
        // The attempts' timers fire when the test says: the first once its attempt runs at the
        // stuck provider (a queued one would be cancelled before it ran, and leave it idle), the
        // others never (on a loaded machine, provider b could take more than 300 ms to answer).
        List<HeldTimers> timers = new ArrayList<>();
        DepinClient client = DepinClient.builder(net).maxAttempts(1).attemptTimeout(Duration.ofMillis(300))
                .maxInFlightPerProvider(1).schedulers(HeldTimers.into(timers)).build();
        open.add(client);
        JobHandle first = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2));
        assertTrue(stuck.awaitRuns(1, 30), "the first attempt never ran: " + first.events());
        assertEquals(1, timers.get(0).fire(Duration.ofMillis(300)), "the first attempt's timer");
        JobFailedException e = assertThrows(JobFailedException.class, () -> first.result(Duration.ofSeconds(30)));
        assertTrue(e.getMessage().contains("no answer within PT0.3S"), e.getMessage());
        assertEquals(1, a.busy(), "the stuck provider still runs the abandoned attempt");
        // While it does, the cheaper provider is in a higher load tier: the next job goes elsewhere.
        JobResult second = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2)).result(Duration.ofSeconds(30));
        assertEquals(b.nodeId(), second.provider());
        stuck.release(2);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (a.busy() != 0 && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertEquals(0, a.busy());
        assertEquals(0, a.completedCount(), "the abandoned attempt stopped at its launch boundary");
        // Once the provider let go, its load is back to 0 and the cheaper provider is chosen again.
        until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        JobResult third;
        do {
            third = client.submit(sgemm(new SplittableRandom(SEED), 2, 2, 2)).result(Duration.ofSeconds(30));
        } while (!third.provider().equals(a.nodeId()) && System.nanoTime() < until);
        assertEquals(a.nodeId(), third.provider());
    }
}
