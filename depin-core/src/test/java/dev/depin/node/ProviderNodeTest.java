package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OutputAssembler;
import dev.depin.provider.ProviderRejectedException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A provider node's attempt life: queue, cancel, close. */
class ProviderNodeTest {

    private static ExecutionRequest request(int attempt) {
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 2).input("x", new float[] {1, 2}).build();
        return new ExecutionRequest("0123456789abcdef0123456789abcdef", attempt, job.spec(), job.inputs(),
                new byte[ExecutionRequest.NONCE_BYTES]);
    }

    private static Throwable failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the attempt to fail");
    }

    @Test
    void close_completesQueuedAndRunningAttemptsThenClosesExecutor() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), slow).concurrency(1, 8).build();
        List<NodeAttempt> attempts = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            ExecutionRequest r = request(i);
            attempts.add(node.submit(r, p -> { }, r.newAssembler()));
        }
        assertTrue(slow.awaitStarted(10), "the first attempt never started");
        assertEquals(3, node.busy());
        node.close();
        Throwable running = failure(attempts.get(0).result());
        assertEquals(ExecutionCancelledException.class, running.getClass(), running.toString());
        for (int i = 1; i < 3; i++) {
            Throwable queued = failure(attempts.get(i).result());
            assertEquals(ProviderRejectedException.class, queued.getClass(), queued.toString());
            assertTrue(queued.getMessage().endsWith(" closed before the attempt started: try another provider"),
                    queued.getMessage());
        }
        for (NodeAttempt a : attempts) {
            a.released().get(10, TimeUnit.SECONDS);
        }
        assertEquals(0, node.busy());
        assertEquals(0, node.completedCount());
        assertEquals(1, node.cancelledCount());
        assertEquals(2, node.failedCount());
        // The executor is closed only after the running attempt let go of its context.
        assertEquals(List.of("run", "cancel", "context-closed", "executor-closed"), slow.log);
    }

    @Test
    void cancel_queuedAttemptNeverRuns() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        try (ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), slow).concurrency(1, 8)
                .build()) {
            ExecutionRequest first = request(1);
            ExecutionRequest second = request(2);
            NodeAttempt a = node.submit(first, p -> { }, first.newAssembler());
            NodeAttempt b = node.submit(second, p -> { }, second.newAssembler());
            assertTrue(slow.awaitStarted(10));
            b.cancel("not needed");
            Throwable t = failure(b.result());
            assertEquals(ExecutionCancelledException.class, t.getClass());
            assertTrue(t.getMessage().endsWith("cancelled before it started: not needed"), t.getMessage());
            b.released().get(10, TimeUnit.SECONDS);
            slow.release(1);
            a.result().get(10, TimeUnit.SECONDS);
            a.released().get(10, TimeUnit.SECONDS);
            assertEquals(0, node.busy());
            assertEquals(1, node.completedCount());
            assertEquals(1, node.cancelledCount());
            assertEquals(List.of("run", "context-closed"), slow.log);
        }
    }

    @Test
    void submit_afterCloseIsRefused() throws Exception {
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), new CpuExecutor(1)).build();
        node.close();
        ExecutionRequest r = request(1);
        OutputAssembler asm = r.newAssembler();
        NodeAttempt a = node.submit(r, p -> { }, asm);
        Throwable t = failure(a.result());
        assertEquals(ProviderRejectedException.class, t.getClass());
        assertTrue(t.getMessage().endsWith(" is closed: try another"), t.getMessage());
        assertTrue(a.released().isDone());
        assertEquals(0, node.busy());
    }

    @Test
    void submit_busyBuyerQueuesBehindItselfNotBeforeOthers() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        // Each job signed on its own: a batch would complete its jobs together, in no set order.
        try (ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), slow).concurrency(1, 64)
                .receiptBatching(0).build()) {
            List<String> done = java.util.Collections.synchronizedList(new ArrayList<>());
            List<NodeAttempt> attempts = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                ExecutionRequest r = request(i);
                NodeAttempt a = node.submit(r, p -> { }, r.newAssembler(), dev.depin.network.spi.TransportBuffers.NONE,
                        "flooder");
                a.result().thenRun(() -> done.add("flooder#" + r.attempt()));
                attempts.add(a);
                if (i == 1) {
                    assertTrue(slow.awaitStarted(10), "the first attempt never started");
                }
            }
            ExecutionRequest honest = request(11);
            NodeAttempt h = node.submit(honest, p -> { }, honest.newAssembler(),
                    dev.depin.network.spi.TransportBuffers.NONE, "honest");
            h.result().thenRun(() -> done.add("honest"));
            attempts.add(h);
            slow.release(100);
            for (NodeAttempt a : attempts) {
                a.result().get(10, TimeUnit.SECONDS);
                a.released().get(10, TimeUnit.SECONDS);
            }
            // The flooder's first job was running and its second was first in turn; the honest job
            // is next, third of eleven, not last.
            assertEquals(List.of("flooder#1", "flooder#2", "honest"), done.subList(0, 3), done.toString());
            assertEquals(11, node.completedCount());
        }
    }

    @Test
    void admit_jobOverTheNodesLimits_refusedWithTheLimit() {
        try (ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), new CpuExecutor(1))
                .jobLimits(4, 12).build()) {
            node.admit(request(1).spec()); // 8 input + 4 output bytes
            Job big = Job.builder(BuiltinKernel.SAXPY).param("n", 2).param("alpha", 1f)
                    .input("x", new float[2]).input("y", new float[2]).build();
            dev.depin.provider.JobTooLargeException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.depin.provider.JobTooLargeException.class, () -> node.admit(big.spec()));
            assertEquals("job declares 8 output bytes; provider " + node.nodeId().shortId() + " returns at most 4 per "
                    + "job: split the job or pick a provider that takes larger ones", e.getMessage());
            ExecutionRequest r = new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, big.spec(), big.inputs(),
                    new byte[ExecutionRequest.NONCE_BYTES]);
            NodeAttempt a = node.submit(r, p -> { }, r.newAssembler());
            Throwable t = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> a.result().get(10, TimeUnit.SECONDS)).getCause();
            assertEquals(dev.depin.provider.JobTooLargeException.class, t.getClass(), t.toString());
        }
    }
}
