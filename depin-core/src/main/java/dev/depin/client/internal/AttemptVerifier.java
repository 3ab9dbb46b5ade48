package dev.depin.client.internal;

import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.ReceiptExpectations;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.VerifiedReceipt;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.verify.ChunkRecomputer;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.Freivalds;
import dev.depin.crypto.verify.SpotCheck;
import dev.depin.executor.internal.CpuKernels;
import dev.depin.internal.Buffers;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.provider.ProviderOffer;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Map;

/**
 * The buyer's checks on one attempt, in order: the receipt (signature by the offer's key,
 * job id, attempt, nonce, spec, kernel, input roots, output roots and sizes recomputed
 * from the bytes received), the wipe attestation (signature, subject = this receipt,
 * every buffer of the job fully overwritten and read back), then the job's policy
 * (Freivalds or a spot check; redundancy is compared across attempts by the caller).
 * Every failure throws {@link dev.depin.crypto.VerificationException} with its reason.
 *
 * <p>Random choices (Freivalds vectors, sampled chunks) come from a seed drawn here,
 * after the provider has committed, and the seed is in the report and in any evidence.
 */
public final class AttemptVerifier {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final double U = 0x1p-24;
    private final CpuKernels reference;

    /** @param reference the CPU reference used to recompute spot-checked chunks */
    public AttemptVerifier(CpuKernels reference) {
        this.reference = reference;
    }

