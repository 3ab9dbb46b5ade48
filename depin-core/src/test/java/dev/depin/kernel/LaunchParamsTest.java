package dev.depin.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class LaunchParamsTest {

    /** Fixed seed for the random parameter values. Printed so a failure can be replayed. */
    private static final long SEED = 0x1A0C_4000_2024L;

    @BeforeAll
    static void printSeed() {
        System.out.println("LaunchParamsTest seed=" + SEED);
    }

    private static void invalid(Executable call, String messagePart) {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    @Test
    void builder_longsAndFloats_keptSeparatelyAndSortedByName() {
        LaunchParams p = LaunchParams.builder().put("n", 16).put("alpha", 0.5f).put("m", 64).put("k", 32)
                .put("beta", -2f).build();
        assertEquals(List.of("k", "m", "n"), new ArrayList<>(p.longs().keySet()));
        assertEquals(List.of("alpha", "beta"), new ArrayList<>(p.floats().keySet()));
        assertEquals(64L, p.requireLong("m"));
        assertEquals(-2f, p.requireFloat("beta"));
    }

    @Test
    void builder_putTwice_lastValueWins() {
        LaunchParams p = LaunchParams.builder().put("n", 1).put("n", 2).build();
        assertEquals(2L, p.requireLong("n"));
    }

    @Test
    void requireFloat_randomValues_exactBits() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 1_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isFinite(f)) {
                continue;
            }
            LaunchParams p = LaunchParams.builder().put("alpha", f).build();
            assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(p.requireFloat("alpha")));
        }
        assertEquals(Float.floatToRawIntBits(-0.0f),
                Float.floatToRawIntBits(LaunchParams.builder().put("a", -0.0f).build().requireFloat("a")));
    }

    @Test
    void requireLong_missing_rejected() {
        ShapeMismatchException e = assertThrowsExactly(ShapeMismatchException.class,
                () -> LaunchParams.EMPTY.requireLong("n"));
        assertTrue(e.getMessage().contains("launch parameter 'n' is missing"), e.getMessage());
    }

    @Test
    void requireFloat_missing_rejected() {
        ShapeMismatchException e = assertThrowsExactly(ShapeMismatchException.class,
                () -> LaunchParams.builder().put("alpha", 1).build().requireFloat("alpha"));
        assertTrue(e.getMessage().contains("float launch parameter 'alpha' is missing"), e.getMessage());
    }

    @Test
    void constructor_nonFiniteFloat_rejected() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.intBitsToFloat(0x7fc00001)}) {
            invalid(() -> LaunchParams.builder().put("alpha", bad).build(),
                    "launch parameter 'alpha' is " + bad + ": float parameters must be finite");
        }
    }

    @Test
    void constructor_extremeFiniteFloats_accepted() {
        for (float ok : new float[] {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, Float.MIN_NORMAL, -0.0f}) {
            assertEquals(ok, LaunchParams.builder().put("alpha", ok).build().requireFloat("alpha"));
        }
    }

    @Test
    void constructor_badNames_rejected() {
        for (String bad : new String[] {"", "1n", "_n", ".n", "n-1", "a b", "ä", "n!", "x".repeat(33)}) {
            invalid(() -> LaunchParams.builder().put(bad, 1).build(), "launch parameter name '" + bad + "'");
            invalid(() -> LaunchParams.builder().put(bad, 1f).build(), "launch parameter name '" + bad + "'");
        }
    }

    @Test
    void constructor_goodNames_accepted() {
        String longest = "x" + "_".repeat(31);
        LaunchParams p = LaunchParams.builder().put("x.bytes", 4).put("a_b.c1", 1).put(longest, 2).put("Z", 3)
                .build();
        assertEquals(4L, p.requireLong("x.bytes"));
        assertEquals(2L, p.requireLong(longest));
    }

    /** A null name is bad input at a public entry point: it should say so, not fail inside TreeMap. */
    @Test
    void builder_nullName_rejected() {
        invalid(() -> LaunchParams.builder().put(null, 1).build(), "launch parameter name");
        invalid(() -> LaunchParams.builder().put(null, 1f).build(), "launch parameter name");
    }

    @Test
    void constructor_sameNameAsLongAndFloat_rejected() {
        invalid(() -> LaunchParams.builder().put("n", 4).put("n", 4f).build(),
                "launch parameter 'n' is given both as an integer and as a float");
    }

    @Test
    void constructor_nullMapsOrValues_rejected() {
        invalid(() -> new LaunchParams(null, new TreeMap<>()), "integer launch parameters is null");
        invalid(() -> new LaunchParams(new TreeMap<>(), null), "float launch parameters is null");
        TreeMap<String, Long> longs = new TreeMap<>();
        longs.put("n", null);
        invalid(() -> new LaunchParams(longs, new TreeMap<>()), "launch parameter 'n' is null");
        TreeMap<String, Float> floats = new TreeMap<>();
        floats.put("alpha", null);
        invalid(() -> new LaunchParams(new TreeMap<>(), floats), "launch parameter 'alpha' is null");
    }

    @Test
    void constructor_copiesMaps_andExposesThemReadOnly() {
        TreeMap<String, Long> longs = new TreeMap<>();
        longs.put("n", 8L);
        TreeMap<String, Float> floats = new TreeMap<>();
        floats.put("alpha", 2f);
        LaunchParams p = new LaunchParams(longs, floats);
        longs.put("n", 9L);
        longs.put("m", 1L);
        floats.put("alpha", 3f);
        assertEquals(8L, p.requireLong("n"));
        assertEquals(1, p.longs().size());
        assertEquals(2f, p.requireFloat("alpha"));
        assertThrowsExactly(UnsupportedOperationException.class, () -> p.longs().put("m", 1L));
        assertThrowsExactly(UnsupportedOperationException.class, () -> p.floats().put("beta", 1f));
    }

    @Test
    void equals_sameContentInAnyInsertionOrder() {
        LaunchParams a = LaunchParams.builder().put("m", 1).put("k", 2).put("alpha", 1.5f).build();
        LaunchParams b = LaunchParams.builder().put("alpha", 1.5f).put("k", 2).put("m", 1).build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
    }

    @Test
    void empty_hasNoParameters() {
        assertTrue(LaunchParams.EMPTY.longs().isEmpty());
        assertTrue(LaunchParams.EMPTY.floats().isEmpty());
    }
}
