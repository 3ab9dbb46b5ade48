package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prepared check (product side before C, C summed chunk by chunk as it arrives) gives
 * exactly the one-shot check's report and failures for the same seed.
 */
public class FreivaldsPreparedTest {
    private static final long SEED = 0x5EED_F4E1L;

    private static ByteBuffer le(float[] f) {
        ByteBuffer b = ByteBuffer.allocate(4 * f.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b;
    }

    /** Feeds C's bytes in random pieces (1 byte up to a few rows), as a transport may cut them. */
    private static void feed(Freivalds.Prepared p, ByteBuffer c, Random r, int n) {
        ByteBuffer src = c.duplicate();
        while (src.hasRemaining()) {
            int max = r.nextInt(4) == 0 ? 3 : 4 * n * (1 + r.nextInt(3)) + r.nextInt(9);
            int len = Math.min(src.remaining(), 1 + r.nextInt(max));
            ByteBuffer piece = src.slice().limit(len);
            p.acceptC(piece);
            src.position(src.position() + len);
        }
    }

    private static FloatBuffer view(ByteBuffer b) {
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    /** The one-shot result: the report, or the failure's message and evidence. */
    private static String oneShot(ByteBuffer a, ByteBuffer b, ByteBuffer c, int m, int k, int n,
                                  Freivalds.Options o, byte[] seed) {
        try {
            return Freivalds.verify(view(a), view(b), view(c), m, k, n, o, seed).toString();
        } catch (VerificationException e) {
            return "FAIL " + e.getMessage() + " " + e.evidence();
        }
    }

    private static String prepared(ByteBuffer a, ByteBuffer b, ByteBuffer c, int m, int k, int n,
                                   Freivalds.Options o, byte[] seed, Random r, boolean productFirst) {
        try (Freivalds.Prepared p = Freivalds.prepare(m, k, n, o, seed)) {
            if (productFirst) {
                p.computeProduct(view(a), view(b), Parallelism.callerThread());
            }
            feed(p, c, r, n);
            assertEquals(4L * m * n, p.acceptedBytes());
            try {
                return p.finish(view(a), view(b), view(c)).toString();
            } catch (VerificationException e) {
                return "FAIL " + e.getMessage() + " " + e.evidence();
            }
        }
    }

    @Test
    void finish_awkwardSizes_sameReportAndSameFailureAsOneShot() {
        System.out.println("FreivaldsPreparedTest seed " + SEED);
        Random r = new Random(SEED);
        int[][] shapes = {{1, 1, 1}, {7, 7, 7}, {1, 5, 1023}, {1023, 3, 1}, {300, 7, 33}, {257, 64, 7},
            {513, 9, 1023}};
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] af = FreivaldsTest.random(r, m * k, false);
            float[] bf = FreivaldsTest.random(r, k * n, false);
            float[] cf = FreivaldsTest.multiply(af, bf, m, k, n);
            ByteBuffer a = le(af);
            ByteBuffer b = le(bf);
            for (Freivalds.Options o : new Freivalds.Options[] {Freivalds.Options.rigorous(2),
                Freivalds.Options.rigorous(5), Freivalds.Options.probabilistic(3, 10)}) {
                byte[] seed = FreivaldsTest.seed(r.nextLong());
                String shape = m + "x" + k + "x" + n + " " + o;
                String good = oneShot(a, b, le(cf), m, k, n, o, seed);
                assertFalse(good.startsWith("FAIL"), shape + ": " + good);
                assertEquals(good, prepared(a, b, le(cf), m, k, n, o, seed, r, true), shape);
                assertEquals(good, prepared(a, b, le(cf), m, k, n, o, seed, r, false), shape);

                // One element wrong: both paths fail, with the same message and evidence.
                float[] bad = cf.clone();
                int at = r.nextInt(m * n);
                bad[at] += 1f + Math.abs(bad[at]);
                String wrong = oneShot(a, b, le(bad), m, k, n, Freivalds.Options.rigorous(40), seed);
                assertTrue(wrong.startsWith("FAIL"), shape + " element " + at + ": " + wrong);
                assertEquals(wrong, prepared(a, b, le(bad), m, k, n, Freivalds.Options.rigorous(40), seed, r,
                        r.nextBoolean()), shape + " element " + at);
            }
        }
    }

