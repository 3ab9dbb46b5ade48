package dev.depin.kernel.internal;

import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.KernelReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.MatrixProduct;
import dev.depin.kernel.ShapeMismatchException;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Everything one built-in kernel knows: its contract text (hashed into its code hash),
 * its parameters and buffer shapes, its FLOP count, its CPU reference and how its results
 * are checked. One subclass per kernel; {@link dev.depin.kernel.BuiltinKernel} registers it.
 */
public abstract class BuiltinDefinition implements KernelReference {
    /** @return the versioned contract text that the kernel's code hash covers */
    public abstract String contract();

    /** @return names of the parameters that are float scalars */
    public abstract Set<String> floatParams();

    /** @return every launch parameter the kernel reads, sorted, unmodifiable */
    public abstract java.util.SortedSet<String> paramNames();

    /** @return the input buffers for {@code p}; validates every parameter the kernel reads */
    public abstract List<BufferDecl> inputs(LaunchParams p);

    /** @return the output buffers for {@code p}; validates every parameter the kernel reads */
    public abstract List<BufferDecl> outputs(LaunchParams p);

    /** @return floating-point operations for {@code p}, saturating at {@code Long.MAX_VALUE} */
    public abstract long flops(LaunchParams p);

    @Override
    public Optional<MatrixProduct> matrixProduct(LaunchParams params) {
        return Optional.empty();
    }

    /** @return integer parameter {@code name}, which must be &ge; 1 */
    protected static long dim(LaunchParams p, String name) {
        long v = p.requireLong(name);
        if (v < 1) {
            throw new ShapeMismatchException("dimension " + name + " = " + v + ": dimensions must be >= 1");
        }
        return v;
    }

    /** @return {@code a × b} floats, checked to fit one buffer */
    protected static long product(LaunchParams p, String a, String b) {
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

    /** @return a float32 buffer declaration of {@code count} elements */
    protected static BufferDecl floats(String name, long count) {
        if (count > BufferDecl.MAX_BYTES / Float.BYTES) {
            throw new ShapeMismatchException("buffer '" + name + "' of " + count
                    + " floats does not fit in one buffer (max " + BufferDecl.MAX_BYTES + " bytes): split the job");
        }
        return new BufferDecl(name, count * Float.BYTES);
    }

    /** @return {@code a·b}, or {@code Long.MAX_VALUE} on overflow */
    protected static long saturatingMul(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
    }
}
