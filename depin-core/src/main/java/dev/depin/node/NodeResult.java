package dev.depin.node;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import java.time.Instant;

/**
 * What a provider node signs for one attempt, besides the output bytes it streamed: the
 * account of the execution, the signed receipt and the signed wipe attestation. A
 * transport turns it (with the outputs the buyer's side assembled) into an
 * {@link dev.depin.network.spi.ExecutionResponse}.
 *
 * <p>Kept apart from {@code ExecutionResponse} on purpose: this is the node's side, which never holds
 * the outputs whole (they were streamed); that is the buyer's, outputs hashed on arrival, in the
 * network SPI, which cannot name this package without a package circle (node uses network.spi).
 *
 * @param jobId        the job id
 * @param attempt      the attempt
 * @param provider     the node's id
 * @param executorKind the executor that ran it
 * @param startedAt    when the kernel started
 * @param endedAt      when it ended
 * @param deviceNanos  device time charged for
 * @param receipt      the signed execution receipt, or {@code null} when batched
 * @param wipe         the signed wipe attestation, whose subject is the receipt, or {@code null}
 *                     when batched
 * @param batched      the receipt and wipe statements in one signed batch, or {@code null}
 */
public record NodeResult(String jobId, int attempt, NodeId provider, String executorKind, Instant startedAt,
                         Instant endedAt, long deviceNanos, Envelope receipt, Envelope wipe, BatchedReceipt batched) {
    /**
     * Validates every component.
     *
     * @param jobId the job id
     * @param attempt the attempt
     * @param provider the node's id
     * @param executorKind the executor that ran it
     * @param startedAt when the kernel started
     * @param endedAt when it ended
     * @param deviceNanos device time charged for
     * @param receipt the signed execution receipt, or {@code null} when batched
     * @param wipe the signed wipe attestation, whose subject is the receipt, or {@code null} when batched
     * @param batched the receipt and wipe statements in one signed batch, or {@code null}
     * @throws InvalidArgumentException on nulls, or proofs that are neither two envelopes nor one batch
     */
    public NodeResult {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(executorKind, "executor kind");
        InvalidArgumentException.requireNonNull(startedAt, "start time");
        InvalidArgumentException.requireNonNull(endedAt, "end time");
        if ((batched == null) != (receipt != null && wipe != null) || (batched != null && (receipt != null
                || wipe != null))) {
            throw new InvalidArgumentException("a node result carries either a signed receipt and wipe attestation "
                    + "or one batched receipt");
        }
    }
}
