package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import dev.depin.provider.ProviderOffer;
import java.util.Arrays;

/**
 * The offers of one {@link OfferSnapshot} that fit one job shape ({@link Selection.Shape}:
 * kernel, device and region requirements, the SLA the job requires, and the job's size within
 * the offer's stated limits),
 * sorted by exact estimated cost and then node id, with what ranking needs in flat arrays. What
 * changes from job to job (the price cap, tried providers, reputation, bans, load, expiry) is left
 * to {@link Selection}, which walks this order from the cheapest and stops as soon as nothing
 * further can rank higher.
 */
final class RankIndex {
    /** The shape's estimates cannot all be computed (an overflowing price): rank offer by offer instead. */
    static final RankIndex UNUSABLE = new RankIndex(new int[0], new ProviderOffer[0], new double[0], new long[0]);

    final int size;
    final ProviderOffer[] offer;
    final NodeId[] node;
    final double[] exact;
    final long[] micros;
    /** Expiry rank per offer, as in {@link OfferSnapshot#liveRank()}. */
    final int[] rank;

    private RankIndex(int[] rank, ProviderOffer[] offer, double[] exact, long[] micros) {
        this.size = offer.length;
        this.offer = offer;
        this.rank = rank;
        this.exact = exact;
        this.micros = micros;
        this.node = new NodeId[size];
        for (int i = 0; i < size; i++) {
            node[i] = offer[i].nodeId();
        }
    }

    static RankIndex build(OfferSnapshot snapshot, Selection.Shape shape) {
        ProviderOffer[] live = snapshot.live();
        int[] liveRank = snapshot.liveRank();
        int n = 0;
        int[] fit = new int[live.length];
        double[] allExact = new double[live.length];
        long[] allMicros = new long[live.length];
        for (int i = 0; i < live.length; i++) {
            ProviderOffer o = live[i];
            if (!shape.runs(o) || shape.tooLarge(o) != null || shape.requirements().mismatch(o) != null
                    || shape.slaMismatch(o) != null) {
                continue;
            }
            long est;
            try {
                est = shape.estimate(o).micros();
            } catch (RuntimeException e) {
                return UNUSABLE; // the offer-by-offer path throws the same where it gets that far
            }
            allExact[i] = shape.exactEstimate(o);
            allMicros[i] = est;
            fit[n++] = i;
        }
        Integer[] order = new Integer[n];
        for (int j = 0; j < n; j++) {
            order[j] = fit[j];
        }
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(allExact[a], allExact[b]);
            return c != 0 ? c : live[a].nodeId().compareTo(live[b].nodeId());
        });
        int[] rank = new int[n];
        ProviderOffer[] offer = new ProviderOffer[n];
        double[] exact = new double[n];
        long[] micros = new long[n];
        for (int j = 0; j < n; j++) {
            int i = order[j];
            rank[j] = liveRank[i];
            offer[j] = live[i];
            exact[j] = allExact[i];
            micros[j] = allMicros[i];
        }
        return new RankIndex(rank, offer, exact, micros);
    }
}
