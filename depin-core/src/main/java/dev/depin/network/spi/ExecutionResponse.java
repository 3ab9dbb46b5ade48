package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;

/**
 * What a provider returns for one attempt: the output bytes as received by the buyer,
 * the provider's account of the execution, its signed receipt and its signed wipe
 * attestation. Nothing in it is trusted until the buyer has verified it.
 *
 * <p>Kept apart from the node's {@code dev.depin.node.NodeResult} on purpose: that is what a node
 * signs and never holds the outputs whole; this is what the buyer received, outputs hashed on
 * arrival, and this SPI package cannot name the node package without a package circle.
 *
 * @param jobId        the job id the provider says it ran
 * @param attempt      the attempt it says it ran
 * @param provider     the provider's node id
 * @param executorKind the executor it says it used
 * @param outputs      outputs by name as the buyer's side received them, each with the
 *                     Merkle root computed on arrival (see {@link OutputAssembler})
 * @param startedAt    when execution started, by the provider's clock
 * @param endedAt      when it ended
 * @param deviceNanos  device time the provider charges for
 * @param receipt      the provider's signed execution receipt (DSSE envelope), or {@code null}
 *                     when the attempt was signed as part of a batch
 * @param wipe         the provider's signed wipe attestation, whose subject is the receipt, or
 *                     {@code null} when batched
 * @param batched      the attempt's receipt and wipe statements with their inclusion proofs in
 *                     one signed batch, or {@code null} when they were signed one by one
 * @param inputTransfer what sending the inputs cost and which the provider held by root, as
 *                     the transport counted it, or {@code null} when the network does not report it
 * @param wipeToFollow with a receipt and no wipe attestation: completes with the attestation
 *                     the provider signs after its wipe (a large job's receipt released before
 *                     the wipe), or fails when none came; {@code null} when the attestation is
 *                     here or batched. The buyer checks it before the attempt counts.
 */
