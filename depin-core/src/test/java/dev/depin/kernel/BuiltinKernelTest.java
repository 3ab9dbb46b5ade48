package dev.depin.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class BuiltinKernelTest {

    /** Fixed seed for the random shapes and alphas. Printed so a failure can be replayed. */
    private static final long SEED = 0xB111_7100_2024L;

    /** Vector lengths: 1, small primes, a power of two, primes around chunk sizes. */
    private static final long[] VECTOR_SIZES = {1, 2, 3, 7, 13, 64, 97, 1009, 65_537, 1_000_003};

    /** {m, k, n}: ones, primes, degenerate rows and columns. */
    private static final long[][] GEMM_SHAPES = {
        {1, 1, 1}, {1, 7, 1}, {7, 1, 5}, {2, 3, 4}, {13, 17, 19}, {97, 1, 101}, {1, 1009, 1}, {257, 263, 269},
    };

    /** Largest float count one buffer may hold: floor(MAX_BYTES / 4). */
    private static final long MAX_FLOATS = BufferDecl.MAX_BYTES / Float.BYTES;

    @BeforeAll
    static void printSeed() {
        System.out.println("BuiltinKernelTest seed=" + SEED);
    }

    private static LaunchParams saxpy(long n, float alpha) {
        return LaunchParams.builder().put("n", n).put("alpha", alpha).build();
    }

    private static LaunchParams sgemm(long m, long k, long n) {
        return LaunchParams.builder().put("m", m).put("k", k).put("n", n).build();
    }

    private static LaunchParams n(long n) {
        return LaunchParams.builder().put("n", n).build();
    }

    private static void shapeMismatch(Executable call, String messagePart) {
        ShapeMismatchException e = assertThrowsExactly(ShapeMismatchException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    // ---------------------------------------------------------------- buffer sizes

    @Test
    void inputsOutputs_saxpy_fourBytesPerElement() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (long n : VECTOR_SIZES) {
            LaunchParams p = saxpy(n, (float) rnd.nextDouble(-4, 4));
            assertEquals(List.of(new BufferDecl("x", 4 * n), new BufferDecl("y", 4 * n)),
                    BuiltinKernel.SAXPY.inputs(p), "n=" + n);
            assertEquals(List.of(new BufferDecl("out", 4 * n)), BuiltinKernel.SAXPY.outputs(p), "n=" + n);
        }
    }

    @Test
    void inputsOutputs_sgemm_rowMajorMatrixSizes() {
        for (long[] s : GEMM_SHAPES) {
            long m = s[0];
            long k = s[1];
            long n = s[2];
            LaunchParams p = sgemm(m, k, n);
            String shape = m + "x" + k + "x" + n;
            assertEquals(List.of(new BufferDecl("a", 4 * m * k), new BufferDecl("b", 4 * k * n)),
                    BuiltinKernel.SGEMM.inputs(p), shape);
            assertEquals(List.of(new BufferDecl("c", 4 * m * n)), BuiltinKernel.SGEMM.outputs(p), shape);
        }
    }

    @Test
    void inputsOutputs_sgemmRandomShapes_rowMajorMatrixSizes() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        for (int i = 0; i < 200; i++) {
            long m = rnd.nextLong(1, 5_000);
            long k = rnd.nextLong(1, 5_000);
            long n = rnd.nextLong(1, 5_000);
            LaunchParams p = sgemm(m, k, n);
            assertEquals(4 * m * k, BuiltinKernel.SGEMM.inputs(p).get(0).bytes());
            assertEquals(4 * k * n, BuiltinKernel.SGEMM.inputs(p).get(1).bytes());
            assertEquals(4 * m * n, BuiltinKernel.SGEMM.outputs(p).get(0).bytes());
        }
    }

    @Test
    void inputsOutputs_reduceSum_oneFloatOut() {
        for (long n : VECTOR_SIZES) {
            assertEquals(List.of(new BufferDecl("x", 4 * n)), BuiltinKernel.REDUCE_SUM.inputs(n(n)), "n=" + n);
            assertEquals(List.of(new BufferDecl("sum", 4)), BuiltinKernel.REDUCE_SUM.outputs(n(n)), "n=" + n);
        }
    }

    @Test
    void inputs_largestVectorThatFits_accepted() {
        assertEquals(4 * MAX_FLOATS, BuiltinKernel.SAXPY.inputs(saxpy(MAX_FLOATS, 1f)).get(0).bytes());
        assertEquals(4 * MAX_FLOATS, BuiltinKernel.REDUCE_SUM.inputs(n(MAX_FLOATS)).get(0).bytes());
        assertEquals(4 * MAX_FLOATS, BuiltinKernel.SGEMM.inputs(sgemm(1, MAX_FLOATS, 1)).get(0).bytes());
    }

    // ------------------------------------------------------------- bad parameters

    @Test
    void inputsOutputs_missingParams_rejected() {
        shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(LaunchParams.builder().put("n", 4).build()),
                "float launch parameter 'alpha' is missing");
        shapeMismatch(() -> BuiltinKernel.SAXPY.outputs(LaunchParams.builder().put("n", 4).build()),
                "float launch parameter 'alpha' is missing");
        shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(LaunchParams.builder().put("alpha", 1f).build()),
                "launch parameter 'n' is missing");
        shapeMismatch(() -> BuiltinKernel.SAXPY.outputs(LaunchParams.builder().put("alpha", 1f).build()),
                "launch parameter 'n' is missing");
        for (String missing : new String[] {"m", "k", "n"}) {
            LaunchParams.Builder b = LaunchParams.builder();
            for (String d : new String[] {"m", "k", "n"}) {
                if (!d.equals(missing)) {
                    b.put(d, 3);
                }
            }
            LaunchParams p = b.build();
            shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(p), "launch parameter '" + missing + "' is missing");
            shapeMismatch(() -> BuiltinKernel.SGEMM.outputs(p), "launch parameter '" + missing + "' is missing");
        }
        shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.inputs(LaunchParams.EMPTY), "launch parameter 'n' is missing");
        shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.outputs(LaunchParams.EMPTY), "launch parameter 'n' is missing");
    }

    @Test
    void inputs_dimensionGivenAsFloat_rejectedAsMissing() {
        LaunchParams p = LaunchParams.builder().put("n", 4f).put("alpha", 1f).build();
        shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(p), "launch parameter 'n' is missing");
    }

    @Test
    void inputsOutputs_zeroOrNegativeDimensions_rejected() {
        for (long bad : new long[] {0, -1, Long.MIN_VALUE}) {
            shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(saxpy(bad, 1f)), "dimension n = " + bad);
            shapeMismatch(() -> BuiltinKernel.SAXPY.outputs(saxpy(bad, 1f)), "dimension n = " + bad);
            shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.inputs(n(bad)), "dimension n = " + bad);
            shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.outputs(n(bad)), "dimension n = " + bad);
            shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(bad, 2, 2)), "dimension m = " + bad);
            shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(2, bad, 2)), "dimension k = " + bad);
            shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(2, 2, bad)), "dimension n = " + bad);
            shapeMismatch(() -> BuiltinKernel.SGEMM.outputs(sgemm(bad, 2, 2)), "dimension m = " + bad);
            shapeMismatch(() -> BuiltinKernel.SGEMM.outputs(sgemm(2, 2, bad)), "dimension n = " + bad);
        }
    }

    @Test
    void inputs_sgemmProductOverflowsLong_rejected() {
        long big = 1L << 32;
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(big, big, 1)), "does not fit in one buffer");
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(1, big, big)), "does not fit in one buffer");
        shapeMismatch(() -> BuiltinKernel.SGEMM.outputs(sgemm(big, 1, big)), "does not fit in one buffer");
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(Long.MAX_VALUE, Long.MAX_VALUE, 1)),
                "does not fit in one buffer");
        // m*k fits a long but m*k*4 does not
        long quarter = (1L << 62) / 3;
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(quarter, 3, 1)), "does not fit in one buffer");
    }

    @Test
    void inputs_sgemmProductExceedsMaxBytes_rejected() {
        // 65536 x 8192 floats = 2^31 bytes, one more than a Java buffer can hold
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(65_536, 8_192, 1)), "m × k");
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(1, MAX_FLOATS + 1, 1)), "does not fit in one buffer");
        shapeMismatch(() -> BuiltinKernel.SGEMM.inputs(sgemm(1, 8_192, 65_536)), "k × n");
        shapeMismatch(() -> BuiltinKernel.SGEMM.outputs(sgemm(65_536, 1, 8_192)), "m × n");
        // the output check must not be skippable by asking for outputs first with a bad input shape
        shapeMismatch(() -> BuiltinKernel.SGEMM.outputs(sgemm(65_536, 8_192, 1)), "m × k");
    }

    @Test
    void inputs_vectorExceedsMaxBytes_rejected() {
        shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(saxpy(MAX_FLOATS + 1, 1f)), "bytes");
        shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.inputs(n(MAX_FLOATS + 1)), "bytes");
        shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(saxpy(Long.MAX_VALUE, 1f)), "bytes");
        shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.inputs(n(Long.MAX_VALUE)), "bytes");
    }

    /**
     * n = 2^62 + 1 floats is 2^64 + 4 bytes; computed as {@code n * 4} in a long it wraps to
     * 4, which then passes as a valid 4-byte buffer. Such an n must be rejected, not turned
     * into a one-float job whose executor is told n = 4611686018427387905.
     */
    @Test
    void inputsOutputs_vectorByteCountWrapsAround_rejected() {
        for (long wrapping : new long[] {(1L << 62) + 1, (1L << 62) + 7, (1L << 62) + MAX_FLOATS}) {
            shapeMismatch(() -> BuiltinKernel.SAXPY.inputs(saxpy(wrapping, 1f)), "n");
            shapeMismatch(() -> BuiltinKernel.SAXPY.outputs(saxpy(wrapping, 1f)), "n");
            shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.inputs(n(wrapping)), "n");
        }
    }

    // ----------------------------------------------------------------------- flops

    @Test
    void flops_matchOperationCounts() {
        for (long n : VECTOR_SIZES) {
            assertEquals(2 * n, BuiltinKernel.SAXPY.flops(saxpy(n, 2f)), "saxpy n=" + n);
            assertEquals(n, BuiltinKernel.REDUCE_SUM.flops(n(n)), "reduce-sum n=" + n);
        }
        for (long[] s : GEMM_SHAPES) {
            assertEquals(2 * s[0] * s[1] * s[2], BuiltinKernel.SGEMM.flops(sgemm(s[0], s[1], s[2])),
                    s[0] + "x" + s[1] + "x" + s[2]);
        }
    }

    @Test
    void flops_sgemmBeyondLong_saturates() {
        // 2 * m * n * k = 2 * 2^28 * 2^40 = 2^69: saturates instead of wrapping (m x n still fits a buffer)
        assertEquals(Long.MAX_VALUE, BuiltinKernel.SGEMM.flops(sgemm(1 << 14, 1L << 40, 1 << 14)));
        // 2 * m * n * k = 2^63 exactly: one past Long.MAX_VALUE
        assertEquals(Long.MAX_VALUE, BuiltinKernel.SGEMM.flops(sgemm(1, 1L << 62, 1)));
        assertEquals(Long.MAX_VALUE - 1, BuiltinKernel.SGEMM.flops(sgemm(1, (1L << 62) - 1, 1)));
        assertEquals(Long.MAX_VALUE, BuiltinKernel.SGEMM.flops(sgemm(1, Long.MAX_VALUE, 1)));
    }

    @Test
    void flops_missingOrBadParams_rejected() {
        shapeMismatch(() -> BuiltinKernel.SAXPY.flops(LaunchParams.EMPTY), "launch parameter 'n' is missing");
        shapeMismatch(() -> BuiltinKernel.SGEMM.flops(sgemm(2, 0, 2)), "dimension k = 0");
        shapeMismatch(() -> BuiltinKernel.REDUCE_SUM.flops(n(-5)), "dimension n = -5");
    }

    /**
     * The flop count feeds price estimates and must never be negative. SGEMM saturates at
     * Long.MAX_VALUE; SAXPY computes {@code 2 * n}, which wraps to a negative count for
     * n &ge; 2^62. Either saturating or rejecting the shape is acceptable; a negative count is not.
     */
    @Test
    void flops_saxpyHugeN_neverNegative() {
        for (long n : new long[] {1L << 62, Long.MAX_VALUE}) {
            long flops;
            try {
                flops = BuiltinKernel.SAXPY.flops(saxpy(n, 1f));
            } catch (ShapeMismatchException rejected) {
                continue;
            }
            if (flops < 0) {
                fail("SAXPY flops for n=" + n + " is " + flops + ": a negative operation count");
            }
            assertEquals(Long.MAX_VALUE, flops, "n=" + n + ": 2n exceeds a long, expected saturation");
        }
    }

    // ----------------------------------------------------------------- identities

    @Test
    void byId_knownIds_returnConstants() {
        assertSame(BuiltinKernel.SAXPY, BuiltinKernel.byId("saxpy"));
        assertSame(BuiltinKernel.SGEMM, BuiltinKernel.byId("sgemm"));
        assertSame(BuiltinKernel.REDUCE_SUM, BuiltinKernel.byId("reduce-sum"));
        for (BuiltinKernel k : BuiltinKernel.values()) {
            assertSame(k, BuiltinKernel.byId(k.id()));
        }
    }

    @Test
    void byId_unknown_rejected() {
        for (String bad : new String[] {"SAXPY", "gemm", "reduce_sum", "", " saxpy", "ptx:saxpy", null}) {
            UnknownKernelException e = assertThrowsExactly(UnknownKernelException.class,
                    () -> BuiltinKernel.byId(bad), String.valueOf(bad));
            assertTrue(e.getMessage().contains("no built-in kernel is called '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void codeHash_isLowerHexSha256_distinctPerKernel() {
        Set<String> hashes = new HashSet<>();
        for (BuiltinKernel k : BuiltinKernel.values()) {
            assertTrue(k.codeHash().matches("[0-9a-f]{64}"), k + ": " + k.codeHash());
            assertEquals(k.codeHash(), k.codeHash());
            hashes.add(k.codeHash());
        }
        assertEquals(BuiltinKernel.values().length, hashes.size());
    }

    /**
     * Job specs, receipts and disputes record these hashes: a change to a built-in's
     * contract text must be a deliberate, versioned change, never an accident.
     */
    @Test
    void codeHash_stableAcrossReleases() {
        assertEquals("1238f5c6260cf3b886d8b2a6b83a87b57d3ed2b3189a2e9270e64be89f34efd8",
                BuiltinKernel.SAXPY.codeHash());
        assertEquals("cfc1fa991ea8a6b835d15faf87ac97f52ac1f91b3123aa81f177cfea45c65603",
                BuiltinKernel.SGEMM.codeHash());
        assertEquals("4545b46edd69d98898021c2a1bfbf2ba3605229304e77a2daae982fb0c219d6f",
                BuiltinKernel.REDUCE_SUM.codeHash());
    }

    /**
     * Every built-in's result is defined bit for bit, so its spot check and its replica
     * comparison are bitwise: the reference's own result agrees with a recomputed chunk, and a
     * result one unit in the last place off (which the old float32 tolerances accepted) does not.
     */
    @Test
    void reference_everyBuiltinComparesBitForBit() {
        SplittableRandom rnd = new SplittableRandom(0xB17B17L);
        System.out.println("BuiltinKernelTest.reference_everyBuiltinComparesBitForBit seed 0xb17b17");
        java.util.Map<BuiltinKernel, LaunchParams> params = java.util.Map.of(
                BuiltinKernel.SGEMM, LaunchParams.builder().put("m", 5).put("k", 300).put("n", 7).build(),
                BuiltinKernel.SAXPY, LaunchParams.builder().put("n", 1000).put("alpha", 1.7f).build(),
                BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", 5000).build());
        assertEquals(java.util.EnumSet.allOf(BuiltinKernel.class), params.keySet());
        try (CpuReference cpu = new CpuReference(1)) {
            for (BuiltinKernel k : BuiltinKernel.values()) {
                LaunchParams p = params.get(k);
                KernelReference ref = k.reference().orElseThrow();
                java.util.Map<String, java.nio.ByteBuffer> in = new java.util.HashMap<>();
                for (BufferDecl d : k.inputs(p)) {
                    float[] f = new float[(int) (d.bytes() / 4)];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = (float) rnd.nextDouble(-1, 1);
                    }
                    in.put(d.name(), Buffers.littleEndian(f).asReadOnlyBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN));
                }
                BufferDecl outDecl = k.outputs(p).get(0);
                java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate((int) outDecl.bytes())
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                ref.run(cpu, p, in, java.util.Map.of(outDecl.name(), out), KernelReference.Scratch.UNTRACKED);
                Recompute rc = ref.recompute(cpu, p, in);
                assertTrue(rc.comparison().isBitwise(), k + ": " + rc.comparison().describe());
                int len = (int) Math.min(outDecl.bytes(), 65536);
                java.nio.ByteBuffer chunk = rc.recomputer().recompute(0, 0, len);
                assertEquals(null, rc.comparison().firstMismatch(chunk, out.duplicate().limit(len)), k.toString());
                java.nio.ByteBuffer offByOneUlp = java.nio.ByteBuffer.allocate(len).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .put(out.duplicate().limit(len)).flip();
                offByOneUlp.putInt(0, offByOneUlp.getInt(0) + 1);
                assertTrue(rc.comparison().firstMismatch(chunk, offByOneUlp) != null, k + ": one ulp off accepted");
            }
        }
    }
}
