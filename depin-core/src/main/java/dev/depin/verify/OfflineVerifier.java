package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.ReceiptExpectations;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.VerifiedReceipt;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.Freivalds;
import dev.depin.executor.internal.CpuKernels;
import dev.depin.internal.Buffers;
import dev.depin.job.DisputeRecord;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BuiltinKernel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks receipts, wipe attestations and dispute records without the engine: from the
 * envelopes, the provider's public key and the data, as a third party or an auditor
 * would. Everything the verifier is not given is not checked, and the report says so.
 *
 * <pre>{@code
 * VerificationReport r = OfflineVerifier.verifyReceipt(receipt, providerKey,
 *         Map.of("c", outputBytes), Map.of("a", aBytes, "b", bBytes), null, null);
 * }</pre>
 */
public final class OfflineVerifier {
    private OfflineVerifier() {
    }

    /**
     * Verifies a receipt against the provider's key and the bytes at hand.
     *
     * <p>Checked always: payload type, signature by {@code providerKey}, statement form,
     * predicate type, and that every output named in the receipt is in {@code outputs}
     * with exactly the committed size and Merkle root. Checked when given: the inputs'
     * roots, the nonce the buyer sent, the spec (its SHA-256 must be the receipt's spec
     * hash and its kernel hash the receipt's).
     *
     * @param receipt     the receipt envelope
     * @param providerKey the key the provider's offer named
     * @param outputs     the output bytes by name
     * @param inputs      the input bytes by name, or an empty map to skip
     * @param nonceHex    the nonce the buyer sent, or {@code null} to skip
     * @param spec        the job spec, or {@code null} to skip
     * @return what was checked
     * @throws VerificationException with the reason of the first failed check
     */
    public static VerificationReport verifyReceipt(Envelope receipt, NodePublicKey providerKey,
                                                   Map<String, ByteBuffer> outputs, Map<String, ByteBuffer> inputs,
                                                   String nonceHex, JobSpec spec) {
        InvalidArgumentException.requireNonNull(receipt, "receipt envelope");
        InvalidArgumentException.requireNonNull(providerKey, "provider key");
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        // Authenticate before reading any claim, so that nothing unsigned is trusted.
        receipt.verify(dev.depin.crypto.Dsse.IN_TOTO_PAYLOAD_TYPE, providerKey);
        ExecutionReceipt claimed = ExecutionReceipt.readUnverified(receipt);
        List<String> skipped = new ArrayList<>();
        ReceiptExpectations.Builder ex = ReceiptExpectations.builder().signer(providerKey)
                .jobId(claimed.jobId()).attempt(claimed.attempt())
                .merkleChunkBytes(claimed.merkleChunkBytes());
        if (nonceHex != null) {
            ex.nonce(nonceHex);
        } else {
            ex.nonce(claimed.nonce());
            skipped.add("nonce (not supplied: replay not excluded)");
        }
        if (spec != null) {
            ex.specHash(spec.hash()).kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash());
        } else {
            ex.specHash(claimed.specHash()).kernelHash(claimed.kernelHash());
            skipped.add("spec and kernel (not supplied)");
        }
        for (BufferDigest in : claimed.inputs()) {
            ByteBuffer data = inputs.get(in.name());
            if (data != null) {
                ex.input(BufferDigest.of(in.name(), data, claimed.merkleChunkBytes()));
            } else {
                ex.input(in);
                if (!inputs.isEmpty()) {
                    throw new VerificationException(VerificationException.Reason.INPUT_ROOT_MISMATCH, "input '"
                            + in.name() + "' named by the receipt was not supplied: pass all inputs or none");
                }
            }
        }
        if (inputs.isEmpty()) {
            skipped.add("input roots (inputs not supplied)");
        }
        for (BufferDigest out : claimed.outputs()) {
            ByteBuffer data = outputs.get(out.name());
            if (data == null) {
                throw new VerificationException(VerificationException.Reason.OUTPUT_SIZE_MISMATCH, "the receipt commits "
                        + "to output '" + out.name() + "' of " + out.bytes() + " bytes, which was not supplied: pass "
                        + "every output the receipt names");
            }
            ex.receivedOutput(out.name(), data);
        }
        VerifiedReceipt ok = ExecutionReceipt.verify(receipt, ex.build());
        VerificationReport report = ok.report();
        if (!skipped.isEmpty()) {
            report = report.and(new VerificationReport("offline", List.of(
                    new VerificationReport.Check("not checked", true, String.join("; ", skipped))),
                    report.assurance()));
        }
        return report;
    }

    /**
     * Verifies a wipe attestation: signed by the provider's key, its subject this receipt,
     * every buffer the receipt names fully overwritten and read back.
     *
     * @throws VerificationException with the reason of the first failed check
     */
    public static VerificationReport verifyWipe(Envelope wipe, Envelope receipt, NodePublicKey providerKey) {
        InvalidArgumentException.requireNonNull(wipe, "wipe attestation");
        InvalidArgumentException.requireNonNull(receipt, "receipt envelope");
        InvalidArgumentException.requireNonNull(providerKey, "provider key");
        receipt.verify(dev.depin.crypto.Dsse.IN_TOTO_PAYLOAD_TYPE, providerKey);
        return WipeAttestation.verify(wipe, receipt, providerKey,
                WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(receipt)));
    }

    /**
     * Re-checks a dispute: the disputed receipt is authentic and commits to {@code outputs},
     * and the result check that failed fails again on them (Freivalds with the recorded
     * seed, or recomputation of the recorded element on the CPU reference).
     *
     * @param dispute the record
     * @param inputs  the job's input bytes
     * @param outputs the outputs the provider delivered
     * @return a report whose single check states what was reproduced
     * @throws VerificationException {@code RESULT_MISMATCH}-free outcome as
     *                               {@link dev.depin.DepinException}: if the receipt does not
     *                               verify, or the disputed check now passes (the dispute
     *                               does not hold)
     */
    public static VerificationReport recheck(DisputeRecord dispute, Map<String, ByteBuffer> inputs,
                                             Map<String, ByteBuffer> outputs) {
        InvalidArgumentException.requireNonNull(dispute, "dispute record");
        JobSpec spec = JobSpec.fromJson(dispute.specJson());
        VerificationReport receiptOk = verifyReceipt(dispute.receipt(), dispute.providerKey(), outputs, inputs, null,
                spec);
        if (dispute.evidence() == null) {
            throw new DisputeNotUpheldException("dispute " + dispute.jobId() + "#" + dispute.attempt() + " ("
                    + dispute.reason() + ") carries no recomputable evidence, and the receipt verifies against the "
                    + "data supplied: the dispute does not hold for these bytes");
        }
        String check = dispute.evidence().check();
        try {
            if ("freivalds".equals(check) && spec.kernel() == BuiltinKernel.SGEMM) {
                Freivalds.verify(floatView(inputs.get("a")), floatView(inputs.get("b")), floatView(outputs.get("c")),
                        (int) spec.params().requireLong("m"), (int) spec.params().requireLong("k"),
                        (int) spec.params().requireLong("n"), Freivalds.Options.rigorous(spec.verification().rounds()),
                        Hex.decode(dispute.evidence().seed()));
            } else if (spec.kernel() instanceof BuiltinKernel k) {
                recompute(k, spec, inputs, outputs);
            } else {
                throw new DisputeNotUpheldException("cannot recompute " + spec.kernel().id()
                        + " offline: only built-in kernels can be re-checked on the CPU reference");
            }
        } catch (VerificationException e) {
            return receiptOk.and(new VerificationReport("dispute", List.of(new VerificationReport.Check(
                    "dispute upheld", true, "the signed output fails " + check + " again: " + e.getMessage())),
                    receiptOk.assurance()));
        }
        throw new DisputeNotUpheldException("the disputed output of " + dispute.jobId() + "#" + dispute.attempt()
                + " passes " + check + " when re-checked: the dispute does not hold for these bytes");
    }

    /** Recomputes the whole output on the CPU reference and compares within the kernel's tolerance. */
    private static void recompute(BuiltinKernel k, JobSpec spec, Map<String, ByteBuffer> inputs,
                                  Map<String, ByteBuffer> outputs) {
        try (CpuKernels cpu = new CpuKernels(Runtime.getRuntime().availableProcessors())) {
            var rc = new dev.depin.client.internal.AttemptVerifier(cpu).recomputer(k, spec, inputs);
            String name = spec.outputs().get(0).name();
            ByteBuffer got = outputs.get(name);
            ByteBuffer expected = ByteBuffer.allocate(got.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            int chunk = JobSpec.MERKLE_CHUNK_BYTES;
            for (long off = 0; off < got.remaining(); off += chunk) {
                int len = (int) Math.min(chunk, got.remaining() - off);
                expected.put(rc.recomputer().recompute((int) (off / chunk), off, len));
            }
            expected.flip();
            Comparison.Mismatch mm = rc.comparison().firstMismatch(expected, got.duplicate());
            if (mm != null) {
                throw new VerificationException(VerificationException.Reason.RESULT_MISMATCH, "byte "
                        + mm.byteOffset() + " of '" + name + "' is " + mm.actual() + ", the CPU reference gives "
                        + mm.expected() + " (" + rc.comparison().describe() + ")");
            }
        }
    }

    private static java.nio.FloatBuffer floatView(ByteBuffer b) {
        if (b == null) {
            throw new InvalidArgumentException("a matrix the dispute needs was not supplied: pass inputs a, b and "
                    + "output c");
        }
        return Buffers.floatView(b);
    }
}
