package dev.depin.job;

import dev.depin.InvalidJobException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.kernel.Buffers;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;

/**
 * The record of a disputed attempt: what the provider signed and the evidence that
 * contradicts it. Together with the job's inputs and the outputs the provider delivered,
 * anyone can re-check it offline with {@link dev.depin.verify.OfflineVerifier#recheck}:
 * the receipt's signature ties the provider's key to the output roots, and the evidence
 * (the failed check, where, expected and actual values, and the seed that drove any
 * random choice) can be recomputed.
 *
 * @param jobId       the job
 * @param attempt     the disputed attempt
 * @param provider    the provider's node id
 * @param providerKey the key its offer named, which signed the receipt
 * @param reason      which check failed
 * @param message     the verifier's explanation
 * @param evidence    the recomputable evidence, or {@code null} when the failure is in the
 *                    envelope itself (bad signature, wrong nonce, …), which the receipt shows
 * @param receipt     the receipt as received, or {@code null} when the attempt was signed in
 *                    a batch
 * @param wipe        the wipe attestation as received, or {@code null} when batched
 * @param specJson    the spec's canonical JSON (its SHA-256 is the receipt's spec hash)
 * @param at          when the dispute was raised
 * @param outputs     the disputed output bytes as received (kept in memory for the caller
 *                    to store; not part of {@link #toJson()}, since the receipt commits to
 *                    them by Merkle root); empty when read back from JSON
 * @param batched     the attempt's receipt and wipe statements with their inclusion proofs in
 *                    the provider's signed batch, or {@code null} when signed one by one
 */
public record DisputeRecord(String jobId, int attempt, NodeId provider, NodePublicKey providerKey,
                            VerificationException.Reason reason, String message, Evidence evidence,
                            Envelope receipt, Envelope wipe, byte[] specJson, Instant at,
                            Map<String, ByteBuffer> outputs, BatchedReceipt batched) {
    /** Largest JSON form {@link #fromJson} accepts: 32 MiB (two envelopes of at most 4 MiB and a spec). */
    public static final int MAX_JSON_BYTES = 32 << 20;

    /**
     * @param jobId the job
     * @param attempt the disputed attempt
     * @param provider the provider's node id
     * @param providerKey the key its offer named, which signed the receipt
     * @param reason which check failed
     * @param message the verifier's explanation
     * @param evidence the recomputable evidence, or {@code null} when the failure is in the envelope itself
     *        (bad signature, wrong nonce, …), which the receipt shows
     * @param receipt the receipt as received, or {@code null} when the attempt was signed in a batch
     * @param wipe the wipe attestation as received, or {@code null} when batched
     * @param specJson the spec's canonical JSON (its SHA-256 is the receipt's spec hash)
     * @param at when the dispute was raised
     * @param outputs the disputed output bytes as received (kept in memory for the caller to store; not part
     *        of {@link #toJson()}, since the receipt commits to them by Merkle root); empty when read back
     *        from JSON
     * @param batched the attempt's receipt and wipe statements with their inclusion proofs in the provider's
     *        signed batch, or {@code null} when signed one by one
     * @throws InvalidArgumentException on nulls (other than evidence), an empty job id, an
     *                                  attempt below 1, or a provider id that is not the
     *                                  SHA-256 of {@code providerKey} (a dispute names the
     *                                  provider whose key signed the receipt, nobody else)
     */
    public DisputeRecord {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        if (jobId.isEmpty()) {
            throw new InvalidArgumentException("a dispute's job id must not be empty");
        }
        if (attempt < 1) {
            throw new InvalidArgumentException("a dispute's attempt must be >= 1, got " + attempt);
        }
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(providerKey, "provider key");
        if (!provider.equals(providerKey.nodeId())) {
            throw new InvalidArgumentException("the dispute names provider " + provider.hex() + " but its provider "
                    + "key is node " + providerKey.nodeId().hex() + "'s: a dispute names the provider whose key "
                    + "signed the disputed receipt, and nobody else");
        }
        InvalidArgumentException.requireNonNull(reason, "reason");
        InvalidArgumentException.requireNonNull(message, "message");
        if (batched == null) {
            InvalidArgumentException.requireNonNull(receipt, "receipt");
            InvalidArgumentException.requireNonNull(wipe, "wipe attestation");
        } else if (receipt != null || wipe != null) {
            throw new InvalidArgumentException("a dispute carries either a signed receipt and wipe attestation or one "
                    + "batched receipt, not both");
        }
        specJson = InvalidArgumentException.requireNonNull(specJson, "spec JSON").clone();
        InvalidArgumentException.requireNonNull(at, "time");
        outputs = Buffers.freeze(outputs, "disputed outputs");
    }

    /**
     * A dispute over an attempt whose receipt and wipe attestation were signed one by one.
     *
     * @param jobId       the job
     * @param attempt     the disputed attempt
     * @param provider    the provider's node id
     * @param providerKey the key its offer named, which signed the receipt
     * @param reason      which check failed
     * @param message     the verifier's explanation
     * @param evidence    the recomputable evidence, or {@code null}
     * @param receipt     the receipt as received
     * @param wipe        the wipe attestation as received
     * @param specJson    the spec's canonical JSON
     * @param at          when the dispute was raised
     * @param outputs     the disputed output bytes as received
     */
    public DisputeRecord(String jobId, int attempt, NodeId provider, NodePublicKey providerKey,
                         VerificationException.Reason reason, String message, Evidence evidence, Envelope receipt,
                         Envelope wipe, byte[] specJson, Instant at, Map<String, ByteBuffer> outputs) {
        this(jobId, attempt, provider, providerKey, reason, message, evidence, receipt, wipe, specJson, at, outputs,
                null);
    }

    /** @return the disputed outputs as fresh read-only views (position 0) */
    @Override
    public Map<String, ByteBuffer> outputs() {
        return Buffers.views(outputs);
    }

    /** @return a copy of the spec's canonical JSON */
    @Override
    public byte[] specJson() {
        return specJson.clone();
    }

    /** @return this record as pretty, key-sorted JSON (envelopes and spec embedded verbatim) */
    public byte[] toJson() {
        return DisputeJson.write(this);
    }

    /**
     * Reads a record written by {@link #toJson()}, strictly: every field present with its
     * type, no unknown field, at most {@link #MAX_JSON_BYTES} bytes. Nothing in it is
     * trusted yet; re-check it with {@link dev.depin.verify.OfflineVerifier#dispute}.
     *
     * @param json the record's JSON
     * @return the record
     * @throws InvalidJobException if the JSON is malformed, oversized or inconsistent
     */
    public static DisputeRecord fromJson(byte[] json) {
        return DisputeJson.read(json);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DisputeRecord d && jobId.equals(d.jobId) && attempt == d.attempt
                && provider.equals(d.provider) && reason == d.reason && java.util.Objects.equals(receipt, d.receipt)
                && java.util.Objects.equals(batched, d.batched);
    }

    @Override
    public int hashCode() {
        return jobId.hashCode() * 31 + attempt;
    }

    @Override
    public String toString() {
        return "DisputeRecord[" + jobId + "#" + attempt + " " + provider.shortId() + " " + reason + ": " + message + "]";
    }
}
