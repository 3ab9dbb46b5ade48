package dev.depin.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.JobEvent;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.node.ProviderNode;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A provider that stalls (accepts the job and never answers): the buyer's attempt times
 * out, the work is cancelled at the provider, and the job completes on another provider,
 * once.
 */
class StallTest {
    private static final long SEED = 0x5EED0013L;

    @Test
    void stalledProvider_attemptTimesOutIsCancelledThereAndTheJobCompletesElsewhere() throws Exception {
        System.out.println("StallTest seed " + SEED);
        Saxpy s = new Saxpy(new SplittableRandom(SEED), 1000, Duration.ofSeconds(120));
        Map<String, AtomicInteger> executions = FaultyExecutor.counts();
        FaultyExecutor stalling = new FaultyExecutor(new CpuExecutor(1), executions, k -> true);
        NodeKeyPair stallKey = NodeKeyPair.generate();
        NodeKeyPair goodKey = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer stalled = ProviderServer.builder(ProviderNode.builder(stallKey, stalling).build(), stallKey)
                     .directory(dir.address()).renewEvery(Duration.ofHours(1)).start();
             GrpcNetwork net = GrpcNetwork.builder().directory(dir.address()).offerCache(Duration.ZERO).build();
             DepinClient client = DepinClient.builder(net).attemptTimeout(Duration.ofSeconds(2)).build()) {
            stalled.renewNow();
            // Only the staller is listed: the job goes there and stalls.
            JobHandle h = client.submit(s.job);
            assertTrue(FaultyExecutor.await(stalling.stalled, 1, 30), "the job never reached the provider");
            try (ProviderServer good = ProviderServer.builder(ProviderNode.builder(goodKey,
                            new FaultyExecutor(new CpuExecutor(1), executions, k -> false)).build(), goodKey)
                    .directory(dir.address()).renewEvery(Duration.ofHours(1)).start()) {
                good.renewNow();
                JobResult r = h.resultAsync().get(60, TimeUnit.SECONDS);
                s.check(r);
                assertEquals(goodKey.nodeId(), r.provider());
                assertTrue(FaultyExecutor.await(stalling.cancelledStalls, 1, 30),
                        "the stalled work was never cancelled at the provider");
                assertEquals(1, executions.get(s.key()).get(), "ran to completion once, on the other provider");
                assertEquals(0, stalled.node().completedCount());
                assertEquals(1, good.node().completedCount());
                JobEvent timedOut = r.history().stream().filter(e -> e.isAttemptEvent()
                        && e.attemptState() == AttemptState.FAILED).findFirst().orElseThrow();
                assertEquals(stallKey.nodeId(), timedOut.provider());
            }
        }
    }
}
