package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.sla.SlaRecord;
import dev.depin.sla.SlaRecorder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Each request says how many of the buyer's results wait for its verifier
 * ({@link ExecutionRequest#resultsQueued()}): a provider batches the signatures of a buyer that
 * is behind. Made deterministic by holding the client's one thread in the first job's SLA
 * record and handing the responses over from the test's thread, so which results are queued
 * when each request is made follows from the order of the steps, not from timing.
 */
class ResultsQueuedTest {
    private static final long SEED = 0x5E_A1ED_2026_1207L;

    /** Passes every request to a local network and hands each response over when the test says. */
    private static final class HeldNetwork extends HeldResponsesNetwork {
        final List<ExecutionRequest> requests = new ArrayList<>();

        HeldNetwork(LocalNetwork local) {
            super("held", local);
        }

        @Override
        public synchronized Dispatch dispatch(ProviderOffer offer, ExecutionRequest request,
                                              Consumer<Progress> progress) {
            requests.add(request);
            return super.dispatch(offer, request, progress);
        }

        /** Hands the {@code i}-th response to the client on this thread (settling it here). */
        void deliver(int i) throws Exception {
            ExecutionResponse r;
            CompletableFuture<ExecutionResponse> to;
            synchronized (this) {
                r = inner.get(i).get(30, TimeUnit.SECONDS);
                to = outer.get(i);
            }
            to.complete(r);
        }

        synchronized int queuedAt(int i) {
            return requests.get(i).resultsQueued();
        }
    }

    @Test
    void submit_requestsCarryTheResultsWaitingForTheClientsVerifier() throws Exception {
        System.out.println("ResultsQueuedTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        CountDownLatch inRecorder = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        SlaRecorder holdsFirst = new SlaRecorder() {
            private boolean first = true;

            @Override
            public synchronized void record(SlaRecord record) {
                if (first) {
                    first = false;
                    inRecorder.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        byte[] seed = new byte[32];
        seed[0] = 7;
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).build();
        try (HeldNetwork net = new HeldNetwork(LocalNetwork.of(List.of(node)));
             DepinClient client = DepinClient.builder(net).threads(1).sla(holdsFirst).build()) {
            List<JobHandle> jobs = new ArrayList<>();
            jobs.add(client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(300), 3)));
            net.deliver(0);
            // The client's one thread verified job 0 and is now held in its SLA record.
            assertTrue(inRecorder.await(30, TimeUnit.SECONDS), "job 0 never reached its SLA record");
            jobs.add(client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(300), 3)));
            jobs.add(client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(300), 3)));
            net.deliver(1);
            net.deliver(2);
            // Results 1 and 2 wait for the held thread.
            jobs.add(client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(300), 3)));
            assertEquals(List.of(0, 0, 0, 2), List.of(net.queuedAt(0), net.queuedAt(1), net.queuedAt(2),
                    net.queuedAt(3)));
            release.countDown();
            net.deliver(3);
            for (JobHandle h : jobs) {
                JobResult r = h.resultAsync().get(30, TimeUnit.SECONDS);
                assertTrue(r.report().allPassed(), r.report().summary());
            }
            // Every queued result was taken: a buyer that caught up asks for signatures at once.
            jobs.add(client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(300), 3)));
            assertEquals(0, net.queuedAt(4));
            net.deliver(4);
            assertTrue(jobs.get(4).resultAsync().get(30, TimeUnit.SECONDS).report().allPassed());
        }
    }
}
