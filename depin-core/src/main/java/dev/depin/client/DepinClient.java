package dev.depin.client;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.client.internal.AttemptVerifier;
import dev.depin.client.internal.Escrowing;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import java.util.List;
import dev.depin.client.internal.OfferBook;
import dev.depin.client.internal.JobRun;
import dev.depin.kernel.CpuReference;
import dev.depin.client.internal.ProviderLoad;
import dev.depin.client.internal.Reputation;
import dev.depin.crypto.NodeId;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.network.spi.ComputeNetwork;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The buyer's side: submits jobs to a {@link ComputeNetwork}, picks an offer for each,
 * dispatches it, checks what comes back, and retries elsewhere on failure.
 *
 * <p>For each attempt the client fetches the network's offers and keeps those that are
 * validly signed and unexpired, run the job's kernel, meet its {@link
 * dev.depin.job.Requirements}, have the reputation it asks for, have not already failed
 * this job, are not banned for disputes (see {@link Builder#banAfterDisputes}), and whose
 * estimated cost (measured device rate × the kernel's FLOPs ×
 * price, plus bytes moved × price) fits the job's cap. It ranks them by estimated cost,
 * then reputation, then node id (after a load tier: this client's attempts in flight at the provider divided
 * by {@code maxInFlightPerProvider}), and dispatches to the first. A provider error, a
 * timeout or a malformed response fails the attempt; the job is rescheduled on another
 * provider until {@code maxAttempts} or the deadline.
 *
 * <pre>{@code
 * try (DepinClient client = DepinClient.builder(network).maxAttempts(3).build()) {
 *     JobResult r = client.submit(job).result();
 * }
 * }</pre>
 *
 * <p>Thread-safe. Closing the client cancels the jobs still running.
 */
public final class DepinClient implements AutoCloseable {
    /**
     * The default {@link Builder#wipeAttestationGrace}: an honest provider's attestation follows
     * its receipt within milliseconds, so seconds leave room for a loaded host and a slow link.
     */
    public static final Duration DEFAULT_WIPE_ATTESTATION_GRACE = Duration.ofSeconds(5);
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DepinClient.class);
    private final ComputeNetwork network;
    private final int maxAttempts;
    private final Duration attemptTimeout;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor scheduler;
    private final Reputation reputation = new Reputation();
    private final Set<JobRun> running = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final JobRun.Context context;
    private final CpuReference reference;
    private final dev.depin.crypto.Parallelism verifying;
    private final java.util.concurrent.Executor listeners;
    private final java.util.concurrent.ExecutorService ownedListeners;
    private final Escrowing escrowing;
    private final List<Applied> recovered;

    private DepinClient(Builder b) {
        this.network = b.network;
        this.maxAttempts = b.maxAttempts;
        this.attemptTimeout = b.attemptTimeout;
        this.clock = b.clock;
        AtomicInteger n = new AtomicInteger();
        this.scheduler = b.schedulers.apply(b.threads, r -> {
            Thread t = new Thread(r, "depin-client-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.scheduler.setRemoveOnCancelPolicy(true);
        // Timers (deadlines, attempt timeouts) of jobs cancelled by close() must not keep threads alive.
        this.scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.reference = new CpuReference(b.threads);
        // Shares the scheduler's threads: Freivalds on a large product uses every core the client has.
        this.verifying = dev.depin.crypto.Parallelism.using(scheduler, b.threads);
        if (b.listenerExecutor != null) {
            this.ownedListeners = null;
            this.listeners = b.listenerExecutor;
        } else {
            AtomicInteger ln = new AtomicInteger();
            this.ownedListeners = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "depin-client-events-" + ln.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            this.listeners = ownedListeners;
        }
        this.escrowing = b.escrow == null ? null : new Escrowing(b.escrow, clock, scheduler);
        List<Applied> resolved = List.of();
        if (escrowing != null) {
            try {
                resolved = escrowing.recover(Duration.ofSeconds(30));
            } catch (RuntimeException e) {
                shutdownThreads();
                throw e;
            }
        }
        this.recovered = resolved;
        this.context = new JobRun.Context(network, clock, scheduler, listeners, reputation,
                new ProviderLoad(b.maxInFlightPerProvider), new OfferBook(100_000),
                new AttemptVerifier(reference, verifying, scheduler),
                reference, maxAttempts, attemptTimeout, b.banAfterDisputes, b.offerLimit, escrowing, b.hedgeAfter,
                b.registry == null ? dev.depin.client.internal.ClientMeters.NONE
                        : new dev.depin.client.internal.ClientMeters(b.registry), b.sla,
                new dev.depin.client.internal.HeldRoom(), b.wipeAttestationGrace, b.seams);
        LOG.info("depin client started on network '{}': {} thread(s), max {} round(s) per job, attempt timeout {}, {}",
                network.name(), b.threads, maxAttempts, attemptTimeout,
                escrowing == null ? "no escrow (jobs end VERIFIED)" : b.escrow + (resolved.isEmpty() ? ""
                        : ", resolved " + resolved.size() + " hold(s) left open by a previous client"));
    }

    /**
     * Starts building a client for {@code network}. The client does not own the network
     * and does not close it.
     *
     * @param network where offers come from and attempts go
     * @return a builder with the defaults
     * @throws InvalidArgumentException if {@code network} is null
     */
    public static Builder builder(ComputeNetwork network) {
        return new Builder(network);
    }

    /**
     * Submits a job. Returns at once; the job runs in the background.
     *
     * @param job the job
     * @return its handle
     * @throws InvalidArgumentException if {@code job} is null
     * @throws DepinException           if the client is closed
     */
    public JobHandle submit(Job job) {
        InvalidArgumentException.requireNonNull(job, "job");
        if (closed.get()) {
            throw new DepinException("this client is closed: build a new DepinClient to submit jobs");
        }
        JobRun run = new JobRun(job, context);
        running.add(run);
        run.resultAsync().whenComplete((r, t) -> running.remove(run));
        if (closed.get()) {
            // close() ran between the check above and running.add: it may not have seen this job.
            run.cancelAsync();
        }
        run.start();
        return run;
    }

    /**
     * The reputation this client has measured for a provider.
     *
     * @param provider a provider's node id
     * @return a score in (0, 1); 0.5 for a provider this client has never used
     */
    public double reputation(NodeId provider) {
        return reputation.score(InvalidArgumentException.requireNonNull(provider, "provider"));
    }

    /**
     * What this client has seen of a provider.
     *
     * @param provider a provider's node id
     * @return its verified, failed and disputed attempts and its reputation
     */
    public ProviderHistory history(NodeId provider) {
        long[] c = reputation.counts(InvalidArgumentException.requireNonNull(provider, "provider"));
        return new ProviderHistory(c[0], c[1], c[2], reputation.score(provider));
    }

    /**
     * The holds a previous client of the same escrow session left open, which this client
     * voided (or expired, past their expiry) when it was built.
     *
     * @return what was applied; empty without an escrow or when nothing was left open
     */
    public List<Applied> recovered() {
        return recovered;
    }

    /**
     * Fetches the bytes of an output a job left on its provider ({@code Job.Builder.leaveOutputsOnNode}),
     * in 1 MiB chunks, each checked with its inclusion proof against the root the job's verified
     * receipt signed before any is used. Blocks until done. The bytes then cross the network:
     * fetch only what you need; a following job takes the output by reference instead
     * ({@code Job.Builder.inputFrom}).
     *
     * @param result the job's result; not null
     * @param output the output's name
     * @return the output's bytes, read-only, little-endian
     * @throws InvalidArgumentException if the job did not leave that output on its provider
     * @throws dev.depin.network.OutputGoneException if the provider no longer holds it (its time
     *         to live ended, evicted, restarted): run the job that produced it again
     * @throws dev.depin.crypto.VerificationException if a chunk does not lead to the signed root
     * @throws dev.depin.network.NetworkException if the read fails otherwise
     */
    public java.nio.ByteBuffer fetchHeld(dev.depin.job.JobResult result, String output) {
        InvalidArgumentException.requireNonNull(result, "job result");
        dev.depin.job.HeldOutput h = result.heldOutputs().get(output);
        if (h == null) {
            throw new InvalidArgumentException("job " + result.jobId() + " left no output '" + output + "' on its "
                    + "provider (held: " + result.heldOutputs().keySet() + "): its returned outputs are in "
                    + "result.outputs()");
        }
        if (h.bytes() > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException(h.describe() + " is too large for one buffer: read it in parts");
        }
        int chunk = dev.depin.network.spi.HeldChunk.MAX_CHUNK_BYTES;
        int count = (int) ((h.bytes() + chunk - 1) / chunk);
        int[] all = java.util.stream.IntStream.range(0, count).toArray();
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate((int) h.bytes());
        for (java.nio.ByteBuffer b : dev.depin.client.internal.HeldSpotCheck.read(network, h.provider(),
                h.merkleRoot(), h.bytes(), chunk, all, "output '" + output + "' of job " + result.jobId())) {
            out.put(b);
        }
        return out.flip().asReadOnlyBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** @return the network this client submits to */
    public ComputeNetwork network() {
        return network;
    }

    /**
     * Cancels running jobs and stops the client's threads. With an escrow, first waits (up to
     * 30 seconds) until the money of every job has come to rest: cancelled jobs' holds voided,
     * verified jobs' posts durable; a call while another thread is closing the client waits the
     * same way. Closes neither the network nor the ledger.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (JobRun run : running) {
                run.cancelAsync();
            }
            if (escrowing != null && !escrowing.awaitQuiet(Duration.ofSeconds(30))) {
                LOG.warn("closing with ledger operations still in flight after 30 s: holds left open expire, or a "
                        + "client of session {} resolves them when built", escrowing.escrow().session());
            }
            shutdownThreads();
        } else if (escrowing != null) {
            // Closed by another thread, which may still be waiting for the money: so does this caller.
            escrowing.awaitQuiet(Duration.ofSeconds(30));
        }
    }

    private void shutdownThreads() {
        scheduler.shutdown();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ownedListeners != null) {
            ownedListeners.shutdown();
            try {
                ownedListeners.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        reference.close();
    }

    /** Builds a {@link DepinClient}. */
    public static final class Builder {
        private final ComputeNetwork network;
        private int maxAttempts = 3;
        private Duration attemptTimeout = Duration.ofMinutes(10);
        private Clock clock = Clock.systemUTC();
        private int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private int maxInFlightPerProvider = 4;
        private int banAfterDisputes = 1;
        private java.util.concurrent.Executor listenerExecutor;
        private int offerLimit = 10_000;
        private Escrow escrow;
        private io.micrometer.core.instrument.MeterRegistry registry;
        private dev.depin.sla.SlaRecorder sla;
        private Duration hedgeAfter;
        private Duration wipeAttestationGrace = DEFAULT_WIPE_ATTESTATION_GRACE;
        private java.util.function.BiFunction<Integer, java.util.concurrent.ThreadFactory,
                ScheduledThreadPoolExecutor> schedulers = ScheduledThreadPoolExecutor::new;
        private JobRun.Seams seams = JobRun.Seams.NONE;

        private Builder(ComputeNetwork network) {
            this.network = InvalidArgumentException.requireNonNull(network, "network");
        }

        private static Duration positive(Duration d, String what) {
            InvalidArgumentException.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(what + " " + d + " must be positive");
            }
            return d;
        }

        /**
         * @param attempts rounds of dispatch per job before it fails, 1 to 100; default 3
         * @return this builder
         */
        public Builder maxAttempts(int attempts) {
            if (attempts < 1 || attempts > 100) {
                throw new InvalidArgumentException("max attempts is " + attempts + ": give 1 to 100");
            }
            this.maxAttempts = attempts;
            return this;
        }

        /**
         * How long one attempt may take before it is abandoned and rescheduled (it is also
         * cut short by the job's deadline); default 10 minutes.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder attemptTimeout(Duration timeout) {
            this.attemptTimeout = positive(timeout, "attempt timeout");
            return this;
        }

        /**
         * @param clock the clock for deadlines and offer expiry; default the UTC system clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Threads that run the client's bookkeeping and verification (recomputing spot
         * checks, Freivalds), 1 to 64; default the number of cores, at least 2.
         *
         * @param threads the thread count
         * @return this builder
         */
        public Builder threads(int threads) {
            if (threads < 1 || threads > 64) {
                throw new InvalidArgumentException("client threads is " + threads + ": give 1 to 64");
            }
            this.threads = threads;
            return this;
        }

        /**
         * Attempts in flight at one provider that make up one load tier, 1 to 10000;
         * default 4. Offers rank by load tier before price, which spreads bursts across
         * providers.
         *
         * @param limit attempts per load tier
         * @return this builder
         */
        public Builder maxInFlightPerProvider(int limit) {
            if (limit < 1 || limit > 10_000) {
                throw new InvalidArgumentException("max in-flight per provider is " + limit + ": give 1 to 10000");
            }
            this.maxInFlightPerProvider = limit;
            return this;
        }

        /**
         * How many disputed attempts (proven wrong results or broken receipts) make this
         * client stop using a provider, 0 to 1000; 0 never bans; default 1.
         *
         * @param disputes the dispute count that bans
         * @return this builder
         */
        public Builder banAfterDisputes(int disputes) {
            if (disputes < 0 || disputes > 1000) {
                throw new InvalidArgumentException("ban after disputes is " + disputes + ": give 0 to 1000");
            }
            this.banAfterDisputes = disputes;
            return this;
        }

        /**
         * Where job event listeners run; default a single daemon thread the client owns
         * (and shuts down on close). Listeners of one job run one at a time, in order,
         * never on a transport thread and never under the engine's locks.
         *
         * @param executor the executor; the client does not shut down one it was given
         * @return this builder
         */
        public Builder listenerExecutor(java.util.concurrent.Executor executor) {
            this.listenerExecutor = InvalidArgumentException.requireNonNull(executor, "listener executor");
            return this;
        }

        /**
         * How many offers to ask the network for per scheduling round, 1 to 100000;
         * default 10000.
         *
         * @param limit offers per query
         * @return this builder
         */
        public Builder offerLimit(int limit) {
            if (limit < 1 || limit > 100_000) {
                throw new InvalidArgumentException("offer limit is " + limit + ": give 1 to 100000");
            }
            this.offerLimit = limit;
            return this;
        }

        /**
         * How long a provider that sent a large job's receipt before its wipe attestation
         * (docs/decisions.md, "A large job's receipt before its wipe attestation") may take to
         * send the attestation, beyond the time its wipe of the job's declared bytes takes at a
         * conservative 64 MiB/s; counted from the end of the buyer's checks of the outputs, and
         * never past the job's deadline. No thread waits meanwhile. An attestation that has not
         * come by then fails the attempt (nothing is paid for it, its hold is voided) and the
         * job goes on to its next round. Default {@link DepinClient#DEFAULT_WIPE_ATTESTATION_GRACE}.
         *
         * @param grace the grace, positive
         * @return this builder
         */
        public Builder wipeAttestationGrace(Duration grace) {
            this.wipeAttestationGrace = positive(grace, "wipe attestation grace");
            return this;
        }

        /**
         * Hedges slow jobs: when a job's lone attempt has not answered after {@code delay}, a
         * second provider (the next in the ranking) runs it too; the first answer that is
         * verified wins, the other attempt is cancelled at its provider (and, with an escrow,
         * its hold voided). Applies to jobs whose policy runs one attempt per round (not
         * {@code redundant}). Default: no hedging.
         *
         * @param delay how long to wait before hedging, positive
         * @return this builder
         */
        public Builder hedgeAfter(Duration delay) {
            this.hedgeAfter = positive(delay, "hedge delay");
            return this;
        }

        /**
         * Publishes the client's meters in {@code registry} (names and units in
         * docs/metrics.md): jobs by final state and in flight, attempt latency histograms by
         * outcome, bytes out and in, escrow operations and amounts, failed attempts by reason.
         * Without one, nothing is recorded.
         *
         * @param registry where the meters go
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            this.registry = InvalidArgumentException.requireNonNull(registry, "meter registry");
            return this;
        }

        /**
         * Measures every job against the SLA its providers signed: as each job ends (verified,
         * failed or cancelled), and before its result future completes, the client hands
         * {@code recorder} the job's {@link dev.depin.sla.SlaRecord} (each attempt's signed offer,
         * dispatch and end on this client's clock, what each provider was paid), through
         * {@link dev.depin.sla.SlaRecorder#recordAsync}. A {@link dev.depin.sla.SlaJournal} puts it
         * on the disk first (one group commit for the jobs that end together), so a job whose
         * result the buyer saw is in the journal; a {@link dev.depin.sla.SlaBook} keeps it in
         * memory. A job the recorder cannot keep fails instead of delivering its result
         * silently: a verified one with a {@link dev.depin.sla.SlaNotRecordedException} that
         * carries the result, a failed one with its own failure and the recorder's suppressed; a
         * cancelled one is cancelled at once and a failure to record it logged. Without a
         * recorder, no SLA is measured.
         *
         * @param recorder where finished jobs go
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder sla(dev.depin.sla.SlaRecorder recorder) {
            this.sla = InvalidArgumentException.requireNonNull(recorder, "SLA recorder");
            return this;
        }

        /**
         * Pays for jobs through an escrow: each attempt holds its share of the job's max price
         * before dispatch, verified results are paid and the rest refunded (the job ends
         * {@code SETTLED}), failures and cancels are refunded, disputed providers slashed.
         * Without one, jobs end {@code VERIFIED} and no money moves.
         *
         * @param escrow the buyer's escrow; its ledger is not closed by the client
         * @return this builder
         */
        public Builder escrow(Escrow escrow) {
            this.escrow = InvalidArgumentException.requireNonNull(escrow, "escrow");
            return this;
        }

        /**
         * The test seam for the client's timers (package-private, not API): makes the scheduler
         * that runs the client's stages, deadline watchdogs, attempt timeouts and hedges, from
         * the thread count and factory. A test holds the timers there until its steps say, so a
         * deadline passes at a step instead of after a wall-clock delay that a loaded machine
         * overruns.
         *
         * @param schedulers makes the scheduler; the client configures and shuts it down
         * @return this builder
         */
        Builder schedulers(java.util.function.BiFunction<Integer, java.util.concurrent.ThreadFactory,
                ScheduledThreadPoolExecutor> schedulers) {
            this.schedulers = InvalidArgumentException.requireNonNull(schedulers, "schedulers");
            return this;
        }

        /**
         * The test seam into each job (package-private, not API): its lock and the instants where
         * a test holds one of its threads to force an interleaving ({@link JobRun.Seams}).
         *
         * @param seams called by every job this client runs
         * @return this builder
         */
        Builder seams(JobRun.Seams seams) {
            this.seams = InvalidArgumentException.requireNonNull(seams, "seams");
            return this;
        }

        /**
         * @return the client; with an escrow, after resolving the holds a previous client of the
         *         same session left open
         * @throws dev.depin.settlement.SettlementException if those holds cannot be resolved
         */
        public DepinClient build() {
            return new DepinClient(this);
        }
    }
}
