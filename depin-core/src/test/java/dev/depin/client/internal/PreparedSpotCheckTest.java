package dev.depin.client.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.depin.crypto.verify.SpotCheck;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Buffers;
import dev.depin.kernel.CpuReference;
import dev.depin.money.MicroUsd;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The spot check of a left output drawn at dispatch ({@link HeldSpotCheck#prepare}): its
 * sampled chunks recomputed bit for bit, the client's bound on the bytes they hold, the seed
 * taken by one check only, and the cases where none is prepared.
 */
class PreparedSpotCheckTest {
    private static final long SEED = 0x5A3D15L;
    /** 300 x 100 floats: 120,000 bytes, two 64 KiB chunks (the second 54,464 bytes). */
    private static final int M = 300;
    private static final int K = 80;
    private static final int N = 100;
    private final SplittableRandom random = new SplittableRandom(SEED);

    PreparedSpotCheckTest() {
        System.out.println("PreparedSpotCheckTest seed 0x" + Long.toHexString(SEED));
    }

    private float[] floats(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }

    private Job job(float[] a, float[] b, double fraction) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", N).input("a", a).input("b", b)
                .maxPrice(MicroUsd.ofMicros(50_000)).timeout(Duration.ofSeconds(60))
                .leaveOutputsOnNode(Duration.ofMinutes(5)).verification(VerificationPolicy.spotCheck(fraction)).build();
    }

    private static byte[] seed(int first) {
        byte[] s = new byte[32];
        for (int i = 0; i < s.length; i++) {
            s[i] = (byte) (first + i);
        }
        return s;
    }

    @Test
    void sampledChunks_areRecomputedBitForBit_andTheSeedIsTakenOnce() {
        float[] a = floats(M * K);
        float[] b = floats(K * N);
        Job job = job(a, b, 1.0);
        try (CpuReference cpu = new CpuReference(2)) {
            float[] c = new float[M * N];
            cpu.sgemm(M, K, N, a, b, c);
            byte[] expected = Buffers.littleEndian(c).array();
            byte[] seed = seed(7);
            AtomicLong bound = new AtomicLong();
            HeldSpotCheck.Prepared p = HeldSpotCheck.prepare(cpu, job.spec(), job.inputs(), 1.0, seed, Runnable::run,
                    bound, 1L << 20);
            assertNotNull(p);
            assertEquals(M * N * 4L, bound.get(), "every byte sampled at fraction 1");
            int[] sample = p.sample("c");
            assertArrayEquals(SpotCheck.sampledChunks(M * N * 4L, JobSpec.PROOF_CHUNK_BYTES, 1.0, seed), sample);
            assertArrayEquals(new int[] {0, 1}, sample);
            Map<Integer, ByteBuffer> got = p.recomputed("c");
            assertEquals(2, got.size());
            for (int idx : sample) {
                int off = idx * JobSpec.PROOF_CHUNK_BYTES;
                int len = Math.min(JobSpec.PROOF_CHUNK_BYTES, expected.length - off);
                ByteBuffer g = got.get(idx);
                assertEquals(len, g.remaining(), "chunk " + idx);
                byte[] bytes = new byte[len];
                g.duplicate().get(bytes);
                byte[] want = new byte[len];
                System.arraycopy(expected, off, want, 0, len);
                assertArrayEquals(want, bytes, "chunk " + idx);
            }
            assertSame(seed, p.take());
            assertNull(p.take(), "a second check draws its own seed");
            p.release();
            p.release();
            assertEquals(0, bound.get());
        }
    }

    @Test
    void theClientsBound_refusesAPreparationWithoutRoom_andARejectedOrUnstartedOneGivesItsBytesBack() {
        Job job = job(floats(M * K), floats(K * N), 0.5);
        try (CpuReference cpu = new CpuReference(1)) {
            byte[] seed = seed(1);
            int[] sample = SpotCheck.sampledChunks(M * N * 4L, JobSpec.PROOF_CHUNK_BYTES, 0.5, seed);
            assertEquals(1, sample.length);
            long one = sample[0] == 0 ? JobSpec.PROOF_CHUNK_BYTES : M * N * 4L - JobSpec.PROOF_CHUNK_BYTES;
            AtomicLong bound = new AtomicLong();
            List<Runnable> queued = new ArrayList<>();
            HeldSpotCheck.Prepared first = HeldSpotCheck.prepare(cpu, job.spec(), job.inputs(), 0.5, seed,
                    queued::add, bound, one);
            assertNotNull(first);
            assertEquals(one, bound.get());
            assertNull(HeldSpotCheck.prepare(cpu, job.spec(), job.inputs(), 0.5, seed(2), queued::add, bound, one),
                    "no room left under the bound");
            assertEquals(one, bound.get());
            // Released before its recompute started: the recompute is stopped, its bytes given back.
            first.release();
            assertEquals(0, bound.get());
            queued.forEach(Runnable::run);
            assertNull(first.recomputed("c"));
            assertNull(HeldSpotCheck.prepare(cpu, job.spec(), job.inputs(), 0.5, seed, r -> {
                throw new RejectedExecutionException("closed");
            }, bound, one));
            assertEquals(0, bound.get(), "a refused recompute holds nothing");
        }
    }

    /**
     * The check that needs the chunks before the executor ran their recompute (its threads busy,
     * e.g. with that very check on the client's scheduler) computes them itself, and the queued
     * task then does nothing: no check waits on a task queued behind it.
     */
    @Test
    void aCheckAheadOfTheQueuedRecompute_computesItItself() {
        float[] a = floats(M * K);
        float[] b = floats(K * N);
        Job job = job(a, b, 1.0);
        try (CpuReference cpu = new CpuReference(1)) {
            float[] c = new float[M * N];
            cpu.sgemm(M, K, N, a, b, c);
            byte[] expected = Buffers.littleEndian(c).array();
            List<Runnable> queued = new ArrayList<>();
            HeldSpotCheck.Prepared p = HeldSpotCheck.prepare(cpu, job.spec(), job.inputs(), 1.0, seed(9), queued::add,
                    new AtomicLong(), 1L << 20);
            assertNotNull(p);
            assertEquals(1, queued.size());
            Map<Integer, ByteBuffer> got = p.recomputed("c");
            assertEquals(2, got.size());
            byte[] first = new byte[JobSpec.PROOF_CHUNK_BYTES];
            got.get(0).duplicate().get(first);
            assertArrayEquals(java.util.Arrays.copyOf(expected, JobSpec.PROOF_CHUNK_BYTES), first);
            queued.forEach(Runnable::run);
            assertEquals(2, p.recomputed("c").size(), "computed once, still there");
            p.release();
        }
    }

    @Test
    void anInputTheBuyerDoesNotHave_preparesNothing() {
        Job job = job(floats(M * K), floats(K * N), 0.5);
        try (CpuReference cpu = new CpuReference(1)) {
            AtomicLong bound = new AtomicLong();
            // Reading a held input's rows for the sample would reveal it before the receipt.
            assertNull(HeldSpotCheck.prepare(cpu, job.spec(), Map.of("b", job.inputs().get("b")), 0.5, seed(3),
                    Runnable::run, bound, 1L << 20));
            assertEquals(0, bound.get());
        }
    }
}
