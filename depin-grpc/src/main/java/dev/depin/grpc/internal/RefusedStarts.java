package dev.depin.grpc.internal;

import dev.depin.crypto.NodePublicKey;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Peers whose Start messages the node keeps refusing. A Start that declares a job the node
 * never takes (inputs past the per-peer limit, outputs or memory past the offer's, an unknown
 * kernel, a malformed spec, no valid hold certificate where one is required) is refused after
 * its spec was parsed and checked; a peer that sends {@link #MAX_REFUSED} of them within one
 * {@link #WINDOW_NANOS} window has its further Execute streams refused when they open, before a
 * message is read, until the window ends. Transient refusals (the peer's stream, job or byte
 * share in use, the node busy) are not counted: an honest buyer meets those under load.
 *
 * <p>At most {@link #MAX_PEERS} peers are remembered, least recently refused forgotten first, so
 * fresh keys leave at most that much behind (a fresh key costs its sender a TLS handshake).
 */
final class RefusedStarts {
    /** Refused Starts one peer may send per window before its streams are refused at opening. */
    static final int MAX_REFUSED = 32;
    /** The window, 10 s. */
    static final long WINDOW_NANOS = 10_000_000_000L;
    /** Peers remembered at most. */
    static final int MAX_PEERS = 4096;

    private final Map<NodePublicKey, long[]> peers = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodePublicKey, long[]> eldest) {
            return size() > MAX_PEERS;
        }
    };

    /** Counts a refused Start of the peer. */
    synchronized void refused(NodePublicKey peer, long nowNanos) {
        long[] w = peers.get(peer); // {window start, refusals in it}
        if (w == null || nowNanos - w[0] >= WINDOW_NANOS) {
            peers.put(peer, new long[] {nowNanos, 1});
        } else {
            w[1]++;
        }
    }

    /**
     * @return null when the peer may open a stream, else why not (the refused Starts in the
     *         current window and when it ends)
     */
    synchronized String check(NodePublicKey peer, long nowNanos) {
        long[] w = peers.get(peer);
        if (w == null || w[1] < MAX_REFUSED) {
            return null;
        }
        long left = w[0] + WINDOW_NANOS - nowNanos;
        if (left <= 0) {
            peers.remove(peer);
            return null;
        }
        return "peer " + peer.nodeId().shortId() + " sent " + w[1] + " Start messages this node refused in the last "
                + WINDOW_NANOS / 1_000_000_000L + " s (jobs it never takes, or malformed): its Execute streams are "
                + "refused for " + (left + 999_999) / 1_000_000 + " ms more; fix the job before sending it again";
    }

    /** @return peers remembered now */
    synchronized int size() {
        return peers.size();
    }
}
