package dev.depin.network;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.network.spi.ReceivedOutput;
import dev.depin.node.ProviderNode;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link ComputeNetwork} meets, run against each implementation (the
 * in-process {@link dev.depin.node.LocalNetwork} here; a remote network runs it with its
 * transport between the buyer and the same provider nodes): offers answer a query and are
 * signed; a dispatch completes with the outputs the request expects; {@code released()}
 * completes after the response and after a cancel; a cancel reaches the provider, queued or
 * running; failures (unknown provider, closed network) fail futures instead of throwing;
 * progress arrives.
 *
 * <p>Waits are bounded (10 s) so that a network that loses a future fails the suite
 * instead of hanging it.
 */
public abstract class NetworkContractTest {
    private static final long WAIT_S = 10;
    private final List<AutoCloseable> open = new ArrayList<>();

    /**
     * A network that reaches exactly these provider nodes; it owns them and closes them.
     *
     * @param nodes the providers, each with its own key
     * @return the network under test
     */
    protected abstract ComputeNetwork createNetwork(List<ProviderNode> nodes);

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /**
     * The identity of provider {@code i} in these tests (0 to 9): a network whose transport
     * needs a node's key (a TLS certificate made from it) finds it here.
     *
     * @param i the provider's number
     * @return its key pair
     */
    protected static NodeKeyPair key(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (0x70 + i);
        return NodeKeyPair.fromSeed(seed);
    }

    private ComputeNetwork network(List<ProviderNode> nodes) {
        ComputeNetwork net = createNetwork(nodes);
        open.add(net);
        return net;
    }

