package dev.depin.grpc.internal;

import dev.depin.crypto.NodePublicKey;

import java.util.HashMap;
import java.util.Map;

/**
 * What each authenticated peer holds on a provider right now (streams, jobs, input bytes)
 * and the input bytes all peers hold together, checked against {@link StreamLimits}. A
 * peer's entry exists only while it holds something, so a stream of fresh keys leaves
 * nothing behind. One lock: every change is a few additions, far cheaper than the 256 KiB
 * chunk copy it accounts for.
 */
final class PeerLedger {
    private final StreamLimits limits;
    private final Map<NodePublicKey, Held> peers = new HashMap<>();
    private long bytes;
    private int streams;

    private static final class Held {
        int streams;
        int jobs;
        long bytes;
    }

    PeerLedger(StreamLimits limits) {
        this.limits = limits;
    }

    /** @return null when the stream is admitted (and counted), else why not */
    synchronized String openStream(NodePublicKey peer) {
        Held h = peers.computeIfAbsent(peer, k -> new Held());
        if (h.streams >= limits.maxStreamsPerPeer()) {
            forgetIfIdle(peer, h);
            return "peer " + peer.nodeId().shortId() + " has " + h.streams + " Execute streams open, this node's "
                    + "limit per peer: finish or cancel some first";
        }
        h.streams++;
        streams++;
        return null;
    }

    synchronized void closeStream(NodePublicKey peer) {
        Held h = peers.get(peer);
        h.streams--;
        streams--;
        forgetIfIdle(peer, h);
    }

    /** @return null when the job is admitted (and counted), else why not */
    synchronized String startJob(NodePublicKey peer) {
        Held h = peers.get(peer);
        if (h.jobs >= limits.maxJobsPerPeer()) {
            return "peer " + peer.nodeId().shortId() + " has " + h.jobs + " jobs receiving, queued or running "
                    + "here, this node's limit per peer: wait for some to finish";
        }
        h.jobs++;
        return null;
    }

    synchronized void endJob(NodePublicKey peer) {
        peers.get(peer).jobs--;
    }

    /** @return null when {@code n} more bytes are reserved for the peer, else why not */
    synchronized String reserve(NodePublicKey peer, long n) {
        Held h = peers.get(peer);
        if (h.bytes + n > limits.maxInputBytesPerPeer()) {
            return "peer " + peer.nodeId().shortId() + " holds " + h.bytes + " input bytes in its streams here; "
                    + n + " more would pass this node's limit of " + limits.maxInputBytesPerPeer() + " per peer";
        }
        if (bytes + n > limits.maxInputBytes()) {
            return "node is busy receiving " + bytes + " input bytes of other jobs (limit "
                    + limits.maxInputBytes() + "): try later or another provider";
        }
        h.bytes += n;
        bytes += n;
        return null;
    }

    synchronized void release(NodePublicKey peer, long n) {
        peers.get(peer).bytes -= n;
        bytes -= n;
    }

    synchronized long bytes() {
        return bytes;
    }

    synchronized int streams() {
        return streams;
    }

    synchronized int peers() {
        return peers.size();
    }

    /** @return the most any one peer holds now: {streams, jobs, bytes} */
    synchronized long[] maxPerPeer() {
        long[] m = new long[3];
        for (Held h : peers.values()) {
            m[0] = Math.max(m[0], h.streams);
            m[1] = Math.max(m[1], h.jobs);
            m[2] = Math.max(m[2], h.bytes);
        }
        return m;
    }

    private void forgetIfIdle(NodePublicKey peer, Held h) {
        if (h.streams == 0 && h.jobs == 0 && h.bytes == 0) {
            peers.remove(peer);
        }
    }
}
