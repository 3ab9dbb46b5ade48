package dev.depin.sla;

import dev.depin.provider.SlaTerms;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.job.AttemptState;
import dev.depin.job.JobEvent;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.Posting;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;

/**
 * The buyer's measurement of its providers' SLAs, from what the buyer itself saw: each
 * attempt's dispatch and end in the job's history (the client's clock) and what each job paid
 * each provider. Feed it finished jobs ({@link #record(JobHandle)}); ask it for a provider's
 * {@link SlaStatement} per period. Thread-safe.
 *
 * <p>Whom the evidence protects is in docs/decisions.md ("SLA credits"): the buyer's clock
 * decides lateness, the provider's signed receipt timestamps bound how late it can be blamed
 * for, and an attempt the buyer cancelled never counts against the provider.
 */
public final class SlaMeter {
    private final SlaTerms terms;
    /** Provider → period start → tally. */
    private final Map<NodeId, TreeMap<Instant, Tally>> tallies = new HashMap<>();
    private final java.util.Set<String> recorded = new java.util.HashSet<>();

    /**
     * A meter for one set of terms (one provider's offer, or one the buyer requires of all).
     *
     * @param terms the SLA; not null
     * @throws InvalidArgumentException if {@code terms} is null
     */
    public SlaMeter(SlaTerms terms) {
        this.terms = InvalidArgumentException.requireNonNull(terms, "SLA terms");
    }

    /** @return the terms measured */
    public SlaTerms terms() {
        return terms;
    }

    /**
     * Records a finished job: every attempt in its history, and what its result paid.
     *
     * @param handle a job whose state is terminal; not null
     * @throws InvalidArgumentException if the job has not finished, or was recorded before
     */
    public void record(JobHandle handle) {
        InvalidArgumentException.requireNonNull(handle, "job handle");
        if (!handle.state().isTerminal()) {
            throw new InvalidArgumentException("job " + handle.jobId() + " is " + handle.state()
                    + ": record it once it has finished");
        }
        JobResult result = null;
        if (handle.resultAsync().isDone() && !handle.resultAsync().isCompletedExceptionally()) {
            try {
                result = handle.resultAsync().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InvalidArgumentException("interrupted while reading the result of job " + handle.jobId());
            } catch (ExecutionException e) {
                result = null;
            }
        }
        record(handle.jobId(), handle.spec().kernel().flops(handle.spec().params()), handle.events(),
                result == null ? Map.of() : charges(result));
    }

    /**
     * Records one job from its parts.
     *
     * @param jobId   the job's id (each job is recorded once)
     * @param flops   the job's FLOP count, which picks its size class
     * @param history the job's events, in order
     * @param charges what the job paid each provider
     * @throws InvalidArgumentException on nulls, a negative FLOP count, or a job recorded before
     */
    public void record(String jobId, long flops, List<JobEvent> history, Map<NodeId, MicroUsd> charges) {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        InvalidArgumentException.requireNonNull(history, "job history");
        InvalidArgumentException.requireNonNull(charges, "charges");
        if (flops < 0) {
            throw new InvalidArgumentException("job " + jobId + " has " + flops + " FLOPs: must be >= 0");
        }
        Map<Integer, Instant> dispatched = new LinkedHashMap<>();
        Map<Integer, NodeId> provider = new HashMap<>();
        Map<Integer, JobEvent> end = new HashMap<>();
        for (JobEvent e : history) {
            if (!e.isAttemptEvent() || e.provider() == null || !e.jobId().equals(jobId)) {
                continue;
            }
            if (e.attemptState() == AttemptState.DISPATCHED) {
                dispatched.putIfAbsent(e.attempt(), e.at());
                provider.putIfAbsent(e.attempt(), e.provider());
            } else if (e.attemptState().isTerminal()) {
                end.putIfAbsent(e.attempt(), e);
            }
        }
        List<Observed> observed = new ArrayList<>();
        for (Map.Entry<Integer, Instant> d : dispatched.entrySet()) {
            JobEvent last = end.get(d.getKey());
            observed.add(new Observed(provider.get(d.getKey()), d.getValue(), last == null ? null : last.attemptState(),
                    last == null ? null : last.at(), null));
        }
        tally(jobId, flops, observed, charges);
    }

