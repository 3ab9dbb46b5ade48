package dev.depin.grpc.internal;

import dev.depin.crypto.NodePublicKey;

import java.util.HashMap;
import java.util.Map;

/**
 * What each authenticated peer holds on a provider right now (streams, jobs, input bytes,
 * output bytes it has not read) and the bytes all peers hold together, checked against {@link StreamLimits};
 * and the streams and input bytes of each remote address ({@link AddressGroup}) over all its
 * keys, checked against {@link AddressLimits}. A peer's or an address's entry exists only while
 * it holds something, so a stream of fresh keys leaves nothing behind. One lock: every change is a few additions, far cheaper than the 256 KiB
 * chunk copy it accounts for.
 */
final class PeerLedger {
    private final StreamLimits limits;
    private final AddressLimits addressLimits;
    private final Map<NodePublicKey, Held> peers = new HashMap<>();
    /** By {@link AddressGroup}; only streams and bytes are counted. */
    private final Map<String, Held> addresses = new HashMap<>();
    private long bytes;
    private long drainBytes;
    private int streams;

    private static final class Held {
        int streams;
        int jobs;
        long bytes;
        /** Output bytes of its finished jobs that the peer has not read yet (held in drains). */
        long drain;
    }

    PeerLedger(StreamLimits limits, AddressLimits addressLimits) {
        this.limits = limits;
        this.addressLimits = addressLimits;
    }

    /**
     * @param address the peer's {@link AddressGroup}, or null when it has none (not counted)
     * @return null when the stream is admitted (and counted), else why not
     */
    synchronized String openStream(NodePublicKey peer, String address) {
        Held h = peers.computeIfAbsent(peer, k -> new Held());
        if (h.streams >= limits.maxStreamsPerPeer()) {
            forgetIfIdle(peer, h);
            return "peer " + peer.nodeId().shortId() + " has " + h.streams + " Execute streams open, this node's "
                    + "limit per peer: finish or cancel some first";
        }
        if (address != null) {
            Held a = addresses.computeIfAbsent(address, k -> new Held());
            if (a.streams >= addressLimits.maxStreams()) {
                forgetIfIdle(peer, h);
                return "address " + address + " has " + a.streams + " Execute streams open over all its keys, "
                        + "this node's limit per address: finish or cancel some first";
            }
            a.streams++;
        }
        h.streams++;
        streams++;
        return null;
    }

    synchronized void closeStream(NodePublicKey peer, String address) {
        Held h = peers.get(peer);
        h.streams--;
        streams--;
        forgetIfIdle(peer, h);
        if (address != null) {
            Held a = addresses.get(address);
            a.streams--;
            forgetIfIdle(address, a);
        }
    }

    /**
     * Counts a job of the peer. A peer that has not read outputs of earlier jobs may start only
     * jobs whose declared outputs fit beside them in its budget; a peer that holds none may
     * start any (outputs larger than the budget are then sent from the worker).
     *
     * @param jobId       the job, for the message
     * @param outputBytes the job's declared output bytes
     * @return null when the job is admitted (and counted), else why not
     */
    synchronized String startJob(NodePublicKey peer, String jobId, long outputBytes) {
        Held h = peers.get(peer);
        if (h.drain > 0 && outputBytes > limits.maxDrainBytesPerPeer() - h.drain) {
            return "peer " + peer.nodeId().shortId() + " has " + h.drain + " output bytes here that it has not read; "
                    + "job " + jobId + " declares " + outputBytes + " more, past this node's limit of "
                    + limits.maxDrainBytesPerPeer() + " per peer: read the outputs of its earlier jobs before sending more";
        }
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

    /**
     * @param address the peer's {@link AddressGroup}, or null
     * @return null when {@code n} more bytes are reserved for the peer, else why not
     */
    synchronized String reserve(NodePublicKey peer, String address, long n) {
        Held h = peers.get(peer);
        if (h.bytes + n > limits.maxInputBytesPerPeer()) {
            return "peer " + peer.nodeId().shortId() + " holds " + h.bytes + " input bytes in its streams here; "
                    + n + " more would pass this node's limit of " + limits.maxInputBytesPerPeer() + " per peer";
        }
        Held a = address == null ? null : addresses.get(address);
        if (a != null && a.bytes + n > addressLimits.maxInputBytes()) {
            return "address " + address + " holds " + a.bytes + " input bytes in the streams of all its keys here; "
                    + n + " more would pass this node's limit of " + addressLimits.maxInputBytes() + " per address";
        }
        if (bytes + n > limits.maxInputBytes()) {
            return "node is busy receiving " + bytes + " input bytes of other jobs (limit "
                    + limits.maxInputBytes() + "): try later or another provider";
        }
        h.bytes += n;
        bytes += n;
        if (a != null) {
            a.bytes += n;
        }
        return null;
    }

    synchronized void release(NodePublicKey peer, String address, long n) {
        peers.get(peer).bytes -= n;
        bytes -= n;
        if (address != null) {
            addresses.get(address).bytes -= n; // the stream is open: its address is counted
        }
    }

    /**
     * Reserves {@code n} output bytes that a finished job of the peer holds until the peer
     * reads them.
     *
     * @return null when reserved, else why not
     */
    synchronized String reserveDrain(NodePublicKey peer, long n) {
        Held h = peers.get(peer);
        if (h.drain + n > limits.maxDrainBytesPerPeer()) {
            return "peer " + peer.nodeId().shortId() + " has " + h.drain + " output bytes here that it has not read; "
                    + n + " more would pass this node's limit of " + limits.maxDrainBytesPerPeer()
                    + " per peer: attempt stopped, read the outputs of earlier jobs first";
        }
        if (drainBytes + n > limits.maxDrainBytes()) {
            return "node is busy holding " + drainBytes + " output bytes that their readers have not read; " + n
                    + " more would pass its limit of " + limits.maxDrainBytes()
                    + ": attempt stopped, try later or another provider";
        }
        h.drain += n;
        drainBytes += n;
        return null;
    }

    synchronized void releaseDrain(NodePublicKey peer, long n) {
        Held h = peers.get(peer);
        h.drain -= n;
        drainBytes -= n;
        forgetIfIdle(peer, h); // a drain may outlive its peer's streams
    }

    /** @return output bytes held for readers that have not read them, over all peers */
    synchronized long drainBytes() {
        return drainBytes;
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

    /** @return the most any one peer holds now: {streams, jobs, input bytes, unread output bytes} */
    synchronized long[] maxPerPeer() {
        long[] m = new long[4];
        for (Held h : peers.values()) {
            m[0] = Math.max(m[0], h.streams);
            m[1] = Math.max(m[1], h.jobs);
            m[2] = Math.max(m[2], h.bytes);
            m[3] = Math.max(m[3], h.drain);
        }
        return m;
    }

    /** @return the most any one address holds now: {streams, input bytes} */
    synchronized long[] maxPerAddress() {
        long[] m = new long[2];
        for (Held a : addresses.values()) {
            m[0] = Math.max(m[0], a.streams);
            m[1] = Math.max(m[1], a.bytes);
        }
        return m;
    }

    /** @return addresses holding a stream or input bytes now */
    synchronized int addresses() {
        return addresses.size();
    }

    private void forgetIfIdle(NodePublicKey peer, Held h) {
        if (h.streams == 0 && h.jobs == 0 && h.bytes == 0 && h.drain == 0) {
            peers.remove(peer);
        }
    }

    private void forgetIfIdle(String address, Held a) {
        if (a.streams == 0 && a.bytes == 0) {
            addresses.remove(address);
        }
    }
}
