package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.SmallRequests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Receipt batching as a new user gets it: on by default, adaptive (a group commit, never a
 * wait for a batch to fill). Checked by structure, not by timing: a lone job's batch holds
 * exactly its own two statements although a batch may hold 256 jobs and nothing but the
 * node's own sealer ever seals; jobs one after the other never share a batch; concurrent jobs
 * are each covered by the signature of the batch they name.
 */
class AdaptiveBatchingTest {
    private static final long SEED = 0xADA9_2026_1205L;

    private static ProviderNode defaultNode(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 90);
        return ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).build();
    }

    @Test
    void defaultNode_batchesReceipts_andALoneJobIsSealedAloneAtOnce() {
        System.out.println("AdaptiveBatchingTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (LocalNetwork net = LocalNetwork.of(List.of(defaultNode(0), defaultNode(1)));
             DepinClient client = DepinClient.builder(net).build()) {
            Set<String> batches = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                JobResult r = client.submit(SmallRequests.saxpy(rnd, 256, 2)).result();
                assertNotNull(r.batched(), "default builder settings batch receipts");
                assertNull(r.receipt());
                assertNull(r.wipe());
                assertTrue(r.report().allPassed(), r.report().summary());
                assertTrue(r.report().summary().startsWith("batchSignature"), r.report().summary());
                // One job in flight: its batch holds its receipt and its wipe and nothing else,
                // so it was sealed without waiting for any other job (a batch may hold 256), and
                // nothing in this test asked for a seal.
                assertEquals(2, r.batched().receiptProof().leafCount(), "job " + i);
                assertEquals(2, r.batched().wipeProof().leafCount(), "job " + i);
                assertEquals(0, r.batched().receiptProof().leafIndex());
                assertEquals(1, r.batched().wipeProof().leafIndex());
                assertTrue(batches.add(r.batched().batch().digestHex()), "a new batch for every lone job");
            }
        }
    }

    @Test
    void concurrentJobs_eachCoveredByTheBatchItNames() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        try (LocalNetwork net = LocalNetwork.of(List.of(defaultNode(2), defaultNode(3)));
             DepinClient client = DepinClient.builder(net).build()) {
            List<JobHandle> handles = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                handles.add(client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(512), 2)));
            }
            CompletableFuture.allOf(handles.stream().map(JobHandle::resultAsync).toArray(CompletableFuture[]::new))
                    .get(120, TimeUnit.SECONDS);
            Set<String> batches = new HashSet<>();
            int statements = 0;
            for (JobHandle h : handles) {
                JobResult r = h.result();
                assertNotNull(r.batched());
                assertTrue(r.report().allPassed(), r.report().summary());
                int leaves = r.batched().receiptProof().leafCount();
                assertEquals(leaves, r.batched().wipeProof().leafCount());
                assertTrue(leaves >= 2 && leaves % 2 == 0 && leaves <= 2 * ProviderNode.DEFAULT_RECEIPT_BATCH, "" + leaves);
                if (batches.add(r.batched().batch().digestHex())) {
                    statements += leaves;
                }
            }
            // Every job is in exactly one batch: the batches' statements add up to two per job.
            assertEquals(2 * handles.size(), statements);
            System.out.println("AdaptiveBatchingTest: 200 concurrent jobs in " + batches.size() + " batch(es)");
        }
    }

    /** A node whose seal linger outlasts any test: a job is sealed early only because of what runs. */
    private static ProviderNode lingeringNode(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 110);
        return ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).sealLinger(Duration.ofHours(1))
                .build();
    }

    @Test
    void buyerBehind_jobWaitsForCompany_andTheNextJobOfACaughtUpBuyerSealsBoth() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        try (ProviderNode node = lingeringNode(0)) {
            ExecutionRequest behind = SmallRequests.request(rnd, ExecutionRequest.BEHIND);
            NodeAttempt a = node.submit(behind, p -> { }, behind.newAssembler());
            // Nothing is queued behind it, but its buyer is behind: it waits for the next job.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (node.pendingSeals() != 1) {
                assertTrue(System.nanoTime() < until, "the job of a buyer that is behind was not held for a batch");
                Thread.sleep(1);
            }
            assertFalse(a.result().isDone(), "held for company, with an hour's linger");
            ExecutionRequest caughtUp = SmallRequests.request(rnd, ExecutionRequest.BEHIND - 1);
            NodeAttempt b = node.submit(caughtUp, p -> { }, caughtUp.newAssembler());
            NodeResult ra = a.result().get(30, TimeUnit.SECONDS);
            NodeResult rb = b.result().get(30, TimeUnit.SECONDS);
            assertEquals(ra.batched().batch().digestHex(), rb.batched().batch().digestHex(), "one signature for both");
            assertEquals(4, ra.batched().receiptProof().leafCount());
            assertEquals(List.of(0, 1, 2, 3), List.of(ra.batched().receiptProof().leafIndex(),
                    ra.batched().wipeProof().leafIndex(), rb.batched().receiptProof().leafIndex(),
                    rb.batched().wipeProof().leafIndex()));
            assertEquals(0, node.pendingSeals());
        }
    }

    @Test
    void buyerNotBehind_jobSealedAloneAtOnce() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        try (ProviderNode node = lingeringNode(1)) {
            for (int queued = 0; queued < ExecutionRequest.BEHIND; queued++) {
                ExecutionRequest r = SmallRequests.request(rnd, queued);
                // Completes although the linger is an hour: it was sealed as soon as it was done.
                NodeResult res = node.submit(r, p -> { }, r.newAssembler()).result().get(30, TimeUnit.SECONDS);
                assertEquals(2, res.batched().receiptProof().leafCount(), "results queued " + queued);
            }
        }
    }

    @Test
    void sealsAtOnce_onlyWithAnEmptyQueueAndABuyerNotBehind() {
        assertTrue(ProviderNode.sealsAtOnce(true, 0));
        assertTrue(ProviderNode.sealsAtOnce(true, ExecutionRequest.BEHIND - 1));
        assertFalse(ProviderNode.sealsAtOnce(true, ExecutionRequest.BEHIND));
        assertFalse(ProviderNode.sealsAtOnce(true, Integer.MAX_VALUE));
        assertFalse(ProviderNode.sealsAtOnce(false, 0));
        assertFalse(ProviderNode.sealsAtOnce(false, ExecutionRequest.BEHIND));
    }
}