    /**
     * Checks the receipt and the wipe attestation.
     *
     * @return what was checked
     */
    public VerificationReport verifyEnvelopes(JobSpec spec, String specHash, ProviderOffer offer,
                                              ExecutionRequest request, ExecutionResponse response) {
        ReceiptExpectations.Builder ex = ReceiptExpectations.builder()
                .signer(offer.publicKey()).jobId(request.jobId()).attempt(request.attempt())
                .nonce(Hex.encode(request.nonce())).specHash(specHash)
                .kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash())
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES);
        for (InputRef in : spec.inputs()) {
            ex.input(new BufferDigest(in.name(), in.merkleRoot(), in.bytes()));
        }
        for (Map.Entry<String, ByteBuffer> out : response.outputs().entrySet()) {
            ex.receivedOutput(out.getKey(), out.getValue());
        }
        VerifiedReceipt receipt = ExecutionReceipt.verify(response.receipt(), ex.build());
        VerificationReport wipe = WipeAttestation.verify(response.wipe(), response.receipt(), offer.publicKey(),
                WipeAttestation.buffersOf(receipt.receipt()));
        return receipt.report().and(wipe);
    }

    /**
     * Applies a Freivalds or spot-check policy to the outputs.
     *
     * @param spec    the job spec
     * @param inputs  the buyer's own input bytes
     * @param outputs the outputs received (already bound to the receipt)
     * @param receipt the verified receipt envelope (for the committed output roots)
     * @return what was checked, or {@code null} for policies with nothing to add here
     */
    public VerificationReport verifyResult(JobSpec spec, Map<String, ByteBuffer> inputs,
                                           Map<String, ByteBuffer> outputs, Envelope receipt) {
        VerificationPolicy policy = spec.verification();
        byte[] seed = Freivalds.newSeed(RANDOM);
        return switch (policy.kind()) {
            case SIGNATURE_ONLY, REDUNDANT -> null;
            case FREIVALDS -> freivalds(spec, inputs, outputs, policy.rounds(), seed);
            case SPOT_CHECK -> spotCheck(spec, inputs, outputs, receipt, policy.fraction(), seed);
        };
    }

    /** Freivalds on C = A·B with the rigorous float32 tolerance. */
    static VerificationReport freivalds(JobSpec spec, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
                                        int rounds, byte[] seed) {
        int m = (int) spec.params().requireLong("m");
        int k = (int) spec.params().requireLong("k");
        int n = (int) spec.params().requireLong("n");
        // Read in place from the byte buffers: no copy of A, B or C.
        return Freivalds.verify(Buffers.floatView(inputs.get("a")), Buffers.floatView(inputs.get("b")),
                Buffers.floatView(outputs.get("c")), m, k, n, Freivalds.Options.rigorous(rounds), seed);
    }

    private VerificationReport spotCheck(JobSpec spec, Map<String, ByteBuffer> inputs,
                                         Map<String, ByteBuffer> outputs, Envelope receipt, double fraction,
                                         byte[] seed) {
        BuiltinKernel kernel = (BuiltinKernel) spec.kernel();
        ExecutionReceipt r = ExecutionReceipt.readUnverified(receipt);
        VerificationReport report = null;
        for (BufferDecl d : spec.outputs()) {
            byte[] root = r.outputs().stream().filter(o -> o.name().equals(d.name())).findFirst()
                    .map(o -> Hex.decode(o.merkleRoot())).orElseThrow();
            Recompute rc = recomputer(kernel, spec, inputs);
            VerificationReport one = SpotCheck.verify(outputs.get(d.name()), root, JobSpec.MERKLE_CHUNK_BYTES,
                    fraction, seed, rc.recomputer(), rc.comparison());
            report = report == null ? one : report.and(one);
        }
        return report;
    }

    /**
     * A recomputer and the comparison its results need.
     *
     * @param recomputer recomputes one chunk on the CPU reference
     * @param comparison how closely an honest executor agrees with it
     */
    public record Recompute(ChunkRecomputer recomputer, Comparison comparison) {
    }

    /**
     * How to recompute a chunk of a built-in kernel's output on the CPU reference, and how
     * closely an honest executor's bytes must agree with it (any summation order, with or
     * without fused multiply-add).
     */
    public Recompute recomputer(BuiltinKernel kernel, JobSpec spec, Map<String, ByteBuffer> inputs) {
        switch (kernel) {
            case SAXPY -> {
                float alpha = spec.params().requireFloat("alpha");
                ByteBuffer x = inputs.get("x");
                ByteBuffer y = inputs.get("y");
                // Two roundings against one: within 2u relative of each other.
                return new Recompute((idx, off, len) -> {
                    int from = (int) (off / Float.BYTES);
                    int count = len / Float.BYTES;
                    float[] xs = slice(x, from, count);
                    float[] ys = slice(y, from, count);
                    reference.saxpy(count, alpha, xs, ys, ys);
                    return bytes(ys);
                }, Comparison.float32(2 * 2 * U, Float.MIN_NORMAL));
            }
            case SGEMM -> {
                int k = (int) spec.params().requireLong("k");
                int n = (int) spec.params().requireLong("n");
                float[] a = floats(inputs.get("a"));
                float[] b = floats(inputs.get("b"));
                double maxRowA = 0;
                for (int i = 0; i < a.length / k; i++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += Math.abs(a[i * k + p]);
                    }
                    maxRowA = Math.max(maxRowA, s);
                }
                double maxB = 0;
                for (float v : b) {
                    maxB = Math.max(maxB, Math.abs(v));
                }
                // Two honest results each lie within γ_k·Σ|a||b| of the exact product.
                double gamma = k * U / (1 - k * U);
                double abs = 2 * gamma * maxRowA * maxB + Float.MIN_NORMAL;
                return new Recompute((idx, off, len) -> {
                    long first = off / Float.BYTES;
                    long last = (off + len) / Float.BYTES - 1;
                    int r0 = (int) (first / n);
                    int r1 = (int) (last / n);
                    int rows = r1 - r0 + 1;
                    float[] aRows = new float[rows * k];
                    System.arraycopy(a, r0 * k, aRows, 0, rows * k);
                    float[] c = new float[rows * n];
                    reference.sgemm(rows, k, n, aRows, b, c);
                    float[] out = new float[len / Float.BYTES];
                    System.arraycopy(c, (int) (first - (long) r0 * n), out, 0, out.length);
                    return bytes(out);
                }, Comparison.float32(2 * U, abs));
            }
            case REDUCE_SUM -> {
                float[] x = floats(inputs.get("x"));
                double absSum = 0;
                for (float v : x) {
                    absSum += Math.abs(v);
                }
                // Any float32 summation order lies within γ_n·Σ|x| of the exact sum.
                double gamma = x.length * U / (1 - Math.min(0.5, x.length * U));
                return new Recompute((idx, off, len) -> bytes(new float[] {reference.reduceSum(x.length, x)}),
                        Comparison.float32(2 * U, gamma * absSum + Float.MIN_NORMAL));
            }
            default -> throw new IllegalStateException("unreachable: " + kernel);
        }
    }

    private static float[] floats(ByteBuffer b) {
        return Buffers.floats(b);
    }

    private static float[] slice(ByteBuffer b, int from, int count) {
        return Buffers.floats(b, from, count);
    }

    private static ByteBuffer bytes(float[] f) {
        return Buffers.littleEndian(f);
    }
}
