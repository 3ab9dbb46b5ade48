package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import dev.depin.job.JobSpec;
import dev.depin.money.MicroUsd;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.ProviderOffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Picks the providers of one round: filters verified offers by kernel, requirements,
 * reputation, bans and price, ranks them (load tier, then estimated cost, then measured
 * reputation, then node id), and plans the round within the job's price cap, which covers
 * every replica of the round.
 */
public final class Selection {
    private final JobSpec spec;
    private final Reputation reputation;
    private final ProviderLoad load;
    private final int banAfter;

    /**
     * @param spec       the job
     * @param reputation the client's provider book
     * @param load       attempts in flight per provider
     * @param banAfter   disputes after which a provider is not used; 0 never bans
     */
    public Selection(JobSpec spec, Reputation reputation, ProviderLoad load, int banAfter) {
        this.spec = spec;
        this.reputation = reputation;
        this.load = load;
        this.banAfter = banAfter;
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
     * @param usable     verified, unexpired offers
     * @param tried      providers already tried for this job
     * @param wanted     providers needed this round
     * @param passedOver receives why each other offer was passed over
     * @return the plan
     */
    public Plan choose(List<ProviderOffer> usable, Set<NodeId> tried, int wanted, List<String> passedOver) {
        List<ProviderOffer> fit = new ArrayList<>();
        for (ProviderOffer o : usable) {
            String mismatch = mismatch(o, tried);
            if (mismatch != null) {
                passedOver.add(o.nodeId().shortId() + " " + mismatch);
            } else {
                fit.add(o);
            }
        }
        Comparator<ProviderOffer> byCost = Comparator.comparingDouble(this::exactEstimate)
                .thenComparing(o -> -reputation.score(o.nodeId())).thenComparing(ProviderOffer::nodeId);
        List<ProviderOffer> ranked = fit.stream()
                .sorted(Comparator.comparingInt((ProviderOffer o) -> load.tier(o.nodeId())).thenComparing(byCost))
                .toList();
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
        return o.terms().price().charge((long) Math.ceil(Math.min(Long.MAX_VALUE / 2.0, nanos(o))), spec.bytesMoved());
    }

    /** The same estimate without rounding, in micro-USD, so that cheap jobs still rank by price. */
    private double exactEstimate(ProviderOffer o) {
        return (o.terms().price().perDeviceSecond().micros() * nanos(o)
                + o.terms().price().perGigabyte().micros() * (double) spec.bytesMoved()) / 1e9;
    }

    /** Device time at the offer's fastest measured rate, unrounded: a tiny job still ranks by price. */
    private double nanos(ProviderOffer o) {
        double gflops = o.devices().stream().mapToDouble(DeviceInfo::fp32Gflops).max().orElse(1);
        return spec.kernel().flops(spec.params()) / gflops;
    }
}
