package dev.depin.client.internal;

import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.ProviderOffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The client's cache of offers whose signatures it has checked: each distinct offer (by
 * {@link ProviderOffer#digest()}, which covers key, terms and signature) is verified once and trusted until it expires, however many jobs look at
 * it. Bounded: expired entries are purged, and past {@code capacity} the cache is cleared
 * (the next round simply verifies again).
 */
public final class OfferBook {
    private final Map<String, Entry> verified = new ConcurrentHashMap<>();
    /** The offer object last verified per node: a network that hands out the same object skips even the digest. */
    private final Map<dev.depin.crypto.NodeId, ProviderOffer> lastSeen = new ConcurrentHashMap<>();
    private final int capacity;

    private record Entry(Instant validUntil, String invalid) {
    }

    /** @param capacity distinct offers remembered, &ge; 1 */
    public OfferBook(int capacity) {
        this.capacity = capacity;
    }

    /**
     * Splits offers into usable ones (valid signature, not expired at {@code now}) and the
     * reasons the others were dropped.
     *
     * @param offers     what the network returned
     * @param now        the current time
     * @param passedOver receives "short-id reason" for every dropped offer
     * @return the usable offers, in order, one per node
     */
    public List<ProviderOffer> usable(List<ProviderOffer> offers, Instant now, List<String> passedOver) {
        List<ProviderOffer> out = new ArrayList<>(offers.size());
        java.util.Set<dev.depin.crypto.NodeId> seen = new java.util.HashSet<>();
        for (ProviderOffer o : offers) {
            if (o == null) {
                passedOver.add("(null offer from the network)");
                continue;
            }
            if (!seen.add(o.nodeId())) {
                continue;
            }
            if (!now.isBefore(o.terms().validUntil())) {
                passedOver.add(o.nodeId().shortId() + " offer expired at " + o.terms().validUntil());
                continue;
            }
            if (lastSeen.get(o.nodeId()) == o) {
                out.add(o); // this very object verified before, and it is immutable
                continue;
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
            if (e.invalid() != null) {
                passedOver.add(o.nodeId().shortId() + " invalid offer: " + e.invalid());
            } else {
                if (lastSeen.size() < capacity) {
                    lastSeen.put(o.nodeId(), o);
                }
                out.add(o);
            }
        }
        return out;
    }

    /** @return distinct offers remembered now */
    public int size() {
        return verified.size();
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
