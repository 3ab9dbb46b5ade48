package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import java.nio.FloatBuffer;
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
import dev.depin.kernel.internal.ScalarSgemm;
import dev.depin.kernel.internal.SgemmBlocks;

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
 * buffers (packed panels of A and B, tiles of C) are handed out from a small pool owned by the
 * instance, so concurrent calls never share them; a buffer is allocated the first time the pool
 * runs dry and is grown only when a larger problem arrives, never per call in the inner loops.
 * An executor's job instead passes its own {@link KernelReference.Scratch} ({@link #sgemm(int,
 * int, int, FloatBuffer, FloatBuffer, float[], KernelReference.Scratch)}): that call's tasks share
 * a pool of their own, at most {@link #threads()} workspaces whose arrays the job's scratch
 * allocates, tracks and wipes, so no packed copy of the job's matrices outlives its wipe; with
 * {@link #sgemm(int, int, int, FloatBuffer, FloatBuffer, java.nio.ByteBuffer, KernelReference.Scratch)}
 * C is computed in place in the job's output buffer, with no array of C to allocate, copy and wipe.
 *
 * <p>Arguments are validated at every entry point and rejected with an
 * {@link InvalidArgumentException} whose message names the offending argument. After
 * {@link #close()} every kernel throws {@link ReferenceClosedException}.
 *
 * <h2>SGEMM implementations</h2>
 * Every implementation computes the same bits (the definition on {@link #sgemm}); they differ
 * in speed only. Where the JVM resolved {@code jdk.incubator.vector}
 * ({@code --add-modules jdk.incubator.vector}), SGEMM runs on the Vector API at the widest
 * vector the CPU offers (512-bit with AVX-512, 256-bit with AVX2), register-blocked like an
 * optimized BLAS; otherwise it runs on plain Java micro-kernels that HotSpot auto-vectorizes,
 * about half as fast. {@link #sgemmImplementation()} says which one an instance uses, and the
 * system property {@code depin.cpu.vectorApi=false} forces the plain one.
 */
public final class CpuReference implements AutoCloseable {

    /** Row chunks are multiples of this: both implementations' micro-tile heights (4 and 6) divide it. */
    private static final int MR = 12;
    /** SGEMMs with fewer multiply-adds than this (m*k*n) run on the calling thread. */
    private static final long SMALL_GEMM = 1L << 16;
    /** Rows of B in one panel of {@link #sgemm(int, int, int, float[], FloatBuffer, int, int, float[])}. */
    private static final int PANEL_DEPTH = 256;
    /** Floats in one such panel at most (1 MiB): fewer rows of B when the columns asked are many. */
    private static final int PANEL_FLOATS = 1 << 18;
    /** SAXPY and reductions at least this long are split across the worker threads. */
    private static final int PARALLEL_VECTOR_MIN = 1 << 16;
    /** Column splits and vector splits are aligned to this many floats (one cache line). */
    private static final int ALIGN = 16;
    /** Parallel work is cut into about this many chunks per thread, handed out dynamically. */
    private static final int CHUNKS_PER_THREAD = 4;
    /** Smallest SGEMM row chunk: each chunk packs its own copy of B, so keep chunks tall. */
    private static final int MIN_CHUNK_ROWS = 3 * MR;
    /** Smallest SGEMM column chunk (when m is small). */
    private static final int MIN_CHUNK_COLS = 4 * ALIGN;
    /** Smallest SAXPY / reduction chunk, in elements. */
    private static final int VECTOR_CHUNK_MIN = 1 << 15;
    /** Elements per reduction block; block boundaries are fixed, independent of thread count. */
    static final int REDUCE_BLOCK = 4096;
    /** The one float32 NaN every kernel writes ({@code 0x7fffffff}, NVIDIA's canonical NaN). */
    static final float CANONICAL_NAN = Float.intBitsToFloat(0x7fffffff);
    /** Whether this JVM can run the Vector API implementation (module resolved, not turned off). */
    private static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equalsIgnoreCase(System.getProperty("depin.cpu.vectorApi"));

    private final int threads;
    private final ExecutorService pool;
    private final ConcurrentLinkedQueue<SgemmBlocks.Workspace> scratchPool = new ConcurrentLinkedQueue<>();
    private final SgemmBlocks blocks;
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
        this.blocks = VECTOR_API ? vectorBlocks() : new ScalarSgemm();
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, new WorkerFactory());
    }

    /** Same as {@link #CpuReference(int)}, with the plain-Java SGEMM forced: for tests comparing the two. */
    static CpuReference withoutVectorApi(int threads) {
        return new CpuReference(threads, new ScalarSgemm());
    }

    private CpuReference(int threads, SgemmBlocks blocks) {
        if (threads < 1) {
            throw new InvalidArgumentException("threads must be >= 1 but was " + threads);
        }
        this.threads = threads;
        this.blocks = blocks;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, new WorkerFactory());
    }

    /** Loads the Vector API class by name, so that nothing links it on a JVM without the module. */
    private static SgemmBlocks vectorBlocks() {
        try {
            return (SgemmBlocks) Class.forName("dev.depin.kernel.internal.VectorSgemm").getDeclaredConstructor()
                    .newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            return new ScalarSgemm();
        }
    }

    /**
     * Says which SGEMM implementation this instance runs, e.g. {@code "vector-api 512-bit"} or
     * {@code "scalar (C2 auto-vectorized Math.fma)"}; both compute the same bits.
     *
     * @return a short description for logs and benchmark tables
     */
    public String sgemmImplementation() {
        return blocks.describe();
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
     * <p><b>Numerics, bit for bit</b> (docs/decisions.md, "Bit-reproducible kernels"). Every
     * element is {@code acc = +0.0f; for p in 0..k-1: acc = fma(a[i][p], b[p][j], acc)}: a fused
     * multiply-add per depth, rounded once, in increasing p, exactly what the CUDA executor
     * computes on every card; a NaN result is written as the canonical {@code 0x7fffffff}. The
     * blocking, the vector width, the implementation ({@link #sgemmImplementation()}) and the
     * number of threads do not change a bit. The classical bound for recursive dot products
     * applies to each element: {@code |c - c64| ≤ γ_k · Σ_p |a_ip|·|b_pj|} with
     * {@code γ_k = k·u / (1 - k·u)} and {@code u = 2^-24}, where {@code c64} is the exact value
     * of the dot product (barring underflow to subnormals, which adds at most k·2^-149 more);
     * overflow to infinity propagates as IEEE 754 prescribes.
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
        Shape s = Shape.of(m, k, n);
        checkArray("a", a, s.mk, "m*k");
        checkArray("b", b, s.kn, "k*n");
        checkArray("c", c, s.mn, "m*n");
        if (c == a || c == b) {
            throw new InvalidArgumentException("c must not be the same array as " + (c == a ? "a" : "b")
                    + ": C is overwritten while A and B are still being read");
        }
        ensureOpen();
        gemmAll(m, k, n, a, null, b, null, c, null, false, null, null);
    }

    /**
     * Computes {@code C = A·B} as {@link #sgemm(int, int, int, float[], float[], float[])} does,
     * bit for bit, with A and B read in place from buffers: no float copy of either, for an
     * executor whose inputs already lie in (little-endian) byte buffers. Each task copies the
     * blocks it packs straight from the buffers into its packed panels, so the only copies of
     * A's and B's values are those panels, as with arrays.
     *
     * @param m rows of A and C, {@code >= 1}
     * @param k columns of A and rows of B, {@code >= 1}
     * @param n columns of B and C, {@code >= 1}
     * @param a A, row-major: the m·k floats from its position (position unchanged)
     * @param b B, row-major: the k·n floats from its position (position unchanged)
     * @param c C, at least m·n elements
     * @throws InvalidArgumentException if a size is not positive, a product of sizes exceeds
     *     the largest Java array, or a buffer or the array is null or too short
     * @throws ReferenceClosedException if this instance is closed
     */
    public void sgemm(int m, int k, int n, FloatBuffer a, FloatBuffer b, float[] c) {
        sgemm(m, k, n, a, b, c, KernelReference.Scratch.UNTRACKED);
    }

    /**
     * As {@link #sgemm(int, int, int, FloatBuffer, FloatBuffer, float[])}, bit for bit, with every
     * working array of the call allocated through {@code scratch}: for an executor whose job
     * records and wipes all the memory that held its data. The call's tasks share a pool of their
     * own (at most {@link #threads()} workspaces, reused from task to task), never the instance's
     * shared pool nor another call's, so wiping one job's scratch cannot touch a workspace another
     * call is using. Each workspace's arrays are labelled {@code scratch:sgemm-wN-S} (packed
     * blocks, tiles and copied rows) or {@code scratch:sgemm-wN-rowsS} (rows of the plain-Java
     * implementation, one allocation per slot), all allocated on the calling thread before the
     * tasks start, in a fixed order and sized for the largest task, so a job's records are the same
     * from run to run. {@link KernelReference.Scratch#UNTRACKED} uses the shared pool instead.
     *
     * @param m       rows of A and C, {@code >= 1}
     * @param k       columns of A and rows of B, {@code >= 1}
     * @param n       columns of B and C, {@code >= 1}
     * @param a       A, row-major: the m·k floats from its position (position unchanged)
     * @param b       B, row-major: the k·n floats from its position (position unchanged)
     * @param c       C, at least m·n elements
     * @param scratch where the call's working arrays are allocated; thread-safe
     * @throws InvalidArgumentException if a size is not positive, a product of sizes exceeds
     *     the largest Java array, or a buffer, the array or the scratch is null or too short
     * @throws ReferenceClosedException if this instance is closed
     */
    public void sgemm(int m, int k, int n, FloatBuffer a, FloatBuffer b, float[] c, KernelReference.Scratch scratch) {
        InvalidArgumentException.requireNonNull(scratch, "scratch");
        Shape s = Shape.of(m, k, n);
        checkBuffer("a", a, s.mk, "m*k");
        checkBuffer("b", b, s.kn, "k*n");
        checkArray("c", c, s.mn, "m*n");
        ensureOpen();
        gemmAll(m, k, n, null, a.slice(), null, b.slice(), c, null, false,
                scratch == KernelReference.Scratch.UNTRACKED ? null : new CallPool(scratch), null);
    }

    /**
     * As {@link #sgemm(int, int, int, FloatBuffer, FloatBuffer, float[], KernelReference.Scratch)},
     * bit for bit, with C computed in place in a buffer of little-endian float32 bytes: for an
     * executor whose job's output buffer is to receive C, so that no array of C is allocated,
     * copied into the buffer and wiped beside it. The buffer is written as the array would be
     * (each element's accumulator is stored there between depth blocks, then rewritten with the
     * final value); whatever it held before is overwritten. The call's working arrays are
     * allocated through {@code scratch} as in the array overload, with the same labels and sizes.
     *
     * @param m       rows of A and C, {@code >= 1}
     * @param k       columns of A and rows of B, {@code >= 1}
     * @param n       columns of B and C, {@code >= 1}
     * @param a       A, row-major: the m·k floats from its position (position unchanged)
     * @param b       B, row-major: the k·n floats from its position (position unchanged)
     * @param c       C, row-major little-endian float32: the m·n·4 bytes from its position are
     *                overwritten (position and byte order unchanged); writable, not a view of
     *                A's or B's bytes
     * @param scratch where the call's working arrays are allocated; thread-safe
     * @throws InvalidArgumentException if a size is not positive, a product of sizes exceeds
     *     the largest Java array, a buffer or the scratch is null or too short, or {@code c} is
     *     read-only
     * @throws ReferenceClosedException if this instance is closed
     */
    public void sgemm(int m, int k, int n, FloatBuffer a, FloatBuffer b, java.nio.ByteBuffer c,
                      KernelReference.Scratch scratch) {
        sgemm(m, k, n, a, b, c, scratch, null);
    }

    /**
     * As {@link #sgemm(int, int, int, FloatBuffer, FloatBuffer, java.nio.ByteBuffer,
     * KernelReference.Scratch)}, bit for bit, telling {@code rows} which rows of C are final as
     * the call's tasks finish them (a task's block of rows once all its depths are done and its
     * NaNs made canonical; every row once when the product is split by columns or runs on one
     * thread) and lending it the threads that run out of blocks before the others.
     *
     * @param m       rows of A and C, {@code >= 1}
     * @param k       columns of A and rows of B, {@code >= 1}
     * @param n       columns of B and C, {@code >= 1}
     * @param a       A, row-major: the m·k floats from its position (position unchanged)
     * @param b       B, row-major: the k·n floats from its position (position unchanged)
     * @param c       C, row-major little-endian float32, overwritten (position and byte order unchanged)
     * @param scratch where the call's working arrays are allocated; thread-safe
     * @param rows    told of finished rows and lent idle kernel threads, or null
     * @throws InvalidArgumentException as the overload without {@code rows}
     * @throws ReferenceClosedException if this instance is closed
     * @see #sgemm(int, int, int, FloatBuffer, FloatBuffer, java.nio.ByteBuffer, KernelReference.Scratch)
     */
    public void sgemm(int m, int k, int n, FloatBuffer a, FloatBuffer b, java.nio.ByteBuffer c,
                      KernelReference.Scratch scratch, RowBlocks rows) {
        InvalidArgumentException.requireNonNull(scratch, "scratch");
        Shape s = Shape.of(m, k, n);
        checkBuffer("a", a, s.mk, "m*k");
        checkBuffer("b", b, s.kn, "k*n");
        if (c == null) {
            throw new InvalidArgumentException("c must not be null");
        }
        if (c.remaining() < (long) s.mn * Float.BYTES) {
            throw new InvalidArgumentException("c must have >= 4*m*n = " + (long) s.mn * Float.BYTES
                    + " bytes remaining but has " + c.remaining());
        }
        if (c.isReadOnly()) {
            throw new InvalidArgumentException("c is read-only: pass a writable buffer to receive C");
        }
        ensureOpen();
        gemmAll(m, k, n, null, a.slice(), null, b.slice(), null, c.slice(), false,
                scratch == KernelReference.Scratch.UNTRACKED ? null : new CallPool(scratch), rows);
    }

    /**
     * Told which rows of C a running {@link #sgemm(int, int, int, FloatBuffer, FloatBuffer,
     * java.nio.ByteBuffer, KernelReference.Scratch, RowBlocks)} has finished for good, and lent
     * the kernel's threads that have nothing left to compute: for an executor that commits to
     * C (hashes it) block by block instead of after the whole product.
     */
    public interface RowBlocks {
        /**
         * Rows {@code [i0, i1)} of C are final: every element holds its result (NaNs made
         * canonical) and the call writes them no more. Called once per row, on the thread that
         * computed the rows (several threads at once), before the call returns.
         *
         * @param i0 first row
         * @param i1 end row (exclusive)
         */
        void rowsDone(int i0, int i1);

        /**
         * Lends a kernel thread that found no block left to compute while other threads still
         * compute theirs: do short pieces of work and return once {@code computing} is false
         * (checked between pieces; the call waits for this method to return before it does). The
         * kernel's own blocks never wait for it. By default returns at once.
         *
         * @param computing whether some block of the product is still being computed
         */
        default void idle(java.util.function.BooleanSupplier computing) {
        }
    }

    /**
     * Computes columns {@code [j0, j1)} of {@code C = A·B} with B read in place from a buffer:
     * what {@link #sgemm(int, int, int, float[], float[], float[])} computes there, bit for bit
     * (the same fma chain in increasing p from {@code +0.0f}, the same canonical NaN), without a
     * copy of B. B is read in panels of at most 256 of its rows (at most 1 MiB of floats each),
     * each only in the columns asked, and every element's accumulator is carried from one panel
     * to the next through {@code c} (a stored float is the accumulator's exact value). For a
     * verifier recomputing a few sampled rows of a product, or a window of one row: the reads of
     * B and the work are those of the rows and columns asked, not of the whole product.
     *
     * @param m  rows of A and of the result, {@code >= 1}
     * @param k  columns of A and rows of B, {@code >= 1}
     * @param n  columns of B, {@code >= 1}
     * @param a  A, row-major m×k, at least m·k elements
     * @param b  B, row-major k×n: the k·n floats from its position (position unchanged)
     * @param j0 the first column of C computed, {@code 0 <= j0 < j1}
     * @param j1 one past the last column computed, {@code <= n}
     * @param c  receives the m×(j1-j0) block, row-major with rows of {@code j1 - j0} floats, at
     *           least that many elements; must not be {@code a}
     * @throws InvalidArgumentException if a size or column is out of range, a product of sizes
     *     exceeds the largest Java array, an array or the buffer is null or too short, or
     *     {@code c} is {@code a}
     * @throws ReferenceClosedException if this instance is closed
     */
    public void sgemm(int m, int k, int n, float[] a, FloatBuffer b, int j0, int j1, float[] c) {
        checkPositive("m", m);
        checkPositive("k", k);
        checkPositive("n", n);
        if (j0 < 0 || j1 <= j0 || j1 > n) {
            throw new InvalidArgumentException("columns [" + j0 + ", " + j1 + ") are not a non-empty range of the n = "
                    + n + " columns of B");
        }
        int w = j1 - j0;
        int mk = checkedProduct("m*k", m, k);
        int kn = checkedProduct("k*n", k, n);
        int mw = checkedProduct("m*(j1-j0)", m, w);
        checkArray("a", a, mk, "m*k");
        checkArray("c", c, mw, "m*(j1-j0)");
        checkBuffer("b", b, kn, "k*n");
        if (c == a) {
            throw new InvalidArgumentException("c must not be the same array as a: C is overwritten while A is "
                    + "still being read");
        }
        ensureOpen();
        int depth = Math.max(1, Math.min(PANEL_DEPTH, PANEL_FLOATS / w));
        float[] panel = new float[Math.min(depth, k) * w];
        float[] aPanel = new float[m * Math.min(depth, k)];
        int base = b.position();
        for (int pc = 0; pc < k; pc += depth) {
            int kc = Math.min(depth, k - pc);
            if (w == n) {
                b.get(base + pc * n, panel, 0, kc * n);
            } else {
                SgemmBlocks.copyRows(b, n, pc, base + j0, kc, w, panel, w);
            }
            for (int i = 0; i < m; i++) {
                System.arraycopy(a, i * k + pc, aPanel, i * kc, kc);
            }
            gemmAll(m, kc, w, aPanel, null, panel, null, c, null, pc > 0, null, null);
        }
    }

    /** The element counts of a whole SGEMM's operands, after checking m, k and n. */
    private record Shape(int mk, int kn, int mn) {
        static Shape of(int m, int k, int n) {
            checkPositive("m", m);
            checkPositive("k", k);
            checkPositive("n", n);
            return new Shape(checkedProduct("m*k", m, k), checkedProduct("k*n", k, n), checkedProduct("m*n", m, n));
        }
    }

    /**
     * All of C (m×n) on up to {@link #threads} threads; the arguments are validated. A and B
     * are arrays or, where the array is null, buffers indexed from 0 ({@link SgemmBlocks#gemm}).
     * The tasks take their workspaces from {@code own}, or from the shared pool when it is null.
     */
    private void gemmAll(int m, int k, int n, float[] a, FloatBuffer aIn, float[] b, FloatBuffer bIn, float[] c,
                         java.nio.ByteBuffer cOut, boolean accumulate, CallPool own, RowBlocks done) {
        long work = (long) m * k * n;
        if (threads == 1 || work < SMALL_GEMM) {
            if (own != null) {
                own.reserve(1, m, n, k, aIn != null, bIn != null);
            }
            gemmTask(0, m, 0, n, k, n, a, aIn, b, bIn, c, cOut, accumulate, own);
            if (done != null) {
                done.rowsDone(0, m);
            }
            return;
        }
        if (m >= MIN_CHUNK_ROWS * threads || n < MIN_CHUNK_COLS * threads) {
            // Chunks of whole MR-row blocks, about CHUNKS_PER_THREAD per thread, at least
            // MIN_CHUNK_ROWS rows each, so that re-packing B per chunk stays cheap.
            int rows = roundUp(Math.max(MIN_CHUNK_ROWS, ceilDiv(m, CHUNKS_PER_THREAD * threads)), MR);
            if (own != null) {
                own.reserve(Math.min(threads, ceilDiv(m, rows)), Math.min(rows, m), n, k, aIn != null, bIn != null);
            }
            runChunks(ceilDiv(m, rows), q -> {
                int i0 = q * rows;
                int i1 = i0 + Math.min(rows, m - i0);
                gemmTask(i0, i1, 0, n, k, n, a, aIn, b, bIn, c, cOut, accumulate, own);
                if (done != null) {
                    done.rowsDone(i0, i1); // all depths done and NaNs canonical: these rows are final
                }
            }, done);
        } else {
            // Few rows: chunks of whole cache lines of columns instead.
            int cols = roundUp(Math.max(MIN_CHUNK_COLS, ceilDiv(n, CHUNKS_PER_THREAD * threads)), ALIGN);
            if (own != null) {
                own.reserve(Math.min(threads, ceilDiv(n, cols)), m, Math.min(cols, n), k, aIn != null, bIn != null);
            }
            runChunks(ceilDiv(n, cols), q -> {
                int j0 = q * cols;
                gemmTask(0, m, j0, j0 + Math.min(cols, n - j0), k, n, a, aIn, b, bIn, c, cOut, accumulate, own);
            });
            if (done != null) {
                done.rowsDone(0, m); // every row has columns in every chunk: final only now
            }
        }
    }

    /** Computes rows [i0, i1) × columns [j0, j1) of C with one workspace from {@code own} or the shared pool. */
    private void gemmTask(int i0, int i1, int j0, int j1, int k, int n, float[] a, FloatBuffer aIn, float[] b,
                          FloatBuffer bIn, float[] c, java.nio.ByteBuffer cOut, boolean accumulate, CallPool own) {
        SgemmBlocks.Workspace ws = own != null ? own.acquire() : acquireScratch();
        // A task's own views: the buffers' absolute reads and writes, on no state another task shares.
        java.nio.ByteBuffer cView = cOut == null ? null : cOut.duplicate();
        try {
            blocks.gemm(i0, i1, j0, j1, k, n, a, aIn == null ? null : aIn.duplicate(), b,
                    bIn == null ? null : bIn.duplicate(), c, cView, accumulate, ws);
        } finally {
            if (own != null) {
                own.release(ws);
            } else {
                releaseScratch(ws);
            }
        }
        if (c != null) {
            canonicalNaNs(c, i0, i1, j0, j1, n);
        } else {
            canonicalNaNs(cView.order(java.nio.ByteOrder.LITTLE_ENDIAN), i0, i1, j0, j1, n);
        }
    }

    /**
     * Rewrites every NaN in the block to {@link #CANONICAL_NAN} (x86 propagates NaN payloads;
     * the definition, like NVIDIA's float32 arithmetic, writes one NaN). A compare per element:
     * nothing next to the k multiply-adds each element took.
     */
    private static void canonicalNaNs(float[] c, int i0, int i1, int j0, int j1, int n) {
        for (int i = i0; i < i1; i++) {
            for (int e = i * n + j0, end = i * n + j1; e < end; e++) {
                if (c[e] != c[e]) {
                    c[e] = CANONICAL_NAN;
                }
            }
        }
    }

    /** {@link #canonicalNaNs(float[], int, int, int, int, int)} for C in a little-endian buffer (absolute bytes). */
    private static void canonicalNaNs(java.nio.ByteBuffer c, int i0, int i1, int j0, int j1, int n) {
        for (int i = i0; i < i1; i++) {
            for (int e = i * n + j0, end = i * n + j1; e < end; e++) {
                float v = c.getFloat(e * Float.BYTES);
                if (v != v) {
                    c.putFloat(e * Float.BYTES, CANONICAL_NAN);
                }
            }
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
        runChunks(chunks, chunk, null);
    }

    /**
     * As {@link #runChunks(int, IntConsumer)}, where a thread that finds no chunk left while
     * others still run theirs is lent to {@code idle} (if not null) until the last chunk is done;
     * the call returns only once every such thread has left {@code idle}.
     */
    private void runChunks(int chunks, IntConsumer chunk, RowBlocks idle) {
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
        AtomicInteger idlers = new AtomicInteger();
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
            if (idle != null && done.getCount() > 0) {
                // Counted before the second look, so the caller, once every chunk is done, waits
                // for a thread that saw one still running; one that looks after that leaves at once.
                idlers.incrementAndGet();
                try {
                    if (done.getCount() > 0) {
                        idle.idle(() -> done.getCount() > 0);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    idlers.decrementAndGet();
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
        while (idlers.get() > 0) {
            Thread.yield(); // a lent thread finishing its last short piece (one leaf's hash)
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

    private SgemmBlocks.Workspace acquireScratch() {
        SgemmBlocks.Workspace s = scratchPool.poll();
        return s != null ? s : new SgemmBlocks.Workspace();
    }

    private void releaseScratch(SgemmBlocks.Workspace s) {
        scratchPool.offer(s);
    }

    /** @return workspaces now in the shared pool (for tests: a tracked call leaves it untouched) */
    int sharedWorkspaces() {
        return scratchPool.size();
    }

    /**
     * The workspaces of one tracked call: one per thread that claims its chunks (at most
     * {@link #threads}), made and sized for the call's largest task on the calling thread before
     * the tasks start (so the job's records come in a fixed order with fixed sizes), their arrays
     * allocated through the call's scratch, reused by the call's later tasks, and dropped with the
     * call (the scratch's owner wipes the arrays).
     */
    private final class CallPool {
        private final KernelReference.Scratch scratch;
        private final ConcurrentLinkedQueue<SgemmBlocks.Workspace> free = new ConcurrentLinkedQueue<>();
        private final AtomicInteger made = new AtomicInteger();

        CallPool(KernelReference.Scratch scratch) {
            this.scratch = scratch;
        }

        /** Makes {@code count} workspaces, each sized for a task of {@code rows} × {@code cols} over {@code k}. */
        void reserve(int count, int rows, int cols, int k, boolean aBuffer, boolean bBuffer) {
            for (int w = 0; w < count; w++) {
                SgemmBlocks.Workspace s = make();
                blocks.reserve(s, rows, cols, k, aBuffer, bBuffer);
                free.offer(s);
            }
        }

        /** A workspace from the call's pool; a new one only if a task outnumbered the reserve. */
        SgemmBlocks.Workspace acquire() {
            SgemmBlocks.Workspace s = free.poll();
            return s != null ? s : make();
        }

        private SgemmBlocks.Workspace make() {
            return new SgemmBlocks.Workspace(scratch, "scratch:sgemm-w" + made.getAndIncrement());
        }

        void release(SgemmBlocks.Workspace s) {
            free.offer(s);
        }
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

    private static void checkBuffer(String name, FloatBuffer buffer, int required, String sizeName) {
        if (buffer == null) {
            throw new InvalidArgumentException(name + " must not be null");
        }
        if (buffer.remaining() < required) {
            throw new InvalidArgumentException(name + " must have >= " + sizeName + " = " + required
                    + " floats remaining but has " + buffer.remaining());
        }
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
