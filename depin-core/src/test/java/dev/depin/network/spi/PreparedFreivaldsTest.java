package dev.depin.network.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static dev.depin.network.spi.FreivaldsJobs.passed;
import static dev.depin.network.spi.FreivaldsJobs.sgemm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.client.internal.AttemptVerifier;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.VerificationReport;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.JobSpec;
import dev.depin.kernel.CpuReference;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.NetworkException;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.verify.OfflineVerifier;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The buyer's Freivalds check prepared before dispatch (A·B side in the background, C summed
 * through the {@link ArrivalTaps} its request carries, as C arrives): it runs on every returned
 * SGEMM result, catches a wrong element as the one-shot check does, falls back to the one-shot
 * check where the network does not feed the taps, leaves every attempt's taps taken or detached,
 * and two clients in one process with the same job ids and nonces never see each other's taps.
 */
class PreparedFreivaldsTest {
    private static final long SEED = 0x9E3D_F4E1L;
    private static final String JOB_ID = "0123456789abcdef0123456789abcdef";
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

    /**
     * A {@link LocalNetwork} that records every request it is given and may change it first, as a
     * third-party network might (null: the dispatch fails before any assembler is built).
     */
    private static final class Recording implements ComputeNetwork {
        final LocalNetwork delegate;
        final UnaryOperator<ExecutionRequest> change;
        final List<ExecutionRequest> given = new CopyOnWriteArrayList<>();

        Recording(LocalNetwork delegate, UnaryOperator<ExecutionRequest> change) {
            this.delegate = delegate;
            this.change = change;
        }

        @Override
        public String name() {
            return "recording " + delegate.name();
        }

        @Override
        public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
            return delegate.offers(query);
        }

