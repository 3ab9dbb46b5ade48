package dev.depin.client.internal;

import dev.depin.settlement.SettlementException.Reason;
import dev.depin.crypto.Sha256;
import dev.depin.job.DisputeRecord;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.Quote;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.TokenRate;
import dev.depin.settlement.spi.Settlement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's money calls: quotes, holds, posts, voids and slashes on the buyer's
 * {@link Escrow}, each under the idempotency key {@code session/jobId/attempt/operation}.
 *
 * <p>Never called under a job's lock; never blocks a ledger thread (synchronous ledger
 * reads run on the client's executor). Every call is counted until it completes, so the
 * client can wait for its money to come to rest when it closes.
 */
public final class Escrowing {
    private static final Logger LOG = LoggerFactory.getLogger(Escrowing.class);

    private final Escrow escrow;
    private final Settlement ledger;
    private final Clock clock;
    private final Executor executor;
    /** Where disputes wait for the service's answer, when the escrow names a place and the ledger re-checks disputes. */
    private final DisputeJournal journal;
    private final Set<AccountId> opened = ConcurrentHashMap.newKeySet();
    private final AtomicInteger pending = new AtomicInteger();
    private final Object quiet = new Object();

    /**
     * @param escrow   the buyer's escrow
     * @param clock    the client's clock
     * @param executor where synchronous ledger reads run
     */
    public Escrowing(Escrow escrow, Clock clock, Executor executor) {
        this.escrow = escrow;
        this.ledger = escrow.ledger();
        this.clock = clock;
        this.executor = executor;
        this.journal = ledger instanceof dev.depin.settlement.spi.ClaimDisputes
                ? escrow.disputeJournal().map(DisputeJournal::new).orElse(null) : null;
    }

    /** @return the escrow */
    public Escrow escrow() {
        return escrow;
    }

    // ---------------------------------------------------------------- quotes

    /**
     * The quote a round uses: {@code current} while it is valid, else a new one from the
     * oracle, refused if its rate is older than the buyer accepts or moved beyond the slippage
     * bound from the job's {@code first} quote.
     */
    CompletableFuture<Quote> quote(Quote current, Quote first) {
        Instant now = clock.instant();
        if (current != null && current.validAt(now)) {
            return CompletableFuture.completedFuture(current);
        }
        CompletableFuture<TokenRate> rate;
        try {
            rate = escrow.oracle().rate();
            if (rate == null) {
                throw new IllegalStateException("oracle " + escrow.oracle().name() + " returned no future");
            }
        } catch (RuntimeException e) {
            rate = CompletableFuture.failedFuture(e);
        }
        return track(rate.handle((r, error) -> {
            if (error != null || r == null) {
                throw new CompletionException(new SettlementException(Reason.STALE_QUOTE, "no token rate from oracle "
                        + escrow.oracle().name() + ": " + (error == null ? "it returned null" : JobRun.rootCause(error))
                        + "; no money moved. Fix the oracle feed and resubmit"));
            }
            Instant at = clock.instant();
            Duration age = Duration.between(r.asOf(), at);
            if (age.compareTo(escrow.maxRateAge()) > 0) {
                throw new CompletionException(new SettlementException(Reason.STALE_QUOTE, "the rate " + r + " from oracle "
                        + escrow.oracle().name() + " is " + age.toMillis() + " ms old at " + at + ", older than the "
                        + escrow.maxRateAge() + " this buyer accepts; no money moved. Fix the oracle feed or raise "
                        + "Escrow.Builder.maxRateAge"));
            }
            if (first != null) {
                long bps = first.rate().basisPointsTo(r);
                if (bps > escrow.maxSlippageBps()) {
                    throw new CompletionException(new SettlementException(Reason.SLIPPAGE_EXCEEDED, "the rate moved from "
                            + first.rate() + " to " + r + ", " + bps + " basis points, beyond the buyer's bound of "
                            + escrow.maxSlippageBps() + "; no new hold was placed. Resubmit at the new rate or raise "
                            + "Escrow.Builder.maxSlippage"));
                }
            }
            return new Quote(r, at, at.plus(escrow.quoteTtl()));
        }));
    }

