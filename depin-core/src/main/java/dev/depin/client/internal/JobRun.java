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
import dev.depin.network.spi.ArrivalTaps;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.provider.ProviderOffer;
import dev.depin.settlement.JobSettlement;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's life as a sequence of stages, round after round:
 * <b>select</b> (verified offers, filtered and ranked within the price cap) →
 * <b>hold</b> (with an escrow: a quote, then one hold per attempt, its share of the max
 * price → ESCROWED) → <b>dispatch</b> (one attempt, or one per replica, each with its own
 * nonce) → <b>verify</b> (receipt, shapes, wipe attestation, policy; redundancy quorum) →
 * VERIFIED → <b>post, void, slash</b> (agreeing attempts paid what they charged, the others
 * voided, disputed providers slashed → SETTLED), or voids, slashes and the next round.
 * Without an escrow a job ends at VERIFIED. With {@code hedgeAfter}, a lone attempt that
 * has not answered in time is raced by a second provider in the same round: each answer is
 * judged as it comes, and the first verified one wins.
 *
 * <p>Rules that make every job end: every continuation runs through {@link #guard}, which
 * turns anything thrown into a FAILED job; a watchdog ends the job at its deadline
 * whatever the network does; a timed-out attempt is cancelled at the provider; the final
 * state is decided once, under this object's lock, with its final event, and the result
 * future completes after the lock is released (a cancel through the future takes the lock
 * too, so it either wins, and the job is CANCELLED, or finds the job ended and changes
 * nothing). Network calls, ledger calls, listeners and the future's dependents never run
 * under this object's lock. The job's money (every hold, post, void and slash, and their
 * exactly-once rules) lives in its {@link JobMoney}, guarded by this same lock: this class
 * calls it where money is decided (a round's holds, its conclusion, the job's end) and
 * moves what was decided once the lock is released ({@link #afterUnlock}).
 *
 * <p>A job's completion (its SLA record, its result future and the caller's continuations on
 * it) runs only on a client thread: one of the client's scheduler, the thread waiting in the
 * job's result, or the caller's own thread inside {@link #start()}. Never on a thread that
 * delivered a provider's answer (a transport's callback, an in-process node's worker, a
 * ledger's thread), nor on a thread inside a cancel (the future reads as cancelled when the
 * cancel returns, its dependents run later): those leave it to a client thread
 * ({@link #afterUnlock}).
 */
public final class JobRun implements JobHandle {
    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String CLIENT_CLOSED = "the client was closed";
    /**
     * What the current thread runs for the client, when it runs something: the client's
     * scheduler (a task of it), or one job (its caller's thread inside {@link #start()} or a
     * cancel, or the thread waiting in its result). Any other thread is foreign to a job
     * ({@link #clientSide()}).
     */
    private static final ThreadLocal<Object> SIDE = new ThreadLocal<>();
    /**
     * What a thread inside a cancel ({@link #cancelHere}) runs for: neither a job nor the
     * scheduler, so a completion it finds goes to the scheduler (the caller's code never runs
     * inside {@code cancelAsync()} or {@code resultAsync().cancel(..)}), whichever thread it is.
     */
    private static final Object CANCELLER = new Object();

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
     * @param escrowing      the buyer's money calls, or null without an escrow
     * @param hedgeAfter     when a lone attempt has not answered after this long, a second
     *                       provider runs the job too and the first verified result wins; null
     *                       never hedges
     * @param meters         the client's meters ({@link ClientMeters#NONE} records nothing)
     * @param sla            where each finished job's SLA record goes, or null
     * @param heldRoom       what the client has left on each provider, for placing jobs that leave outputs
     * @param wipeGrace      how long a verified attempt's wipe attestation is waited for
     * @param seams          where tests reach into a job ({@link Seams#NONE} outside tests)
     */
    public record Context(ComputeNetwork network, Clock clock, ScheduledExecutorService scheduler, Executor listeners,
                          Reputation reputation, ProviderLoad load, OfferBook offers, AttemptVerifier verifier,
                          CpuReference reference, int maxAttempts, Duration attemptTimeout, int banAfter,
                          int offerLimit, Escrowing escrowing, Duration hedgeAfter, ClientMeters meters,
                          dev.depin.sla.SlaRecorder sla, HeldRoom heldRoom, Duration wipeGrace, Seams seams) {
    }

    /**
     * Where a test reaches into a job (set through the client builder's package-private seam, not
     * API): the lock that decides a job's end, and the instants between a decision and its effects
     * where another thread may come by. A test holds a job there with latches to force an
     * interleaving that a loaded machine would produce only by chance. {@link #NONE} does nothing.
     */
    public interface Seams {
        /** No test: every seam does nothing. */
        Seams NONE = new Seams() {
        };

        /**
         * A job was made (before it starts).
         *
         * @param job  the job
         * @param lock the lock that decides the job's end (whatever object that lock is)
         */
        default void made(JobHandle job, JobLock lock) {
        }

        /**
         * This thread's cancel has just won (the job is CANCELLED) and released the job's lock, and
         * has not yet completed the job: another client thread that comes by now may run the job's
         * completion before this one does.
         *
         * @param job the job
         */
        default void cancelWon(JobHandle job) {
        }
    }

    /** The lock that decides a job's end, as a test sees it ({@link Seams#made}). */
    public interface JobLock {
        /**
         * Runs {@code body} holding the lock, as the engine's own locked sections do.
         *
         * @param body what to run
         */
        void run(Runnable body);

        /** @return whether the current thread holds the lock (user code never should) */
        boolean heldByCurrentThread();
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
    /** What {@link #recordSla} returns without a recorder. */
    private static final CompletableFuture<Void> RECORDED = CompletableFuture.completedFuture(null);
    private final Set<NodeId> tried = new HashSet<>();
    /** The attempts' spot checks drawn at dispatch, released once the job is over (caller holds the lock). */
    private final List<HeldSpotCheck.Prepared> prepared = new ArrayList<>();
    /**
     * Tried providers whose replica verified but found no quorum because other replicas never
     * answered: honest as far as anyone knows, so a later round may ask them again when too
     * few untried providers are left (caller holds the lock).
     */
    private final Set<NodeId> unanswered = new HashSet<>();
    private final List<DisputeRecord> disputes = new ArrayList<>();
    /** How long the last wait for a wipe attestation was bounded, for its failure message (guarded by this). */
    private String wipeWaitBound = "in time";
    /** The offer each attempt number was dispatched under (for the SLA record; caller holds the lock). */
    private final Map<Integer, ProviderOffer> offerOf = new HashMap<>();
    /**
     * When the first byte of each attempt's result reached the buyer, on the client's clock
     * read as the transport reported it (for an SLA's time to first byte; any thread).
     */
    private final Map<Integer, Instant> firstByteOf = new ConcurrentHashMap<>();
    /** Attempts whose Freivalds check was prepared before dispatch: wiped when the job ends (see stopTimers). */
    private final Queue<ExecutionRequest> preparedFreivalds = new ConcurrentLinkedQueue<>();
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
     * A client thread has been asked to run {@link #completion}: a foreign thread found it set
     * (guarded by this).
     */
    private boolean completionHanded;
    /** Why the job failed, as an exception to chain (a settlement refusal); null otherwise. */
    private Throwable failCause;
    /** Verified, and its money is being settled: too late to cancel. */
    private boolean settling;
    /** The job's money (its holds, posts, voids and slashes), or null without an escrow; guarded by this lock. */
    private final JobMoney money;
    /** Held inputs and where the outputs go, the same for every attempt. */
    private final dev.depin.network.spi.Delivery delivery;
    /** Which offers can hold the outputs of a job that leaves them. */
    private final HoldPlacement holdPlacement;
    /** Why the last round had no offer that can hold the outputs, or null (caller holds the lock). */
    private dev.depin.client.NoHoldingOfferException holdRefused;
    /** The offers the current round chose from: a hedge picks from them. */
    private List<ProviderOffer> lastUsable = List.of();
    /** Fires the current round's hedge; cancelled when the round ends. */
    private ScheduledFuture<?> hedgeTimer;

    /**
     * @param job the job to run
     * @param ctx the client's context
     */
    public JobRun(Job job, Context ctx) {
        this.job = job;
        this.spec = job.spec();
        this.specHash = spec.hash();
        this.ctx = ctx;
        this.delivery = new dev.depin.network.spi.Delivery(job.heldInputs().keySet(), job.leaveOutputsFor().orElse(null));
        this.holdPlacement = new HoldPlacement(job);
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        this.jobId = Hex.encode(id);
        this.submittedAt = ctx.clock().instant();
        this.selection = new Selection(spec, job.slaRequirement(), ctx.reputation(), ctx.load(), ctx.banAfter());
        this.bus = new EventBus(ctx.listeners());
        this.money = ctx.escrowing() == null ? null
                : new JobMoney(this, jobId, spec, specHash, ctx.escrowing(), this::hopOrRun);
        ctx.seams().made(this, new JobLock() {
            @Override
            public void run(Runnable body) {
                synchronized (JobRun.this) {
                    body.run();
                }
            }

            @Override
            public boolean heldByCurrentThread() {
                return Thread.holdsLock(JobRun.this);
            }
        });
        // Whoever completes the future with a CancellationException without cancel() still cancels the job.
        result.whenComplete((r, t) -> {
            if (t instanceof CancellationException) {
                cancelHere("cancelled through its result future"); // on the thread that completed it
            }
        });
        ctx.meters().submitted();
        result.whenComplete((r, t) -> ctx.meters().ended(r, t instanceof CompletionException
                && t.getCause() != null ? t.getCause() : t));
    }

    /** Publishes SUBMITTED, arms the deadline watchdog and starts the first round (on the caller's thread). */
    public void start() {
        runAs(this, this::startHere);
    }

    private void startHere() {
        synchronized (this) {
            if (finished) {
                return; // the client closed while submitting it, and cancelled it
            }
            record(JobState.SUBMITTED, null, null, spec.kernel().id() + " " + spec.params().longs() + ", max "
                    + spec.maxPrice() + ", " + spec.verification());
            long untilDeadline = Duration.between(ctx.clock().instant(), spec.deadline()).toNanos();
            if (untilDeadline > 0) {
                try {
                    watchdog = ctx.scheduler().schedule(scheduled(this::deadlinePassed), untilDeadline,
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
        hop(stage, () -> { });
    }

    /** {@link #hop(Runnable)}, running {@code refused} first if the scheduler refuses the stage. */
    private void hop(Runnable stage, Runnable refused) {
        try {
            ctx.scheduler().execute(scheduled(stage));
        } catch (RejectedExecutionException e) {
            refused.run();
            cancelled(CLIENT_CLOSED);
        }
    }

    /**
     * Runs {@code stage} on the thread blocked in this job's {@code result()} when there is one
     * (it would otherwise wait for a scheduler thread to run the stage and then be woken by that
     * thread: two wake-ups where this is one, or none when the stage is handed over on the waiting
     * thread itself), else on the client's scheduler as {@link #hop(Runnable, Runnable)}.
     */
    private void handOver(Runnable stage, Runnable refused) {
        if (!result.offer(stage, refused)) {
            hop(stage, refused);
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
        BiConsumer<List<ProviderOffer>, Throwable> next = (list, error) -> guard(() -> {
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
        return spec.kernel().offerId();
    }

    /**
     * The job's input bytes each provider holds, as the network believes (a hint for ranking;
     * a network that fails to say is treated as knowing nothing).
     */
    private Map<NodeId, Long> inputBytesHeld() {
        if (spec.inputs().isEmpty()) {
            return Map.of();
        }
        try {
            Map<NodeId, Long> held = ctx.network().inputBytesHeld(spec.inputs());
            return held == null ? Map.of() : held;
        } catch (RuntimeException e) {
            LOG.debug("job {}: network {} could not say which providers hold its inputs: {}", jobId,
                    ctx.network().name(), e.toString());
            return Map.of();
        }
    }

    /**
     * Offers this job may go to: only the provider holding its held inputs, and for a job that
     * leaves its outputs only providers whose offers can hold them ({@link HoldPlacement}). When
     * the hold terms leave none, {@link #holdRefused} says why (else it is cleared).
     */
    private List<ProviderOffer> placeable(List<ProviderOffer> usable, List<String> passedOver) {
        holdRefused = null;
        Optional<NodeId> pinned = job.pinnedProvider();
        if (pinned.isEmpty() && !holdPlacement.applies()) {
            return usable;
        }
        List<ProviderOffer> out = new ArrayList<>();
        List<ProviderOffer> refused = new ArrayList<>();
        for (ProviderOffer o : usable) {
            String cannotHold;
            if (pinned.isPresent() && !pinned.get().equals(o.nodeId())) {
                passedOver.add(o.nodeId().shortId() + ": does not hold inputs " + job.heldInputs().keySet());
            } else if ((cannotHold = holdPlacement.refusal(o, holdPlacement.applies()
                    ? ctx.heldRoom().held(o.nodeId(), ctx.clock().instant()) : HeldRoom.Held.NONE)) != null) {
                passedOver.add(o.nodeId().shortId() + " " + cannotHold);
                refused.add(o);
            } else {
                out.add(o);
            }
        }
        if (out.isEmpty() && !refused.isEmpty()) {
            holdRefused = holdPlacement.rejection(refused, pinned.isPresent());
        } else if (pinned.isPresent() && out.isEmpty()) {
            dev.depin.job.HeldOutput h = job.heldInputs().values().iterator().next();
            passedOver.add("provider " + h.provider().shortId() + ", which holds " + h.describe() + ", is not offered "
                    + "(gone, or not listed any more): run the job that produced it again");
        }
        return out;
    }

    /**
     * The RETURNED detail: what reaching the provider cost, and for a job that leaves its
     * outputs, that no output byte came back.
     */
    private String returned(ExecutionResponse response) {
        String transfer = response.inputTransfer() == null ? "" : response.inputTransfer().summary();
        if (!delivery.leavesOutputs()) {
            return transfer;
        }
        long bytes = response.outputs().values().stream().mapToLong(dev.depin.network.spi.ReceivedOutput::bytes).sum();
        String outs = "outputs received: " + bytes + " bytes; left on the provider: "
                + spec.outputs().stream().map(dev.depin.kernel.BufferDecl::name).toList();
        return transfer.isEmpty() ? outs : outs + "; " + transfer;
    }

    /** Where the winner's outputs stay, by the roots its verified receipt signed; none when they came back. */
    private Map<String, dev.depin.job.HeldOutput> heldOutputs(Attempt a) {
        if (!delivery.leavesOutputs()) {
            return Map.of();
        }
        ExecutionResponse r = a.response;
        dev.depin.crypto.ExecutionReceipt receipt = r.receipt() != null
                ? dev.depin.crypto.ExecutionReceipt.readUnverified(r.receipt()) : r.batched().readReceiptUnverified();
        Instant until = receipt.endedAt().plus(delivery.leaveOutputsFor());
        Map<String, dev.depin.job.HeldOutput> held = new LinkedHashMap<>();
        for (dev.depin.crypto.BufferDigest d : receipt.outputs()) {
            held.put(d.name(), new dev.depin.job.HeldOutput(d.name(), d.merkleRoot(), d.bytes(), a.provider(), until));
        }
        return held;
    }

    /**
     * What the accepted attempt's data did, from its transport's count (every declared byte sent
     * when the network does not count) and its offer's price per gigabyte.
     */
    private dev.depin.job.DataMovement dataMovement(Attempt a) {
        long declared = spec.inputs().stream().mapToLong(dev.depin.job.InputRef::bytes).sum();
        dev.depin.network.spi.InputTransfer t = a.response.inputTransfer();
        if (t == null) {
            t = dev.depin.network.spi.InputTransfer.allSent(declared);
        }
        return new dev.depin.job.DataMovement(declared, Math.min(declared, t.sentBytes()), t.fromCache(), t.resent(),
                job.heldInputs(), t.kept(), a.offer.terms().price().charge(0, spec.bytesMoved()));
    }

    private static String held(Map<NodeId, Long> held, ProviderOffer o) {
        Long bytes = held.get(o.nodeId());
        return bytes == null ? "" : ", holds " + bytes + " input bytes";
    }

    private void plan(List<ProviderOffer> offers) {
        Map<NodeId, Long> held = inputBytesHeld();
        List<String> passedOver = new ArrayList<>();
        int wanted = spec.verification().attemptsPerRound();
        List<Attempt> batch;
        Runnable escrowPin = null;
        synchronized (this) {
            if (finished) {
                return;
            }
            List<ProviderOffer> usable = placeable(ctx.offers().usable(offers, ctx.clock().instant(), passedOver),
                    passedOver);
            Selection.Plan plan = selection.choose(usable, tried, wanted, passedOver, held);
            if (plan.chosen().isEmpty() && !unanswered.isEmpty()) {
                // Too few untried providers: replicas whose peers went silent may serve again
                // (never two in one round: the plan still picks distinct providers).
                Set<NodeId> excluded = new HashSet<>(tried);
                excluded.removeAll(unanswered);
                Selection.Plan again = selection.choose(usable, excluded, wanted, new ArrayList<>(), held);
                if (!again.chosen().isEmpty()) {
                    plan = again;
                }
            }
            lastUsable = usable;
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
                    + plan.chosen().stream().map(o -> o.nodeId().shortId() + " est. " + selection.estimate(o)
                            + held(held, o))
                    .toList() + (lastFailure.isEmpty() ? "" : " (after: " + lastFailure + ")"));
            batch = new ArrayList<>();
            for (ProviderOffer offer : plan.chosen()) {
                attempts++;
                tried.add(offer.nodeId());
                byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
                RANDOM.nextBytes(nonce);
                // How far behind this buyer's verifier is goes with the request: a provider holds
                // the signature of a behind buyer's job for a batch, and signs at once otherwise.
                batch.add(new Attempt(offer, new ExecutionRequest(jobId, attempts, spec, job.inputs(), nonce,
                        Optional.empty(), delivery, ctx.load().resultsQueued()), this.round));
                offerOf.put(attempts, offer);
            }
            inFlight = List.copyOf(batch);
            batch = inFlight; // the stages compare rounds by identity
            if (money != null) {
                escrowPin = money.reserve(batch); // taken under the lock: in flight from the decision
                if (escrowPin == null) {
                    fail(this.round == 1 ? JobState.REJECTED : JobState.FAILED, money.unsplittable(batch.size()),
                            this.round == 1);
                    return;
                }
            } else {
                dispatched(batch);
            }
        }
        afterUnlock();
        if (escrowPin != null) {
            escrowStage(batch, escrowPin);
        } else {
            dispatchStage(batch);
        }
    }

    /** Records the round's dispatch (caller holds the lock). */
    private void dispatched(List<Attempt> batch) {
        record(JobState.DISPATCHED, null, null, batch.size() + " attempt(s)");
        for (Attempt a : batch) {
            recordAttempt(a, AttemptState.DISPATCHED, a.offer.region() + " " + a.offer.terms().endpoint());
        }
    }

    // ---------------------------------------------------------------- hold (escrow)

    private void escrowStage(List<Attempt> batch, Runnable unpin) {
        money.hold(batch, unpin, (holds, error) -> escrowed(batch, holds, error));
    }

    private void escrowed(List<Attempt> batch, Escrowing.Holds holds, Throwable error) {
        Throwable refusal = error != null ? rootCause(error) : holds.error();
        boolean go = false;
        boolean hedge = batch.size() == 1 && batch.get(0).hedge;
        List<Attempt> verifyNow = null;
        synchronized (this) {
            money.placed(batch, holds);
            if (finished || !(hedge ? inFlight.contains(batch.get(0)) && !batch.get(0).settled : inFlight == batch)) {
                // The job or the round ended while the holds were being placed: release them.
                money.release(batch);
            } else if (hedge && refusal != null) {
                // No hedge then: the primary attempt runs on alone.
                Attempt h = batch.get(0);
                h.settled = true;
                recordAttempt(h, AttemptState.CANCELLED, "hedge not escrowed: " + describe(refusal));
                inFlight = List.copyOf(inFlight.stream().filter(x -> x != h).toList());
                verifyNow = racingRoundChanged();
            } else if (hedge) {
                recordAttempt(batch.get(0), AttemptState.DISPATCHED, "hedge, escrowed " + money.held(batch.get(0))
                        + " at " + money.quote().rate());
                go = true;
            } else if (refusal != null) {
                money.release(batch);
                inFlight = List.of(); // never dispatched: nothing to cancel
                boolean first = this.round == 1;
                failCause = refusal;
                fail(first ? JobState.REJECTED : JobState.FAILED, "could not escrow "
                        + money.held(batch.get(0))
                        + (batch.size() > 1 ? " for each of " + batch.size() + " attempts" : "") + " from "
                        + money.buyer() + ": " + describe(refusal), first);
            } else {
                record(JobState.ESCROWED, null, null, money.held(batch.get(0))
                        + (batch.size() > 1 ? " x " + batch.size() : "") + " held from " + money.buyer() + " at "
                        + money.quote().rate());
                dispatched(batch);
                go = true;
            }
        }
        afterUnlock();
        money.settleIfAtRest();
        if (go) {
            dispatchStage(batch);
        } else if (verifyNow != null) {
            List<Attempt> round = verifyNow;
            hop(() -> verifyStage(round));
        }
    }

    // ---------------------------------------------------------------- dispatch

    private void dispatchStage(List<Attempt> round) {
        armHedge(round);
        long untilDeadline = Duration.between(ctx.clock().instant(), spec.deadline()).toNanos();
        long timeoutNanos = Math.max(1, Math.min(untilDeadline, ctx.attemptTimeout().toNanos()));
        // One timer per job where it can be: when the attempt's timeout is the job's deadline
        // (the default attempt timeout, 10 min, outlasts most deadlines), the watchdog armed for
        // that instant times the attempt out too (deadlinePassed), instead of a second timer
        // for the same moment that would race it for the job's last message.
        boolean atDeadline;
        synchronized (this) {
            atDeadline = watchdog != null && ctx.attemptTimeout().toNanos() >= untilDeadline;
            if (atDeadline) {
                // Set before the attempts are sent, under the lock the watchdog takes: a deadline
                // that passes while one is being sent (the network's dispatch call, before the
                // block below records it) times it out as well, instead of ending the job without
                // it and cancelling it at its provider as never sent.
                for (Attempt a : round) {
                    a.timeoutAtDeadline = timeoutNanos;
                }
            }
        }
        for (Attempt a : round) {
            prepare(a);
            ArrivalTaps taps = prepareFreivalds(a);
            ctx.load().begin(a.provider());
            Dispatch d;
            try {
                // The taps travel with the request the network is given (the escrow's copy keeps
                // them): its assembler feeds them, and nothing else in the process can reach them.
                d = ctx.network().dispatch(a.offer, (money == null ? a.request : money.request(a)).withTaps(taps),
                        p -> onProgress(a, p));
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
            String stop;
            synchronized (this) {
                a.dispatch = dispatch;
                // Timed out at the deadline while being sent: deadlinePassed left its cancel to us.
                stop = a.timedOut != null && a.settled ? a.timedOut
                        : finished || a.settled ? "job " + jobId + " ended before the attempt was sent" : null;
            }
            if (stop != null) {
                dispatch.cancel(stop);
                ctx.verifier().discard(a.request);
                continue;
            }
            if (atDeadline) {
                dispatch.response().whenComplete((response, error) ->
                        guard(() -> settle(a, response, error == null ? null : describe(rootCause(error)))).run());
                continue;
            }
            ScheduledFuture<?> timer;
            try {
                timer = ctx.scheduler().schedule(scheduled(() -> {
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

    /**
     * Draws the attempt's spot check now, before it is sent, where its outputs stay on the
     * provider: the sampled chunks are recomputed while the provider computes, and the sample
     * is revealed only after the receipt was checked ({@link AttemptVerifier#prepare}).
     */
    private void prepare(Attempt a) {
        HeldSpotCheck.Prepared p;
        try {
            p = ctx.verifier().prepare(spec, job.inputs(), a.request, ctx.scheduler());
        } catch (RuntimeException e) {
            // Only an optimisation: the check draws its sample after the receipt instead.
            LOG.warn("job {} attempt {}: its spot check could not be prepared at dispatch ({}); it is drawn after "
                    + "the receipt", jobId, a.number(), e.toString());
            return;
        }
        if (p == null) {
            return;
        }
        boolean over;
        synchronized (this) {
            over = finished;
            if (!over) {
                prepared.add(p);
                a.prepared = p;
            }
        }
        if (over) {
            p.release();
        }
    }

    /** Releases the job's spot checks prepared at dispatch, once it is over (called without the lock). */
    private void releasePrepared() {
        List<HeldSpotCheck.Prepared> all;
        synchronized (this) {
            if (!finished || prepared.isEmpty()) {
                return;
            }
            all = new ArrayList<>(prepared);
            prepared.clear();
        }
        all.forEach(HeldSpotCheck.Prepared::release);
    }

    /**
     * Prepares the attempt's Freivalds check before it is sent (its product side computed while
     * the provider computes, C summed as it arrives); a failure here only means the check is done
     * in one shot at the end.
     *
     * @return the taps the attempt's request carries to the network's assembler, or none
     */
    private ArrivalTaps prepareFreivalds(Attempt a) {
        ArrivalTaps taps;
        try {
            Optional<ArrivalTaps> prepared = ctx.verifier().prepareFreivalds(spec, job.inputs(), a.request);
            if (prepared.isEmpty()) {
                return ArrivalTaps.none();   // nothing prepared for this job's policy
            }
            taps = prepared.get();
            preparedFreivalds.add(a.request);
        } catch (RuntimeException e) {
            ctx.verifier().discard(a.request);
            LOG.debug("job {}: attempt {}'s check not prepared, it will run in one shot: {}", jobId, a.number(),
                    e.toString());
            return ArrivalTaps.none();
        }
        boolean ended;
        synchronized (this) {
            ended = finished;
        }
        if (ended) {
            ctx.verifier().discard(a.request);   // the job's end may have wiped before this was added
        }
        return taps;   // detached if discarded: an assembler then takes none
    }

    private void onProgress(Attempt a, ComputeNetwork.Progress p) {
        if (p == ComputeNetwork.Progress.FIRST_BYTE) {
            // Timed here, on the transport's thread, as it arrives; no state but this map is touched.
            firstByteOf.putIfAbsent(a.number(), ctx.clock().instant());
            return;
        }
        if (p != ComputeNetwork.Progress.RUNNING) {
            return;
        }
        // Recorded on the thread that reports it (a transport's, or an in-process node's worker),
        // as settle records RETURNED: only the job's lock is taken, listeners run on their own
        // executor. A hop to the client's scheduler cost every job a task and a thread wake-up
        // for one event, while its node was running it.
        guard(() -> {
            synchronized (this) {
                if (finished || a.settled || a.state != AttemptState.DISPATCHED) {
                    return;
                }
                if (state == JobState.DISPATCHED) {
                    record(JobState.RUNNING, a.number(), a.provider(), "");
                }
                recordAttempt(a, AttemptState.RUNNING, "");
            }
        }).run();
    }

    static String describe(Throwable cause) {
        return cause instanceof CancellationException ? "cancelled"
                : cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    private void settle(Attempt a, ExecutionResponse response, String failure) {
        List<Attempt> round;
        List<Attempt> race = null;
        synchronized (this) {
            if (a.settled) {
                return;
            }
            a.settled = true;
            cancelTimer(a);
            if (response == null) {
                ctx.verifier().discard(a.request);   // nothing to check: wipe its prepared check now
            }
            a.response = response;
            a.failure = response == null ? (a.timedOut != null ? a.timedOut : failure == null ? "no response" : failure)
                    : null;
            if (finished) {
                return;
            }
            if (response != null) {
                // What reaching the provider cost, when the network counted it (bytes sent, inputs by root).
                recordAttempt(a, AttemptState.RETURNED, returned(response));
                if (delivery.leavesOutputs()) {
                    // The node holds them now, accepted or not: they take this buyer's room there.
                    Instant now = ctx.clock().instant();
                    ctx.heldRoom().left(a.provider(), spec.outputs().stream()
                            .mapToLong(dev.depin.kernel.BufferDecl::bytes).toArray(),
                            now, now.plus(delivery.leaveOutputsFor()));
                }
                if (state != JobState.RETURNED) {
                    record(JobState.RETURNED, a.number(), a.provider(), response.executorKind() + ", device "
                            + Duration.ofNanos(response.deviceNanos()).toMillis() + " ms");
                }
            }
            round = inFlight;
            if (racing() && round.contains(a)) {
                race = round;
                round = null;
            } else if (!round.contains(a) || !round.stream().allMatch(x -> x.settled)) {
                round = null;
            }
        }
        afterUnlock();
        if (race != null) {
            List<Attempt> r = race;
            hop(() -> raceStage(a, r));
        } else if (round != null) {
            List<Attempt> done = round;
            // Counted while it waits for a thread: the next requests tell providers the buyer is behind.
            ctx.load().resultQueued();
            Runnable verify = () -> {
                ctx.load().resultTaken();
                verifyStage(done);
            };
            if (response != null && response.wipeFollows() && result.helper.get() == Thread.currentThread()) {
                // This thread runs the attempt itself and is still to wipe: the outputs are checked
                // on the scheduler meanwhile, as the early receipt is for.
                hop(verify, ctx.load()::resultTaken);
            } else {
                handOver(verify, ctx.load()::resultTaken);
            }
        }
    }

    // ---------------------------------------------------------------- hedge

    /** Arms the hedge of a round of one attempt, if the client hedges (outside the lock). */
    private void armHedge(List<Attempt> round) {
        if (ctx.hedgeAfter() == null || round.size() != 1 || round.get(0).hedge
                || spec.verification().attemptsPerRound() != 1) {
            return;
        }
        try {
            ScheduledFuture<?> t = ctx.scheduler().schedule(scheduled(() -> hedge(round.get(0))),
                    ctx.hedgeAfter().toNanos(), TimeUnit.NANOSECONDS);
            synchronized (this) {
                if (finished || hedgeTimer != null || !inFlight.contains(round.get(0)) || round.get(0).settled) {
                    t.cancel(false);
                } else {
                    hedgeTimer = t;
                }
            }
        } catch (RejectedExecutionException e) {
            // The client is closing: no hedge.
        }
    }

    /**
     * The lone attempt of this round has not answered within the hedge delay: run the job on
     * one more provider as well; the first verified answer wins and the other is cancelled.
     */
    private void hedge(Attempt primary) {
        Map<NodeId, Long> held = inputBytesHeld();
        Attempt h;
        Runnable pin = null;
        synchronized (this) {
            hedgeTimer = null;
            if (finished || settling || primary.settled || !inFlight.contains(primary) || inFlight.size() != 1) {
                return;
            }
            List<String> passedOver = new ArrayList<>();
            Selection.Plan plan = selection.choose(lastUsable, tried, 1, passedOver, held);
            if (plan.chosen().isEmpty()) {
                LOG.debug("job {}: no provider left to hedge attempt {} with", jobId, primary.number());
                return;
            }
            ProviderOffer offer = plan.chosen().get(0);
            attempts++;
            tried.add(offer.nodeId());
            byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            h = new Attempt(offer, new ExecutionRequest(jobId, attempts, spec, job.inputs(), nonce), primary.round);
            offerOf.put(attempts, offer);
            h.hedge = true;
            inFlight = List.of(primary, h);
            if (money != null) {
                pin = money.reserveHedge(h, primary);
            } else {
                recordAttempt(h, AttemptState.DISPATCHED, "hedge: attempt " + primary.number() + " at "
                        + primary.provider().shortId() + " gave no answer within " + ctx.hedgeAfter());
            }
        }
        afterUnlock();
        if (pin != null) {
            escrowStage(List.of(h), pin);
        } else {
            dispatchStage(List.of(h));
        }
    }

    /** @return whether the current round was hedged: its attempts race, and the first verified wins (caller holds the lock) */
    private boolean racing() {
        for (Attempt a : inFlight) {
            if (a.hedge) {
                return true;
            }
        }
        return false;
    }

    /**
     * After a hedge was dropped (caller holds the lock): the round is a lone attempt again.
     *
     * @return the round to verify now, if its attempt has already answered; else null
     */
    private List<Attempt> racingRoundChanged() {
        Attempt a = inFlight.get(0);
        return a.settled && !a.judged ? inFlight : null;
    }

    /**
     * One answer of a racing round: verified at once. The first accepted answer wins the
     * round and the others are cancelled; a failed or disputed one is recorded, and the
     * round ends without a winner once every attempt has been judged.
     */
    private void raceStage(Attempt a, List<Attempt> round) {
        synchronized (this) {
            if (finished || inFlight != round || a.judged) {
                return;
            }
        }
        Checked c = check(a);
        if (!afterWipes(List.of(c), () -> raceJudged(c, round))) {
            raceJudged(c, round);
        }
    }

    /** The rest of {@link #raceStage}, once the attempt's wipe attestation came or was given up on. */
    private void raceJudged(Checked c, List<Attempt> round) {
        Attempt a = c.attempt();
        synchronized (this) {
            if (finished || inFlight != round || a.judged) {
                return;
            }
        }
        Attempt.Outcome o = judge(c);
        boolean conclude = false;
        Attempt.Outcome winner = null;
        synchronized (this) {
            if (finished || inFlight != round || a.judged) {
                return;
            }
            a.judged = true;
            if (o.state() == AttemptState.ACCEPTED) {
                for (Attempt x : round) {
                    if (x != a && !x.judged) {
                        x.judged = true;
                        if (!x.settled) {
                            x.settled = true;
                            cancelTimer(x);
                            if (x.dispatch != null) {
                                toCancel.add(x.dispatch);
                            }
                        }
                        cancelReason = "attempt " + a.number() + " won the race";
                        recordAttempt(x, AttemptState.CANCELLED, "attempt " + a.number() + " at "
                                + a.provider().shortId() + " answered first and was verified");
                    }
                }
                winner = o;
                conclude = true;
            } else {
                recordOutcome(o);
                if (money != null) {
                    money.decide(List.of(a), List.of(o), false);
                }
                conclude = round.stream().allMatch(x -> x.judged);
            }
        }
        afterUnlock();
        if (conclude) {
            conclude(round, winner == null ? List.of() : List.of(winner), winner);
        }
    }

    // ---------------------------------------------------------------- verify

    private void verifyStage(List<Attempt> round) {
        synchronized (this) {
            if (finished || inFlight != round) {
                return;
            }
        }
        List<Checked> checked = new ArrayList<>();
        for (Attempt a : round) {
            checked.add(check(a));
        }
        if (!afterWipes(checked, () -> verifyRound(round, checked))) {
            verifyRound(round, checked);
        }
    }

    /** The rest of {@link #verifyStage}, once the round's wipe attestations came or were given up on. */
    private void verifyRound(List<Attempt> round, List<Checked> checked) {
        synchronized (this) {
            if (finished || inFlight != round) {
                return;
            }
        }
        List<Attempt.Outcome> outcomes = new ArrayList<>();
        List<Attempt.Outcome> valid = new ArrayList<>();
        for (Checked c : checked) {
            Attempt.Outcome o = judge(c);
            (o.state() == AttemptState.ACCEPTED ? valid : outcomes).add(o);
        }
        synchronized (this) {
            round.forEach(a -> a.judged = true);
        }
        Attempt.Outcome winner = null;
        if (spec.verification() instanceof VerificationPolicy.Redundant r) {
            List<Attempt.Outcome> decided = Quorum.decide(valid, round.size(), r.quorum(), comparison(),
                    this::dispute);
            synchronized (this) {
                round.forEach(a -> unanswered.remove(a.provider()));
                if (valid.size() < r.quorum()) {
                    // Replicas went missing; those that answered disagreed with no one.
                    valid.forEach(o -> unanswered.add(o.attempt().provider()));
                }
            }
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

    /**
     * The checks of one settled attempt that need not wait for its wipe attestation.
     *
     * @param attempt the attempt
     * @param done    its outcome when it is known already (no attestation to wait for), else null
     * @param report  the outputs' checks passed, the attestation still to come; else null
     * @param failed  the outputs' checks failed (a dispute once the attestation came), the
     *                attestation still to come; else null
     */
    private record Checked(Attempt attempt, Attempt.Outcome done, VerificationReport report,
                           VerificationException failed) {
        static Checked known(Attempt attempt, Attempt.Outcome outcome) {
            return new Checked(attempt, outcome, null, null);
        }

        boolean waitsForWipe() {
            return done == null;
        }
    }

    /** Checks one settled attempt as far as it can without its wipe attestation; never throws. */
    private Checked check(Attempt a) {
        if (a.response == null) {
            return Checked.known(a, Attempt.Outcome.failed(a, a.failure));
        }
        ExecutionResponse r = a.response;
        if (!jobId.equals(r.jobId()) || r.attempt() != a.number()) {
            return Checked.known(a, Attempt.Outcome.failed(a, "response is for " + r.jobId() + "#" + r.attempt()
                    + ", not this attempt"));
        }
        if (!a.provider().equals(r.provider())) {
            return Checked.known(a, Attempt.Outcome.failed(a, "response names provider " + r.provider().shortId()
                    + ", not the one dispatched to"));
        }
        Set<String> expected = delivery.leavesOutputs() ? Set.of() : a.request.expectedOutputs().keySet();
        if (!r.outputs().keySet().equals(expected)) {
            // An assembler built from the request never yields other names: the transport is at fault.
            return Checked.known(a, Attempt.Outcome.failed(a, "malformed response: it carries outputs "
                    + quoted(r.outputs().keySet()) + " but the job " + (delivery.leavesOutputs()
                    ? "left every output on the provider" : "declares " + quoted(expected))));
        }
        try {
            // With the attestation to follow, the outputs are checked while the provider wipes.
            VerificationReport report = ctx.verifier().verify(spec, specHash, job.inputs(), a.offer, a.request, r,
                    ctx.network(), a.prepared);
            return r.wipeFollows() ? new Checked(a, null, report, null)
                    : Checked.known(a, Attempt.Outcome.accepted(a, report));
        } catch (VerificationException e) {
            // A dispute records both envelopes: it waits for the attestation too.
            return r.wipeFollows() ? new Checked(a, null, null, e)
                    : Checked.known(a, Attempt.Outcome.disputed(a, e.getMessage(), dispute(a, e)));
        } catch (RuntimeException e) {
            // A malformed response that the checks could not even read: the provider's fault, not a proof.
            return Checked.known(a, Attempt.Outcome.failed(a, "malformed response: " + e));
        } finally {
            HeldSpotCheck.Prepared p = a.prepared;
            if (p != null) {
                p.release(); // used or not: its sample is drawn once
            }
        }
    }

    /**
     * The outcome of a checked attempt, its wipe attestation (if one was to follow) taken now:
     * come, or given up on by {@link #afterWipes}. Never throws, never waits.
     */
    private Attempt.Outcome judge(Checked c) {
        if (!c.waitsForWipe()) {
            return c.done();
        }
        Attempt a = c.attempt();
        String missing = takeWipe(a);
        try {
            if (c.failed() != null) {
                VerificationException e = c.failed();
                return missing != null ? Attempt.Outcome.failed(a, e.getMessage() + "; and " + missing)
                        : Attempt.Outcome.disputed(a, e.getMessage(), dispute(a, e));
            }
            // No attempt counts (nor is paid) on its receipt alone.
            if (missing != null) {
                return Attempt.Outcome.failed(a, missing);
            }
            return Attempt.Outcome.accepted(a, c.report().and(ctx.verifier().verifyWipe(a.offer, a.request, a.response,
                    ctx.network())));
        } catch (VerificationException e) {
            return Attempt.Outcome.disputed(a, e.getMessage(), dispute(a, e));
        } catch (RuntimeException e) {
            return Attempt.Outcome.failed(a, "malformed response: " + e);
        }
    }

    /**
     * Bytes a provider wipes per second, at the least, when the buyer bounds its wait for a
     * wipe attestation: far below a host's memory bandwidth (20.5 MiB took 3 ms here), so that
     * only a provider that withholds its attestation, not a slow one, runs out of time.
     */
    static final long WIPE_BYTES_PER_SECOND = 64L << 20;

    /**
     * How long after its receipt a provider's wipe attestation may come: the client's grace
     * plus the time to wipe the job's declared inputs and outputs at
     * {@link #WIPE_BYTES_PER_SECOND}.
     */
    private long wipeWaitNanos() {
        long bytes = spec.inputs().stream().mapToLong(dev.depin.job.InputRef::bytes).sum()
                + spec.outputs().stream().mapToLong(dev.depin.kernel.BufferDecl::bytes).sum();
        long wipe = (long) Math.ceil(bytes * 1e9 / WIPE_BYTES_PER_SECOND);
        long grace = ctx.wipeGrace().toNanos();
        return grace > Long.MAX_VALUE - wipe ? Long.MAX_VALUE : grace + wipe;
    }

    /**
     * Runs {@code then} once every wipe attestation that {@code checked} still waits for has
     * come, or once {@link #wipeWaitNanos()} after the checks (at most the job's deadline),
     * whichever is first, on a scheduler thread (or the thread waiting in the job's result):
     * no thread is held meanwhile, so a provider that sends receipts and withholds their
     * attestations cannot pin the client's verifying threads.
     *
     * @return false when no attestation is still to come: the caller goes on at once
     */
    private boolean afterWipes(List<Checked> checked, Runnable then) {
        List<CompletableFuture<dev.depin.crypto.Envelope>> pending = new ArrayList<>();
        for (Checked c : checked) {
            if (c.waitsForWipe() && !c.attempt().response.wipeToFollow().isDone()) {
                pending.add(c.attempt().response.wipeToFollow());
            }
        }
        if (pending.isEmpty()) {
            return false;
        }
        long untilDeadline = Math.max(0, Duration.between(ctx.clock().instant(), spec.deadline()).toNanos());
        long wait = Math.min(untilDeadline, wipeWaitNanos());
        synchronized (this) {
            wipeWaitBound = wait == untilDeadline ? "by the job's deadline"
                    : "within " + Duration.ofNanos(wait).toMillis() + " ms of its checked receipt";
        }
        CompletableFuture<Void> gate = new CompletableFuture<>();
        ScheduledFuture<?> timer;
        try {
            timer = ctx.scheduler().schedule(() -> gate.complete(null), wait, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            cancelled(CLIENT_CLOSED);
            return true;
        }
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> gate.complete(null));
        gate.thenRun(() -> {
            timer.cancel(false);
            handOver(then, () -> { });
        });
        return true;
    }

    /**
     * Takes the wipe attestation that follows an attempt's receipt, if it has come, and puts
     * the response carrying it in the attempt; never waits.
     *
     * @return null once the attestation came, else why the attempt cannot count
     */
    private String takeWipe(Attempt a) {
        ExecutionResponse r = a.response;
        CompletableFuture<dev.depin.crypto.Envelope> toFollow = r.wipeToFollow();
        String who = "provider " + a.provider().shortId() + " signed its receipt but ";
        if (!toFollow.isDone()) {
            ctx.meters().wipeWithheld(a.provider());
            String bound;
            synchronized (this) {
                bound = wipeWaitBound;
            }
            return who + "withheld its wipe attestation (none came " + bound + "): the attempt does not count "
                    + "and nothing is paid for it; a provider whose wipes are that slow needs a longer "
                    + "DepinClient.Builder.wipeAttestationGrace, one that keeps doing this is best excluded";
        }
        try {
            dev.depin.crypto.Envelope wipe = toFollow.join();
            if (wipe == null) {
                ctx.meters().wipeWithheld(a.provider());
                return who + "sent no wipe attestation after it: the attempt does not count";
            }
            ExecutionResponse both = r.withWipe(wipe);
            synchronized (this) {
                a.response = both;
            }
            return null;
        } catch (CompletionException | CancellationException e) {
            return who + "its wipe attestation did not come (" + describe(rootCause(e)) + "): the attempt does "
                    + "not count";
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
            cancelHedge();
            List<Attempt.Outcome> agreeing = new ArrayList<>();
            for (Attempt.Outcome o : outcomes) {
                if (o.state() == AttemptState.ACCEPTED) {
                    agreeing.add(o);
                    continue;
                }
                recordOutcome(o);
            }
            if (money != null) {
                money.decide(round, outcomes, winner != null);
            }
            if (winner == null) {
                if (round.get(0).round >= ctx.maxAttempts()) {
                    fail(JobState.FAILED, lastFailureFirst("all " + this.round + " round(s) failed"), false);
                } else if (money != null) {
                    // The next round starts once this one's holds are released (the buyer's funds return).
                    money.then(t -> selectStage());
                } else {
                    next = true;
                }
            } else if (money != null) {
                verified(winner, agreeing);
            } else {
                succeed(winner, agreeing, JobMoney.unescrowedCost(agreeing, spec));
            }
        }
        afterUnlock();
        if (next) {
            hop(this::selectStage);
        }
    }

    /** Records a failed or disputed attempt (caller holds the lock). */
    private void recordOutcome(Attempt.Outcome o) {
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

    private void cancelHedge() {
        if (hedgeTimer != null) {
            hedgeTimer.cancel(false);
            hedgeTimer = null;
        }
    }

    /**
     * The result is verified; its money now moves (caller holds the lock). Records the
     * accepted attempts and VERIFIED; the job can no longer be cancelled or time out, and ends
     * SETTLED once the posts are durable.
     */
    private void verified(Attempt.Outcome winner, List<Attempt.Outcome> agreeing) {
        for (Attempt.Outcome o : agreeing) {
            append(event(state, o.attempt().number(), AttemptState.ACCEPTED, o.attempt().provider(), o.detail()));
        }
        append(event(JobState.VERIFIED, winner.attempt().number(), null, winner.attempt().provider(),
                winner.detail())); // an accepted outcome's detail is its report's summary
        settling = true;
        stopTimers();
        money.then(failedPost -> settled(winner, agreeing, failedPost));
    }

    private void settled(Attempt.Outcome winner, List<Attempt.Outcome> agreeing, Throwable failedPost) {
        synchronized (this) {
            if (finished) {
                return;
            }
            if (money.deferSettle(() -> settled(winner, agreeing, failedPost))) {
                return;
            }
            if (failedPost != null) {
                failCause = failedPost;
                fail(JobState.FAILED, "the result was verified, but paying " + winner.attempt().provider().shortId()
                        + " failed: " + describe(failedPost) + ". Its hold stays open until it expires or a client of "
                        + "session " + money.session() + " resolves it", false);
                return;
            }
            Attempt a = winner.attempt();
            ExecutionResponse resp = a.response;
            JobSettlement settlement = money.settlement();
            JobEvent last = event(JobState.SETTLED, a.number(), null, a.provider(), "paid " + settlement.paid()
                    + " (" + settlement.paidMicroTokens() + " micro-" + settlement.quote().rate().token()
                    + "), refunded " + settlement.refunded() + (settlement.slashed().micros() > 0 ? ", slashed "
                    + settlement.slashed() : ""));
            List<JobEvent> history = new ArrayList<>(bus.events());
            history.add(last);
            JobResult r = new JobResult(jobId, specHash, a.number(), a.provider(), resp.executorKind(),
                    resp.outputBytes(), settlement.paid(), new JobResult.Timings(submittedAt, ctx.clock().instant(),
                    resp.deviceNanos()), resp.receipt(), resp.wipe(), winner.report(), disputes, history,
                    resp.batched(), settlement, heldOutputs(a), dataMovement(a));
            finished = true;
            for (Attempt.Outcome o : agreeing) {
                ctx.reputation().success(o.attempt().provider());
            }
            append(last);
            completion = () -> deliver(r, null);
        }
        afterUnlock();
    }

    /** Runs {@code stage} on the scheduler, or here if the client is closing: money already moved must be recorded. */
    private void hopOrRun(Runnable stage) {
        try {
            ctx.scheduler().execute(scheduled(stage));
        } catch (RejectedExecutionException e) {
            guard(stage).run();
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

    /**
     * The job's deadline passed before it was verified: it FAILS. An attempt still out whose
     * timeout was this deadline (it has no timer of its own, see {@link #dispatchStage}) timed
     * out with it, exactly as its own timer would have said: it is recorded FAILED with "no
     * answer within ...", counted against its provider and cancelled there with that reason, and
     * the job's message starts with it ("attempt 1 at ab12cd34ef56: no answer within PT0.5S
     * (deadline ... passed in state DISPATCHED after 1 round(s))"). Any other attempt still out
     * is CANCELLED with the job.
     */
    private void deadlinePassed() {
        List<Attempt> timedOut = new ArrayList<>();
        synchronized (this) {
            if (finished || settling) {
                return;
            }
            String passed = "deadline " + spec.deadline() + " passed in state " + state + " after " + round
                    + " round(s)";
            for (Attempt a : inFlight) {
                if (!a.settled && a.timeoutAtDeadline > 0) {
                    a.settled = true;
                    a.judged = true;
                    a.timedOut = "no answer within " + Duration.ofNanos(a.timeoutAtDeadline);
                    a.failure = a.timedOut;
                    recordOutcome(Attempt.Outcome.failed(a, a.timedOut));
                    if (a.dispatch != null) {
                        timedOut.add(a); // else still being sent: dispatchStage cancels it as it returns
                    }
                }
            }
            fail(JobState.FAILED, lastFailureFirst(passed), false);
        }
        afterUnlock();
        for (Attempt a : timedOut) {
            a.dispatch.cancel(a.timedOut); // never blocks, swallows adapter failures
        }
    }

    // ---------------------------------------------------------------- endings (caller holds the lock)

    private void succeed(Attempt.Outcome winner, List<Attempt.Outcome> agreeing, MicroUsd cost) {
        Attempt a = winner.attempt();
        ExecutionResponse resp = a.response;
        List<JobEvent> tail = new ArrayList<>();
        for (Attempt.Outcome o : agreeing) {
            tail.add(event(state, o.attempt().number(), AttemptState.ACCEPTED, o.attempt().provider(), o.detail()));
        }
        tail.add(event(JobState.VERIFIED, a.number(), null, a.provider(), winner.detail())); // = report summary
        List<JobEvent> history = new ArrayList<>(bus.events());
        history.addAll(tail);
        JobResult r = new JobResult(jobId, specHash, a.number(), a.provider(), resp.executorKind(), resp.outputBytes(),
                cost, new JobResult.Timings(submittedAt, ctx.clock().instant(), resp.deviceNanos()), resp.receipt(),
                resp.wipe(), winner.report(), disputes, history, resp.batched(), null, heldOutputs(a), dataMovement(a));
        // Decided here, under the lock (a cancel through the future takes the lock too, so it
        // either came first or finds the job finished); the future completes after unlocking.
        finished = true;
        for (Attempt.Outcome o : agreeing) {
            ctx.reputation().success(o.attempt().provider());
        }
        tail.forEach(this::append);
        stopTimers();
        completion = () -> deliver(r, null);
    }

    private void fail(JobState finalState, String why, boolean rejected) {
        JobEvent last = event(finalState, attempts, null, null, why);
        List<JobEvent> history = new ArrayList<>(bus.events());
        history.add(last);
        JobFailedException e = new JobFailedException("job " + jobId + (rejected ? " rejected: " : " failed: ") + why,
                finalState, history, failCause);
        if (rejected) {
            e.addSuppressed(holdRefused != null ? holdRefused : new NoMatchingOfferException(why));
        }
        if (finished) {
            return;
        }
        finished = true;
        append(last);
        stopAttempts("job " + finalState);
        stopTimers();
        completion = () -> deliver(null, e);
        if (money != null) {
            money.ended(); // the buyer sees the refunds in its balance when the future fails
        }
    }

    private void cancelled(String how) {
        synchronized (this) {
            cancelLocked(how);
        }
        afterUnlock();
    }

    private boolean cancelLocked(String how) {
        if (finished || settling) {
            return false;
        }
        finished = true;
        record(JobState.CANCELLED, attempts, null, how);
        // The future reads as cancelled from here on, for every thread (the canceller returns
        // with it so); its dependents run when a client thread cancels it ({@link #completion}).
        result.cancelDecided = true;
        stopAttempts("job cancelled");
        stopTimers();
        completion = () -> {
            // The record follows the cancel, and a failure to keep it is only logged.
            recordSla(null).whenComplete((v, x) -> {
                if (x != null) {
                    LOG.warn("job {} (cancelled): its SLA record was not kept: {}", jobId, x.toString());
                }
            });
            result.cancelNow();
        };
        return true;
    }

    /** Marks unsettled attempts CANCELLED; their dispatches are cancelled after the lock is released. */
    private void stopAttempts(String why) {
        if (money != null) {
            money.release(inFlight);
        }
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
     *
     * <p>Only a client thread ({@link #clientSide()}) completes the job. A foreign thread that
     * finds the completion set (it ended the job itself, through a bug or a closing client, or
     * it passes by while the thread that ended the job has not got here yet: a transport's
     * callback after it handed the verification to the scheduler) leaves it, and once per
     * job hands the scheduler a task that runs this method there; whichever client thread comes
     * first runs it. No extra hop otherwise: the thread that decides a job's end is a client
     * thread on every path but those two, and runs its completion itself, as before.
     */
    private void afterUnlock() {
        if (Thread.holdsLock(this)) {
            return;
        }
        List<Dispatch> cancel;
        String why;
        Runnable complete;
        JobMoney.Moves moves;
        boolean left = false;
        boolean handOff = false;
        synchronized (this) {
            if (completion != null && !clientSide()) {
                // A foreign thread (a transport's callback passing by, the node's worker) leaves
                // the completion, the money that moves before it and the events that follow it
                // to a client thread: the one that set it takes them when it gets here, or the
                // scheduler's task handed them now, whichever comes first.
                complete = null;
                moves = null;
                left = true;
                handOff = !completionHanded;
                completionHanded = true;
            } else {
                complete = completion;
                completion = null;
                moves = money == null ? null : money.drain();
            }
            if (toCancel.isEmpty()) {
                cancel = List.of();
            } else {
                cancel = new ArrayList<>(toCancel);
                toCancel.clear();
            }
            why = cancelReason;
        }
        if (moves != null) {
            complete = moves.start(complete); // null when the future completes once the money has moved
        }
        if (complete != null) {
            complete.run();
        }
        for (Dispatch d : cancel) {
            d.cancel(why); // never blocks, swallows adapter failures
        }
        releasePrepared();
        if (!left) {
            bus.flush();
        }
        if (handOff) {
            try {
                ctx.scheduler().execute(scheduled(() -> { })); // its guard runs afterUnlock there
            } catch (RejectedExecutionException e) {
                // The client is closing and runs no more tasks: nothing else would complete the job.
                runAs(this, this::afterUnlock);
            }
        }
    }

    /**
     * @return whether this thread may run this job's completion: a task of the client's
     *         scheduler, or this job's caller or waiting thread ({@link #SIDE})
     */
    private boolean clientSide() {
        Object side = SIDE.get();
        return side == this || side == ctx.scheduler();
    }

    /** Marks this thread as running for {@code side} until {@link #leave}; returns what it ran for before. */
    private static Object enter(Object side) {
        Object outer = SIDE.get();
        SIDE.set(side);
        return outer;
    }

    private static void leave(Object outer) {
        if (outer == null) {
            SIDE.remove();
        } else {
            SIDE.set(outer);
        }
    }

    /** Runs {@code body} on this thread marked as running for {@code side} ({@link #enter}). */
    private static void runAs(Object side, Runnable body) {
        Object outer = enter(side);
        try {
            body.run();
        } finally {
            leave(outer);
        }
    }

    /** {@code stage} as a task of the client's scheduler ({@link #guard}ed, run as the scheduler's). */
    private Runnable scheduled(Runnable stage) {
        Runnable guarded = guard(stage);
        Object scheduler = ctx.scheduler();
        return () -> runAs(scheduler, guarded);
    }

    /** Cancels an attempt's timeout (a timer left behind would keep the client's threads alive after close). */
    private static void cancelTimer(Attempt a) {
        if (a.timer != null) {
            a.timer.cancel(false);
        }
    }

    private void stopTimers() {
        // The job ended: whatever became of its attempts, their prepared Freivalds checks are wiped.
        ctx.verifier().discardAll(preparedFreivalds);
        if (watchdog != null) {
            watchdog.cancel(false);
        }
        cancelHedge();
    }

    /**
     * Completes the result future once the client's SLA recorder has the job (a journal: once its
     * line is on the disk, which may be later, on the journal's writer thread; the future is then
     * completed from the scheduler, so that a caller's continuations never hold up the writer). A
     * job the recorder could not keep fails: a verified one with an {@link
     * dev.depin.sla.SlaNotRecordedException} carrying its result, a failed one with its own
     * failure, the recorder's added as suppressed.
     *
     * @param r       the verified result, or null
     * @param failure the job's failure, or null
     */
    private void deliver(JobResult r, JobFailedException failure) {
        CompletableFuture<Void> recorded = recordSla(r);
        if (recorded.isDone()) {
            completeResult(r, failure, recorded);
            return;
        }
        recorded.whenComplete((v, x) -> {
            try {
                ctx.scheduler().execute(() -> completeResult(r, failure, recorded));
            } catch (RejectedExecutionException e) {
                completeResult(r, failure, recorded); // the client is closing: complete here
            }
        });
    }

    private void completeResult(JobResult r, JobFailedException failure, CompletableFuture<Void> recorded) {
        Throwable notKept = null;
        try {
            recorded.join();
        } catch (CompletionException | CancellationException e) {
            notKept = e.getCause() == null ? e : e.getCause();
            LOG.warn("job {}: the SLA recorder could not keep it: {}", jobId, notKept.toString());
        }
        if (failure != null) {
            if (notKept != null) {
                failure.addSuppressed(notKept);
            }
            result.completeExceptionally(failure);
        } else if (notKept == null) {
            result.complete(r);
        } else {
            result.completeExceptionally(new dev.depin.sla.SlaNotRecordedException(jobId, r, notKept));
        }
    }

    /** Hands the finished job to the client's SLA recorder (outside the lock); never throws. */
    private CompletableFuture<Void> recordSla(JobResult r) {
        if (ctx.sla() == null) {
            return RECORDED;
        }
        try {
            Map<Integer, ProviderOffer> offers;
            synchronized (this) {
                offers = new HashMap<>(offerOf);
            }
            return ctx.sla().recordAsync(dev.depin.sla.SlaRecord.of(jobId, spec.kernel().flops(spec.params()),
                    bus.events(), r, offers, Map.copyOf(firstByteOf)));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
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
        ctx.meters().event(e, spec);
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

    /** @return {@code t} without the CompletionException and ExecutionException wrappers futures add */
    static Throwable rootCause(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException)
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
        return CompletableFuture.completedFuture(cancelHere("cancelled by the buyer"));
    }

    /**
     * Decides the cancel on the caller's thread and leaves the job's completion to the client's
     * scheduler. If the cancel wins, the result future reads as cancelled when this returns
     * ({@link ResultFuture#cancelDecided}, set in the locked section that decides it), but this
     * thread runs none of the caller's code: the future is cancelled, and so its non-async
     * dependents run, on a scheduler thread (or on the thread waiting in the job's result),
     * together with the job's SLA record and the release of its holds. The caller's thread is
     * marked as {@link #CANCELLER}, which {@link #afterUnlock} treats as foreign to the job, so
     * it hands the completion over as a transport's thread would; it still cancels the
     * attempts at their providers (never blocks) here. Only when the scheduler refuses the
     * hand-off (the client is closing) does this thread complete the job itself.
     *
     * @return whether the cancel won (the job had not ended)
     */
    private boolean cancelHere(String how) {
        Object outer = enter(CANCELLER);
        try {
            boolean won;
            synchronized (this) {
                won = cancelLocked(how);
            }
            if (won) {
                ctx.seams().cancelWon(this);
            }
            afterUnlock(); // hands the completion to the scheduler
            return won;
        } finally {
            leave(outer);
        }
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
        /**
         * The thread blocked in {@link #get()}, {@link #get(long, TimeUnit)} or {@link #join()}
         * while it may run the job's stages (one at a time; a second waiter waits as before).
         */
        private final AtomicReference<Thread> helper =
                new AtomicReference<>();
        /** A stage handed to the helper and not yet taken by it. */
        private final AtomicReference<Handed> handed =
                new AtomicReference<>();
        /**
         * Set in the locked section that decides the job CANCELLED ({@link #cancelLocked}): from
         * then on the future reads as cancelled (done, cancelled, completed exceptionally; its
         * getters throw {@link CancellationException}) and takes no other outcome, although its
         * own cancellation, which runs its dependents, happens later, on a client thread.
         */
        volatile boolean cancelDecided;

        ResultFuture() {
            // The helper parks until a stage is handed to it or the job ends.
            whenComplete((r, t) -> {
                Thread w = helper.get();
                if (w != null && w != Thread.currentThread()) {
                    LockSupport.unpark(w);
                }
            });
        }

        /**
         * Hands {@code stage} to the thread waiting in this future, if one is and nothing else
         * waits for it.
         *
         * @return whether the waiting thread now owns the stage; if not, the caller must run it
         */
        boolean offer(Runnable stage, Runnable refused) {
            Thread w = helper.get();
            if (w == null) {
                return false;
            }
            Handed h = new Handed(stage, refused);
            if (!handed.compareAndSet(null, h)) {
                return false;
            }
            if (w != Thread.currentThread()) {
                LockSupport.unpark(w);
            }
            // A helper that left after our read above hands what it finds on to the scheduler;
            // if it left before taking this one, exactly one of us takes it back.
            return helper.get() == w || !handed.compareAndSet(h, null);
        }

        /**
         * Waits for the job's end, running meanwhile the stages handed to this thread and a lone
         * attempt that its network lets this thread run ({@link Dispatch#runHere()}, in process)
         * before its provider's worker has started it. A timed wait does not help: a stage or an
         * attempt may take longer than the caller is willing to wait.
         *
         * @throws InterruptedException if interrupted before the job ended; a stage already
         *                              taken runs to its end first, the ones not taken go to
         *                              the scheduler
         */
        private void help() throws InterruptedException {
            Thread me = Thread.currentThread();
            if (isDone() || !helper.compareAndSet(null, me)) {
                return;
            }
            Dispatch offered = null;
            Object outer = enter(JobRun.this); // it runs the job's completion too: it waits for it
            try {
                while (!isDone()) {
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                    Handed h = handed.getAndSet(null);
                    if (h != null) {
                        guard(h.stage()).run();
                        continue;
                    }
                    Dispatch lone = loneDispatch();
                    if (lone != null && lone != offered) {
                        offered = lone; // asked once: a worker has it, or it ran here
                        if (lone.runHere()) {
                            continue;
                        }
                    }
                    LockSupport.park(this);
                }
            } finally {
                leave(outer);
                helper.set(null);
                Handed h = handed.getAndSet(null);
                if (h != null) {
                    hop(h.stage(), h.refused());
                }
            }
        }

        @Override
        public JobResult get() throws InterruptedException, ExecutionException {
            help();
            throwIfDecided();
            return super.get();
        }

        @Override
        public JobResult get(long timeout, TimeUnit unit)
                throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
            throwIfDecided();
            return super.get(timeout, unit);
        }

        @Override
        public JobResult join() {
            try {
                help();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // join ignores interrupts: wait as it does
            }
            throwIfDecided();
            return super.join();
        }

        @Override
        public JobResult getNow(JobResult valueIfAbsent) {
            throwIfDecided();
            return super.getNow(valueIfAbsent);
        }

        @Override
        public boolean isDone() {
            return cancelDecided || super.isDone();
        }

        @Override
        public boolean isCancelled() {
            return cancelDecided || super.isCancelled();
        }

        @Override
        public boolean isCompletedExceptionally() {
            return cancelDecided || super.isCompletedExceptionally();
        }

        /** A cancelled job's future takes no other outcome, even before a client thread cancelled it. */
        @Override
        public boolean complete(JobResult value) {
            return !cancelDecided && super.complete(value);
        }

        @Override
        public boolean completeExceptionally(Throwable ex) {
            return !cancelDecided && super.completeExceptionally(ex);
        }

        /**
         * Cancels the job as {@link #cancelAsync()} does: when it wins, this future reads as
         * cancelled on return, and its dependents run on a client thread, not on this caller's
         * (unlike a plain {@code CompletableFuture}'s cancel).
         */
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return cancelHere("cancelled through its result future") || isCancelled();
        }

        /** The job is decided CANCELLED and the future not yet cancelled by the client thread that completes it. */
        private void throwIfDecided() {
            if (cancelDecided && !super.isDone()) {
                throw new CancellationException("job " + jobId + " was cancelled");
            }
        }

        void cancelNow() {
            super.cancel(false);
        }
    }

    /**
     * @return the dispatch of the current round's only attempt while it is in flight, or null
     *         (a round of several attempts runs on their providers side by side)
     */
    private synchronized Dispatch loneDispatch() {
        if (finished || inFlight.size() != 1 || inFlight.get(0).settled) {
            return null;
        }
        return inFlight.get(0).dispatch;
    }

    /** A stage handed to the waiting thread, and what to run if the scheduler then refuses it. */
    private record Handed(Runnable stage, Runnable refused) {
    }
}
