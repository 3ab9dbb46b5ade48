package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Reference CPU implementations of the dense kernels the CPU executor offers: SGEMM, SAXPY and
 * a sum reduction, all on row-major {@code float} arrays.
 *
 * <p>An instance owns a fixed pool of {@code threads - 1} daemon worker threads named
 * {@code depin-cpu-kernel-N}; the calling thread does one share of every parallel call itself,
 * so a call uses at most {@link #threads()} threads. With {@code threads == 1} no worker thread
 * is created and everything runs on the caller. Small problems always run on the caller.
 *
 * <p>Instances are thread-safe: several threads may call any kernel at the same time. Scratch
 * buffers (packed panels of B and C) are handed out from a small pool owned by the instance, so
 * concurrent calls never share them; a buffer is allocated the first time the pool runs dry and
 * is grown only when a larger problem arrives, never per call in the inner loops.
 *
 * <p>Arguments are validated at every entry point and rejected with an
 * {@link InvalidArgumentException} whose message names the offending argument. After
 * {@link #close()} every kernel throws {@link ReferenceClosedException}.
 *
 * <h2>Performance notes</h2>
 * Java 17 has no Vector API without incubator flags, so the SGEMM micro-kernels are written in
 * the one shape HotSpot C2's superword pass reliably vectorizes here: every array in the inner
 * loop is indexed by the plain loop variable {@code j} (no per-array offset) and the loop body is
 * small enough to be unrolled. That is why B is packed into one array per row of the panel and
 * why a block of C is copied into per-row scratch arrays while it is updated.
 */
public final class CpuReference implements AutoCloseable {

    /** Rows of C updated by one micro-kernel call. */
    private static final int MR = 4;
    /** Depth (rows of B) of one packed panel: KC x NC floats = 256 KiB, sized for L2. */
    private static final int KC = 256;
    /** Width (columns of B and C) of one packed panel and of the C scratch rows (L1-resident). */
    private static final int NC = 256;
    /** SGEMMs with fewer multiply-adds than this (m*k*n) run on the calling thread. */
    private static final long SMALL_GEMM = 1L << 16;
    /** SAXPY and reductions at least this long are split across the worker threads. */
    private static final int PARALLEL_VECTOR_MIN = 1 << 16;
    /** Column splits and vector splits are aligned to this many floats (one cache line). */
    private static final int ALIGN = 16;
    /** Parallel work is cut into about this many chunks per thread, handed out dynamically. */
    private static final int CHUNKS_PER_THREAD = 4;
    /** Smallest SGEMM row chunk: each chunk packs its own copy of B, so keep chunks tall. */
    private static final int MIN_CHUNK_ROWS = 8 * MR;
    /** Smallest SGEMM column chunk (when m is small). */
    private static final int MIN_CHUNK_COLS = 4 * ALIGN;
    /** Smallest SAXPY / reduction chunk, in elements. */
    private static final int VECTOR_CHUNK_MIN = 1 << 15;
    /** Elements per reduction block; block boundaries are fixed, independent of thread count. */
    static final int REDUCE_BLOCK = 4096;

    private final int threads;
    private final ExecutorService pool;
    private final ConcurrentLinkedQueue<Scratch> scratchPool = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    /**
     * Creates kernels that use up to {@code threads} threads per call.
     *
     * @param threads threads per call, {@code >= 1}; {@code threads - 1} daemon workers are
     *     started, the calling thread being the last one
     * @throws InvalidArgumentException if {@code threads < 1}
     */
    public CpuReference(int threads) {
        if (threads < 1) {
            throw new InvalidArgumentException("threads must be >= 1 but was " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, new WorkerFactory());
    }

    /**
     * Returns the number of threads one call may use, including the calling thread.
     *
     * @return the thread count given to the constructor
     */
    public int threads() {
        return threads;
    }

    // ------------------------------------------------------------------------------------------
    // SGEMM
    // ------------------------------------------------------------------------------------------

    /**
     * Computes {@code C = A·B} on row-major matrices: A is m×k ({@code a[i*k + p]}), B is k×n
     * ({@code b[p*n + j]}), C is m×n ({@code c[i*n + j]}); the first m·n elements of {@code c}
     * are overwritten, whatever they held before. Any shape with m, k, n ≥ 1 is accepted.
     *
     * <p><b>Numerics.</b> Every element is accumulated in {@code float}, in increasing p order,
     * as {@code c = 0; for p in 0..k-1: c = fl(c + fl(a[i][p] * b[p][j]))} (products and sums
     * each rounded once; no fused multiply-add, no reassociation), so the blocking and the number
     * of threads do not change the result: it is bit-identical for every thread count. The
     * classical bound for recursive dot products then applies to each element:
     * {@code |c - c64| ≤ γ_k · Σ_p |a_ip|·|b_pj|} with {@code γ_k = k·u / (1 - k·u)} and
     * {@code u = 2^-24}, where {@code c64} is the exact (or float64) value of the dot product
     * (barring underflow to subnormals, which adds at most k·2^-149 more);
     * overflow to infinity and NaN inputs propagate as IEEE 754 prescribes.
     *
     * <p>The work is split into blocks of rows of C across threads (blocks of columns when m is
     * small); problems with {@code m·k·n < 65536} run on the calling thread.
     *
     * @param m rows of A and C, {@code >= 1}
     * @param k columns of A and rows of B, {@code >= 1}
     * @param n columns of B and C, {@code >= 1}
     * @param a A, at least m·k elements
     * @param b B, at least k·n elements
     * @param c C, at least m·n elements; must not be the same array as {@code a} or {@code b}
     * @throws InvalidArgumentException if a size is not positive, a product of sizes exceeds
     *     the largest Java array, an array is null or too short, or {@code c} aliases an input
     * @throws ReferenceClosedException if this instance is closed
     */
    public void sgemm(int m, int k, int n, float[] a, float[] b, float[] c) {
        checkPositive("m", m);
        checkPositive("k", k);
        checkPositive("n", n);
        int mk = checkedProduct("m*k", m, k);
        int kn = checkedProduct("k*n", k, n);
        int mn = checkedProduct("m*n", m, n);
        checkArray("a", a, mk, "m*k");
        checkArray("b", b, kn, "k*n");
        checkArray("c", c, mn, "m*n");
        if (c == a || c == b) {
            throw new InvalidArgumentException("c must not be the same array as " + (c == a ? "a" : "b")
                    + ": C is overwritten while A and B are still being read");
        }
        ensureOpen();

        long work = (long) m * k * n;
        if (threads == 1 || work < SMALL_GEMM) {
            gemmTask(0, m, 0, n, k, n, a, b, c);
            return;
        }
        if (m >= MIN_CHUNK_ROWS * threads || n < MIN_CHUNK_COLS * threads) {
            // Chunks of whole MR-row blocks, about CHUNKS_PER_THREAD per thread, at least
            // MIN_CHUNK_ROWS rows each, so that re-packing B per chunk stays cheap.
            int rows = roundUp(Math.max(MIN_CHUNK_ROWS, ceilDiv(m, CHUNKS_PER_THREAD * threads)), MR);
            runChunks(ceilDiv(m, rows), q -> {
                int i0 = q * rows;
                gemmTask(i0, i0 + Math.min(rows, m - i0), 0, n, k, n, a, b, c);
            });
        } else {
            // Few rows: chunks of whole cache lines of columns instead.
            int cols = roundUp(Math.max(MIN_CHUNK_COLS, ceilDiv(n, CHUNKS_PER_THREAD * threads)), ALIGN);
            runChunks(ceilDiv(n, cols), q -> {
                int j0 = q * cols;
                gemmTask(0, m, j0, j0 + Math.min(cols, n - j0), k, n, a, b, c);
            });
        }
    }

    /** Computes rows [i0, i1) × columns [j0, j1) of C with one scratch set from the pool. */
    private void gemmTask(int i0, int i1, int j0, int j1, int k, int n, float[] a, float[] b, float[] c) {
        Scratch s = acquireScratch();
        try {
            s.ensure(Math.min(KC, k), Math.min(NC, j1 - j0));
            float[][] bp = s.bRows;
            float[][] cr = s.cRows;
            for (int jc = j0; jc < j1; jc += NC) {
                int nc = Math.min(NC, j1 - jc);
                for (int pc = 0; pc < k; pc += KC) {
                    int kc = Math.min(KC, k - pc);
                    // Pack B[pc:pc+kc, jc:jc+nc], one array per row (see class notes).
                    for (int p = 0; p < kc; p++) {
                        System.arraycopy(b, (pc + p) * n + jc, bp[p], 0, nc);
                    }
                    for (int i = i0; i < i1; i += MR) {
                        int mr = Math.min(MR, i1 - i);
                        for (int r = 0; r < mr; r++) {
                            if (pc == 0) {
                                Arrays.fill(cr[r], 0, nc, 0f);
                            } else {
                                System.arraycopy(c, (i + r) * n + jc, cr[r], 0, nc);
                            }
                        }
                        int aRow = i * k + pc;
                        switch (mr) {
                            case 4:
                                panel4(a, aRow, aRow + k, aRow + 2 * k, aRow + 3 * k, kc, bp, cr, nc);
                                break;
                            case 3:
                                // Row 3 is computed twice; the copy in cr[3] is discarded.
                                panel4(a, aRow, aRow + k, aRow + 2 * k, aRow + 2 * k, kc, bp, cr, nc);
                                break;
                            case 2:
                                panel2(a, aRow, aRow + k, kc, bp, cr[0], cr[1], nc);
                                break;
                            default:
                                panel1(a, aRow, kc, bp, cr[0], nc);
                                break;
                        }
                        for (int r = 0; r < mr; r++) {
                            System.arraycopy(cr[r], 0, c, (i + r) * n + jc, nc);
                        }
                    }
                }
            }
        } finally {
            releaseScratch(s);
        }
    }

    /** Four rows of C against a packed panel; a0..a3 are offsets of row starts in {@code a}. */
    private static void panel4(float[] a, int a0, int a1, int a2, int a3, int kc, float[][] bp,
            float[][] cr, int nc) {
        float[] c0 = cr[0];
        float[] c1 = cr[1];
        float[] c2 = cr[2];
        float[] c3 = cr[3];
        int p = 0;
        for (; p + 1 < kc; p += 2) {
            kernel4x2(c0, c1, c2, c3, bp[p], bp[p + 1],
                    a[a0 + p], a[a0 + p + 1], a[a1 + p], a[a1 + p + 1],
                    a[a2 + p], a[a2 + p + 1], a[a3 + p], a[a3 + p + 1], nc);
        }
        if (p < kc) {
            kernel4x1(c0, c1, c2, c3, bp[p], a[a0 + p], a[a1 + p], a[a2 + p], a[a3 + p], nc);
        }
    }

    private static void panel2(float[] a, int a0, int a1, int kc, float[][] bp, float[] c0, float[] c1, int nc) {
        int p = 0;
        for (; p + 1 < kc; p += 2) {
            kernel2x2(c0, c1, bp[p], bp[p + 1], a[a0 + p], a[a0 + p + 1], a[a1 + p], a[a1 + p + 1], nc);
        }
        if (p < kc) {
            kernel2x1(c0, c1, bp[p], a[a0 + p], a[a1 + p], nc);
        }
    }

    private static void panel1(float[] a, int a0, int kc, float[][] bp, float[] c0, int nc) {
        int p = 0;
        for (; p + 1 < kc; p += 2) {
            kernel1x2(c0, bp[p], bp[p + 1], a[a0 + p], a[a0 + p + 1], nc);
        }
        if (p < kc) {
            kernel1x1(c0, bp[p], a[a0 + p], nc);
        }
    }

    /*
     * Micro-kernels. Each keeps the k order of the updates per element: c + a_p*b_p first, then
     * + a_{p+1}*b_{p+1} (Java evaluates left to right and never reassociates floats). Keep the
     * bodies this small: a larger body (e.g. 4 rows x 4 depths) is not unrolled far enough by C2
     * to be vectorized and runs 4-5x slower.
     */

    private static void kernel4x2(float[] c0, float[] c1, float[] c2, float[] c3, float[] b0, float[] b1,
            float a00, float a01, float a10, float a11, float a20, float a21, float a30, float a31, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            float y = b1[j];
            c0[j] = c0[j] + a00 * x + a01 * y;
            c1[j] = c1[j] + a10 * x + a11 * y;
            c2[j] = c2[j] + a20 * x + a21 * y;
            c3[j] = c3[j] + a30 * x + a31 * y;
        }
    }

    private static void kernel4x1(float[] c0, float[] c1, float[] c2, float[] c3, float[] b0,
            float a0, float a1, float a2, float a3, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            c0[j] = c0[j] + a0 * x;
            c1[j] = c1[j] + a1 * x;
            c2[j] = c2[j] + a2 * x;
            c3[j] = c3[j] + a3 * x;
        }
    }

    private static void kernel2x2(float[] c0, float[] c1, float[] b0, float[] b1,
            float a00, float a01, float a10, float a11, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            float y = b1[j];
            c0[j] = c0[j] + a00 * x + a01 * y;
            c1[j] = c1[j] + a10 * x + a11 * y;
        }
    }

    private static void kernel2x1(float[] c0, float[] c1, float[] b0, float a0, float a1, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            c0[j] = c0[j] + a0 * x;
            c1[j] = c1[j] + a1 * x;
        }
    }

    private static void kernel1x2(float[] c0, float[] b0, float[] b1, float a0, float a1, int nc) {
        for (int j = 0; j < nc; j++) {
            c0[j] = c0[j] + a0 * b0[j] + a1 * b1[j];
        }
    }

    private static void kernel1x1(float[] c0, float[] b0, float a0, int nc) {
        for (int j = 0; j < nc; j++) {
            c0[j] = c0[j] + a0 * b0[j];
        }
    }

    // ------------------------------------------------------------------------------------------
    // SAXPY
    // ------------------------------------------------------------------------------------------

    /**
     * Computes {@code out[i] = alpha*x[i] + y[i]} for {@code i < n}, each element as
     * {@code fl(fl(alpha*x[i]) + y[i])} (two roundings, no fused multiply-add), so the result is
     * bit-identical for every thread count. {@code out} may be the same array as {@code x} or
     * {@code y}; elements at and beyond {@code n} are not touched. Vectors of at least 65536
     * elements are split across threads.
     *
     * @param n number of elements, {@code >= 1}
     * @param alpha scale applied to {@code x}
     * @param x at least n elements
     * @param y at least n elements
     * @param out at least n elements; receives the result
     * @throws InvalidArgumentException if {@code n < 1} or an array is null or too short
     * @throws ReferenceClosedException if this instance is closed
     */
    public void saxpy(int n, float alpha, float[] x, float[] y, float[] out) {
        checkPositive("n", n);
        checkArray("x", x, n, "n");
        checkArray("y", y, n, "n");
        checkArray("out", out, n, "n");
        ensureOpen();
        if (threads == 1 || n < PARALLEL_VECTOR_MIN) {
            saxpyRange(0, n, alpha, x, y, out);
            return;
        }
        int len = roundUp(Math.max(VECTOR_CHUNK_MIN, ceilDiv(n, CHUNKS_PER_THREAD * threads)), ALIGN);
        runChunks(ceilDiv(n, len), q -> {
            int from = q * len;
            saxpyRange(from, from + Math.min(len, n - from), alpha, x, y, out);
        });
    }

    private static void saxpyRange(int from, int to, float alpha, float[] x, float[] y, float[] out) {
        for (int i = from; i < to; i++) {
            out[i] = alpha * x[i] + y[i];
        }
    }

    // ------------------------------------------------------------------------------------------
    // Reduction
    // ------------------------------------------------------------------------------------------

    /**
     * Returns the sum of {@code x[0..n)}, accumulated in {@code double} in a fixed order and
     * rounded to {@code float} once at the end.
     *
     * <p><b>Order.</b> The input is cut into blocks of 4096 elements starting at index 0 (the
     * last block may be shorter). Within a block starting at {@code s}, eight double lanes
     * start at 0.0 and lane {@code l} adds {@code x[s+l], x[s+l+8], x[s+l+16], …} in index order
     * over the whole groups of eight; the last {@code r < 8} elements of a short final block are
     * then added to lane 0 in index order. The block's partial is
     * {@code ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7))}. The partials are added in block order into a
     * double that starts at 0.0. Threads only decide which thread computes which blocks, so the
     * result is bit-identical for every thread count and every run.
     *
     * <p><b>Error.</b> Every float is exact in double and each of the n-1 double additions is
     * rounded once, so the double sum {@code S_d} satisfies
     * {@code |S_d - S| ≤ γ_{n-1} · Σ|x_i|} with {@code γ_m = m·2^-53 / (1 - m·2^-53)} and
     * {@code S} the exact sum (for n = 2^24 that is below 2^-29 · Σ|x_i|). The final rounding to
     * float adds at most {@code 2^-24 · |S_d|}. Infinite and NaN inputs propagate; a finite sum
     * beyond the float range becomes infinite.
     *
     * @param n number of elements to add, {@code >= 1}
     * @param x at least n elements
     * @return the sum, rounded to float
     * @throws InvalidArgumentException if {@code n < 1} or {@code x} is null or too short
     * @throws ReferenceClosedException if this instance is closed
     */
    public float reduceSum(int n, float[] x) {
        checkPositive("n", n);
        checkArray("x", x, n, "n");
        ensureOpen();
        int blocks = (n + REDUCE_BLOCK - 1) / REDUCE_BLOCK;
        double total = 0.0;
        if (threads == 1 || n < PARALLEL_VECTOR_MIN) {
            for (int blk = 0; blk < blocks; blk++) {
                int from = blk * REDUCE_BLOCK;
                total += blockSum(x, from, Math.min(n, from + REDUCE_BLOCK));
            }
            return (float) total;
        }
        double[] partials = new double[blocks];
        int per = Math.max(VECTOR_CHUNK_MIN / REDUCE_BLOCK, ceilDiv(blocks, CHUNKS_PER_THREAD * threads));
        runChunks(ceilDiv(blocks, per), q -> {
            for (int blk = q * per, end = blk + Math.min(per, blocks - blk); blk < end; blk++) {
                int from = blk * REDUCE_BLOCK;
                partials[blk] = blockSum(x, from, Math.min(n, from + REDUCE_BLOCK));
            }
        });
        for (double p : partials) {
            total += p;
        }
        return (float) total;
    }

    /** One block of the reduction, in exactly the order documented on {@link #reduceSum}. */
    private static double blockSum(float[] x, int from, int to) {
        // Eight independent chains hide the latency of the double adds (C2 does not reorder
        // floating-point adds, so a single chain runs at one add per 3-4 cycles).
        double l0 = 0.0;
        double l1 = 0.0;
        double l2 = 0.0;
        double l3 = 0.0;
        double l4 = 0.0;
        double l5 = 0.0;
        double l6 = 0.0;
        double l7 = 0.0;
        int i = from;
        for (; i + 7 < to; i += 8) {
            l0 += x[i];
            l1 += x[i + 1];
            l2 += x[i + 2];
            l3 += x[i + 3];
            l4 += x[i + 4];
            l5 += x[i + 5];
            l6 += x[i + 6];
            l7 += x[i + 7];
        }
        for (; i < to; i++) {
            l0 += x[i];
        }
        return ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
    }

    // ------------------------------------------------------------------------------------------
    // Threads, scratch, lifecycle
    // ------------------------------------------------------------------------------------------

    /**
     * Runs {@code chunk(0..chunks-1)} on up to {@link #threads} threads and returns when every
     * chunk is done. The calling thread and {@code min(threads, chunks) - 1} worker tasks each
     * claim the next unclaimed chunk until none is left, so a thread slowed down by other load
     * simply takes fewer chunks, and a caller whose worker task is still queued behind another
     * caller's work finishes the chunks itself instead of waiting for it (the late task then finds
     * nothing to do). The wait ignores interrupts, since the chunks write into the caller's
     * arrays; the interrupt status is restored afterwards.
     */
    private void runChunks(int chunks, IntConsumer chunk) {
        int helpers = Math.min(threads, chunks) - 1;
        if (helpers <= 0) {
            for (int c = 0; c < chunks; c++) {
                chunk.accept(c);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(chunks);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable claimLoop = () -> {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                try {
                    chunk.accept(c);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            }
        };
        for (int h = 0; h < helpers; h++) {
            try {
                pool.execute(claimLoop);
            } catch (RejectedExecutionException e) {
                break; // close() raced with this call: the caller does the remaining chunks
            }
        }
        claimLoop.run();
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException) {
            throw (RuntimeException) t;
        }
        if (t instanceof Error) {
            throw (Error) t;
        }
        if (t != null) {
            throw new dev.depin.DepinException("CPU kernel task failed: " + t, t);
        }
    }

    private Scratch acquireScratch() {
        Scratch s = scratchPool.poll();
        return s != null ? s : new Scratch();
    }

    private void releaseScratch(Scratch s) {
        scratchPool.offer(s);
    }

    /**
     * Shuts the worker threads down and releases the scratch buffers. Calls already running
     * complete; later calls throw {@link ReferenceClosedException}. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        if (pool != null) {
            pool.shutdown();
        }
        scratchPool.clear();
    }

    private void ensureOpen() {
        if (closed) {
            throw new ReferenceClosedException("this CpuReference is closed: create a new instance");
        }
    }

    /** Per-task buffers: a packed B panel (one array per row) and MR rows of C. */
    private static final class Scratch {
        float[][] bRows = new float[0][];
        final float[][] cRows = new float[MR][];
        int width;

        Scratch() {
            Arrays.fill(cRows, new float[0]);
        }

        /** Makes room for a kc × nc panel; grows (never shrinks) when a larger one arrives. */
        void ensure(int kc, int nc) {
            if (nc > width) {
                width = nc;
                for (int r = 0; r < MR; r++) {
                    cRows[r] = new float[nc];
                }
                for (int p = 0; p < bRows.length; p++) {
                    bRows[p] = new float[nc];
                }
            }
            if (kc > bRows.length) {
                int old = bRows.length;
                bRows = Arrays.copyOf(bRows, kc);
                for (int p = old; p < kc; p++) {
                    bRows[p] = new float[width];
                }
            }
        }
    }

    private static final class WorkerFactory implements ThreadFactory {
        private static final AtomicInteger NEXT = new AtomicInteger(1);

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "depin-cpu-kernel-" + NEXT.getAndIncrement());
            t.setDaemon(true);
            return t;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Validation
    // ------------------------------------------------------------------------------------------

    private static int ceilDiv(int x, int y) {
        return (int) (((long) x + y - 1) / y);
    }

    private static int roundUp(int x, int multiple) {
        return ceilDiv(x, multiple) * multiple;
    }

    private static void checkPositive(String name, int value) {
        if (value < 1) {
            throw new InvalidArgumentException(name + " must be >= 1 but was " + value);
        }
    }

    private static int checkedProduct(String name, int x, int y) {
        long p = Math.multiplyExact((long) x, (long) y);
        if (p > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException(name + " = " + p + " exceeds the largest Java array ("
                    + (Integer.MAX_VALUE - 8) + " elements); split the problem");
        }
        return (int) p;
    }

    private static void checkArray(String name, float[] array, int required, String sizeName) {
        if (array == null) {
            throw new InvalidArgumentException(name + " must not be null");
        }
        if (array.length < required) {
            throw new InvalidArgumentException(name + ".length must be >= " + sizeName + " = " + required
                    + " but was " + array.length);
        }
    }
}
