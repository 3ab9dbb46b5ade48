package dev.depin.crypto;

import dev.depin.crypto.VerificationException.Reason;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What binds a signed receipt to the buyer's job, checked in order with a reason for each
 * failure: {@link ExecutionReceipt#verify} runs them after the envelope's signature, {@link
 * BatchVerifier} after the batch's signature and the receipt's inclusion proof.
 */
final class ReceiptBindings {
    private ReceiptBindings() {
    }

    /**
     * Every binding after the signature (shared by the single-envelope and the batch path):
     * predicate type, job, attempt, nonce, spec, kernel, inputs, chunk size, outputs, subjects, and
     * the stated energy's bounds when there is one.
     *
     * @param st           the statement's subjects and receipt, its signature already checked
     * @param expectations what the buyer knows independently
     * @param checks       the checks passed so far; the bindings' are added
     * @param policy       the report's policy name
     * @param assurance    the report's assurance
     * @return the receipt, its signer and the report
     * @throws VerificationException on the first binding that does not hold
     */
    static VerifiedReceipt verify(StatementReader.Receipt st, ReceiptExpectations expectations,
                                  List<VerificationReport.Check> checks, String policy, Assurance assurance) {
        NodePublicKey key = expectations.signer();
        ExecutionReceipt r = st.receipt();
        checks.add(VerificationReport.Check.passed("predicateType", ExecutionReceipt.PREDICATE_TYPE));

        expect(r.jobId().equals(expectations.jobId()), Reason.JOB_ID_MISMATCH,
                "receipt is for job '" + r.jobId() + "' but this is job '" + expectations.jobId()
                        + "': a receipt from another job was replayed; reject it and reschedule");
        checks.add(VerificationReport.Check.passed("jobId", r.jobId()));
        expect(r.attempt() == expectations.attempt(), Reason.ATTEMPT_MISMATCH,
                "receipt is for attempt " + r.attempt() + " but attempt " + expectations.attempt()
                        + " was dispatched: reject it");
        checks.add(VerificationReport.Check.passed("attempt", Integer.toString(r.attempt())));
        expect(MessageDigest.isEqual(r.nonce().getBytes(StandardCharsets.UTF_8),
                        expectations.nonce().getBytes(StandardCharsets.UTF_8)), Reason.NONCE_MISMATCH,
                "receipt does not echo the challenge nonce sent for this attempt: it was replayed or made for "
                        + "another request; reject it");
        checks.add(VerificationReport.Check.passed("nonce", "equals the buyer's challenge"));
        expect(r.specHash().equals(expectations.specHash()), Reason.SPEC_HASH_MISMATCH,
                "receipt names spec " + r.specHash() + " but the job's spec hashes to " + expectations.specHash()
                        + ": the provider ran another specification; reject it");
        checks.add(VerificationReport.Check.passed("specHash", r.specHash()));
        expect(r.kernelHash().equals(expectations.kernelHash()), Reason.KERNEL_HASH_MISMATCH,
                "receipt names kernel code " + r.kernelHash() + " but the job's kernel hashes to "
                        + expectations.kernelHash() + ": the provider ran other code; reject it");
        if (expectations.kernelId() != null) {
            expect(r.kernelId().equals(expectations.kernelId()), Reason.KERNEL_HASH_MISMATCH,
                    "receipt names kernel '" + r.kernelId() + "' but '" + expectations.kernelId() + "' was requested");
        }
        checks.add(VerificationReport.Check.passed("kernelHash", () -> r.kernelId() + " " + r.kernelHash()));

        checkInputs(r, expectations.inputs());
        int inputs = r.inputs().size();
        checks.add(VerificationReport.Check.passed("inputs", () -> inputs + " input root(s) equal the buyer's own"));

        expect(r.merkleChunkBytes() == expectations.merkleChunkBytes(), Reason.CHUNK_SIZE_MISMATCH,
                "receipt commits with " + r.merkleChunkBytes() + "-byte Merkle chunks but "
                        + expectations.merkleChunkBytes() + " were agreed: reject it");

        Map<String, BufferDigest> received = expectations.receivedOutputDigests(r.merkleChunkBytes());
        Map<String, BufferDigest> claimed = byName(r.outputs());
        Map<String, Long> held = expectations.heldOutputs();
        java.util.Set<String> expectedNames = new java.util.LinkedHashSet<>(received.keySet());
        expectedNames.addAll(held.keySet());
        if (!claimed.keySet().equals(expectedNames)) {
            throw new VerificationException(Reason.OUTPUT_ROOT_MISMATCH, "receipt commits to outputs "
                    + claimed.keySet() + " but outputs " + received.keySet() + " were received"
                    + (held.isEmpty() ? "" : " and " + held.keySet() + " left on the provider") + ": reject it");
        }
        for (Map.Entry<String, Long> h : held.entrySet()) {
            BufferDigest c = claimed.get(h.getKey());
            if (c.bytes() != h.getValue()) {
                throw new VerificationException(Reason.OUTPUT_SIZE_MISMATCH, "output '" + h.getKey() + "' left on the "
                        + "provider: receipt says " + c.bytes() + " bytes but the job implies " + h.getValue()
                        + ": a false receipt; reject it",
                        new Evidence("output-size", h.getKey(), Long.toString(h.getValue()), Long.toString(c.bytes()),
                                ""));
            }
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
        if (!received.isEmpty()) {
            int outputs = received.size();
            checks.add(VerificationReport.Check.passed("outputs", () -> outputs
                    + " output(s): size and RFC 6962 root (" + r.merkleChunkBytes() + "-byte chunks) equal the bytes "
                    + "received"));
        }
        if (!held.isEmpty()) {
            checks.add(VerificationReport.Check.passed("outputs-held", held.size() + " output(s) " + held.keySet()
                    + " left on the provider: size as the job implies; root as signed, none of its bytes received"));
        }

        checkSubjects(st.subjects(), r);
        checks.add(VerificationReport.Check.passed("subjects", "statement subjects equal the predicate's outputs"));
        if (r.energy() != null) {
            // Well-formed and within what a device could draw (checked when it was read); the number
            // itself is the provider's signed claim: nothing here can measure it.
            checks.add(VerificationReport.Check.passed("energy", r.energy().asChecked()));
        }
        VerificationReport report = new VerificationReport(policy, checks, assurance);
        return new VerifiedReceipt(r, key.nodeId(), report);
    }

    private static void checkInputs(ExecutionReceipt r, Map<String, BufferDigest> expected) {
        Map<String, BufferDigest> claimed = byName(r.inputs());
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
        Map<String, BufferDigest> outs = byName(r.outputs());
        Set<String> seen = new HashSet<>();
        for (Subject s : subjects) {
            BufferDigest o = outs.get(s.name());
            if (o == null || !seen.add(s.name())) {
                throw new VerificationException(Reason.SUBJECT_MISMATCH, "statement subject '" + s.name()
                        + "' is not exactly one of the predicate's outputs " + outs.keySet() + ": reject it");
            }
            if (!o.merkleRoot().equals(s.digest().get(ExecutionReceipt.SUBJECT_DIGEST))) {
                throw new VerificationException(Reason.SUBJECT_MISMATCH, "statement subject '" + s.name() + "' has "
                        + ExecutionReceipt.SUBJECT_DIGEST + " " + s.digest().get(ExecutionReceipt.SUBJECT_DIGEST) + " but the predicate says "
                        + o.merkleRoot() + ": reject it");
            }
        }
        if (seen.size() != outs.size()) {
            throw new VerificationException(Reason.SUBJECT_MISMATCH, "statement has subjects " + seen
                    + " but the predicate has outputs " + outs.keySet() + ": reject it");
        }
    }

    private static Map<String, BufferDigest> byName(List<BufferDigest> list) {
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
}
