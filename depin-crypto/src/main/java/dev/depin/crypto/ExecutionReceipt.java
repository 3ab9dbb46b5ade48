package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.internal.Json;
import dev.depin.crypto.internal.Statements;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
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
 */
public record ExecutionReceipt(String jobId, int attempt, String specHash, String kernelId, String kernelHash,
                               String nonce, List<BufferDigest> inputs, List<BufferDigest> outputs,
                               int merkleChunkBytes, String executorKind, ReceiptDevice device, Instant startedAt,
                               Instant endedAt, long deviceTimeNanos, Assurance assurance) {
    /** The predicate type of an execution receipt. */
    public static final String PREDICATE_TYPE = "https://depin.dev/execution/v1";
    /** The subject digest algorithm name: hex RFC 6962 Merkle root over SHA-256. */
    public static final String SUBJECT_DIGEST = "merkle-sha256";
    /** Fewest random bytes a nonce must carry. */
    public static final int MIN_NONCE_BYTES = 16;

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
        ObjectNode p = Json.object();
        p.put("jobId", jobId);
        p.put("attempt", attempt);
        p.put("specHash", specHash);
        p.put("kernelId", kernelId);
        p.put("kernelHash", kernelHash);
        p.put("nonce", nonce);
        p.set("inputs", buffers(inputs));
        p.set("outputs", buffers(outputs));
        p.put("merkleChunkBytes", merkleChunkBytes);
        p.put("executorKind", executorKind);
        if (device != null) {
            p.set("device", deviceJson(device));
        }
        p.put("startedAt", startedAt.toString());
        p.put("endedAt", endedAt.toString());
        p.put("deviceTimeNanos", deviceTimeNanos);
        p.set("assurance", assuranceJson(assurance));
        return Statements.encode(subjects(), PREDICATE_TYPE, p);
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
        return Hex.encode(Sha256.digest(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, toPayload())));
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
        Statements.Parsed st = Statements.parse(env, PREDICATE_TYPE);
        return fromPredicate(st.predicate());
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
        checks.add(VerificationReport.Check.passed("signature", "Ed25519 over DSSE PAE by " + key.nodeId().hex()));
        return verifyBindings(Statements.parse(env, PREDICATE_TYPE), expectations, checks, "signatureOnly",
                Assurance.signature());
    }

    /**
     * Every binding after the signature (shared by the single-envelope and the batch path):
     * predicate type, job, attempt, nonce, spec, kernel, inputs, chunk size, outputs, subjects.
     */
    static VerifiedReceipt verifyBindings(Statements.Parsed st, ReceiptExpectations expectations,
                                          List<VerificationReport.Check> checks, String policy, Assurance assurance) {
        NodePublicKey key = expectations.signer();
        ExecutionReceipt r = fromPredicate(st.predicate());
        checks.add(VerificationReport.Check.passed("predicateType", PREDICATE_TYPE));

        expect(r.jobId.equals(expectations.jobId()), Reason.JOB_ID_MISMATCH,
                "receipt is for job '" + r.jobId + "' but this is job '" + expectations.jobId()
                        + "': a receipt from another job was replayed; reject it and reschedule");
        checks.add(VerificationReport.Check.passed("jobId", r.jobId));
        expect(r.attempt == expectations.attempt(), Reason.ATTEMPT_MISMATCH,
                "receipt is for attempt " + r.attempt + " but attempt " + expectations.attempt()
                        + " was dispatched: reject it");
        checks.add(VerificationReport.Check.passed("attempt", Integer.toString(r.attempt)));
        expect(MessageDigest.isEqual(r.nonce.getBytes(StandardCharsets.UTF_8),
                        expectations.nonce().getBytes(StandardCharsets.UTF_8)), Reason.NONCE_MISMATCH,
                "receipt does not echo the challenge nonce sent for this attempt: it was replayed or made for "
                        + "another request; reject it");
        checks.add(VerificationReport.Check.passed("nonce", "equals the buyer's challenge"));
        expect(r.specHash.equals(expectations.specHash()), Reason.SPEC_HASH_MISMATCH,
                "receipt names spec " + r.specHash + " but the job's spec hashes to " + expectations.specHash()
                        + ": the provider ran another specification; reject it");
        checks.add(VerificationReport.Check.passed("specHash", r.specHash));
        expect(r.kernelHash.equals(expectations.kernelHash()), Reason.KERNEL_HASH_MISMATCH,
                "receipt names kernel code " + r.kernelHash + " but the job's kernel hashes to "
                        + expectations.kernelHash() + ": the provider ran other code; reject it");
        if (expectations.kernelId() != null) {
            expect(r.kernelId.equals(expectations.kernelId()), Reason.KERNEL_HASH_MISMATCH,
                    "receipt names kernel '" + r.kernelId + "' but '" + expectations.kernelId() + "' was requested");
        }
        checks.add(VerificationReport.Check.passed("kernelHash", r.kernelId + " " + r.kernelHash));

        checkInputs(r, expectations.inputs());
        checks.add(VerificationReport.Check.passed("inputs", r.inputs.size() + " input root(s) equal the buyer's own"));

        expect(r.merkleChunkBytes == expectations.merkleChunkBytes(), Reason.CHUNK_SIZE_MISMATCH,
                "receipt commits with " + r.merkleChunkBytes + "-byte Merkle chunks but "
                        + expectations.merkleChunkBytes() + " were agreed: reject it");

        Map<String, BufferDigest> received = expectations.receivedOutputDigests(r.merkleChunkBytes);
        Map<String, BufferDigest> claimed = byName(r.outputs);
        if (!claimed.keySet().equals(received.keySet())) {
            throw new VerificationException(Reason.OUTPUT_ROOT_MISMATCH, "receipt commits to outputs "
                    + claimed.keySet() + " but outputs " + received.keySet() + " were received: reject it");
        }
        for (BufferDigest got : received.values()) {
            BufferDigest c = claimed.get(got.name());
            if (c.bytes() != got.bytes()) {
                throw new VerificationException(Reason.OUTPUT_SIZE_MISMATCH, "output '" + got.name() + "': receipt says "
                        + c.bytes() + " bytes but " + got.bytes() + " bytes were received (truncated or padded "
                        + "in transit, or a false receipt): reject it and fetch the output again",
                        new Evidence("output-size", got.name(), Long.toString(c.bytes()), Long.toString(got.bytes()), ""));
            }
            if (!c.merkleRoot().equals(got.merkleRoot())) {
                throw new VerificationException(Reason.OUTPUT_ROOT_MISMATCH, "output '" + got.name()
                        + "': the received bytes have Merkle root " + got.merkleRoot() + " but the receipt commits to "
                        + c.merkleRoot() + ": the data was altered after signing or the receipt is false; reject it",
                        new Evidence("output-root", got.name(), c.merkleRoot(), got.merkleRoot(), ""));
            }
        }
        checks.add(VerificationReport.Check.passed("outputs", received.size()
                + " output(s): size and RFC 6962 root (" + r.merkleChunkBytes + "-byte chunks) equal the bytes received"));

        checkSubjects(st.subjects(), r);
        checks.add(VerificationReport.Check.passed("subjects", "statement subjects equal the predicate's outputs"));
        VerificationReport report = new VerificationReport(policy, checks, assurance);
        return new VerifiedReceipt(r, key.nodeId(), report);
    }

    private static void checkInputs(ExecutionReceipt r, Map<String, BufferDigest> expected) {
        Map<String, BufferDigest> claimed = byName(r.inputs);
        if (!claimed.keySet().equals(expected.keySet())) {
            throw new VerificationException(Reason.INPUT_ROOT_MISMATCH, "receipt names inputs " + claimed.keySet()
                    + " but the job has inputs " + expected.keySet() + ": reject it");
        }
        for (BufferDigest e : expected.values()) {
            BufferDigest c = claimed.get(e.name());
            if (!c.merkleRoot().equals(e.merkleRoot()) || c.bytes() != e.bytes()) {
                throw new VerificationException(Reason.INPUT_ROOT_MISMATCH, "input '" + e.name() + "': receipt says root "
                        + c.merkleRoot() + " / " + c.bytes() + " bytes but the buyer sent " + e.merkleRoot() + " / "
                        + e.bytes() + " bytes: the provider computed on other data; reject it",
                        new Evidence("input-root", e.name(), e.merkleRoot(), c.merkleRoot(), ""));
            }
        }
    }

    private static void checkSubjects(List<Subject> subjects, ExecutionReceipt r) {
        Map<String, BufferDigest> outs = byName(r.outputs);
        Set<String> seen = new HashSet<>();
        for (Subject s : subjects) {
            BufferDigest o = outs.get(s.name());
            if (o == null || !seen.add(s.name())) {
                throw new VerificationException(Reason.SUBJECT_MISMATCH, "statement subject '" + s.name()
                        + "' is not exactly one of the predicate's outputs " + outs.keySet() + ": reject it");
            }
            if (!o.merkleRoot().equals(s.digest().get(SUBJECT_DIGEST))) {
                throw new VerificationException(Reason.SUBJECT_MISMATCH, "statement subject '" + s.name() + "' has "
                        + SUBJECT_DIGEST + " " + s.digest().get(SUBJECT_DIGEST) + " but the predicate says "
                        + o.merkleRoot() + ": reject it");
            }
        }
        if (seen.size() != outs.size()) {
            throw new VerificationException(Reason.SUBJECT_MISMATCH, "statement has subjects " + seen
                    + " but the predicate has outputs " + outs.keySet() + ": reject it");
        }
    }

    static Map<String, BufferDigest> byName(List<BufferDigest> list) {
        Map<String, BufferDigest> m = new LinkedHashMap<>();
        for (BufferDigest b : list) {
            m.put(b.name(), b);
        }
        return m;
    }

    private static void expect(boolean ok, Reason reason, String message) {
        if (!ok) {
            throw new VerificationException(reason, message);
        }
    }

    static ExecutionReceipt fromPredicate(JsonNode p) {
        String jobId = Statements.text(p, "jobId");
        int attempt = Statements.int32(p, "attempt");
        String specHash = Statements.text(p, "specHash");
        String kernelId = Statements.text(p, "kernelId");
        String kernelHash = Statements.text(p, "kernelHash");
        String nonce = Statements.text(p, "nonce");
        List<BufferDigest> inputs = readBuffers(Statements.array(p, "inputs"));
        List<BufferDigest> outputs = readBuffers(Statements.array(p, "outputs"));
        int chunk = Statements.int32(p, "merkleChunkBytes");
        String kind = Statements.text(p, "executorKind");
        JsonNode d = p.get("device");
        ReceiptDevice device = d == null || d.isNull() ? null : readDevice(d);
        Instant started = Statements.instant(p, "startedAt");
        Instant ended = Statements.instant(p, "endedAt");
        long deviceNanos = Statements.integer(p, "deviceTimeNanos");
        Assurance assurance = readAssurance(Statements.object(p, "assurance"));
        return Statements.build(() -> new ExecutionReceipt(jobId, attempt, specHash, kernelId, kernelHash, nonce,
                inputs, outputs, chunk, kind, device, started, ended, deviceNanos, assurance));
    }

    static ObjectNode deviceJson(ReceiptDevice d) {
        ObjectNode o = Json.object();
        o.put("model", d.model());
        if (d.smCount() == null) {
            o.putNull("smCount");
        } else {
            o.put("smCount", d.smCount());
        }
        o.put("driver", d.driver());
        o.put("cudaVersion", d.cudaVersion());
        return o;
    }

    static ReceiptDevice readDevice(JsonNode d) {
        if (!d.isObject()) {
            throw Statements.malformed("'device' is not an object", null);
        }
        return Statements.build(() -> new ReceiptDevice(Statements.optText(d, "model"), Statements.optInt32(d, "smCount"),
                Statements.optText(d, "driver"), Statements.optText(d, "cudaVersion")));
    }

    static ObjectNode assuranceJson(Assurance a) {
        ObjectNode o = Json.object();
        o.put("level", a.level().name());
        ObjectNode n = o.putObject("numbers");
        a.numbers().forEach(n::put);
        return o;
    }

    static Assurance readAssurance(JsonNode a) {
        String level = Statements.text(a, "level");
        Assurance.Level l;
        try {
            l = Assurance.Level.valueOf(level);
        } catch (IllegalArgumentException e) {
            throw Statements.malformed("unknown assurance level '" + level + "'", e);
        }
        Map<String, Double> numbers = new HashMap<>();
        JsonNode n = a.get("numbers");
        if (n != null && !n.isNull()) {
            if (!n.isObject()) {
                throw Statements.malformed("assurance 'numbers' is not an object", null);
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isNumber()) {
                    throw Statements.malformed("assurance number '" + e.getKey() + "' is not a number", null);
                }
                numbers.put(e.getKey(), e.getValue().asDouble());
            }
        }
        return Statements.build(() -> new Assurance(l, numbers));
    }

    private static ArrayNode buffers(List<BufferDigest> list) {
        ArrayNode a = Json.array();
        for (BufferDigest b : list) {
            ObjectNode o = a.addObject();
            o.put("name", b.name());
            o.put("merkleRoot", b.merkleRoot());
            o.put("bytes", b.bytes());
        }
        return a;
    }

    private static List<BufferDigest> readBuffers(JsonNode arr) {
        List<BufferDigest> out = new ArrayList<>();
        for (Iterator<JsonNode> it = arr.elements(); it.hasNext(); ) {
            JsonNode b = it.next();
            if (!b.isObject()) {
                throw Statements.malformed("a buffer entry is not an object", null);
            }
            String name = Statements.text(b, "name");
            String root = Statements.text(b, "merkleRoot");
            long bytes = Statements.integer(b, "bytes");
            out.add(Statements.build(() -> new BufferDigest(name, root, bytes)));
        }
        return out;
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

    /** Builds an {@link ExecutionReceipt}; {@link #build()} validates. */
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
         * Validates and builds.
         *
         * @return the receipt
         * @throws dev.depin.InvalidArgumentException or NullPointerException naming the bad field
         */
        public ExecutionReceipt build() {
            return new ExecutionReceipt(jobId, attempt, specHash, kernelId, kernelHash, nonce, inputs, outputs,
                    merkleChunkBytes, executorKind, device, startedAt, endedAt, deviceTimeNanos, assurance);
        }
    }
}
