package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;

/**
 * What the Execute streams of one remote address ({@link AddressGroup}: an IPv4 address or an
 * IPv6 /64) may hold on a provider, over all the keys that connect from it, beside what one key
 * may hold ({@link StreamLimits}). A stranger's keys are free; its addresses are not.
 *
 * @param maxStreams       Execute streams open at once from the address
 * @param maxInputBytes    input bytes its streams may hold at once
 * @param maxRefusedStarts Start messages the node refused (jobs it never takes, or malformed)
 *                         the address may send per {@link RefusedStarts#WINDOW_NANOS} before
 *                         it is refused whole ({@link AddressRefusals}, {@link RefusedAddresses})
 */
public record AddressLimits(int maxStreams, long maxInputBytes, int maxRefusedStarts) {
    /**
     * @throws InvalidArgumentException unless every bound is positive
     */
    public AddressLimits {
        if (maxStreams < 1 || maxInputBytes < 1 || maxRefusedStarts < 1) {
            throw new InvalidArgumentException("per-address limits of " + maxStreams + " streams, " + maxInputBytes
                    + " input bytes and " + maxRefusedStarts + " refused Starts must be positive");
        }
    }
}