    // ---------------------------------------------------------------- holds

    /**
     * What a round's holds came to: the hold applied for each attempt (null where it was
     * refused or failed) and the first refusal, if any.
     *
     * @param placed per attempt, in the round's order, the applied hold or null
     * @param error  the first refusal or failure, or null when every hold was placed
     */
    record Holds(List<Applied> placed, Throwable error) {
    }

    /**
     * Holds {@code each} for every attempt of a round, after making sure each payee account
     * exists. Completes (never exceptionally) once every hold has been applied or refused;
     * the caller voids those placed if any was refused.
     */
    CompletableFuture<Holds> hold(String jobId, List<Attempt> round, MicroUsd each, Instant expiresAt, String specHash) {
        List<CompletableFuture<Applied>> holds = new ArrayList<>();
        for (Attempt a : round) {
            OperationKey key = key(jobId, a.number(), "hold");
            AccountId payee = Escrow.providerAccount(a.provider());
            // The hold names the price the attempt was placed at: a settlement service bounds the
            // provider's claim by it, and a node refuses a certificate that names another price.
            Optional<dev.depin.money.Price> price = Optional.ofNullable(a.offer).map(o -> o.terms().price());
            holds.add(openProvider(payee).thenCompose(v -> apply(new Operation.Hold(key, escrow.buyer(), payee, each,
                    expiresAt, Optional.of(specHash), price))));
        }
        return track(CompletableFuture.allOf(holds.toArray(CompletableFuture[]::new)).handle((v, ignored) -> {
            List<Applied> placed = new ArrayList<>();
            Throwable error = null;
            for (CompletableFuture<Applied> h : holds) {
                try {
                    placed.add(h.join());
                } catch (RuntimeException e) {
                    placed.add(null);
                    error = error == null ? JobRun.rootCause(e) : error;
                }
            }
            return new Holds(placed, error);
        }));
    }

    private CompletableFuture<Void> openProvider(AccountId account) {
        if (opened.contains(account)) {
            return CompletableFuture.completedFuture(null);
        }
        return track(ledger.open(account, AccountKind.PROVIDER, false)).thenAccept(b -> opened.add(account));
    }

    /** Pays {@code amount} of an attempt's hold to its provider; the rest returns to the buyer. */
    CompletableFuture<Applied> post(String jobId, int attempt, MicroUsd amount) {
        return apply(new Operation.Post(key(jobId, attempt, "post"), key(jobId, attempt, "hold"), amount));
    }

    /** Returns an attempt's hold to the buyer. */
    CompletableFuture<Applied> voidHold(String jobId, int attempt) {
        return apply(new Operation.VoidHold(key(jobId, attempt, "void"), key(jobId, attempt, "hold")));
    }

