package dev.depin.client.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.ProviderOffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The client's cache of offers whose signatures it has checked: each distinct offer (by
 * {@link ProviderOffer#digest()}, which covers key, terms and signature) is verified once and
 * trusted until it expires, however many jobs look at it. Bounded: expired entries are purged,
 * and past {@code capacity} the cache is cleared (the next round simply verifies again).
 *
 * <p>On top of that it remembers whole offer lists as {@link OfferSnapshot}s: a network that
 * answers the same query with the same list (the same immutable list object, or a new list of
 * the same offer objects) gets its answer in O(log n) instead of one look-up per offer, and the
 * answer carries the snapshot, whose per-job-shape rankings {@link Selection} reuses. See
 * docs/decisions.md, "Placement among 10,000 cached offers".
 */
public final class OfferBook {
    /** Offer lists remembered (each with its rankings, see {@link OfferSnapshot#MAX_INDEXED}). */
    private static final int SNAPSHOTS = 8;
    private static final Class<?> IMMUTABLE_SMALL = List.of(0).getClass();
    private static final Class<?> IMMUTABLE_N = List.of(0, 1, 2).getClass();
    private static final Class<?> IMMUTABLE_STREAM = java.util.stream.Stream.of(0, 1, 2).toList().getClass();

    private final Map<String, Entry> verified = new ConcurrentHashMap<>();
    /** The offer object last verified per node: a network that hands out the same object skips even the digest. */
    private final Map<NodeId, ProviderOffer> lastSeen = new ConcurrentHashMap<>();
    private final int capacity;
    /**
     * The snapshots, a ring: found by the list's identity (immutable lists only, which cannot
     * change), or else by the identities of the offers in it, in order.
     */
    private final AtomicReferenceArray<Slot> snapshots = new AtomicReferenceArray<>(SNAPSHOTS);
    private final AtomicInteger nextSlot = new AtomicInteger();

    private record Entry(Instant validUntil, String invalid) {
    }

    /**
     * A snapshot, the immutable list it was last found by (null for other lists), and the
     * fingerprint of its offers.
     */
    private record Slot(List<ProviderOffer> list, int fingerprint, OfferSnapshot snapshot) {
    }

    /**
     * Creates an empty book.
     *
     * @param capacity distinct offers remembered, &ge; 1
     * @throws InvalidArgumentException if {@code capacity} is below 1
     */
    public OfferBook(int capacity) {
        if (capacity < 1) {
            throw new InvalidArgumentException("offer book capacity is " + capacity + ": give 1 or more");
        }
        this.capacity = capacity;
    }

    /**
     * Splits offers into usable ones (valid signature, not expired at {@code now}) and the
     * reasons the others were dropped. The answer is the one {@link #usableLinear} gives, from
     * a remembered snapshot of the list when there is one.
     *
     * @param offers     what the network returned; not modified
     * @param now        the current time
     * @param passedOver receives "short-id reason" for every dropped offer
     * @return the usable offers, in order, one per node; unmodifiable
     * @throws InvalidArgumentException on a null argument
     */
    public List<ProviderOffer> usable(List<ProviderOffer> offers, Instant now, List<String> passedOver) {
        InvalidArgumentException.requireNonNull(offers, "offers");
        InvalidArgumentException.requireNonNull(now, "time of use");
        InvalidArgumentException.requireNonNull(passedOver, "passed-over list");
        boolean immutable = isImmutable(offers);
        Slot slot = immutable ? byIdentity(offers) : null;
        int fingerprint = 0;
        if (slot == null) {
            fingerprint = fingerprint(offers);
            slot = byContent(offers, fingerprint);
            if (slot != null && immutable) {
                slot = remember(new Slot(offers, fingerprint, slot.snapshot()), slot);
            }
        }
        if (slot == null || now.isBefore(slot.snapshot().builtAt())) {
            // A new list, or the clock went back past the snapshot: look at each offer once more.
            if (slot != null) {
                fingerprint = slot.fingerprint();
            }
            Slot fresh = new Slot(immutable ? offers : null, fingerprint, OfferSnapshot.build(offers, now, this));
            slot = remember(fresh, slot);
        }
        OfferSnapshot s = slot.snapshot();
        return s.view(now, passedOver);
    }

    /**
     * The same split as {@link #usable}, done offer by offer with no snapshot: the
     * straightforward version, kept as the reference for tests and the baseline for
     * benchmarks. It shares this book's verification cache.
     *
     * @param offers     what the network returned
     * @param now        the current time
     * @param passedOver receives "short-id reason" for every dropped offer
     * @return the usable offers, in order, one per node; a new list
     * @throws InvalidArgumentException on a null argument
     */
    public List<ProviderOffer> usableLinear(List<ProviderOffer> offers, Instant now, List<String> passedOver) {
        InvalidArgumentException.requireNonNull(offers, "offers");
        InvalidArgumentException.requireNonNull(now, "time of use");
        InvalidArgumentException.requireNonNull(passedOver, "passed-over list");
        List<ProviderOffer> out = new ArrayList<>(offers.size());
        Set<NodeId> seen = new HashSet<>();
        for (ProviderOffer o : offers) {
            if (o == null) {
                passedOver.add(nullOffer());
                continue;
            }
            if (!seen.add(o.nodeId())) {
                continue;
            }
            if (!now.isBefore(o.terms().validUntil())) {
                passedOver.add(expired(o));
                continue;
            }
            String invalid = check(o, now);
            if (invalid != null) {
                passedOver.add(invalid(o, invalid));
            } else {
                out.add(o);
            }
        }
        return out;
    }

    /** @return distinct offers remembered now */
    public int size() {
        return verified.size();
    }

    /**
     * Checks the signature of an unexpired offer once per distinct offer.
     *
     * @return why the offer is invalid, or null if it is valid
     */
    String check(ProviderOffer o, Instant now) {
        ProviderOffer last = lastSeen.get(o.nodeId());
        if (last == o || last != null && last.equals(o) && last.publicKey().equals(o.publicKey())) {
            // This very object, or one with the same key, terms and signature (a refreshed
            // directory answer), verified before; both are immutable. Cheaper than the digest.
            return null;
        }
        String key = o.digest();
        Entry e = verified.get(key);
        if (e == null) {
            String invalid = null;
            try {
                o.verify(now);
            } catch (InvalidOfferException ex) {
                invalid = ex.getMessage();
            }
            e = new Entry(o.terms().validUntil(), invalid);
            if (verified.size() >= capacity) {
                purge(now);
            }
            verified.put(key, e);
        }
        if (e.invalid() == null && lastSeen.size() < capacity) {
            lastSeen.put(o.nodeId(), o);
        }
        return e.invalid();
    }

    static String nullOffer() {
        return "(null offer from the network)";
    }

    static String expired(ProviderOffer o) {
        return o.nodeId().shortId() + " offer expired at " + o.terms().validUntil();
    }

    static String invalid(ProviderOffer o, String why) {
        return o.nodeId().shortId() + " invalid offer: " + why;
    }

    private Slot byIdentity(List<ProviderOffer> offers) {
        for (int i = 0; i < SNAPSHOTS; i++) {
            Slot slot = snapshots.get(i);
            if (slot != null && slot.list() == offers) {
                return slot;
            }
        }
        return null;
    }

    private Slot byContent(List<ProviderOffer> offers, int fingerprint) {
        for (int i = 0; i < SNAPSHOTS; i++) {
            Slot slot = snapshots.get(i);
            if (slot != null && slot.fingerprint() == fingerprint && slot.snapshot().sameOffers(offers)) {
                return slot;
            }
        }
        return null;
    }

    /** Puts {@code slot} where {@code old} was, or else in place of the oldest slot. */
    private Slot remember(Slot slot, Slot old) {
        if (old != null) {
            for (int i = 0; i < SNAPSHOTS; i++) {
                if (snapshots.compareAndSet(i, old, slot)) {
                    return slot;
                }
            }
        }
        snapshots.set(Math.floorMod(nextSlot.getAndIncrement(), SNAPSHOTS), slot);
        return slot;
    }

    /** Lists that can never change: only these are remembered by identity. */
    private static boolean isImmutable(List<?> list) {
        Class<?> c = list.getClass();
        return c == IMMUTABLE_SMALL || c == IMMUTABLE_N || c == IMMUTABLE_STREAM;
    }

    /** A hash of the offers' identities, in order. */
    private static int fingerprint(List<ProviderOffer> offers) {
        int h = offers.size();
        for (ProviderOffer o : offers) {
            h = 31 * h + System.identityHashCode(o);
        }
        return h;
    }

    private void purge(Instant now) {
        for (Iterator<Entry> it = verified.values().iterator(); it.hasNext(); ) {
            if (!now.isBefore(it.next().validUntil())) {
                it.remove();
            }
        }
        if (verified.size() >= capacity) {
            verified.clear();
            lastSeen.clear();
        }
    }
}
