package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationException.Reason;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A provider's signed statement that it overwrote the buffers a job used: an in-toto
 * Statement v1 with predicateType {@value #PREDICATE_TYPE} in a DSSE envelope, whose one
 * subject is the execution receipt: name {@code "receipt"}, digest {@code sha256} = hex
 * SHA-256 of the receipt envelope's DSSE PAE bytes ({@link Envelope#digestHex()}; PAE
 * rather than the envelope JSON, so the digest does not depend on JSON formatting and
 * covers exactly what the receipt's signature covers).
 *
 * <p><b>What it attests</b>, per buffer: "overwrote X of Y bytes with pattern P, read
 * back, digest H, at T, signed by K". It does <em>not</em> attest that the data is
 * unrecoverable, nor NIST SP 800-88 Purge (800-88 does not cover in-service volatile
 * memory). Without a hardware root of trust it is the provider's signed statement,
 * backed by its stake; {@link #teeEvidence()} carries TEE evidence (e.g. NVIDIA
 * confidential-computing attestation) unchanged when a provider has it — this class does
 * not interpret it.
 *
 * <pre>{@code
 * WipeAttestation w = WipeAttestation.builder().receipt(receiptEnvelope)
 *     .buffer(HostWipe.wipe("A", a, (byte) 0)).startedAt(t0).endedAt(t1).build();
 * Envelope env = w.sign(providerKeys);
 * WipeAttestation.verify(env, receiptEnvelope, offerKey, WipeAttestation.buffersOf(receipt));
 * }</pre>
 *
 * @param receiptDigest hex SHA-256 of the receipt envelope's PAE bytes
 * @param buffers       one record per buffer wiped (copied; at least one)
 * @param startedAt     start of the wipe
 * @param endedAt       end of the wipe
 * @param device        the device, or {@code null}
 * @param teeEvidence   opaque TEE evidence, carried unchanged (copied; empty if none)
 *
 * <p>The statement's JSON is written and read by {@code WipeJson} beside this class.
 */
public record WipeAttestation(String receiptDigest, List<WipeRecord> buffers, Instant startedAt, Instant endedAt,
                              ReceiptDevice device, byte[] teeEvidence) {
    /** The predicate type of a wipe attestation. */
    public static final String PREDICATE_TYPE = "https://depin.dev/wipe/v1";
    /** The subject's name. */
    public static final String SUBJECT_NAME = "receipt";
    /** The "scope" check's line: what a verified attestation says, and what it does not. */
    private static final String SCOPE = "attests overwrite + read-back as signed by the provider; "
            + "not unrecoverability, not NIST SP 800-88 Purge";
    private static final String TEE_CARRIED = "; TEE evidence carried, not checked here";

    /**
     * Validates and copies.
     *
     * @param receiptDigest hex SHA-256 of the receipt envelope's PAE bytes
     * @param buffers       one record per buffer wiped (copied; at least one)
     * @param startedAt     start of the wipe
     * @param endedAt       end of the wipe
     * @param device        the device, or {@code null}
     * @param teeEvidence   opaque TEE evidence, carried unchanged (copied; empty if none)
     */
    public WipeAttestation {
        ExecutionReceipt.requireSha256Hex(receiptDigest, "receiptDigest");
        InvalidArgumentException.requireNonNull(buffers, "buffers");
        if (buffers.isEmpty()) {
            throw new InvalidArgumentException("a wipe attestation names at least one buffer");
        }
        buffers = List.copyOf(buffers);
        InvalidArgumentException.requireNonNull(startedAt, "startedAt");
        InvalidArgumentException.requireNonNull(endedAt, "endedAt");
        if (endedAt.isBefore(startedAt)) {
            throw new InvalidArgumentException("endedAt " + endedAt + " is before startedAt " + startedAt);
        }
        teeEvidence = teeEvidence == null ? new byte[0] : teeEvidence.clone();
    }

    /**
     * The opaque TEE evidence, as the provider supplied it.
     *
     * @return a copy (empty if none)
     */
    @Override
    public byte[] teeEvidence() {
        return teeEvidence.clone();
    }

    /**
     * A new builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The buffers a receipt names (inputs and outputs) with their sizes: what a wipe of
     * that job must cover.
     *
     * @param receipt the receipt
     * @return label → bytes
     */
    public static Map<String, Long> buffersOf(ExecutionReceipt receipt) {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (BufferDigest b : receipt.inputs()) {
            m.put(b.name(), b.bytes());
        }
        for (BufferDigest b : receipt.outputs()) {
            m.put(b.name(), b.bytes());
        }
        return m;
    }

    /**
     * The canonical statement JSON that {@link #sign} signs.
     *
     * @return UTF-8 JSON
     */
    public byte[] toPayload() {
        return WipeJson.payload(this);
    }

    /**
     * Signs this attestation into a DSSE envelope.
     *
     * @param provider the provider's key
     * @return the envelope
     */
    public Envelope sign(NodeKeyPair provider) {
        return Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, toPayload(), provider);
    }

    /**
     * Reads an attestation <b>without verifying it</b>.
     *
     * @param env the envelope
     * @return the attestation
     * @throws VerificationException if it is not a wipe attestation statement
     */
    public static WipeAttestation readUnverified(Envelope env) {
        InvalidArgumentException.requireNonNull(env, "env");
        return StatementReader.wipe(env.payloadType(), env.payload());
    }

    /**
     * Verifies a wipe attestation: payloadType and signature by the expected provider key;
     * predicateType; its subject is exactly the given receipt envelope
     * ({@code SUBJECT_MISMATCH} otherwise); every record overwrote all of its bytes
     * ({@code WIPE_INCOMPLETE}); every host read-back check digest is that of a complete
     * compare with no mismatch ({@code WIPE_DIGEST_MISMATCH}, see {@link HostWipe}); every expected
     * buffer has at least one record with its label and size ({@code WIPE_BUFFERS_MISMATCH}).
     * Device read-back digests are recorded but cannot be recomputed on the host; the
     * report says so.
     *
     * @param wipeEnvelope    the attestation as received
     * @param receiptEnvelope the receipt envelope it must refer to
     * @param expectedSigner  the key named in the provider's offer
     * @param expectedBuffers label → bytes of every buffer that must have been wiped
     *                        (e.g. {@link #buffersOf(ExecutionReceipt)})
     * @return what was checked
     * @throws VerificationException on the first failed check
     */
    public static VerificationReport verify(Envelope wipeEnvelope, Envelope receiptEnvelope,
                                            NodePublicKey expectedSigner, Map<String, Long> expectedBuffers) {
        return verify(wipeEnvelope, receiptEnvelope, expectedSigner, expectedBuffers, Map.of());
    }

    /**
     * As {@link #verify(Envelope, Envelope, NodePublicKey, Map)}, where a buffer named in
     * {@code inCache} may instead be covered by a {@link WipeRecord#CACHE_IN_PLACE} record: it
     * is the node's input cache entry of that root (an input the job read where the cache holds
     * it, or an output left on the node that the cache took over), so the job had no copy of it to
     * wipe; the entry's own wipe is attested when it is evicted. Such a record must name the
     * buffer's size and, as its check digest, its root.
     *
     * @param wipeEnvelope    the attestation as received
     * @param receiptEnvelope the receipt envelope it must refer to
     * @param expectedSigner  the key named in the provider's offer
     * @param expectedBuffers label → bytes of every buffer that must have been wiped
     * @param inCache         buffer name → Merkle root (hex) of the buffers that may be the node's
     *                        cache entries: the inputs ({@link #inputRootsOf(ExecutionReceipt)}),
     *                        and the outputs where the buyer left them on the node
     *                        ({@link #buffersInCacheOf(ExecutionReceipt)}); empty for none
     * @return what was checked
     * @throws VerificationException on the first failed check
     */
    public static VerificationReport verify(Envelope wipeEnvelope, Envelope receiptEnvelope,
                                            NodePublicKey expectedSigner, Map<String, Long> expectedBuffers,
                                            Map<String, String> inCache) {
        InvalidArgumentException.requireNonNull(inCache, "inCache");
        InvalidArgumentException.requireNonNull(wipeEnvelope, "wipeEnvelope");
        InvalidArgumentException.requireNonNull(receiptEnvelope, "receiptEnvelope");
        InvalidArgumentException.requireNonNull(expectedBuffers, "expectedBuffers");
        List<VerificationReport.Check> checks = new ArrayList<>();
        wipeEnvelope.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, expectedSigner);
        checks.add(VerificationReport.Check.passed("signature", "Ed25519 over DSSE PAE by " + expectedSigner.nodeId().hex()));
        return verifyBindings(StatementReader.wipe(wipeEnvelope.payloadType(), wipeEnvelope.payload()),
                receiptEnvelope.digestHex(),
                expectedBuffers, inCache, checks, "wipeAttestation", Assurance.signature());
    }

    /**
     * The inputs a job may have read in place from its node's input cache: every input of the
     * receipt, by name, with the root the receipt says the kernel read.
     *
     * @param receipt the verified receipt
     * @return input name → Merkle root (hex)
     */
    public static Map<String, String> inputRootsOf(ExecutionReceipt receipt) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (BufferDigest b : receipt.inputs()) {
            m.put(b.name(), b.merkleRoot());
        }
        return m;
    }

    /**
     * The inputs and outputs of a job whose outputs the buyer left on the node: every buffer of
     * the receipt, by name, with its root (a left output may be the cache's entry itself).
     *
     * @param receipt the verified receipt
     * @return buffer name → Merkle root (hex)
     */
    public static Map<String, String> buffersInCacheOf(ExecutionReceipt receipt) {
        Map<String, String> m = inputRootsOf(receipt);
        for (BufferDigest b : receipt.outputs()) {
            m.put(b.name(), b.merkleRoot());
        }
        return m;
    }

    /**
     * Every check after the signature (shared by the single-envelope and the batch path):
     * predicate type, subject = the receipt's digest, records complete, host read-backs,
     * buffers covered.
     */
    static VerificationReport verifyBindings(WipeAttestation w, String receiptDigest,
                                             Map<String, Long> expectedBuffers, Map<String, String> inCache,
                                             List<VerificationReport.Check> checks, String policy,
                                             Assurance assurance) {
        checks.add(VerificationReport.Check.passed("predicateType", PREDICATE_TYPE));
        if (!receiptDigest.equals(w.receiptDigest)) {
            throw new VerificationException(Reason.SUBJECT_MISMATCH, "the wipe attestation refers to receipt "
                    + w.receiptDigest + " but this job's receipt has digest " + receiptDigest
                    + ": it attests a wipe for another job; reject it");
        }
        checks.add(VerificationReport.Check.passed("subject", () -> "receipt sha256(PAE) " + receiptDigest));
        int deviceRecords = 0;
        List<String> inPlace = new ArrayList<>();
        for (WipeRecord r : w.buffers) {
            if (WipeRecord.CACHE_IN_PLACE.equals(r.method())) {
                String root = inCache.get(r.label());
                if (root == null || !WipeRecord.HOST.equals(r.location()) || !root.equals(r.checkDigest())
                        || r.bytesOverwritten() != 0 || r.pattern() != 0 || !expectedBuffers.containsKey(r.label())
                        || expectedBuffers.get(r.label()) != r.bytes()) {
                    throw new VerificationException(Reason.WIPE_INCOMPLETE, "buffer '" + r.label() + "' ("
                            + r.location() + ", " + r.bytes() + " bytes) is stated as the node's cache entry "
                            + "(root " + r.checkDigest() + "), which is "
                            + (root == null ? "allowed only for an input the buyer sent by root or let the node keep, "
                            + "or an output the buyer left on the node"
                            : "not this input's root " + root + " and size " + expectedBuffers.get(r.label()))
                            + ": its bytes were not wiped; treat the data as retained by the provider",
                            new Evidence("wipe", r.label(), root == null ? "" : root, r.checkDigest(), ""));
                }
                inPlace.add(r.label());
                continue;
            }
            if (r.bytesOverwritten() != r.bytes()) {
                throw new VerificationException(Reason.WIPE_INCOMPLETE, "buffer '" + r.label() + "' (" + r.location()
                        + "): only " + r.bytesOverwritten() + " of " + r.bytes() + " bytes overwritten: the wipe is "
                        + "incomplete; treat the data as retained by the provider",
                        new Evidence("wipe", r.label(), Long.toString(r.bytes()), Long.toString(r.bytesOverwritten()), ""));
            }
            if (WipeRecord.HOST_READBACK_COMPARE.equals(r.method())) {
                String exp = HostWipe.checkDigest(r.location(), r.label(), r.bytes(), r.pattern(), 0);
                if (!exp.equals(r.checkDigest())) {
                    throw new VerificationException(Reason.WIPE_DIGEST_MISMATCH, "buffer '" + r.label()
                            + "': check digest " + r.checkDigest() + " is not that of a complete read-back of "
                            + r.bytes() + " bytes of 0x" + r.patternHex() + " with no mismatch (" + exp
                            + "): the check failed or the record was altered; treat the wipe as failed",
                            new Evidence("wipe-readback", r.label(), exp, r.checkDigest(), ""));
                }
            } else {
                deviceRecords++;
            }
        }
        for (Map.Entry<String, Long> e : expectedBuffers.entrySet()) {
            boolean found = w.buffers.stream().anyMatch(r -> r.label().equals(e.getKey()) && r.bytes() == e.getValue());
            if (!found) {
                throw new VerificationException(Reason.WIPE_BUFFERS_MISMATCH, "no wipe record for buffer '" + e.getKey()
                        + "' of " + e.getValue() + " bytes (records: " + describe(w.buffers)
                        + "): the provider did not attest wiping every buffer of the job; reject the attestation");
            }
        }
        int records = w.buffers.size();
        int expected = expectedBuffers.size();
        int onDevice = deviceRecords;
        checks.add(VerificationReport.Check.passed("buffers", () -> (records - inPlace.size())
                + " record(s) fully overwritten; "
                + "all " + expected + " expected buffer(s) covered; host read-back check digests recomputed"
                + (onDevice > 0 ? "; " + onDevice + " device read-back digest(s) recorded, not recomputable "
                + "on the host" : "")
                + (inPlace.isEmpty() ? "" : "; " + inPlace + " are the node's input cache entries of their roots "
                + "(kept there by the buyer's consent, no copy of the job's: their wipe is attested when the "
                + "cache evicts them)")));
        checks.add(VerificationReport.Check.passed("scope", w.teeEvidence.length > 0 ? SCOPE + TEE_CARRIED : SCOPE));
        return new VerificationReport(policy, checks, assurance);
    }

    private static String describe(List<WipeRecord> records) {
        StringBuilder sb = new StringBuilder();
        for (WipeRecord r : records) {
            sb.append(sb.length() == 0 ? "" : ", ").append(r.label()).append('/').append(r.location()).append('/')
                    .append(r.bytes());
        }
        return sb.toString();
    }


    @Override
    public boolean equals(Object o) {
        return o instanceof WipeAttestation w && w.receiptDigest.equals(receiptDigest) && w.buffers.equals(buffers)
                && w.startedAt.equals(startedAt) && w.endedAt.equals(endedAt) && Objects.equals(w.device, device)
                && Arrays.equals(w.teeEvidence, teeEvidence);
    }

    @Override
    public int hashCode() {
        return Objects.hash(receiptDigest, buffers, startedAt, endedAt, device, Arrays.hashCode(teeEvidence));
    }

    @Override
    public String toString() {
        return "WipeAttestation[receipt=" + receiptDigest + ", buffers=" + buffers + ", startedAt=" + startedAt
                + ", endedAt=" + endedAt + ", device=" + device + ", teeEvidence=" + teeEvidence.length + " bytes]";
    }

    /**
     * Builds a {@link WipeAttestation}. It and {@link ExecutionReceipt.Builder} share only the
     * shape of their setters: every check is in the record's constructor, so a common base would
     * add a self-typed parameter to the public API and hold no logic.
     */
    public static final class Builder {
        private String receiptDigest;
        private final List<WipeRecord> buffers = new ArrayList<>();
        private Instant startedAt;
        private Instant endedAt;
        private ReceiptDevice device;
        private byte[] teeEvidence;

        Builder() {
        }

        /**
         * Sets the receipt this wipe follows (its PAE digest becomes the subject).
         *
         * @param receiptEnvelope the receipt this wipe follows (its PAE digest becomes the subject)
         * @return this
         */
        public Builder receipt(Envelope receiptEnvelope) {
            receiptDigest = InvalidArgumentException.requireNonNull(receiptEnvelope, "receiptEnvelope").digestHex();
            return this;
        }

        /**
         * Sets hex SHA-256 of the receipt envelope's PAE bytes (for a batched receipt,
         * {@link ExecutionReceipt#statementDigestHex()}).
         *
         * @param hex hex SHA-256 of the receipt envelope's PAE bytes
         * @return this
         */
        public Builder receiptDigest(String hex) {
            receiptDigest = hex;
            return this;
        }

        /**
         * Sets one buffer's record.
         *
         * @param r one buffer's record
         * @return this
         */
        public Builder buffer(WipeRecord r) {
            buffers.add(InvalidArgumentException.requireNonNull(r, "record"));
            return this;
        }

        /**
         * Sets start time.
         *
         * @param v start time
         * @return this
         */
        public Builder startedAt(Instant v) {
            startedAt = v;
            return this;
        }

        /**
         * Sets end time.
         *
         * @param v end time
         * @return this
         */
        public Builder endedAt(Instant v) {
            endedAt = v;
            return this;
        }

        /**
         * Sets the device, or null.
         *
         * @param v the device, or null
         * @return this
         */
        public Builder device(ReceiptDevice v) {
            device = v;
            return this;
        }

        /**
         * Sets opaque TEE evidence, carried unchanged.
         *
         * @param v opaque TEE evidence, carried unchanged
         * @return this
         */
        public Builder teeEvidence(byte[] v) {
            teeEvidence = v;
            return this;
        }

        /**
         * Returns the attestation.
         *
         * @return the attestation
         */
        public WipeAttestation build() {
            return new WipeAttestation(receiptDigest, buffers, startedAt, endedAt, device, teeEvidence);
        }
    }
}
