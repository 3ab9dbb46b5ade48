package dev.depin.client.internal;

import dev.depin.job.AttemptState;
import dev.depin.job.DisputeRecord;
import dev.depin.job.JobSpec;
import dev.depin.money.MicroUsd;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Applied;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.JobSettlement;
import dev.depin.settlement.Operation;
import dev.depin.settlement.Quote;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One escrowed job's money: every hold of its attempts, and every decision to post, void or
 * slash one. {@link JobRun} runs the job's state machine and calls this at the points where
 * money moves; it keeps no money of its own. The money calls themselves go through the
 * client's {@link Escrowing}, under the idempotency keys {@code session/jobId/attempt/operation}.
 *
 * <p>The rules it keeps:
 * <ul>
 *   <li>Each attempt's hold is resolved (posted or voided) exactly once ({@link Hold.State}):
 *       by its round's conclusion ({@link #decide}), by the job's end ({@link #release}), or,
 *       for a hold still being placed when the job or round ended, by the handler that sees
 *       it placed.</li>
 *   <li>A post pays what the provider charged, never more than its hold; the rest returns
 *       to the buyer. A disputed attempt's provider is slashed per the escrow's
 *       {@code SlashPolicy}.</li>
 *   <li>Money is decided under the job's lock and moved after it is released
 *       ({@link #drain}); from the decision until its continuation has run it counts as in
 *       flight (a pin on {@link Escrowing}), so a client closing in between waits for it.</li>
 *   <li>A verified job settles only once no hold, post, void or slash of it is in flight
 *       ({@link #deferSettle}), so that its {@link JobSettlement} lists them all.</li>
 * </ul>
 *
 * <p>Locking: the fields are guarded by the job's lock (the {@link JobRun} itself). Methods
 * documented "caller holds the lock" are called inside the job's locked sections; the
 * others take the lock themselves where they touch state, and never call the ledger or the
 * job's continuations under it.
 */
final class JobMoney {
    private static final Logger LOG = LoggerFactory.getLogger(JobMoney.class);

    /** One attempt's hold, and how it was resolved. Written under the job's lock. */
    static final class Hold {
        final Attempt attempt;
        /** What the hold reserves. */
        final MicroUsd held;
        /** What a post pays the provider (set when the post is decided). */
        MicroUsd postAmount;
        /** Where the hold is. */
        State state = State.PENDING;
        /** The ledger's certificate of the hold, sent with the job; null without one. */
        HoldCertificate certificate;

        Hold(Attempt attempt, MicroUsd held) {
            this.attempt = attempt;
            this.held = held;
        }

        /** The life of an attempt's hold: each hold is resolved (posted or voided) exactly once. */
        enum State {
            /** No hold (it was refused or failed). */
            NONE,
            /** Asked for; not yet known to be placed. */
            PENDING,
            /** Placed and open. */
            HELD,
            /** A post or void was issued. */
            RESOLVED
        }
    }

    /** A disputed attempt to slash, with the hold its penalty is a multiple of. */
    private record Slash(Attempt.Outcome outcome, MicroUsd held) {
    }

    private final Object lock;
    private final String jobId;
    private final JobSpec spec;
    private final String specHash;
    private final Escrowing escrowing;
    /** Runs a continuation on the client's scheduler, or here if the client is closing. */
    private final Consumer<Runnable> hopOrRun;

    /** Each escrowed attempt's hold. */
    private final Map<Attempt, Hold> holds = new IdentityHashMap<>();
    /** The rate the job's latest holds use, and its first (the slippage anchor). */
    private Quote quote;
    private Quote firstQuote;
    /** Every ledger operation the job applied, in order of completion. */
    private final List<Applied> applied = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private long paid;
    private long refunded;
    private long slashed;
    /** Money to move once the lock is released: holds to void, attempts to pay, disputes to slash. */
    private final List<Hold> toVoid = new ArrayList<>();
    private final List<Hold> toPost = new ArrayList<>();
    private final List<Slash> toSlash = new ArrayList<>();
    /** Runs once that money has moved, with the first failed post (or null). */
    private Consumer<Throwable> afterMoney;
    /** Whether the result future completes only after that money has moved (a failed job's refunds). */
    private boolean completionAfterMoney;
    /**
     * Counts the money decided under the lock as in flight from the moment it is decided, so
     * that a client closing between the decision and the ledger call waits for it.
     */
    private Runnable moneyPin;
    /** Holds asked for and not yet handled by {@link #placed}. */
    private int pendingHolds;
    /** A verified job's settlement, waiting for a hold or void still in flight (so that its record lists them). */
    private Runnable deferredSettle;
    /** Ledger operations issued by {@link #move} and not yet completed. */
    private int moneyOps;

    /**
     * @param lock      the job's lock (its {@link JobRun})
     * @param jobId     the job's id, in every operation key
     * @param spec      the job (max price, deadline, bytes moved)
     * @param specHash  the spec's hash, bound into each hold
     * @param escrowing the buyer's money calls
     * @param hopOrRun  runs a continuation on the client's scheduler, or on the calling
     *                  thread if the client is closing (money already moved must be recorded)
     */
    JobMoney(Object lock, String jobId, JobSpec spec, String specHash, Escrowing escrowing,
             Consumer<Runnable> hopOrRun) {
        this.lock = lock;
        this.jobId = jobId;
        this.spec = spec;
        this.specHash = specHash;
        this.escrowing = escrowing;
        this.hopOrRun = hopOrRun;
    }

    // ---------------------------------------------------------------- holds

    /**
     * Splits the max price into one hold per attempt of a round and marks them asked for
     * (caller holds the lock).
     *
     * @return a pin counting the holds as in flight until they are handled (taken under the
     *         lock: see {@link #drain}), or null when the max price cannot be split, in which
     *         case nothing was reserved and {@link #unsplittable} says why
     */
    Runnable reserve(List<Attempt> batch) {
        long each = spec.maxPrice().micros() / batch.size();
        if (each == 0) {
            return null;
        }
        for (Attempt a : batch) {
            holds.put(a, new Hold(a, MicroUsd.ofMicros(each)));
        }
        pendingHolds += batch.size();
        return escrowing.pin();
    }

    /** @return why a round of {@code attempts} cannot be escrowed, after {@link #reserve} refused it */
    String unsplittable(int attempts) {
        return "max price " + spec.maxPrice() + " cannot be split into " + attempts + " hold(s) of at least 1 "
                + "micro-USD: raise the max price";
    }

    /**
     * Reserves a hedge's hold, the same as its primary's (caller holds the lock).
     *
     * @return a pin counting the hold as in flight until it is handled
     */
    Runnable reserveHedge(Attempt hedge, Attempt primary) {
        holds.put(hedge, new Hold(hedge, holds.get(primary).held));
        pendingHolds++;
        return escrowing.pin();
    }

    /**
     * Quotes the round's rate and places its holds (outside the lock), then runs
     * {@code then} with what the holds came to on the client's scheduler and releases
     * {@code unpin}.
     */
    void hold(List<Attempt> batch, Runnable unpin, BiConsumer<Escrowing.Holds, Throwable> then) {
        Quote current;
        Quote first;
        MicroUsd each;
        synchronized (lock) {
            current = quote;
            first = firstQuote;
            each = holds.get(batch.get(0)).held;
        }
        Instant expiresAt = spec.deadline().plus(escrowing.escrow().expiryGrace());
        escrowing.quote(current, first).thenCompose(q -> {
            synchronized (lock) {
                quote = q;
                if (firstQuote == null) {
                    firstQuote = q;
                }
            }
            return escrowing.hold(jobId, batch, each, expiresAt, specHash);
        }).whenComplete((placed, error) -> hopOrRun.accept(() -> {
            try {
                then.accept(placed, error);
            } finally {
                unpin.run();
            }
        }));
    }

    /**
     * Records what a round's holds came to (caller holds the lock): each placed hold is open,
     * with its certificate; the others never were.
     *
     * @param placed what {@link #hold} reported, or null when the quote or the holds failed
     */
    void placed(List<Attempt> batch, Escrowing.Holds placed) {
        pendingHolds -= batch.size();
        for (int i = 0; i < batch.size(); i++) {
            Hold hold = holds.get(batch.get(i));
            Applied h = placed == null ? null : placed.placed().get(i);
            if (h != null) {
                applied.add(h);
                hold.state = Hold.State.HELD;
                hold.certificate = h.certificate().orElse(null);
            } else {
                hold.state = Hold.State.NONE;
            }
        }
    }

    /** Marks the attempts' open holds for voiding after the lock is released (caller holds the lock). */
    void release(List<Attempt> attempts) {
        for (Attempt a : attempts) {
            Hold h = holds.get(a);
            if (h != null && h.state == Hold.State.HELD) {
                pin();
                h.state = Hold.State.RESOLVED;
                toVoid.add(h);
            }
        }
    }

    /** @return what an attempt's hold reserves, or null if it has none */
    MicroUsd held(Attempt a) {
        synchronized (lock) {
            Hold h = holds.get(a);
            return h == null ? null : h.held;
        }
    }

    /** @return the request to send for an attempt: with its hold's certificate when the ledger issued one */
    ExecutionRequest request(Attempt a) {
        HoldCertificate c;
        synchronized (lock) {
            Hold h = holds.get(a);
            c = h == null ? null : h.certificate;
        }
        return c == null ? a.request : a.request.withHoldCertificate(c);
    }

    /** @return the rate the latest holds use (caller holds the lock) */
    Quote quote() {
        return quote;
    }

    /** @return the buyer's account */
    AccountId buyer() {
        return escrowing.escrow().buyer();
    }

    /** @return the escrow session, whose clients resolve the holds it leaves open */
    String session() {
        return escrowing.escrow().session();
    }

    // ---------------------------------------------------------------- decisions (caller holds the lock)

    /**
     * Decides a round's money (caller holds the lock): agreeing attempts are paid what they
     * charged (at most their hold) when there is a winner, every other held attempt is voided,
     * every disputed one slashed.
     */
    void decide(List<Attempt> round, List<Attempt.Outcome> outcomes, boolean won) {
        pin();
        for (Attempt.Outcome o : outcomes) {
            Attempt a = o.attempt();
            Hold h = holds.get(a);
            if (o.state() == AttemptState.DISPUTED) {
                toSlash.add(new Slash(o, h == null ? null : h.held));
            }
            if (h == null || h.state != Hold.State.HELD) {
                continue;
            }
            h.state = Hold.State.RESOLVED;
            if (won && o.state() == AttemptState.ACCEPTED) {
                h.postAmount = dev.depin.settlement.Escrow.payable(a.offer.terms().price(), a.response.deviceNanos(),
                        spec.bytesMoved(), h.held);
                toPost.add(h);
            } else {
                toVoid.add(h);
            }
        }
        for (Attempt a : round) {
            Hold h = holds.get(a);
            // An attempt with no outcome: cannot happen, but never leave a hold open.
            if (h != null && h.state == Hold.State.HELD) {
                h.state = Hold.State.RESOLVED;
                toVoid.add(h);
            }
        }
    }

    /**
     * Runs {@code then} once the money decided so far has moved, with the first failed post or
     * null (caller holds the lock).
     */
    void then(Consumer<Throwable> then) {
        afterMoney = then;
    }

    /**
     * The job ended without a result (caller holds the lock): its result future fails only
     * once its refunds are durable (or noted), and no continuation runs after them.
     */
    void ended() {
        completionAfterMoney = true; // the buyer sees the refunds in its balance when the future fails
        afterMoney = null;
    }

    /** Counts decided money as in flight until it has moved (caller holds the lock). */
    private void pin() {
        if (moneyPin == null) {
            moneyPin = escrowing.pin();
        }
    }

    // ---------------------------------------------------------------- settlement

    /**
     * A verified job's settlement waits until no hold, post, void or slash of it is decided,
     * asked for or in flight (caller holds the lock).
     *
     * @return true if it must wait: {@code settle} then runs once the money is at rest
     */
    boolean deferSettle(Runnable settle) {
        if (atRest()) {
            return false;
        }
        deferredSettle = settle;
        return true;
    }

    /** @return whether no hold, post, void or slash of this job is decided, asked for or in flight (lock held) */
    private boolean atRest() {
        return pendingHolds == 0 && moneyOps == 0 && toPost.isEmpty() && toVoid.isEmpty() && toSlash.isEmpty();
    }

    /** Settles a verified job that was waiting for its money to come to rest, if it now has (outside the lock). */
    void settleIfAtRest() {
        Runnable settle;
        Runnable unpin;
        synchronized (lock) {
            if (deferredSettle == null || !atRest()) {
                return;
            }
            settle = deferredSettle;
            deferredSettle = null;
            unpin = escrowing.pin();
        }
        hopOrRun.accept(() -> {
            try {
                settle.run();
            } finally {
                unpin.run();
            }
        });
    }

    /** @return what the job's money came to (caller holds the lock) */
    JobSettlement settlement() {
        return new JobSettlement(quote, applied, MicroUsd.ofMicros(paid), MicroUsd.ofMicros(refunded),
                MicroUsd.ofMicros(slashed), notes);
    }

    // ---------------------------------------------------------------- moving

    /**
     * What was decided under the lock and is moved after it is released: taken by
     * {@link #drain}, run by {@link #start}.
     */
    final class Moves {
        private final List<Hold> posts;
        private final List<Hold> voids;
        private final List<Slash> slashes;
        private final Consumer<Throwable> then;
        private final Runnable pin;
        private final boolean waitForMoney;

        private Moves(List<Hold> posts, List<Hold> voids, List<Slash> slashes, Consumer<Throwable> then,
                      Runnable pin, boolean waitForMoney) {
            this.posts = posts;
            this.voids = voids;
            this.slashes = slashes;
            this.then = then;
            this.pin = pin;
            this.waitForMoney = waitForMoney;
        }

        /**
         * Moves the money (outside the lock) and runs its continuation once it has moved.
         *
         * @param complete completes the job's result future, or null
         * @return what to run now in place of {@code complete}: null when the future
         *         completes only after the money has moved (a failed job's refunds)
         */
        Runnable start(Runnable complete) {
            if (then != null || !posts.isEmpty() || !voids.isEmpty() || !slashes.isEmpty()) {
                Runnable unpin = pin != null ? pin : escrowing.pin(); // in flight until its continuation has run
                CompletableFuture<Void> moved = move(posts, voids, slashes);
                Runnable last = complete;
                // Ledger futures complete on the ledger's threads: continue on ours.
                moved.whenComplete((v, t) -> hopOrRun.accept(() -> {
                    try {
                        if (waitForMoney && last != null) {
                            last.run(); // refunds are durable (or noted) before a failed job's future fails
                        }
                        if (then != null) {
                            then.accept(t == null ? null : JobRun.rootCause(t));
                        }
                    } finally {
                        unpin.run();
                    }
                }));
                return waitForMoney ? null : complete;
            }
            if (pin != null) {
                pin.run(); // decided, but nothing left to move
            }
            return complete;
        }
    }

    /** Takes what was decided under the lock, to move once it is released (caller holds the lock). */
    Moves drain() {
        Consumer<Throwable> then = afterMoney;
        afterMoney = null;
        Runnable pin = moneyPin;
        moneyPin = null;
        List<Hold> posts = List.of();
        List<Hold> voids = List.of();
        List<Slash> slashes = List.of();
        if (!toPost.isEmpty() || !toVoid.isEmpty() || !toSlash.isEmpty()) {
            posts = new ArrayList<>(toPost);
            voids = new ArrayList<>(toVoid);
            slashes = new ArrayList<>(toSlash);
            toPost.clear();
            toVoid.clear();
            toSlash.clear();
        }
        return new Moves(posts, voids, slashes, then, pin, completionAfterMoney);
    }

    private void note(String what) {
        synchronized (lock) {
            notes.add(what);
        }
    }

    /**
     * Moves the money decided under the lock; completes when every call has, with the first
     * failed post as its failure (voids and slashes that fail are noted and logged: a hold left
     * open expires; a slash not taken is the provider's luck).
     */
    private CompletableFuture<Void> move(List<Hold> posts, List<Hold> voids, List<Slash> slashes) {
        List<CompletableFuture<?>> all = new ArrayList<>();
        synchronized (lock) {
            moneyOps += posts.size() + voids.size() + slashes.size();
        }
        for (Hold h : posts) {
            all.add(escrowing.post(jobId, h.attempt.number(), h.postAmount).whenComplete((ap, t) -> {
                synchronized (lock) {
                    if (ap != null) {
                        applied.add(ap);
                        paid += h.postAmount.micros();
                        refunded += h.held.micros() - h.postAmount.micros();
                    }
                }
                moved();
            }));
        }
        Map<Attempt, DisputeRecord> disputed = new IdentityHashMap<>();
        for (Slash s : slashes) {
            disputed.put(s.outcome().attempt(), s.outcome().dispute());
        }
        for (Hold h : voids) {
            DisputeRecord record = disputed.get(h.attempt);
            // A disputed attempt's dispute goes to the disk first (where the escrow keeps a journal):
            // a buyer killed before the service answered files it again when it is built anew.
            CompletableFuture<Boolean> kept = record == null ? CompletableFuture.completedFuture(false)
                    : escrowing.keepDispute(jobId, h.attempt.number(), record, h.attempt.request.inputs());
            all.add(kept.thenCompose(k -> escrowing.voidHold(jobId, h.attempt.number())).thenApply(List::of)
                    .exceptionallyCompose(t -> {
                // A provider that claimed its hold before this void (a settlement service's claim)
                // is answered with the attempt's dispute record, which the service re-checks.
                Throwable cause = JobRun.rootCause(t);
                if (record != null && cause instanceof SettlementException s && s.is(Reason.HOLD_CLAIMED)) {
                    Optional<CompletableFuture<List<Applied>>> d = escrowing.disputeClaim(jobId, h.attempt.number(),
                            record, h.attempt.request.inputs());
                    if (d.isPresent()) {
                        note("attempt " + h.attempt.number() + "'s provider claimed its hold before the void: disputed "
                                + "the claim with the settlement service");
                        return d.get();
                    }
                }
                return CompletableFuture.failedFuture(t);
            }).handle((aps, t) -> {
                if (record != null && answered(aps, t)) {
                    escrowing.forgetDispute(jobId, h.attempt.number());
                }
                if (aps != null) {
                    synchronized (lock) {
                        applied.addAll(aps);
                        refunded += h.held.micros();
                        for (Applied a : aps) {
                            if (a.operation() instanceof Operation.Slash sl) {
                                slashed += sl.total().micros();
                            }
                        }
                    }
                } else {
                    LOG.warn("job {}: could not void the hold of attempt {}: {}", jobId, h.attempt.number(),
                            JobRun.describe(t));
                    boolean claimed = JobRun.rootCause(t) instanceof SettlementException s && s.is(Reason.HOLD_CLAIMED);
                    note("void of attempt " + h.attempt.number() + " failed (" + JobRun.describe(t) + "): " + (claimed
                            ? "its provider claimed the hold, which the ledger pays after its dispute window unless "
                            + "disputed" : "its hold stays open until it expires"));
                }
                moved();
                return null;
            }));
        }
        for (Slash s : slashes) {
            Attempt.Outcome o = s.outcome();
            all.add(escrowing.slash(jobId, o.dispute(), s.held(), this::note).handle((ap, t) -> {
                if (ap != null && ap.isPresent()) {
                    Operation.Slash op = (Operation.Slash) ap.get().operation();
                    synchronized (lock) {
                        applied.add(ap.get());
                        slashed += op.total().micros();
                    }
                } else if (t != null) {
                    LOG.warn("job {}: could not slash {} for attempt {}: {}", jobId, o.attempt().provider().shortId(),
                            o.attempt().number(), JobRun.describe(t));
                    note("slash of " + o.attempt().provider().shortId() + " for attempt " + o.attempt().number()
                            + " failed: " + JobRun.describe(t));
                }
                moved();
                return null;
            }));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /**
     * Whether the settlement answered a void or dispute for good: it applied them, or refused
     * with a reason (a rejected dispute, a closed window, a resolved hold); not when it failed or
     * did not answer, after which a restarted client files the kept dispute again.
     */
    private static boolean answered(List<Applied> aps, Throwable t) {
        if (aps != null) {
            return true;
        }
        Throwable cause = JobRun.rootCause(t);
        return cause instanceof SettlementException && !(cause instanceof dev.depin.settlement.LedgerFailureException);
    }

    private void moved() {
        synchronized (lock) {
            moneyOps--;
        }
        settleIfAtRest();
    }

    // ---------------------------------------------------------------- without an escrow

    /**
     * What a job without an escrow cost: what the agreeing attempts charged, capped at the
     * max price (nothing moves; the figure is the result's).
     */
    static MicroUsd unescrowedCost(List<Attempt.Outcome> agreeing, JobSpec spec) {
        long cost = 0;
        for (Attempt.Outcome o : agreeing) {
            ExecutionResponse r = o.attempt().response;
            cost = Math.addExact(cost, o.attempt().offer.terms().price()
                    .charge(r.deviceNanos(), spec.bytesMoved()).micros());
        }
        return MicroUsd.ofMicros(Math.min(cost, spec.maxPrice().micros()));
    }
}
