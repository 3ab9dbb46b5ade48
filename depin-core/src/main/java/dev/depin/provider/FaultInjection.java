package dev.depin.provider;

import java.nio.ByteBuffer;

/**
 * Deliberate misbehaviour of a provider, for adversarial tests and the demo's dishonest
 * provider. Never set one on a node that serves real buyers: it makes the node lie, and
 * the buyer's verification will catch it, dispute the attempt and cost the node its
 * reputation and stake.
 *
 * <p>Both hooks may modify the output buffer in place and run on the node's worker
 * thread. The defaults do nothing.
 */
public interface FaultInjection {

    /**
     * Called after execution, before the provider commits to its outputs: a change here
     * makes a wrong but self-consistent result (the receipt commits to and signs the
     * wrong bytes), which only recomputation-based verification can catch.
     *
     * @param jobId  the job
     * @param output the output buffer's name
     * @param data   the output, writable, position 0
     */
    default void beforeCommit(String jobId, String output, ByteBuffer data) {
    }

    /**
     * Called after the receipt is signed, on the bytes about to be sent: a change here is
     * corruption in transit, which the receipt's Merkle root exposes.
     *
     * @param jobId  the job
     * @param output the output buffer's name
     * @param data   the bytes to send, writable, position 0
     */
    default void afterSign(String jobId, String output, ByteBuffer data) {
    }
}
