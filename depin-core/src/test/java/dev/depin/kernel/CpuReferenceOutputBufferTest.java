package dev.depin.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static dev.depin.kernel.CpuReferenceScratchTest.inBytes;
import static dev.depin.kernel.CpuReferenceScratchTest.randomFloats;

import dev.depin.InvalidArgumentException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.HostArena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The executor's SGEMM into its output buffer ({@link CpuReference#sgemm(int, int, int, FloatBuffer,
 * FloatBuffer, ByteBuffer, KernelReference.Scratch)}): the bits of the array definition, written in
 * place in heap and direct buffers whatever they held, and no array of C among the job's scratch.
 */
class CpuReferenceOutputBufferTest {
    private static final long SEED = 0x0C_B0FF_2026L;
    /** Awkward shapes: edges in every block of both implementations, row and column splits, one thread's. */
    private static final int[][] SHAPES = {{7, 1, 5}, {13, 251, 263}, {1, 300, 257}, {130, 600, 33},
        {101, 521, 1061}, {300, 257, 70}, {145, 300, 129}};
    /** Bytes before C in the buffer, and after it, that the call must leave alone. */
    private static final int GUARD = 12;

    @Test
    void sgemmIntoBuffer_sameBitsAsTheArrayPath_noArrayOfC() {
        System.out.println("sgemmIntoBuffer seed=" + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int[] s : SHAPES) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] a = randomFloats(rnd, m * k);
            float[] b = randomFloats(rnd, k * n);
            if (m >= 2 && k >= 4) {
                // A NaN with a payload, an infinity times zero: both must come out as the canonical NaN.
                a[3] = Float.intBitsToFloat(0x7fc0_1234);
                a[k + 1] = Float.POSITIVE_INFINITY;
                b[n + 2] = 0f;
            }
            for (int threads = 1; threads <= 3; threads++) {
                for (CpuReference cpu : new CpuReference[] {new CpuReference(threads),
                    CpuReference.withoutVectorApi(threads)}) {
                    try (cpu) {
                        float[] want = new float[m * n];
                        cpu.sgemm(m, k, n, a, b, want);
                        HostArena arrayJob = new HostArena();
                        cpu.sgemm(m, k, n, inBytes(a), inBytes(b), new float[m * n], arrayJob);
                        for (boolean direct : new boolean[] {false, true}) {
                            String what = cpu.sgemmImplementation() + " threads=" + threads + " " + m + "x" + k + "x"
                                    + n + (direct ? " direct" : " heap");
                            int bytes = m * n * Float.BYTES + 2 * GUARD;
                            ByteBuffer out = direct ? ByteBuffer.allocateDirect(bytes) : ByteBuffer.allocate(bytes);
                            for (int i = 0; i < bytes; i++) {
                                out.put(i, (byte) 0x7f); // whatever the buffer held: NaNs with payloads
                            }
                            out.position(GUARD).limit(bytes - GUARD);
                            HostArena job = new HostArena();
                            cpu.sgemm(m, k, n, inBytes(a), inBytes(b), out, job);
                            assertEquals(GUARD, out.position(), what + ": position unchanged");
                            assertEquals(ByteOrder.BIG_ENDIAN, out.order(), what + ": byte order unchanged");
                            assertEquals(bytes - GUARD, out.limit(), what + ": limit unchanged");
                            ByteBuffer le = out.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
                            for (int i = 0; i < GUARD; i++) {
                                assertEquals((byte) 0x7f, le.get(i), what + ": guard byte " + i);
                                assertEquals((byte) 0x7f, le.get(bytes - 1 - i), what + ": guard byte " + (bytes - 1 - i));
                            }
                            for (int e = 0; e < want.length; e++) {
                                int got = le.getInt(GUARD + e * Float.BYTES);
                                if (got != Float.floatToRawIntBits(want[e])) {
                                    fail(what + ": element " + e + " is 0x" + Integer.toHexString(got)
                                            + ", the array path gives 0x"
                                            + Integer.toHexString(Float.floatToRawIntBits(want[e])));
                                }
                            }
                            // The kernel's own arrays, as with an array of C, and no array of C.
                            List<ExecutionContext.Allocation> allocs = job.allocations();
                            assertEquals(arrayJob.allocations(), allocs, what);
                            assertTrue(allocs.stream().allMatch(al -> al.label().startsWith("scratch:sgemm-w")),
                                    what + ": " + allocs);
                            job.close();
                        }
                        arrayJob.close();
                    }
                }
            }
        }
    }

    @Test
    void sgemmIntoBuffer_nanCanonical() {
        try (CpuReference cpu = new CpuReference(1)) {
            ByteBuffer out = ByteBuffer.allocate(4);
            cpu.sgemm(1, 1, 1, inBytes(new float[] {Float.intBitsToFloat(0xffc0_0001)}), inBytes(new float[] {2f}), out,
                    KernelReference.Scratch.UNTRACKED);
            assertEquals(0x7fffffff, out.order(ByteOrder.LITTLE_ENDIAN).getInt(0));
        }
    }

    @Test
    void sgemmIntoBuffer_badOutput() {
        try (CpuReference cpu = new CpuReference(2)) {
            FloatBuffer a = inBytes(new float[6]);
            FloatBuffer b = inBytes(new float[12]);
            HostArena job = new HostArena();
            assertEquals("c must not be null", assertThrows(InvalidArgumentException.class,
                    () -> cpu.sgemm(2, 3, 4, a, b, (ByteBuffer) null, job)).getMessage());
            assertEquals("c must have >= 4*m*n = 32 bytes remaining but has 31", assertThrows(
                    InvalidArgumentException.class, () -> cpu.sgemm(2, 3, 4, a, b, ByteBuffer.allocate(31), job))
                    .getMessage());
            assertEquals("c is read-only: pass a writable buffer to receive C", assertThrows(
                    InvalidArgumentException.class,
                    () -> cpu.sgemm(2, 3, 4, a, b, ByteBuffer.allocate(32).asReadOnlyBuffer(), job)).getMessage());
            assertEquals("scratch is null: pass a value", assertThrows(InvalidArgumentException.class,
                    () -> cpu.sgemm(2, 3, 4, a, b, ByteBuffer.allocate(32), null)).getMessage());
            assertEquals("b must have >= k*n = 12 floats remaining but has 11", assertThrows(
                    InvalidArgumentException.class,
                    () -> cpu.sgemm(2, 3, 4, a, inBytes(new float[11]), ByteBuffer.allocate(32), job)).getMessage());
            assertTrue(job.allocations().isEmpty(), "rejected calls allocate nothing");
            job.close();
        }
    }
}
