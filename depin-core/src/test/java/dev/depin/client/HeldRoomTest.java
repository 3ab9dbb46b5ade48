package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.network.ScriptedNetwork;
import dev.depin.node.InputCache;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Room for held outputs, counted on both sides. The client that left outputs on a node does not
 * send it a job whose outputs would not fit beside them ({@code HeldRoom}, before any dispatch);
 * a node whose room for a buyer is taken refuses the buyer's next such job before running it
 * (its kernel never starts), saying what is held and until when; once the held outputs expire,
 * the same job runs.
 */
class HeldRoomTest {
    private static final long SEED = 0x4E1DL;
    /** 200 x 96 floats: each job leaves 76,800 bytes. */
    private static final int M = 200;
    private static final int K = 96;
    private static final long OUTPUT_BYTES = (long) M * K * 4;

    @Test
    void aJobWhoseOutputsCannotBeHeld_isRefusedBeforeItsKernelRuns_untilHeldOnesExpire() {
        System.out.println("HeldRoomTest seed 0x" + Long.toHexString(SEED));
        SplittableRandom random = new SplittableRandom(SEED);
        LeaveOnNodeTest.LaterClock clock = new LeaveOnNodeTest.LaterClock();
        BlockingExecutor executor = new BlockingExecutor(new CpuExecutor(1));
        executor.release(100);
        // Room for two outputs per buyer: 2 x 76,800 bytes and a little more, not three.
        InputCache.Limits limits = InputCache.Limits.of(16L << 20, 64).withPeerShare(2 * OUTPUT_BYTES + 1_000, 8)
                .withIdleTtl(Duration.ofMinutes(10));
        ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), executor).receiptBatching(0).clock(clock)
                .inputCache(limits).build();
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(node)));
        try (node;
             DepinClient client = DepinClient.builder(net).maxAttempts(1).clock(clock).build();
             DepinClient other = DepinClient.builder(net).maxAttempts(1).clock(clock).build()) {
            for (int i = 0; i < 2; i++) {
                JobResult r = client.submit(job(random)).result();
                assertEquals(OUTPUT_BYTES, r.heldOutputs().get("c").bytes(), "job " + i);
            }
            assertEquals(2, runs(executor));
            long dispatched = net.dispatches(node.nodeId());

            // The client that left them knows: the job is not sent at all.
            JobFailedException mine = assertThrows(JobFailedException.class, () -> client.submit(job(random)).result());
            assertTrue(mine.getMessage().contains(node.nodeId().shortId() + " holds " + (2 * OUTPUT_BYTES + 1_000)
                    + " bytes in 8 entries per buyer, and this buyer's 2 output(s) of " + 2 * OUTPUT_BYTES + " bytes "
                    + "held there leave no room for this job's 1 of " + OUTPUT_BYTES + " bytes until the first "
                    + "expires at "), mine.getMessage());
            String rejection = mine.getSuppressed()[0].getMessage();
            assertTrue(rejection.startsWith("no offer can hold this job's outputs: this job asks "
                    + "leaveOutputsOnNode(PT5M) for 1 output(s) of " + OUTPUT_BYTES + " bytes together; the best of 1 "
                    + "offer(s), " + node.nodeId().shortId() + ", holds up to PT10M, 64 entries (8 per buyer), "
                    + (2 * OUTPUT_BYTES + 1_000) + " bytes per buyer: wait until "), rejection);
            assertTrue(rejection.endsWith(", when the first of this buyer's held outputs expires, leave fewer or "
                    + "smaller outputs, return them, or add a provider whose offer holds more"), rejection);
            assertEquals(dispatched, net.dispatches(node.nodeId()), "nothing was sent");

            // Another client of the same buyer does not know: the node refuses before running it.
            JobFailedException theirs = assertThrows(JobFailedException.class,
                    () -> other.submit(job(random)).result());
            assertTrue(theirs.getMessage().contains("provider " + node.nodeId().shortId() + " cannot hold this job's "
                    + "outputs for PT5M: it holds " + (2 * OUTPUT_BYTES + 1_000) + " bytes in 8 entries per buyer, and "
                    + "this job would leave 1 more of " + OUTPUT_BYTES + " bytes; this buyer's 2 held output(s) of "
                    + 2 * OUTPUT_BYTES + " bytes are kept until they expire, the first at "), theirs.getMessage());
            assertEquals(dispatched + 1, net.dispatches(node.nodeId()));
            assertEquals(2, runs(executor), "the refused job's kernel never ran");

            // Held for 5 minutes: after them the room is free again, and the same kind of job runs.
            clock.advance(Duration.ofMinutes(5).plusSeconds(1));
            JobResult after = client.submit(job(random)).result();
            assertEquals(OUTPUT_BYTES, after.heldOutputs().get("c").bytes());
            assertEquals(3, runs(executor));
        }
    }

    private static long runs(BlockingExecutor executor) {
        return executor.log.stream().filter("run"::equals).count();
    }

    private static Job job(SplittableRandom random) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", K)
                .input("a", floats(random, M * K)).input("b", floats(random, K * K))
                .maxPrice(MicroUsd.ofMicros(50_000)).timeout(Duration.ofMinutes(10)) // outlasts the node clock moved on
                .leaveOutputsOnNode(Duration.ofMinutes(5)).build();
    }

    private static float[] floats(SplittableRandom random, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }
}
