package dev.depin.sla;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.SlaTerms;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A buyer's SLA measurements of every provider it used, each under the terms the provider
 * signed: one {@link SlaMeter} per provider, made from the {@link SlaTerms} of the first offer
 * with an SLA that one of its attempts was dispatched under. Attempts under an offer without an
 * SLA are not metered (nothing was promised). A provider that signs <em>other</em> terms later
 * does not rewrite the contract its earlier attempts were made under: attempts under other terms
 * are not metered either, and counted in {@link #unmetered()} (docs/decisions.md, "SLA wired
 * for real"). Thread-safe.
 */
public final class SlaBook implements SlaRecorder {
    private final io.micrometer.core.instrument.MeterRegistry registry;
    private final Map<NodeId, Contract> contracts = new HashMap<>();
    private final java.util.Set<String> jobs = new java.util.HashSet<>();
    private long unmetered;

    /** A book that publishes no meters. */
    public SlaBook() {
        this.registry = null;
    }

    /**
     * A book that publishes each provider's SLA measurements in {@code registry} (names in
     * docs/metrics.md: {@code depin_sla_attempts_total}, {@code depin_sla_breached_periods},
     * {@code depin_sla_credits_owed_usd_total}, tagged with the provider's short id).
     *
     * @param registry where the meters go
     * @throws InvalidArgumentException on null
     */
    public SlaBook(io.micrometer.core.instrument.MeterRegistry registry) {
        this.registry = InvalidArgumentException.requireNonNull(registry, "meter registry");
    }

    /** The terms of one provider and their meter. */
    private record Contract(ProviderOffer offer, SlaTerms terms, SlaMeter meter) {
    }

    /**
     * Records a finished job: each provider's attempts into its meter.
     *
     * @param record the job; not null
     * @throws InvalidArgumentException on a null or a job recorded before
     */
    @Override
    public void record(SlaRecord record) {
        List<NodeId> added = recordLocked(record);
        if (registry != null) {
            added.forEach(this::publish); // outside the lock: a scrape reads the book under it
        }
    }

    private synchronized List<NodeId> recordLocked(SlaRecord record) {
        InvalidArgumentException.requireNonNull(record, "SLA record");
        List<NodeId> added = new ArrayList<>();
        if (jobs.contains(record.jobId())) {
            throw new InvalidArgumentException("job " + record.jobId() + " was recorded already: each job counts once");
        }
        jobs.add(record.jobId());
        for (Map.Entry<NodeId, List<SlaRecord.Attempt>> e : record.byProvider().entrySet()) {
            List<SlaRecord.Attempt> metered = new ArrayList<>();
            Contract c = contracts.get(e.getKey());
            for (SlaRecord.Attempt a : e.getValue()) {
                Optional<SlaTerms> terms = a.offer().terms().slaTerms();
                if (terms.isEmpty()) {
                    continue;
                }
                if (c == null) {
                    c = new Contract(a.offer(), terms.get(), new SlaMeter(terms.get()));
                    contracts.put(e.getKey(), c);
                    added.add(e.getKey());
                }
                if (c.terms().equals(terms.get())) {
                    metered.add(a);
                } else {
                    unmetered++;
                }
            }
            if (!metered.isEmpty()) {
                c.meter().record(record, metered);
            }
        }
        return added;
    }

    private void publish(NodeId p) {
        io.micrometer.core.instrument.Tags tags = io.micrometer.core.instrument.Tags.of("provider", p.shortId());
        String[] outcomes = {"good", "late", "late_first_byte", "failed"};
        for (String o : outcomes) {
            io.micrometer.core.instrument.FunctionCounter.builder("depin.sla.attempts", this, b -> b.total(p, o))
                    .tags(tags).tag("outcome", o).description("Attempts this buyer measured against the SLA the "
                            + "provider signed: good (verified within its size class's bound), late, late_first_byte (in time, "
                            + "but its first byte after the SLA's first-byte bound), failed")
                    .register(registry);
        }
        io.micrometer.core.instrument.Gauge.builder("depin.sla.breached.periods", this, b -> b.total(p, "breached"))
                .tags(tags).description("Periods in which the provider owes a credit (ended or not)").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("depin.sla.credits.owed", this,
                        b -> b.total(p, "credit") / 1e6).baseUnit("usd").tags(tags)
                .description("Credits the provider's signed schedule owes this buyer, over every period recorded "
                        + "(SlaCredits pays those of ended periods)").register(registry);
    }

    /** A provider's sum over its periods: attempts by outcome, breached periods, or credit (micro-USD). */
    private synchronized double total(NodeId p, String what) {
        double sum = 0;
        for (SlaStatement s : statements(p)) {
            sum += switch (what) {
                case "good" -> s.good();
                case "late" -> s.late();
                case "late_first_byte" -> s.lateFirstByte();
                case "failed" -> s.failed();
                case "breached" -> s.compliant() ? 0 : 1;
                default -> s.credit().micros();
            };
        }
        return sum;
    }

    /**
     * Whether a job was recorded.
     *
     * @param jobId the job's id
     * @return true once {@link #record} has taken it
     */
    public synchronized boolean contains(String jobId) {
        return jobs.contains(InvalidArgumentException.requireNonNull(jobId, "job id"));
    }

    /** @return how many jobs were recorded */
    public synchronized int jobs() {
        return jobs.size();
    }

    /** @return attempts not metered because their provider had signed other terms before */
    public synchronized long unmetered() {
        return unmetered;
    }

    /** @return the providers with SLA terms, by node id */
    public synchronized List<NodeId> providers() {
        return contracts.keySet().stream().sorted(Comparator.comparing(NodeId::hex)).toList();
    }

    /**
     * The signed offer whose terms a provider is measured under.
     *
     * @param provider the provider
     * @return the offer, or empty if no attempt of it under an SLA was recorded
     */
    public synchronized Optional<ProviderOffer> offer(NodeId provider) {
        Contract c = contracts.get(InvalidArgumentException.requireNonNull(provider, "provider"));
        return c == null ? Optional.empty() : Optional.of(c.offer());
    }

    /**
     * A provider's statement for the period holding an instant.
     *
     * @param provider the provider
     * @param at       any instant in the period
     * @return the statement, or empty if the provider has no SLA terms recorded
     */
    public synchronized Optional<SlaStatement> statement(NodeId provider, Instant at) {
        Contract c = contracts.get(InvalidArgumentException.requireNonNull(provider, "provider"));
        return c == null ? Optional.empty() : Optional.of(c.meter().statement(provider, at));
    }

    /**
     * What each job charged a provider in the period holding an instant (the jobs that make up
     * that period's {@link SlaStatement#charges()}).
     *
     * @param provider the provider
     * @param at       any instant in the period
     * @return job id to charge; empty if the provider has no SLA terms recorded or the period no charges
     */
    public synchronized Map<String, dev.depin.money.MicroUsd> charges(NodeId provider, Instant at) {
        Contract c = contracts.get(InvalidArgumentException.requireNonNull(provider, "provider"));
        return c == null ? Map.of() : c.meter().charges(provider, InvalidArgumentException.requireNonNull(at, "at"));
    }

    /**
     * A statement of a provider whose terms measure availability by its listing in a directory
     * ({@link SlaTerms#listedVia()}), completed with that directory's signed statement for the
     * period, under the terms the provider was measured under (so no caller can apply another
     * schedule). Pay credits only from completed statements: {@link SlaCredits} refuses pending ones.
     *
     * @param statement a statement of this book, {@link SlaStatement#LISTED_PENDING}
     * @param presence  the named directory's statement for exactly the statement's period
     * @return the statement with its listed share and its credit recomputed
     * @throws InvalidArgumentException on nulls, a provider without terms in this book, or as
     *                                  {@code SlaStatement}'s rules say (another window, terms
     *                                  naming no directory, a statement completed already)
     * @throws dev.depin.crypto.VerificationException if the presence statement is not signed by
     *                                  the directory the terms name ({@code KEY_MISMATCH},
     *                                  {@code BAD_SIGNATURE}) or is about another provider
     */
    public SlaStatement withPresence(SlaStatement statement, PresenceStatement presence) {
        InvalidArgumentException.requireNonNull(statement, "SLA statement");
        SlaTerms terms;
        synchronized (this) {
            Contract c = contracts.get(statement.provider());
            if (c == null) {
                throw new InvalidArgumentException("no SLA terms of provider " + statement.provider().shortId()
                        + " were recorded in this book: complete statements of the book they came from");
            }
            terms = c.terms();
        }
        return statement.withPresence(terms, presence);
    }

    /**
     * Every period of a provider with counted attempts.
     *
     * @param provider the provider
     * @return its statements in time order; empty if it has no SLA terms recorded
     */
    public synchronized List<SlaStatement> statements(NodeId provider) {
        Contract c = contracts.get(InvalidArgumentException.requireNonNull(provider, "provider"));
        return c == null ? List.of() : c.meter().statements(provider);
    }

    /**
     * Every statement of a period that has ended, by provider then period: what
     * {@link SlaCredits#payAll} settles.
     *
     * @param now the current time
     * @return the statements
     */
    public synchronized List<SlaStatement> closedStatements(Instant now) {
        InvalidArgumentException.requireNonNull(now, "now");
        List<SlaStatement> out = new ArrayList<>();
        for (NodeId p : providers()) {
            out.addAll(contracts.get(p).meter().closedStatements(now));
        }
        return out;
    }
}
