package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.VerificationReport;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class FreivaldsTest {
    private static final long SEED = 0xF4E1_7A15L;

    static float[] random(Random r, int len, boolean positive) {
        float[] f = new float[len];
        for (int i = 0; i < len; i++) {
            f[i] = positive ? r.nextFloat() : r.nextFloat() * 2 - 1;
        }
        return f;
    }

    /**
     * Plain i-p-j float32 product (each C element summed in increasing p); also used by
     * other crypto tests as the reference product.
     */
    public static float[] multiply(float[] a, float[] b, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float av = a[i * k + p];
                for (int j = 0; j < n; j++) {
                    c[i * n + j] += av * b[p * n + j];
                }
            }
        }
        return c;
    }

    /** Another summation order: reversed p, with FMA. */
    static float[] multiplyReversedFma(float[] a, float[] b, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int p = k - 1; p >= 0; p--) {
                    s = Math.fma(a[i * k + p], b[p * n + j], s);
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }

    static byte[] seed(long s) {
        byte[] b = new byte[32];
        new Random(s).nextBytes(b);
        return b;
    }

    @Test
    void verify_correctProductsOfOddSizes_pass() {
        System.out.println("FreivaldsTest seed " + SEED);
        Random r = new Random(SEED);
        int[][] shapes = {{1, 1, 1}, {7, 13, 5}, {129, 257, 65}, {300, 1, 300}};
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] a = random(r, m * k, false);
            float[] b = random(r, k * n, false);
            for (float[] c : new float[][] {multiply(a, b, m, k, n), multiplyReversedFma(a, b, m, k, n)}) {
                VerificationReport rep = Freivalds.verify(a, b, c, m, k, n, 8, seed(r.nextLong()));
                assertTrue(rep.allPassed());
                assertEquals(Assurance.Level.FREIVALDS, rep.assurance().level());
                assertEquals(Math.scalb(1.0, -8), rep.assurance().number(Assurance.FALSE_ACCEPT_BOUND).orElseThrow());
                Freivalds.verify(a, 0, b, 0, c, 0, m, k, n, Freivalds.Options.probabilistic(8, 10), seed(r.nextLong()));
            }
        }
    }

    @Test
    void verify_positiveDataLongSums_rigorousAcceptsWorstOrders() {
        Random r = new Random(SEED + 1);
        int m = 3;
        int k = 20_000;
        int n = 4;
        float[] a = random(r, m * k, true);
        float[] b = random(r, k * n, true);
        Freivalds.verify(a, b, multiply(a, b, m, k, n), m, k, n, 16, seed(1));
        Freivalds.verify(a, b, multiplyReversedFma(a, b, m, k, n), m, k, n, 16, seed(2));
        // tall: many rows summed by the check itself
        int mt = 20_000;
        int kt = 3;
        float[] at = random(r, mt * kt, true);
        float[] bt = random(r, kt * n, true);
        Freivalds.verify(at, bt, multiply(at, bt, mt, kt, n), mt, kt, n, 16, seed(3));
        Freivalds.verify(at, 0, bt, 0, multiplyReversedFma(at, bt, mt, kt, n), 0, mt, kt, n,
                Freivalds.Options.probabilistic(16, 10), seed(4));
    }

    @Test
    void verify_oneElementPerturbed_failsAndEvidenceNamesRow() {
        Random r = new Random(SEED + 2);
        int m = 129;
        int k = 257;
        int n = 65;
        float[] a = random(r, m * k, false);
        float[] b = random(r, k * n, false);
        float[] c = multiply(a, b, m, k, n);
        c[77 * n + 31] += 100f;
        for (Freivalds.Options o : new Freivalds.Options[] {Freivalds.Options.rigorous(40),
                Freivalds.Options.probabilistic(40, 10)}) {
            VerificationException e = assertThrows(VerificationException.class,
                    () -> Freivalds.verify(a, b, c, m, k, n, o, seed(3)));
            assertEquals(VerificationException.Reason.RESULT_MISMATCH, e.reason());
            Evidence ev = e.evidence().orElseThrow();
            assertTrue(ev.location().startsWith("row 77, column 31 "), ev.location());
            assertTrue(ev.location().contains("column 31"), ev.location());
            assertEquals(64, ev.seed().length());
            assertTrue(e.getMessage().contains("row 77"), e.getMessage());
        }
    }

    @Test
    void verify_probabilisticToleranceIsTighterThanRigorous() {
        Random r = new Random(SEED + 3);
        int m = 64;
        int k = 512;
        int n = 64;
        float[] a = random(r, m * k, false);
        float[] b = random(r, k * n, false);
        float[] c = multiply(a, b, m, k, n);
        double rig = Freivalds.verify(a, b, c, m, k, n, 2, seed(4)).assurance().number(Assurance.TOLERANCE).orElseThrow();
        double pro = Freivalds.verify(a, b, c, m, k, n, Freivalds.Options.probabilistic(2, 10), seed(4))
                .assurance().number(Assurance.TOLERANCE).orElseThrow();
        System.out.printf("FreivaldsTest 64x512x64 tolerance rigorous %.3e probabilistic %.3e%n", rig, pro);
        assertTrue(pro < rig, pro + " vs " + rig);
    }

    @Test
    void verify_falseAcceptRateOverManySeeds_isWithinBound() {
        Random r = new Random(SEED + 4);
        int m = 20;
        int k = 30;
        int n = 25;
        float[] a = random(r, m * k, false);
        float[] b = random(r, k * n, false);
        float[] c = multiply(a, b, m, k, n);
        c[5 * n + 7] += 1000f;
        int trials = 400;
        int[] rounds = {1, 3};
        for (int rr : rounds) {
            int accepted = 0;
            for (int t = 0; t < trials; t++) {
                try {
                    Freivalds.verify(a, b, c, m, k, n, rr, seed(1000L * rr + t));
                    accepted++;
                } catch (VerificationException e) {
                    assertEquals(VerificationException.Reason.RESULT_MISMATCH, e.reason());
                }
            }
            double bound = Math.scalb(1.0, -rr);
            double sigma = Math.sqrt(trials * bound * (1 - bound));
            System.out.printf("FreivaldsTest r=%d: %d/%d wrong products accepted (bound %.3f -> expected <= %.1f)%n",
                    rr, accepted, trials, bound, trials * bound);
            assertTrue(accepted <= trials * bound + 4 * sigma, "accepted " + accepted + " with r=" + rr);
            assertTrue(accepted >= trials * bound - 4 * sigma, "single-element error: x_j=0 with probability exactly 1/2");
        }
    }

    @Test
    void verify_nonFiniteValues_rejected() {
        float[] a = {1, 2, 3, 4};
        float[] b = {1, 0, 0, 1};
        float[] c = {1, 2, 3, Float.NaN};
        assertEquals(VerificationException.Reason.RESULT_MISMATCH, assertThrows(VerificationException.class,
                () -> Freivalds.verify(a, b, c, 2, 2, 2, 16, seed(5))).reason());
        float[] aNan = {1, Float.POSITIVE_INFINITY, 3, 4};
        assertThrows(InvalidArgumentException.class, () -> Freivalds.verify(aNan, b, new float[4], 2, 2, 2, 4, seed(5)));
        assertThrows(InvalidArgumentException.class, () -> Freivalds.verify(a, b, new float[3], 2, 2, 2, 4, seed(5)));
        assertThrows(InvalidArgumentException.class, () -> Freivalds.verify(a, b, c, 2, 2, 2, 4, new byte[8]));
    }

    @Test
    void verify_sameSeed_isDeterministic_andDirectBuffersWork() {
        Random r = new Random(SEED + 5);
        int m = 33;
        int k = 17;
        int n = 9;
        float[] a = random(r, m * k, false);
        float[] b = random(r, k * n, false);
        float[] c = multiply(a, b, m, k, n);
        VerificationReport r1 = Freivalds.verify(a, b, c, m, k, n, 3, seed(6));
        VerificationReport r2 = Freivalds.verify(direct(a), direct(b), direct(c), m, k, n,
                Freivalds.Options.rigorous(3), seed(6));
        assertEquals(r1, r2);
    }

    @Test
    void verify_largeParallel_passesAndCatchesError() {
        Random r = new Random(SEED + 6);
        int m = 512;
        int k = 384;
        int n = 640;
        float[] a = random(r, m * k, false);
        float[] b = random(r, k * n, false);
        float[] c = multiply(a, b, m, k, n);
        VerificationReport oneThread = Freivalds.verify(a, b, c, m, k, n, 2, seed(7));
        for (int threads : new int[] {2, 3, 7}) {
            try (Parallelism pool = Parallelism.newPool(threads)) {
                assertEquals(oneThread, Freivalds.verify(a, 0, b, 0, c, 0, m, k, n, Freivalds.Options.rigorous(2),
                        seed(7), pool), "the report does not depend on the thread count (" + threads + ")");
                assertEquals(oneThread, Freivalds.verify(direct(a), direct(b), direct(c), m, k, n,
                        Freivalds.Options.rigorous(2), seed(7), pool));
            }
        }
        c[511 * n + 639] = -c[511 * n + 639] + 500f;
        VerificationException e = assertThrows(VerificationException.class,
                () -> Freivalds.verify(a, b, c, m, k, n, 30, seed(8)));
        assertTrue(e.evidence().orElseThrow().location().startsWith("row 511, column 639 "), e.evidence().toString());
        try (Parallelism pool = Parallelism.newPool(3)) {
            VerificationException p = assertThrows(VerificationException.class, () -> Freivalds.verify(a, 0, b, 0, c, 0,
                    m, k, n, Freivalds.Options.rigorous(30), seed(8), pool));
            assertEquals(e.getMessage(), p.getMessage());
        }
    }

    @Test
    void verify_littleEndianByteBufferViews_readInPlaceSameResultAndEvidence() {
        Random r = new Random(SEED + 7);
        int m = 67;
        int k = 131;
        int n = 93;
        float[] a = random(r, m * k, false);
        float[] b = random(r, k * n, false);
        float[] c = multiply(a, b, m, k, n);
        FloatBuffer cv = heapLittleEndian(c);
        int position = cv.position();
        assertEquals(Freivalds.verify(a, b, c, m, k, n, 8, seed(9)), Freivalds.verify(heapLittleEndian(a),
                heapLittleEndian(b), cv, m, k, n, Freivalds.Options.rigorous(8), seed(9)));
        assertEquals(position, cv.position(), "the buffer's position is not moved");
        c[40 * n + 17] += 50f;
        VerificationException onArrays = assertThrows(VerificationException.class,
                () -> Freivalds.verify(a, b, c, m, k, n, 30, seed(10)));
        VerificationException onViews = assertThrows(VerificationException.class,
                () -> Freivalds.verify(heapLittleEndian(a), heapLittleEndian(b), heapLittleEndian(c), m, k, n,
                        Freivalds.Options.rigorous(30), seed(10)));
        assertEquals(onArrays.evidence(), onViews.evidence());
        assertTrue(onViews.evidence().orElseThrow().location().startsWith("row 40, column 17 "));
        // Too few elements remaining is refused before any work.
        FloatBuffer shortC = heapLittleEndian(new float[m * n - 1]);
        assertThrows(dev.depin.InvalidArgumentException.class, () -> Freivalds.verify(heapLittleEndian(a),
                heapLittleEndian(b), shortC, m, k, n, Freivalds.Options.rigorous(2), seed(11)));
    }

    /** A float view of a little-endian heap byte buffer: no backing float array, as received from a network. */
    private static FloatBuffer heapLittleEndian(float[] f) {
        ByteBuffer bb = ByteBuffer.allocate(f.length * 4 + 8).order(ByteOrder.LITTLE_ENDIAN);
        bb.position(8);
        ByteBuffer body = bb.slice().order(ByteOrder.LITTLE_ENDIAN);
        body.asFloatBuffer().put(f);
        FloatBuffer view = body.asFloatBuffer();
        assertTrue(!view.hasArray());
        return view;
    }

    private static FloatBuffer direct(float[] f) {
        FloatBuffer fb = ByteBuffer.allocateDirect(f.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        fb.put(f).flip();
        return fb;
    }
}