    /**
     * Records one provider's attempts of one job ({@link SlaBook} keeps a meter per provider).
     *
     * @param record   the job
     * @param attempts the attempts of {@code record} this meter counts
     */
    void record(SlaRecord record, List<SlaRecord.Attempt> attempts) {
        List<Observed> observed = new ArrayList<>();
        Map<NodeId, MicroUsd> charges = new HashMap<>();
        for (SlaRecord.Attempt a : attempts) {
            observed.add(new Observed(a.provider(), a.dispatched(), a.end(), a.endedAt(), a.firstByteAt()));
            MicroUsd c = record.charges().get(a.provider());
            if (c != null) {
                charges.put(a.provider(), c);
            }
        }
        tally(record.jobId(), record.flops(), observed, charges);
    }

    /** @return whether a job was recorded */
    synchronized boolean recorded(String jobId) {
        return recorded.contains(jobId);
    }

    /**
     * One attempt as the meter sees it: end and endedAt null when it never ended; firstByteAt
     * null when no first byte was reported (then its end stands for it).
     */
    private record Observed(NodeId provider, Instant dispatched, AttemptState end, Instant endedAt,
                            Instant firstByteAt) {
        /** @return whether a verified attempt's first byte came within the bound, if there is one */
        boolean firstByteWithin(Duration bound) {
            return bound == null || Duration.between(dispatched, firstByteAt != null ? firstByteAt : endedAt)
                    .compareTo(bound) <= 0;
        }
    }

    private void tally(String jobId, long flops, List<Observed> observed, Map<NodeId, MicroUsd> charges) {
        SlaTerms.Objective objective = terms.objectiveFor(flops);
        synchronized (this) {
            if (!recorded.add(jobId)) {
                throw new InvalidArgumentException("job " + jobId + " was recorded already: each job counts once");
            }
            Map<NodeId, Instant> chargedIn = new HashMap<>();
            for (Observed o : observed) {
                NodeId p = o.provider();
                Instant period = terms.periodStart(o.dispatched());
                if (o.end() == AttemptState.CANCELLED) {
                    continue; // withdrawn by the buyer: a hedge that lost, a job cancelled by its owner
                }
                Tally t = tallies.computeIfAbsent(p, k -> new TreeMap<>()).computeIfAbsent(period, k -> new Tally());
                chargedIn.putIfAbsent(p, period);
                if (objective == null) {
                    t.uncovered++;
                } else if (o.end() != AttemptState.ACCEPTED) {
                    t.failed++;
                } else if (Duration.between(o.dispatched(), o.endedAt()).compareTo(objective.within()) > 0) {
                    t.late++;
                } else if (!o.firstByteWithin(terms.firstByteWithin())) {
                    t.lateFirstByte++;
                } else {
                    t.good++;
                }
            }
            for (Map.Entry<NodeId, MicroUsd> c : charges.entrySet()) {
                Instant period = chargedIn.get(c.getKey());
                if (period != null) {
                    Tally t = tallies.get(c.getKey()).get(period);
                    t.charges = t.charges.plus(c.getValue());
                    t.jobCharges.merge(jobId, c.getValue(), MicroUsd::plus);
                }
            }
        }
    }

    /**
     * Every period in which a provider has counted attempts, in time order.
     *
     * @param provider the provider
     * @return its statements, one per period with recorded attempts
     * @throws InvalidArgumentException on a null
     */
    public synchronized List<SlaStatement> statements(NodeId provider) {
        InvalidArgumentException.requireNonNull(provider, "provider");
        List<SlaStatement> out = new ArrayList<>();
        tallies.getOrDefault(provider, new TreeMap<>()).forEach((start, t) ->
                out.add(t.statement(provider, start, start.plus(terms.period()), terms)));
        return out;
    }

    /**
     * One provider's statement for one period.
     *
     * @param provider    the provider
     * @param periodStart any instant in the period
     * @return the statement (all zero, compliant, when nothing was recorded)
     * @throws InvalidArgumentException on nulls
     */
    public synchronized SlaStatement statement(NodeId provider, Instant periodStart) {
        InvalidArgumentException.requireNonNull(provider, "provider");
        Instant start = terms.periodStart(InvalidArgumentException.requireNonNull(periodStart, "period"));
        Tally t = tallies.getOrDefault(provider, new TreeMap<>()).getOrDefault(start, new Tally());
        return t.statement(provider, start, start.plus(terms.period()), terms);
    }

