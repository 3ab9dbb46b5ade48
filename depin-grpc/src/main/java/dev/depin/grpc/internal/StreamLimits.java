package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;

/**
 * What a provider lets Execute streams hold, in all and per authenticated peer (the key of
 * its TLS certificate), and how long a stream may keep it without progress.
 *
 * @param maxInputBytes        input bytes all streams may hold at once; allocated as they arrive
 * @param maxInputBytesPerPeer input bytes one peer's streams may hold at once
 * @param maxStreamsPerPeer    Execute streams one peer may have open at once
 * @param maxJobsPerPeer       jobs (streams past their Start: receiving, queued or running)
 *                             one peer may have at once
 * @param receiveIdleMillis    how long a stream may send nothing while its inputs are
 *                             incomplete (before its Start, or between chunks)
 * @param receiveMillis        how long a stream may take from opening until its inputs are complete
 * @param stallMillis          how long a reader may leave its output stream not ready (no
 *                             flow-control credit) before the attempt is stopped and the worker freed
 * @param maxDrainBytes        output bytes all streams may hold, copied from finished jobs, while
 *                             their readers have not taken them (the worker has moved on)
 * @param maxDrainBytesPerPeer such output bytes one peer's streams may hold
 * @param sessionIdleMillis    how long a Session stream with no job in flight and no message
 *                             from its buyer stays open before the node closes it (OK)
 */
public record StreamLimits(long maxInputBytes, long maxInputBytesPerPeer, int maxStreamsPerPeer, int maxJobsPerPeer,
                           long receiveIdleMillis, long receiveMillis, long stallMillis, long maxDrainBytes,
                           long maxDrainBytesPerPeer, long sessionIdleMillis) {
    /**
     * @throws InvalidArgumentException unless every bound is positive and a peer's share is at
     *                                  most the whole
     */
    public StreamLimits {
        if (maxInputBytes < 1 || maxInputBytesPerPeer < 1 || maxInputBytesPerPeer > maxInputBytes) {
            throw new InvalidArgumentException("input byte limits " + maxInputBytes + " in all and "
                    + maxInputBytesPerPeer + " per peer: give positive values, per peer at most the whole");
        }
        if (maxDrainBytes < 1 || maxDrainBytesPerPeer < 1 || maxDrainBytesPerPeer > maxDrainBytes) {
            throw new InvalidArgumentException("unread output byte limits " + maxDrainBytes + " in all and "
                    + maxDrainBytesPerPeer + " per peer: give positive values, per peer at most the whole");
        }
        if (maxStreamsPerPeer < 1 || maxJobsPerPeer < 1) {
            throw new InvalidArgumentException("per-peer limits of " + maxStreamsPerPeer + " streams and "
                    + maxJobsPerPeer + " jobs must be positive");
        }
        if (receiveIdleMillis < 1 || receiveMillis < 1 || stallMillis < 1 || sessionIdleMillis < 1) {
            throw new InvalidArgumentException("receive idle " + receiveIdleMillis + " ms, receive "
                    + receiveMillis + " ms, stall " + stallMillis + " ms and session idle " + sessionIdleMillis
                    + " ms limits must be positive");
        }
    }
}
