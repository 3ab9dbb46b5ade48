package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.client.internal.JobRun;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.network.ScriptedNetwork;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A job's completion (its SLA record, its result future, the caller's continuations on it) runs
 * on a client thread, never on the thread that delivered the provider's answer: in production a
 * transport's callback thread (gRPC, Netty), here a thread of the test's network named
 * "transport-…". Every way a job ends is driven to the moment where, before the fix, that thread
 * ran the completion: the job is decided while the thread that decided it has not yet run its
 * completion (the test holds the job's lock across the deciding stage, which is what a thread
 * preempted between the two looks like; a cancel stops in the seam after it won), and the
 * transport thread then passes through the job with the completion waiting. The interleaving is
 * forced with latches and by waiting until the transport thread is blocked on the job's lock
 * (read from {@code ThreadMXBean}), never by sleeping. The test takes the job's lock through the
 * seam the engine gives ({@link JobRun.Seams#made}), not by locking on the handle: whatever
 * object the engine locks on, the test holds the same lock.
 */
class CompletionThreadTest {
    private static final long SEED = 0x0_2026_1207_1700L;
    private static final long WAIT_SECONDS = 30;

    /**
     * Passes each attempt to a local network; the provider's answer reaches the client only when
     * the test has a "transport" thread deliver it.
     */
    private static final class TransportNetwork extends HeldResponsesNetwork {
        TransportNetwork(LocalNetwork local) {
            super("transport", local);
        }

        /**
         * A transport thread, not started, that hands the first attempt's answer (passed through
         * {@code tamper}) to the client, or fails it with {@code failure} when that is not null.
         */
        Thread transport(UnaryOperator<ExecutionResponse> tamper, Throwable failure) throws Exception {
            assertTrue(dispatched.await(WAIT_SECONDS, TimeUnit.SECONDS), "the attempt was never dispatched");
            CompletableFuture<ExecutionResponse> mine = outer.get(0);
            // The client listens on the response before the transport answers: its callback then
            // runs on the transport's thread, as a gRPC callback would.
            awaitTrue(() -> mine.getNumberOfDependents() > 0, "the client never listened on the response");
            ExecutionResponse answer = inner.get(0).get(WAIT_SECONDS, TimeUnit.SECONDS);
            return new Thread(() -> {
                if (failure != null) {
                    mine.completeExceptionally(failure);
                } else {
                    mine.complete(tamper.apply(answer));
                }
            }, "transport-1");
        }
    }

    /**
     * The client's scheduler: runs stages as usual, but holds timers until the test takes them,
     * and hands the first task that a chosen thread submits to the test instead of running it,
     * keeping that thread in {@code execute} until the test lets it go.
     */
    private static final class Interposed extends ScheduledThreadPoolExecutor {
        final List<Runnable> timers = new CopyOnWriteArrayList<>();
        final SynchronousQueue<Runnable> handed = new SynchronousQueue<>();
        final CountDownLatch letGo = new CountDownLatch(1);
        volatile Thread from;

        Interposed(int threads, ThreadFactory factory) {
            super(threads, factory);
        }

        @Override
        public void execute(Runnable command) {
            if (Thread.currentThread() == from) {
                from = null;
                try {
                    if (!handed.offer(command, WAIT_SECONDS, TimeUnit.SECONDS)) {
                        throw new AssertionError("the test never took the stage");
                    }
                    if (!letGo.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                        throw new AssertionError("the test never let the transport thread go");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            super.execute(command);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            if (delay <= 0) {
                return super.schedule(command, delay, unit);
            }
            timers.add(command);
            return super.schedule(command, 1, TimeUnit.DAYS); // fired by the test, or cancelled by the client
        }
    }

    /** The threads each finished job's SLA record was made on: the thread that ran its completion. */
    private static final class Recorded implements dev.depin.sla.SlaRecorder {
        final List<Thread> threads = new CopyOnWriteArrayList<>();

        @Override
        public void record(dev.depin.sla.SlaRecord record) {
            threads.add(Thread.currentThread());
        }
    }

    /** The system clock, except that its first read on one chosen thread throws (an engine bug, as the job sees it). */
    private static final class TrippingClock extends Clock {
        volatile Thread tripOn;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this; // UTC only: what the client reads is instant()
        }

        @Override
        public Instant instant() {
            if (tripOn != null && Thread.currentThread() == tripOn) {
                tripOn = null;
                throw new IllegalStateException("the clock tripped on " + Thread.currentThread().getName());
            }
            return Instant.now();
        }
    }

    /** One job on one provider, with the test's network, scheduler, SLA recorder and clock. */
    private static final class Rig implements AutoCloseable {
        final TransportNetwork net;
        final List<Interposed> schedulers = new ArrayList<>();
        final Recorded recorded = new Recorded();
        final TrippingClock clock = new TrippingClock();
        /** Runs what it is given holding the job's lock (from the engine's seam). */
        volatile JobRun.JobLock lock;
        /** Runs on the canceller's thread right after its cancel won, before it completes the job. */
        volatile Runnable onCancelWon = () -> { };
        final DepinClient client;
        final JobHandle job;
        /** The thread each continuation the caller put on the result future ran on. */
        final List<Thread> continuations = new CopyOnWriteArrayList<>();

        Rig(int nodeSeed, SplittableRandom rnd) {
            byte[] seed = new byte[32];
            seed[0] = (byte) nodeSeed;
            net = new TransportNetwork(LocalNetwork.of(List.of(
                    ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).build())));
            client = DepinClient.builder(net).sla(recorded).clock(clock).maxAttempts(1)
                    .schedulers((threads, factory) -> {
                        Interposed s = new Interposed(threads, factory);
                        schedulers.add(s);
                        return s;
                    }).seams(new JobRun.Seams() {
                        @Override
                        public void made(JobHandle h, JobRun.JobLock jobLock) {
                            lock = jobLock;
                        }

                        @Override
                        public void cancelWon(JobHandle h) {
                            onCancelWon.run();
                        }
                    }).build();
            job = client.submit(SmallRequests.saxpy(rnd, 1 + rnd.nextInt(700), 1.25f));
            // A non-async continuation: it runs on whichever thread completes the future.
            job.resultAsync().whenComplete((r, t) -> continuations.add(Thread.currentThread()));
        }

        Interposed scheduler() {
            return schedulers.get(0);
        }

        /**
         * The transport thread delivers the answer; the stage it hands to the client's scheduler
         * is run here under the job's lock, so that the job's end is decided and its completion
         * left waiting; the transport thread then goes on and passes through the job.
         */
        void deliverAndDecideHere(UnaryOperator<ExecutionResponse> tamper, Throwable failure) throws Exception {
            Thread transport = net.transport(tamper, failure);
            scheduler().from = transport;
            transport.start();
            Runnable stage = scheduler().handed.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(stage, "the transport thread handed no stage to the scheduler");
            lock.run(() -> {
                stage.run(); // the job ends here; its completion waits until the lock is released
                assertFalse(job.resultAsync().isDone(), "the completion ran under the job's lock");
                scheduler().letGo.countDown();
                awaitBlockedOnJob(transport);
            });
            transport.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(transport.isAlive(), "the transport thread is stuck");
        }

        /** Ends the job here under its lock with {@code end}, while the transport thread delivers the answer. */
        void endHereWhileDelivering(Runnable end) throws Exception {
            Thread transport = net.transport(UnaryOperator.identity(), null);
            lock.run(() -> {
                end.run();
                assertFalse(job.resultAsync().isDone(), "the completion ran under the job's lock");
                transport.start();
                awaitBlockedOnJob(transport);
            });
            transport.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(transport.isAlive(), "the transport thread is stuck");
        }

        /** Waits until {@code t} waits for the job's lock, which this thread holds. */
        void awaitBlockedOnJob(Thread t) {
            long me = Thread.currentThread().getId();
            awaitTrue(() -> t.getState() == Thread.State.BLOCKED
                            && ManagementFactory.getThreadMXBean().getThreadInfo(t.getId()).getLockOwnerId() == me,
                    t.getName() + " never waited for the job's lock (state " + t.getState() + ")");
        }

        /**
         * The job's completion and the caller's continuation ran once, on one of the client's
         * scheduler threads. Watched without waiting in the future: a thread blocked in its
         * {@code get} may run its continuations itself once it wakes (CompletableFuture does).
         */
        void completedOnTheScheduler() {
            awaitTrue(() -> recorded.threads.size() == 1 && continuations.size() == 1, "the job's completion never ran");
            for (Thread t : List.of(recorded.threads.get(0), continuations.get(0))) {
                assertTrue(t.getName().startsWith("depin-client-"), "the job's completion ran on " + t.getName()
                        + ", not on the client's scheduler");
            }
        }

        @Override
        public void close() {
            client.close();
            net.close();
        }
    }

    /** Waits (spinning, bounded by {@link #WAIT_SECONDS}) until {@code condition} holds, else fails with {@code otherwise}. */
    static void awaitTrue(BooleanSupplier condition, String otherwise) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - until > 0) {
                fail(otherwise);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private static JobFailedException failure(JobHandle h) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> h.resultAsync().get(WAIT_SECONDS, TimeUnit.SECONDS));
        return assertInstanceOf(JobFailedException.class, e.getCause());
    }

    @Test
    void verified_completesOnTheSchedulerNotTheTransport() throws Exception {
        System.out.println("CompletionThreadTest.verified… seed = " + SEED);
        try (Rig rig = new Rig(21, new SplittableRandom(SEED))) {
            rig.deliverAndDecideHere(UnaryOperator.identity(), null);
            rig.completedOnTheScheduler();
            JobResult r = rig.job.resultAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(r.report().allPassed(), r.report().summary());
            assertEquals(JobState.VERIFIED, rig.job.state());
        }
    }

    @Test
    void verificationFailed_completesOnTheSchedulerNotTheTransport() throws Exception {
        System.out.println("CompletionThreadTest.verificationFailed… seed = " + SEED);
        try (Rig rig = new Rig(22, new SplittableRandom(SEED + 1))) {
            rig.deliverAndDecideHere(r -> {
                Map<String, ByteBuffer> outs = new LinkedHashMap<>(r.outputBytes());
                Map.Entry<String, ByteBuffer> first = outs.entrySet().iterator().next();
                ByteBuffer flipped = ByteBuffer.allocate(first.getValue().remaining());
                flipped.put(first.getValue().duplicate()).flip();
                flipped.put(0, (byte) (flipped.get(0) ^ 1));
                outs.put(first.getKey(), flipped);
                return ScriptedNetwork.withOutputs(r, outs);
            }, null);
            rig.completedOnTheScheduler();
            JobFailedException e = failure(rig.job);
            assertEquals(JobState.FAILED, e.finalState());
            assertTrue(e.getMessage().contains("OUTPUT_ROOT_MISMATCH"), e.getMessage());
        }
    }

    @Test
    void attemptFailed_completesOnTheSchedulerNotTheTransport() throws Exception {
        System.out.println("CompletionThreadTest.attemptFailed… seed = " + SEED);
        try (Rig rig = new Rig(23, new SplittableRandom(SEED + 2))) {
            rig.deliverAndDecideHere(null, new IOException("connection reset by the provider"));
            rig.completedOnTheScheduler();
            JobFailedException e = failure(rig.job);
            assertEquals(JobState.FAILED, e.finalState());
            assertTrue(e.getMessage().contains("connection reset by the provider"), e.getMessage());
        }
    }

    @Test
    void deadlinePassed_completesOnTheSchedulerNotTheTransport() throws Exception {
        System.out.println("CompletionThreadTest.deadlinePassed… seed = " + SEED);
        try (Rig rig = new Rig(24, new SplittableRandom(SEED + 3))) {
            assertTrue(rig.net.dispatched.await(WAIT_SECONDS, TimeUnit.SECONDS), "the attempt was never dispatched");
            // The only timer of a job whose deadline comes before the attempt timeout: its watchdog.
            assertEquals(1, rig.scheduler().timers.size(), "timers armed");
            rig.endHereWhileDelivering(rig.scheduler().timers.get(0));
            rig.completedOnTheScheduler();
            JobFailedException e = failure(rig.job);
            assertEquals(JobState.FAILED, e.finalState());
            assertTrue(e.getMessage().contains("no answer within"), e.getMessage());
        }
    }

    @Test
    void cancelled_completesOnTheSchedulerNotTheTransport() throws Exception {
        System.out.println("CompletionThreadTest.cancelled… seed = " + SEED);
        try (Rig rig = new Rig(25, new SplittableRandom(SEED + 4))) {
            // The cancel won and stops before it completes the job; meanwhile the transport thread
            // delivers the answer and passes through the job: it leaves the completion to the
            // scheduler, which runs it while the canceller still waits.
            Thread transport = rig.net.transport(UnaryOperator.identity(), null);
            Thread canceller = Thread.currentThread();
            rig.onCancelWon = () -> {
                if (Thread.currentThread() != canceller) {
                    return;
                }
                transport.start();
                try {
                    transport.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                assertFalse(transport.isAlive(), "the transport thread is stuck");
                rig.completedOnTheScheduler();
            };
            assertTrue(rig.job.cancelAsync().join());
            assertTrue(rig.job.resultAsync().isCancelled());
            assertEquals(1, rig.continuations.size(), "the continuation ran again");
            assertEquals(JobState.CANCELLED, rig.job.state());
        }
    }

    /** The transport thread itself ends the job (an engine bug while it records the answer): the completion still hops. */
    @Test
    void endedOnTheTransport_completesOnTheScheduler() throws Exception {
        System.out.println("CompletionThreadTest.endedOnTheTransport… seed = " + SEED);
        try (Rig rig = new Rig(26, new SplittableRandom(SEED + 5))) {
            Thread transport = rig.net.transport(UnaryOperator.identity(), null);
            rig.clock.tripOn = transport;
            transport.start();
            transport.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(transport.isAlive(), "the transport thread is stuck");
            rig.completedOnTheScheduler();
            JobFailedException e = failure(rig.job);
            assertEquals(JobState.FAILED, e.finalState());
            assertTrue(e.getMessage().contains("the clock tripped on transport-1"), e.getMessage());
            assertNull(rig.clock.tripOn, "the clock never tripped");
        }
    }
}
