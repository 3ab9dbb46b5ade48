package dev.depin.kernel.internal;

import dev.depin.crypto.verify.Comparison;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.Buffers;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.MatrixProduct;
import dev.depin.kernel.Recompute;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** {@code C = A·B}, row-major float32. */
public final class Sgemm extends BuiltinDefinition {
    private static final java.util.SortedSet<String> PARAMS =
            java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(List.of("k", "m", "n")));

    @Override
    public String contract() {
        return "C[m,n] = A[m,k] * B[k,n], row-major; params m,k,n>=1; inputs a float32[m*k], b float32[k*n]; "
                + "output c float32[m*n]";
    }

    @Override
    public Set<String> floatParams() {
        return Set.of();
    }

    @Override
    public java.util.SortedSet<String> paramNames() {
        return PARAMS;
    }

    @Override
    public List<BufferDecl> inputs(LaunchParams p) {
        return List.of(floats("a", product(p, "m", "k")), floats("b", product(p, "k", "n")));
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        product(p, "m", "k");
        product(p, "k", "n");
        return List.of(floats("c", product(p, "m", "n")));
    }

    @Override
    public long flops(LaunchParams p) {
        return saturatingMul(2 * product(p, "m", "n"), dim(p, "k"));
    }

    @Override
    public boolean isMatrixProduct() {
        return true;
    }

    @Override
    public Optional<MatrixProduct> matrixProduct(LaunchParams p) {
        outputs(p);
        return Optional.of(new MatrixProduct("a", "b", "c", (int) dim(p, "m"), (int) dim(p, "k"), (int) dim(p, "n")));
    }

    @Override
    public void run(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
                    Scratch scratch) {
        int m = (int) dim(p, "m");
        int k = (int) dim(p, "k");
        int n = (int) dim(p, "n");
        float[] a = scratch.floats("a", m * k);
        float[] b = scratch.floats("b", k * n);
        float[] c = scratch.floats("scratch:c", m * n);
        Buffers.floatView(inputs.get("a")).get(a);
        Buffers.floatView(inputs.get("b")).get(b);
        cpu.sgemm(m, k, n, a, b, c);
        Buffers.floatView(outputs.get("c")).put(c);
    }

    /** Rows of C need the same rows of A and all of B; the tolerance reads only those rows of A. */
    @Override
    public Optional<Map<String, long[]>> inputsRead(LaunchParams p, String output, long offset, int length) {
        long k = dim(p, "k");
        long n = dim(p, "n");
        long r0 = offset / Float.BYTES / n;
        long r1 = ((offset + length) / Float.BYTES - 1) / n;
        return Optional.of(Map.of("a", new long[] {r0 * k * Float.BYTES, (r1 + 1) * k * Float.BYTES},
                "b", new long[] {0, k * n * Float.BYTES}));
    }

    @Override
    public Recompute recompute(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs) {
        int k = (int) dim(p, "k");
        int n = (int) dim(p, "n");
        FloatBuffer a = Buffers.floatView(inputs.get("a"));
        float[] b = Buffers.floats(inputs.get("b"));
        int m = a.remaining() / k;
        double maxRowA = 0;
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int q = 0; q < k; q++) {
                s += Math.abs(a.get(i * k + q));
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
            a.get(r0 * k, aRows);
            float[] c = new float[rows * n];
            cpu.sgemm(rows, k, n, aRows, b, c);
            float[] out = new float[len / Float.BYTES];
            System.arraycopy(c, (int) (first - (long) r0 * n), out, 0, out.length);
            return Buffers.littleEndian(out);
        }, Comparison.float32(2 * U, abs));
    }
}
