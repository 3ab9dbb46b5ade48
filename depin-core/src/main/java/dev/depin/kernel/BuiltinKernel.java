package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.internal.BuiltinDefinition;
import dev.depin.kernel.internal.ReduceSum;
import dev.depin.kernel.internal.Saxpy;
import dev.depin.kernel.internal.Sgemm;
import java.util.Optional;

import dev.depin.crypto.Sha256;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The kernels every executor implements with the same semantics. Each constant's
 * Javadoc is its contract; the text of that contract, versioned, is what
 * {@link #codeHash()} hashes.
 *
 * <p>All buffers are float32, little-endian, dense, row-major.
 */
public enum BuiltinKernel implements Kernel {
    /**
     * {@code out[i] = alpha * x[i] + y[i]} for {@code 0 <= i < n}.
     * Parameters: {@code n} (integer &ge; 1), {@code alpha} (finite float). Inputs:
     * {@code x}, {@code y} ({@code 4n} bytes each). Output: {@code out} ({@code 4n}
     * bytes). Executors may fuse the multiply-add (one rounding) or not (two
     * roundings); results agree within 1 ulp of the float64 value rounded to float32.
     */
    SAXPY("saxpy", new Saxpy()),

    /**
     * {@code C = A · B} with {@code A} m×k, {@code B} k×n and {@code C} m×n, all
     * row-major. Parameters: {@code m}, {@code k}, {@code n} (integers &ge; 1). Inputs:
     * {@code a} ({@code 4mk} bytes), {@code b} ({@code 4kn} bytes). Output: {@code c}
     * ({@code 4mn} bytes). Each element is a float32 dot product of length k; the
     * summation order is the executor's, so element-wise agreement is within
     * {@code γ_k · Σ_p |a_ip|·|b_pj|}, {@code γ_k = k·2^-24 / (1 - k·2^-24)}.
     */
    SGEMM("sgemm", new Sgemm()),

    /**
     * {@code sum = Σ x[i]} for {@code 0 <= i < n}. Parameter {@code n} (integer &ge; 1).
     * Input {@code x} ({@code 4n} bytes). Output {@code sum} (4 bytes, float32). The
     * sum is accumulated in float64 and rounded once to float32, so it is within
     * {@code n·2^-53·Σ|x_i|} plus half an ulp of the exact sum.
     */
    REDUCE_SUM("reduce-sum", new ReduceSum());

    private final String id;
    private final String codeHash;
    private final BuiltinDefinition definition;

    BuiltinKernel(String id, BuiltinDefinition definition) {
        this.id = id;
        this.definition = definition;
        this.codeHash = Sha256.hex(("depin/builtin/" + id + "@1: " + definition.contract())
                .getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String codeHash() {
        return codeHash;
    }

    /** @return {@link #id()}: a built-in kernel is offered under its own id */
    @Override
    public String offerId() {
        return id;
    }

    @Override
    public List<BufferDecl> inputs(LaunchParams p) {
        return definition.inputs(InvalidArgumentException.requireNonNull(p, "launch parameters"));
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        return definition.outputs(InvalidArgumentException.requireNonNull(p, "launch parameters"));
    }

    @Override
    public long flops(LaunchParams p) {
        return definition.flops(InvalidArgumentException.requireNonNull(p, "launch parameters"));
    }

    @Override
    public boolean isFloatParam(String name) {
        return definition.floatParams().contains(name);
    }

    @Override
    public java.util.SortedSet<String> paramNames() {
        return definition.paramNames();
    }

    /** @return the CPU reference and verification recipe; every built-in kernel has one */
    @Override
    public Optional<KernelReference> reference() {
        return Optional.of(definition);
    }

    /**
     * The ids of every built-in kernel: what an executor that implements them all declares
     * in {@link dev.depin.executor.spi.DeviceExecutor#kernels()}.
     *
     * @return the ids, sorted, unmodifiable
     */
    public static java.util.SortedSet<String> ids() {
        return IDS;
    }

    /**
     * Looks up a built-in kernel by id.
     *
     * @param id the kernel id, e.g. {@code "sgemm"}
     * @return the kernel
     * @throws UnknownKernelException if no built-in kernel has that id
     */
    public static BuiltinKernel byId(String id) {
        for (BuiltinKernel k : values()) {
            if (k.id.equals(id)) {
                return k;
            }
        }
        throw new UnknownKernelException("no built-in kernel is called '" + id
                + "': use saxpy, sgemm or reduce-sum, or describe your own with PtxKernel");
    }

    private static final java.util.SortedSet<String> IDS;

    static {
        java.util.SortedSet<String> ids = new java.util.TreeSet<>();
        for (BuiltinKernel k : values()) {
            ids.add(k.id);
        }
        IDS = java.util.Collections.unmodifiableSortedSet(ids);
    }
}
