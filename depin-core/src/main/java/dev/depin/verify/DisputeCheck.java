package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.VerificationReport.Check;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.Freivalds;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.Recompute;
import dev.depin.job.DisputeRecord;
import dev.depin.job.InputRef;
import dev.depin.InvalidJobException;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One offline re-check of a {@link DisputeRecord}, made by
 * {@link OfflineVerifier#dispute(DisputeRecord)}; not thread-safe; use once.
 *
 * <p>A dispute is upheld only when all of these hold: the record's provider id is the
 * SHA-256 of the record's key; that key equals the provider's key when one is given
 * ({@link #providerKey}); the receipt is signed by that key, for the record's job and
 * attempt, for the record's spec (hash, kernel, input roots, output names and sizes);
 * the inputs and outputs given are the ones the receipt commits to; the record's reason
 * is {@code RESULT_MISMATCH} with evidence; and the check that failed (Freivalds with the recorded seed, or recomputation on the CPU reference) fails
 * again on those bytes. The record's own message and expected/actual values are never
 * trusted.
 *
 * <pre>{@code
 * OfflineReport upheld = OfflineVerifier.dispute(record).providerKey(offerKey)
 *         .input("a", Path.of("a.bin")).input("b", Path.of("b.bin")).output("c", Path.of("c.bin"))
 *         .verify();      // DisputeNotUpheldException if the output passes the check after all
 * }</pre>
 */
public final class DisputeCheck {
    private final DisputeRecord record;
    private final Map<String, Source> inputs = new LinkedHashMap<>();
    private final Map<String, Source> outputs = new LinkedHashMap<>();
    private NodePublicKey expectedKey;

    DisputeCheck(DisputeRecord record) {
        this.record = InvalidArgumentException.requireNonNull(record, "dispute record");
    }

    /**
     * The key the accused provider's offer names; the record's key must be this key.
     *
     * @param key the key, or {@code null} to take the record's key as it is (reported as not checked)
     * @return this
     */
    public DisputeCheck providerKey(NodePublicKey key) {
        this.expectedKey = key;
        return this;
    }

    /**
     * A job input as a file (mapped read-only, not copied onto the heap).
     *
     * @param name the input's name in the spec
     * @param file the bytes
     * @return this
     */
    public DisputeCheck input(String name, Path file) {
        Source.add(inputs, "input", name, file);
        return this;
    }

    /**
     * A job input in memory (remaining bytes; position unchanged).
     *
     * @param name the input's name in the spec
     * @param data the bytes
     * @return this
     */
    public DisputeCheck input(String name, ByteBuffer data) {
        Source.add(inputs, "input", name, data);
        return this;
    }

    /**
     * A disputed output as a file (streamed for its root, mapped for the re-check).
     *
     * @param name the output's name in the receipt
     * @param file the bytes the provider delivered
     * @return this
     */
    public DisputeCheck output(String name, Path file) {
        Source.add(outputs, "output", name, file);
        return this;
    }

    /**
     * A disputed output in memory (remaining bytes; position unchanged).
     *
     * @param name the output's name in the receipt
     * @param data the bytes the provider delivered
     * @return this
     */
    public DisputeCheck output(String name, ByteBuffer data) {
        Source.add(outputs, "output", name, data);
        return this;
    }

    /**
     * Re-checks the dispute.
     *
     * @return what was checked (the last check is {@code dispute upheld}) and what was not
     * @throws DisputeNotUpheldException if the disputed output passes the check, or the
     *                                   record holds nothing that can be recomputed
     * @throws VerificationException     if the record's key, receipt, spec or data do not bind
     *                                   together (the record is forged, altered or for other data)
     * @throws MissingEvidenceException  if an input or output the re-check needs was not given
     */
    public OfflineReport verify() {
        List<Check> checks = new ArrayList<>();
        List<OfflineReport.NotChecked> skipped = new ArrayList<>();
        NodePublicKey key = record.providerKey();
        if (!record.provider().equals(key.nodeId())) {
            // The record type refuses this; kept because a dispute is hostile input.
            throw new VerificationException(Reason.KEY_MISMATCH, "the record accuses provider "
                    + record.provider().hex() + " but carries the key of node " + key.nodeId().hex()
                    + ": a dispute names the provider whose key signed the receipt and nobody else; it does not hold");
        }
        if (expectedKey != null) {
            if (!expectedKey.equals(key)) {
                throw new VerificationException(Reason.KEY_MISMATCH, "the record accuses provider "
                        + key.nodeId().hex() + " but the key given is node " + expectedKey.nodeId().hex()
                        + "'s: the record is not about the provider you named; it does not apply to them");
            }
            checks.add(Check.passed("provider key", "the record's key equals the key given, node "
                    + key.nodeId().hex()));
        } else {
            skipped.add(new OfflineReport.NotChecked("provider key", "no key given: the record's own key (node "
                    + key.nodeId().hex() + ") is used; that it is the key the provider's offer names is not checked"));
        }
        JobSpec spec;
        try {
            spec = JobSpec.fromJson(record.specJson());
        } catch (InvalidJobException e) {
            throw new InvalidJobException("the dispute record's spec is invalid: " + e.getMessage());
        }
        requireExactly(inputs, spec.inputs().stream().map(InputRef::name).toList(), "input", spec);
        requireExactly(outputs, spec.outputs().stream().map(BufferDecl::name).toList(), "output", spec);

        ReceiptCheck rc = (record.batched() != null ? new ReceiptCheck(record.batched(), key)
                : new ReceiptCheck(record.receipt(), key)).spec(spec).boundTo(record.jobId(), record.attempt(),
                "a dispute record carries no challenge nonce: that the receipt answered the buyer's challenge is "
                        + "not checked (the signature still binds it to the provider)");
        inputs.forEach((n, s) -> rc.put(n, s, true));
        outputs.forEach((n, s) -> rc.put(n, s, false));
        OfflineReport receiptOk = rc.verify();
        checks.addAll(receiptOk.checked().checks());
        checks.add(Check.passed("provider", "the record names node " + record.provider().hex()
                + ", whose key signed the disputed receipt"));
        skipped.addAll(receiptOk.notChecked());

        String label = record.jobId() + "#" + record.attempt() + " (" + record.reason() + ")";
        if (record.evidence() == null) {
            throw new DisputeNotUpheldException("dispute " + label + " carries no recomputable evidence, and the "
                    + "receipt verifies against the data given: the dispute does not hold for these bytes");
        }
        String check = record.evidence().check();
        if (record.reason() != Reason.RESULT_MISMATCH) {
            throw new DisputeNotUpheldException("dispute " + label + " cites " + check + " evidence, but only a "
                    + "wrong result (" + Reason.RESULT_MISMATCH + ") is re-checked from the data; a fault in the "
                    + "receipt itself would have failed the receipt check, which passed: the dispute does not hold");
        }
        Map<String, ByteBuffer> in = new LinkedHashMap<>();
        inputs.forEach((n, s) -> in.put(n, s.load()));
        String outName = spec.outputs().get(0).name();
        ByteBuffer out = outputs.get(outName).load();
        String found;
        try {
            if ("freivalds".equals(check)) {
                freivalds(spec, in, out, label);
            } else if (spec.kernel() instanceof BuiltinKernel k) {
                recompute(k, spec, in, outName, out);
            } else {
                throw new DisputeNotUpheldException("dispute " + label + ": cannot recompute " + spec.kernel().id()
                        + " offline, only built-in kernels run on the CPU reference; the dispute cannot be upheld");
            }
            throw new DisputeNotUpheldException("the disputed output of " + label + " passes " + check
                    + " when re-checked: the dispute does not hold for these bytes");
        } catch (VerificationException e) {
            if (e.reason() != Reason.RESULT_MISMATCH) {
                throw e;
            }
            found = e.getMessage();
        }
        checks.add(Check.passed("dispute upheld", "the signed output fails " + check + " again: " + found));
        return new OfflineReport(new VerificationReport("dispute", checks, receiptOk.checked().assurance()), skipped);
    }

    private void freivalds(JobSpec spec, Map<String, ByteBuffer> in, ByteBuffer c, String label) {
        java.util.Optional<dev.depin.kernel.MatrixProduct> product = spec.kernel().reference()
                .flatMap(r -> r.matrixProduct(spec.params()));
        if (product.isEmpty() || !(spec.verification() instanceof VerificationPolicy.Freivalds)) {
            throw new DisputeNotUpheldException("dispute " + label + " cites a Freivalds check, but its spec runs "
                    + spec.kernel().id() + " under " + spec.verification().kind() + ": the record is inconsistent "
                    + "and does not hold");
        }
        String seedHex = record.evidence().seed();
        String lower = seedHex.toLowerCase(Locale.ROOT);
        if (seedHex.length() < 2 * 16 || seedHex.length() > 2 * 1024 || seedHex.length() % 2 != 0
                || !Hex.isLowerHex(lower, lower.length())) {
            throw new DisputeNotUpheldException("dispute " + label + " cites a Freivalds check whose seed '"
                    + abbreviate(seedHex) + "' is not 16 to 1024 bytes of hex: the check cannot be reproduced, so "
                    + "the dispute does not hold");
        }
        dev.depin.kernel.MatrixProduct p = product.get();
        Freivalds.verify(floats(in.get(p.a())), floats(in.get(p.b())), floats(c), p.m(), p.k(), p.n(),
                Freivalds.Options.rigorous(spec.verification().rounds()), Hex.decode(lower));
    }

    /** Recomputes the output chunk by chunk on the CPU reference and compares within the kernel's tolerance. */
    private static void recompute(BuiltinKernel k, JobSpec spec, Map<String, ByteBuffer> in, String name,
                                  ByteBuffer got) {
        try (CpuReference cpu = new CpuReference(Runtime.getRuntime().availableProcessors())) {
            Recompute rc = k.reference().orElseThrow().recompute(cpu, spec.params(), in);
            int chunk = JobSpec.PROOF_CHUNK_BYTES;
            int size = got.remaining();
            for (int off = 0; off < size; off += chunk) {
                int len = Math.min(chunk, size - off);
                ByteBuffer expected = rc.recomputer().recompute(off / chunk, off, len);
                ByteBuffer actual = got.duplicate().limit(off + len).position(off).slice().order(ByteOrder.LITTLE_ENDIAN);
                Comparison.Mismatch mm = rc.comparison().firstMismatch(expected, actual);
                if (mm != null) {
                    throw new VerificationException(Reason.RESULT_MISMATCH, "byte " + (off + mm.byteOffset())
                            + " of '" + name + "' is " + mm.actual() + ", the CPU reference gives " + mm.expected()
                            + " (" + rc.comparison().describe() + ")");
                }
            }
        }
    }

    private static void requireExactly(Map<String, Source> given, List<String> needed, String kind, JobSpec spec) {
        for (String n : needed) {
            if (!given.containsKey(n)) {
                throw new MissingEvidenceException("re-checking this dispute needs every " + kind + " of the job "
                        + needed + ", and " + kind + " '" + n + "' was not given: pass it as NAME=FILE");
            }
        }
        for (String n : given.keySet()) {
            if (!needed.contains(n)) {
                throw new VerificationException(kind.equals("input") ? Reason.INPUT_ROOT_MISMATCH
                        : Reason.OUTPUT_ROOT_MISMATCH, kind + " '" + n + "' was given but the disputed job ("
                        + spec.kernel().id() + ") has " + kind + "s " + needed + ": check the name");
            }
        }
    }

    private static FloatBuffer floats(ByteBuffer b) {
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "... (" + s.length() + " characters)";
    }
}
