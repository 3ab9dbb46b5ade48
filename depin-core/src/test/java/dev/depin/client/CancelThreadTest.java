package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The threading contract of a cancel (docs/decisions.md, "A cancel runs none of the caller's
 * code"): {@code cancelAsync()} and {@code resultAsync().cancel(..)} return with the result future
 * reading as cancelled, but the future's dependents (user code) run on the client's scheduler,
 * never on the cancelling thread and never under the job's lock; a dependent that blocks does not
 * hold up the cancel. The job is held in flight (its provider's answer never reaches the client)
 * and no timer fires on its own ({@link HeldTimers}); the blocking dependent waits on a latch the
 * test opens only after the canceller returned, so a cancel that ran it would never return.
 */
class CancelThreadTest {
    private static final long SEED = 0x0_2026_1207_2240L;
    private static final long WAIT_SECONDS = 30;

    private record Seen(boolean won, boolean cancelledOnReturn, boolean doneOnReturn, JobState state,
                        boolean getNowThrew) {
    }

    private static void cancelRunsNoCallback(Predicate<JobHandle> cancel, String how, long seed) throws Exception {
        System.out.println("CancelThreadTest " + how + " seed = " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] key = new byte[32];
        key[0] = (byte) (seed & 0x7f);
        ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(key), new CpuExecutor(1)).build();
        HeldResponsesNetwork net = new HeldResponsesNetwork("held", LocalNetwork.of(List.of(node)));
        JobLocks locks = new JobLocks();
        List<HeldTimers> timers = new ArrayList<>();
        DepinClient client = DepinClient.builder(net).maxAttempts(1).schedulers(HeldTimers.into(timers)).seams(locks)
                .build();
        CountDownLatch blocking = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        AtomicBoolean underLock = new AtomicBoolean();
        try {
            JobHandle job = client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(1000), 0.75f));
            assertTrue(net.dispatched.await(WAIT_SECONDS, TimeUnit.SECONDS), "the attempt was never dispatched");
            // Two dependents: one records its thread, one blocks until the test lets it go.
            job.resultAsync().whenComplete((r, t) -> {
                ranOn.add(Thread.currentThread());
                underLock.compareAndSet(false, locks.heldHere(job));
            });
            CompletableFuture<JobResult> blocked = job.resultAsync().whenComplete((r, t) -> {
                ranOn.add(Thread.currentThread());
                blocking.countDown();
                try {
                    if (!letGo.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                        throw new AssertionError("the test never let the blocking callback go");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            AtomicReference<Seen> seen = new AtomicReference<>();
            Thread canceller = new Thread(() -> {
                boolean won = cancel.test(job);
                boolean threw;
                try {
                    job.resultAsync().getNow(null);
                    threw = false;
                } catch (CancellationException e) {
                    threw = true;
                }
                seen.set(new Seen(won, job.resultAsync().isCancelled(), job.resultAsync().isDone(), job.state(), threw));
            }, "canceller");
            canceller.start();
            canceller.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(canceller.isAlive(), how + " did not return: it ran the blocking callback, or waited for it");
            Seen s = seen.get();
            assertTrue(s.won(), how + " lost");
            assertTrue(s.cancelledOnReturn(), "the result future did not read as cancelled when " + how + " returned");
            assertTrue(s.doneOnReturn(), "the result future was not done when " + how + " returned");
            assertTrue(s.getNowThrew(), "getNow did not throw CancellationException when " + how + " returned");
            assertEquals(JobState.CANCELLED, s.state());
            assertThrows(CancellationException.class, job::result, "a waiting caller sees the cancel at once");
            assertTrue(blocking.await(WAIT_SECONDS, TimeUnit.SECONDS), "the blocking callback never ran");
            assertFalse(blocked.isDone(), "the blocking callback is still held");
            letGo.countDown();
            assertTrue(assertThrows(java.util.concurrent.CompletionException.class, blocked::join).getCause()
                    instanceof CancellationException, "the dependent saw the cancel");
            CompletionThreadTest.awaitTrue(() -> ranOn.size() == 2, "the other callback never ran: " + ranOn);
            for (Thread t : ranOn) {
                assertNotSame(canceller, t, "a callback ran on the cancelling thread");
                assertTrue(t.getName().startsWith("depin-client-"), "a callback ran on " + t.getName()
                        + ", not the client's scheduler");
            }
            assertFalse(underLock.get(), "a callback ran under the job's lock");
            assertFalse(job.resultAsync().complete(null), "a cancelled job's future takes no other outcome");
            assertTrue(job.resultAsync().isCancelled());
        } finally {
            letGo.countDown();
            client.close();
            net.close();
        }
    }

    @Test
    void cancelAsync_runsNoCallbackOnTheCallersThread_andABlockingCallbackDoesNotHoldItUp() throws Exception {
        cancelRunsNoCallback(h -> h.cancelAsync().join(), "cancelAsync()", SEED);
    }

    @Test
    void futureCancel_runsNoCallbackOnTheCallersThread_andABlockingCallbackDoesNotHoldItUp() throws Exception {
        cancelRunsNoCallback(h -> h.resultAsync().cancel(true), "resultAsync().cancel(true)", SEED + 1);
    }
}
