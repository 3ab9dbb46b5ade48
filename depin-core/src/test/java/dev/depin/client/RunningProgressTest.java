package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A provider's "running" progress is recorded on the thread that reports it, before that
 * thread can report the answer: in process, where the node's worker reports both, every job
 * shows RUNNING between DISPATCHED and RETURNED (when the progress hopped to the client's
 * scheduler it raced the answer, and most small jobs lost it).
 */
class RunningProgressTest {
    private static final long SEED = 0x2026_1207_0501L;

    @Test
    void localJob_runningRecordedBetweenDispatchedAndReturned() throws Exception {
        System.out.println("RunningProgressTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        byte[] seed = new byte[32];
        seed[0] = 9;
        try (LocalNetwork net = LocalNetwork.of(List.of(ProviderNode.builder(NodeKeyPair.fromSeed(seed),
                new CpuExecutor(1)).build()));
             DepinClient client = DepinClient.builder(net).build()) {
            for (int j = 0; j < 20; j++) {
                int n = 1 + rnd.nextInt(400);
                float[] x = new float[n];
                float[] y = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) rnd.nextDouble(-1, 1);
                    y[i] = (float) rnd.nextDouble(-1, 1);
                }
                JobResult r = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2)
                        .input("x", x).input("y", y).timeout(Duration.ofSeconds(60)).build()).result();
                List<JobState> jobStates = r.history().stream().filter(e -> !e.isAttemptEvent())
                        .map(JobEvent::state).toList();
                assertEquals(List.of(JobState.SUBMITTED, JobState.MATCHED, JobState.DISPATCHED, JobState.RUNNING,
                        JobState.RETURNED, JobState.VERIFIED), jobStates, "job " + j + " (n = " + n + ")");
                List<AttemptState> attemptStates = r.history().stream().filter(JobEvent::isAttemptEvent)
                        .map(JobEvent::attemptState).toList();
                assertEquals(List.of(AttemptState.DISPATCHED, AttemptState.RUNNING, AttemptState.RETURNED,
                        AttemptState.ACCEPTED), attemptStates, "job " + j);
            }
        }
    }
}
