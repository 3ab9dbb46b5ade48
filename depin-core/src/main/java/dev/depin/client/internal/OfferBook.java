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
    private static final int IDENTITY_SLOTS = 16;
    private static final int CONTENT_SNAPSHOTS = 64;
    private static final Class<?> IMMUTABLE_SMALL = List.of(0).getClass();
    private static final Class<?> IMMUTABLE_N = List.of(0, 1, 2).getClass();
    private static final Class<?> IMMUTABLE_STREAM = java.util.stream.Stream.of(0, 1, 2).toList().getClass();

    private final Map<String, Entry> verified = new ConcurrentHashMap<>();
    /** The offer object last verified per node: a network that hands out the same object skips even the digest. */
    private final Map<NodeId, ProviderOffer> lastSeen = new ConcurrentHashMap<>();
    private final int capacity;
    /** Snapshots of immutable lists, by the list's identity: a ring, checked with ==. */
    private final AtomicReferenceArray<Slot> byIdentity = new AtomicReferenceArray<>(IDENTITY_SLOTS);
    private final AtomicInteger nextSlot = new AtomicInteger();
    /** Snapshots by content (the identities of the offers, in order), for lists built anew per query. */
    private final Map<Integer, OfferSnapshot> byContent = new ConcurrentHashMap<>();

    private record Entry(Instant validUntil, String invalid) {
    }

    /** An immutable list and its snapshot; compared by the list's identity. */
    private record Slot(List<ProviderOffer> list, OfferSnapshot snapshot) {
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
        OfferSnapshot s = immutable ? byIdentity(offers) : null;
        boolean remembered = s != null;
        int content = 0;
        if (s == null) {
            content = fingerprint(offers);
            s = byContent.get(content);
            if (s != null && !s.sameOffers(offers)) {
                s = null;
            }
        }
        if (s == null || now.isBefore(s.builtAt())) {
            // A new list, or the clock went back past the snapshot: look at each offer once more.
            s = snapshot(offers, now, remembered ? fingerprint(offers) : content);
            remembered = false;
        }
        if (immutable && !remembered) {
            rememberIdentity(offers, s);
        }
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
        if (lastSeen.get(o.nodeId()) == o) {
            return null; // this very object verified before, and it is immutable
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

    private OfferSnapshot snapshot(List<ProviderOffer> offers, Instant now, int content) {
        OfferSnapshot s = OfferSnapshot.build(offers, now, this);
        if (byContent.size() >= CONTENT_SNAPSHOTS) {
            byContent.clear();
        }
        byContent.put(content, s);
        return s;
    }

    private OfferSnapshot byIdentity(List<ProviderOffer> offers) {
        for (int i = 0; i < IDENTITY_SLOTS; i++) {
            Slot slot = byIdentity.get(i);
            if (slot != null && slot.list() == offers) {
                return slot.snapshot();
            }
        }
        return null;
    }

    private void rememberIdentity(List<ProviderOffer> offers, OfferSnapshot s) {
        Slot slot = new Slot(offers, s);
        for (int i = 0; i < IDENTITY_SLOTS; i++) {
            Slot old = byIdentity.get(i);
            if (old != null && old.list() == offers) {
                byIdentity.set(i, slot);
                return;
            }
        }
        byIdentity.set(Math.floorMod(nextSlot.getAndIncrement(), IDENTITY_SLOTS), slot);
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
