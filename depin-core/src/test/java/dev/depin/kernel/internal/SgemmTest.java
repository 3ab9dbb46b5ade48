package dev.depin.kernel.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.verify.ChunkRecomputer;
import dev.depin.crypto.verify.SpotCheck;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Buffers;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.Recompute;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SGEMM's spot-check recomputation: every chunk it recomputes is exactly the product's bytes,
 * whether it was told the sample or not, for shapes where the 64 KiB chunks do not fall on rows
 * (m, k, n all different; a chunk of 16.4 rows, of many rows, of part of a row, straddling two).
 */
class SgemmTest {
    private static final long SEED = 0x5A3_9E33L;
    private static final int CHUNK = JobSpec.PROOF_CHUNK_BYTES;
    private static CpuReference cpu;

    @BeforeAll
    static void start() {
        System.out.println("SgemmTest seed 0x" + Long.toHexString(SEED));
        cpu = new CpuReference(2);
    }

    @AfterAll
    static void stop() {
        cpu.close();
    }

    @Test
    void recompute_comparesBitForBit() {
        Recompute rc = recompute(2, 3, 4, new float[6], new float[12]);
        assertTrue(rc.comparison().isBitwise(), rc.comparison().describe());
    }

    @Test
    void recompute_everyChunkIsTheProductsBytes_toldOrNot() {
        // {m, k, n}: 16.38 rows a chunk; 0.82 of a row (chunks straddle rows); 1489 rows; one float.
        int[][] shapes = {{71, 300, 1000}, {3, 7, 20_000}, {3000, 17, 11}, {1, 1, 1}, {40, 513, 4096}};
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] a = floats(rnd, m * k);
            float[] b = floats(rnd, k * n);
            float[] c = new float[m * n];
            cpu.sgemm(m, k, n, a, b, c);
            ByteBuffer want = Buffers.littleEndian(c);
            long total = 4L * m * n;
            int chunks = (int) ((total + CHUNK - 1) / CHUNK);
            byte[] seed = new byte[32];
            rnd.nextBytes(seed);
            int[] sample = SpotCheck.sampledChunks(total, CHUNK, 0.3, seed);
            int[] all = new int[chunks];
            for (int i = 0; i < chunks; i++) {
                all[i] = i;
            }
            String shape = m + "x" + k + "x" + n;
            // Told the sample, asked the sample (the spot check); told nothing; told all.
            check(recompute(m, k, n, a, b), sample, sample, want, shape + " told the sample");
            check(recompute(m, k, n, a, b), null, all, want, shape + " told nothing");
            check(recompute(m, k, n, a, b), all, all, want, shape + " told every chunk");
            // Told a sample, then asked chunks it was not told, in another order.
            int[] backwards = new int[chunks];
            for (int i = 0; i < chunks; i++) {
                backwards[i] = chunks - 1 - i;
            }
            check(recompute(m, k, n, a, b), sample, backwards, want, shape + " told the sample, asked all backwards");
        }
    }

    @Test
    void recompute_chunkNotOfTheProduct_isRefused() {
        ChunkRecomputer r = recompute(2, 3, 4, new float[6], new float[12]).recomputer();
        assertEquals("bytes [16, 48) are not whole floats of the 2x4 product", assertThrows(
                IllegalArgumentException.class, () -> r.recompute(0, 16, 32)).getMessage());
        assertEquals("bytes [2, 6) are not whole floats of the 2x4 product", assertThrows(
                IllegalArgumentException.class, () -> r.recompute(0, 2, 4)).getMessage());
    }

    private static void check(Recompute rc, int[] told, int[] asked, ByteBuffer want, String what) {
        long total = want.remaining();
        if (told != null) {
            rc.recomputer().prepare(told.clone(), CHUNK, total);
        }
        for (int idx : asked) {
            long off = (long) idx * CHUNK;
            int len = (int) Math.min(CHUNK, total - off);
            ByteBuffer got = rc.recomputer().recompute(idx, off, len);
            ByteBuffer expected = want.duplicate().position((int) off).limit((int) off + len);
            assertEquals(len, got.remaining(), what + ": chunk " + idx);
            int at = expected.mismatch(got);
            assertEquals(-1, at, what + ": chunk " + idx + " differs at byte " + at);
        }
    }

    private static Recompute recompute(int m, int k, int n, float[] a, float[] b) {
        LaunchParams p = LaunchParams.builder().put("m", m).put("k", k).put("n", n).build();
        return BuiltinKernel.SGEMM.reference().orElseThrow().recompute(cpu, p, Map.of(
                "a", Buffers.littleEndian(a).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN),
                "b", Buffers.littleEndian(b).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN)));
    }

    private static float[] floats(SplittableRandom rnd, int count) {
        float[] f = new float[count];
        for (int i = 0; i < count; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }
}