public record ExecutionResponse(String jobId, int attempt, NodeId provider, String executorKind,
                                Map<String, ReceivedOutput> outputs, Instant startedAt, Instant endedAt,
                                long deviceNanos, Envelope receipt, Envelope wipe, BatchedReceipt batched,
                                InputTransfer inputTransfer,
                                java.util.concurrent.CompletableFuture<Envelope> wipeToFollow) {
    /**
     * @param jobId the job id the provider says it ran
     * @param attempt the attempt it says it ran
     * @param provider the provider's node id
     * @param executorKind the executor it says it used
     * @param outputs outputs by name as the buyer's side received them, each with the Merkle root computed on
     *        arrival (see {@link OutputAssembler})
     * @param startedAt when execution started, by the provider's clock
     * @param endedAt when it ended
     * @param deviceNanos device time the provider charges for
     * @param receipt the provider's signed execution receipt (DSSE envelope), or {@code null} when the
     *        attempt was signed as part of a batch
     * @param wipe the provider's signed wipe attestation, whose subject is the receipt, or {@code null} when
     *        batched
     * @param batched the attempt's receipt and wipe statements with their inclusion proofs in one signed
     *        batch, or {@code null} when they were signed one by one
     * @param inputTransfer what sending the inputs cost, or {@code null} when not reported
     * @param wipeToFollow the wipe attestation still to come, or {@code null} (then {@code wipe}
     *        or {@code batched} is here)
     * @throws InvalidArgumentException on nulls, negative numbers, or proofs that are neither
     *                                  both envelopes, a receipt with its wipe attestation to
     *                                  follow, nor one batched receipt
     */
    public ExecutionResponse {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(executorKind, "executor kind");
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        InvalidArgumentException.requireNonNull(startedAt, "start time");
        InvalidArgumentException.requireNonNull(endedAt, "end time");
        if (batched == null) {
            InvalidArgumentException.requireNonNull(receipt, "execution receipt");
            if ((wipe == null) == (wipeToFollow == null)) {
                throw new InvalidArgumentException("a response with a signed receipt carries its wipe attestation or "
                        + "the attestation to follow, exactly one of them");
            }
        } else if (receipt != null || wipe != null || wipeToFollow != null) {
            throw new InvalidArgumentException("a response carries either a signed receipt and wipe attestation or "
                    + "one batched receipt, not both");
        }
        if (attempt < 1 || deviceNanos < 0) {
            throw new InvalidArgumentException("attempt " + attempt + " and device time " + deviceNanos
                    + " ns must be >= 1 and >= 0");
        }
        outputs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(outputs));
        outputs.forEach((k, v) -> InvalidArgumentException.requireNonNull(v, "output '" + k + "'"));
    }

    /**
     * A response whose wipe attestation (or batch) is here.
     *
     * @param jobId        the job id the provider says it ran
     * @param attempt      the attempt it says it ran
     * @param provider     the provider's node id
     * @param executorKind the executor it says it used
     * @param outputs      outputs by name as received
     * @param startedAt    when execution started
     * @param endedAt      when it ended
     * @param deviceNanos  device time the provider charges for
     * @param receipt      the signed execution receipt, or {@code null} when batched
     * @param wipe         the signed wipe attestation, or {@code null} when batched
     * @param batched      the batched receipt, or {@code null}
     * @param inputTransfer what sending the inputs cost, or {@code null} when not reported
     */
    public ExecutionResponse(String jobId, int attempt, NodeId provider, String executorKind,
                             Map<String, ReceivedOutput> outputs, Instant startedAt, Instant endedAt,
                             long deviceNanos, Envelope receipt, Envelope wipe, BatchedReceipt batched,
                             InputTransfer inputTransfer) {
        this(jobId, attempt, provider, executorKind, outputs, startedAt, endedAt, deviceNanos, receipt, wipe, batched,
                inputTransfer, null);
    }

    /**
     * @return whether the wipe attestation follows the receipt ({@link #wipeToFollow()}), so that
     *         the buyer's checks of the outputs overlap the provider's wipe
     */
    public boolean wipeFollows() {
        return wipeToFollow != null;
    }

    /**
     * This response with the wipe attestation that followed its receipt.
     *
     * @param attestation the attestation as received
     * @return the response carrying both envelopes
     * @throws InvalidArgumentException when no attestation was to follow, or on null
     */
    public ExecutionResponse withWipe(Envelope attestation) {
        InvalidArgumentException.requireNonNull(attestation, "wipe attestation");
        if (wipeToFollow == null) {
            throw new InvalidArgumentException("this response's wipe attestation did not follow its receipt");
        }
        return new ExecutionResponse(jobId, attempt, provider, executorKind, outputs, startedAt, endedAt, deviceNanos,
                receipt, attestation, null, inputTransfer, null);
    }

    /**
     * A response without an input transfer report.
     *
     * @param jobId        the job id the provider says it ran
     * @param attempt      the attempt it says it ran
     * @param provider     the provider's node id
     * @param executorKind the executor it says it used
     * @param outputs      outputs by name as received
     * @param startedAt    when execution started
     * @param endedAt      when it ended
     * @param deviceNanos  device time the provider charges for
     * @param receipt      the signed execution receipt, or {@code null} when batched
     * @param wipe         the signed wipe attestation, or {@code null} when batched
     * @param batched      the batched receipt, or {@code null}
     */
    public ExecutionResponse(String jobId, int attempt, NodeId provider, String executorKind,
                             Map<String, ReceivedOutput> outputs, Instant startedAt, Instant endedAt,
                             long deviceNanos, Envelope receipt, Envelope wipe, BatchedReceipt batched) {
        this(jobId, attempt, provider, executorKind, outputs, startedAt, endedAt, deviceNanos, receipt, wipe, batched,
                null);
    }

    /**
     * A response whose receipt and wipe attestation were signed one by one.
     *
     * @param jobId        the job id the provider says it ran
     * @param attempt      the attempt it says it ran
     * @param provider     the provider's node id
     * @param executorKind the executor it says it used
     * @param outputs      outputs by name as received
     * @param startedAt    when execution started
     * @param endedAt      when it ended
     * @param deviceNanos  device time the provider charges for
     * @param receipt      the signed execution receipt
     * @param wipe         the signed wipe attestation
     */
    public ExecutionResponse(String jobId, int attempt, NodeId provider, String executorKind,
                             Map<String, ReceivedOutput> outputs, Instant startedAt, Instant endedAt,
                             long deviceNanos, Envelope receipt, Envelope wipe) {
        this(jobId, attempt, provider, executorKind, outputs, startedAt, endedAt, deviceNanos, receipt, wipe, null);
    }

    /** @return whether the receipt and wipe attestation came in one signed batch */
    public boolean isBatched() {
        return batched != null;
    }

    /** @return the output bytes as fresh read-only little-endian views (position 0), by name */
    public Map<String, ByteBuffer> outputBytes() {
        Map<String, ByteBuffer> m = new java.util.LinkedHashMap<>();
        outputs.forEach((k, v) -> m.put(k, v.data()));
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * The energy the provider's receipt states for this attempt (joules and whether measured or
     * estimated): the provider's signed claim, not a measurement the buyer can check
     * (docs/decisions.md, "Energy in the receipt").
     *
     * @return the energy, or empty when the receipt states none
     * @throws dev.depin.crypto.VerificationException if the receipt is not a well-formed statement
     */
    public java.util.Optional<dev.depin.crypto.ReceiptEnergy> energy() {
        dev.depin.crypto.ExecutionReceipt r = receipt != null ? dev.depin.crypto.ExecutionReceipt.readUnverified(receipt)
                : batched.readReceiptUnverified();
        return java.util.Optional.ofNullable(r.energy());
    }
}
