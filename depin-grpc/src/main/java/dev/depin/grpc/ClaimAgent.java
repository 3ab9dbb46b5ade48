package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.node.PaidAttempt;
import dev.depin.settlement.Applied;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.SettlementException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A provider's claimer: for each attempt its node completed under a hold certificate, it looks
 * at the hold a while after the result and, if the buyer has not posted it (a buyer that
 * vanished, or never meant to pay), claims it on the settlement service with the node's receipt
 * for what the node charges (at most the hold). The ledger then posts the claim when its
 * dispute window ends, unless the buyer disputes it. An honest buyer posts first, so most
 * holds are found resolved and nothing is claimed.
 *
 * <pre>{@code
 * try (RemoteSettlement ledger = RemoteSettlement.builder(nodeKey, "ledger.example:7100", ledgerKey).connect();
 *      ClaimAgent claims = ClaimAgent.builder(ledger).build();
 *      ProviderNode node = ProviderNode.builder(nodeKey, executor).requireHoldCertificates(ledgerKey)
 *              .onPaidAttempt(claims).build()) {
 *     ...
 * }
 * }</pre>
 *
 * <p>When: {@link Builder#delay} after the result, but no later than {@link Builder#lead}
 * before the hold's expiry (a claim must come before it). Retries: while the service is
 * unreachable or restarting, the claim is tried again every {@link Builder#retryEvery} until
 * the hold's expiry; every try sends the same receipt, and the service derives the claim's key
 * from it, so a claim applies once however often it is sent. At most {@link Builder#maxPending}
 * attempts wait at once; beyond that new ones are dropped and counted ({@link #dropped()}), so a
 * flood of paid work cannot grow the claimer's memory without bound. Without a
 * {@link Builder#journal journal} nothing is kept on disk and a node restarted before its claims
 * were filed forgets them; with one, each attempt is written (and synced) before
 * {@link #accept} returns and marked done once its hold is settled either way, and a claimer
 * built on the same journal after a crash takes up what was pending.
 */
public final class ClaimAgent implements Consumer<PaidAttempt>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClaimAgent.class);

    private final RemoteSettlement ledger;
    private final Clock clock;
    private final long delayMs;
    private final long leadMs;
    private final long retryMs;
    private final int maxPending;
    private final ScheduledExecutorService timer;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong claimed = new AtomicLong();
    private final AtomicLong resolvedWithout = new AtomicLong();
    private final AtomicLong failedTries = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong givenUp = new AtomicLong();
    /** Appends to the journal, or null without one. */
    private final java.nio.channels.FileChannel journal;
    private final java.nio.file.Path journalPath;

    /** What the claimer needs of a paid attempt: the hold, until when it can be claimed, how much, and the receipt. */
    private record Pending(dev.depin.settlement.OperationKey hold, long expiresMs, MicroUsd amount,
                           dev.depin.crypto.Envelope receipt, dev.depin.crypto.BatchedReceipt batched) {
        static Pending of(PaidAttempt a) {
            return new Pending(a.certificate().hold(), a.certificate().expiresAt().toEpochMilli(), a.claimable(),
                    a.result().receipt(), a.result().batched());
        }

        String line() {
            byte[] json = batched != null ? batched.toJsonBytes() : receipt.toJsonBytes();
            return "claim\t" + hold.value() + "\t" + expiresMs + "\t" + amount.micros() + "\t" + (batched != null ? "B" : "E")
                    + "\t" + java.util.Base64.getEncoder().encodeToString(json) + "\n";
        }

        static Pending parse(String[] f) {
            byte[] json = java.util.Base64.getDecoder().decode(f[5]);
            return new Pending(dev.depin.settlement.OperationKey.of(f[1]), Long.parseLong(f[2]),
                    MicroUsd.ofMicros(Long.parseLong(f[3])),
                    f[4].equals("E") ? dev.depin.crypto.Envelope.parse(json, 1 << 20) : null,
                    f[4].equals("B") ? dev.depin.crypto.BatchedReceipt.parse(json, 1 << 20) : null);
        }
    }

    private ClaimAgent(Builder b) {
        this.ledger = b.ledger;
        this.clock = b.clock;
        this.delayMs = b.delay.toMillis();
        this.leadMs = b.lead.toMillis();
        this.retryMs = b.retryEvery.toMillis();
        this.maxPending = b.maxPending;
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "depin-claim-agent");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
        this.journalPath = b.journal;
        if (b.journal == null) {
            this.journal = null;
            return;
        }
        List<Pending> open = replay(b.journal);
        try {
            // Rewritten with what is still pending (the rest is done), then appended to.
            java.nio.file.Path tmp = b.journal.resolveSibling(b.journal.getFileName() + ".tmp");
            StringBuilder text = new StringBuilder();
            open.forEach(p -> text.append(p.line()));
            java.nio.file.Files.writeString(tmp, text, java.nio.charset.StandardCharsets.US_ASCII);
            java.nio.file.Files.move(tmp, b.journal, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            this.journal = java.nio.channels.FileChannel.open(b.journal, java.nio.file.StandardOpenOption.WRITE,
                    java.nio.file.StandardOpenOption.APPEND);
            journal.force(true);
        } catch (java.io.IOException e) {
            timer.shutdownNow();
            throw new InvalidArgumentException("cannot write the claim journal " + b.journal + ": " + e.getMessage()
                    + " (check the path and its permissions)");
        }
        for (Pending p : open) {
            pending.incrementAndGet();
            schedule(p, 0);
        }
        if (!open.isEmpty()) {
            LOG.info("claimer: {} paid attempt(s) from the journal {} to look at again", open.size(), b.journal);
        }
    }

    /** The journal's attempts not marked done; a torn last line (a crash mid-write) is skipped. */
    private static List<Pending> replay(java.nio.file.Path file) {
        java.util.LinkedHashMap<String, Pending> open = new java.util.LinkedHashMap<>();
        if (!java.nio.file.Files.exists(file)) {
            return List.of();
        }
        List<String> lines;
        try {
            lines = java.nio.file.Files.readAllLines(file, java.nio.charset.StandardCharsets.US_ASCII);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            throw new InvalidArgumentException("cannot read the claim journal " + file + ": " + e.getMessage());
        }
        for (String line : lines) {
            String[] f = line.split("\t");
            try {
                if (f.length == 6 && f[0].equals("claim")) {
                    open.put(f[1], Pending.parse(f));
                } else if (f.length == 2 && f[0].equals("done")) {
                    open.remove(f[1]);
                } else {
                    LOG.warn("claimer: skipping a malformed line of the journal {}", file);
                }
            } catch (RuntimeException e) {
                LOG.warn("claimer: skipping a line of the journal {} that does not parse: {}", file, e.toString());
            }
        }
        return List.copyOf(open.values());
    }

    private synchronized void append(String line) {
        if (journal == null) {
            return;
        }
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(line.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            while (b.hasRemaining()) {
                journal.write(b);
            }
            journal.force(false);
        } catch (java.io.IOException e) {
            LOG.warn("claimer: cannot write the journal {}: {}", journalPath, e.toString());
        }
    }

    /**
     * Starts building a claimer.
     *
     * @param ledger the settlement service, as the node's key (the payee's key claims)
     * @return a builder
     * @throws InvalidArgumentException if null
     */
    public static Builder builder(RemoteSettlement ledger) {
        return new Builder(InvalidArgumentException.requireNonNull(ledger, "settlement service client"));
    }

    /**
     * Takes a completed paid attempt (the node's {@code onPaidAttempt} listener): schedules a
     * look at its hold. Returns at once.
     *
     * @param attempt the attempt
     * @throws InvalidArgumentException if null
     */
    @Override
    public void accept(PaidAttempt attempt) {
        InvalidArgumentException.requireNonNull(attempt, "paid attempt");
        if (attempt.claimable().micros() == 0) {
            return; // nothing to claim
        }
        if (pending.incrementAndGet() > maxPending) {
            pending.decrementAndGet();
            dropped.incrementAndGet();
            LOG.warn("claimer: {} attempts already wait to be claimed; hold {} is not watched", maxPending,
                    attempt.certificate().hold());
            return;
        }
        Pending p = Pending.of(attempt);
        append(p.line());
        long now = clock.millis();
        long at = Math.min(now + delayMs, p.expiresMs() - leadMs);
        schedule(p, Math.max(0, at - now));
    }

    private void schedule(Pending attempt, long inMs) {
        try {
            timer.schedule(() -> look(attempt), inMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            pending.decrementAndGet();
        }
    }

    /** Looks at the hold; claims it if still open; decides whether to try again. */
    private void look(Pending attempt) {
        var holdKey = attempt.hold();
        try {
            Optional<HoldRecord> hold = ledger.hold(holdKey);
            if (hold.isEmpty()) {
                done(attempt, false, "hold {} is not on this ledger: nothing to claim");
                return;
            }
            if (hold.get().state() != HoldRecord.State.OPEN) {
                resolvedWithout.incrementAndGet();
                done(attempt, false, null);
                return;
            }
            MicroUsd amount = attempt.amount();
            Applied a = (attempt.batched() != null ? ledger.claim(holdKey, amount, attempt.batched())
                    : ledger.claim(holdKey, amount, attempt.receipt())).join();
            claimed.incrementAndGet();
            LOG.info("claimed hold {} for {} ({}); the ledger posts it when the dispute window ends", holdKey,
                    amount, a.operation().key());
            done(attempt, false, null);
        } catch (CompletionException | SettlementException e) {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof LedgerFailureException) {
                failedTries.incrementAndGet();
                if (clock.millis() + retryMs < attempt.expiresMs()) {
                    LOG.debug("claimer: settlement service unavailable for hold {} ({}); trying again in {} ms",
                            holdKey, cause.getMessage(), retryMs);
                    schedule(attempt, retryMs); // still pending
                    return;
                }
                done(attempt, true, "claimer: gave up on hold {}: the settlement service was unavailable until its expiry");
                return;
            }
            if (cause instanceof SettlementException s && (s.is(SettlementException.Reason.HOLD_RESOLVED)
                    || s.is(SettlementException.Reason.HOLD_CLAIMED))) {
                resolvedWithout.incrementAndGet(); // the buyer posted (or voided) meanwhile, or our earlier claim stands
                done(attempt, false, null);
                return;
            }
            done(attempt, true, "claimer: claim of hold {} refused: " + cause.getMessage());
        } catch (RuntimeException e) {
            done(attempt, true, "claimer: claim of hold {} failed: " + e);
        }
    }

    private void done(Pending attempt, boolean gaveUp, String warning) {
        append("done\t" + attempt.hold().value() + "\n");
        Object hold = attempt.hold();
        pending.decrementAndGet();
        if (gaveUp) {
            givenUp.incrementAndGet();
        }
        if (warning != null) {
            LOG.warn(warning, hold);
        }
    }

    /** @return attempts waiting to be looked at or claimed */
    public int pending() {
        return pending.get();
    }

    /** @return claims this claimer filed (each accepted by the service) */
    public long claimed() {
        return claimed.get();
    }

    /** @return holds found already resolved or claimed (the buyer paid or voided first): no claim needed */
    public long resolvedWithoutClaim() {
        return resolvedWithout.get();
    }

    /** @return tries that found the settlement service unavailable (each retried while the hold lasted) */
    public long failedTries() {
        return failedTries.get();
    }

    /** @return attempts not watched because {@link Builder#maxPending} were already waiting */
    public long dropped() {
        return dropped.get();
    }

    /** @return claims given up (refused, or the service unavailable until the hold expired) */
    public long givenUp() {
        return givenUp.get();
    }

    /**
     * Stops looking; claims not yet filed are forgotten unless a journal keeps them for the next
     * claimer. The settlement client stays open (its owner's).
     */
    @Override
    public void close() {
        timer.shutdownNow();
        synchronized (this) {
            if (journal != null) {
                try {
                    journal.close();
                } catch (java.io.IOException ignored) {
                    // everything written was synced already
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ClaimAgent[" + ledger + ", pending " + pending.get() + ", claimed " + claimed.get() + "]";
    }

    /** Options of a {@link ClaimAgent}. */
    public static final class Builder {
        private final RemoteSettlement ledger;
        private Duration delay = Duration.ofSeconds(30);
        private Duration lead = Duration.ofSeconds(10);
        private Duration retryEvery = Duration.ofSeconds(2);
        private int maxPending = 100_000;
        private Clock clock = Clock.systemUTC();
        private java.nio.file.Path journal;

        private Builder(RemoteSettlement ledger) {
            this.ledger = ledger;
        }

        /**
         * @param delay how long after the result the hold is looked at (default 30 s): time for
         *              an honest buyer to post it first; 0 to 1 day
         * @return this builder
         * @throws InvalidArgumentException if null or out of range
         */
        public Builder delay(Duration delay) {
            this.delay = range(delay, Duration.ZERO, Duration.ofDays(1), "claim delay");
            return this;
        }

        /**
         * @param lead how long before the hold's expiry it is looked at at the latest (default
         *             10 s), so a claim lands before the expiry; 0 to 1 hour
         * @return this builder
         * @throws InvalidArgumentException if null or out of range
         */
        public Builder lead(Duration lead) {
            this.lead = range(lead, Duration.ZERO, Duration.ofHours(1), "claim lead");
            return this;
        }

        /**
         * @param every how long to wait before trying again when the service was unavailable
         *              (default 2 s; the client's own retries come first); 10 ms to 1 hour
         * @return this builder
         * @throws InvalidArgumentException if null or out of range
         */
        public Builder retryEvery(Duration every) {
            this.retryEvery = range(every, Duration.ofMillis(10), Duration.ofHours(1), "claim retry interval");
            return this;
        }

        /**
         * @param max attempts that may wait at once (default 100,000; each is a few KiB: the
         *            receipt and the certificate); 1 to 10,000,000
         * @return this builder
         * @throws InvalidArgumentException if out of range
         */
        public Builder maxPending(int max) {
            if (max < 1 || max > 10_000_000) {
                throw new InvalidArgumentException("claims pending " + max + " must be 1 to 10,000,000");
            }
            this.maxPending = max;
            return this;
        }

        /**
         * @param clock the clock deciding when to look (default the system clock)
         * @return this builder
         * @throws InvalidArgumentException if null
         */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Keeps the paid attempts not yet settled in {@code file} (created if missing), synced
         * before {@link ClaimAgent#accept} returns, so that a claimer built on the same file
         * after the node was killed claims them (each hold is looked at again at once). The
         * file holds each attempt's receipt and is rewritten without the settled ones when the
         * claimer starts.
         *
         * @param file the journal
         * @return this builder
         * @throws InvalidArgumentException if null; {@link #build()} throws it if the file cannot
         *                                  be read or written
         */
        public Builder journal(java.nio.file.Path file) {
            this.journal = InvalidArgumentException.requireNonNull(file, "claim journal");
            return this;
        }

        /** @return the claimer, ready to be given to a node's {@code onPaidAttempt} */
        public ClaimAgent build() {
            return new ClaimAgent(this);
        }

        private static Duration range(Duration d, Duration min, Duration max, String what) {
            InvalidArgumentException.requireNonNull(d, what);
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                throw new InvalidArgumentException(what + " " + d + " must be " + min + " to " + max);
            }
            return d;
        }
    }
}
