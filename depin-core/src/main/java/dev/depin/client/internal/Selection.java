package dev.depin.client.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.job.Requirements;
import dev.depin.job.SlaRequirement;
import dev.depin.kernel.BufferDecl;
import dev.depin.money.MicroUsd;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.JobLimits;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Picks the providers of one round: filters verified offers by kernel, requirements,
 * reputation, bans and price, ranks them (load tier, then the job's input bytes the provider
 * already holds, most first, then estimated cost, then measured reputation, then node id), and
 * plans the round within the job's price cap, which covers every replica of the round.
 *
 * <p>Held bytes come from the network ({@code ComputeNetwork.inputBytesHeld}) and are zero for
 * every offer unless the buyer keeps inputs on providers; then the order is the plain one. A
 * holder never beats a less loaded provider, and a redundant round over the cap falls back to
 * the cheapest, as without it.
 *
 * <p>Offers that come from {@link OfferBook#usable} carry their {@link OfferSnapshot}; for
 * them the ranking of everything that does not change from job to job is made once per job
 * shape ({@link RankIndex}), and a round only walks that order from the cheapest offer until
 * nothing further can rank higher. Any other list, and every round that ends without a plan
 * (whose reasons must list every offer), goes through {@link #chooseLinear}, which looks at
 * every offer; both give the same plan.
 */
public final class Selection {
    private final JobSpec spec;
    private final Reputation reputation;
    private final ProviderLoad load;
    private final int banAfter;
    private final Shape shape;

    /**
     * @param spec       the job
     * @param reputation the client's provider book
     * @param load       attempts in flight per provider
     * @param banAfter   disputes after which a provider is not used; 0 never bans
     * @throws InvalidArgumentException on a null argument or a negative {@code banAfter}
     */
    public Selection(JobSpec spec, Reputation reputation, ProviderLoad load, int banAfter) {
        this(spec, null, reputation, load, banAfter);
    }

    /**
     * @param spec       the job
     * @param sla        the least SLA an offer must sign ({@link dev.depin.job.Job#slaRequirement()}),
     *                   or null for any offer
     * @param reputation the client's provider book
     * @param load       attempts in flight per provider
     * @param banAfter   disputes after which a provider is not used; 0 never bans
     * @throws InvalidArgumentException on a null argument other than {@code sla} or a negative {@code banAfter}
     */
    public Selection(JobSpec spec, SlaRequirement sla, Reputation reputation, ProviderLoad load, int banAfter) {
        InvalidArgumentException.requireNonNull(spec, "job spec");
        InvalidArgumentException.requireNonNull(reputation, "reputation");
        InvalidArgumentException.requireNonNull(load, "provider load");
        if (banAfter < 0) {
            throw new InvalidArgumentException("ban after " + banAfter + " disputes: give 0 (never) or more");
        }
        this.spec = spec;
        this.reputation = reputation;
        this.load = load;
        this.banAfter = banAfter;
        this.shape = new Shape(spec, sla);
    }

    /**
     * The round's plan: {@code wanted} distinct providers whose estimated costs together
     * fit the job's cap, or why there is none.
     *
     * @param chosen the providers, best first, or empty
     * @param why    why fewer than wanted fit, or null
     */
    public record Plan(List<ProviderOffer> chosen, String why) {
    }

    /**
     * Plans a round.
     *
     * @param usable     verified, unexpired offers, best from {@link OfferBook#usable}
     * @param tried      providers already tried for this job
     * @param wanted     providers needed this round
     * @param passedOver receives why each other offer was passed over whenever the plan is
     *                   empty; when a plan is found it may be left as it was
     * @return the plan
     * @throws InvalidArgumentException on a null argument
     */
    public Plan choose(List<ProviderOffer> usable, Set<NodeId> tried, int wanted, List<String> passedOver) {
        return choose(usable, tried, wanted, passedOver, Map.of());
    }

    /**
     * Plans a round, preferring within a load tier the providers that hold the most of the
     * job's input bytes.
     *
     * @param usable     verified, unexpired offers, best from {@link OfferBook#usable}
     * @param tried      providers already tried for this job
     * @param wanted     providers needed this round
     * @param passedOver receives why each other offer was passed over whenever the plan is
     *                   empty; when a plan is found it may be left as it was
     * @param held       the job's input bytes each provider holds (absent: none)
     * @return the plan
     * @throws InvalidArgumentException on a null argument
     */
    public Plan choose(List<ProviderOffer> usable, Set<NodeId> tried, int wanted, List<String> passedOver,
                       Map<NodeId, Long> held) {
        InvalidArgumentException.requireNonNull(usable, "usable offers");
        InvalidArgumentException.requireNonNull(tried, "tried providers");
        InvalidArgumentException.requireNonNull(passedOver, "passed-over list");
        InvalidArgumentException.requireNonNull(held, "held input bytes");
        if (usable instanceof OfferSnapshot.Usable u && wanted >= 1) {
            Plan plan = chooseIndexed(u, tried, wanted);
            if (plan != null && !held.isEmpty()) {
                plan = preferHolders(plan, usable, tried, wanted, held);
            }
            if (plan != null) {
                return plan;
            }
        }
        return chooseLinear(usable, tried, wanted, passedOver, held);
    }

    /**
     * A one-provider plan re-ranked with the holders that fit: the best of the plan's offer and
     * the holders by (load tier, held bytes, the plain order), which is the linear ranking's
     * first (a holder only moves up; the best non-holder is the plan's offer or ranks below
     * it). Null for a redundant round: there a pick over the cap falls back to the cheapest
     * offers without regard to tier or holdings, and which of the two the index gave is not
     * known here, so the caller plans offer by offer (rounds with several replicas and kept
     * inputs are rare; the linear plan is the reference).
     */
    private Plan preferHolders(Plan plain, List<ProviderOffer> usable, Set<NodeId> tried, int wanted,
                               Map<NodeId, Long> held) {
        if (wanted != 1) {
            return null;
        }
        ProviderOffer best = plain.chosen().get(0);
        Comparator<ProviderOffer> ranking = ranking(held);
        for (ProviderOffer o : usable) {
            if (held.containsKey(o.nodeId()) && ranking.compare(o, best) < 0 && mismatch(o, tried) == null) {
                best = o;
            }
        }
        return best == plain.chosen().get(0) ? plain : new Plan(List.of(best), null);
    }

    private Comparator<ProviderOffer> byCost() {
        return Comparator.comparingDouble(shape::exactEstimate)
                .thenComparing(o -> -reputation.score(o.nodeId())).thenComparing(ProviderOffer::nodeId);
    }

    private Comparator<ProviderOffer> ranking(Map<NodeId, Long> held) {
        Comparator<ProviderOffer> tier = Comparator.comparingInt((ProviderOffer o) -> load.tier(o.nodeId()));
        if (!held.isEmpty()) {
            tier = tier.thenComparing(o -> -held.getOrDefault(o.nodeId(), 0L));
        }
        return tier.thenComparing(byCost());
    }

    /**
     * Plans a round by looking at every offer: filter, then sort what fits. The
     * straightforward version, used for lists that do not come from an {@link OfferBook} and
     * for rounds without a plan, and kept as the reference for tests and the baseline for
     * benchmarks.
     *
     * @param usable     verified, unexpired offers
     * @param tried      providers already tried for this job
     * @param wanted     providers needed this round
     * @param passedOver receives why each other offer was passed over
     * @return the plan
     * @throws InvalidArgumentException on a null argument
     */
    public Plan chooseLinear(List<ProviderOffer> usable, Set<NodeId> tried, int wanted, List<String> passedOver) {
        return chooseLinear(usable, tried, wanted, passedOver, Map.of());
    }

    /**
     * As {@link #chooseLinear(List, Set, int, List)}, ranking within a load tier by the job's
     * input bytes each provider holds, most first.
     *
     * @param usable     verified, unexpired offers
     * @param tried      providers already tried for this job
     * @param wanted     providers needed this round
     * @param passedOver receives why each other offer was passed over
     * @param held       the job's input bytes each provider holds (absent: none)
     * @return the plan
     * @throws InvalidArgumentException on a null argument
     */
    public Plan chooseLinear(List<ProviderOffer> usable, Set<NodeId> tried, int wanted, List<String> passedOver,
                             Map<NodeId, Long> held) {
        InvalidArgumentException.requireNonNull(held, "held input bytes");
        InvalidArgumentException.requireNonNull(usable, "usable offers");
        InvalidArgumentException.requireNonNull(tried, "tried providers");
        InvalidArgumentException.requireNonNull(passedOver, "passed-over list");
        List<ProviderOffer> fit = new ArrayList<>();
        for (ProviderOffer o : usable) {
            String mismatch = mismatch(o, tried);
            if (mismatch != null) {
                passedOver.add(o.nodeId().shortId() + " " + mismatch);
            } else {
                fit.add(o);
            }
        }
        Comparator<ProviderOffer> byCost = byCost();
        List<ProviderOffer> ranked = fit.stream().sorted(ranking(held)).toList();
        if (ranked.size() < wanted) {
            return new Plan(List.of(), null);
        }
        List<ProviderOffer> pick = ranked.subList(0, wanted);
        if (wanted > 1 && total(pick) > spec.maxPrice().micros()) {
            // Load spreading must not push a redundant round over the cap: take the cheapest instead.
            pick = fit.stream().sorted(byCost).limit(wanted).toList();
            long total = total(pick);
            if (total > spec.maxPrice().micros()) {
                return new Plan(List.of(), "the " + wanted + " cheapest fitting providers are estimated at "
                        + MicroUsd.ofMicros(total) + " together, above the job's max " + spec.maxPrice()
                        + " (which covers every replica)");
            }
        }
        return new Plan(List.copyOf(pick), null);
    }

    /**
     * The plan from the snapshot's ranking for this job's shape, or null when there is none
     * (the caller then plans offer by offer, which also gives every offer's reason).
     */
    private Plan chooseIndexed(OfferSnapshot.Usable usable, Set<NodeId> tried, int wanted) {
        RankIndex idx = usable.snapshot().index(shape);
        if (idx == RankIndex.UNUSABLE) {
            return null;
        }
        int[] best = new int[wanted];
        int found = walk(idx, usable.epoch(), tried, wanted, true, best);
        if (found < wanted) {
            return null;
        }
        if (wanted > 1 && total(idx, best) > spec.maxPrice().micros()) {
            // As in chooseLinear: the cheapest instead, or no plan if even they are over the cap.
            walk(idx, usable.epoch(), tried, wanted, false, best);
            if (total(idx, best) > spec.maxPrice().micros()) {
                return null;
            }
        }
        ProviderOffer[] chosen = new ProviderOffer[wanted];
        for (int i = 0; i < wanted; i++) {
            chosen[i] = idx.offer[best[i]];
        }
        return new Plan(List.of(chosen), null);
    }

    /**
     * Finds the best {@code wanted} offers of the index that fit now, by (load tier if
     * {@code byTier}, exact estimate, higher reputation, node id), best first, into
     * {@code best}. The index is sorted by (exact estimate, node id), so its positions order
     * node ids within an estimate, and once {@code wanted} offers of tier 0 are found, an
     * offer with a higher estimate ends the walk.
     *
     * @return how many were found, at most {@code wanted}
     */
    private int walk(RankIndex idx, int epoch, Set<NodeId> tried, int wanted, boolean byTier, int[] best) {
        int[] tiers = new int[wanted];
        double[] scores = new double[wanted];
        double minReputation = spec.requirements().minReputation();
        long maxMicros = spec.maxPrice().micros();
        int found = 0;
        for (int i = 0; i < idx.size; i++) {
            if (found == wanted && tiers[wanted - 1] == 0
                    && Double.compare(idx.exact[i], idx.exact[best[wanted - 1]]) > 0) {
                break;
            }
            if (idx.rank[i] < epoch || idx.micros[i] > maxMicros) {
                continue; // expired since the snapshot was taken, or above the cap
            }
            NodeId id = idx.node[i];
            if (tried.contains(id)) {
                continue;
            }
            AtomicLongArray counts = reputation.find(id);
            if (banAfter > 0 && Reputation.disputes(counts) >= banAfter) {
                continue;
            }
            double score = Reputation.score(counts);
            if (score < minReputation) {
                continue;
            }
            int tier = byTier ? load.tier(id) : 0;
            // Insert into the sorted best list if it ranks above the last of them.
            int at = found;
            while (at > 0 && before(idx, tier, score, i, tiers[at - 1], scores[at - 1], best[at - 1])) {
                at--;
            }
            if (at >= wanted) {
                continue;
            }
            int last = Math.min(found, wanted - 1);
            System.arraycopy(best, at, best, at + 1, last - at);
            System.arraycopy(tiers, at, tiers, at + 1, last - at);
            System.arraycopy(scores, at, scores, at + 1, last - at);
            best[at] = i;
            tiers[at] = tier;
            scores[at] = score;
            found = Math.min(found + 1, wanted);
        }
        return found;
    }

    /** Whether index position {@code i} ranks before position {@code j}, as chooseLinear's comparator says. */
    private static boolean before(RankIndex idx, int tierI, double scoreI, int i, int tierJ, double scoreJ, int j) {
        if (tierI != tierJ) {
            return tierI < tierJ;
        }
        int c = Double.compare(idx.exact[i], idx.exact[j]);
        if (c != 0) {
            return c < 0;
        }
        c = Double.compare(-scoreI, -scoreJ);
        return c != 0 ? c < 0 : i < j;
    }

    private static long total(RankIndex idx, int[] best) {
        long sum = 0;
        for (int i : best) {
            sum = sum + idx.micros[i];
            if (sum < 0) {
                return Long.MAX_VALUE;
            }
        }
        return sum;
    }

    private long total(List<ProviderOffer> offers) {
        long sum = 0;
        for (ProviderOffer o : offers) {
            sum = sum + estimate(o).micros();
            if (sum < 0) {
                return Long.MAX_VALUE;
            }
        }
        return sum;
    }

    private String mismatch(ProviderOffer o, Set<NodeId> tried) {
        if (!o.terms().runs(spec.kernel())) {
            return "does not run " + spec.kernel().id();
        }
        String tooLarge = shape.tooLarge(o);
        if (tooLarge != null) {
            return tooLarge;
        }
        if (tried.contains(o.nodeId())) {
            return "already tried for this job";
        }
        long disputes = reputation.counts(o.nodeId())[2];
        if (banAfter > 0 && disputes >= banAfter) {
            return "banned after " + disputes + " dispute(s)";
        }
        String req = spec.requirements().mismatch(o);
        if (req != null) {
            return req;
        }
        String sla = shape.slaMismatch(o);
        if (sla != null) {
            return sla;
        }
        double score = reputation.score(o.nodeId());
        if (score < spec.requirements().minReputation()) {
            return String.format("reputation %.2f below %.2f", score, spec.requirements().minReputation());
        }
        MicroUsd est = estimate(o);
        if (est.compareTo(spec.maxPrice()) > 0) {
            return "estimated " + est + " above max " + spec.maxPrice();
        }
        return null;
    }

    /**
     * Estimated charge at this offer, rounded up as the provider would charge it: the
     * kernel's FLOPs at the fastest device's measured rate, plus data moved.
     *
     * @param o an offer
     * @return the estimate
     */
    public MicroUsd estimate(ProviderOffer o) {
        return shape.estimate(o);
    }

    /**
     * What a job contributes to ranking that is the same for every job like it: the kernel
     * the offer must run, the device and region requirements (not the minimum reputation),
     * the SLA the job requires, and the work and data that price the estimate. Jobs of one shape share one
     * {@link RankIndex} per snapshot, whatever their caps and reputation thresholds.
     */
    static final class Shape {
        private final String kernelId;
        private final Requirements requirements;
        private final SlaRequirement sla;
        private final long flops;
        private final long bytesMoved;
        private final long outputBytes;
        private final long jobBytes;
        private final int hash;

        Shape(JobSpec spec, SlaRequirement sla) {
            Requirements r = spec.requirements();
            this.kernelId = spec.kernel().offerId();
            this.requirements = r.minReputation() == 0 ? r
                    : new Requirements(r.minDeviceMemoryBytes(), r.models(), r.regions(), r.deviceKinds(), 0);
            this.sla = sla;
            this.flops = spec.kernel().flops(spec.params());
            this.bytesMoved = spec.bytesMoved();
            long out = 0;
            for (BufferDecl d : spec.outputs()) {
                out = saturatedAdd(out, d.bytes());
            }
            long all = out;
            for (InputRef i : spec.inputs()) {
                all = saturatedAdd(all, i.bytes());
            }
            this.outputBytes = out;
            this.jobBytes = all;
            int h = kernelId.hashCode();
            h = 31 * h + requirements.hashCode();
            h = 31 * h + java.util.Objects.hashCode(sla);
            h = 31 * h + Long.hashCode(flops);
            h = 31 * h + Long.hashCode(outputBytes);
            h = 31 * h + Long.hashCode(jobBytes);
            this.hash = 31 * h + Long.hashCode(bytesMoved);
        }

        private static long saturatedAdd(long a, long b) {
            long r = a + b;
            return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
        }

        /**
         * Why the offer's stated job limits refuse a job of this shape.
         *
         * @param o an offer
         * @return the reason, or {@code null} when the offer states no limits or the job fits
         */
        String tooLarge(ProviderOffer o) {
            JobLimits l = o.terms().limits();
            return l == null ? null : l.refusal(outputBytes, jobBytes);
        }

        /**
         * Why the offer's signed SLA does not meet the job's required one.
         *
         * @param o an offer
         * @return the reason, or {@code null} when the job requires no SLA or the offer's meets it
         */
        String slaMismatch(ProviderOffer o) {
            return sla == null ? null : sla.mismatch(o, flops);
        }

        /** @return the requirements, with no minimum reputation */
        Requirements requirements() {
            return requirements;
        }

        /** As {@link OfferTerms#runs}. */
        boolean runs(ProviderOffer o) {
            return o.terms().kernels().contains(kernelId);
        }

        MicroUsd estimate(ProviderOffer o) {
            return o.terms().price().charge((long) Math.ceil(Math.min(Long.MAX_VALUE / 2.0, nanos(o))), bytesMoved);
        }

        /** The same estimate without rounding, in micro-USD, so that cheap jobs still rank by price. */
        double exactEstimate(ProviderOffer o) {
            return (o.terms().price().perDeviceSecond().micros() * nanos(o)
                    + o.terms().price().perGigabyte().micros() * (double) bytesMoved) / 1e9;
        }

        /** Device time at the offer's fastest measured rate, unrounded: a tiny job still ranks by price. */
        private double nanos(ProviderOffer o) {
            double gflops = o.devices().stream().mapToDouble(DeviceInfo::fp32Gflops).max().orElse(1);
            return flops / gflops;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Shape s && hash == s.hash && flops == s.flops && bytesMoved == s.bytesMoved
                    && outputBytes == s.outputBytes && jobBytes == s.jobBytes && kernelId.equals(s.kernelId) && requirements.equals(s.requirements)
                    && java.util.Objects.equals(sla, s.sla);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
