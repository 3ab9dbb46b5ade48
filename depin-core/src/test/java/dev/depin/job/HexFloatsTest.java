package dev.depin.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link HexFloats} must give the JDK's {@code toHexString} character for character: the spec's
 * canonical JSON (and so every spec hash a receipt signs) is written with it, and a node
 * refuses a number that is not in that form.
 */
class HexFloatsTest {
    /** Fixed seed for the random bit patterns. Printed so a failure can be replayed. */
    private static final long SEED = 0x4E8F_1207L;

    @BeforeAll
    static void printSeed() {
        System.out.println("HexFloatsTest seed=" + SEED);
    }

    @Test
    void doubles_specialAndBoundaryValues_sameAsJdk() {
        double[] values = {0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 0.5, 2.0, 1e-300, 1e300, Double.MIN_VALUE,
            -Double.MIN_VALUE, Double.MIN_NORMAL, -Double.MIN_NORMAL, Math.nextDown(Double.MIN_NORMAL),
            Math.nextUp(Double.MIN_NORMAL), Double.MAX_VALUE, -Double.MAX_VALUE, Double.NaN,
            Double.longBitsToDouble(0xfff8_0000_0000_0001L), Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
            Math.nextUp(1.0), Math.nextDown(1.0), 1.0 + 0x1p-48, 0x1.8p0, 0x1.0000000000001p0, 0x0.0000000000001p-1022,
            0x0.8p-1022, 0x1p-1074, 0.05, 0.001};
        for (double d : values) {
            assertEquals(Double.toHexString(d), HexFloats.of(d), () -> "bits " + Long.toHexString(Double.doubleToRawLongBits(d)));
        }
        // Each count of trailing zero hex digits in the significand, 0 to 13, normal and subnormal.
        for (int zeros = 0; zeros <= 13; zeros++) {
            long significand = zeros == 13 ? 0 : (1L << (4 * zeros));
            for (long exponent : new long[] {0, 1, 1023, 2046}) {
                double d = Double.longBitsToDouble((exponent << 52) | significand);
                assertEquals(Double.toHexString(d), HexFloats.of(d), () -> "bits " + Long.toHexString(Double.doubleToRawLongBits(d)));
                assertEquals(Double.toHexString(-d), HexFloats.of(-d));
            }
        }
    }

    @Test
    void doubles_randomBitPatterns_sameAsJdk() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (int i = 0; i < 200_000; i++) {
            long bits = r.nextLong();
            if (i % 4 == 1) {
                bits &= 0x800f_ffff_ffff_ffffL; // subnormals
            } else if (i % 4 == 2) {
                bits &= ~((1L << (4 * r.nextInt(13))) - 1); // trailing zero digits
            }
            double d = Double.longBitsToDouble(bits);
            assertEquals(Double.toHexString(d), HexFloats.of(d), "bits " + Long.toHexString(bits));
        }
    }

    @Test
    void floats_specialAndBoundaryValues_sameAsJdk() {
        float[] values = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 2.5f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
            Math.nextDown(Float.MIN_NORMAL), Math.nextUp(Float.MIN_NORMAL), Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0x1.99999ap-4f, 0x0.000002p-126f,
            0x0.8p-126f, 0x0.fffffep-126f};
        for (float f : values) {
            assertEquals(Float.toHexString(f), HexFloats.of(f), () -> "bits " + Integer.toHexString(Float.floatToRawIntBits(f)));
        }
    }

    @Test
    void floats_everyExponentAndRandomSignificands_sameAsJdk() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        for (int exponent = 0; exponent <= 255; exponent++) {
            for (int k = 0; k < 400; k++) {
                int significand = k < 23 ? (1 << k) : r.nextInt(1 << 23);
                int bits = (r.nextBoolean() ? 0x8000_0000 : 0) | (exponent << 23) | significand;
                float f = Float.intBitsToFloat(bits);
                assertEquals(Float.toHexString(f), HexFloats.of(f), "bits " + Integer.toHexString(bits));
            }
        }
    }
}