    /**
     * Takes the policy's penalty from a disputed provider's stake, or what the stake has;
     * the buyer gets its share, the rest is burned. Completes empty, with a note, when the
     * provider has nothing at stake.
     */
    CompletableFuture<Optional<Applied>> slash(String jobId, DisputeRecord dispute, MicroUsd hold,
                                               java.util.function.Consumer<String> notes) {
        AccountId stake = Escrow.stakeAccount(dispute.provider());
        return track(CompletableFuture.supplyAsync(() -> available(stake), executor).thenCompose(available -> {
            long penalty;
            try {
                penalty = Math.multiplyExact(hold.micros(), (long) escrow.slashing().holdMultiple());
            } catch (ArithmeticException e) {
                penalty = Long.MAX_VALUE;
            }
            penalty = Math.min(penalty, available);
            if (penalty <= 0) {
                notes.accept("no slash of " + dispute.provider().shortId() + " for attempt " + dispute.attempt()
                        + ": " + (available == NOT_PERMITTED ? "the settlement service does not let this buyer's key "
                        + "slash (only its operator does; the dispute record is the evidence to give it)"
                        : available < 0 ? "it has no stake account" : "its stake is empty"));
                return CompletableFuture.completedFuture(Optional.<Applied>empty());
            }
            long toBuyer = (long) (penalty * (escrow.slashing().toBuyerPercent() / 100.0));
            toBuyer = Math.min(penalty, Math.max(0, toBuyer));
            long burned = penalty - toBuyer;
            String evidence = "dispute-sha256:" + Sha256.hex(dispute.toJson());
            Operation.Slash op = new Operation.Slash(key(jobId, dispute.attempt(), "slash"), stake,
                    toBuyer > 0 ? Optional.of(escrow.buyer()) : Optional.empty(), MicroUsd.ofMicros(toBuyer),
                    MicroUsd.ofMicros(burned), evidence);
            return apply(op).thenApply(Optional::of).exceptionally(error -> {
                Throwable cause = JobRun.rootCause(error);
                if (cause instanceof SettlementException s && s.is(Reason.NOT_PERMITTED)) {
                    notes.accept("no slash of " + dispute.provider().shortId() + " for attempt " + dispute.attempt()
                            + ": " + cause.getMessage());
                    return Optional.empty();
                }
                if (cause instanceof SettlementException s && s.is(Reason.INSUFFICIENT_FUNDS)) {
                    // Another job slashed the same stake first: what is left was not enough.
                    notes.accept("no slash of " + dispute.provider().shortId() + " for attempt " + dispute.attempt()
                            + ": " + cause.getMessage());
                    return Optional.empty();
                }
                throw new CompletionException(cause);
            });
        }));
    }

    /** {@link #available} when a settlement service does not let this buyer read or slash the stake. */
    private static final long NOT_PERMITTED = -2;

    /**
     * A stake's available balance; -1 when the provider has no stake account, {@link #NOT_PERMITTED}
     * when the settlement (a service) does not let this buyer's key read it.
     */
    private long available(AccountId stake) {
        try {
            Balance b = ledger.balance(stake);
            return b.kind() == AccountKind.STAKE ? b.available() : -1;
        } catch (SettlementException e) {
            if (e.is(Reason.UNKNOWN_ACCOUNT)) {
                return -1;
            }
            if (e.is(Reason.NOT_PERMITTED)) {
                return NOT_PERMITTED;
            }
            throw e;
        }
    }

    // ---------------------------------------------------------------- recovery

