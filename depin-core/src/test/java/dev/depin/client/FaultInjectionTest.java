package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.DepinException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.VerificationPolicy;
import dev.depin.settlement.Escrow;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.NetworkException;
import dev.depin.network.ScriptedNetwork;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every job ends, whatever the network does (issue 6 §3): 10,000 tiny jobs through a
 * {@link LocalNetwork} of three CPU providers behind a network that injects faults at
 * random — exceptions thrown or returned, nulls, malformed, partial and altered responses,
 * slow and hung providers, adapters whose cancel throws — while the buyer cancels at random
 * moments, gives some jobs very short deadlines, hedges slow attempts in odd sub-runs, and
 * in some sub-runs closes the client or the network midway.
 *
 * <p>For every job: its future completes (bounded wait); its state, its last job-level
 * event and its future agree (VERIFIED ⇔ completed normally, with the exact result;
 * CANCELLED ⇔ cancelled; FAILED or REJECTED ⇔ {@link JobFailedException} with that final
 * state); exactly one final event, and it is the last job-level one. After each sub-run no
 * provider is busy; after the whole run no engine thread is left.
 *
 * <p>The seed fixes the faults drawn and the jobs, not the thread interleaving: a failure
 * prints the seed and the job's events.
 */
public class FaultInjectionTest {
    private static final long SEED = 0xFA17_2026_1128L;
    private static final int JOBS_PER_RUN = 1_000;
    private static final int IN_FLIGHT = 64;
    /** Futures whose dependents ran under the engine's lock (must stay 0). */
    private static final AtomicInteger UNDER_LOCK = new AtomicInteger();

    /** One submitted job and what its result must be. */
    private record Submitted(JobHandle handle, String output, float[] expected, List<JobEvent> heard) {
    }

    /** The engine's suite: no money moves. */
    public FaultInjectionTest() {
    }

    /**
     * The escrow a sub-run's client pays through; none here. A subclass with a ledger runs the
     * same faults with money: jobs then end SETTLED instead of VERIFIED.
     *
     * @param run the sub-run
     * @return the escrow, or null
     */
    protected Escrow escrow(int run) {
        return null;
    }

    /** @return how many sub-runs of 1,000 jobs to run */
    protected int subRuns() {
        return 10;
    }

    /**
     * Checks what a sub-run left behind, after its client and network are closed.
     *
     * @param run     the sub-run
     * @param results the results of the jobs that ended well
     * @throws Exception if a check fails
     */
    protected void afterSubRun(int run, List<JobResult> results) throws Exception {
    }

    private JobState success = JobState.VERIFIED;

