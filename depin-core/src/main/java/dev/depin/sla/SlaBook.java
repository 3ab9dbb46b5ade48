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
    private final Map<NodeId, Contract> contracts = new HashMap<>();
    private final java.util.Set<String> jobs = new java.util.HashSet<>();
    private long unmetered;

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
    public synchronized void record(SlaRecord record) {
        InvalidArgumentException.requireNonNull(record, "SLA record");
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
