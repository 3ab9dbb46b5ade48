package dev.depin.network.spi;

import dev.depin.crypto.WipeRecord;
import java.util.List;

/**
 * The buffers a transport holds on the provider's side for one attempt (the bytes it
 * received the inputs in, or staged outputs in), so that the node's wipe attestation
 * covers them too. A {@link dev.depin.node.ProviderNode} calls {@link #wipe} once, after
 * the executor's wipe and after every output was handed to the {@link OutputSink}, and
 * signs the records it returns together with the executor's.
 *
 * <p>Only memory the transport owns belongs here: copies that a network library makes
 * internally (socket, TLS and framing buffers) cannot be overwritten by the transport and
 * must not be claimed.
 */
@FunctionalInterface
public interface TransportBuffers {
    /** Holds nothing: for transports that read and write the executor's buffers in place. */
    TransportBuffers NONE = pattern -> List.of();

    /**
     * Overwrites every buffer the transport still holds for the attempt with
     * {@code pattern} (or records buffers it already overwrote, with the pattern it used),
     * reads each back, and returns one record per buffer; the transport must not use
     * those bytes afterwards.
     *
     * @param pattern the job's overwrite byte
     * @return host wipe records (labels distinct from the job's buffer names)
     * @throws dev.depin.DepinException if a read-back differs from the pattern
     */
    List<WipeRecord> wipe(byte pattern);
}
