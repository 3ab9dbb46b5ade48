package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What this buyer has seen of each provider: verified successes, failures and disputes.
 * The score is a Laplace-smoothed success rate in which a dispute (proven bad output)
 * counts as ten failures: {@code (s + 1) / (s + f + 10·d + 2)}. An unknown provider
 * scores 0.5.
 */
public final class Reputation {
    private static final int SUCCESS = 0;
    private static final int FAILURE = 1;
    private static final int DISPUTE = 2;
    private final ConcurrentHashMap<NodeId, AtomicLongArray> counts = new ConcurrentHashMap<>();

    /** Records a verified success. */
    public void success(NodeId node) {
        counters(node).incrementAndGet(SUCCESS);
    }

    /** Records a failed attempt (error, timeout, rejection). */
    public void failure(NodeId node) {
        counters(node).incrementAndGet(FAILURE);
    }

    /** Records a disputed attempt (verification failed). */
    public void dispute(NodeId node) {
        counters(node).incrementAndGet(DISPUTE);
    }

    /** @return the score in (0, 1) */
    public double score(NodeId node) {
        return score(counts.get(node));
    }

    /** The counters of {@code node}, or null if nothing was recorded: one lookup for a score and a ban check. */
    AtomicLongArray find(NodeId node) {
        return counts.get(node);
    }

    /** The score of counters from {@link #find}; 0.5 for null. */
    static double score(AtomicLongArray c) {
        if (c == null) {
            return 0.5;
        }
        double s = c.get(SUCCESS);
        return (s + 1) / (s + c.get(FAILURE) + 10.0 * c.get(DISPUTE) + 2);
    }

    /** Disputes in counters from {@link #find}; 0 for null. */
    static long disputes(AtomicLongArray c) {
        return c == null ? 0 : c.get(DISPUTE);
    }

    /** @return {successes, failures, disputes} */
    public long[] counts(NodeId node) {
        AtomicLongArray c = counts.get(node);
        return c == null ? new long[3] : new long[] {c.get(SUCCESS), c.get(FAILURE), c.get(DISPUTE)};
    }

    private AtomicLongArray counters(NodeId node) {
        return counts.computeIfAbsent(node, n -> new AtomicLongArray(3));
    }
}
