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
 * <p>Keys are free, so the refusals are also counted per remote address ({@link AddressGroup}),
 * over all its keys, in the server's {@link AddressRefusals}: an address that sends
 * {@link AddressLimits#maxRefusedStarts()} of them in one window is refused whole for a while
 * ({@link RefusedAddresses}: its calls before their message is read, its connections and new
 * ones before TLS); a stream that opened just before is refused here.
 *
 * <p>At most {@link #MAX_PEERS} peers are remembered, least recently refused forgotten first,
 * so fresh keys leave at most that much behind (a fresh key costs its sender a TLS handshake).
 */
public final class RefusedStarts {
    /** Refused Starts one peer may send per window before its streams are refused at opening. */
    static final int MAX_REFUSED = 32;
    /** The window, 10 s. */
    public static final long WINDOW_NANOS = 10_000_000_000L;
    /** Peers (and addresses) remembered at most. */
    public static final int MAX_PEERS = 4096;

    /** What the address refusals say was refused. */
    public static final String WHAT = "Start messages this node refused over all its keys (jobs it never takes, or malformed)";

    private final Map<NodePublicKey, long[]> peers = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodePublicKey, long[]> eldest) {
            return size() > MAX_PEERS;
        }
    };
    private final AddressRefusals addresses;

    /** @param addresses the server's per-address refusals, which refused Starts count in */
    RefusedStarts(AddressRefusals addresses) {
        this.addresses = addresses;
    }

    /**
     * Counts a refused Start of the peer and of its address.
     *
     * @param address the peer's {@link AddressGroup}, or null (not counted per address)
     */
    void refused(NodePublicKey peer, String address, long nowNanos) {
        synchronized (this) {
            long[] w = peers.get(peer); // {window start, refusals in it}
            if (w == null || nowNanos - w[0] >= WINDOW_NANOS) {
                peers.put(peer, new long[] {nowNanos, 1});
            } else {
                w[1]++;
            }
        }
        addresses.refused(address);
    }

    /**
     * @param address the peer's {@link AddressGroup}, or null
     * @return null when the peer may open a stream, else why not (the refused Starts in the
     *         current window, of the peer or of its address, and when it ends)
     */
    String check(NodePublicKey peer, String address, long nowNanos) {
        String refused = checkPeer(peer, nowNanos);
        if (refused == null && addresses.refusedFor(address) > 0) {
            refused = addresses.message(address, WHAT);
        }
        return refused;
    }

    private synchronized String checkPeer(NodePublicKey peer, long nowNanos) {
        long left = left(peers, peer, MAX_REFUSED, nowNanos);
        if (left > 0) {
            return "peer " + peer.nodeId().shortId() + " sent " + peers.get(peer)[1] + " Start messages this node "
                    + "refused in the last " + WINDOW_NANOS / 1_000_000_000L + " s (jobs it never takes, or malformed): "
                    + "its Execute streams are refused for " + (left + 999_999) / 1_000_000 + " ms more; fix the job "
                    + "before sending it again";
        }
        return null;
    }

    /** @return nanoseconds the key stays refused (0 or less: not refused; an ended window is forgotten) */
    private static <K> long left(Map<K, long[]> windows, K key, int max, long nowNanos) {
        long[] w = windows.get(key);
        if (w == null || w[1] < max) {
            return 0;
        }
        long left = w[0] + WINDOW_NANOS - nowNanos;
        if (left <= 0) {
            windows.remove(key);
        }
        return left;
    }

    /** @return peers remembered now */
    synchronized int size() {
        return peers.size();
    }
}
