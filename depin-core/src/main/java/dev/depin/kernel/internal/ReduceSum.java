package dev.depin.kernel.internal;

import dev.depin.crypto.verify.Comparison;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.Buffers;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.Recompute;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code sum = Σ x}, accumulated in float64. */
public final class ReduceSum extends BuiltinDefinition {
    private static final java.util.SortedSet<String> PARAMS =
            java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(List.of("n")));

    @Override
    public String contract() {
        return "sum = sum_i x[i], accumulated in float64, rounded to float32; params n>=1; input x float32[n]; "
                + "output sum float32[1]";
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
        return List.of(floats("x", dim(p, "n")));
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        dim(p, "n");
        return List.of(floats("sum", 1));
    }

    @Override
    public long flops(LaunchParams p) {
        return dim(p, "n");
    }

    @Override
    public void run(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
                    Scratch scratch) {
        int n = (int) dim(p, "n");
        float[] x = scratch.floats("x", n);
        Buffers.floatView(inputs.get("x")).get(x);
        Buffers.floatView(outputs.get("sum")).put(0, cpu.reduceSum(n, x));
    }

    /**
     * Compared bit for bit: every executor computes the documented order on
     * {@link CpuReference#reduceSum} (docs/decisions.md, "Bit-reproducible kernels"), so no
     * tolerance is derived (it took a pass over x of its own).
     */
    @Override
    public Recompute recompute(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs) {
        ByteBuffer x = inputs.get("x");
        // x is copied only when the sum is recomputed: a caller after the comparison alone
        // (redundant replicas) reads nothing.
        return new Recompute((idx, off, len) -> {
            float[] xs = Buffers.floats(x);
            return Buffers.littleEndian(new float[] {cpu.reduceSum(xs.length, xs)});
        }, Comparison.bitwise());
    }
}
