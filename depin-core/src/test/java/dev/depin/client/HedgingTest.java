package dev.depin.client;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hedging: a lone attempt that has not answered within the delay gets a second provider;
 * the first verified answer wins and the other attempt is cancelled where it runs.
 */
class HedgingTest {
    private static final long SEED = 20261128L;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void seed() {
        System.out.println("HedgingTest seed = " + SEED);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Providers with prices ten times apart: provider 0 is the cheapest, so it gets the first attempt. */
    private List<ProviderNode> nodes(int n, IntFunction<DeviceExecutor> exec) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 1);
            nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), exec.apply(i))
                    .price(new Price(MicroUsd.ofMicros((long) Math.pow(10, 3 + i)), MicroUsd.ofMicros(10_000)))
                    .build());
        }
        return nodes;
    }

    private DepinClient client(List<ProviderNode> nodes, Duration hedgeAfter) {
        return client(nodes, hedgeAfter, null);
    }

    /** With {@code timers} not null, the client's timers are held there until the test fires them. */
    private DepinClient client(List<ProviderNode> nodes, Duration hedgeAfter, List<HeldTimers> timers) {
        LocalNetwork net = LocalNetwork.of(nodes);
        DepinClient.Builder b = DepinClient.builder(net).maxAttempts(3).attemptTimeout(Duration.ofSeconds(60))
                .hedgeAfter(hedgeAfter);
        if (timers != null) {
            b.schedulers(HeldTimers.into(timers));
        }
        DepinClient c = b.build();
        open.add(net);
        open.add(c);
        return c;
    }

    private static Job saxpy(SplittableRandom rnd, int n, VerificationPolicy policy, float[] expected) {
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-100, 101);
            y[i] = rnd.nextInt(-100, 101);
            expected[i] = 3 * x[i] + y[i];
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3).input("x", x).input("y", y)
                .verification(policy).maxPrice(MicroUsd.ofUsd("1")).timeout(Duration.ofSeconds(60)).build();
    }

    private static List<JobEvent> attemptEvents(JobResult r, AttemptState s) {
        return r.history().stream().filter(e -> e.attemptState() == s).toList();
    }

    @Test
    void slowPrimary_isOvertakenByTheHedgeAndCancelledWhereItRuns() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        List<ProviderNode> nodes = nodes(2, i -> i == 0 ? slow : new CpuExecutor(1));
        // The hedge is armed for 50 ms but fires when the test says: once the primary runs at its
        // provider, so that it is cancelled where it runs. Left to the wall clock, a loaded
        // machine could start the primary (queued behind the last one's cancel at the node's
        // only worker) after the hedge had won, and cancel it before it ran.
        List<HeldTimers> timers = new ArrayList<>();
        DepinClient client = client(nodes, Duration.ofMillis(50), timers);
        SplittableRandom rnd = new SplittableRandom(SEED);
        int job = 0;
        for (int n : new int[] {1, 3, 1000}) {
            float[] expected = new float[n];
            var h = client.submit(saxpy(rnd, n, VerificationPolicy.spotCheck(1.0), expected));
            job++;
            assertTrue(slow.awaitRuns(job, 30), "primary " + job + " never ran: " + h.events());
            assertEquals(1, timers.get(0).fire(Duration.ofMillis(50)), "the hedge's timer");
            JobResult r = h.result();
            assertEquals(nodes.get(1).nodeId(), r.provider(), "the hedge answered; the primary is blocked");
            assertArrayEquals(expected, r.floats("out"));
            List<JobEvent> dispatched = attemptEvents(r, AttemptState.DISPATCHED);
            assertEquals(2, dispatched.size(), r.history().toString());
            assertTrue(dispatched.get(1).detail().startsWith("hedge: attempt "), dispatched.get(1).detail());
            List<JobEvent> cancelled = attemptEvents(r, AttemptState.CANCELLED);
            assertEquals(1, cancelled.size(), r.history().toString());
            assertEquals(nodes.get(0).nodeId(), cancelled.get(0).provider());
            assertTrue(cancelled.get(0).detail().contains("answered first and was verified"), cancelled.get(0).detail());
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (nodes.get(0).busy() != 0 && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertEquals(0, nodes.get(0).busy(), "the cancelled primaries let go of their provider");
        assertEquals(3, slow.log.stream().filter("cancel"::equals).count(), slow.log.toString());
    }

    @Test
    void fastPrimary_isNeverHedged() {
        List<ProviderNode> nodes = nodes(2, i -> new CpuExecutor(1));
        DepinClient client = client(nodes, Duration.ofSeconds(30));
        float[] expected = new float[64];
        JobResult r = client.submit(saxpy(new SplittableRandom(SEED + 1), 64, VerificationPolicy.spotCheck(1.0),
                expected)).result();
        assertEquals(nodes.get(0).nodeId(), r.provider());
        assertEquals(1, attemptEvents(r, AttemptState.DISPATCHED).size(), r.history().toString());
        assertEquals(0, nodes.get(1).completedCount());
    }

    @Test
    void hedgeThatLies_losesToTheSlowHonestPrimary() throws Exception {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        List<ProviderNode> nodes = nodes(2, i -> i == 0 ? slow
                : new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement()));
        DepinClient client = client(nodes, Duration.ofMillis(20));
        float[] expected = new float[9];
        var h = client.submit(saxpy(new SplittableRandom(SEED + 2), 9, VerificationPolicy.spotCheck(1.0), expected));
        // The hedge answers (wrongly) and is disputed; the round waits for the primary, which then answers.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (h.events().stream().noneMatch(e -> e.attemptState() == AttemptState.DISPUTED)
                && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        slow.release(1);
        JobResult r = h.result();
        assertEquals(nodes.get(0).nodeId(), r.provider());
        assertArrayEquals(expected, r.floats("out"));
        assertEquals(1, r.disputes().size());
        assertEquals(nodes.get(1).nodeId(), r.disputes().get(0).provider());
    }

    @Test
    void redundantJobs_areNotHedged() {
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        List<ProviderNode> nodes = nodes(3, i -> i == 0 ? slow : new CpuExecutor(1));
        DepinClient client = client(nodes, Duration.ofMillis(10));
        float[] expected = new float[5];
        var h = client.submit(saxpy(new SplittableRandom(SEED + 3), 5, VerificationPolicy.redundant(2), expected));
        slow.release(1);
        JobResult r = h.result();
        assertArrayEquals(expected, r.floats("out"));
        assertEquals(2, attemptEvents(r, AttemptState.DISPATCHED).size(), "two replicas, no hedge: " + r.history());
    }

    @Test
    void hedgeDelay_mustBePositive() {
        LocalNetwork net = LocalNetwork.of(nodes(1, i -> new CpuExecutor(1)));
        open.add(net);
        DepinClient.Builder b = DepinClient.builder(net);
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> b.hedgeAfter(Duration.ZERO));
        assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> b.hedgeAfter(Duration.ofMillis(-1)));
        assertThrows(InvalidArgumentException.class, () -> b.hedgeAfter(null));
    }
}