    /**
     * What each job charged a provider in one period, the jobs whose charges make up that
     * period's {@link SlaStatement#charges()}: how {@code depin sla} checks a journal's charges
     * against the ledger's posts period by period.
     *
     * @param provider    the provider
     * @param periodStart any instant in the period
     * @return job id to charge; empty when the period has none
     * @throws InvalidArgumentException on nulls
     */
    public synchronized Map<String, MicroUsd> charges(NodeId provider, Instant periodStart) {
        InvalidArgumentException.requireNonNull(provider, "provider");
        Instant start = terms.periodStart(InvalidArgumentException.requireNonNull(periodStart, "period"));
        Tally t = tallies.getOrDefault(provider, new TreeMap<>()).get(start);
        return t == null ? Map.of() : Map.copyOf(t.jobCharges);
    }

    /**
     * Every statement of periods that have ended: what {@link SlaCredits} settles.
     *
     * @param now the current time; periods ending after it are still open
     * @return statements by provider, then period
     */
    public synchronized List<SlaStatement> closedStatements(Instant now) {
        InvalidArgumentException.requireNonNull(now, "now");
        List<SlaStatement> out = new ArrayList<>();
        tallies.entrySet().stream().sorted(Map.Entry.comparingByKey(java.util.Comparator.comparing(NodeId::hex)))
                .forEach(e -> e.getValue().forEach((start, t) -> {
                    Instant end = start.plus(terms.period());
                    if (!end.isAfter(now)) {
                        out.add(t.statement(e.getKey(), start, end, terms));
                    }
                }));
        return out;
    }

    /**
     * What a result paid each provider: the settled posts to their accounts where the job was
     * escrowed, otherwise its cost, split evenly among the accepted replicas.
     */
    static Map<NodeId, MicroUsd> charges(JobResult result) {
        Map<NodeId, MicroUsd> out = new HashMap<>();
        if (result.settlement() != null) {
            for (var applied : result.settlement().operations()) {
                if (!(applied.operation() instanceof dev.depin.settlement.Operation.Post)) {
                    continue;
                }
                for (Posting p : applied.postings()) {
                    String account = p.credit().value();
                    if (!p.pending() && account.startsWith("provider:")) {
                        out.merge(NodeId.parse(account.substring("provider:".length())), p.amount(), MicroUsd::plus);
                    }
                }
            }
            return out;
        }
        List<NodeId> accepted = result.history().stream()
                .filter(e -> e.attemptState() == AttemptState.ACCEPTED && e.provider() != null)
                .map(JobEvent::provider).distinct().toList();
        if (accepted.isEmpty()) {
            accepted = List.of(result.provider());
        }
        long each = result.cost().micros() / accepted.size();
        long rest = result.cost().micros() - each * accepted.size();
        for (int i = 0; i < accepted.size(); i++) {
            out.merge(accepted.get(i), MicroUsd.ofMicros(each + (i == 0 ? rest : 0)), MicroUsd::plus);
        }
        return out;
    }

    private static final class Tally {
        long good;
        long late;
        /** Verified within its class's bound, but its first byte came after the first-byte bound. */
        long lateFirstByte;
        long failed;
        long uncovered;
        MicroUsd charges = MicroUsd.ZERO;
        /** The charges by job: what lets a ledger confirm a period's charges job by job. */
        final Map<String, MicroUsd> jobCharges = new HashMap<>();

        SlaStatement statement(NodeId provider, Instant start, Instant end, SlaTerms terms) {
            long counted = good + late + lateFirstByte + failed;
            int bp = counted == 0 ? SlaTerms.FULL : (int) (good * SlaTerms.FULL / counted);
            int percent = terms.creditPercent(bp);
            // A presence objective leaves the statement pending: its credit may only grow once the
            // directory's statement is applied, and SlaCredits refuses to pay it before.
            return new SlaStatement(provider, start, end, good, late, lateFirstByte, failed, uncovered, bp, charges,
                    percent, SlaStatement.credit(charges, percent),
                    terms.listedVia() == null ? SlaStatement.LISTED_NOT_PROMISED : SlaStatement.LISTED_PENDING);
        }
    }
}
