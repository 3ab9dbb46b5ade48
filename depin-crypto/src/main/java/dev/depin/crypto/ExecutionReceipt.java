package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A provider's signed statement of what it executed: an in-toto Statement v1 with
 * predicateType {@value #PREDICATE_TYPE}, carried in a DSSE envelope (payloadType
 * {@code application/vnd.in-toto+json}).
 *
 * <p>The statement's subjects are the outputs; each subject's digest map holds one entry,
 * {@value #SUBJECT_DIGEST}, the hex RFC 6962 Merkle root of the output (chunk size in the
 * predicate's {@code merkleChunkBytes}). A flat SHA-256 of each output is deliberately not
 * included: producing it would cost a second full pass over the data, which the trust
 * overhead budget (&le; 3% of an SGEMM job) cannot afford, and the Merkle root commits to
 * the same bytes while also allowing inclusion proofs for sampled chunks.
 *
 * <p>The statement's JSON is written and read by {@code ReceiptJson} beside this class, and the
 * bindings {@link #verify} checks after the signature are {@code ReceiptBindings}'s.
 *
 * <pre>{@code
 * ExecutionReceipt r = ExecutionReceipt.builder()
 *     .jobId("job-42").attempt(1).specHash(specHex).kernelId("sgemm").kernelHash(kernelHex)
 *     .nonce(buyerNonce).input(BufferDigest.of("A", a, chunk)).output(BufferDigest.of("C", c, chunk))
 *     .executorKind("cuda").device(new ReceiptDevice("H100", 132, "580.65", "13.0"))
 *     .startedAt(t0).endedAt(t1).deviceTimeNanos(ns).assurance(Assurance.signature())
 *     .build();
 * Envelope env = r.sign(providerKeys);
 * VerifiedReceipt ok = ExecutionReceipt.verify(env, expectations);   // throws on any mismatch
 * }</pre>
 *
 * @param jobId            the job's id
 * @param attempt          the attempt number, &ge; 1
 * @param specHash         hex SHA-256 of the job specification's canonical form
 * @param kernelId         the kernel's id
 * @param kernelHash       hex SHA-256 of the kernel's code
 * @param nonce            the buyer's challenge (hex or base64 of &ge; 16 random bytes)
 * @param inputs           input commitments (distinct names; copied)
 * @param outputs          output commitments (distinct names; copied)
 * @param merkleChunkBytes chunk size of every Merkle root in this receipt
 * @param executorKind     e.g. {@code "cpu"}, {@code "cuda"}
 * @param device           the device, or {@code null}
 * @param startedAt        start of execution
 * @param endedAt          end of execution (not before {@code startedAt})
 * @param deviceTimeNanos  device time consumed, &ge; 0
 * @param assurance        the assurance the provider claims
 * @param energy           the energy the provider states the execution used, or {@code null} when it
 *                         states none (the predicate then has no {@code energy} field, byte for byte
 *                         as before the field existed)
 */
public record ExecutionReceipt(String jobId, int attempt, String specHash, String kernelId, String kernelHash,
                               String nonce, List<BufferDigest> inputs, List<BufferDigest> outputs,
                               int merkleChunkBytes, String executorKind, ReceiptDevice device, Instant startedAt,
                               Instant endedAt, long deviceTimeNanos, Assurance assurance, ReceiptEnergy energy) {
    /** The predicate type of an execution receipt. */
    public static final String PREDICATE_TYPE = "https://depin.dev/execution/v1";
    /** The subject digest algorithm name: hex RFC 6962 Merkle root over SHA-256. */
    public static final String SUBJECT_DIGEST = "merkle-sha256";
    /** Fewest random bytes a nonce must carry. */
    public static final int MIN_NONCE_BYTES = 16;

    /*
     * A provider asks for a receipt's statement three times per job (its digest for the wipe
     * attestation, its bytes and digest for the batch): encoded and hashed once, remembered by
     * identity (a record of immutable components).
     */
    private static final dev.depin.crypto.IdentityMemo<ExecutionReceipt, byte[]> PAYLOAD =
            new dev.depin.crypto.IdentityMemo<>(256, ReceiptJson::payload);
    private static final dev.depin.crypto.IdentityMemo<ExecutionReceipt, String> DIGEST =
            new dev.depin.crypto.IdentityMemo<>(256,
                    r -> Hex.encode(Sha256.digest(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, PAYLOAD.get(r)))));

    /**
     * Validates and copies.
     *
     * @param jobId            the job's id
     * @param attempt          the attempt number, &ge; 1
     * @param specHash         hex SHA-256 of the job specification's canonical form
     * @param kernelId         the kernel's id
     * @param kernelHash       hex SHA-256 of the kernel's code
     * @param nonce            the buyer's challenge (hex or base64 of &ge; 16 random bytes)
     * @param inputs           input commitments (distinct names; copied)
     * @param outputs          output commitments (distinct names; copied)
     * @param merkleChunkBytes chunk size of every Merkle root in this receipt
     * @param executorKind     e.g. {@code "cpu"}, {@code "cuda"}
     * @param device           the device, or {@code null}
     * @param startedAt        start of execution
     * @param endedAt          end of execution (not before {@code startedAt})
     * @param deviceTimeNanos  device time consumed, &ge; 0
     * @param assurance        the assurance the provider claims
     * @param energy           the energy the provider states, or {@code null}; at most what
     *                         {@link ReceiptEnergy#MAX_WATTS} could draw over the execution
     */
    public ExecutionReceipt {
        requireText(jobId, "jobId");
        if (attempt < 1) {
            throw new InvalidArgumentException("attempt must be >= 1, got " + attempt);
        }
        requireSha256Hex(specHash, "specHash");
        requireText(kernelId, "kernelId");
        requireSha256Hex(kernelHash, "kernelHash");
        checkNonce(nonce);
        inputs = distinct(inputs, "inputs");
        outputs = distinct(outputs, "outputs");
        Merkle.checkChunkSize(merkleChunkBytes);
        requireText(executorKind, "executorKind");
        InvalidArgumentException.requireNonNull(startedAt, "startedAt");
        InvalidArgumentException.requireNonNull(endedAt, "endedAt");
        if (endedAt.isBefore(startedAt)) {
            throw new InvalidArgumentException("endedAt " + endedAt + " is before startedAt " + startedAt);
        }
        if (deviceTimeNanos < 0) {
            throw new InvalidArgumentException("deviceTimeNanos must be >= 0, got " + deviceTimeNanos);
        }
        InvalidArgumentException.requireNonNull(assurance, "assurance");
        if (energy != null) {
            String why = energy.implausibility(deviceTimeNanos, startedAt, endedAt);
            if (why != null) {
                throw new InvalidArgumentException(why);
            }
        }
    }

    /**
     * A receipt that states no energy.
     *
     * @param jobId            the job's id
     * @param attempt          the attempt number, &ge; 1
     * @param specHash         hex SHA-256 of the job specification's canonical form
     * @param kernelId         the kernel's id
     * @param kernelHash       hex SHA-256 of the kernel's code
     * @param nonce            the buyer's challenge (hex or base64 of &ge; 16 random bytes)
     * @param inputs           input commitments (distinct names; copied)
     * @param outputs          output commitments (distinct names; copied)
     * @param merkleChunkBytes chunk size of every Merkle root in this receipt
     * @param executorKind     e.g. {@code "cpu"}, {@code "cuda"}
     * @param device           the device, or {@code null}
     * @param startedAt        start of execution
     * @param endedAt          end of execution (not before {@code startedAt})
     * @param deviceTimeNanos  device time consumed, &ge; 0
     * @param assurance        the assurance the provider claims
     */
    public ExecutionReceipt(String jobId, int attempt, String specHash, String kernelId, String kernelHash,
                            String nonce, List<BufferDigest> inputs, List<BufferDigest> outputs,
                            int merkleChunkBytes, String executorKind, ReceiptDevice device, Instant startedAt,
                            Instant endedAt, long deviceTimeNanos, Assurance assurance) {
        this(jobId, attempt, specHash, kernelId, kernelHash, nonce, inputs, outputs, merkleChunkBytes, executorKind,
                device, startedAt, endedAt, deviceTimeNanos, assurance, null);
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
     * A fresh challenge nonce for a buyer to send: 32 random bytes as hex.
     *
     * @param random a cryptographically strong source
     * @return 64 hex characters
     */
    public static String newNonce(SecureRandom random) {
        byte[] b = new byte[32];
        InvalidArgumentException.requireNonNull(random, "random").nextBytes(b);
        return Hex.encode(b);
    }

    /**
     * The statement subjects: one per output, digest {@value #SUBJECT_DIGEST} = its root.
     *
     * @return the subjects
     */
    public List<Subject> subjects() {
        List<Subject> s = new ArrayList<>();
        for (BufferDigest o : outputs) {
            s.add(new Subject(o.name(), Map.of(SUBJECT_DIGEST, o.merkleRoot())));
        }
        return s;
    }

    /**
     * The canonical statement JSON (keys sorted, compact) that {@link #sign} signs.
     *
     * @return UTF-8 JSON
     */
    public byte[] toPayload() {
        return PAYLOAD.get(this).clone();
    }

    /**
     * The digest that names this receipt statement: hex SHA-256 of
     * {@link Dsse#pae(String, byte[]) PAE}({@code application/vnd.in-toto+json},
     * {@link #toPayload()}). It equals {@link Envelope#digestHex()} of {@link #sign}'s
     * envelope, and is what a wipe attestation's subject and a batch's Merkle leaf commit to
     * (see {@link WipeAttestation.Builder#receiptDigest(String)}, {@link BatchSigner}).
     *
     * @return 64 lower-case hex characters
     */
    public String statementDigestHex() {
        return DIGEST.get(this);
    }

    /**
     * Signs this receipt into a DSSE envelope.
     *
     * @param provider the provider's key (the one named in its offer)
     * @return the envelope
     */
    public Envelope sign(NodeKeyPair provider) {
        return Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, toPayload(), provider);
    }

    /**
     * Reads a receipt from an envelope <b>without verifying any signature or binding</b>
     * (for display and dispute records). Use {@link #verify} before trusting it.
     *
     * @param env the envelope
     * @return the receipt
     * @throws VerificationException if it is not an execution receipt statement
     */
    public static ExecutionReceipt readUnverified(Envelope env) {
        InvalidArgumentException.requireNonNull(env, "env");
        return StatementReader.receipt(env.payloadType(), env.payload()).receipt();
    }

    /**
     * Verifies every binding of a receipt, in this order, each failure with its own reason:
     * payloadType ({@code WRONG_PAYLOAD_TYPE}); signature by the expected provider key
     * ({@code BAD_SIGNATURE}, {@code KEY_MISMATCH}); statement well-formed
     * ({@code MALFORMED_STATEMENT}); predicateType ({@code WRONG_PREDICATE_TYPE}); job id;
     * attempt; nonce (no replay); spec hash; kernel hash (and id if expected); inputs =
     * the buyer's own commitments; Merkle chunk size; each output's size and root = the
     * bytes actually received (recomputed here from the received buffers, or compared with
     * the caller's precomputed digests); subjects = the predicate's outputs.
     *
     * @param env         the receipt envelope as received
     * @param expectations what the buyer knows independently
     * @return the receipt, its signer and a report of what was checked
     * @throws VerificationException on the first binding that does not hold
     */
    public static VerifiedReceipt verify(Envelope env, ReceiptExpectations expectations) {
        InvalidArgumentException.requireNonNull(env, "env");
        InvalidArgumentException.requireNonNull(expectations, "expectations");
        List<VerificationReport.Check> checks = new ArrayList<>();
        NodePublicKey key = expectations.signer();
        env.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, key);
        checks.add(VerificationReport.Check.passed("payloadType", Dsse.IN_TOTO_PAYLOAD_TYPE));
        checks.add(VerificationReport.Check.passed("signature", () -> "Ed25519 over DSSE PAE by " + key.nodeId().hex()));
        return ReceiptBindings.verify(StatementReader.receipt(env.payloadType(), env.payload()), expectations, checks,
                "signatureOnly",
                Assurance.signature());
    }

    static void requireText(String s, String what) {
        InvalidArgumentException.requireNonNull(s, what);
        if (s.isEmpty()) {
            throw new InvalidArgumentException(what + " must not be empty");
        }
    }

    static void requireSha256Hex(String s, String what) {
        if (!Hex.isLowerHex(s, 64)) {
            throw new InvalidArgumentException(what + " must be 64 lower-case hex characters (SHA-256), got " + s);
        }
    }

    /**
     * Validates a challenge nonce: hex or base64 (standard or URL-safe) of at least
     * {@value #MIN_NONCE_BYTES} bytes, at most 512 characters.
     *
     * @param nonce the nonce
     * @return {@code nonce}
     * @throws dev.depin.InvalidArgumentException if it is too short or not hex/base64
     */
    public static String checkNonce(String nonce) {
        InvalidArgumentException.requireNonNull(nonce, "nonce");
        if (nonce.length() > 512) {
            throw new InvalidArgumentException("nonce is longer than 512 characters");
        }
        if (nonce.length() % 2 == 0 && Hex.isLowerHex(nonce.toLowerCase(java.util.Locale.ROOT), nonce.length())) {
            if (nonce.length() / 2 >= MIN_NONCE_BYTES) {
                return nonce;
            }
        } else {
            try {
                byte[] b = (nonce.indexOf('-') >= 0 || nonce.indexOf('_') >= 0 ? Base64.getUrlDecoder()
                        : Base64.getDecoder()).decode(nonce);
                if (b.length >= MIN_NONCE_BYTES) {
                    return nonce;
                }
            } catch (IllegalArgumentException ignored) {
                // fall through to the error below
            }
        }
        throw new InvalidArgumentException("nonce must be hex or base64 of at least " + MIN_NONCE_BYTES
                + " random bytes: use ExecutionReceipt.newNonce(new SecureRandom())");
    }

    private static List<BufferDigest> distinct(List<BufferDigest> list, String what) {
        InvalidArgumentException.requireNonNull(list, what);
        Set<String> names = new HashSet<>();
        for (BufferDigest b : list) {
            InvalidArgumentException.requireNonNull(b, what + " element");
            if (!names.add(b.name())) {
                throw new InvalidArgumentException(what + " has two buffers named '" + b.name() + "'");
            }
        }
        return List.copyOf(list);
    }

    /**
     * Builds an {@link ExecutionReceipt}; {@link #build()} validates. It and {@link
     * WipeAttestation.Builder} share only the shape of their setters: every check is in the
     * record's constructor, so a common base would add a self-typed parameter to the public API
     * and hold no logic.
     */
    public static final class Builder {
        private String jobId;
        private int attempt = 1;
        private String specHash;
        private String kernelId;
        private String kernelHash;
        private String nonce;
        private final List<BufferDigest> inputs = new ArrayList<>();
        private final List<BufferDigest> outputs = new ArrayList<>();
        private int merkleChunkBytes = Merkle.DEFAULT_CHUNK_SIZE;
        private String executorKind;
        private ReceiptDevice device;
        private Instant startedAt;
        private Instant endedAt;
        private long deviceTimeNanos;
        private Assurance assurance = Assurance.signature();
        private ReceiptEnergy energy;

        Builder() {
        }

        /**
         * Sets the job id.
         *
         * @param v the job id
         * @return this
         */
        public Builder jobId(String v) {
            jobId = v;
            return this;
        }

        /**
         * Sets the attempt, &ge; 1 (default 1).
         *
         * @param v the attempt, &ge; 1 (default 1)
         * @return this
         */
        public Builder attempt(int v) {
            attempt = v;
            return this;
        }

        /**
         * Sets hex SHA-256 of the spec.
         *
         * @param v hex SHA-256 of the spec
         * @return this
         */
        public Builder specHash(String v) {
            specHash = v;
            return this;
        }

        /**
         * Sets the kernel id.
         *
         * @param v the kernel id
         * @return this
         */
        public Builder kernelId(String v) {
            kernelId = v;
            return this;
        }

        /**
         * Sets hex SHA-256 of the kernel code.
         *
         * @param v hex SHA-256 of the kernel code
         * @return this
         */
        public Builder kernelHash(String v) {
            kernelHash = v;
            return this;
        }

        /**
         * Sets the buyer's challenge nonce.
         *
         * @param v the buyer's challenge nonce
         * @return this
         */
        public Builder nonce(String v) {
            nonce = v;
            return this;
        }

        /**
         * Sets an input commitment.
         *
         * @param v an input commitment
         * @return this
         */
        public Builder input(BufferDigest v) {
            inputs.add(InvalidArgumentException.requireNonNull(v, "input"));
            return this;
        }

        /**
         * Sets an output commitment.
         *
         * @param v an output commitment
         * @return this
         */
        public Builder output(BufferDigest v) {
            outputs.add(InvalidArgumentException.requireNonNull(v, "output"));
            return this;
        }

        /**
         * Sets the Merkle chunk (leaf) size (default 4 KiB).
         *
         * @param v the Merkle chunk (leaf) size (default 4 KiB)
         * @return this
         */
        public Builder merkleChunkBytes(int v) {
            merkleChunkBytes = v;
            return this;
        }

        /**
         * Sets e.g. "cpu", "cuda".
         *
         * @param v e.g. "cpu", "cuda"
         * @return this
         */
        public Builder executorKind(String v) {
            executorKind = v;
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
         * Sets device time in nanoseconds.
         *
         * @param v device time in nanoseconds
         * @return this
         */
        public Builder deviceTimeNanos(long v) {
            deviceTimeNanos = v;
            return this;
        }

        /**
         * Sets the claimed assurance (default signature).
         *
         * @param v the claimed assurance (default signature)
         * @return this
         */
        public Builder assurance(Assurance v) {
            assurance = v;
            return this;
        }

        /**
         * Sets the energy the provider states the execution used (default none: the receipt
         * then has no {@code energy} field).
         *
         * @param v the energy, or null for none
         * @return this
         */
        public Builder energy(ReceiptEnergy v) {
            energy = v;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the receipt
         * @throws dev.depin.InvalidArgumentException or NullPointerException naming the bad field
         */
        public ExecutionReceipt build() {
            return new ExecutionReceipt(jobId, attempt, specHash, kernelId, kernelHash, nonce, inputs, outputs,
                    merkleChunkBytes, executorKind, device, startedAt, endedAt, deviceTimeNanos, assurance, energy);
        }
    }
}
