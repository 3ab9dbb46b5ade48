package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Attempts this client has in flight at each provider. The scheduler ranks providers by
 * load tier before price, so a burst of jobs spreads over the providers instead of
 * queueing behind the single cheapest one.
 */
public final class ProviderLoad {
    private final ConcurrentHashMap<NodeId, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final int limit;

    /** @param limit attempts in flight per provider before it counts as saturated */
    public ProviderLoad(int limit) {
        this.limit = limit;
    }

    /** Counts one more attempt at {@code node}. */
    public void begin(NodeId node) {
        inFlight.computeIfAbsent(node, n -> new AtomicInteger()).incrementAndGet();
    }

    /** Counts one attempt at {@code node} as finished. */
    public void end(NodeId node) {
        AtomicInteger c = inFlight.get(node);
        if (c != null) {
            c.decrementAndGet();
        }
    }

    /**
     * The load tier of {@code node}: attempts in flight divided by the limit. Offers are
     * ranked by tier first, so the cheapest provider takes up to {@code limit} attempts,
     * then the next cheapest, and once all are full the cheapest takes the next
     * {@code limit}, and so on.
     */
    public int tier(NodeId node) {
        return inFlight(node) / limit;
    }

    /** @return attempts in flight at {@code node} */
    public int inFlight(NodeId node) {
        AtomicInteger c = inFlight.get(node);
        return c == null ? 0 : c.get();
    }
}
