package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.DepinException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.LocalNetwork;
import dev.depin.node.NodeAttempt;
import dev.depin.node.NodeResult;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * A thread blocked in a job's {@code result()} does the job's work itself where it can: it runs
 * a lone attempt its network lets it run ({@link Dispatch#runHere()}, in process) and the
 * verification of the answer, instead of handing them to a provider's worker and the client's
 * scheduler and being woken back. Made deterministic by a network that answers only when the
 * test says, or on the thread that calls {@code runHere}, so which thread completes what
 * follows from the steps, not from timing.
 */
class WaitingThreadTest {
    private static final long SEED = 0x0_2026_1207_0750L;

    /**
     * Passes each attempt to a local network; its response reaches the client only through
     * {@code runHere} (on the calling thread) or {@link #deliver} (on the test's thread).
     */
    private static final class HereNetwork extends HeldResponsesNetwork {
        final List<Thread> ranHereOn = new CopyOnWriteArrayList<>();

        HereNetwork(LocalNetwork local) {
            super("here", local);
        }

        @Override
        public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
            Dispatch d = local.dispatch(offer, request, p -> { });
            CompletableFuture<ExecutionResponse> mine = hold(d);
            return Dispatch.of(mine, d.released(), d::cancel).runnableHere(() -> {
                ranHereOn.add(Thread.currentThread());
                mine.complete(d.response().join());
                return true;
            });
        }

        /** Hands the {@code i}-th response to the client on this thread. */
        void deliver(int i) throws Exception {
            outer.get(i).complete(inner.get(i).get(30, TimeUnit.SECONDS));
        }
    }

    /** Remembers the thread each finished job's SLA record was made on: the thread that verified it. */
    private static final class Verifiers implements dev.depin.sla.SlaRecorder {
        final List<Thread> threads = new CopyOnWriteArrayList<>();

        @Override
        public void record(dev.depin.sla.SlaRecord record) {
            threads.add(Thread.currentThread());
        }
    }

    private static ProviderNode node(int seedByte) {
        byte[] seed = new byte[32];
        seed[0] = (byte) seedByte;
        return ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).build();
    }

    @Test
    void result_runsTheLoneAttemptAndItsVerificationOnTheWaitingThread() {
        System.out.println("WaitingThreadTest.result_runs… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        Verifiers verifiers = new Verifiers();
        try (HereNetwork net = new HereNetwork(LocalNetwork.of(List.of(node(11))));
             DepinClient client = DepinClient.builder(net).sla(verifiers).build()) {
            for (int j = 0; j < 8; j++) {
                JobHandle h = client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(700), 1.5f));
                JobResult r = j % 2 == 0 ? h.result() : h.resultAsync().join();
                assertTrue(r.report().allPassed(), r.report().summary());
                assertEquals(JobState.VERIFIED, h.state());
                assertEquals(List.of(Thread.currentThread()), net.ranHereOn.subList(j, j + 1), "job " + j);
                assertEquals(j + 1, net.ranHereOn.size(), "runHere asked once per attempt");
                assertEquals(List.of(Thread.currentThread()), verifiers.threads.subList(j, j + 1),
                        "job " + j + " verified on another thread");
            }
        }
    }

    @Test
    void timedResult_leavesTheWorkToTheProviderAndTheScheduler() throws Exception {
        System.out.println("WaitingThreadTest.timedResult… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        Verifiers verifiers = new Verifiers();
        try (HereNetwork net = new HereNetwork(LocalNetwork.of(List.of(node(12))));
             DepinClient client = DepinClient.builder(net).sla(verifiers).build()) {
            JobHandle h = client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(700), -3));
            // A timed wait runs nothing here (a stage could outlast it): the answer never comes.
            TimeoutException e = assertThrows(TimeoutException.class, () -> h.result(Duration.ofMillis(20)));
            assertTrue(e.getMessage().contains("keeps running"), e.getMessage());
            assertTrue(net.ranHereOn.isEmpty(), "a timed wait ran the attempt");
            verifiedOnTheScheduler(net, h, verifiers);
        }
    }

    /**
     * Delivers the job's only answer on this thread, which no longer waits for it: the job is
     * verified on the client's scheduler, and verified well.
     */
    private static void verifiedOnTheScheduler(HereNetwork net, JobHandle h, Verifiers verifiers) throws Exception {
        net.deliver(0);
        JobResult r = h.resultAsync().get(30, TimeUnit.SECONDS);
        assertTrue(r.report().allPassed(), r.report().summary());
        assertEquals(1, verifiers.threads.size());
        assertTrue(verifiers.threads.get(0).getName().startsWith("depin-client"), verifiers.threads.get(0).getName());
    }

    @Test
    void result_interrupted_jobGoesOnWithoutTheWaiter() throws Exception {
        System.out.println("WaitingThreadTest.result_interrupted… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        Verifiers verifiers = new Verifiers();
        try (HereNetwork net = new HereNetwork(LocalNetwork.of(List.of(node(13))));
             DepinClient client = DepinClient.builder(net).sla(verifiers).build()) {
            JobHandle h = client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(700), 0.25f));
            Thread.currentThread().interrupt();
            DepinException e = assertThrows(DepinException.class, h::result);
            assertTrue(e.getMessage().startsWith("interrupted while waiting for job " + h.jobId()), e.getMessage());
            assertTrue(Thread.interrupted(), "result() keeps the interrupt");
            assertTrue(net.ranHereOn.isEmpty(), "an interrupted waiter ran the attempt");
            verifiedOnTheScheduler(net, h, verifiers);
        }
    }

    @Test
    void localNetwork_manyWaitedJobsAllVerified() {
        System.out.println("WaitingThreadTest.localNetwork… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        try (LocalNetwork net = LocalNetwork.of(List.of(node(14), node(15)));
             DepinClient client = DepinClient.builder(net).build()) {
            List<JobHandle> async = new ArrayList<>();
            for (int j = 0; j < 60; j++) {
                JobHandle h = client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(2000), (float) rnd.nextDouble()));
                if (j % 3 == 0) {
                    async.add(h); // some jobs stay in flight while others are waited for
                    continue;
                }
                JobResult r = h.result();
                assertTrue(r.report().allPassed(), "job " + j + ": " + r.report().summary());
                assertEquals(JobState.VERIFIED, h.state());
            }
            for (JobHandle h : async) {
                assertTrue(h.result().report().allPassed());
            }
        }
    }

    @Test
    void localNetwork_waitedJobsWithTheirWipeToFollowAllVerified() {
        System.out.println("WaitingThreadTest.localNetwork_waitedJobsWithTheirWipeToFollow… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED + 5);
        try (LocalNetwork net = LocalNetwork.of(List.of(node(17)));
             DepinClient client = DepinClient.builder(net).build()) {
            for (int j = 0; j < 4; j++) {
                // x, y and the output: at least ProviderNode.RECEIPT_FIRST_BYTES in all, so the
                // receipt comes before the wipe, whether a worker or the waiting thread runs it.
                int n = (int) (ProviderNode.RECEIPT_FIRST_BYTES / 4) + rnd.nextInt(5000);
                JobResult r = client.submit(SmallRequests.saxpy(rnd, n, 2)).result();
                assertTrue(r.report().allPassed(), "job " + j + ": " + r.report().summary());
                assertTrue(r.receipt() != null && r.wipe() != null, "job " + j + ": both envelopes, signed apart");
            }
        }
    }

    @Test
    void runHere_falseWhileTheNodesOnlySlotIsBusyOrAWorkerHasTheAttempt() throws Exception {
        System.out.println("WaitingThreadTest.runHere… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (ProviderNode node = node(16)) {
            // The only worker holds the node's only slot: it waits in the first attempt's RUNNING report.
            NodeAttempt first = node.submit(SmallRequests.request(rnd, 0), p -> {
                if (p == ComputeNetwork.Progress.RUNNING) {
                    running.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }, (name, chunk) -> { });
            assertTrue(running.await(30, TimeUnit.SECONDS), "the first attempt never ran");
            NodeAttempt second = node.submit(SmallRequests.request(rnd, 0), p -> { }, (name, chunk) -> { });
            assertFalse(first.runHere(), "a worker already runs the first attempt");
            assertFalse(second.runHere(), "the node's one slot is taken: the second attempt must wait for it");
            release.countDown();
            NodeResult a = first.result().get(30, TimeUnit.SECONDS);
            NodeResult b = second.result().get(30, TimeUnit.SECONDS);
            assertFalse(a.jobId().equals(b.jobId()));
            assertFalse(second.runHere(), "a finished attempt runs nowhere again");
        }
    }
}
