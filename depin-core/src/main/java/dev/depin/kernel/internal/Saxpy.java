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

/** {@code out = alpha·x + y}. */
public final class Saxpy extends BuiltinDefinition {
    /**
     * Bit for bit: every executor computes {@code fl(fl(alpha·x) + y)} (docs/decisions.md,
     * "Bit-reproducible kernels"); one instance, it has no state.
     */
    private static final Comparison AGREE = Comparison.bitwise();
    private static final java.util.SortedSet<String> PARAMS =
            java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(List.of("alpha", "n")));

    @Override
    public String contract() {
        return "out[i] = alpha*x[i] + y[i]; params n>=1, alpha finite; inputs x,y float32[n]; output out float32[n]";
    }

    @Override
    public Set<String> floatParams() {
        return Set.of("alpha");
    }

    @Override
    public java.util.SortedSet<String> paramNames() {
        return PARAMS;
    }

    @Override
    public List<BufferDecl> inputs(LaunchParams p) {
        long n = dim(p, "n");
        p.requireFloat("alpha");
        return List.of(floats("x", n), floats("y", n));
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        p.requireFloat("alpha");
        return List.of(floats("out", dim(p, "n")));
    }

    @Override
    public long flops(LaunchParams p) {
        return saturatingMul(2, dim(p, "n"));
    }

    @Override
    public void run(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
                    Scratch scratch) {
        int n = (int) dim(p, "n");
        float[] x = scratch.floats("x", n);
        float[] y = scratch.floats("y", n);
        Buffers.floatView(inputs.get("x")).get(x);
        Buffers.floatView(inputs.get("y")).get(y);
        cpu.saxpy(n, p.requireFloat("alpha"), x, y, y);
        Buffers.floatView(outputs.get("out")).put(y);
    }

    /** Element-wise: the same range of x and y. */
    @Override
    public java.util.Optional<Map<String, long[]>> inputsRead(LaunchParams p, String output, long offset, int length) {
        return java.util.Optional.of(Map.of("x", new long[] {offset, offset + length},
                "y", new long[] {offset, offset + length}));
    }

    @Override
    public Recompute recompute(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs) {
        float alpha = p.requireFloat("alpha");
        ByteBuffer x = inputs.get("x");
        ByteBuffer y = inputs.get("y");
        return new Recompute((idx, off, len) -> {
            int from = (int) (off / Float.BYTES);
            int count = len / Float.BYTES;
            float[] xs = Buffers.floats(x, from, count);
            float[] ys = Buffers.floats(y, from, count);
            cpu.saxpy(count, alpha, xs, ys, ys);
            return Buffers.littleEndian(ys);
        }, AGREE);
    }
}