    @Test
    public void submit_everyJobEndsConsistentlyUnderInjectedFaults() throws Exception {
        System.out.println("FaultInjectionTest seed = 0x" + Long.toHexString(SEED));
        Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
        SplittableRandom rnd = new SplittableRandom(SEED);
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "fault-test-timer");
            t.setDaemon(true);
            return t;
        });
        Map<String, AtomicInteger> outcomes = new TreeMap<>();
        Map<String, AtomicInteger> faults = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        try {
            for (int run = 0; run < subRuns(); run++) {
                subRun(run, rnd.split(), timer, outcomes, faults);
            }
        } finally {
            timer.shutdownNow();
            timer.awaitTermination(10, TimeUnit.SECONDS);
        }
        System.out.printf("%s: %d jobs in %.1f s; outcomes %s; faults %s%n", getClass().getSimpleName(),
                subRuns() * JOBS_PER_RUN,
                (System.nanoTime() - start) / 1e9, outcomes, new TreeMap<>(faults));
        assertEquals(0, UNDER_LOCK.get(), "result futures completed under the engine's lock");
        for (String o : List.of(success.name(), "FAILED", "CANCELLED", "(hedged)")) {
            assertTrue(outcomes.containsKey(o), "no job ended " + o + ": the run exercised too little " + outcomes);
        }
        assertNoThreadLeft(before);
    }

    private void subRun(int run, SplittableRandom rnd, ScheduledExecutorService timer,
                        Map<String, AtomicInteger> outcomes, Map<String, AtomicInteger> faults) throws Exception {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 1);
            seed[1] = (byte) run;
            nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).concurrency(1, 4096)
                    .build());
        }
        LocalNetwork local = LocalNetwork.of(nodes);
        FaultyNetwork net = new FaultyNetwork(local, rnd.split(), timer, faults);
        // Faults injected in transit get the provider disputed: no bans, or a sub-run would soon run out of providers.
        JobLocks locks = new JobLocks();
        DepinClient.Builder builder = DepinClient.builder(net).maxAttempts(3).attemptTimeout(Duration.ofMillis(150))
                .threads(2).banAfterDisputes(0).seams(locks);
        if (run % 2 == 1) {
            // Odd sub-runs hedge: slow and silent providers get raced by a second one.
            builder.hedgeAfter(Duration.ofMillis(20));
        }
        Escrow escrow = escrow(run);
        if (escrow != null) {
            builder.escrow(escrow);
            success = JobState.SETTLED;
        }
        DepinClient client = builder.build();
        List<JobResult> results = new ArrayList<>();
        // Sub-runs 3 and 8 close the client midway, 4 and 9 the network.
        int closeClientAt = run % 5 == 3 ? rnd.nextInt(JOBS_PER_RUN) : -1;
        int closeNetworkAt = run % 5 == 4 ? rnd.nextInt(JOBS_PER_RUN) : -1;
        List<Submitted> jobs = new ArrayList<>();
        Semaphore window = new Semaphore(IN_FLIGHT);
        int refused = 0;
        try {
            for (int i = 0; i < JOBS_PER_RUN; i++) {
                if (i == closeClientAt) {
                    timer.schedule(client::close, rnd.nextInt(5), TimeUnit.MILLISECONDS);
                }
                if (i == closeNetworkAt) {
                    timer.schedule(net::close, rnd.nextInt(5), TimeUnit.MILLISECONDS);
                }
                if (!window.tryAcquire(30, TimeUnit.SECONDS)) {
                    fail("seed 0x" + Long.toHexString(SEED) + " sub-run " + run + ": " + IN_FLIGHT
                            + " jobs did not end within 30 s: " + jobs.stream().filter(s ->
                            !s.handle().resultAsync().isDone()).limit(3).map(s -> s.handle().events().toString())
                            .toList());
                }
                Submitted s;
                try {
                    s = submit(client, locks, rnd, timer);
                } catch (DepinException e) {
                    window.release();
                    assertTrue(e.getMessage().contains("client is closed"), e.getMessage());
                    refused++;
                    continue;
                }
                jobs.add(s);
                s.handle().resultAsync().whenComplete((r, t) -> window.release());
            }
            for (Submitted s : jobs) {
                JobResult r = check(run, s, outcomes);
                if (r != null) {
                    results.add(r);
                }
            }
            if (refused > 0) {
                outcomes.computeIfAbsent("refused (client closed)", k -> new AtomicInteger()).addAndGet(refused);
            }
            for (ProviderNode n : nodes) {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (n.busy() != 0 && System.nanoTime() < until) {
                    Thread.sleep(2);
                }
                assertEquals(0, n.busy(), "seed 0x" + Long.toHexString(SEED) + " sub-run " + run + ": provider "
                        + n.nodeId().shortId() + " is still busy after every job ended");
            }
        } finally {
            client.close();
            net.close();
        }
        afterSubRun(run, results);
    }

    private Submitted submit(DepinClient client, JobLocks locks, SplittableRandom rnd, ScheduledExecutorService timer) {
        int n = 1 + rnd.nextInt(64);
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-1000, 1001);
            y[i] = rnd.nextInt(-1000, 1001);
        }
        Job.Builder b;
        String output;
        float[] expected;
        if (rnd.nextBoolean()) {
            int alpha = rnd.nextInt(-4, 5);
            b = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", alpha).input("x", x).input("y", y);
            output = "out";
            expected = new float[n];
            for (int i = 0; i < n; i++) {
                expected[i] = alpha * x[i] + y[i]; // exact: small integers
            }
        } else {
            b = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x);
            output = "sum";
            float sum = 0;
            for (float v : x) {
                sum += v;
            }
            expected = new float[] {sum};
        }
        b.verification(VerificationPolicy.signatureOnly());
        if (rnd.nextInt(10) == 0) {
            b.timeout(Duration.ofMillis(1 + rnd.nextInt(30)));
        }
        Job job = b.build();
        int cancel = rnd.nextInt(10);
        long cancelAfter = rnd.nextLong(0, 10_000);
        boolean listen = rnd.nextInt(10) == 0;
        JobHandle h = client.submit(job);
        h.resultAsync().whenComplete((r, t) -> {
            if (locks.heldHere(h)) {
                UNDER_LOCK.incrementAndGet();
            }
        });
        List<JobEvent> heard = listen ? new CopyOnWriteArrayList<>() : null;
        if (listen) {
            h.onEvent(heard::add);
        }
        if (cancel == 0) {
            timer.schedule(() -> h.cancelAsync(), cancelAfter, TimeUnit.MICROSECONDS);
        } else if (cancel == 1) {
            timer.schedule(() -> h.resultAsync().cancel(cancelAfter % 2 == 0), cancelAfter, TimeUnit.MICROSECONDS);
        }
        return new Submitted(h, output, expected, heard);
    }

    private JobResult check(int run, Submitted s, Map<String, AtomicInteger> outcomes) throws Exception {
        JobHandle h = s.handle();
        String where = "seed 0x" + Long.toHexString(SEED) + " sub-run " + run + " job " + h.jobId();
        CompletableFuture<JobResult> f = h.resultAsync();
        JobResult result = null;
        Throwable failure = null;
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            fail(where + ": the future never completed; events " + h.events());
        } catch (CancellationException e) {
            failure = e;
        } catch (ExecutionException e) {
            failure = e.getCause();
        }
        List<JobEvent> events = h.events();
        List<JobEvent> jobLevel = events.stream().filter(e -> !e.isAttemptEvent()).toList();
        String why = where + ": " + events;
        JobState last = jobLevel.get(jobLevel.size() - 1).state();
        assertTrue(last.isTerminal(), why);
        // With an escrow VERIFIED is followed by SETTLED: the one final event is the last.
        assertEquals(1, jobLevel.stream().filter(e -> e.state().isTerminal()
                && !(success == JobState.SETTLED && e.state() == JobState.VERIFIED)).count(), why);
        assertEquals(last, h.state(), why);
        if (f.isCancelled()) {
            assertEquals(JobState.CANCELLED, last, why);
        } else if (failure != null) {
            assertEquals(JobFailedException.class, failure.getClass(), why + " " + failure);
            JobFailedException jf = (JobFailedException) failure;
            assertEquals(last, jf.finalState(), why);
            assertTrue(last == JobState.FAILED || last == JobState.REJECTED, why);
            assertEquals(last, jf.history().get(jf.history().size() - 1).state(), why);
        } else {
            assertEquals(success, last, why);
            JobResult r = f.join();
            assertArrayEquals(s.expected(), r.floats(s.output()), why);
            assertEquals(success, r.history().get(r.history().size() - 1).state(), why);
            result = r;
        }
        if (s.heard() != null) {
            // Listeners hear every event, in order, on the listener executor.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (s.heard().size() < events.size() && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertEquals(events, List.copyOf(s.heard()).subList(0, Math.min(s.heard().size(), events.size())),
                    why);
        }
        outcomes.computeIfAbsent(last.name(), k -> new AtomicInteger()).incrementAndGet();
        if (events.stream().anyMatch(e -> e.detail().startsWith("hedge"))) {
            outcomes.computeIfAbsent("(hedged)", k -> new AtomicInteger()).incrementAndGet();
        }
        return result;
    }

    private static void assertNoThreadLeft(Set<Thread> before) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> left;
        do {
            left = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !before.contains(t))
                    .filter(t -> t.getName().startsWith("depin-") || t.getName().startsWith("fault-test"))
                    .map(Thread::getName).sorted().toList();
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(10);
        } while (System.nanoTime() < until);
        fail("threads left after closing every client and network: " + left);
    }

    /**
     * A network that injects one fault, drawn from the seed, into each call to the real
     * {@link LocalNetwork} behind it.
     */
    static final class FaultyNetwork implements ComputeNetwork {
        private final LocalNetwork inner;
        private final SplittableRandom rnd;
        private final ScheduledExecutorService timer;
        private final Map<String, AtomicInteger> seen;

        FaultyNetwork(LocalNetwork inner, SplittableRandom rnd, ScheduledExecutorService timer,
                      Map<String, AtomicInteger> seen) {
            this.inner = inner;
            this.rnd = rnd;
            this.timer = timer;
            this.seen = seen;
        }

        private synchronized int draw(int bound) {
            return rnd.nextInt(bound);
        }

        private void count(String fault) {
            seen.computeIfAbsent(fault, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public String name() {
            return "faulty";
        }

        @Override
        public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
            int r = draw(1000);
            if (r < 10) {
                count("offers:throw");
                throw new IllegalStateException("injected: offers() threw");
            }
            if (r < 15) {
                count("offers:null-future");
                return null;
            }
            if (r < 25) {
                count("offers:failed");
                return CompletableFuture.failedFuture(new NetworkException("injected: directory unreachable"));
            }
            if (r < 30) {
                count("offers:null-list");
                return CompletableFuture.completedFuture(null);
            }
            if (r < 45) {
                count("offers:null-entry");
                return inner.offers(query).thenApply(l -> {
                    List<ProviderOffer> out = new ArrayList<>(l);
                    out.add(draw(out.size() + 1), null);
                    return out;
                });
            }
            if (r < 70) {
                count("offers:slow");
                CompletableFuture<List<ProviderOffer>> later = new CompletableFuture<>();
                timer.schedule(() -> inner.offers(query).whenComplete((l, t) -> {
                    if (t != null) {
                        later.completeExceptionally(t);
                    } else {
                        later.complete(l);
                    }
                }), draw(5), TimeUnit.MILLISECONDS);
                return later;
            }
            return inner.offers(query);
        }

        @Override
        public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
            int r = draw(1000);
            if (r < 20) {
                count("dispatch:throw");
                throw new IllegalStateException("injected: dispatch() threw");
            }
            if (r < 30) {
                count("dispatch:null");
                return null;
            }
            if (r < 60) {
                count("dispatch:failed");
                return Dispatch.failed(new NetworkException("injected: connection refused"));
            }
            Dispatch d = inner.dispatch(offer, request, progress);
            if (r < 80) {
                count("dispatch:hang");
                return Dispatch.of(new CompletableFuture<>(), d.released(), d::cancel);
            }
            if (r < 130) {
                count("dispatch:slow");
                CompletableFuture<ExecutionResponse> later = new CompletableFuture<>();
                int delay = draw(40);
                d.response().whenComplete((resp, t) -> timer.schedule(() -> {
                    if (t != null) {
                        later.completeExceptionally(t);
                    } else {
                        later.complete(resp);
                    }
                }, delay, TimeUnit.MILLISECONDS));
                return Dispatch.of(later, d.released(), d::cancel);
            }
            if (r < 150) {
                count("dispatch:late-failure");
                CompletableFuture<ExecutionResponse> later = new CompletableFuture<>();
                timer.schedule(() -> later.completeExceptionally(new NetworkException("injected: connection reset")),
                        draw(10), TimeUnit.MILLISECONDS);
                return Dispatch.of(later, d.released(), d::cancel);
            }
            if (r < 170) {
                count("dispatch:cancel-throws");
                return Dispatch.of(d.response(), d.released(), reason -> {
                    d.cancel(reason);
                    throw new IllegalStateException("injected: cancel() threw");
                });
            }
            if (r < 190) {
                count("dispatch:progress-chaos");
                timer.schedule(() -> {
                    progress.accept(Progress.RUNNING);
                    progress.accept(Progress.ACCEPTED);
                    progress.accept(Progress.RUNNING);
                }, draw(3), TimeUnit.MILLISECONDS);
                return d;
            }
            if (r < 320) {
                String[] kinds = {"null-response", "throwing-response", "wrong-attempt", "partial", "no-outputs",
                        "empty-name", "extra-output", "altered"};
                String kind = kinds[draw(kinds.length)];
                count("response:" + kind);
                int flipAt = draw(1 << 16);
                return Dispatch.of(d.response().thenApply(resp -> alter(kind, resp, flipAt)), d.released(),
                        d::cancel);
            }
            return d;
        }

        private static ExecutionResponse alter(String kind, ExecutionResponse resp, int flipAt) {
            Map.Entry<String, ByteBuffer> first = resp.outputBytes().entrySet().iterator().next();
            ByteBuffer bytes = ByteBuffer.allocate(first.getValue().remaining());
            bytes.put(first.getValue()).flip();
            Map<String, ByteBuffer> outs = new LinkedHashMap<>();
            switch (kind) {
                case "null-response":
                    return null;
                case "throwing-response":
                    throw new IllegalStateException("injected: response decoding threw");
                case "wrong-attempt":
                    return new ExecutionResponse(resp.jobId(), resp.attempt() + 1, resp.provider(),
                            resp.executorKind(), resp.outputs(), resp.startedAt(), resp.endedAt(), resp.deviceNanos(),
                            resp.receipt(), resp.wipe());
                case "partial":
                    outs.put(first.getKey(), bytes.limit(bytes.limit() / 2));
                    break;
                case "no-outputs":
                    break;
                case "empty-name":
                    outs.put("", bytes);
                    break;
                case "extra-output":
                    outs.put(first.getKey(), bytes);
                    outs.put("extra", ByteBuffer.allocate(4));
                    break;
                default:
                    int at = flipAt % bytes.limit();
                    bytes.put(at, (byte) (bytes.get(at) ^ (1 << (flipAt % 8))));
                    outs.put(first.getKey(), bytes);
            }
            return ScriptedNetwork.withOutputs(resp, outs);
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