    /**
     * Resolves the holds this session left open (a previous process died with jobs in
     * flight): first files the disputes it kept ({@link dev.depin.settlement.Escrow.Builder#disputeJournal}),
     * then voids each other open hold, or expires it if its expiry has passed. A hold is only
     * posted on a verified result held in memory, so a restarted client can only refund or dispute.
     *
     * @param timeout how long to wait for the ledger
     * @return what was applied
     * @throws SettlementException if the ledger refuses or fails
     */
    public List<Applied> recover(Duration timeout) {
        List<Applied> out = new ArrayList<>();
        fileKeptDisputes(timeout, out);
        String prefix = escrow.session() + "/";
        List<CompletableFuture<Applied>> done = new ArrayList<>();
        Instant now = clock.instant();
        for (OpenHold h : ledger.openHolds()) {
            String k = h.key().value();
            if (!h.payer().equals(escrow.buyer()) || !k.startsWith(prefix) || !k.endsWith("/hold")) {
                continue;
            }
            String base = k.substring(0, k.length() - "hold".length());
            Operation op = now.isBefore(h.expiresAt())
                    ? new Operation.VoidHold(OperationKey.of(base + "void"), h.key())
                    : new Operation.Expire(OperationKey.of(base + "expire"), h.key());
            done.add(apply(op));
        }
        for (CompletableFuture<Applied> f : done) {
            try {
                out.add(f.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = JobRun.rootCause(e);
                if (cause instanceof SettlementException r && r.is(Reason.HOLD_RESOLVED)) {
                    continue; // resolved meanwhile (the ledger expired it itself): nothing left to do
                }
                if (cause instanceof SettlementException r && r.is(Reason.HOLD_CLAIMED)) {
                    // The provider claimed it with its receipt (the job ran): the ledger posts the
                    // claim after its dispute window unless this buyer disputes it there.
                    LOG.info("escrow session {}: a hold left open is claimed by its provider: {}", escrow.session(),
                            cause.getMessage());
                    continue;
                }
                throw cause instanceof SettlementException s ? s
                        : new LedgerFailureException("could not resolve an open hold of session " + escrow.session()
                        + ": " + cause, cause);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new LedgerFailureException("the ledger did not resolve session " + escrow.session()
                        + "'s open holds within " + timeout + ": check the ledger and build the client again");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LedgerFailureException("interrupted while resolving open holds", e);
            }
        }
        if (!out.isEmpty()) {
            LOG.info("escrow session {}: resolved {} hold(s) a previous client left open", escrow.session(), out.size());
        }
        return out;
    }

    /**
     * Files an attempt's dispute record against the provider's claim on its hold, where the
     * ledger re-checks disputes (a settlement service): the engine's answer to a void refused
     * with {@code HOLD_CLAIMED}.
     *
     * @return the operations applied, or empty when this ledger takes no disputes
     */
    Optional<CompletableFuture<List<Applied>>> disputeClaim(String jobId, int attempt, DisputeRecord record,
                                                            java.util.Map<String, java.nio.ByteBuffer> inputs) {
        if (!(ledger instanceof dev.depin.settlement.spi.ClaimDisputes disputes)) {
            return Optional.empty();
        }
        CompletableFuture<List<Applied>> f;
        try {
            f = disputes.dispute(key(jobId, attempt, "hold"), record.toJson(), inputs, record.outputs());
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return Optional.of(track(f));
    }

    /**
     * Keeps an attempt's dispute on the disk before the engine acts on it (the void that a
     * provider's claim may refuse), where the escrow has a dispute journal and the ledger re-checks
     * disputes; runs on the client's executor. Completes with whether it was kept; a failure to
     * write is logged and the engine goes on with the dispute in memory only.
     */
    CompletableFuture<Boolean> keepDispute(String jobId, int attempt, DisputeRecord record,
                                           java.util.Map<String, java.nio.ByteBuffer> inputs) {
        if (journal == null) {
            return CompletableFuture.completedFuture(false);
        }
        OperationKey hold = key(jobId, attempt, "hold");
        return track(CompletableFuture.supplyAsync(() -> {
            try {
                journal.write(new DisputeJournal.Entry(hold, record.toJson(), inputs, record.outputs()));
                return true;
            } catch (RuntimeException e) {
                LOG.warn("job {}: the dispute of attempt {} is kept in memory only: {}", jobId, attempt, e.getMessage());
                return false;
            }
        }, executor));
    }

    /** Deletes an attempt's kept dispute once the service answered it (or the void went through). */
    void forgetDispute(String jobId, int attempt) {
        if (journal != null) {
            journal.delete(key(jobId, attempt, "hold"));
        }
    }

    /**
     * Files the disputes a previous client of this session kept but never had answered, while
     * each claim's dispute window is open: a hold still open is voided (and disputed if that is
     * refused because its provider claimed it meanwhile), a claimed or service-disputed one is
     * disputed, a resolved one needs nothing. Each is deleted once the service answered.
     */
    private void fileKeptDisputes(Duration timeout, List<Applied> out) {
        if (journal == null) {
            return;
        }
        String prefix = escrow.session() + "/";
        dev.depin.settlement.spi.ClaimDisputes disputes = (dev.depin.settlement.spi.ClaimDisputes) ledger;
        for (DisputeJournal.Entry e : journal.readAll()) {
            String k = e.hold().value();
            if (!k.startsWith(prefix) || !k.endsWith("/hold")) {
                continue; // another session's, which its own client files
            }
            Optional<dev.depin.settlement.HoldRecord> hold = ledger.hold(e.hold());
            dev.depin.settlement.HoldRecord.State state = hold.map(dev.depin.settlement.HoldRecord::state).orElse(null);
            String base = k.substring(0, k.length() - "hold".length());
            try {
                if (state == dev.depin.settlement.HoldRecord.State.OPEN) {
                    try {
                        out.add(await(apply(new Operation.VoidHold(OperationKey.of(base + "void"), e.hold())), timeout));
                        journal.delete(e.hold());
                        continue;
                    } catch (SettlementException s) {
                        if (!s.is(Reason.HOLD_CLAIMED)) {
                            throw s;
                        }
                        state = dev.depin.settlement.HoldRecord.State.CLAIMED; // claimed meanwhile
                    }
                }
                if (state == dev.depin.settlement.HoldRecord.State.CLAIMED
                        || state == dev.depin.settlement.HoldRecord.State.DISPUTED) {
                    List<Applied> applied = await(track(disputes.dispute(e.hold(), e.record(), e.inputs(), e.outputs())),
                            timeout);
                    out.addAll(applied);
                    LOG.info("escrow session {}: filed the dispute of hold {} a previous client kept; {} operation(s) "
                            + "applied", escrow.session(), e.hold(), applied.size());
                } else {
                    LOG.info("escrow session {}: the kept dispute of hold {} needs nothing: the hold is {}",
                            escrow.session(), e.hold(), state == null ? "unknown to the ledger" : state);
                }
                journal.delete(e.hold());
            } catch (LedgerFailureException f) {
                throw new LedgerFailureException("could not file the kept dispute of hold " + e.hold() + " (it stays in "
                        + "the journal): " + f.getMessage() + "; check the settlement service and build the client again",
                        f);
            } catch (SettlementException refused) {
                // The service answered (DISPUTE_REJECTED, DISPUTE_WINDOW_CLOSED, HOLD_RESOLVED, ...): nothing
                // more this buyer can do with the record.
                LOG.warn("escrow session {}: the kept dispute of hold {} was answered with a refusal: {}",
                        escrow.session(), e.hold(), refused.getMessage());
                journal.delete(e.hold());
            }
        }
    }

    private static <T> T await(CompletableFuture<T> f, Duration timeout) {
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.ExecutionException x) {
            Throwable cause = JobRun.rootCause(x);
            throw cause instanceof SettlementException s ? s : new LedgerFailureException(cause.toString(), cause);
        } catch (java.util.concurrent.TimeoutException x) {
            throw new LedgerFailureException("the ledger did not answer within " + timeout);
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            throw new LedgerFailureException("interrupted", x);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private OperationKey key(String jobId, int attempt, String operation) {
        return OperationKey.of(escrow.session() + "/" + jobId, attempt, operation);
    }

    private CompletableFuture<Applied> apply(Operation op) {
        CompletableFuture<Applied> f;
        try {
            f = ledger.apply(op);
            if (f == null) {
                throw new IllegalStateException("ledger returned no future for " + op.key());
            }
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return track(f);
    }

    private <T> CompletableFuture<T> track(CompletableFuture<T> f) {
        Runnable unpin = pin();
        return f.whenComplete((v, t) -> unpin.run());
    }

    /**
     * Waits until no money call of this client is in flight, or the timeout passes.
     *
     * @param timeout the longest wait
     * @return whether it came to rest
     */
    public boolean awaitQuiet(Duration timeout) {
        long until = System.nanoTime() + timeout.toNanos();
        synchronized (quiet) {
            while (pending.get() > 0) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(quiet, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Counts a stretch of work as money in flight until the returned action runs: covers the
     * gap between a ledger future completing and the job handling it.
     *
     * @return runs once to release the pin
     */
    Runnable pin() {
        pending.incrementAndGet();
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true) && pending.decrementAndGet() == 0) {
                synchronized (quiet) {
                    quiet.notifyAll();
                }
            }
        };
    }
}
