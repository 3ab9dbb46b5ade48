package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import dev.depin.provider.ProviderOffer;
import java.time.Instant;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.RandomAccess;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One offer list as {@link OfferBook} saw it at {@link #builtAt()}: which offers were usable
 * then, and the time at which each of them (and each badly signed one) expires. Because
 * signatures do not change and expiry is only a comparison with the clock, the answer of
 * {@link OfferBook#usableLinear} for any later time follows from it without looking at the
 * offers again: the offers whose expiry has passed drop out. The answers are grouped into
 * epochs (how many of the expiry times have passed), and the answer of the current epoch is
 * kept.
 *
 * <p>It also keeps, per job shape ({@link Selection.Shape}), the {@link RankIndex} of its
 * usable offers, so that jobs of the same shape rank these offers once.
 */
final class OfferSnapshot {
    /** Rankings kept per snapshot, and offers in them all: past either, they are all dropped. */
    static final int MAX_INDEXES = 64;
    static final int MAX_INDEXED = 1 << 20;
    private static final byte NULL = 0;
    private static final byte EXPIRED = 1;
    private static final byte INVALID = 2;
    private static final byte LIVE = 3;

    private final ProviderOffer[] source;
    private final Instant builtAt;
    /** Offers usable at {@link #builtAt}, in list order. */
    private final ProviderOffer[] live;
    /** Per live offer: its rank by expiry; it is expired in every epoch above its rank. */
    private final int[] liveRank;
    /** Every position of the list that gives a message or a usable offer, in list order. */
    private final byte[] kind;
    private final ProviderOffer[] notedOffer;
    private final String[] notedWhy;
    private final int[] notedRank;
    /** Expiry times of the live and badly signed offers, ascending. */
    private final Instant[] expiries;
    private final Map<Selection.Shape, RankIndex> indexes = new ConcurrentHashMap<>();
    private final AtomicInteger indexed = new AtomicInteger();
    private volatile Usable current;

    private OfferSnapshot(ProviderOffer[] source, Instant builtAt, ProviderOffer[] live, int[] liveRank, byte[] kind,
                          ProviderOffer[] notedOffer, String[] notedWhy, int[] notedRank, Instant[] expiries) {
        this.source = source;
        this.builtAt = builtAt;
        this.live = live;
        this.liveRank = liveRank;
        this.kind = kind;
        this.notedOffer = notedOffer;
        this.notedWhy = notedWhy;
        this.notedRank = notedRank;
        this.expiries = expiries;
    }

    /**
     * Looks at each offer as {@link OfferBook#usableLinear} does at {@code now}.
     *
     * @param offers the list
     * @param now    the time
     * @param book   the book whose verification cache checks signatures
     * @return the snapshot
     */
    static OfferSnapshot build(List<ProviderOffer> offers, Instant now, OfferBook book) {
        ProviderOffer[] source = offers.toArray(new ProviderOffer[0]);
        int n = source.length;
        byte[] kind = new byte[n];
        ProviderOffer[] notedOffer = new ProviderOffer[n];
        String[] notedWhy = new String[n];
        int noted = 0;
        int timed = 0;
        Set<NodeId> seen = new HashSet<>();
        for (ProviderOffer o : source) {
            if (o == null) {
                kind[noted++] = NULL;
                continue;
            }
            if (!seen.add(o.nodeId())) {
                continue;
            }
            notedOffer[noted] = o;
            if (!now.isBefore(o.terms().validUntil())) {
                kind[noted++] = EXPIRED;
                continue;
            }
            String invalid = book.check(o, now);
            notedWhy[noted] = invalid;
            kind[noted++] = invalid == null ? LIVE : INVALID;
            timed++;
        }
        // Rank the offers that expire later by their expiry time.
        Integer[] order = new Integer[timed];
        int[] timedAt = new int[timed];
        for (int i = 0, t = 0; i < noted; i++) {
            if (kind[i] == LIVE || kind[i] == INVALID) {
                order[t] = t;
                timedAt[t++] = i;
            }
        }
        Arrays.sort(order, (a, b) -> notedOffer[timedAt[a]].terms().validUntil()
                .compareTo(notedOffer[timedAt[b]].terms().validUntil()));
        int[] notedRank = new int[noted];
        Instant[] expiries = new Instant[timed];
        for (int r = 0; r < timed; r++) {
            int i = timedAt[order[r]];
            notedRank[i] = r;
            expiries[r] = notedOffer[i].terms().validUntil();
        }
        int liveCount = 0;
        for (int i = 0; i < noted; i++) {
            liveCount += kind[i] == LIVE ? 1 : 0;
        }
        ProviderOffer[] live = new ProviderOffer[liveCount];
        int[] liveRank = new int[liveCount];
        for (int i = 0, l = 0; i < noted; i++) {
            if (kind[i] == LIVE) {
                live[l] = notedOffer[i];
                liveRank[l++] = notedRank[i];
            }
        }
        return new OfferSnapshot(source, now, live, liveRank, Arrays.copyOf(kind, noted),
                Arrays.copyOf(notedOffer, noted), Arrays.copyOf(notedWhy, noted), notedRank, expiries);
    }

    /** @return when the offers were looked at; the snapshot answers for this time and later */
    Instant builtAt() {
        return builtAt;
    }

    /** @return whether {@code offers} holds the same offer objects in the same order */
    boolean sameOffers(List<ProviderOffer> offers) {
        if (offers.size() != source.length) {
            return false;
        }
        int i = 0;
        for (ProviderOffer o : offers) {
            if (i >= source.length || o != source[i++]) {
                return false;
            }
        }
        return i == source.length;
    }

    /**
     * The usable offers at {@code now} (not before {@link #builtAt()}), adding the reasons for
     * the others to {@code passedOver}.
     */
    Usable view(Instant now, List<String> passedOver) {
        int epoch = epoch(now);
        Usable v = current;
        if (v == null || v.epoch != epoch) {
            v = computeView(epoch);
            current = v;
        }
        if (!v.dropped.isEmpty()) {
            passedOver.addAll(v.dropped);
        }
        return v;
    }

    /** How many expiry times have passed at {@code now}. */
    private int epoch(Instant now) {
        int lo = 0;
        int hi = expiries.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (now.isBefore(expiries[mid])) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    private Usable computeView(int epoch) {
        List<String> dropped = new ArrayList<>();
        List<ProviderOffer> usable = new ArrayList<>(live.length);
        for (int i = 0; i < kind.length; i++) {
            ProviderOffer o = notedOffer[i];
            switch (kind[i]) {
                case NULL -> dropped.add(OfferBook.nullOffer());
                case EXPIRED -> dropped.add(OfferBook.expired(o));
                case INVALID -> dropped.add(notedRank[i] < epoch ? OfferBook.expired(o)
                        : OfferBook.invalid(o, notedWhy[i]));
                default -> {
                    if (notedRank[i] < epoch) {
                        dropped.add(OfferBook.expired(o));
                    } else {
                        usable.add(o);
                    }
                }
            }
        }
        return new Usable(this, epoch, usable.toArray(new ProviderOffer[0]), List.copyOf(dropped));
    }

    /** @return the offers usable at {@link #builtAt()}, in list order (shared: do not modify) */
    ProviderOffer[] live() {
        return live;
    }

    /** @return per live offer, its rank by expiry (shared: do not modify) */
    int[] liveRank() {
        return liveRank;
    }

    /**
     * The ranking of this snapshot's offers for jobs of {@code shape}, made on first use.
     *
     * @param shape the job shape
     * @return the index
     */
    RankIndex index(Selection.Shape shape) {
        RankIndex r = indexes.get(shape);
        if (r == null) {
            r = RankIndex.build(this, shape);
            if (indexes.size() >= MAX_INDEXES || indexed.addAndGet(r.size) > MAX_INDEXED) {
                indexes.clear();
                indexed.set(r.size);
            }
            RankIndex raced = indexes.putIfAbsent(shape, r);
            r = raced != null ? raced : r;
        }
        return r;
    }

    /**
     * What {@link OfferBook#usable} returns: the usable offers of one epoch of a snapshot, as
     * an unmodifiable list that also tells {@link Selection} where it came from.
     */
    static final class Usable extends AbstractList<ProviderOffer> implements RandomAccess {
        private final OfferSnapshot snapshot;
        private final int epoch;
        private final ProviderOffer[] offers;
        private final List<String> dropped;

        private Usable(OfferSnapshot snapshot, int epoch, ProviderOffer[] offers, List<String> dropped) {
            this.snapshot = snapshot;
            this.epoch = epoch;
            this.offers = offers;
            this.dropped = dropped;
        }

        /** @return the snapshot these offers come from */
        OfferSnapshot snapshot() {
            return snapshot;
        }

        /** @return the epoch: a live offer of the snapshot whose rank is below it has expired */
        int epoch() {
            return epoch;
        }

        @Override
        public ProviderOffer get(int index) {
            return offers[index];
        }

        @Override
        public int size() {
            return offers.length;
        }
    }
}
