package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.BatchVerifier;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Dsse;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.ReceiptExpectations;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.VerificationReport.Check;
import dev.depin.crypto.WipeAttestation;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BufferDecl;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One offline check of an execution receipt: what the verifier is given decides what is
 * checked, and the {@link OfflineReport} lists both. Made by
 * {@link OfflineVerifier#receipt(Envelope, NodePublicKey)}; not thread-safe; use once.
 *
 * <p>Always checked: payload type, the Ed25519 signature by the given key, the in-toto
 * statement and predicate type, the Merkle chunk size ({@value JobSpec#MERKLE_CHUNK_BYTES}
 * bytes), that exactly the outputs the receipt names were given, each output's size and
 * RFC 6962 root recomputed from the bytes (files are streamed, never held in memory), and
 * that the statement's subjects equal the predicate's outputs. Checked when given: the
 * nonce ({@link #nonce}), the spec ({@link #spec}: its hash, kernel id and code hash, the
 * input roots and sizes it commits to, and the output names and sizes its kernel
 * produces), the inputs' roots ({@link #input}, all or none), the job id and attempt
 * ({@link #job}), and the wipe attestation ({@link #wipe}).
 *
 * <pre>{@code
 * OfflineReport r = OfflineVerifier.receipt(receiptEnvelope, providerKey)
 *         .output("c", Path.of("c.bin")).input("a", Path.of("a.bin")).input("b", Path.of("b.bin"))
 *         .spec(spec).nonce(sentNonceHex).wipe(wipeEnvelope)
 *         .verify();                       // throws VerificationException on the first failed check
 * }</pre>
 */
public final class ReceiptCheck {
    private final Envelope receipt;
    private final BatchedReceipt batched;
    private final NodePublicKey key;
    private final Map<String, Source> outputs = new LinkedHashMap<>();
    private final Map<String, Source> inputs = new LinkedHashMap<>();
    private String nonce;
    private JobSpec spec;
    private Envelope wipe;
    /** Set by a dispute re-check: the job and attempt the record names. */
    private String expectedJobId;
    private int expectedAttempt;
    private String jobSource;
    private String nonceSkipReason = "no nonce given: a replay of an older receipt for the same job and outputs "
            + "is not excluded";

    ReceiptCheck(Envelope receipt, NodePublicKey key) {
        this.receipt = InvalidArgumentException.requireNonNull(receipt, "receipt envelope");
        this.batched = null;
        this.key = InvalidArgumentException.requireNonNull(key, "provider key");
    }

    /** A check of a receipt signed as part of a batch: the batch's signature, the inclusion, then the same bindings. */
    ReceiptCheck(BatchedReceipt batched, NodePublicKey key) {
        this.receipt = null;
        this.batched = InvalidArgumentException.requireNonNull(batched, "batched receipt");
        this.key = InvalidArgumentException.requireNonNull(key, "provider key");
    }

    /**
     * An output as a file, streamed through the Merkle builder (any size, O(log n) memory).
     *
     * @param name the output's name in the receipt
     * @param file the bytes received
     * @return this
     */
    public ReceiptCheck output(String name, Path file) {
        Source.add(outputs, "output", name, file);
        return this;
    }

    /**
     * An output in memory (its remaining bytes; position unchanged).
     *
     * @param name the output's name in the receipt
     * @param data the bytes received
     * @return this
     */
    public ReceiptCheck output(String name, ByteBuffer data) {
        Source.add(outputs, "output", name, data);
        return this;
    }

    /**
     * An input as a file; give every input the receipt names, or none.
     *
     * @param name the input's name in the receipt
     * @param file the bytes the buyer sent
     * @return this
     */
    public ReceiptCheck input(String name, Path file) {
        Source.add(inputs, "input", name, file);
        return this;
    }

    /**
     * An input in memory (its remaining bytes; position unchanged).
     *
     * @param name the input's name in the receipt
     * @param data the bytes the buyer sent
     * @return this
     */
    public ReceiptCheck input(String name, ByteBuffer data) {
        Source.add(inputs, "input", name, data);
        return this;
    }

    /**
     * The challenge nonce the buyer sent with this attempt: hex (either case) or base64.
     *
     * @param nonce the nonce, or {@code null} not to check it
     * @return this
     * @throws InvalidArgumentException if it is neither hex nor base64 of at least 16 bytes
     */
    public ReceiptCheck nonce(String nonce) {
        this.nonce = nonce == null ? null : ExecutionReceipt.checkNonce(nonce);
        return this;
    }

    /**
     * The job spec the receipt must be for.
     *
     * @param spec the spec, or {@code null} not to check it
     * @return this
     */
    public ReceiptCheck spec(JobSpec spec) {
        this.spec = spec;
        return this;
    }

    /** @return whether this checks a receipt signed in a batch (its wipe attestation inside) */
    public boolean batched() {
        return batched != null;
    }

    /**
     * The wipe attestation to check against this receipt.
     *
     * @param wipe the envelope, or {@code null} not to check one
     * @return this
     * @throws InvalidArgumentException for a batched receipt, which carries its own
     */
    public ReceiptCheck wipe(Envelope wipe) {
        if (wipe != null && batched != null) {
            throw new InvalidArgumentException("a batched receipt carries its own wipe attestation, which is always "
                    + "checked: give no separate wipe envelope");
        }
        this.wipe = wipe;
        return this;
    }

    /**
     * The job id and attempt the buyer dispatched; the receipt must name both.
     *
     * @param jobId   the job id, or {@code null} not to check job id and attempt
     * @param attempt the attempt, at least 1
     * @return this
     * @throws InvalidArgumentException if {@code jobId} is empty or {@code attempt} below 1
     */
    public ReceiptCheck job(String jobId, int attempt) {
        if (jobId != null && (jobId.isEmpty() || attempt < 1)) {
            throw new InvalidArgumentException("job id must not be empty and attempt must be >= 1, got '" + jobId
                    + "' and " + attempt);
        }
        this.expectedJobId = jobId;
        this.expectedAttempt = attempt;
        this.jobSource = "the ones given";
        return this;
    }

    /** A dispute re-check binds the receipt to the record's job and attempt; it has no nonce. */
    ReceiptCheck boundTo(String jobId, int attempt, String whyNoNonce) {
        job(jobId, attempt);
        this.jobSource = "the dispute record's";
        this.nonceSkipReason = whyNoNonce;
        return this;
    }

    /**
     * Runs every check that what was given allows, cheapest first: all the receipt's
     * claims before any output byte is hashed.
     *
     * @return the checks made and those not made
     * @throws VerificationException      with the reason of the first check that fails
     * @throws MissingEvidenceException   if an output the receipt names (or, with some
     *                                    inputs given, an input) was not given
     * @throws EvidenceFileException      if a file given cannot be read
     */
    public OfflineReport verify() {
        List<Check> checks = new ArrayList<>();
        List<OfflineReport.NotChecked> skipped = new ArrayList<>();
        // Authenticate before reading any claim, so that nothing unsigned is trusted.
        ExecutionReceipt claimed;
        BatchVerifier batchVerifier = batched == null ? null : new BatchVerifier(1);
        if (batched != null) {
            // The batch signature, then this statement's inclusion in it (binding checks follow below).
            batchVerifier.verifyBatchSignature(batched, key);
            checks.add(Check.passed("payloadType", Dsse.IN_TOTO_PAYLOAD_TYPE));
            checks.add(Check.passed("batch signature", "Ed25519 over DSSE PAE of the provider's batch by the given key, "
                    + "node " + key.nodeId().hex()));
            claimed = batched.readReceiptUnverified();
        } else {
            receipt.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, key);
            checks.add(Check.passed("payloadType", Dsse.IN_TOTO_PAYLOAD_TYPE));
            checks.add(Check.passed("signature", "Ed25519 over DSSE PAE by the given key, node " + key.nodeId().hex()));
            claimed = ExecutionReceipt.readUnverified(receipt);
        }
        checks.add(Check.passed("predicateType", "in-toto Statement v1, " + ExecutionReceipt.PREDICATE_TYPE));

        ReceiptExpectations.Builder ex = ReceiptExpectations.builder().signer(key)
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES);
        if (expectedJobId != null) {
            ex.jobId(expectedJobId).attempt(expectedAttempt);
            checks.add(Check.passed("jobId", "the receipt's job and attempt " + expectedJobId + "#" + expectedAttempt
                    + " equal " + jobSource));
        } else {
            ex.jobId(claimed.jobId()).attempt(claimed.attempt());
            skipped.add(new OfflineReport.NotChecked("job id and attempt", "read from the receipt ("
                    + claimed.jobId() + "#" + claimed.attempt() + "); none were given to compare them with"));
        }
        if (nonce != null) {
            ex.nonce(matchHexCase(nonce, claimed.nonce()));
            checks.add(Check.passed("nonce", "equals the challenge given"));
        } else {
            ex.nonce(claimed.nonce());
            skipped.add(new OfflineReport.NotChecked("nonce", nonceSkipReason));
        }
        if (spec != null) {
            ex.specHash(spec.hash()).kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash());
            for (InputRef in : spec.inputs()) {
                ex.input(new BufferDigest(in.name(), in.merkleRoot(), in.bytes()));
            }
        } else {
            ex.specHash(claimed.specHash()).kernelHash(claimed.kernelHash());
            claimed.inputs().forEach(ex::input);
            skipped.add(new OfflineReport.NotChecked("spec", "no spec given: the spec hash, the kernel, the input "
                    + "roots and the output names and sizes a spec implies are read from the receipt unchecked"));
        }
        // Every claim (job, nonce, spec, kernel, inputs = the spec's, chunk size, subjects),
        // checked before a byte is hashed: outputs stand in as the receipt's own digests.
        claimed.outputs().forEach(ex::receivedOutputDigest);
        VerificationReport batchedWipe = null;
        if (batched != null) {
            dev.depin.crypto.VerifiedBatchedReceipt v = batchVerifier.verify(batched, ex.build());
            checks.add(Check.passed("batch inclusion", "the receipt and wipe statements are leaves of the batch's "
                    + "signed Merkle root over " + v.batchStatements() + " statements"));
            batchedWipe = v.wipeReport();
        } else {
            ExecutionReceipt.verify(receipt, ex.build());
        }
        if (spec != null) {
            checks.add(Check.passed("specHash", "equals SHA-256 of the spec's canonical form, " + spec.hash()));
            checks.add(Check.passed("kernel", "id and code hash equal the spec's: " + spec.kernel().id() + " "
                    + spec.kernel().codeHash()));
            checks.add(Check.passed("spec inputs", claimed.inputs().size()
                    + " input(s): names, sizes and roots in the receipt equal the spec's"));
            checkSpecOutputs(claimed);
            checks.add(Check.passed("spec outputs", "names and sizes equal what the spec's kernel produces: "
                    + describe(spec.outputs())));
        }
        checks.add(Check.passed("chunk size", JobSpec.MERKLE_CHUNK_BYTES + "-byte Merkle chunks"));
        if (claimed.energy() != null) {
            checks.add(Check.passed("energy", claimed.energy().asChecked()));
        }

        checkInputs(claimed, checks, skipped);
        checkOutputs(claimed, checks);

        if (batchedWipe != null) {
            for (Check wc : batchedWipe.checks()) {
                checks.add(new Check("wipe " + wc.name(), wc.passed(), wc.detail()));
            }
        } else if (wipe != null) {
            VerificationReport w = WipeAttestation.verify(wipe, receipt, key, WipeAttestation.buffersOf(claimed),
                    WipeAttestation.buffersInCacheOf(claimed));
            for (Check wc : w.checks()) {
                checks.add(new Check("wipe " + wc.name(), wc.passed(), wc.detail()));
            }
        } else {
            skipped.add(new OfflineReport.NotChecked("wipe attestation", "none given: that the provider attests "
                    + "to overwriting the job's buffers is not checked"));
        }
        return new OfflineReport(new VerificationReport("offline", checks, Assurance.signature()), skipped);
    }

    private void checkSpecOutputs(ExecutionReceipt claimed) {
        Map<String, BufferDigest> got = byName(claimed.outputs());
        Map<String, Long> want = new LinkedHashMap<>();
        for (BufferDecl d : spec.outputs()) {
            want.put(d.name(), d.bytes());
        }
        if (!got.keySet().equals(want.keySet())) {
            throw new VerificationException(Reason.OUTPUT_ROOT_MISMATCH, "the receipt commits to outputs "
                    + got.keySet() + " but the spec's kernel " + spec.kernel().id() + " produces " + want.keySet()
                    + ": the receipt is not for this spec's work; reject it");
        }
        for (Map.Entry<String, Long> w : want.entrySet()) {
            long bytes = got.get(w.getKey()).bytes();
            if (bytes != w.getValue()) {
                throw new VerificationException(Reason.OUTPUT_SIZE_MISMATCH, "the receipt commits to output '"
                        + w.getKey() + "' of " + bytes + " bytes but the spec's shapes give " + w.getValue()
                        + " bytes: the receipt is not for this spec's work; reject it",
                        new Evidence("output-size", w.getKey(), Long.toString(w.getValue()), Long.toString(bytes), ""));
            }
        }
    }

    private void checkInputs(ExecutionReceipt claimed, List<Check> checks, List<OfflineReport.NotChecked> skipped) {
        Map<String, BufferDigest> named = byName(claimed.inputs());
        if (inputs.isEmpty()) {
            skipped.add(new OfflineReport.NotChecked("input data", spec != null
                    ? "no inputs given: the receipt's input roots equal the spec's, but that the spec's roots are "
                    + "those of your data is not checked"
                    : "no inputs and no spec given: the receipt's input roots are compared with nothing"));
            return;
        }
        for (String name : inputs.keySet()) {
            if (!named.containsKey(name)) {
                throw new VerificationException(Reason.INPUT_ROOT_MISMATCH, "input '" + name + "' was given but the "
                        + "receipt names inputs " + named.keySet() + ": the provider did not read it; check the name");
            }
        }
        for (BufferDigest c : named.values()) {
            Source s = inputs.get(c.name());
            if (s == null) {
                throw new MissingEvidenceException("the receipt names input '" + c.name() + "', which was not "
                        + "given: pass every input the receipt names, or none");
            }
            long size = s.size();
            if (size != c.bytes()) {
                throw new VerificationException(Reason.INPUT_ROOT_MISMATCH, s.what + " has " + size
                        + " bytes but the receipt says the provider read " + c.bytes()
                        + ": the provider computed on other data, or this is not the job's input; reject it",
                        new Evidence("input-size", c.name(), Long.toString(size), Long.toString(c.bytes()), ""));
            }
            BufferDigest d = s.digest(c.name(), JobSpec.MERKLE_CHUNK_BYTES);
            if (!d.merkleRoot().equals(c.merkleRoot())) {
                throw new VerificationException(Reason.INPUT_ROOT_MISMATCH, s.what + " has Merkle root "
                        + d.merkleRoot() + " but the receipt" + (spec != null ? " and the spec commit" : " commits")
                        + " to " + c.merkleRoot() + ": the provider computed on other data, or this is not the job's "
                        + "input; reject it", new Evidence("input-root", c.name(), d.merkleRoot(), c.merkleRoot(), ""));
            }
        }
        checks.add(Check.passed("inputs", named.size() + " input root(s) recomputed from the bytes given equal the "
                + "receipt's" + (spec != null ? " and the spec's" : "")));
    }

    private void checkOutputs(ExecutionReceipt claimed, List<Check> checks) {
        Map<String, BufferDigest> named = byName(claimed.outputs());
        for (String name : outputs.keySet()) {
            if (!named.containsKey(name)) {
                throw new VerificationException(Reason.OUTPUT_ROOT_MISMATCH, "output '" + name + "' was given but the "
                        + "receipt commits to outputs " + named.keySet() + " only: nothing vouches for these bytes; "
                        + "check the name");
            }
        }
        for (BufferDigest c : named.values()) {
            if (!outputs.containsKey(c.name())) {
                throw new MissingEvidenceException("the receipt commits to output '" + c.name() + "' of " + c.bytes()
                        + " bytes, which was not given: pass every output the receipt names");
            }
        }
        // Sizes of all first (no reading), then one streaming pass per output.
        for (BufferDigest c : named.values()) {
            Source s = outputs.get(c.name());
            long size = s.size();
            if (size != c.bytes()) {
                throw new VerificationException(Reason.OUTPUT_SIZE_MISMATCH, s.what + " has " + size + " bytes but "
                        + "the receipt commits to " + c.bytes() + " (truncated or padded in transit, or a false "
                        + "receipt): reject it and fetch the output again",
                        new Evidence("output-size", c.name(), Long.toString(c.bytes()), Long.toString(size), ""));
            }
        }
        for (BufferDigest c : named.values()) {
            Source s = outputs.get(c.name());
            BufferDigest d = s.digest(c.name(), JobSpec.MERKLE_CHUNK_BYTES);
            if (d.bytes() != c.bytes()) {
                throw new VerificationException(Reason.OUTPUT_SIZE_MISMATCH, s.what + " changed size while it was "
                        + "read (" + d.bytes() + " bytes, the receipt commits to " + c.bytes() + "): verify a copy "
                        + "that nothing writes to");
            }
            if (!d.merkleRoot().equals(c.merkleRoot())) {
                throw new VerificationException(Reason.OUTPUT_ROOT_MISMATCH, s.what + " has Merkle root "
                        + d.merkleRoot() + " but the receipt commits to " + c.merkleRoot() + ": the data was altered "
                        + "after signing or the receipt is false; reject it",
                        new Evidence("output-root", c.name(), c.merkleRoot(), d.merkleRoot(), ""));
            }
        }
        checks.add(Check.passed("outputs", named.size() + " output(s): size and RFC 6962 root ("
                + JobSpec.MERKLE_CHUNK_BYTES + "-byte chunks) recomputed from the bytes given equal the receipt's"));
        checks.add(Check.passed("subjects", "the statement's subjects equal the predicate's outputs"));
    }

    /** A hex nonce given in upper case matches the same bytes written in lower case. */
    private static String matchHexCase(String given, String claimed) {
        String lower = given.toLowerCase(Locale.ROOT);
        if (given.length() % 2 == 0 && Hex.isLowerHex(lower, lower.length())
                && claimed.toLowerCase(Locale.ROOT).equals(lower)) {
            return claimed;
        }
        return given;
    }

    private static String describe(List<BufferDecl> decls) {
        List<String> parts = new ArrayList<>();
        for (BufferDecl d : decls) {
            parts.add(d.name() + " (" + d.bytes() + " bytes)");
        }
        return String.join(", ", parts);
    }

    private static Map<String, BufferDigest> byName(List<BufferDigest> list) {
        Map<String, BufferDigest> m = new LinkedHashMap<>();
        for (BufferDigest b : list) {
            m.put(b.name(), b);
        }
        return m;
    }

    /** Adds an input or output a dispute re-check was given. */
    void put(String name, Source s, boolean input) {
        Source.put(input ? inputs : outputs, input ? "input" : "output", name, s);
    }
}
