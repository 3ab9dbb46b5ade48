package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * How two outputs are compared: bitwise (deterministic kernels), or as float32 values
 * within {@code |e - a| <= absTol + relTol * max(|e|, |a|)} (kernels whose rounding may
 * differ between devices). Two floats with identical bits always agree (so equal NaNs
 * agree); otherwise a NaN never agrees.
 *
 * <pre>{@code
 * Comparison.bitwise();
 * Comparison.float32(1e-5, 1e-6);   // little-endian float32
 * }</pre>
 */
public final class Comparison {
    private final boolean bitwise;
    private final double relTol;
    private final double absTol;
    private final ByteOrder order;
    /** {@link #describe()}, written once: every spot check's report quotes it. */
    private final String description;

    private Comparison(boolean bitwise, double relTol, double absTol, ByteOrder order) {
        this.bitwise = bitwise;
        this.relTol = relTol;
        this.absTol = absTol;
        this.order = order;
        this.description = bitwise ? "bitwise" : "float32(" + order + ") rel " + relTol + " abs " + absTol;
    }

    /**
     * Byte-for-byte equality.
     *
     * @return the comparison
     */
    public static Comparison bitwise() {
        return new Comparison(true, 0, 0, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Little-endian float32 values within a tolerance.
     *
     * @param relTol relative tolerance, &ge; 0
     * @param absTol absolute tolerance, &ge; 0
     * @return the comparison
     */
    public static Comparison float32(double relTol, double absTol) {
        return float32(relTol, absTol, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * float32 values in the given byte order within a tolerance.
     *
     * @param relTol relative tolerance, &ge; 0
     * @param absTol absolute tolerance, &ge; 0
     * @param order  the byte order of the buffers
     * @return the comparison
     */
    public static Comparison float32(double relTol, double absTol, ByteOrder order) {
        if (!(relTol >= 0) || !(absTol >= 0) || Double.isInfinite(relTol) || Double.isInfinite(absTol)) {
            throw new InvalidArgumentException("tolerances must be finite and >= 0, got rel " + relTol + " abs " + absTol);
        }
        return new Comparison(false, relTol, absTol, InvalidArgumentException.requireNonNull(order, "order"));
    }

    /**
     * Whether this is a bitwise comparison.
     *
     * @return {@code true} for {@link #bitwise()}
     */
    public boolean isBitwise() {
        return bitwise;
    }

    /**
     * The first disagreement between two buffers (their remaining bytes; positions
     * unchanged).
     *
     * @param expected the reference
     * @param actual   the value to check
     * @return the first mismatch, or {@code null} if they agree
     */
    public Mismatch firstMismatch(ByteBuffer expected, ByteBuffer actual) {
        InvalidArgumentException.requireNonNull(expected, "expected");
        InvalidArgumentException.requireNonNull(actual, "actual");
        int n = expected.remaining();
        if (n != actual.remaining()) {
            return new Mismatch(Math.min(n, actual.remaining()), n + " bytes", actual.remaining() + " bytes");
        }
        ByteBuffer e = expected.duplicate();
        ByteBuffer a = actual.duplicate();
        if (bitwise) {
            int i = e.mismatch(a);
            if (i < 0) {
                return null;
            }
            return new Mismatch(i, String.format("0x%02x", e.get(e.position() + i) & 0xff),
                    String.format("0x%02x", a.get(a.position() + i) & 0xff));
        }
        if (n % 4 != 0) {
            throw new InvalidArgumentException("float32 comparison needs a multiple of 4 bytes, got " + n);
        }
        e.order(order);
        a.order(order);
        int pe = e.position();
        int pa = a.position();
        for (int i = 0; i < n; i += 4) {
            int be = e.getInt(pe + i);
            int ba = a.getInt(pa + i);
            if (be == ba) {
                continue;
            }
            float fe = Float.intBitsToFloat(be);
            float fa = Float.intBitsToFloat(ba);
            double diff = Math.abs((double) fe - (double) fa);
            double tol = absTol + relTol * Math.max(Math.abs((double) fe), Math.abs((double) fa));
            if (!(diff <= tol)) {
                return new Mismatch(i, Float.toString(fe), Float.toString(fa));
            }
        }
        return null;
    }

    /**
     * A short description, e.g. {@code "bitwise"} or {@code "float32 rel 1e-05 abs 1e-06"}.
     *
     * @return the text
     */
    public String describe() {
        return description;
    }

    @Override
    public String toString() {
        return "Comparison[" + describe() + "]";
    }

    /**
     * Where two buffers first disagree.
     *
     * @param byteOffset offset of the differing byte (bitwise) or float (float32) within the compared range
     * @param expected   the reference value, as text
     * @param actual     the checked value, as text
     */
    public record Mismatch(long byteOffset, String expected, String actual) {
    }
}
