package dev.depin.client.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.client.NoMatchingOfferException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.verify.Comparison;
import dev.depin.job.AttemptState;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobSpec;
import dev.depin.job.JobState;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.Recompute;
import dev.depin.money.MicroUsd;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.provider.ProviderOffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's life as a sequence of stages, round after round:
 * <b>select</b> (verified offers, filtered and ranked within the price cap) →
 * <b>hold</b> (escrow; absent until a settlement backend exists, so {@code ESCROWED} is
 * never reached) → <b>dispatch</b> (one attempt, or one per replica, each with its own
 * nonce) → <b>verify</b> (receipt, shapes, wipe attestation, policy; redundancy quorum) →
 * <b>post or void</b> (absent likewise) → VERIFIED, or the next round.
 *
 * <p>Rules that make every job end: every continuation runs through {@link #guard}, which
 * turns anything thrown into a FAILED job; a watchdog ends the job at its deadline
 * whatever the network does; a timed-out attempt is cancelled at the provider; the final
 * state is decided once, under this object's lock, with its final event, and the result
 * future completes after the lock is released (a cancel through the future takes the lock
 * too, so it either wins, and the job is CANCELLED, or finds the job ended and changes
 * nothing). Network calls, listeners and the future's dependents never run under this
 * object's lock.
 */
public final class JobRun implements JobHandle {
    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String CLIENT_CLOSED = "the client was closed";

    /**
     * What a run needs from its client.
     *
     * @param network        where offers come from
     * @param clock          for deadlines and expiry
     * @param scheduler      where continuations and timers run
     * @param listeners      where event listeners run
     * @param reputation     the client's provider book
     * @param load           attempts in flight per provider
     * @param offers         verified-offer cache
     * @param verifier       the buyer's checks on each attempt
     * @param reference      the CPU reference (redundancy comparisons)
     * @param maxAttempts    rounds of dispatch before failing
     * @param attemptTimeout longest single attempt
     * @param banAfter       disputes after which this client no longer uses a provider; 0 never bans
     * @param offerLimit     offers asked for per round
     */
    public record Context(ComputeNetwork network, Clock clock, ScheduledExecutorService scheduler, Executor listeners,
                          Reputation reputation, ProviderLoad load, OfferBook offers, AttemptVerifier verifier,
                          CpuReference reference, int maxAttempts, Duration attemptTimeout, int banAfter,
                          int offerLimit) {
    }

    private final Job job;
    private final JobSpec spec;
    private final String specHash;
    private final String jobId;
    private final Context ctx;
    private final Instant submittedAt;
    private final Selection selection;
    private final EventBus bus;
    private final ResultFuture result = new ResultFuture();
    private final Set<NodeId> tried = new HashSet<>();
    private final List<DisputeRecord> disputes = new ArrayList<>();
    private JobState state = JobState.SUBMITTED;
    private boolean finished;
    private int round;
    private int attempts;
    private List<Attempt> inFlight = List.of();
    private String lastFailure = "";
    private ScheduledFuture<?> watchdog;
    private final List<Dispatch> toCancel = new ArrayList<>();
    private String cancelReason = "job ended";
    /** Completes the result future; set with the final event under the lock, run by {@link #afterUnlock()}. */
    private Runnable completion;

    /**
     * @param job the job to run
     * @param ctx the client's context
     */
    public JobRun(Job job, Context ctx) {
        this.job = job;
        this.spec = job.spec();
        this.specHash = spec.hash();
        this.ctx = ctx;
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        this.jobId = Hex.encode(id);
        this.submittedAt = ctx.clock().instant();
        this.selection = new Selection(spec, ctx.reputation(), ctx.load(), ctx.banAfter());
        this.bus = new EventBus(ctx.listeners());
        // Whoever completes the future with a CancellationException without cancel() still cancels the job.
        result.whenComplete((r, t) -> {
            if (t instanceof CancellationException) {
                cancelled("cancelled through its result future");
            }
        });
    }

    /** Publishes SUBMITTED, arms the deadline watchdog and starts the first round. */
    public void start() {
        synchronized (this) {
            if (finished) {
                return; // the client closed while submitting it, and cancelled it
            }
            record(JobState.SUBMITTED, null, null, spec.kernel().id() + " " + spec.params().longs() + ", max "
                    + spec.maxPrice() + ", " + spec.verification());
            long untilDeadline = Duration.between(ctx.clock().instant(), spec.deadline()).toNanos();
            if (untilDeadline > 0) {
                try {
                    watchdog = ctx.scheduler().schedule(guard(this::deadlinePassed), untilDeadline,
                            TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    cancelLocked(CLIENT_CLOSED);
                }
            }
        }
        afterUnlock();
        // The first round runs on the submitting thread: it never blocks (offers and dispatch
        // are futures), and sparing a hop is most of a small job's scheduling latency.
        guard(this::selectStage).run();
    }

    /**
     * Runs {@code stage} on the client's scheduler. The scheduler refuses work only once the
     * client is closing; a job that races the close then ends CANCELLED instead of waiting
     * for work that never runs.
     */
    private void hop(Runnable stage) {
        try {
            ctx.scheduler().execute(guard(stage));
        } catch (RejectedExecutionException e) {
            cancelled(CLIENT_CLOSED);
        }
    }

    // ---------------------------------------------------------------- select

    private void selectStage() {
        synchronized (this) {
            if (finished) {
                return;
            }
            if (!ctx.clock().instant().isBefore(spec.deadline())) {
                if (round == 0) {
                    fail(JobState.REJECTED, "deadline " + spec.deadline() + " had already passed when the job was "
                            + "submitted: build the job with a later deadline", true);
                } else {
                    fail(JobState.FAILED, lastFailureFirst("deadline " + spec.deadline() + " passed after " + round
                            + " round(s)"), false);
                }
                return;
            }
        }
        CompletableFuture<List<ProviderOffer>> offers;
        try {
            offers = ctx.network().offers(new OfferQuery(offerKernelId(), spec.requirements(), ctx.offerLimit()));
            if (offers == null) {
                throw new IllegalStateException("network " + ctx.network().name() + " returned no future of offers");
            }
        } catch (RuntimeException e) {
            offers = CompletableFuture.failedFuture(e);
        }
        java.util.function.BiConsumer<List<ProviderOffer>, Throwable> next = (list, error) -> guard(() -> {
            if (error != null || list == null) {
                roundFailed("could not fetch offers from " + ctx.network().name() + ": "
                        + (error == null ? "the network returned null" : rootCause(error)));
            } else {
                plan(list);
            }
        }).run();
        if (offers.isDone()) {
            offers.whenComplete(next); // already on our scheduler: no hop for a cached answer
        } else {
            offers.whenComplete((list, error) -> hop(() -> next.accept(list, error)));
        }
    }

    private String offerKernelId() {
        return spec.kernel() instanceof dev.depin.kernel.PtxKernel ? dev.depin.provider.OfferTerms.PTX
                : spec.kernel().id();
    }

    private void plan(List<ProviderOffer> offers) {
        List<String> passedOver = new ArrayList<>();
        int wanted = spec.verification().attemptsPerRound();
        List<Attempt> batch;
        synchronized (this) {
            if (finished) {
                return;
            }
            List<ProviderOffer> usable = ctx.offers().usable(offers, ctx.clock().instant(), passedOver);
            Selection.Plan plan = selection.choose(usable, tried, wanted, passedOver);
            if (plan.chosen().isEmpty()) {
                String why = plan.why() != null ? plan.why()
                        : (wanted == 1 ? "no offer fits" : "fewer than the " + wanted + " distinct providers that "
                        + spec.verification() + " needs fit");
                why += " (" + offers.size() + " offer(s) considered"
                        + (passedOver.isEmpty() ? "" : ": " + String.join("; ", passedOver)) + ")";
                if (this.round == 0) {
                    fail(JobState.REJECTED, why + ". Relax the requirements, raise the max price, or add providers",
                            true);
                } else {
                    fail(JobState.FAILED, lastFailureFirst("no other provider is left to try: " + why), false);
                }
                return;
            }
            this.round++;
            record(JobState.MATCHED, null, null, "round " + this.round + " of at most " + ctx.maxAttempts() + ": "
                    + plan.chosen().stream().map(o -> o.nodeId().shortId() + " est. " + selection.estimate(o))
                    .toList() + (lastFailure.isEmpty() ? "" : " (after: " + lastFailure + ")"));
            // hold: a settlement backend would place the escrow here (ESCROWED); there is none yet.
            batch = new ArrayList<>();
            for (ProviderOffer offer : plan.chosen()) {
                attempts++;
                tried.add(offer.nodeId());
                byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
                RANDOM.nextBytes(nonce);
                batch.add(new Attempt(offer, new ExecutionRequest(jobId, attempts, spec, job.inputs(), nonce),
                        this.round));
            }
            inFlight = List.copyOf(batch);
            record(JobState.DISPATCHED, null, null, batch.size() + " attempt(s)");
            for (Attempt a : batch) {
                recordAttempt(a, AttemptState.DISPATCHED, a.offer.region() + " " + a.offer.terms().endpoint());
            }
        }
        afterUnlock();
        dispatchStage(batch);
    }

    // ---------------------------------------------------------------- dispatch

    private void dispatchStage(List<Attempt> round) {
        long timeoutNanos = Math.max(1, Math.min(Duration.between(ctx.clock().instant(), spec.deadline()).toNanos(),
                ctx.attemptTimeout().toNanos()));
        for (Attempt a : round) {
            ctx.load().begin(a.provider());
            Dispatch d;
            try {
                d = ctx.network().dispatch(a.offer, a.request, p -> onProgress(a, p));
                if (d == null) {
                    throw new IllegalStateException("network " + ctx.network().name() + " returned no dispatch");
                }
            } catch (RuntimeException e) {
                // A network adapter that throws instead of failing its future still loses no job.
                d = Dispatch.failed(e);
            }
            Dispatch dispatch = d;
            // The provider counts as busy until it lets go of the attempt, not until we stop waiting.
            dispatch.released().whenComplete((v, t) -> ctx.load().end(a.provider()));
            boolean stop;
            synchronized (this) {
                a.dispatch = dispatch;
                stop = finished || a.settled;
            }
            if (stop) {
                dispatch.cancel("job " + jobId + " ended before the attempt was sent");
                continue;
            }
            ScheduledFuture<?> timer;
            try {
                timer = ctx.scheduler().schedule(guard(() -> {
                    String why = "no answer within " + Duration.ofNanos(timeoutNanos);
                    synchronized (this) {
                        if (a.settled) {
                            return;
                        }
                        a.timedOut = why; // the provider's answer to the cancel must not replace the cause
                    }
                    // Stop the work where it runs before the job can end on this timeout.
                    dispatch.cancel(why);
                    settle(a, null, why);
                }), timeoutNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                cancelled(CLIENT_CLOSED); // cancels this attempt's dispatch too
                continue;
            }
            synchronized (this) {
                a.timer = timer;
                if (a.settled) {
                    timer.cancel(false); // stopped while the timer was being armed
                }
            }
            dispatch.response().whenComplete((response, error) ->
                    guard(() -> settle(a, response, error == null ? null : describe(rootCause(error)))).run());
        }
    }

    private void onProgress(Attempt a, ComputeNetwork.Progress p) {
        if (p != ComputeNetwork.Progress.RUNNING) {
            return;
        }
        // Progress may come on a transport thread: hop to our own before touching state.
        try {
            ctx.scheduler().execute(guard(() -> {
                synchronized (this) {
                    if (finished || a.settled || a.state != AttemptState.DISPATCHED) {
                        return;
                    }
                    if (state == JobState.DISPATCHED) {
                        record(JobState.RUNNING, a.number(), a.provider(), "");
                    }
                    recordAttempt(a, AttemptState.RUNNING, "");
                }
                afterUnlock();
            }));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The client is closing; the job is being cancelled anyway.
        }
    }

    private static String describe(Throwable cause) {
        return cause instanceof CancellationException ? "cancelled"
                : cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    private void settle(Attempt a, ExecutionResponse response, String failure) {
        List<Attempt> round;
        synchronized (this) {
            if (a.settled) {
                return;
            }
            a.settled = true;
            cancelTimer(a);
            a.response = response;
            a.failure = response == null ? (a.timedOut != null ? a.timedOut : failure == null ? "no response" : failure)
                    : null;
            if (finished) {
                return;
            }
            if (response != null) {
                recordAttempt(a, AttemptState.RETURNED, "");
                if (state != JobState.RETURNED) {
                    record(JobState.RETURNED, a.number(), a.provider(), response.executorKind() + ", device "
                            + Duration.ofNanos(response.deviceNanos()).toMillis() + " ms");
                }
            }
            round = inFlight;
            if (!round.contains(a) || !round.stream().allMatch(x -> x.settled)) {
                round = null;
            }
        }
        afterUnlock();
        if (round != null) {
            List<Attempt> done = round;
            hop(() -> verifyStage(done));
        }
    }

    // ---------------------------------------------------------------- verify

    private void verifyStage(List<Attempt> round) {
        synchronized (this) {
            if (finished || inFlight != round) {
                return;
            }
        }
        List<Attempt.Outcome> outcomes = new ArrayList<>();
        List<Attempt.Outcome> valid = new ArrayList<>();
        for (Attempt a : round) {
            Attempt.Outcome o = judge(a);
            (o.state() == AttemptState.ACCEPTED ? valid : outcomes).add(o);
        }
        Attempt.Outcome winner = null;
        if (spec.verification() instanceof VerificationPolicy.Redundant r) {
            List<Attempt.Outcome> decided = Quorum.decide(valid, round.size(), r.quorum(), comparison(),
                    this::dispute);
            if (!decided.isEmpty() && decided.get(0).state() == AttemptState.ACCEPTED) {
                winner = decided.get(0);
            }
            outcomes.addAll(decided);
        } else if (!valid.isEmpty()) {
            winner = valid.get(0);
            outcomes.addAll(valid);
        }
        conclude(round, outcomes, winner);
    }

    /** Checks one settled attempt; never throws. */
    private Attempt.Outcome judge(Attempt a) {
        if (a.response == null) {
            return Attempt.Outcome.failed(a, a.failure);
        }
        ExecutionResponse r = a.response;
        if (!jobId.equals(r.jobId()) || r.attempt() != a.number()) {
            return Attempt.Outcome.failed(a, "response is for " + r.jobId() + "#" + r.attempt()
                    + ", not this attempt");
        }
        if (!a.provider().equals(r.provider())) {
            return Attempt.Outcome.failed(a, "response names provider " + r.provider().shortId()
                    + ", not the one dispatched to");
        }
        if (!r.outputs().keySet().equals(a.request.expectedOutputs().keySet())) {
            // An assembler built from the request never yields other names: the transport is at fault.
            return Attempt.Outcome.failed(a, "malformed response: it carries outputs " + quoted(r.outputs().keySet())
                    + " but the job declares " + quoted(a.request.expectedOutputs().keySet()));
        }
        try {
            VerificationReport report = ctx.verifier().verify(spec, specHash, job.inputs(), a.offer, a.request, r);
            return Attempt.Outcome.accepted(a, report);
        } catch (VerificationException e) {
            return Attempt.Outcome.disputed(a, e.getMessage(), dispute(a, e));
        } catch (RuntimeException e) {
            // A malformed response that the checks could not even read: the provider's fault, not a proof.
            return Attempt.Outcome.failed(a, "malformed response: " + e);
        }
    }

    private static List<String> quoted(Set<String> names) {
        return names.stream().map(n -> "'" + n + "'").toList();
    }

    private Comparison comparison() {
        return spec.kernel().reference()
                .map(ref -> {
                    Recompute rc = ref.recompute(ctx.reference(), spec.params(), job.inputs());
                    return rc.comparison();
                })
                .orElse(Comparison.bitwise());
    }

    private DisputeRecord dispute(Attempt a, VerificationException e) {
        ExecutionResponse r = a.response;
        return new DisputeRecord(jobId, a.number(), a.provider(), a.offer.publicKey(), e.reason(), e.getMessage(),
                e.evidence().orElse(null), r.receipt(), r.wipe(), spec.canonicalJson(), ctx.clock().instant(),
                r.outputBytes(), r.batched());
    }

    // ---------------------------------------------------------------- conclude (post or void)

    private void conclude(List<Attempt> round, List<Attempt.Outcome> outcomes, Attempt.Outcome winner) {
        boolean next = false;
        synchronized (this) {
            if (finished || inFlight != round) {
                return;
            }
            inFlight = List.of();
            List<Attempt.Outcome> agreeing = new ArrayList<>();
            for (Attempt.Outcome o : outcomes) {
                if (o.state() == AttemptState.ACCEPTED) {
                    agreeing.add(o);
                    continue;
                }
                lastFailure = "attempt " + o.attempt().number() + " at " + o.attempt().provider().shortId() + ": "
                        + o.detail();
                if (o.state() == AttemptState.DISPUTED) {
                    disputes.add(o.dispute());
                    ctx.reputation().dispute(o.attempt().provider());
                } else {
                    ctx.reputation().failure(o.attempt().provider());
                }
                recordAttempt(o.attempt(), o.state(), o.detail());
            }
            if (winner == null) {
                if (round.get(0).round >= ctx.maxAttempts()) {
                    fail(JobState.FAILED, lastFailureFirst("all " + this.round + " round(s) failed"), false);
                } else {
                    next = true;
                }
            } else {
                // post: a settlement backend would pay the agreeing providers here (SETTLED).
                long cost = 0;
                for (Attempt.Outcome o : agreeing) {
                    ExecutionResponse r = o.attempt().response;
                    cost = Math.addExact(cost, o.attempt().offer.terms().price()
                            .charge(r.deviceNanos(), spec.bytesMoved()).micros());
                }
                MicroUsd total = MicroUsd.ofMicros(Math.min(cost, spec.maxPrice().micros()));
                succeed(winner, agreeing, total);
            }
        }
        afterUnlock();
        if (next) {
            hop(this::selectStage);
        }
    }

    private String lastFailureFirst(String what) {
        return lastFailure.isEmpty() ? what : lastFailure + " (" + what + ")";
    }

    /** An attempt-less failure (the offers could not be fetched): counts as a round. */
    private void roundFailed(String why) {
        boolean next;
        synchronized (this) {
            if (finished) {
                return;
            }
            lastFailure = why;
            round++;
            next = round < ctx.maxAttempts();
            if (!next) {
                fail(JobState.FAILED, "all " + round + " round(s) failed; last: " + why, false);
            }
        }
        afterUnlock();
        if (next) {
            hop(this::selectStage);
        }
    }

    private void deadlinePassed() {
        synchronized (this) {
            if (finished) {
                return;
            }
            fail(JobState.FAILED, lastFailureFirst("deadline " + spec.deadline() + " passed in state " + state
                    + " after " + round + " round(s)"), false);
        }
        afterUnlock();
    }

    // ---------------------------------------------------------------- endings (caller holds the lock)

    private void succeed(Attempt.Outcome winner, List<Attempt.Outcome> agreeing, MicroUsd cost) {
        Attempt a = winner.attempt();
        ExecutionResponse resp = a.response;
        List<JobEvent> tail = new ArrayList<>();
        for (Attempt.Outcome o : agreeing) {
            tail.add(event(state, o.attempt().number(), AttemptState.ACCEPTED, o.attempt().provider(), o.detail()));
        }
        tail.add(event(JobState.VERIFIED, a.number(), null, a.provider(), winner.report().summary()));
        List<JobEvent> history = new ArrayList<>(bus.events());
        history.addAll(tail);
        JobResult r = new JobResult(jobId, specHash, a.number(), a.provider(), resp.executorKind(), resp.outputBytes(),
                cost, new JobResult.Timings(submittedAt, ctx.clock().instant(), resp.deviceNanos()), resp.receipt(),
                resp.wipe(), winner.report(), disputes, history, resp.batched());
        // Decided here, under the lock (a cancel through the future takes the lock too, so it
        // either came first or finds the job finished); the future completes after unlocking.
        finished = true;
        for (Attempt.Outcome o : agreeing) {
            ctx.reputation().success(o.attempt().provider());
        }
        tail.forEach(this::append);
        stopTimers();
        completion = () -> result.complete(r);
    }

    private void fail(JobState finalState, String why, boolean rejected) {
        JobEvent last = event(finalState, attempts, null, null, why);
        List<JobEvent> history = new ArrayList<>(bus.events());
        history.add(last);
        JobFailedException e = new JobFailedException("job " + jobId + (rejected ? " rejected: " : " failed: ") + why,
                finalState, history);
        if (rejected) {
            e.addSuppressed(new NoMatchingOfferException(why));
        }
        if (finished) {
            return;
        }
        finished = true;
        append(last);
        stopAttempts("job " + finalState);
        stopTimers();
        completion = () -> result.completeExceptionally(e);
    }

    private void cancelled(String how) {
        synchronized (this) {
            cancelLocked(how);
        }
        afterUnlock();
    }

    private boolean cancelLocked(String how) {
        if (finished) {
            return false;
        }
        finished = true;
        record(JobState.CANCELLED, attempts, null, how);
        stopAttempts("job cancelled");
        stopTimers();
        completion = result::cancelNow;
        return true;
    }

    /** Marks unsettled attempts CANCELLED; their dispatches are cancelled after the lock is released. */
    private void stopAttempts(String why) {
        for (Attempt a : inFlight) {
            if (!a.settled) {
                a.settled = true;
                cancelTimer(a);
                recordAttempt(a, AttemptState.CANCELLED, why);
                if (a.dispatch != null) {
                    toCancel.add(a.dispatch);
                }
            }
        }
        inFlight = List.of();
        cancelReason = why;
    }

    /**
     * What is left to do once the lock is released: complete the result future (its
     * dependents are user code), cancel dispatches at their providers (a network call) and
     * hand queued events to the listener executor. A call made while the lock is held (a
     * callback that ran synchronously inside a locked section) leaves it all to the caller
     * that holds the lock, which calls this after releasing it.
     */
    private void afterUnlock() {
        if (Thread.holdsLock(this)) {
            return;
        }
        List<Dispatch> cancel;
        String why;
        Runnable complete;
        synchronized (this) {
            complete = completion;
            completion = null;
            if (toCancel.isEmpty()) {
                cancel = List.of();
            } else {
                cancel = new ArrayList<>(toCancel);
                toCancel.clear();
            }
            why = cancelReason;
        }
        if (complete != null) {
            complete.run();
        }
        for (Dispatch d : cancel) {
            d.cancel(why); // never blocks, swallows adapter failures
        }
        bus.flush();
    }

    /** Cancels an attempt's timeout (a timer left behind would keep the client's threads alive after close). */
    private static void cancelTimer(Attempt a) {
        if (a.timer != null) {
            a.timer.cancel(false);
        }
    }

    private void stopTimers() {
        if (watchdog != null) {
            watchdog.cancel(false);
        }
    }

    // ---------------------------------------------------------------- events

    private JobEvent event(JobState s, int attempt, AttemptState as, NodeId provider, String detail) {
        return new JobEvent(jobId, attempt, s, as, provider, ctx.clock().instant(), detail == null ? "" : detail);
    }

    private void record(JobState next, Integer attempt, NodeId provider, String detail) {
        append(event(next, attempt == null ? attempts : attempt, null, provider, detail));
    }

    private void recordAttempt(Attempt a, AttemptState s, String detail) {
        a.state = s;
        append(event(state, a.number(), s, a.provider(), detail));
    }

    private void append(JobEvent e) {
        state = e.state();
        bus.record(e);
        LOG.debug("{}", e);
    }

    /** Runs {@code body}; anything it throws ends the job as FAILED instead of vanishing. */
    private Runnable guard(Runnable body) {
        return () -> {
            try {
                body.run();
                // Stages that end the job inside their locked section return without this.
                afterUnlock();
            } catch (Throwable t) {
                LOG.warn("job {}: internal error, failing the job: {}", jobId, t.toString(), t);
                synchronized (this) {
                    if (!finished) {
                        fail(JobState.FAILED, "internal error in the engine: " + t
                                + " (a bug: please report it with this message)", false);
                    }
                }
                afterUnlock();
                if (t instanceof Error e && !(t instanceof AssertionError)) {
                    throw e;
                }
            }
        };
    }

    private static Throwable rootCause(Throwable t) {
        while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    // ---------------------------------------------------------------- JobHandle

    @Override
    public String jobId() {
        return jobId;
    }

    @Override
    public JobSpec spec() {
        return spec;
    }

    @Override
    public Job job() {
        return job;
    }

    @Override
    public CompletableFuture<JobResult> resultAsync() {
        return result;
    }

    @Override
    public synchronized JobState state() {
        return state;
    }

    @Override
    public synchronized List<JobEvent> events() {
        // Under the lock: the final event is appended in the locked section that decides the
        // job, before its result future completes, so a caller that saw the future complete
        // sees it.
        return bus.events();
    }

    @Override
    public void onEvent(Consumer<JobEvent> listener) {
        InvalidArgumentException.requireNonNull(listener, "event listener");
        synchronized (this) {
            bus.add(listener);
        }
        afterUnlock();
    }

    @Override
    public CompletableFuture<Boolean> cancelAsync() {
        boolean done;
        synchronized (this) {
            done = cancelLocked("cancelled by the buyer");
        }
        afterUnlock(); // cancels the future, outside the lock

        return CompletableFuture.completedFuture(done);
    }

    @Override
    public String toString() {
        return "JobRun[" + jobId + " " + state() + "]";
    }

    /**
     * The result future. Cancelling it cancels the job through the job's lock, so a cancel
     * and the job's own end never both win: either the job is CANCELLED (and the future
     * cancelled), or it had already ended and {@code cancel} returns false.
     */
    private final class ResultFuture extends CompletableFuture<JobResult> {
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean won;
            synchronized (JobRun.this) {
                won = cancelLocked("cancelled through its result future");
            }
            afterUnlock();
            return won || isCancelled();
        }

        void cancelNow() {
            super.cancel(false);
        }
    }
}