    /** A network of {@code n} honest CPU providers. */
    private ComputeNetwork honest(int n) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            nodes.add(ProviderNode.builder(key(i), new CpuExecutor(1)).build());
        }
        return network(nodes);
    }

    private static Job reduce(float... x) {
        return Job.builder(BuiltinKernel.REDUCE_SUM).param("n", x.length).input("x", x).build();
    }

    private static ExecutionRequest request(Job job, int attempt) {
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        nonce[0] = (byte) attempt;
        return new ExecutionRequest("00112233445566778899aabbccddeeff", attempt, job.spec(), job.inputs(), nonce);
    }

    private static List<ProviderOffer> offers(ComputeNetwork net, String kernel) throws Exception {
        return net.offers(new OfferQuery(kernel, Requirements.ANY, 100)).get(WAIT_S, TimeUnit.SECONDS);
    }

    private static Throwable failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(WAIT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        return fail("expected the future to fail");
    }

    private static void awaitIdle(ProviderNode node) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (node.busy() != 0 && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertEquals(0, node.busy(), "provider " + node.nodeId().shortId() + " still busy");
    }

    @Test
    void offers_answerQueryWithSignedOffersOfEveryProvider() throws Exception {
        ComputeNetwork net = honest(3);
        List<ProviderOffer> offers = offers(net, "sgemm");
        assertEquals(3, offers.size(), offers.toString());
        assertEquals(3, offers.stream().map(ProviderOffer::nodeId).distinct().count());
        for (ProviderOffer o : offers) {
            o.verify(Instant.now()); // throws InvalidOfferException when the signature does not cover the terms
            assertTrue(o.terms().kernels().contains("sgemm"), o.terms().kernels().toString());
        }
    }

    @Test
    void offers_respectTheLimitAndTheKernel() throws Exception {
        ComputeNetwork net = honest(3);
        List<ProviderOffer> one = net.offers(new OfferQuery("saxpy", Requirements.ANY, 1)).get(WAIT_S,
                TimeUnit.SECONDS);
        assertTrue(one.size() <= 1, one.toString());
        List<ProviderOffer> ptx = offers(net, OfferTerms.PTX);
        assertTrue(ptx.isEmpty(), "CPU providers do not run user PTX: " + ptx);
    }

    @Test
    void dispatch_completesWithTheExpectedOutputs() throws Exception {
        ComputeNetwork net = honest(1);
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        Job job = reduce(1, 2, 3, 4.5f);
        ExecutionRequest req = request(job, 1);
        List<ComputeNetwork.Progress> progress = new CopyOnWriteArrayList<>();
        Dispatch d = net.dispatch(offer, req, progress::add);
        // FIRST_BYTE is reported before the response completes: a listener on it sees it already.
        CompletableFuture<Boolean> firstByteBefore = d.response().thenApply(x ->
                progress.contains(ComputeNetwork.Progress.FIRST_BYTE));
        ExecutionResponse r = d.response().get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(req.jobId(), r.jobId());
        assertEquals(1, r.attempt());
        assertEquals(offer.nodeId(), r.provider());
        assertEquals(req.expectedOutputs().keySet(), r.outputs().keySet());
        for (Map.Entry<String, Long> e : req.expectedOutputs().entrySet()) {
            ReceivedOutput out = r.outputs().get(e.getKey());
            assertEquals((long) e.getValue(), out.bytes(), e.getKey());
            assertArrayEquals(Merkle.root(out.data(), JobSpec.MERKLE_CHUNK_BYTES), out.merkleRoot(),
                    "the root must be that of the bytes received");
        }
        assertEquals(10.5f, r.outputBytes().get("sum").getFloat(0));
        // The receipt is the provider's, for this attempt and nonce: in a signed batch, as
        // providers send it by default (a lone job is a batch of one job's two statements).
        assertTrue(r.isBatched(), "default providers batch receipts");
        assertEquals(2, r.batched().receiptProof().leafCount());
        ExecutionReceipt receipt = r.batched().readReceiptUnverified();
        assertEquals(req.jobId(), receipt.jobId());
        assertEquals(job.spec().hash(), receipt.specHash());
        d.released().get(WAIT_S, TimeUnit.SECONDS);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (progress.size() < 3 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertEquals(List.of(ComputeNetwork.Progress.ACCEPTED, ComputeNetwork.Progress.RUNNING,
                ComputeNetwork.Progress.FIRST_BYTE), progress);
        assertTrue(firstByteBefore.get(WAIT_S, TimeUnit.SECONDS), "FIRST_BYTE before the response completes");
    }

    @Test
    void dispatch_singleEnvelopes_whenTheProviderSignsEveryJob() throws Exception {
        List<ProviderNode> nodes = new ArrayList<>();
        nodes.add(ProviderNode.builder(key(0), new CpuExecutor(1)).receiptBatching(0).build());
        ComputeNetwork net = network(nodes);
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        Job job = reduce(1, 2, 3, 4.5f);
        ExecutionRequest req = request(job, 1);
        ExecutionResponse r = net.dispatch(offer, req, p -> { }).response().get(WAIT_S, TimeUnit.SECONDS);
        assertFalse(r.isBatched());
        assertEquals(10.5f, r.outputBytes().get("sum").getFloat(0));
        ExecutionReceipt receipt = ExecutionReceipt.readUnverified(r.receipt());
        assertEquals(req.jobId(), receipt.jobId());
        assertEquals(job.spec().hash(), receipt.specHash());
        assertNotNull(r.wipe());
    }

    @Test
    void cancel_afterResponseIsHarmless() throws Exception {
        ComputeNetwork net = honest(1);
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        Dispatch d = net.dispatch(offer, request(reduce(1, 2), 1), p -> { });
        ExecutionResponse r = d.response().get(WAIT_S, TimeUnit.SECONDS);
        d.cancel("too late");
        d.cancel(null);
        d.released().get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(3f, r.outputBytes().get("sum").getFloat(0));
    }

    @Test
    void cancel_reachesQueuedAndRunningAttempts() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(key(0), slow).concurrency(1, 8).build();
        ComputeNetwork net = network(List.of(node));
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        Dispatch running = net.dispatch(offer, request(reduce(1, 2), 1), p -> { });
        assertTrue(slow.awaitStarted(WAIT_S), "the first attempt never started");
        Dispatch queued = net.dispatch(offer, request(reduce(3, 4), 2), p -> { });
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (node.busy() < 2 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertEquals(2, node.busy());
        queued.cancel("buyer gave up");
        Throwable q = failure(queued.response());
        queued.released().get(WAIT_S, TimeUnit.SECONDS);
        assertFalse(running.released().isDone(), "the running attempt is still held: " + q);
        running.cancel("buyer gave up");
        Throwable r = failure(running.response());
        running.released().get(WAIT_S, TimeUnit.SECONDS);
        awaitIdle(node);
        assertEquals(0, node.completedCount(), q + " / " + r);
        assertEquals(2, node.cancelledCount(), q + " / " + r);
        assertEquals(List.of("run", "cancel", "context-closed"), slow.log, "the queued attempt must never run");
    }

    @Test
    void released_completesAfterTheResponse() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(key(0), slow).build();
        ComputeNetwork net = network(List.of(node));
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        Dispatch d = net.dispatch(offer, request(reduce(5), 1), p -> { });
        assertTrue(slow.awaitStarted(WAIT_S));
        assertFalse(d.released().isDone(), "released before the provider let go");
        assertFalse(d.response().isDone());
        slow.release(1);
        assertEquals(5f, d.response().get(WAIT_S, TimeUnit.SECONDS).outputBytes().get("sum").getFloat(0));
        d.released().get(WAIT_S, TimeUnit.SECONDS);
        awaitIdle(node);
        assertEquals(1, node.completedCount());
    }

    @Test
    void dispatch_unknownProviderFailsTheResponse() throws Exception {
        ComputeNetwork net = honest(1);
        ProviderOffer stranger;
        try (ProviderNode outside = ProviderNode.builder(key(9), new CpuExecutor(1)).build()) {
            stranger = outside.offer();
        }
        Dispatch d = net.dispatch(stranger, request(reduce(1), 1), p -> { });
        Throwable t = failure(d.response());
        assertInstanceOf(NetworkException.class, t, t.toString());
        assertTrue(t.getMessage().contains(stranger.nodeId().shortId()), t.getMessage());
        d.released().get(WAIT_S, TimeUnit.SECONDS);
    }

    @Test
    void close_failsLaterCallsWithNetworkException() throws Exception {
        ComputeNetwork net = honest(1);
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        net.close();
        net.close(); // idempotent
        Throwable o = failure(net.offers(new OfferQuery("reduce-sum", Requirements.ANY, 10)));
        assertInstanceOf(NetworkException.class, o, o.toString());
        Dispatch d = net.dispatch(offer, request(reduce(1), 1), p -> { });
        Throwable t = failure(d.response());
        assertInstanceOf(NetworkException.class, t, t.toString());
        d.released().get(WAIT_S, TimeUnit.SECONDS);
    }

    @Test
    void close_endsAttemptsInFlight() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(key(0), slow).concurrency(1, 8).build();
        ComputeNetwork net = network(List.of(node));
        ProviderOffer offer = offers(net, "reduce-sum").get(0);
        Consumer<ComputeNetwork.Progress> none = p -> { };
        Dispatch running = net.dispatch(offer, request(reduce(1), 1), none);
        assertTrue(slow.awaitStarted(WAIT_S));
        Dispatch queued = net.dispatch(offer, request(reduce(2), 2), none);
        net.close();
        failure(running.response());
        failure(queued.response());
        running.released().get(WAIT_S, TimeUnit.SECONDS);
        queued.released().get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(0, node.busy());
        assertEquals(0, node.completedCount());
    }
}