    @Test
    void finish_productOnPool_sameAsCallerThread() throws Exception {
        Random r = new Random(SEED + 1);
        int m = 600;
        int k = 40;
        int n = 130;
        float[] af = FreivaldsTest.random(r, m * k, false);
        float[] bf = FreivaldsTest.random(r, k * n, false);
        ByteBuffer a = le(af);
        ByteBuffer b = le(bf);
        ByteBuffer c = le(FreivaldsTest.multiply(af, bf, m, k, n));
        byte[] seed = FreivaldsTest.seed(SEED);
        Freivalds.Options o = Freivalds.Options.rigorous(20);
        String expected = oneShot(a, b, c, m, k, n, o, seed);
        try (Parallelism pool = Parallelism.newPool(3);
             Freivalds.Prepared p = Freivalds.prepare(m, k, n, o, seed)) {
            Thread t = new Thread(() -> p.computeProduct(view(a), view(b), pool));
            t.start();
            feed(p, c, r, n);
            assertEquals(expected, p.finish(view(a), view(b), view(c)).toString());
            t.join();
        }
    }

    @Test
    void acceptC_beyondC_refusedAndIncompleteCannotFinish() {
        int m = 3;
        int k = 2;
        int n = 5;
        byte[] seed = FreivaldsTest.seed(SEED);
        try (Freivalds.Prepared p = Freivalds.prepare(m, k, n, Freivalds.Options.rigorous(2), seed)) {
            p.acceptC(ByteBuffer.allocate(4 * m * n - 1));
            InvalidArgumentException incomplete = assertThrows(InvalidArgumentException.class,
                    () -> p.finish(FloatBuffer.allocate(m * k), FloatBuffer.allocate(k * n), FloatBuffer.allocate(m * n)));
            assertEquals("C is incomplete: 59 of its 60 bytes were accepted", incomplete.getMessage());
            InvalidArgumentException more = assertThrows(InvalidArgumentException.class,
                    () -> p.acceptC(ByteBuffer.allocate(2)));
            assertEquals("2 more bytes of C, but only 1 of its 60 are missing", more.getMessage());
        }
    }

    @Test
    void close_wipesAndRefusesReuse() throws Exception {
        int m = 4;
        int k = 3;
        int n = 2;
        Random r = new Random(SEED + 2);
        float[] af = FreivaldsTest.random(r, m * k, false);
        float[] bf = FreivaldsTest.random(r, k * n, false);
        ByteBuffer c = le(FreivaldsTest.multiply(af, bf, m, k, n));
        byte[] seed = FreivaldsTest.seed(SEED);
        Freivalds.Prepared p = Freivalds.prepare(m, k, n, Freivalds.Options.rigorous(3), seed);
        p.computeProduct(FloatBuffer.wrap(af), FloatBuffer.wrap(bf), Parallelism.callerThread());
        p.acceptC(c.duplicate());
        p.close();
        assertTrue(p.isClosed());
        // Every secret field is zero: the seed copy, the vectors, the partial sums, the product side.
        for (java.lang.reflect.Field fl : Freivalds.Prepared.class.getDeclaredFields()) {
            if (fl.getType().isPrimitive() || java.lang.reflect.Modifier.isStatic(fl.getModifiers())) {
                continue;
            }
            fl.setAccessible(true);
            Object v = fl.get(p);
            if (v instanceof byte[] bs) {
                for (byte x : bs) {
                    assertEquals(0, x, fl.getName());
                }
            } else if (v instanceof float[][] ff) {
                for (float[] row : ff) {
                    for (float x : row) {
                        assertEquals(0f, x, fl.getName());
                    }
                }
            } else if (v instanceof double[][] dd) {
                for (double[] row : dd) {
                    for (double x : row) {
                        assertEquals(0.0, x, fl.getName());
                    }
                }
            } else if (v instanceof float[] fa) {
                for (float x : fa) {
                    assertEquals(0f, x, fl.getName());
                }
            } else if (v instanceof double[] da) {
                for (double x : da) {
                    assertEquals(0.0, x, fl.getName());
                }
            }
        }
        assertTrue(seed[0] != 0 || seed[1] != 0, "the caller's seed is the caller's (copied in)");
        InvalidArgumentException after = assertThrows(InvalidArgumentException.class,
                () -> p.acceptC(ByteBuffer.allocate(4)));
        assertEquals("bytes of C after the check was finished or closed", after.getMessage());
        assertThrows(InvalidArgumentException.class,
                () -> p.finish(FloatBuffer.wrap(af), FloatBuffer.wrap(bf), c.asFloatBuffer()));
        assertFalse(p.toString().contains(dev.depin.crypto.Hex.encode(seed)));
        p.close();   // idempotent
    }
}
