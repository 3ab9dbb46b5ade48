package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Attempts this client has in flight at each provider, and the results it has received and
 * not yet begun to verify. The scheduler ranks providers by load tier before price, so a burst
 * of jobs spreads over the providers instead of queueing behind the single cheapest one; the
 * queued results go with each request ({@code ExecutionRequest.resultsQueued}), so a provider
 * batches the signatures of a buyer that is behind and signs at once for one that is not.
 */
public final class ProviderLoad {
    private final ConcurrentHashMap<NodeId, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final int limit;
    private final AtomicInteger resultsQueued = new AtomicInteger();

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

    /** Counts one more received result waiting for the client's verifier. */
    public void resultQueued() {
        resultsQueued.incrementAndGet();
    }

    /** Counts one queued result as taken by the verifier (or dropped because the client closed). */
    public void resultTaken() {
        resultsQueued.decrementAndGet();
    }

    /** @return received results waiting for the client's verifier now */
    public int resultsQueued() {
        return Math.max(0, resultsQueued.get());
    }
}
