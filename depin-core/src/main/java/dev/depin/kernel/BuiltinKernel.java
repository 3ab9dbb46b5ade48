package dev.depin.kernel;

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
    SAXPY("saxpy", "out[i] = alpha*x[i] + y[i]; params n>=1, alpha finite; inputs x,y float32[n]; output out float32[n]"),

    /**
     * {@code C = A · B} with {@code A} m×k, {@code B} k×n and {@code C} m×n, all
     * row-major. Parameters: {@code m}, {@code k}, {@code n} (integers &ge; 1). Inputs:
     * {@code a} ({@code 4mk} bytes), {@code b} ({@code 4kn} bytes). Output: {@code c}
     * ({@code 4mn} bytes). Each element is a float32 dot product of length k; the
     * summation order is the executor's, so element-wise agreement is within
     * {@code γ_k · Σ_p |a_ip|·|b_pj|}, {@code γ_k = k·2^-24 / (1 - k·2^-24)}.
     */
    SGEMM("sgemm", "C[m,n] = A[m,k] * B[k,n], row-major; params m,k,n>=1; inputs a float32[m*k], b float32[k*n]; output c float32[m*n]"),

    /**
     * {@code sum = Σ x[i]} for {@code 0 <= i < n}. Parameter {@code n} (integer &ge; 1).
     * Input {@code x} ({@code 4n} bytes). Output {@code sum} (4 bytes, float32). The
     * sum is accumulated in float64 and rounded once to float32, so it is within
     * {@code n·2^-53·Σ|x_i|} plus half an ulp of the exact sum.
     */
    REDUCE_SUM("reduce-sum", "sum = sum_i x[i], accumulated in float64, rounded to float32; params n>=1; input x float32[n]; output sum float32[1]");

    private final String id;
    private final String codeHash;

    BuiltinKernel(String id, String contract) {
        this.id = id;
        this.codeHash = Sha256.hex(("depin/builtin/" + id + "@1: " + contract).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String codeHash() {
        return codeHash;
    }

    @Override
    public List<BufferDecl> inputs(LaunchParams p) {
        return switch (this) {
            case SAXPY -> {
                long n = dim(p, "n");
                requireAlpha(p);
                yield List.of(floats("x", n), floats("y", n));
            }
            case SGEMM -> List.of(floats("a", product(p, "m", "k")), floats("b", product(p, "k", "n")));
            case REDUCE_SUM -> List.of(floats("x", dim(p, "n")));
        };
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        return switch (this) {
            case SAXPY -> {
                requireAlpha(p);
                yield List.of(floats("out", dim(p, "n")));
            }
            case SGEMM -> {
                product(p, "m", "k");
                product(p, "k", "n");
                yield List.of(floats("c", product(p, "m", "n")));
            }
            case REDUCE_SUM -> {
                dim(p, "n");
                yield List.of(floats("sum", 1));
            }
        };
    }

    @Override
    public long flops(LaunchParams p) {
        return switch (this) {
            case SAXPY -> saturatingMul(2, dim(p, "n"));
            case SGEMM -> saturatingMul(2 * product(p, "m", "n"), dim(p, "k"));
            case REDUCE_SUM -> dim(p, "n");
        };
    }

    /**
     * Looks up a built-in kernel by id.
     *
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

    private static void requireAlpha(LaunchParams p) {
        p.requireFloat("alpha");
    }

    private static long dim(LaunchParams p, String name) {
        long v = p.requireLong(name);
        if (v < 1) {
            throw new ShapeMismatchException("dimension " + name + " = " + v + ": dimensions must be >= 1");
        }
        return v;
    }

    private static long product(LaunchParams p, String a, String b) {
        long x = dim(p, a);
        long y = dim(p, b);
        long bytes;
        try {
            bytes = Math.multiplyExact(Math.multiplyExact(x, y), Float.BYTES);
        } catch (ArithmeticException e) {
            bytes = Long.MAX_VALUE;
        }
        if (bytes > BufferDecl.MAX_BYTES) {
            throw new ShapeMismatchException(a + " × " + b + " = " + x + " × " + y
                    + " floats does not fit in one buffer (max " + BufferDecl.MAX_BYTES + " bytes): split the job");
        }
        return x * y;
    }

    private static BufferDecl floats(String name, long count) {
        if (count > BufferDecl.MAX_BYTES / Float.BYTES) {
            throw new ShapeMismatchException("buffer '" + name + "' of " + count + " floats does not fit in one buffer (max "
                    + BufferDecl.MAX_BYTES + " bytes): split the job");
        }
        return new BufferDecl(name, count * Float.BYTES);
    }

    private static long saturatingMul(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
    }
}
