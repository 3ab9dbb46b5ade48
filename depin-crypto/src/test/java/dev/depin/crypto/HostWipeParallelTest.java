package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A wipe cut into ranges on several threads writes and reads back every byte of the buffer and
 * nothing outside it, and returns the record the one-thread wipe returns.
 */
class HostWipeParallelTest {
    private static final long SEED = 20261207L;
    /** Sizes around the 1 MiB ranges and 64 KiB blocks, and the degenerate ones. */
    private static final int[] SIZES = {0, 1, 65_535, (1 << 20) - 1, (1 << 20) + 1, 3 * (1 << 20) + 13};
    private static final Parallelism POOL = Parallelism.newPool(3);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @Test
    void heapSliceDirectAndArray_everyByteWipedNothingElse_sameRecordAsOneThread() {
        System.out.println("seed " + SEED);
        Random r = new Random(SEED);
        for (int n : SIZES) {
            for (byte pattern : new byte[] {(byte) 0xa5, (byte) 0xff, 0x01}) {
                // A heap buffer that views the middle of a larger array: its neighbours stay.
                byte[] backing = new byte[n + 40];
                r.nextBytes(backing);
                byte[] before = backing.clone();
                ByteBuffer slice = ByteBuffer.wrap(backing, 17, n).slice();
                WipeRecord w = HostWipe.wipe("slice", slice, pattern, POOL);
                assertEquals(HostWipe.wipe("slice", ByteBuffer.allocate(n), pattern), w, "n=" + n);
                for (int i = 0; i < backing.length; i++) {
                    byte expected = i >= 17 && i < 17 + n ? pattern : before[i];
                    if (backing[i] != expected) {
                        throw new AssertionError("n=" + n + " pattern " + pattern + ": byte " + i + " is " + backing[i]);
                    }
                }
                ByteBuffer direct = ByteBuffer.allocateDirect(n);
                for (int i = 0; i < n; i++) {
                    direct.put(i, (byte) r.nextInt());
                }
                direct.position(n / 3).limit(n / 2);
                assertEquals(w.bytes(), HostWipe.wipe("slice", direct, pattern, POOL).bytes());
                assertEquals(n / 3, direct.position(), "position unchanged");
                assertEquals(n / 2, direct.limit(), "limit unchanged");
                ByteBuffer all = direct.duplicate().clear();
                for (int i = 0; i < n; i++) {
                    if (all.get(i) != pattern) {
                        throw new AssertionError("n=" + n + ": direct byte " + i + " is " + all.get(i));
                    }
                }
            }
        }
    }

    @Test
    void floats_everyFloatHoldsThePatternBits_nanPatternToo() {
        Random r = new Random(SEED + 1);
        for (int n : SIZES) {
            int count = n / Float.BYTES;
            for (byte pattern : new byte[] {(byte) 0xa5, (byte) 0xff, 0x7f}) {
                float[] f = new float[count];
                for (int i = 0; i < count; i++) {
                    // Other NaNs among the values: a NaN pattern must still be written over them.
                    f[i] = i % 7 == 0 ? Float.intBitsToFloat(0x7fc00001 + i) : r.nextFloat();
                }
                WipeRecord w = HostWipe.wipe("f", f, pattern, POOL);
                assertEquals(HostWipe.wipe("f", new float[count], pattern), w);
                assertEquals(4L * count, w.bytes());
                int bits = (pattern & 0xff) * 0x01010101;
                for (int i = 0; i < count; i++) {
                    if (Float.floatToRawIntBits(f[i]) != bits) {
                        throw new AssertionError("n=" + count + " pattern " + pattern + ": float " + i + " has bits "
                                + Integer.toHexString(Float.floatToRawIntBits(f[i])));
                    }
                }
            }
        }
    }

    @Test
    void nullsAndReadOnly_refusedWithTheirNames() {
        assertEquals("parallelism is null: pass a value", assertThrows(InvalidArgumentException.class,
                () -> HostWipe.wipe("x", ByteBuffer.allocate(4), (byte) 1, null)).getMessage());
        assertEquals("parallelism is null: pass a value", assertThrows(InvalidArgumentException.class,
                () -> HostWipe.wipe("x", new float[4], (byte) 1, null)).getMessage());
        assertEquals("buffer 'ro' is read-only: wipe the writable buffer it views",
                assertThrows(InvalidArgumentException.class,
                        () -> HostWipe.wipe("ro", ByteBuffer.allocate(4).asReadOnlyBuffer(), (byte) 1, POOL))
                        .getMessage());
    }
}
