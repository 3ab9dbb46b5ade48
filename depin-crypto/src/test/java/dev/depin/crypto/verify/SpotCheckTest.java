package dev.depin.crypto.verify;

import dev.depin.crypto.Assurance;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpotCheckTest {
    private static final long SEED = 0x5907_C4ECL;
    private static final int CHUNK = 1024;

    /** Reference "kernel": y[i] = 2 * x[i] + 1 on little-endian float32. */
    static ByteBuffer compute(ByteBuffer x, long off, int len) {
        ByteBuffer out = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer in = x.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < len; i += 4) {
            out.putFloat(i, 2 * in.getFloat((int) off + i) + 1);
        }
        return out;
    }

    private final ByteBuffer input;
    private final ByteBuffer output;

    SpotCheckTest() {
        System.out.println("SpotCheckTest seed " + SEED);
        Random r = new Random(SEED);
        input = ByteBuffer.allocate(100 * CHUNK - 64).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < input.capacity(); i += 4) {
            input.putFloat(i, r.nextFloat());
        }
        output = compute(input, 0, input.capacity());
    }

    private static byte[] seed(long s) {
        byte[] b = new byte[32];
        new Random(s).nextBytes(b);
        return b;
    }

    @Test
    void fixed4_matchesFormatter() {
        long seed = 20261206L;
        System.out.println("SpotCheckTest.fixed4 seed " + seed);
        Random rnd = new Random(seed);
        double[] awkward = {0.0, 1.0, 0.5, 0.00005, 0.00015, 0.99995, 0.12345, 0.123449999, 1e-9, 0.1 + 0.2,
            2.0 / 3, 1.0 / 3, 0.99999999, 12.00005};
        for (double x : awkward) {
            assertEquals(String.format(java.util.Locale.ROOT, "%.4f", x), SpotCheck.fixed4(x), Double.toString(x));
        }
        for (int i = 0; i < 100_000; i++) {
            double x = i % 2 == 0 ? rnd.nextDouble() : Math.round(rnd.nextDouble() * 1e5) / 1e5 + 5e-5 * (i % 3);
            assertEquals(String.format(java.util.Locale.ROOT, "%.4f", x), SpotCheck.fixed4(x), Double.toString(x));
        }
    }

    @Test
    void verify_correctOutput_passesWithHypergeometricNumbers() {
        byte[] root = Merkle.root(output, CHUNK);
        VerificationReport rep = SpotCheck.verify(output, root, CHUNK, 0.1, seed(1),
                (i, off, len) -> compute(input, off, len), Comparison.bitwise());
        assertTrue(rep.allPassed());
        Assurance a = rep.assurance();
        assertEquals(10, a.number(Assurance.SAMPLED_CHUNKS).orElseThrow());
        assertEquals(0.1, a.number(Assurance.DETECTION_PROBABILITY).orElseThrow(), 1e-12);
        double miss = 1;
        for (int i = 0; i < 10; i++) {
            miss *= (95.0 - i) / (100 - i);
        }
        assertEquals(1 - miss, a.number(Assurance.DETECTION_PROBABILITY_5PCT).orElseThrow(), 1e-12);
        assertEquals(0, output.position());
    }

    @Test
    void verify_corruptedChunk_isResultMismatchWithEvidence() {
        ByteBuffer bad = ByteBuffer.allocate(output.capacity()).put(output.duplicate()).flip()
                .order(ByteOrder.LITTLE_ENDIAN);
        bad.putFloat(37 * CHUNK + 8, 123f);
        byte[] root = Merkle.root(bad, CHUNK);    // provider committed to the wrong data
        VerificationException e = assertThrows(VerificationException.class, () -> SpotCheck.verify(bad, root, CHUNK, 1.0,
                seed(2), (i, off, len) -> compute(input, off, len), Comparison.float32(1e-6, 0)));
        assertEquals(VerificationException.Reason.RESULT_MISMATCH, e.reason());
        assertEquals("chunk 37 byte " + (37 * CHUNK + 8), e.evidence().orElseThrow().location());
        assertEquals("123.0", e.evidence().orElseThrow().actual());
    }

    @Test
    void verify_outputNotMatchingClaimedRoot_isOutputRootMismatch() {
        byte[] root = Merkle.root(output, CHUNK);
        root[0] ^= 1;
        assertEquals(VerificationException.Reason.OUTPUT_ROOT_MISMATCH, assertThrows(VerificationException.class,
                () -> SpotCheck.verify(output, root, CHUNK, 0.5, seed(3), (i, off, len) -> compute(input, off, len),
                        Comparison.bitwise())).reason());
    }

    @Test
    void sample_isDistinctSortedAndDeterministic() {
        for (int n : new int[] {1, 7, 100, 10_000}) {
            for (int s : new int[] {1, n / 3 + 1, n}) {
                int[] x = SpotCheck.sample(n, s, seed(n + s));
                assertArrayEquals(x, SpotCheck.sample(n, s, seed(n + s)));
                Set<Integer> set = new HashSet<>();
                for (int v : x) {
                    assertTrue(v >= 0 && v < n);
                    set.add(v);
                }
                assertEquals(s, set.size());
                int[] sorted = x.clone();
                Arrays.sort(sorted);
                assertArrayEquals(sorted, x);
            }
        }
    }

    @Test
    void verify_detectionRateOverSeeds_matchesFormula() {
        ByteBuffer bad = ByteBuffer.allocate(output.capacity()).put(output.duplicate()).flip();
        bad.put(3 * CHUNK, (byte) (bad.get(3 * CHUNK) ^ 1));
        byte[] root = Merkle.root(bad, CHUNK);
        int caught = 0;
        int trials = 300;
        for (int t = 0; t < trials; t++) {
            try {
                SpotCheck.verify(bad, root, CHUNK, 0.2, seed(10_000 + t), (i, off, len) -> compute(input, off, len),
                        Comparison.bitwise());
            } catch (VerificationException e) {
                caught++;
            }
        }
        double p = SpotCheck.detectionProbability(100, 20, 1);
        assertEquals(0.2, p, 1e-12);
        double sigma = Math.sqrt(trials * p * (1 - p));
        System.out.printf("SpotCheckTest caught %d/%d (expected %.1f)%n", caught, trials, trials * p);
        assertTrue(Math.abs(caught - trials * p) <= 4 * sigma, "caught " + caught);
    }

    @Test
    void detectionProbability_edgeCases() {
        assertEquals(1.0, SpotCheck.detectionProbability(10, 10, 1));
        assertEquals(0.0, SpotCheck.detectionProbability(10, 3, 0));
        assertEquals(1.0, SpotCheck.detectionProbability(10, 6, 5));
    }

    /** A source over bytes held here that records which chunks were read (their proofs checked by the caller's source). */
    private static SpotCheck.ChunkSource source(ByteBuffer data, java.util.List<Integer> asked) {
        return (indices, chunkBytes) -> {
            java.util.List<ByteBuffer> out = new java.util.ArrayList<>();
            for (int idx : indices) {
                asked.add(idx);
                int off = idx * chunkBytes;
                out.add(data.duplicate().position(off).limit(Math.min(data.capacity(), off + chunkBytes)).slice());
            }
            return out;
        };
    }

    @Test
    void verifyFetched_readsOnlyTheChunksVerifyWouldSample_andCatchesALie() {
        byte[] root = Merkle.root(output, CHUNK);
        java.util.List<Integer> asked = new java.util.ArrayList<>();
        VerificationReport rep = SpotCheck.verifyFetched(root, output.capacity(), CHUNK, 2 * CHUNK, 0.2, seed(5),
                source(output, asked), (i, off, len) -> compute(input, off, len), Comparison.bitwise());
        VerificationReport held = SpotCheck.verify(output, root, CHUNK, 2 * CHUNK, 0.2, seed(5),
                (i, off, len) -> compute(input, off, len), Comparison.bitwise());
        // 50 chunks of 2 KiB (the last 64 bytes short): the same 10 as over the held output.
        assertEquals(10, asked.size());
        assertTrue(held.checks().get(0).detail().endsWith("chunks " + asked), held.checks().get(0).detail());
        assertTrue(rep.allPassed());
        assertEquals(held.assurance(), rep.assurance());

        ByteBuffer bad = ByteBuffer.allocate(output.capacity()).put(output.duplicate()).flip()
                .order(ByteOrder.LITTLE_ENDIAN);
        bad.putFloat(49 * 2 * CHUNK + 4, 7f); // in the short last chunk
        VerificationException e = assertThrows(VerificationException.class, () -> SpotCheck.verifyFetched(root,
                bad.capacity(), CHUNK, 2 * CHUNK, 1.0, seed(6), source(bad, new java.util.ArrayList<>()),
                (i, off, len) -> compute(input, off, len), Comparison.float32(1e-6, 0)));
        assertEquals(VerificationException.Reason.RESULT_MISMATCH, e.reason());
        assertEquals("chunk 49 byte " + (49 * 2 * CHUNK + 4), e.evidence().orElseThrow().location());
    }
}
