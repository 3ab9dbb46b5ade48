package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.WipeAttestation;
import dev.depin.job.DisputeRecord;
import dev.depin.job.JobSpec;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * Checks receipts, wipe attestations and dispute records without the engine: from the
 * envelopes, the provider's public key and the data, as a third party, an auditor or an
 * arbiter would. Everything the verifier is not given is not checked, and the
 * {@link OfflineReport} says so; a check not made is never reported as passed.
 *
 * <pre>{@code
 * OfflineReport r = OfflineVerifier.receipt(receipt, providerKey)
 *         .output("c", Path.of("c.bin")).spec(spec).nonce(sentNonce).verify();
 * OfflineReport upheld = OfflineVerifier.dispute(record).providerKey(providerKey)
 *         .input("a", aFile).input("b", bFile).output("c", cFile).verify();
 * }</pre>
 *
 * <p>Files are streamed (receipts) or mapped read-only (disputes), never copied onto the
 * heap, so an output larger than the verifier's heap verifies. Small evidence files are
 * read with a bound by {@link EvidenceFiles}.
 */
public final class OfflineVerifier {
    private OfflineVerifier() {
    }

    /**
     * Starts a check of a receipt against the key the provider's offer names.
     *
     * @param receipt     the receipt envelope
     * @param providerKey the key the provider's offer names
     * @return a check to give outputs (required) and inputs, nonce, spec, wipe (optional) to
     */
    public static ReceiptCheck receipt(Envelope receipt, NodePublicKey providerKey) {
        return new ReceiptCheck(receipt, providerKey);
    }

    /**
     * Starts a check of a receipt signed in a batch (what a node sends by default): the
     * batch envelope's signature by the key, the receipt and wipe statements' inclusion in
     * the batch's signed Merkle root, then every check {@link #receipt(Envelope, NodePublicKey)}
     * makes. The wipe attestation travels inside, so it is always checked.
     *
     * @param batched     the batched receipt ({@code JobResult.batched()}, or
     *                    {@link BatchedReceipt#parse} of its JSON form)
     * @param providerKey the key the provider's offer names
     * @return a check to give outputs (required) and inputs, nonce, spec (optional) to
     */
    public static ReceiptCheck receipt(BatchedReceipt batched, NodePublicKey providerKey) {
        return new ReceiptCheck(batched, providerKey);
    }

    /**
     * Starts a re-check of a dispute record.
     *
     * @param record the record
     * @return a check to give the job's inputs and the disputed outputs (required) and the
     *         accused provider's key (optional) to
     */
    public static DisputeCheck dispute(DisputeRecord record) {
        return new DisputeCheck(record);
    }

    /**
     * Verifies a receipt against the provider's key and buffers in memory; the same as
     * {@link #receipt} with these arguments, keeping only the checks made.
     *
     * @param receipt     the receipt envelope
     * @param providerKey the key the provider's offer named
     * @param outputs     every output the receipt names, by name
     * @param inputs      every input by name, or an empty map not to check them
     * @param nonce       the nonce the buyer sent (hex in either case, or base64), or {@code null}
     * @param spec        the job spec, or {@code null}
     * @return the checks made (see {@link ReceiptCheck#verify()} for those not made)
     * @throws VerificationException    with the reason of the first failed check
     * @throws MissingEvidenceException if an output the receipt names is not given
     */
    public static VerificationReport verifyReceipt(Envelope receipt, NodePublicKey providerKey,
                                                   Map<String, ByteBuffer> outputs, Map<String, ByteBuffer> inputs,
                                                   String nonce, JobSpec spec) {
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        ReceiptCheck c = receipt(receipt, providerKey).nonce(nonce).spec(spec);
        outputs.forEach(c::output);
        inputs.forEach(c::input);
        return c.verify().checked();
    }

    /**
     * Verifies a wipe attestation: signed by the provider's key, its subject this receipt,
     * every buffer the receipt names fully overwritten and read back.
     *
     * @param wipe        the wipe attestation envelope
     * @param receipt     the receipt envelope it attests to
     * @param providerKey the key the provider's offer named
     * @return what was checked
     * @throws VerificationException with the reason of the first failed check
     */
    public static VerificationReport verifyWipe(Envelope wipe, Envelope receipt, NodePublicKey providerKey) {
        InvalidArgumentException.requireNonNull(wipe, "wipe attestation");
        InvalidArgumentException.requireNonNull(receipt, "receipt envelope");
        InvalidArgumentException.requireNonNull(providerKey, "provider key");
        receipt.verify(dev.depin.crypto.Dsse.IN_TOTO_PAYLOAD_TYPE, providerKey);
        ExecutionReceipt claimed = ExecutionReceipt.readUnverified(receipt);
        return WipeAttestation.verify(wipe, receipt, providerKey, WipeAttestation.buffersOf(claimed),
                WipeAttestation.buffersInCacheOf(claimed));
    }

    /**
     * Re-checks a dispute with buffers in memory, taking the record's key as it is; the same
     * as {@link #dispute} with these arguments, keeping only the checks made.
     *
     * @param dispute the record
     * @param inputs  every input of the job, by name
     * @param outputs the outputs the provider delivered, by name
     * @return the checks made, the last {@code dispute upheld}
     * @throws DisputeNotUpheldException if the disputed check passes on these bytes
     * @throws VerificationException     if the record's key, receipt, spec and data do not bind
     * @throws MissingEvidenceException  if an input or output is not given
     */
    public static VerificationReport recheck(DisputeRecord dispute, Map<String, ByteBuffer> inputs,
                                             Map<String, ByteBuffer> outputs) {
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        DisputeCheck c = dispute(dispute);
        inputs.forEach(c::input);
        outputs.forEach(c::output);
        return c.verify().checked();
    }
}
