package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.Wire;
import dev.depin.grpc.internal.wire.Cancel;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many small jobs on one Session stream (docs/decisions.md, "Many small jobs per stream"):
 * each job keeps what its own stream gave it (its result, its cancellation, its deadline), a
 * node without the method gets one stream per job, and a hostile session gets a clean status
 * and leaves nothing held.
 */
class SessionTest {
    private static final long SEED = 0x5E5510L;
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private DirectoryServer directory;
    private ProviderServer server;
    private GrpcNetwork net;
    private ManagedChannel channel;

    private void start(ProviderNode node, boolean sessions, Duration stall) {
        start(node, sessions, stall, Duration.ofSeconds(60));
    }

    private void start(ProviderNode node, boolean sessions, Duration stall, Duration idle) {
        directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
        server = ProviderServer.builder(node, providerKey).listen("127.0.0.1", 0).sessions(sessions)
                .stallTimeout(stall).sessionIdleTimeout(idle).directory(directory.address(), directory.publicKey())
                .start();
        server.renewNow();
        net = GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).build();
    }

    @AfterEach
    void stop() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (net != null) {
            net.close();
        }
        if (server != null) {
            server.close();
        }
        if (directory != null) {
            directory.close();
        }
    }

    private ProviderOffer offer() throws Exception {
        return net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(30, TimeUnit.SECONDS).get(0);
    }

    private static ExecutionRequest request(int i, Job job) {
        return new ExecutionRequest(Hostile.jobId(i), 1, job.spec(), job.inputs(), new byte[ExecutionRequest.NONCE_BYTES]);
    }

    /** Sends small jobs (each waited for) until the node has taken one on a session: the session is open. */
    private void openSession(ProviderOffer offer, SplittableRandom rnd, BlockingExecutor slow) throws Exception {
        int i = 1_000_000;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (server.sessionJobs() == 0) {
            assertTrue(System.nanoTime() < until, "no job ever went on a session");
            if (slow != null) {
                slow.release(1);
            }
            Saxpy s = new Saxpy(rnd, 16, Duration.ofSeconds(60));
            s.check(net.dispatch(offer, request(i++, s.job), p -> { }).response().get(20, TimeUnit.SECONDS)
                    .outputBytes().get("out"));
        }
    }

    /** Starts a node whose executor runs only when released, and opens the buyer's session to it. */
    private ProviderOffer startWithSession(ProviderNode node, SplittableRandom rnd, BlockingExecutor slow)
            throws Exception {
        start(node, true, Duration.ofSeconds(2));
        ProviderOffer offer = offer();
        openSession(offer, rnd, slow);
        return offer;
    }

    @Test
    void manyJobsOnOneSession_eachResultRight_andNothingHeldAfter() throws Exception {
        System.out.println("SessionTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair k = providerKey;
        start(ProviderNode.builder(k, new CpuExecutor(2)).build(), true, Duration.ofSeconds(2));
        ProviderOffer offer = offer();
        openSession(offer, rnd, null);
        long before = server.sessionJobs();
        List<Saxpy> jobs = new ArrayList<>();
        List<Dispatch> sent = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            // Awkward sizes: 1 to 4,099 floats, a few at the inline limit's edge (2 x 128 KiB in, 128 KiB out).
            int n = i % 50 == 7 ? 32 << 10 : 1 + rnd.nextInt(4099);
            Saxpy s = new Saxpy(rnd, n, Duration.ofSeconds(60));
            jobs.add(s);
            sent.add(net.dispatch(offer, request(i, s.job), p -> { }));
            if (sent.size() - countDone(sent) > 48) {
                sent.get(sent.size() - 48).response().get(30, TimeUnit.SECONDS);
            }
        }
        for (int i = 0; i < jobs.size(); i++) {
            ExecutionResponse r = sent.get(i).response().get(30, TimeUnit.SECONDS);
            jobs.get(i).check(r.outputBytes().get("out"));
            assertEquals(Hostile.jobId(i), r.jobId());
        }
        long onSessions = server.sessionJobs() - before;
        System.out.println("SessionTest: " + onSessions + " of 300 jobs on sessions, " + server.openSessions()
                + " session(s) open");
        assertTrue(onSessions >= 250, onSessions + " of 300 jobs went on a session");
        assertEquals(1, server.openSessions(), "one session for one buyer");
        Hostile.awaitReleased(server);
    }

    private static int countDone(List<Dispatch> sent) {
        int n = 0;
        for (Dispatch d : sent) {
            n += d.response().isDone() ? 1 : 0;
        }
        return n;
    }

    @Test
    void oneJobCancelledMidSession_othersFinish_andTheSessionGoesOn() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(providerKey, slow).build();
        ProviderOffer offer = startWithSession(node, rnd, slow);
        int i = 1;
        long before = server.sessionJobs();
        Saxpy a = new Saxpy(rnd, 100, Duration.ofSeconds(60));
        Saxpy b = new Saxpy(rnd, 101, Duration.ofSeconds(60));
        Saxpy c = new Saxpy(rnd, 102, Duration.ofSeconds(60));
        Dispatch da = net.dispatch(offer, request(i++, a.job), p -> { });
        Dispatch db = net.dispatch(offer, request(i++, b.job), p -> { });
        Dispatch dc = net.dispatch(offer, request(i++, c.job), p -> { });
        awaitTrue(() -> server.sessionJobs() - before == 3 && node.busy() == 3, "three jobs taken on the session");
        long cancelledBefore = node.cancelledCount();
        db.cancel("the buyer changed its mind");
        ExecutionException e = assertThrowsExecution(db.response());
        assertInstanceOf(ExecutionCancelledException.class, e.getCause(), e.toString());
        db.released().get(10, TimeUnit.SECONDS);
        awaitTrue(() -> node.cancelledCount() == cancelledBefore + 1, "the node stopped the cancelled job");
        slow.release(10);
        a.check(da.response().get(20, TimeUnit.SECONDS).outputBytes().get("out"));
        c.check(dc.response().get(20, TimeUnit.SECONDS).outputBytes().get("out"));
        Saxpy d = new Saxpy(rnd, 103, Duration.ofSeconds(60));
        d.check(net.dispatch(offer, request(i, d.job), p -> { }).response().get(20, TimeUnit.SECONDS)
                .outputBytes().get("out"));
        assertEquals(4, server.sessionJobs() - before, "every job on the session, the one after the cancel too");
        assertEquals(1, server.openSessions());
        Hostile.awaitReleased(server);
    }

    /**
     * The buyer's own deadline for a job on a session, driven by the sessions' clocks instead of
     * the wall: the late job's Start is known to have reached the node (it holds it, queued behind
     * the other) before the test moves the buyer's session clock past the job's deadline, and the
     * node's session clock stands still, so that only the buyer's sweep can end it. With a 700 ms
     * wall-clock deadline, the node's own sweep at the same instant (it enforces the time limit
     * the Start carries) won the race now and then under load, and the job ended with the node's
     * cancel instead of the buyer's DEADLINE_EXCEEDED (once at load 17).
     */
    @Test
    void oneJobsDeadlinePasses_itFails_theOtherOnTheSessionFinishes() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(providerKey, slow).build();
        start(node, true, Duration.ofSeconds(2));
        long origin = System.nanoTime();
        AtomicLong buyerClock = new AtomicLong(origin);
        net.sessionTicker(buyerClock::get);
        server.sessionTicker(() -> origin); // the node never ends a session job at its deadline here
        ProviderOffer offer = offer();
        openSession(offer, rnd, slow);
        int i = 1;
        long before = server.sessionJobs();
        long cancelledBefore = node.cancelledCount();
        Saxpy a = new Saxpy(rnd, 100, Duration.ofSeconds(60));
        // 15 s: past it, the session is idle for less than the buyer's 20 s idle limit and stays open.
        Saxpy late = new Saxpy(rnd, 101, Duration.ofSeconds(15));
        Dispatch da = net.dispatch(offer, request(i++, a.job), p -> { });
        Dispatch dl = net.dispatch(offer, request(i++, late.job), p -> { });
        awaitTrue(() -> server.sessionJobs() - before == 2 && node.busy() == 2,
                "both Starts reached the node on the session, the late job queued behind the other");
        assertFalse(dl.response().isDone(), "the late job's deadline has not passed on the buyer's clock");
        buyerClock.addAndGet(TimeUnit.SECONDS.toNanos(15) + 1);
        ExecutionException e = assertThrowsExecution(dl.response());
        assertInstanceOf(NetworkException.class, e.getCause(), e.toString());
        assertTrue(e.getCause().getMessage().contains("DEADLINE_EXCEEDED: the job's deadline passed on its session"),
                e.getCause().getMessage());
        awaitTrue(() -> node.cancelledCount() == cancelledBefore + 1, "the buyer's Cancel stopped the late job on the node");
        assertFalse(da.response().isDone(), "the other job is still held by the executor");
        slow.release(10);
        a.check(da.response().get(20, TimeUnit.SECONDS).outputBytes().get("out"));
        assertEquals(2, server.sessionJobs() - before);
        assertEquals(1, server.openSessions());
        Hostile.awaitReleased(server);
    }

    @Test
    void nodeWithoutSessions_everyJobOnItsOwnStream() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        start(ProviderNode.builder(providerKey, new CpuExecutor(1)).build(), false, Duration.ofSeconds(2));
        ProviderOffer offer = offer();
        List<Saxpy> jobs = new ArrayList<>();
        List<Dispatch> sent = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Saxpy s = new Saxpy(rnd, 1 + rnd.nextInt(2000), Duration.ofSeconds(60));
            jobs.add(s);
            sent.add(net.dispatch(offer, request(i, s.job), p -> { }));
            if (i % 10 == 9) {
                sent.get(i).response().get(20, TimeUnit.SECONDS); // the UNIMPLEMENTED answer comes meanwhile
            }
        }
        for (int i = 0; i < jobs.size(); i++) {
            jobs.get(i).check(sent.get(i).response().get(20, TimeUnit.SECONDS).outputBytes().get("out"));
        }
        assertEquals(0, server.sessionJobs());
        assertEquals(0, server.openSessions());
        Hostile.awaitReleased(server);
    }

    // ---- hostile sessions -------------------------------------------------------------------------

    /** A raw Session stream: what the node answered, by job number, and the status it ended with. */
    private static final class Peer implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
        final CompletableFuture<Status> status = new CompletableFuture<>();
        final CompletableFuture<Void> hello = new CompletableFuture<>();
        final Map<Long, CompletableFuture<ExecuteResponse>> ended = new ConcurrentHashMap<>();
        final Map<Long, ExecuteResponse> results = new ConcurrentHashMap<>();
        /** Every message of each job, in the order it came. */
        final Map<Long, List<ExecuteResponse>> all = new ConcurrentHashMap<>();
        final boolean read;
        ClientCallStreamObserver<ExecuteRequest> out;

        Peer(boolean read) {
            this.read = read;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ExecuteRequest> s) {
            out = s;
            if (!read) {
                s.disableAutoRequestWithInitial(1); // the node's opening message, then nothing
            }
        }

        CompletableFuture<ExecuteResponse> ended(long n) {
            return ended.computeIfAbsent(n, k -> new CompletableFuture<>());
        }

        @Override
        public void onNext(ExecuteResponse m) {
            if (m.getSessionJob() != 0) {
                all.computeIfAbsent(m.getSessionJob(), k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                        .add(m);
            }
            if (m.getSessionJob() == 0) {
                hello.complete(null);
            } else if (m.hasEnded() || m.hasFolded()) {
                ended(m.getSessionJob()).complete(m);
            } else if (m.hasResult()) {
                results.put(m.getSessionJob(), m);
            }
        }

        @Override
        public void onError(Throwable t) {
            status.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            status.complete(Status.OK);
        }

        Status await() throws Exception {
            return status.get(20, TimeUnit.SECONDS);
        }
    }

    private Peer open(boolean read) throws Exception {
        if (channel == null) {
            channel = NettyChannelBuilder.forTarget(server.address())
                    .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), providerKey.publicKey()))
                    .maxInboundMessageSize(8 << 20).build();
        }
        Peer p = new Peer(read);
        ProviderGrpc.newStub(channel).session(p);
        p.hello.get(20, TimeUnit.SECONDS);
        return p;
    }

    /** A Start carrying its whole job (as GrpcNetwork sends one), with a job number. */
    private static ExecuteRequest start(long n, Job job, String jobId) {
        Start.Builder s = Start.newBuilder().setJobId(jobId).setAttempt(1)
                .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                .setNonce(ByteString.copyFrom(new byte[32])).setCompact(true);
        for (Map.Entry<String, ByteBuffer> in : job.inputs().entrySet()) {
            s.addInputs(InputChunk.newBuilder().setName(in.getKey()).setData(ByteString.copyFrom(in.getValue().duplicate())));
        }
        return ExecuteRequest.newBuilder().setSessionJob(n).setStart(s).build();
    }

    /** The Start of {@link #start(long, Job, String)} with the buyer's time limit for the job. */
    private static ExecuteRequest start(long n, Job job, String jobId, long timeoutMillis) {
        return start(n, job, jobId).toBuilder().setTimeoutMillis(timeoutMillis).build();
    }

    private static void assertStatus(Status.Code code, Status s, String... words) {
        assertEquals(code, s.getCode(), s.toString());
        for (String w : words) {
            assertTrue(String.valueOf(s.getDescription()).contains(w), s.toString());
        }
    }

    private static void assertEnded(Status.Code code, ExecuteResponse m, String... words) {
        assertStatus(code, Status.fromCodeValue(m.getEnded().getCode()).withDescription(m.getEnded().getDescription()),
                words);
    }

    private BlockingExecutor hostileNode() {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        start(ProviderNode.builder(providerKey, slow).build(), true, Duration.ofMillis(500));
        return slow;
    }

    @Test
    void hostile_repeatedOrSkippedJobNumber_endsTheSession() throws Exception {
        BlockingExecutor slow = hostileNode();
        slow.release(1_000);
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        Peer p = open(true);
        p.out.onNext(start(1, new Saxpy(rnd, 8, Duration.ofSeconds(60)).job, Hostile.jobId(1)));
        assertEquals(0, p.ended(1).get(20, TimeUnit.SECONDS).getEnded().getCode());
        assertTrue(p.results.containsKey(1L), "job 1 ran");
        p.out.onNext(start(1, new Saxpy(rnd, 8, Duration.ofSeconds(60)).job, Hostile.jobId(2)));
        assertStatus(Status.Code.INVALID_ARGUMENT, p.await(), "a Start with job number 1 after job 1",
                "each Start on a session takes the next number, from 1");

        Peer q = open(true);
        q.out.onNext(start(3, new Saxpy(rnd, 8, Duration.ofSeconds(60)).job, Hostile.jobId(3)));
        assertStatus(Status.Code.INVALID_ARGUMENT, q.await(), "a Start with job number 3 after job 0");

        Peer z = open(true);
        z.out.onNext(start(0, new Saxpy(rnd, 8, Duration.ofSeconds(60)).job, Hostile.jobId(4)));
        assertStatus(Status.Code.INVALID_ARGUMENT, z.await(), "a Start with job number 0 after job 0");
        Hostile.awaitReleased(server);
        assertEquals(0, server.openSessions());
    }

    @Test
    void hostile_inputChunkOrCancelOfAnUnstartedJob_endsTheSession() throws Exception {
        hostileNode();
        Peer p = open(true);
        p.out.onNext(ExecuteRequest.newBuilder().setSessionJob(1).setInput(InputChunk.newBuilder().setName("x")
                .setData(ByteString.copyFrom(new byte[64]))).build());
        assertStatus(Status.Code.INVALID_ARGUMENT, p.await(), "an input chunk on a session");
        Peer q = open(true);
        q.out.onNext(ExecuteRequest.newBuilder().setSessionJob(5).setCancel(Cancel.newBuilder().setReason("x")).build());
        assertStatus(Status.Code.INVALID_ARGUMENT, q.await(), "a Cancel for job number 5, which this session has not "
                + "started (its last is 0)");
        Hostile.awaitReleased(server);
        assertEquals(0, server.openSessions());
    }

    @Test
    void hostile_jobLargerThanInline_refusedAlone_theSessionGoesOn() throws Exception {
        BlockingExecutor slow = hostileNode();
        slow.release(1_000);
        SplittableRandom rnd = new SplittableRandom(SEED + 5);
        Peer p = open(true);
        p.out.onNext(start(1, Hostile.declaring(Wire.INLINE_BYTES + 4), Hostile.jobId(1)));
        assertEnded(Status.Code.INVALID_ARGUMENT, p.ended(1).get(20, TimeUnit.SECONDS), "a job that declares more than "
                + Wire.INLINE_BYTES + " input bytes on a session: refused; send a job this large on its own Execute stream");
        p.out.onNext(start(2, new Saxpy(rnd, 64, Duration.ofSeconds(60)).job, Hostile.jobId(2)));
        assertEquals(0, p.ended(2).get(20, TimeUnit.SECONDS).getEnded().getCode());
        assertTrue(p.results.containsKey(2L), "job 2 ran");
        assertEquals(1, server.node().completedCount());
        p.out.onCompleted();
        assertStatus(Status.Code.OK, p.await());
        Hostile.awaitReleased(server);
        assertEquals(0, server.openSessions());
    }

    @Test
    void hostile_tooManyJobsInFlight_theExtraRefused_andACutSessionReleasesEveryJob() throws Exception {
        hostileNode(); // the executor never runs: every job stays in flight
        SplittableRandom rnd = new SplittableRandom(SEED + 6);
        Peer p = open(true);
        for (int n = 1; n <= Wire.SESSION_JOBS + 1; n++) {
            p.out.onNext(start(n, new Saxpy(rnd, 8, Duration.ofSeconds(60)).job, Hostile.jobId(n)));
        }
        assertEnded(Status.Code.RESOURCE_EXHAUSTED, p.ended(Wire.SESSION_JOBS + 1).get(20, TimeUnit.SECONDS),
                "this session has " + Wire.SESSION_JOBS + " jobs in flight, the most one session may have");
        awaitTrue(() -> server.node().busy() == Wire.SESSION_JOBS, "the node took " + Wire.SESSION_JOBS + " jobs");
        assertEquals(Wire.SESSION_JOBS, server.openStreams(), "each job of a session counts as one stream");
        p.out.cancel("gone", null);
        Hostile.awaitReleased(server);
        awaitTrue(() -> server.openSessions() == 0, "the session closed");
        assertEquals(0, server.node().completedCount());
    }

    @Test
    void hostile_sessionThatNeverReads_isClosedAfterTheStallLimit_andReleasesEverything() throws Exception {
        BlockingExecutor slow = hostileNode(); // stall limit 500 ms
        slow.release(1_000);
        SplittableRandom rnd = new SplittableRandom(SEED + 7);
        Peer p = open(false);
        // 128 KiB of outputs each: the reader's window fills after a few, and the node stops reading.
        for (int n = 1; n <= 40; n++) {
            p.out.onNext(start(n, new Saxpy(rnd, 32 << 10, Duration.ofSeconds(60)).job, Hostile.jobId(n)));
        }
        awaitTrue(() -> server.openSessions() == 0, "the stalled session was closed");
        assertTrue(server.sessionJobs() < 40, "the node read every Start of a session that read nothing: "
                + server.sessionJobs());
        Hostile.awaitReleased(server);
        p.out.request(10_000);
        assertStatus(Status.Code.CANCELLED, p.await(), "the buyer read nothing on this session for 500 ms");
    }

    /**
     * A buyer that never cancels: the node stops each job of its session when the job's own
     * deadline passes (the buyer's time limit for it, else its spec's), queued or running, ends
     * it with DEADLINE_EXCEEDED and holds nothing of it; the session goes on. The sessions'
     * clock is moved by hand and their timer run at once: nothing waits for time to pass.
     */
    @Test
    void hostile_buyerThatNeverCancels_eachJobStoppedAtItsOwnDeadline_theSessionGoesOn() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1)); // never released: jobs stay in flight
        start(ProviderNode.builder(providerKey, slow).build(), true, Duration.ofSeconds(2), Duration.ofDays(1));
        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
        server.sessionTicker(clock::get);
        SplittableRandom rnd = new SplittableRandom(SEED + 9);
        System.out.println("seed " + (SEED + 9));
        Peer p = open(true);
        // Job 1 runs (one worker), jobs 2 and 3 wait in the queue; job 3 has the shortest limit.
        p.out.onNext(start(1, new Saxpy(rnd, 24, Duration.ofMinutes(10)).job, Hostile.jobId(1)));
        p.out.onNext(start(2, new Saxpy(rnd, 7, Duration.ofMinutes(10)).job, Hostile.jobId(2), 120_000));
        p.out.onNext(start(3, new Saxpy(rnd, 33, Duration.ofMinutes(10)).job, Hostile.jobId(3), 5_001));
        awaitTrue(() -> server.node().busy() == 3, "the node took the three jobs");

        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(5_002));
        server.sweepSessions();
        assertEnded(Status.Code.DEADLINE_EXCEEDED, p.ended(3).get(20, TimeUnit.SECONDS), "job " + Hostile.jobId(3)
                + " passed its time limit of 5001 ms on this session on the node: stopped");
        assertFalse(p.ended(1).isDone() || p.ended(2).isDone(), "a job stopped before its deadline");

        clock.addAndGet(TimeUnit.SECONDS.toNanos(120));
        server.sweepSessions();
        assertEnded(Status.Code.DEADLINE_EXCEEDED, p.ended(2).get(20, TimeUnit.SECONDS), "job " + Hostile.jobId(2)
                + " passed its time limit of 120000 ms on this session");
        assertFalse(p.ended(1).isDone(), "job 1 (spec deadline in 10 min) stopped early");

        clock.addAndGet(TimeUnit.MINUTES.toNanos(10));
        server.sweepSessions();
        assertEnded(Status.Code.DEADLINE_EXCEEDED, p.ended(1).get(20, TimeUnit.SECONDS), "job " + Hostile.jobId(1)
                + " passed its deadline", "on the node: stopped");
        Hostile.awaitReleased(server);
        assertEquals(0, server.node().completedCount());
        assertFalse(p.results.containsKey(1L) || p.results.containsKey(2L) || p.results.containsKey(3L),
                "a result was sent for a stopped job");

        slow.release(1);
        Saxpy last = new Saxpy(rnd, 16, Duration.ofMinutes(10));
        p.out.onNext(start(4, last.job, Hostile.jobId(4), 60_000));
        assertEquals(0, p.ended(4).get(20, TimeUnit.SECONDS).getEnded().getCode(), "the session went on");
        assertTrue(p.results.containsKey(4L), "job 4 ran");
        p.out.onCompleted();
        assertStatus(Status.Code.OK, p.await());
    }

    /**
     * The node closes a session idle for its idle limit (OK), counted from its last message or
     * job end, and never while a job is in flight. Its clock is moved by hand.
     */
    @Test
    void idleSession_closedAfterItsIdleLimit_neverWithAJobInFlight() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        start(ProviderNode.builder(providerKey, slow).build(), true, Duration.ofSeconds(2), Duration.ofSeconds(30));
        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
        server.sessionTicker(clock::get);
        SplittableRandom rnd = new SplittableRandom(SEED + 10);
        Peer p = open(true);
        p.out.onNext(start(1, new Saxpy(rnd, 12, Duration.ofHours(1)).job, Hostile.jobId(1)));
        awaitTrue(() -> server.node().busy() == 1, "the node took the job");
        clock.addAndGet(TimeUnit.SECONDS.toNanos(31));
        server.sweepSessions();
        assertEquals(1, server.openSessions(), "a session with a job in flight was closed as idle");
        assertFalse(p.status.isDone(), "the session ended: " + p.status.getNow(null));

        slow.release(1);
        assertEquals(0, p.ended(1).get(20, TimeUnit.SECONDS).getEnded().getCode());
        clock.addAndGet(TimeUnit.SECONDS.toNanos(30)); // exactly the limit since the job ended: not past it
        server.sweepSessions();
        assertEquals(1, server.openSessions(), "closed before its idle limit passed");
        clock.addAndGet(1);
        server.sweepSessions();
        assertStatus(Status.Code.OK, p.await());
        awaitTrue(() -> server.openSessions() == 0, "the idle session was counted off");
        Hostile.awaitReleased(server);
    }

    @Test
    void sessionIdleTimeout_notPositive_refused() {
        ProviderServer.Builder b = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).build(),
                providerKey);
        for (Duration d : List.of(Duration.ZERO, Duration.ofSeconds(-1))) {
            dev.depin.InvalidArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.depin.InvalidArgumentException.class, () -> b.sessionIdleTimeout(d));
            assertTrue(e.getMessage().contains("session idle timeout"), e.getMessage());
        }
    }

    @Test
    void hostile_morePeerSessionsThanTheLimit_refused() throws Exception {
        hostileNode();
        List<Peer> open = new ArrayList<>();
        for (int i = 0; i < Wire.SESSIONS_PER_PEER; i++) {
            open.add(open(true));
        }
        assertEquals(Wire.SESSIONS_PER_PEER, server.openSessions());
        Peer extra = new Peer(true);
        ProviderGrpc.newStub(channel).session(extra);
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, extra.await(), "this peer has " + Wire.SESSIONS_PER_PEER
                + " sessions open already");
        open.get(0).out.onCompleted();
        assertStatus(Status.Code.OK, open.get(0).await());
        awaitTrue(() -> server.openSessions() == Wire.SESSIONS_PER_PEER - 1, "the closed session was counted off");
        open(true); // a place is free again
        for (Peer p : open) {
            p.out.cancel("done", null);
        }
    }

    @Test
    void sessionBroken_everyJobInFlightFails_noneHangs() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 8);
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(providerKey, slow).build();
        ProviderOffer offer = startWithSession(node, rnd, slow);
        int i = 1;
        long before = server.sessionJobs();
        Dispatch a = net.dispatch(offer, request(i++, new Saxpy(rnd, 10, Duration.ofSeconds(60)).job), p -> { });
        Dispatch b = net.dispatch(offer, request(i, new Saxpy(rnd, 11, Duration.ofSeconds(60)).job), p -> { });
        awaitTrue(() -> server.sessionJobs() - before == 2, "both jobs on the session");
        long completed = server.node().completedCount();
        server.close(); // the connection goes, and the session with it
        for (Dispatch d : List.of(a, b)) {
            ExecutionException e = assertThrowsExecution(d.response());
            assertInstanceOf(dev.depin.DepinException.class, e.getCause(), e.toString());
            d.released().get(20, TimeUnit.SECONDS);
        }
        assertEquals(completed, server.node().completedCount(), "a job of the broken session completed");
    }

    private static ExecutionException assertThrowsExecution(CompletableFuture<?> f) throws Exception {
        try {
            f.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e;
        }
        throw new AssertionError("completed, expected to fail");
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    // ---- the folded answer (Start.folded) ------------------------------------------------------------

    private static ExecuteRequest folded(ExecuteRequest start) {
        ExecuteRequest.Builder b = start.toBuilder();
        b.getStartBuilder().setFolded(true);
        return b.build();
    }

    /** The wipe records of a Result signed on its own (receiptBatching(0)), after verifying it. */
    private List<dev.depin.crypto.WipeRecord> attested(dev.depin.grpc.internal.wire.Result r) {
        dev.depin.crypto.Envelope receipt = dev.depin.crypto.Envelope.parse(r.getReceiptEnvelope().toByteArray(), 1 << 20);
        dev.depin.crypto.Envelope wipe = dev.depin.crypto.Envelope.parse(r.getWipeEnvelope().toByteArray(), 1 << 20);
        dev.depin.crypto.WipeAttestation.verify(wipe, receipt, providerKey.publicKey(),
                dev.depin.crypto.WipeAttestation.buffersOf(dev.depin.crypto.ExecutionReceipt.readUnverified(receipt)));
        return dev.depin.crypto.WipeAttestation.readUnverified(wipe).buffers();
    }

    private static java.util.Optional<dev.depin.crypto.WipeRecord> record(List<dev.depin.crypto.WipeRecord> records,
                                                                          String label) {
        return records.stream().filter(w -> w.label().equals(label)).findFirst();
    }

    @Test
    void folded_buyerThatTakesIt_getsOneMessagePerJob_oldBuyerThree_andTheCopyIsAttestedNext() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 11);
        start(ProviderNode.builder(providerKey, new CpuExecutor(1)).receiptBatching(0).build(), true,
                Duration.ofSeconds(2));
        Peer p = open(true);
        int[] sizes = {256, 1, 32_768, 333}; // the last is at the session's 256 KiB of inputs
        boolean[] fold = {true, true, false, true};
        List<dev.depin.crypto.WipeRecord> owedBefore = null;
        for (int i = 0; i < sizes.length; i++) {
            long n = i + 1;
            // The previous job's copy is zeroed (and owed) before its budget is released: once
            // released, this job's attestation is the one that lists it.
            awaitTrue(() -> server.unreadOutputBytes() == 0, "the held copies released");
            Saxpy job = new Saxpy(rnd, sizes[i], Duration.ofSeconds(60));
            ExecuteRequest start = start(n, job.job, Hostile.jobId(i + 1));
            p.out.onNext(fold[i] ? folded(start) : start);
            ExecuteResponse end = p.ended(n).get(20, TimeUnit.SECONDS);
            List<ExecuteResponse> got = p.all.get(n);
            dev.depin.grpc.internal.wire.Result result;
            if (fold[i]) {
                assertEquals(1, got.size(), "one message for job " + n + ": " + got.size());
                assertTrue(end.hasFolded());
                dev.depin.grpc.internal.wire.Folded f = end.getFolded();
                assertEquals(1, f.getOutputsCount());
                assertEquals("out", f.getOutputs(0).getName());
                assertEquals(sizes[i] * 4L, f.getOutputs(0).getData().size());
                assertEquals(0, f.getEnded().getCode(), "ended OK");
                job.check(f.getOutputs(0).getData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN));
                result = f.getResult();
            } else {
                // An old buyer: the outputs, the Result and the JobEnded, as before.
                assertEquals(3, got.size(), "three messages for job " + n);
                assertTrue(got.get(0).hasOutput());
                assertTrue(got.get(1).hasResult());
                assertEnded(Status.Code.OK, got.get(2));
                job.check(got.get(0).getOutput().getData().asReadOnlyByteBuffer()
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN));
                result = got.get(1).getResult();
            }
            List<dev.depin.crypto.WipeRecord> records = attested(result);
            java.util.Optional<dev.depin.crypto.WipeRecord> owed = record(records, "transport:folded-outputs");
            if (i > 0 && fold[i - 1]) {
                // The previous job's copy, zeroed once its message went to gRPC, is in this attestation.
                dev.depin.crypto.WipeRecord w = owed.orElseThrow(() -> new AssertionError("no folded-outputs record in "
                        + records));
                assertEquals(sizes[i - 1] * 4L, w.bytes());
                assertEquals(w.bytes(), w.bytesOverwritten());
                assertEquals(0, w.pattern());
                assertEquals(dev.depin.crypto.WipeRecord.HOST, w.location());
            } else {
                assertFalse(owed.isPresent(), "nothing owed to job " + n + ": " + records);
            }
            owedBefore = records;
        }
        assertTrue(owedBefore != null);
        p.out.onCompleted();
        assertStatus(Status.Code.OK, p.await());
        Hostile.awaitReleased(server);
        assertEquals(0, server.unreadOutputBytes(), "every held copy's budget released");
        assertEquals(sizes.length, server.node().completedCount());
    }

    @Test
    void folded_noRoomToHoldTheOutputs_sentAtOnce_andTheJobAnsweredAsBefore() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 13);
        // One peer may hold 1,000 unread output bytes: a 1,024-byte output cannot be held for the fold.
        server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).build(), providerKey)
                .listen("127.0.0.1", 0).maxUnreadOutputBytes(1 << 20, 1_000).start();
        Peer p = open(true);
        Saxpy big = new Saxpy(rnd, 256, Duration.ofSeconds(60));
        p.out.onNext(folded(start(1, big.job, Hostile.jobId(1))));
        assertEnded(Status.Code.OK, p.ended(1).get(20, TimeUnit.SECONDS));
        List<ExecuteResponse> got = p.all.get(1L);
        assertEquals(3, got.size(), "the output at once, then the Result and the JobEnded");
        assertTrue(got.get(0).hasOutput() && got.get(1).hasResult() && got.get(2).hasEnded());
        big.check(got.get(0).getOutput().getData().asReadOnlyByteBuffer());
        // A smaller one fits: folded.
        Saxpy small = new Saxpy(rnd, 200, Duration.ofSeconds(60));
        p.out.onNext(folded(start(2, small.job, Hostile.jobId(2))));
        ExecuteResponse end = p.ended(2).get(20, TimeUnit.SECONDS);
        assertTrue(end.hasFolded(), "800 output bytes fit the peer's 1,000");
        small.check(end.getFolded().getOutputs(0).getData().asReadOnlyByteBuffer());
        p.out.onCompleted();
        assertStatus(Status.Code.OK, p.await());
        Hostile.awaitReleased(server);
        assertEquals(0, server.unreadOutputBytes());
    }

    @Test
    void folded_nodeThatDoesNotFold_answersAsBefore_andANewBuyerTakesBoth() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 12);
        start(ProviderNode.builder(providerKey, new CpuExecutor(2)).build(), true, Duration.ofSeconds(2));
        server.foldSessionEnds(false); // as a node from before Start.folded
        Peer p = open(true);
        Saxpy old = new Saxpy(rnd, 100, Duration.ofSeconds(60));
        p.out.onNext(folded(start(1, old.job, Hostile.jobId(1))));
        assertEnded(Status.Code.OK, p.ended(1).get(20, TimeUnit.SECONDS));
        List<ExecuteResponse> got = p.all.get(1L);
        assertEquals(3, got.size(), "the output, the Result, the JobEnded");
        assertTrue(got.get(0).hasOutput() && got.get(1).hasResult() && got.get(2).hasEnded());
        p.out.onCompleted();
        assertStatus(Status.Code.OK, p.await());

        // This SDK's buyer on a session, against the old form, then the folded one: every result right.
        ProviderOffer offer = offer();
        long raw = server.sessionJobs(); // the raw peer's job above
        for (int i = 500; server.sessionJobs() == raw; i++) { // until the buyer's session is open
            Saxpy s = new Saxpy(rnd, 16, Duration.ofSeconds(60));
            s.check(net.dispatch(offer, request(i, s.job), q -> { }).response().get(20, TimeUnit.SECONDS)
                    .outputBytes().get("out"));
            assertTrue(i < 5_000, "no job ever went on a session");
        }
        for (boolean fold : new boolean[] {false, true}) {
            server.foldSessionEnds(fold);
            long before = server.sessionJobs();
            List<Saxpy> jobs = new ArrayList<>();
            List<Dispatch> sent = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                Saxpy s = new Saxpy(rnd, 1 + rnd.nextInt(4000), Duration.ofSeconds(60));
                jobs.add(s);
                sent.add(net.dispatch(offer, request((fold ? 100 : 0) + i, s.job), q -> { }));
            }
            for (int i = 0; i < jobs.size(); i++) {
                jobs.get(i).check(sent.get(i).response().get(30, TimeUnit.SECONDS).outputBytes().get("out"));
            }
            assertTrue(server.sessionJobs() > before, "jobs went on a session (fold " + fold + ")");
        }
        Hostile.awaitReleased(server);
        assertEquals(0, server.unreadOutputBytes());
    }

    private static void awaitTrue(Condition c, String what) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.holds()) {
            assertTrue(System.nanoTime() < until, "timed out: " + what);
            Thread.sleep(2);
        }
    }
}
