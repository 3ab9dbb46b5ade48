package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.DepinException;

import java.util.Optional;

/**
 * A signature, envelope, receipt, attestation or result did not verify.
 *
 * <p>Verification in depin never returns a boolean that can be ignored: it returns
 * normally or throws this exception, whose {@link #reason()} says which binding failed
 * and whose {@link #evidence()} (when the check recomputed something) carries what a
 * dispute record needs.
 */
public class VerificationException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** Which check failed. Each binding of a receipt has its own reason. */
    public enum Reason {
        /** A signature does not verify under the key it names. */
        BAD_SIGNATURE,
        /** No signature was made by a key the verifier trusts. */
        UNKNOWN_KEY,
        /** The envelope was signed by a trusted key, but not the one this job expects. */
        KEY_MISMATCH,
        /** The DSSE payloadType is not the one expected. */
        WRONG_PAYLOAD_TYPE,
        /** Bad JSON, bad base64, missing fields, no signatures, oversized input. */
        MALFORMED_ENVELOPE,
        /** The payload is not a well-formed in-toto Statement / predicate. */
        MALFORMED_STATEMENT,
        /** The statement's predicateType is not the one expected. */
        WRONG_PREDICATE_TYPE,
        /** The receipt is for another job. */
        JOB_ID_MISMATCH,
        /** The receipt is for another attempt of this job. */
        ATTEMPT_MISMATCH,
        /** The receipt does not echo the buyer's challenge (replay or swap). */
        NONCE_MISMATCH,
        /** The receipt names another job specification. */
        SPEC_HASH_MISMATCH,
        /** The receipt names another kernel, or other kernel code. */
        KERNEL_HASH_MISMATCH,
        /** An input root differs from the buyer's own commitment. */
        INPUT_ROOT_MISMATCH,
        /** An output's Merkle root differs from the bytes actually received. */
        OUTPUT_ROOT_MISMATCH,
        /** An output's size differs from the bytes actually received. */
        OUTPUT_SIZE_MISMATCH,
        /** The statement subjects disagree with the predicate, or a wipe names another receipt. */
        SUBJECT_MISMATCH,
        /** The Merkle chunk size is not the one expected. */
        CHUNK_SIZE_MISMATCH,
        /** A Merkle inclusion proof does not lead to the expected root. */
        MERKLE_PROOF_INVALID,
        /** The delivered result is wrong (Freivalds, spot check, redundancy dissent). */
        RESULT_MISMATCH,
        /** Redundant execution found no majority among providers. */
        NO_MAJORITY,
        /** A wipe record shows fewer bytes overwritten than the buffer holds. */
        WIPE_INCOMPLETE,
        /** A wipe record's read-back digest is not the digest of the pattern. */
        WIPE_DIGEST_MISMATCH,
        /** The wiped buffers are not the buffers the job used. */
        WIPE_BUFFERS_MISMATCH,
        /** A hold certificate pays another account than the provider checking it. */
        PAYEE_MISMATCH,
        /** A hold certificate's expiry has passed: the money it names is no longer held. */
        CERTIFICATE_EXPIRED,
        /** A hold certificate names another price than the provider checking it offers. */
        PRICE_MISMATCH
    }

    /** Which check failed. */
    private final Reason reason;
    /** What the check found (not serialized). */
    private final transient Evidence evidence;

    /**
     * Creates an exception for a failed check.
     *
     * @param reason  which check failed; not {@code null}
     * @param message what was wrong and what to do
     */
    public VerificationException(Reason reason, String message) {
        this(reason, message, null, null);
    }

    /**
     * Creates an exception for a failed check that recomputed something.
     *
     * @param reason   which check failed; not {@code null}
     * @param message  what was wrong and what to do
     * @param evidence what was found; may be {@code null}
     */
    public VerificationException(Reason reason, String message, Evidence evidence) {
        this(reason, message, evidence, null);
    }

    /**
     * Creates an exception for a failed check caused by a lower-level failure.
     *
     * @param reason   which check failed; not {@code null}
     * @param message  what was wrong and what to do
     * @param evidence what was found; may be {@code null}
     * @param cause    the failure underneath; may be {@code null}
     */
    public VerificationException(Reason reason, String message, Evidence evidence, Throwable cause) {
        super(InvalidArgumentException.requireNonNull(reason, "reason") + ": " + message, cause);
        this.reason = reason;
        this.evidence = evidence;
    }

    /**
     * Which check failed.
     *
     * @return the reason; never {@code null}
     */
    public Reason reason() {
        return reason;
    }

    /**
     * What the check found, when it recomputed something.
     *
     * @return the evidence, or empty
     */
    public Optional<Evidence> evidence() {
        return Optional.ofNullable(evidence);
    }
}