        @Override
        public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
            given.add(request);
            ExecutionRequest r = change.apply(request);
            return r == null ? Dispatch.failed(new NetworkException("this test's network failed the dispatch"))
                    : delegate.dispatch(offer, r, progress);
        }

        @Override
        public boolean providersMayKeepInputs() {
            return delegate.providersMayKeepInputs();
        }

        @Override
        public void close() {
            delegate.close();
        }

        /** Every request given carried taps of its own, and none is left waiting for an assembler. */
        void assertTapsTakenOrDetached() {
            assertFalse(given.isEmpty());
            for (ExecutionRequest r : given) {
                assertNotSame(ArrivalTaps.none(), r.taps(), "attempt " + r.attempt() + " carried its taps");
                assertFalse(r.taps().pending(), "attempt " + r.attempt() + "'s taps: " + r.taps());
            }
            assertEquals(given.size(), given.stream().map(ExecutionRequest::taps).distinct().count(),
                    "each attempt has taps of its own");
        }
    }

    private Recording network(List<ProviderNode> nodes, UnaryOperator<ExecutionRequest> change) {
        Recording net = new Recording(LocalNetwork.of(nodes), change);
        open.add(net);
        return net;
    }

    private DepinClient client(ComputeNetwork net) {
        DepinClient c = DepinClient.builder(net).maxAttempts(2).build();
        open.add(c);
        return c;
    }

    private static final int[][] SHAPES = {{1, 1, 1}, {7, 5, 7}, {3, 9, 1023}, {1023, 2, 3}, {257, 3, 65}};

    private static String shape(int[] s) {
        return s[0] + "x" + s[1] + "x" + s[2];
    }

    @Test
    void submit_returnedProduct_checkedPrepared() {
        Recording net = network(nodes(null), r -> r);
        DepinClient client = client(net);
        for (int[] s : SHAPES) {
            JobResult r = client.submit(sgemm(SEED, s[0], s[1], s[2])).result();
            assertTrue(passed(r.report(), "freivalds"), shape(s) + ": " + r.report());
            assertTrue(passed(r.report(), AttemptVerifier.PREPARED_CHECK), shape(s) + ": " + r.report());
            assertEquals(1, r.attempt(), shape(s));
        }
        assertEquals(SHAPES.length, net.given.size());
        net.assertTapsTakenOrDetached();
    }

    @Test
    void submit_oneWrongElement_caughtOnArrivalAndUpheldOffline() {
        for (int[] s : SHAPES) {
            // A fresh client per job: one that caught the liar would not try it again.
            List<ProviderNode> nodes = nodes(CorruptingExecutor.addOneToMiddleElement());
            Recording net = network(nodes, r -> r);
            DepinClient client = client(net);
            Job job = sgemm(SEED, s[0], s[1], s[2]);
            JobResult r = client.submit(job).result();
            assertEquals(nodes.get(1).nodeId(), r.provider(), shape(s) + ": rescued by the honest provider");
            assertEquals(1, r.disputes().size(), shape(s) + ": " + r.disputes());
            DisputeRecord d = r.disputes().get(0);
            assertEquals(Reason.RESULT_MISMATCH, d.reason(), shape(s) + ": " + d.message());
            assertEquals("freivalds", d.evidence().check(), shape(s));
            int middle = s[0] * s[2] / 2;
            assertTrue(d.message().contains("row " + middle / s[2] + ": C[" + middle / s[2] + "][" + middle % s[2]
                    + "]"), shape(s) + ": the evidence names the wrong element: " + d.message());
            VerificationReport upheld = OfflineVerifier.recheck(d, job.inputs(), d.outputs());
            assertTrue(passed(upheld, "dispute upheld"), shape(s) + ": " + upheld);
            assertTrue(passed(r.report(), AttemptVerifier.PREPARED_CHECK), shape(s) + ": " + r.report());
            assertEquals(2, net.given.size(), shape(s));
            net.assertTapsTakenOrDetached();
        }
    }

    /**
     * A third-party network that rebuilds the request (the pre-taps constructor, as a network
     * written before them would) feeds no tap: every result is still checked, in one shot with a
     * fresh seed, a liar still caught, and the taps no assembler took are detached.
     */
    @Test
    void submit_networkThatRebuildsTheRequest_checkedInOneShot() {
        UnaryOperator<ExecutionRequest> rebuild = r -> new ExecutionRequest(r.jobId(), r.attempt(), r.spec(),
                r.inputs(), r.nonce(), r.holdCertificate(), r.delivery(), r.resultsQueued());
        Recording net = network(nodes(null), rebuild);
        DepinClient client = client(net);
        for (int[] s : SHAPES) {
            JobResult r = client.submit(sgemm(SEED, s[0], s[1], s[2])).result();
            assertTrue(passed(r.report(), "freivalds"), shape(s) + ": " + r.report());
            assertFalse(passed(r.report(), AttemptVerifier.PREPARED_CHECK), shape(s) + ": " + r.report());
        }
        net.assertTapsTakenOrDetached();

        List<ProviderNode> lying = nodes(CorruptingExecutor.addOneToMiddleElement());
        Recording liarNet = network(lying, rebuild);
        JobResult r = client(liarNet).submit(sgemm(SEED, 257, 3, 65)).result();
        assertEquals(lying.get(1).nodeId(), r.provider());
        assertEquals(1, r.disputes().size(), r.disputes().toString());
        assertEquals("freivalds", r.disputes().get(0).evidence().check());
        liarNet.assertTapsTakenOrDetached();
    }

    /** A dispatch that fails before any assembler was built: its taps are detached, the next attempt has its own. */
    @Test
    void submit_attemptThatNeverReachesAnAssembler_itsTapsDetached() {
        AtomicInteger dispatches = new AtomicInteger();
        Recording net = network(nodes(null), r -> dispatches.getAndIncrement() == 0 ? null : r);
        JobResult r = client(net).submit(sgemm(SEED, 257, 3, 65)).result();
        assertEquals(2, r.attempt());
        assertTrue(passed(r.report(), AttemptVerifier.PREPARED_CHECK), r.report().toString());
        assertEquals(2, net.given.size());
        net.assertTapsTakenOrDetached();
    }

    private static ExecutionRequest request(Job job, int attempt) {
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        new SplittableRandom(SEED + attempt).nextBytes(nonce);
        return new ExecutionRequest(JOB_ID, attempt, job.spec(), job.inputs(), nonce);
    }

    @Test
    void assembler_tapSeesEveryByteInOrder_orIsDroppedAndSaysSo() {
        Job job = sgemm(SEED, 9, 2, 1023);
        long size = 4L * 9 * 1023;
        byte[] bytes = new byte[(int) size];
        new SplittableRandom(SEED).nextBytes(bytes);
        for (int throwAt : new int[] {-1, 0, 3}) {
            ByteBuffer seen = ByteBuffer.allocate((int) size);
            int[] calls = {0};
            Consumer<ByteBuffer> tap = b -> {
                if (calls[0]++ == throwAt) {
                    throw new IllegalStateException("tap failed");
                }
                seen.put(b);
            };
            ArrivalTaps taps = ArrivalTaps.of(Map.of("c", tap));
            ExecutionRequest req = request(job, 1).withTaps(taps);
            assertTrue(taps.pending());
            assertSame(taps, req.withDelivery(Delivery.RETURN).taps(), "a copy of the request keeps its taps");
            OutputAssembler asm = req.newAssembler();
            assertFalse(taps.pending(), "the assembler took the tap");
            ReceivedOutput out = feed(asm, bytes, throwAt);
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
            // A second assembler for the same attempt (a transport that starts over) feeds nothing twice.
            int before = calls[0];
            ReceivedOutput again = feed(req.newAssembler(), bytes, throwAt);
            assertFalse(again.observedBy(tap));
            assertEquals(before, calls[0], "the tap saw no byte of the second assembler");
        }
        // Taps of an attempt that never reached an assembler are detached: a later one takes none.
        Consumer<ByteBuffer> tap = b -> { };
        ArrivalTaps taps = ArrivalTaps.of(Map.of("c", tap));
        ExecutionRequest req = request(job, 2).withTaps(taps);
        assertTrue(taps.pending());
        taps.detach();
        assertFalse(taps.pending());
        taps.detach();
        assertFalse(feed(req.newAssembler(), bytes, -1).observedBy(tap));
        // None: nothing to take, nothing pending, shared by every untapped request.
        assertSame(ArrivalTaps.none(), request(job, 3).taps());
        assertFalse(ArrivalTaps.none().pending());
        assertEquals("ArrivalTaps[c]", ArrivalTaps.of(Map.of("c", tap)).toString());
    }

    /** Writes {@code bytes} as output c in cuts of 1 to 9000 bytes, then finishes. */
    private static ReceivedOutput feed(OutputAssembler asm, byte[] bytes, int cutSeed) {
        SplittableRandom cut = new SplittableRandom(SEED + cutSeed);
        for (int at = 0; at < bytes.length; ) {
            int len = Math.min(bytes.length - at, 1 + cut.nextInt(9000));
            asm.write("c", ByteBuffer.wrap(bytes, at, len));
            at += len;
        }
        return asm.finish().get("c");
    }

    /**
     * Two clients in one process (two verifiers, each with its network and provider) run attempts
     * with the same job ids, attempt numbers and nonces at the same time: each attempt's tap is
     * fed by its own assembler only, so every check runs prepared. With taps kept anywhere by
     * those identifiers, one client's tap would take the other's bytes.
     */
    @Test
    void twoClients_sameJobIdsAndNonces_concurrently_eachCheckedPrepared() throws Exception {
        List<ProviderNode> nodes = nodes(null);
        List<LocalNetwork> nets = List.of(LocalNetwork.of(List.of(nodes.get(0))),
                LocalNetwork.of(List.of(nodes.get(1))));
        open.addAll(nets);
        List<CpuReference> refs = List.of(new CpuReference(1), new CpuReference(1));
        open.addAll(refs);
        List<AttemptVerifier> clients = List.of(new AttemptVerifier(refs.get(0), Parallelism.callerThread()),
                new AttemptVerifier(refs.get(1), Parallelism.callerThread()));
        List<Job> jobs = new ArrayList<>();
        for (int[] s : SHAPES) {
            jobs.add(sgemm(SEED, s[0], s[1], s[2]));
        }
        // Both prepared, and both tapped requests made, before either is dispatched.
        for (int j = 0; j < jobs.size(); j++) {
            Job job = jobs.get(j);
            List<ExecutionRequest> sent = new ArrayList<>();
            List<ExecutionRequest> tapped = new ArrayList<>();
            for (int c = 0; c < 2; c++) {
                ExecutionRequest req = request(job, j + 1);
                sent.add(req);
                tapped.add(req.withTaps(clients.get(c).prepareFreivalds(job.spec(), job.inputs(), req).orElseThrow()));
            }
            List<Dispatch> ds = new ArrayList<>();
            for (int c = 0; c < 2; c++) {
                ds.add(nets.get(c).dispatch(nodes.get(c).offer(), tapped.get(c), p -> { }));
            }
            for (int c = 0; c < 2; c++) {
                assertPrepared(clients.get(c), nodes.get(c), job, sent.get(c), ds.get(c), "client " + c + " job " + j);
            }
        }
        // Then both at once, the same ids over and over, each on its own thread.
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        open.add(threads::shutdownNow);
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            int client = c;
            runs.add(CompletableFuture.runAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                for (int rep = 0; rep < 4; rep++) {
                    for (int j = 0; j < jobs.size(); j++) {
                        Job job = jobs.get(j);
                        ExecutionRequest req = request(job, j + 1);
                        ArrivalTaps taps = clients.get(client).prepareFreivalds(job.spec(), job.inputs(), req)
                                .orElseThrow();
                        Dispatch d = nets.get(client).dispatch(nodes.get(client).offer(), req.withTaps(taps), p -> { });
                        assertPrepared(clients.get(client), nodes.get(client), job, req, d,
                                "client " + client + " rep " + rep + " job " + j);
                        assertFalse(taps.pending());
                    }
                }
            }, threads));
        }
        go.countDown();
        CompletableFuture.allOf(runs.toArray(new CompletableFuture<?>[0])).get(120, TimeUnit.SECONDS);
        for (AttemptVerifier v : clients) {
            assertEquals(0, v.preparedChecks(), "every prepared check was used and wiped");
        }
    }

    private static void assertPrepared(AttemptVerifier client, ProviderNode node, Job job, ExecutionRequest req,
                                       Dispatch d, String what) {
        ExecutionResponse response;
        try {
            response = d.response().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(what + ": " + e, e);
        }
        VerificationReport report = client.verify(job.spec(), job.spec().hash(), job.inputs(), node.offer(), req,
                response);
        assertTrue(passed(report, "freivalds"), what + ": " + report);
        assertTrue(passed(report, AttemptVerifier.PREPARED_CHECK), what + ": " + report);
    }
}
