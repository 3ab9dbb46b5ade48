package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.internal.JobRun;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobHandle;
import dev.depin.job.JobState;
import dev.depin.network.spi.ExecutionResponse;
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
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A cancel that wins is visible when it returns: {@code cancelAsync()} completes with
 * {@code true}, or {@code resultAsync().cancel(..)} returns {@code true}, only once the result
 * future reads as cancelled, even when another client thread took the job's completion between
 * the canceller's decision and its own completion (before the fix, that thread could still be
 * on its way to cancelling the future while the canceller had returned).
 *
 * <p>The interleaving is forced, never slept for: the canceller stops right after its cancel won
 * ({@link JobRun.Seams#cancelWon}); meanwhile the provider's answer (a result racing the cancel)
 * reaches the client on a "transport" thread, which leaves the completion to the client's
 * scheduler; the scheduler's thread takes it and is held inside the job's SLA record, the step
 * before it cancels the future; only then does the canceller go on.
 */
class CancelVisibleTest {
    private static final long SEED = 0x0_2026_1207_1930L;
    static final long WAIT_SECONDS = 30;

    /** An SLA recorder that holds the thread recording a job until the test lets it go. */
    static final class HoldingRecorder implements dev.depin.sla.SlaRecorder {
        final List<dev.depin.sla.SlaRecord> records = new CopyOnWriteArrayList<>();
        final List<Thread> threads = new CopyOnWriteArrayList<>();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch letGo = new CountDownLatch(1);

        @Override
        public void record(dev.depin.sla.SlaRecord record) {
            threads.add(Thread.currentThread());
            entered.countDown();
            try {
                if (!letGo.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                    throw new AssertionError("the test never let the SLA record go");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            records.add(record);
        }
    }

    /** What a canceller saw the moment its cancel returned. */
    record Cancelled(boolean won, boolean cancelledOnReturn, boolean doneOnReturn, JobState stateOnReturn,
                     Thread completedOn) {
    }

    /**
     * One job on one provider; its cancel is raced, as above, by a scheduler thread that takes
     * the job's completion and by the provider's answer.
     */
    static final class Race implements AutoCloseable {
        final HeldResponsesNetwork net;
        final HoldingRecorder recorder = new HoldingRecorder();
        final List<HeldTimers> timers = new ArrayList<>();
        final DepinClient client;
        final JobHandle job;
        volatile Runnable onCancelWon = () -> { };
        /** The threads that ran the caller's continuation on the result future. */
        final List<Thread> continuations = new CopyOnWriteArrayList<>();

        /**
         * @param node     the provider
         * @param builder  adds to the client's builder (an escrow)
         * @param job      the job
         */
        Race(ProviderNode node, UnaryOperator<DepinClient.Builder> builder, Job job) {
            net = new HeldResponsesNetwork("held", LocalNetwork.of(List.of(node)));
            client = builder.apply(DepinClient.builder(net).maxAttempts(1).sla(recorder)
                    .schedulers(HeldTimers.into(timers)) // no deadline or timeout fires on its own
                    .seams(new JobRun.Seams() {
                        @Override
                        public void cancelWon(JobHandle h) {
                            onCancelWon.run();
                        }
                    })).build();
            this.job = client.submit(job);
            this.job.resultAsync().whenComplete((r, t) -> continuations.add(Thread.currentThread()));
        }

        /**
         * Cancels with {@code cancel} on this thread; in the window after the cancel won, the
         * provider's answer arrives on a transport thread and a scheduler thread takes the job's
         * completion and is held in its SLA record; the canceller then goes on and returns.
         *
         * @param cancel cancels the job, returning whether it won
         * @return what the canceller saw as it returned
         */
        Cancelled cancelRacedByTheScheduler(Function<JobHandle, Boolean> cancel) throws Exception {
            assertTrue(net.dispatched.await(WAIT_SECONDS, TimeUnit.SECONDS), "the attempt was never dispatched");
            CompletableFuture<ExecutionResponse> mine = net.outer.get(0);
            CompletionThreadTest.awaitTrue(() -> mine.getNumberOfDependents() > 0, "the client never listened on the response");
            ExecutionResponse answer = net.inner.get(0).get(WAIT_SECONDS, TimeUnit.SECONDS);
            Thread canceller = Thread.currentThread();
            Thread transport = new Thread(() -> mine.complete(answer), "transport-1");
            onCancelWon = () -> {
                if (Thread.currentThread() != canceller) {
                    return;
                }
                transport.start();
                try {
                    assertTrue(recorder.entered.await(WAIT_SECONDS, TimeUnit.SECONDS),
                            "no scheduler thread took the job's completion");
                    transport.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                assertFalse(transport.isAlive(), "the transport thread is stuck");
            };
            boolean won = cancel.apply(job);
            Cancelled seen = new Cancelled(won, job.resultAsync().isCancelled(), job.resultAsync().isDone(),
                    job.state(), continuations.isEmpty() ? null : continuations.get(0));
            recorder.letGo.countDown();
            CompletionThreadTest.awaitTrue(() -> recorder.records.size() == 1, "the cancelled job's SLA record was never made");
            return seen;
        }

        /** Asserts what every raced cancel must leave: one CANCELLED end, the late answer ignored. */
        void assertCancelledOnce(Cancelled seen, String how) {
            String why = how + ": " + job.events();
            assertTrue(seen.won(), "the cancel lost: " + why);
            assertTrue(seen.cancelledOnReturn(), "the cancel won, but the result future did not read as cancelled "
                    + "when it returned (done " + seen.doneOnReturn() + ", state " + seen.stateOnReturn() + "): " + why);
            assertEquals(JobState.CANCELLED, seen.stateOnReturn(), why);
            // The caller's continuation never runs inside the cancel: the scheduler thread that took
            // the completion is still held in the SLA record when the canceller returns, and runs it after.
            assertEquals(null, seen.completedOn(), "the caller's continuation ran inside the cancel: " + why);
            CompletionThreadTest.awaitTrue(() -> continuations.size() == 1, "the caller's continuation never ran");
            assertTrue(continuations.get(0).getName().startsWith("depin-client-"),
                    "the continuation ran on " + continuations.get(0).getName() + ", not the scheduler");
            assertTrue(recorder.threads.get(0).getName().startsWith("depin-client-"),
                    "the completion was taken by " + recorder.threads.get(0).getName() + ", not the scheduler");
            List<JobState> ends = job.events().stream().filter(e -> !e.isAttemptEvent()).map(JobEvent::state)
                    .filter(JobState::isTerminal).toList();
            assertEquals(List.of(JobState.CANCELLED), ends, why);
            assertEquals(JobState.CANCELLED, job.state(), why);
            // The answer that raced the cancel arrived after it was decided: ignored, never judged.
            assertTrue(job.events().stream().noneMatch(e -> e.attemptState() == AttemptState.RETURNED
                    || e.attemptState() == AttemptState.ACCEPTED), why);
            assertEquals(1, recorder.records.size(), why);
            assertEquals(1, continuations.size(), why);
            CancellationException ce = org.junit.jupiter.api.Assertions.assertThrows(CancellationException.class,
                    job::result);
            assertNotNull(ce);
        }

        @Override
        public void close() {
            recorder.letGo.countDown();
            client.close();
            net.close();
        }
    }

    private static ProviderNode node(int seed) {
        byte[] s = new byte[32];
        s[0] = (byte) seed;
        return ProviderNode.builder(NodeKeyPair.fromSeed(s), new CpuExecutor(1)).build();
    }

    private static Job saxpy(SplittableRandom rnd) {
        return SmallRequests.saxpy(rnd, 1 + rnd.nextInt(1000), 0.75f); // awkward sizes, 1 to 1000
    }

    @Test
    void cancelAsync_racedByTheSchedulerIsCancelledWhenItReturns() throws Exception {
        System.out.println("CancelVisibleTest.cancelAsync… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (Race race = new Race(node(31), b -> b, saxpy(rnd))) {
            Cancelled seen = race.cancelRacedByTheScheduler(h -> h.cancelAsync().join());
            race.assertCancelledOnce(seen, "cancelAsync");
            assertEquals(Boolean.FALSE, race.job.cancelAsync().join(), "a second cancel finds the job ended");
        }
    }

    @Test
    void futureCancel_racedByTheSchedulerIsCancelledWhenItReturns() throws Exception {
        System.out.println("CancelVisibleTest.futureCancel… seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        try (Race race = new Race(node(32), b -> b, saxpy(rnd))) {
            Cancelled seen = race.cancelRacedByTheScheduler(h -> h.resultAsync().cancel(false));
            race.assertCancelledOnce(seen, "resultAsync().cancel");
            assertTrue(race.job.resultAsync().cancel(true), "cancel() of a cancelled future returns true");
        }
    }
}
