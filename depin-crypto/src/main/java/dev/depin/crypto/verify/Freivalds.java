package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.Hex;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.internal.SeededRandom;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;

/**
 * Freivalds' randomized check that {@code C = A·B} for row-major float32 matrices
 * ({@code A} m×k, {@code B} k×n, {@code C} m×n), in O(r·(mk + kn + mn)) instead of the
 * O(mkn) of recomputing the product.
 *
 * <h2>Method</h2>
 * The verifier draws r random vectors y<sub>1..r</sub> with m entries uniform in {0, 1}
 * (the classic choice), expanded deterministically from a secret seed (SHA-256 in counter
 * mode), and checks, column by column, {@code (yᵀA)·B = yᵀC}. This is Freivalds' test
 * applied to the transposed product ({@code Bᵀ Aᵀ y = Cᵀ y}): the same test with the same
 * bound, and on row-major data every pass is a sum of whole rows
 * ({@code acc[j] += coefficient · row[j]}), which the JIT vectorizes, instead of dot
 * products, which it does not. The r vectors are batched: one pass over each of A, B and
 * C serves two rounds. Sums are accumulated in float over blocks of 64 rows and then in
 * double; the error this adds is part of the tolerance below.
 *
 * <h2>Tolerance</h2>
 * A correct C is computed in float32, so it differs from the exact product. Write u for
 * the unit roundoff of the arithmetic that produced C (2<sup>-24</sup> for IEEE float32,
 * any summation order, with or without FMA) and γ(n, u) = nu/(1 - nu).
 * <ul>
 *   <li>{@link Model#RIGOROUS} (default): by the standard dot-product bound, every element
 *   of a correct C satisfies |C<sub>ij</sub> - (AB)<sub>ij</sub>| &le; γ(k, u)·(|A||B|)<sub>ij</sub>
 *   (+ k·2<sup>-149</sup> for float32 underflow), so for any y in {0,1}<sup>m</sup>,
 *   |(yᵀC)<sub>j</sub> - (yᵀAB)<sub>j</sub>| &le; γ(k, u)·w<sub>j</sub> with w = (1ᵀ|A|)·|B|,
 *   which does not depend on y. τ<sub>j</sub> = γ(k, u)·w<sub>j</sub> plus the check's own
 *   rounding (about 8·10<sup>-6</sup>·w<sub>j</sub> + 4·10<sup>-6</sup>·(1ᵀ|C|)<sub>j</sub>, derived
 *   in the code), inflated for the rounding of the bound itself.
 *   <b>Guarantee:</b> a correct float32 product, whatever its summation order, always passes
 *   (barring overflow, which is rejected up front). This worst-case bound is loose: it grows
 *   like k·m·u times the magnitudes, far above typical rounding.</li>
 *   <li>{@link Model#PROBABILISTIC}(λ): under the model of Higham &amp; Mary (2019) —
 *   rounding errors independent, mean zero — |C<sub>ij</sub> - (AB)<sub>ij</sub>| &le;
 *   γ̃<sub>k</sub>(λ)·‖A<sub>i:</sub>‖<sub>2</sub>‖B<sub>:j</sub>‖<sub>2</sub> with
 *   γ̃<sub>k</sub>(λ) = exp(λ√k·u + ku²/(1-u)) - 1, except with probability
 *   2k·exp(-λ²(1-u)²/2) per element; summing a column's independent errors (Hoeffding)
 *   gives τ<sub>j</sub> = λ·γ̃<sub>k</sub>(λ)·‖A‖<sub>F</sub>‖B<sub>:j</sub>‖<sub>2</sub> (+ the check's
 *   rounding), exceeded with probability 2·exp(-λ²/2) per column and round. Tighter than
 *   RIGOROUS by roughly √(mk)/λ² for dense data; the probability that a correct result is
 *   rejected under the model is reported as {@code honestRejectBound}.</li>
 * </ul>
 * Set the unit roundoff to 2<sup>-11</sup> for TF32 tensor-core products (see
 * {@link Options#withUnitRoundoff(double)}).
 *
 * <h2>Error bound</h2>
 * τ<sub>j</sub> does not depend on y. If some element C<sub>ij</sub> is off by more than
 * 2τ<sub>j</sub>, then for any values of the other entries of y the two choices of y<sub>i</sub>
 * give values of (yᵀAB - yᵀC)<sub>j</sub> that differ by more than 2τ<sub>j</sub>, so at least one
 * is rejected: each round catches it with probability &ge; 1/2, and r independent rounds
 * let it pass with probability &le; 2<sup>-r</sup> (the reported {@code falseAcceptBound}).
 * Errors smaller than 2τ<sub>j</sub> may pass: the report states τ, never more. On failure
 * the failing column is recomputed exactly (O(mk)) and the evidence names the row and
 * column of the largest deviation.
 *
 * <pre>{@code
 * byte[] seed = Freivalds.newSeed(new SecureRandom());     // draw after the provider committed
 * VerificationReport r = Freivalds.verify(a, b, c, m, k, n, 2, seed);   // throws RESULT_MISMATCH
 * }</pre>
 *
 * <p>The check runs in the calling thread unless the caller lends threads with a
 * {@link Parallelism} (the overloads that take one); the report is the same either way.
 */
public final class Freivalds {
    /** Domain string of the vector stream. */
    public static final String DOMAIN = "depin/freivalds/v1";
    /** Unit roundoff of IEEE float32, 2<sup>-24</sup>. */
    public static final double FLOAT32_UNIT_ROUNDOFF = 0x1p-24;
    /** Unit roundoff of TF32 (10-bit mantissa), 2<sup>-11</sup>. */
    public static final double TF32_UNIT_ROUNDOFF = 0x1p-11;
    private static final double UD = 0x1p-53;
    private static final double U32 = 0x1p-24;
    /** Rows summed in float before a double accumulation. */
    private static final int BLOCK_ROWS = 64;
    /** Columns per tile: four float arrays of this width stay in L1. */
    private static final int TILE_COLUMNS = 512;
    private static final int GRAIN_ELEMENTS = 1 << 18;
    /** Rows per parallel chunk (fixed, so results do not depend on the thread count). */
    private static final int CHUNK_ROWS = 256;

    private Freivalds() {
    }

    /** How the tolerance is derived (see the class documentation). */
    public enum Model {
        /** Worst-case bound: a correct float32 product always passes. */
        RIGOROUS,
        /** Higham–Mary probabilistic bound with parameter λ. */
        PROBABILISTIC
    }

    /**
     * Options of a check.
     *
     * @param rounds       random vectors r, 1..64 (false-accept bound 2<sup>-r</sup>)
     * @param model        tolerance model
     * @param unitRoundoff unit roundoff of the arithmetic that produced C
     * @param lambda       λ for {@link Model#PROBABILISTIC} (ignored otherwise), &ge; 1
     */
    public record Options(int rounds, Model model, double unitRoundoff, double lambda) {
        /**
         * Validates.
         *
         * @param rounds       random vectors r, 1..64 (false-accept bound 2<sup>-r</sup>)
         * @param model        tolerance model
         * @param unitRoundoff unit roundoff of the arithmetic that produced C
         * @param lambda       λ for {@link Model#PROBABILISTIC} (ignored otherwise), &ge; 1
         */
        public Options {
            if (rounds < 1 || rounds > 64) {
                throw new InvalidArgumentException("rounds must be in 1..64, got " + rounds);
            }
            InvalidArgumentException.requireNonNull(model, "model");
            if (!(unitRoundoff > 0 && unitRoundoff <= 0.01)) {
                throw new InvalidArgumentException("unitRoundoff must be in (0, 0.01], got " + unitRoundoff);
            }
            if (model == Model.PROBABILISTIC && !(lambda >= 1 && lambda <= 100)) {
                throw new InvalidArgumentException("lambda must be in [1, 100], got " + lambda);
            }
        }

        /**
         * Rigorous tolerance for float32.
         *
         * @param rounds r
         * @return the options
         */
        public static Options rigorous(int rounds) {
            return new Options(rounds, Model.RIGOROUS, FLOAT32_UNIT_ROUNDOFF, 0);
        }

        /**
         * Probabilistic tolerance for float32.
         *
         * @param rounds r
         * @param lambda λ, e.g. 10
         * @return the options
         */
        public static Options probabilistic(int rounds, double lambda) {
            return new Options(rounds, Model.PROBABILISTIC, FLOAT32_UNIT_ROUNDOFF, lambda);
        }

        /**
         * The same options for another arithmetic (e.g. {@link #TF32_UNIT_ROUNDOFF}).
         *
         * @param u the unit roundoff
         * @return new options
         */
        public Options withUnitRoundoff(double u) {
            return new Options(rounds, model, u, lambda);
        }
    }

    /**
     * A fresh 32-byte secret seed.
     *
     * @param random a cryptographically strong source
     * @return the seed
     */
    public static byte[] newSeed(SecureRandom random) {
        byte[] s = new byte[32];
        InvalidArgumentException.requireNonNull(random, "random").nextBytes(s);
        return s;
    }

    /**
     * Checks {@code C = A·B} with r rounds and the rigorous float32 tolerance.
     *
     * @param a    A, m×k row-major
     * @param b    B, k×n row-major
     * @param c    C, m×n row-major, as delivered
     * @param m    rows of A and C
     * @param k    columns of A, rows of B
     * @param n    columns of B and C
     * @param rounds r
     * @param seed secret seed, &ge; 16 bytes
     * @return what was checked
     * @throws VerificationException {@code RESULT_MISMATCH} with evidence naming the row
     */
    public static VerificationReport verify(float[] a, float[] b, float[] c, int m, int k, int n, int rounds,
                                            byte[] seed) {
        return verify(a, 0, b, 0, c, 0, m, k, n, Options.rigorous(rounds), seed);
    }

    /**
     * Checks {@code C = A·B}.
     *
     * @param a       A, m×k row-major
     * @param b       B, k×n row-major
     * @param c       C, m×n row-major, as delivered
     * @param m       rows of A and C
     * @param k       columns of A, rows of B
     * @param n       columns of B and C
     * @param options rounds and tolerance model
     * @param seed    secret seed, &ge; 16 bytes
     * @return what was checked
     * @throws VerificationException {@code RESULT_MISMATCH} with evidence naming the row
     */
    public static VerificationReport verify(float[] a, float[] b, float[] c, int m, int k, int n, Options options,
                                            byte[] seed) {
        return verify(a, 0, b, 0, c, 0, m, k, n, options, seed);
    }

    /**
     * Checks {@code C = A·B} on float buffers (their elements from the current position),
     * read in place: array-backed buffers through their arrays, views of byte buffers (for
     * example little-endian output bytes as received) row segment by row segment, never
     * copied whole. Positions are not changed.
     *
     * @param a       A, m×k row-major
     * @param b       B, k×n row-major
     * @param c       C, m×n row-major
     * @param m       rows of A and C
     * @param k       columns of A, rows of B
     * @param n       columns of B and C
     * @param options rounds and tolerance model
     * @param seed    secret seed, &ge; 16 bytes
     * @return what was checked
     */
    public static VerificationReport verify(FloatBuffer a, FloatBuffer b, FloatBuffer c, int m, int k, int n,
                                            Options options, byte[] seed) {
        return verify(a, b, c, m, k, n, options, seed, Parallelism.callerThread());
    }

    /**
     * Checks {@code C = A·B} on float buffers like
     * {@link #verify(FloatBuffer, FloatBuffer, FloatBuffer, int, int, int, Options, byte[])},
     * with the row passes run on {@code parallelism}'s threads as well as the calling one
     * (the result does not depend on the number of threads).
     *
     * @param a           A, m×k row-major
     * @param b           B, k×n row-major
     * @param c           C, m×n row-major
     * @param m           rows of A and C
     * @param k           columns of A, rows of B
     * @param n           columns of B and C
     * @param options     rounds and tolerance model
     * @param seed        secret seed, &ge; 16 bytes
     * @param parallelism where the row passes may run; not {@code null}
     * @return what was checked
     * @throws VerificationException {@code RESULT_MISMATCH} with evidence naming the row and column
     */
    public static VerificationReport verify(FloatBuffer a, FloatBuffer b, FloatBuffer c, int m, int k, int n,
                                            Options options, byte[] seed, Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        InvalidArgumentException.requireNonNull(a, "A");
        InvalidArgumentException.requireNonNull(b, "B");
        InvalidArgumentException.requireNonNull(c, "C");
        if (a.hasArray() && b.hasArray() && c.hasArray()) {
            return verify(a.array(), a.arrayOffset() + a.position(), b.array(), b.arrayOffset() + b.position(),
                    c.array(), c.arrayOffset() + c.position(), m, k, n, options, seed, parallelism);
        }
        checkArguments(options, seed, m, k, n);
        checkSize(a, (long) m * k, "A", m + "x" + k);
        checkSize(b, (long) k * n, "B", k + "x" + n);
        checkSize(c, (long) m * n, "C", m + "x" + n);
        FloatBuffer fa = a.slice();
        FloatBuffer fb = b.slice();
        FloatBuffer fc = c.slice();
        return verifyRows((i, dst, len) -> fa.get(i, dst, 0, len), (i, dst, len) -> fb.get(i, dst, 0, len),
                (i, dst, len) -> fc.get(i, dst, 0, len), m, k, n, options, seed, parallelism,
                (col, round, expected, got, tau) -> failure(array(fa), 0, array(fb), 0, array(fc), 0, m, k, n,
                        col, round, expected, got, tau, seed));
    }

    /**
     * Starts a check of {@code C = A·B} whose work is done as the data becomes available:
     * the side that needs only A, B and the secret vectors ((yᵀA)·B and the tolerance's
     * magnitudes, {@link Prepared#computeProduct}) before C exists, for example while the
     * provider computes; yᵀC ({@link Prepared#acceptC}) chunk by chunk as C's bytes arrive,
     * while they are in cache for hashing; so that once the last byte has come only the
     * comparison is left ({@link Prepared#finish}, O(r·n)). The report, the tolerance and
     * the failures are exactly those of the one-shot {@code verify} with the same seed
     * (the same sums in the same order): this only moves work earlier.
     *
     * <p>Soundness needs what the one-shot check needs: the provider must not learn the
     * vectors before C is fixed. They are expanded from {@code seed}, which stays in the
     * returned object (never in its {@code toString}) and is wiped with it by
     * {@link Prepared#close()}; the work on row i of C, the only work whose timing depends on
     * y<sub>i</sub>, starts once all of row i has been received. One prepared check serves
     * one C: never reuse a seed for another attempt.
     *
     * <pre>{@code
     * try (Freivalds.Prepared p = Freivalds.prepare(m, k, n, Options.rigorous(20),
     *         Freivalds.newSeed(new SecureRandom()))) {
     *     pool.execute(() -> p.computeProduct(a, b, parallelism));   // while the provider computes
     *     p.acceptC(chunk);                                          // as each chunk of C arrives
     *     VerificationReport r = p.finish(a, b, c);                  // after the last byte
     * }
     * }</pre>
     *
     * @param m       rows of A and C
     * @param k       columns of A, rows of B
     * @param n       columns of B and C
     * @param options rounds and tolerance model
     * @param seed    secret seed, &ge; 16 bytes (copied)
     * @return the check, waiting for A and B ({@link Prepared#computeProduct}) and C's bytes
     * @throws InvalidArgumentException on bad dimensions, options or seed
     */
    public static Prepared prepare(int m, int k, int n, Options options, byte[] seed) {
        checkArguments(options, seed, m, k, n);
        if ((long) m * k > Integer.MAX_VALUE || (long) k * n > Integer.MAX_VALUE || (long) m * n > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("matrices of " + m + "x" + k + " by " + k + "x" + n
                    + " exceed 2^31-1 elements: split the product");
        }
        return new Prepared(m, k, n, options, seed.clone());
    }

    /**
     * A check of one C prepared ahead of its arrival (see {@link #prepare}). {@link #computeProduct}
     * may run on any thread, once; {@link #acceptC} on one thread at a time, in order;
     * {@link #finish} once, after the last byte of C (it computes the product side itself if no
     * one has started it). {@link #close()} wipes the secret state; it is per job and never
     * reused.
     */
    public static final class Prepared implements AutoCloseable {
        private static final int NOT_STARTED = 0;
        private static final int RUNNING = 1;
        private static final int DONE = 2;
        private final int m;
        private final int k;
        private final int n;
        private final Options options;
        private final byte[] seed;
        private final float[][] y;
        private final java.util.concurrent.atomic.AtomicInteger productState =
                new java.util.concurrent.atomic.AtomicInteger(NOT_STARTED);
        private final java.util.concurrent.CountDownLatch productDone = new java.util.concurrent.CountDownLatch(1);
        private volatile ProductSide product;
        private volatile RuntimeException productFailure;
        // y^T C as it arrives: the same float blocks, double chunk partials and chunk order as columnPass.
        private final Object cLock = new Object();
        private final float[][] f;
        private final float[] fm;
        private final double[][] p;
        private final double[] pm;
        private final double[][] z;
        private final double[] cAbs;
        private final float[] row;
        private final byte[] rowBytes;
        private int rowFill;
        private int rowsDone;
        private boolean finished;
        private boolean closed;

        private Prepared(int m, int k, int n, Options options, byte[] seed) {
            this.m = m;
            this.k = k;
            this.n = n;
            this.options = options;
            this.seed = seed;
            int r = options.rounds();
            this.y = vectors(seed, r, m);
            this.f = new float[r][n];
            this.fm = new float[n];
            this.p = new double[r][n];
            this.pm = new double[n];
            this.z = new double[r][n];
            this.cAbs = new double[n];
            this.row = new float[n];
            this.rowBytes = new byte[4 * n];
        }

        /**
         * Computes the side of the check that needs only A and B: (yᵀA)·B and the tolerance's
         * magnitudes (the bulk of the check's reads). Returns at once if another thread has
         * started it; the first caller does the work.
         *
         * @param a           A, m×k row-major, from its position (not changed)
         * @param b           B, k×n row-major, from its position (not changed)
         * @param parallelism threads the row passes may use besides the calling one
         * @throws InvalidArgumentException on a buffer too small (then {@link #finish} throws it too)
         */
        public void computeProduct(FloatBuffer a, FloatBuffer b, Parallelism parallelism) {
            InvalidArgumentException.requireNonNull(parallelism, "parallelism");
            if (!productState.compareAndSet(NOT_STARTED, RUNNING)) {
                return;
            }
            try {
                InvalidArgumentException.requireNonNull(a, "A");
                InvalidArgumentException.requireNonNull(b, "B");
                checkSize(a, (long) m * k, "A", m + "x" + k);
                checkSize(b, (long) k * n, "B", k + "x" + n);
                product = productSide(parallelism, rows(a), rows(b), y, m, k, n,
                        options.model() == Model.RIGOROUS);
            } catch (RuntimeException e) {
                productFailure = e;
                throw e;
            } finally {
                productState.set(DONE);
                productDone.countDown();
            }
        }

        /**
         * Adds the next bytes of C (little-endian float32, row-major, in order) to yᵀC. Chunks
         * may end anywhere, even inside a float; rows are summed once all their bytes are here.
         *
         * @param bytes the next bytes, from position to limit (not changed)
         * @throws InvalidArgumentException past C's m·n·4 bytes, or after finish/close
         */
        public void acceptC(ByteBuffer bytes) {
            InvalidArgumentException.requireNonNull(bytes, "bytes of C");
            synchronized (cLock) {
                if (finished || closed) {
                    throw new InvalidArgumentException("bytes of C after the check was finished or closed");
                }
                ByteBuffer src = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                int rowLen = 4 * n;
                if ((long) (m - rowsDone) * rowLen - rowFill < src.remaining()) {
                    throw new InvalidArgumentException(src.remaining() + " more bytes of C, but only "
                            + ((long) (m - rowsDone) * rowLen - rowFill) + " of its " + (long) m * rowLen
                            + " are missing");
                }
                while (src.hasRemaining()) {
                    if (rowFill == 0 && src.remaining() >= rowLen) {
                        // A whole row in place: read it without staging its bytes.
                        src.asFloatBuffer().get(row, 0, n);
                        src.position(src.position() + rowLen);
                    } else {
                        int take = Math.min(rowLen - rowFill, src.remaining());
                        src.get(rowBytes, rowFill, take);
                        rowFill += take;
                        if (rowFill < rowLen) {
                            break;
                        }
                        ByteBuffer.wrap(rowBytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(row, 0, n);
                        rowFill = 0;
                    }
                    addRowOfC();
                }
            }
        }

        /** Row {@code rowsDone} of C is in {@link #row}: the per-column arithmetic of {@link #columnPass}. */
        private void addRowOfC() {
            int i = rowsDone;
            int r = y.length;
            for (int t = 0; t < r; t++) {
                if (y[t][i] != 0f) {
                    add1(row, n, f[t]);
                }
            }
            addAbs(row, n, fm);
            rowsDone = i + 1;
            boolean chunkEnd = rowsDone % CHUNK_ROWS == 0 || rowsDone == m;
            if (rowsDone % BLOCK_ROWS == 0 || chunkEnd) {
                for (int t = 0; t < r; t++) {
                    flush(f[t], p[t], 0, n);
                }
                flush(fm, pm, 0, n);
            }
            if (chunkEnd) {
                for (int t = 0; t < r; t++) {
                    double[] pt = p[t];
                    double[] zt = z[t];
                    for (int j = 0; j < n; j++) {
                        zt[j] += pt[j];
                        pt[j] = 0;
                    }
                }
                for (int j = 0; j < n; j++) {
                    cAbs[j] += pm[j];
                    pm[j] = 0;
                }
            }
            java.util.Arrays.fill(row, 0f);
        }

        /** @return bytes of C accepted so far */
        public long acceptedBytes() {
            synchronized (cLock) {
                return (long) rowsDone * 4 * n + rowFill;
            }
        }

        /**
         * Compares (yᵀA)·B with yᵀC column by column, with the tolerance of the one-shot check.
         * Needs every byte of C; computes the product side here if no one has started it, and
         * waits for it if another thread is computing it.
         *
         * @param a A, as given to {@link #computeProduct} (read again only to build the evidence of a failure)
         * @param b B, likewise
         * @param c C as received, the bytes given to {@link #acceptC} (read only for the evidence)
         * @return what was checked, as the one-shot check reports it
         * @throws VerificationException {@code RESULT_MISMATCH} with evidence naming the row and column
         * @throws InvalidArgumentException if C is incomplete, the check was finished or closed, or
         *         the product side failed on its arguments
         */
        public VerificationReport finish(FloatBuffer a, FloatBuffer b, FloatBuffer c) {
            InvalidArgumentException.requireNonNull(c, "C");
            synchronized (cLock) {
                if (finished || closed) {
                    throw new InvalidArgumentException("this prepared check was already finished or closed: "
                            + "prepare one per result");
                }
                if (rowsDone != m) {
                    throw new InvalidArgumentException("C is incomplete: " + acceptedBytes() + " of its "
                            + (long) m * n * 4 + " bytes were accepted");
                }
                finished = true;
            }
            computeProduct(a, b, Parallelism.callerThread());
            boolean interrupted = false;
            while (true) {
                try {
                    productDone.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;    // the product side writes into this object: wait for it
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (productFailure != null) {
                throw productFailure;
            }
            checkSize(c, (long) m * n, "C", m + "x" + n);
            FloatBuffer fa = a.slice();
            FloatBuffer fb = b.slice();
            FloatBuffer fc = c.slice();
            return judge(m, k, n, options, seed, product, z, cAbs,
                    (col, round, expected, got, tau) -> failure(array(fa), 0, array(fb), 0, array(fc), 0, m, k, n,
                            col, round, expected, got, tau, seed));
        }

        /**
         * Wipes the secret state (the seed, the vectors, every partial sum). Idempotent; waits
         * for a product side in progress on another thread before wiping what it writes.
         */
        @Override
        public void close() {
            synchronized (cLock) {
                if (closed) {
                    return;
                }
                closed = true;
                java.util.Arrays.fill(seed, (byte) 0);
                for (float[] v : y) {
                    java.util.Arrays.fill(v, 0f);
                }
                for (int t = 0; t < f.length; t++) {
                    java.util.Arrays.fill(f[t], 0f);
                    java.util.Arrays.fill(p[t], 0);
                    java.util.Arrays.fill(z[t], 0);
                }
                java.util.Arrays.fill(fm, 0f);
                java.util.Arrays.fill(pm, 0);
                java.util.Arrays.fill(cAbs, 0);
                java.util.Arrays.fill(row, 0f);
                java.util.Arrays.fill(rowBytes, (byte) 0);
            }
            // A product side nobody started never will; one running is waited for, then wiped.
            if (productState.compareAndSet(NOT_STARTED, DONE)) {
                productDone.countDown();
            }
            try {
                productDone.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            ProductSide ps = product;
            if (ps != null) {
                ps.wipe();
            }
        }

        /** @return whether {@link #close()} ran (the state is wiped) */
        public boolean isClosed() {
            synchronized (cLock) {
                return closed;
            }
        }

        @Override
        public String toString() {
            return "Freivalds.Prepared[" + m + "x" + k + " by " + k + "x" + n + ", " + options.rounds() + " rounds, "
                    + acceptedBytes() + " bytes of C" + (closed ? ", closed" : "") + "]";
        }
    }

    /** Reads a float buffer's elements from its current position, in place. */
    private static Rows rows(FloatBuffer f) {
        if (f.hasArray()) {
            float[] arr = f.array();
            int off = f.arrayOffset() + f.position();
            return (i, dst, len) -> System.arraycopy(arr, off + i, dst, 0, len);
        }
        FloatBuffer s = f.slice();
        return (i, dst, len) -> s.get(i, dst, 0, len);
    }

    /** Where {@link #columnPass} reads a matrix from: copies {@code len} floats from element {@code index}. */
    @FunctionalInterface
    private interface Rows {
        void copy(int index, float[] dst, int len);
    }

    /** Builds the exception for a failed column (only on the failure path). */
    @FunctionalInterface
    private interface Failure {
        VerificationException at(int col, int round, double expected, double got, double tau);
    }

    private static float[] array(FloatBuffer f) {
        float[] a = new float[f.remaining()];
        f.duplicate().get(a);
        return a;
    }

    private static void checkSize(FloatBuffer f, long need, String name, String shape) {
        if (need > Integer.MAX_VALUE || f.remaining() < need) {
            throw new InvalidArgumentException(name + " (" + shape + ") needs " + need + " floats but the buffer has "
                    + f.remaining() + " remaining: pass the matrix in row-major order with these dimensions");
        }
    }

    private static void checkArguments(Options options, byte[] seed, int m, int k, int n) {
        InvalidArgumentException.requireNonNull(options, "options");
        InvalidArgumentException.requireNonNull(seed, "seed");
        if (seed.length < 16) {
            throw new InvalidArgumentException("seed must have >= 16 bytes, got " + seed.length
                    + ": use Freivalds.newSeed(new SecureRandom())");
        }
        if (m < 1 || k < 1 || n < 1) {
            throw new InvalidArgumentException("dimensions must be >= 1, got m=" + m + " k=" + k + " n=" + n);
        }
    }

    /**
     * Checks {@code C = A·B} on arrays with offsets.
     *
     * @param a       array holding A (m×k row-major) from {@code aOff}
     * @param aOff    offset of A
     * @param b       array holding B (k×n) from {@code bOff}
     * @param bOff    offset of B
     * @param c       array holding C (m×n) from {@code cOff}
     * @param cOff    offset of C
     * @param m       rows of A and C
     * @param k       columns of A, rows of B
     * @param n       columns of B and C
     * @param options rounds and tolerance model
     * @param seed    secret seed, &ge; 16 bytes
     * @return what was checked
     * @throws VerificationException {@code RESULT_MISMATCH} with evidence naming the row and column
     */
    public static VerificationReport verify(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                            int m, int k, int n, Options options, byte[] seed) {
        return verify(a, aOff, b, bOff, c, cOff, m, k, n, options, seed, Parallelism.callerThread());
    }

    /**
     * Checks {@code C = A·B} on arrays with offsets like
     * {@link #verify(float[], int, float[], int, float[], int, int, int, int, Options, byte[])},
     * with the row passes run on {@code parallelism}'s threads as well as the calling one
     * (the result does not depend on the number of threads).
     *
     * @param a           array holding A (m×k row-major) from {@code aOff}
     * @param aOff        offset of A
     * @param b           array holding B (k×n) from {@code bOff}
     * @param bOff        offset of B
     * @param c           array holding C (m×n) from {@code cOff}
     * @param cOff        offset of C
     * @param m           rows of A and C
     * @param k           columns of A, rows of B
     * @param n           columns of B and C
     * @param options     rounds and tolerance model
     * @param seed        secret seed, &ge; 16 bytes
     * @param parallelism where the row passes may run; not {@code null}
     * @return what was checked
     * @throws VerificationException {@code RESULT_MISMATCH} with evidence naming the row and column
     */
    public static VerificationReport verify(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                            int m, int k, int n, Options options, byte[] seed,
                                            Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        checkArguments(options, seed, m, k, n);
        checkSize(a, aOff, (long) m * k, "A", m + "x" + k);
        checkSize(b, bOff, (long) k * n, "B", k + "x" + n);
        checkSize(c, cOff, (long) m * n, "C", m + "x" + n);
        return verifyRows((i, dst, len) -> System.arraycopy(a, aOff + i, dst, 0, len),
                (i, dst, len) -> System.arraycopy(b, bOff + i, dst, 0, len),
                (i, dst, len) -> System.arraycopy(c, cOff + i, dst, 0, len), m, k, n, options, seed, parallelism,
                (col, round, expected, got, tau) -> failure(a, aOff, b, bOff, c, cOff, m, k, n, col, round, expected,
                        got, tau, seed));
    }

    private static VerificationReport verifyRows(Rows a, Rows b, Rows c, int m, int k, int n, Options options,
                                                 byte[] seed, Parallelism par, Failure failure) {
        final int r = options.rounds();
        float[][] y = vectors(seed, r, m);
        ProductSide ab = productSide(par, a, b, y, m, k, n, options.model() == Model.RIGOROUS);
        double[][] z = new double[r][n];    // y^T C
        double[] cAbs = new double[n];      // 1^T|C|
        for (int g = 0; g < r; g += 2) {
            final boolean first = g == 0;
            final boolean pair = g + 1 < r;
            columnPass(par, c, m, n, y[g], pair ? y[g + 1] : null, true, z[g], pair ? z[g + 1] : null,
                    null, first ? MAG_ABS : MAG_NONE, first ? cAbs : null);
        }
        return judge(m, k, n, options, seed, ab, z, cAbs, failure);
    }

    /** The random {0,1} row-selection vectors y[t][i], t &lt; r, i &lt; m, from the seed. */
    private static float[][] vectors(byte[] seed, int r, int m) {
        SeededRandom rnd = new SeededRandom(DOMAIN, seed);
        float[][] y = new float[r][m];
        for (int t = 0; t < r; t++) {
            for (int i = 0; i < m; i += 8) {
                int bits = rnd.nextByte();
                for (int q = 0; q < 8 && i + q < m; q++) {
                    y[t][i + q] = (bits >>> q) & 1;
                }
            }
        }
        return y;
    }

    /**
     * What the check needs from A and B alone: v<sub>t</sub> = (y<sub>t</sub>ᵀA)·B and the
     * magnitudes of the tolerance. It does not depend on C, so it can be computed before C exists.
     */
    private static final class ProductSide {
        final double[][] v;     // (y^T A) B
        final double[] aMag;    // rigorous: 1^T|A| (column abs sums); probabilistic: column sums of A^2
        final double[] w;       // rigorous: (1^T|A|)|B|; probabilistic: column sums of B^2

        ProductSide(int r, int k, int n) {
            v = new double[r][n];
            aMag = new double[k];
            w = new double[n];
        }

        void wipe() {
            for (double[] row : v) {
                java.util.Arrays.fill(row, 0);
            }
            java.util.Arrays.fill(aMag, 0);
            java.util.Arrays.fill(w, 0);
        }
    }

    private static ProductSide productSide(Parallelism par, Rows a, Rows b, float[][] y, int m, int k, int n,
                                           boolean rigorous) {
        final int r = y.length;
        final int magKind = rigorous ? MAG_ABS : MAG_SQUARE;
        ProductSide ps = new ProductSide(r, k, n);
        double[][] u = new double[r][k];    // y^T A
        float[] aMagF = null;
        for (int g = 0; g < r; g += 2) {
            final boolean first = g == 0;
            final boolean pair = g + 1 < r;
            final int t0 = g;
            columnPass(par, a, m, k, y[t0], pair ? y[t0 + 1] : null, true, u[t0], pair ? u[t0 + 1] : null,
                    null, first ? magKind : MAG_NONE, first ? ps.aMag : null);
            if (first) {
                aMagF = rigorous ? toFloat(ps.aMag) : null;
            }
            columnPass(par, b, k, n, toFloat(u[t0]), pair ? toFloat(u[t0 + 1]) : null, false, ps.v[t0],
                    pair ? ps.v[t0 + 1] : null, first ? aMagF : null, first ? magKind : MAG_NONE, first ? ps.w : null);
        }
        return ps;
    }

    /** Tolerances, then the comparison of (y^T A) B with y^T C column by column. */
    private static VerificationReport judge(int m, int k, int n, Options options, byte[] seed, ProductSide ab,
                                            double[][] z, double[] cAbs, Failure failure) {
        final int r = options.rounds();
        final boolean rigorous = options.model() == Model.RIGOROUS;
        final double[][] v = ab.v;
        final double[] aMag = ab.aMag;
        final double[] w = ab.w;

        // Tolerances (see the class documentation and the derivation in comments below).
        double uC = options.unitRoundoff();
        // eAcc: error of a float-then-double accumulated sum relative to the sum of |terms|:
        // at most BLOCK_ROWS + 1 float additions per term, then a double sum of the block sums.
        double eAcc = gamma(BLOCK_ROWS + 2, U32) + gamma(Math.max(m, k) / BLOCK_ROWS + 4, UD) * (1 + gamma(BLOCK_ROWS + 2, U32));
        // u_t rounded to float: |uf - y^T A| <= eU * (1^T|A|)
        double eU = U32 + eAcc * (1 + U32);
        // v = uf B in float products + accumulation: relative to sum |uf||B| <= (1+eU) w
        double eV = U32 + eAcc + U32 * eAcc;
        double checkCoef = eU + eV * (1 + eU);
        double magInflate = 1 + 8 * Math.max(U32, eAcc);    // computed magnitudes may be slightly low
        double underflow = ((double) m * k + 4.0 * m + 4.0 * k + 4.0 * n) * 0x1p-149;
        double finalInflate = 1 + 16 * UD;
        double coef;
        double honestReject = 0;
        double aFrob = 0;
        if (rigorous) {
            coef = gamma(k, uC);
            if (!Double.isFinite(coef) || k * uC >= 0.5) {
                throw new InvalidArgumentException("k=" + k + " is too large for unit roundoff " + uC
                        + " (k*u >= 0.5): the rigorous bound is meaningless; use smaller blocks");
            }
        } else {
            double lambda = options.lambda();
            coef = lambda * Math.expm1(lambda * Math.sqrt(k) * uC + k * uC * uC / (1 - uC));
            for (double s : aMag) {
                aFrob += s;
            }
            aFrob = Math.sqrt(aFrob * magInflate);
            double e = Math.exp(-lambda * lambda * (1 - uC) * (1 - uC) / 2);
            honestReject = Math.min(1, (double) m * n * 2 * k * e + (double) n * r * 2 * Math.exp(-lambda * lambda / 2));
        }
        double[] tau = new double[n];
        double tauMax = 0;
        double tauMin = Double.POSITIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            double wj;      // bound on ((1^T|A|)|B|)_j
            double main;
            if (rigorous) {
                wj = w[j] * magInflate;
                main = coef * wj;
            } else {
                double bj = Math.sqrt(w[j] * magInflate);
                main = coef * aFrob * bj;
                wj = Math.sqrt(m) * aFrob * bj;     // Cauchy-Schwarz: (1^T|A|)|B_:j| <= sqrt(m) ||A||_F ||B_:j||
            }
            if (!Double.isFinite(wj)) {
                throw new InvalidArgumentException("A or column " + j + " of B contains NaN or infinity (or overflows "
                        + "double): the product is undefined; check the inputs before verifying");
            }
            if (wj > Float.MAX_VALUE) {
                throw new InvalidArgumentException("column " + j + " reaches float32 overflow (|A||B| column bound " + wj
                        + "): a float32 result is not meaningful there; scale the inputs");
            }
            double cj = Double.isFinite(cAbs[j]) ? cAbs[j] * magInflate : 0;
            double t = finalInflate * (main + checkCoef * wj + eAcc * cj + underflow);
            tau[j] = t;
            tauMax = Math.max(tauMax, t);
            tauMin = Math.min(tauMin, t);
        }

        for (int t = 0; t < r; t++) {
            for (int j = 0; j < n; j++) {
                double diff = Math.abs(v[t][j] - z[t][j]);
                if (!(diff <= tau[j])) {
                    throw failure.at(j, t, v[t][j], z[t][j], tau[j]);
                }
            }
        }

        double bound = Math.scalb(1.0, -r);
        String model = rigorous ? "RIGOROUS" : "PROBABILISTIC(lambda=" + options.lambda() + ")";
        String detail = String.format(Locale.ROOT, "C (%dx%d) = A (%dx%d) x B (%dx%d): %d round(s) of random {0,1} "
                        + "row-selection vectors y from seed %s; |((y^T A) B - y^T C)_j| <= tau_j for every column; "
                        + "tolerance model %s, unit roundoff %s; tau_j in [%.3e, %.3e]; an element error > 2*tau_j "
                        + "passes with probability <= %s",
                m, n, m, k, k, n, r, Hex.encode(seed), model,
                uC == FLOAT32_UNIT_ROUNDOFF ? "2^-24" : Double.toString(uC), tauMin, tauMax, bound);
        if (!rigorous) {
            detail += String.format(Locale.ROOT, "; probability that a correct product fails under the model <= %.3e",
                    honestReject);
        }
        Assurance assurance = rigorous ? Assurance.freivalds(r, tauMax, bound)
                : new Assurance(Assurance.Level.FREIVALDS, java.util.Map.of(Assurance.ROUNDS, (double) r,
                Assurance.TOLERANCE, tauMax, Assurance.FALSE_ACCEPT_BOUND, bound, "honestRejectBound", honestReject));
        return new VerificationReport("freivalds(" + r + ")",
                List.of(VerificationReport.Check.passed("freivalds", detail)), assurance);
    }

    /** γ(n, u) = nu / (1 - nu), or +∞ if nu &ge; 1. */
    static double gamma(long n, double u) {
        double nu = n * u;
        return nu >= 1 ? Double.POSITIVE_INFINITY : nu / (1 - nu);
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static final int MAG_NONE = 0;
    private static final int MAG_ABS = 1;
    private static final int MAG_SQUARE = 2;

    /**
     * One pass over a rows×cols row-major matrix M:
     * {@code out0[j] += Σ_i coef0[i]·M[i][j]}, the same for coef1/out1 when given, and
     * {@code mag[j] += Σ_i magCoef[i]·f(M[i][j])} (magCoef {@code null} = all ones) with
     * f = |·| or (·)² when {@code magKind} says so. {@code binary} says the coefficients are
     * 0 or 1, so rows are added without multiplications. Rows are cut into fixed chunks of
     * {@value #CHUNK_ROWS} (processed in parallel, each into its own double partial sums,
     * added in chunk order afterwards: the result does not depend on the thread count);
     * inside a chunk, rows are summed in float over blocks of {@value #BLOCK_ROWS} and tiles
     * of {@value #TILE_COLUMNS} columns, then in double.
     */
    private static void columnPass(Parallelism par, Rows mtx, int rows, int cols, float[] coef0, float[] coef1,
                                   boolean binary, double[] out0, double[] out1, float[] magCoef, int magKind,
                                   double[] mag) {
        int chunks = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
        boolean two = coef1 != null;
        boolean hasMag = magKind != MAG_NONE;
        int outs = 1 + (two ? 1 : 0) + (hasMag ? 1 : 0);
        int p1 = cols;
        int pm = two ? 2 * cols : cols;
        double[][] partial = new double[chunks][];
        int grainChunks = Math.max(1, (int) (GRAIN_ELEMENTS / Math.max(1L, (long) CHUNK_ROWS * cols)));
        par.forRange(chunks, grainChunks, (from, to) -> {
            int width = Math.min(TILE_COLUMNS, cols);
            float[] seg = new float[width];
            float[] f0 = new float[width];
            float[] f1 = two ? new float[width] : null;
            float[] fm = hasMag ? new float[width] : null;
            boolean sq = magKind == MAG_SQUARE;
            for (int ch = from; ch < to; ch++) {
                double[] p = new double[outs * cols];
                int rEnd = Math.min(rows, (ch + 1) * CHUNK_ROWS);
                for (int r0 = ch * CHUNK_ROWS; r0 < rEnd; r0 += BLOCK_ROWS) {
                    int r1 = Math.min(rEnd, r0 + BLOCK_ROWS);
                    for (int t0 = 0; t0 < cols; t0 += width) {
                        int len = Math.min(width, cols - t0);
                        for (int i = r0; i < r1; i++) {
                            float k0 = coef0[i];
                            float k1 = two ? coef1[i] : 0f;
                            if (binary && !hasMag && k0 == 0f && k1 == 0f) {
                                continue;   // this row contributes nothing
                            }
                            // Copy the row segment first: C2 vectorizes "acc[j] += seg[j]" (same index
                            // in every array) but not "acc[j] += m[off + j]" (possible aliasing).
                            mtx.copy(i * cols + t0, seg, len);
                            if (binary) {
                                addRow(seg, len, k0 != 0f, k1 != 0f, f0, f1, fm, sq);
                            } else {
                                float km = magCoef == null ? 1f : magCoef[i];
                                if (two) {
                                    if (!hasMag) {
                                        axpy2(seg, len, k0, k1, f0, f1);
                                    } else if (sq) {
                                        axpy2Sq(seg, len, k0, k1, km, f0, f1, fm);
                                    } else {
                                        axpy2Abs(seg, len, k0, k1, km, f0, f1, fm);
                                    }
                                } else {
                                    if (!hasMag) {
                                        axpy1(seg, len, k0, f0);
                                    } else if (sq) {
                                        axpy1Sq(seg, len, k0, km, f0, fm);
                                    } else {
                                        axpy1Abs(seg, len, k0, km, f0, fm);
                                    }
                                }
                            }
                        }
                        flush(f0, p, t0, len);
                        if (two) {
                            flush(f1, p, p1 + t0, len);
                        }
                        if (hasMag) {
                            flush(fm, p, pm + t0, len);
                        }
                    }
                }
                partial[ch] = p;
            }
        });
        for (double[] p : partial) {
            for (int j = 0; j < cols; j++) {
                out0[j] += p[j];
            }
            if (two) {
                for (int j = 0; j < cols; j++) {
                    out1[j] += p[p1 + j];
                }
            }
            if (hasMag) {
                for (int j = 0; j < cols; j++) {
                    mag[j] += p[pm + j];
                }
            }
        }
    }

    /** Adds a row to the selected accumulators (coefficients 0/1) and its magnitudes to fm. */
    private static void addRow(float[] s, int len, boolean to0, boolean to1, float[] f0, float[] f1, float[] fm,
                               boolean sq) {
        if (fm == null) {
            if (to0 && to1) {
                add2(s, len, f0, f1);
            } else if (to0) {
                add1(s, len, f0);
            } else if (to1) {
                add1(s, len, f1);
            }
        } else if (sq) {
            if (to0 && to1) {
                add2Sq(s, len, f0, f1, fm);
            } else if (to0) {
                add1Sq(s, len, f0, fm);
            } else if (to1) {
                add1Sq(s, len, f1, fm);
            } else {
                addSq(s, len, fm);
            }
        } else {
            if (to0 && to1) {
                add2Abs(s, len, f0, f1, fm);
            } else if (to0) {
                add1Abs(s, len, f0, fm);
            } else if (to1) {
                add1Abs(s, len, f1, fm);
            } else {
                addAbs(s, len, fm);
            }
        }
    }

    private static void add1(float[] s, int len, float[] f) {
        for (int j = 0; j < len; j++) {
            f[j] += s[j];
        }
    }

    private static void add2(float[] s, int len, float[] f0, float[] f1) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += x;
            f1[j] += x;
        }
    }

    private static void addAbs(float[] s, int len, float[] fm) {
        for (int j = 0; j < len; j++) {
            fm[j] += Math.abs(s[j]);
        }
    }

    private static void add1Abs(float[] s, int len, float[] f, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f[j] += x;
            fm[j] += Math.abs(x);
        }
    }

    private static void add2Abs(float[] s, int len, float[] f0, float[] f1, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += x;
            f1[j] += x;
            fm[j] += Math.abs(x);
        }
    }

    private static void addSq(float[] s, int len, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            fm[j] += x * x;
        }
    }

    private static void add1Sq(float[] s, int len, float[] f, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f[j] += x;
            fm[j] += x * x;
        }
    }

    private static void add2Sq(float[] s, int len, float[] f0, float[] f1, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += x;
            f1[j] += x;
            fm[j] += x * x;
        }
    }

    private static void flush(float[] f, double[] out, int at, int len) {
        for (int j = 0; j < len; j++) {
            out[at + j] += f[j];
            f[j] = 0f;
        }
    }

    private static void axpy1(float[] s, int len, float k0, float[] f0) {
        for (int j = 0; j < len; j++) {
            f0[j] += k0 * s[j];
        }
    }

    private static void axpy2(float[] s, int len, float k0, float k1, float[] f0, float[] f1) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += k0 * x;
            f1[j] += k1 * x;
        }
    }

    private static void axpy1Abs(float[] s, int len, float k0, float km, float[] f0, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += k0 * x;
            fm[j] += km * Math.abs(x);
        }
    }

    private static void axpy2Abs(float[] s, int len, float k0, float k1, float km, float[] f0, float[] f1,
                                 float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += k0 * x;
            f1[j] += k1 * x;
            fm[j] += km * Math.abs(x);
        }
    }

    private static void axpy1Sq(float[] s, int len, float k0, float km, float[] f0, float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += k0 * x;
            fm[j] += km * (x * x);
        }
    }

    private static void axpy2Sq(float[] s, int len, float k0, float k1, float km, float[] f0, float[] f1,
                                float[] fm) {
        for (int j = 0; j < len; j++) {
            float x = s[j];
            f0[j] += k0 * x;
            f1[j] += k1 * x;
            fm[j] += km * (x * x);
        }
    }

    /** Builds the evidence: the failing column, and the row of that column that deviates most from a recompute. */
    private static VerificationException failure(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                                 int m, int k, int n, int col, int round, double expected,
                                                 double got, double tau, byte[] seed) {
        int worst = 0;
        double worstDiff = -1;
        double worstRef = 0;
        for (int i = 0; i < m; i++) {
            double ref = 0;
            int ao = aOff + i * k;
            for (int p = 0; p < k; p++) {
                ref += (double) a[ao + p] * b[bOff + p * n + col];
            }
            double d = Math.abs(c[cOff + i * n + col] - ref);
            if (Double.isNaN(d)) {
                d = Double.POSITIVE_INFINITY;
            }
            if (d > worstDiff) {
                worstDiff = d;
                worst = i;
                worstRef = ref;
            }
        }
        float cval = c[cOff + worst * n + col];
        Evidence ev = new Evidence("freivalds",
                String.format(Locale.ROOT, "row %d, column %d (column %d failed in round %d)", worst, col, col, round),
                String.format(Locale.ROOT, "C[%d][%d] recomputed = %.9g; ((y^T A) B)_%d = %.9g (tolerance %.3e)",
                        worst, col, worstRef, col, expected, tau),
                String.format(Locale.ROOT, "C[%d][%d] = %s; (y^T C)_%d = %.9g", worst, col, cval, col, got),
                Hex.encode(seed));
        return new VerificationException(VerificationException.Reason.RESULT_MISMATCH,
                String.format(Locale.ROOT, "Freivalds check failed at column %d of %d (round %d): |(y^T A) B - y^T C| = "
                                + "%.6g exceeds the tolerance %.6g; row %d: C[%d][%d] = %s but recomputes to %.9g: the "
                                + "product is wrong; reject it and keep the evidence for a dispute",
                        col, n, round, Math.abs(expected - got), tau, worst, worst, col, cval, worstRef), ev);
    }

    private static void checkSize(float[] arr, int off, long need, String name, String shape) {
        InvalidArgumentException.requireNonNull(arr, name);
        if (off < 0 || need > Integer.MAX_VALUE || arr.length - (long) off < need) {
            throw new InvalidArgumentException(name + " (" + shape + ") needs " + need + " floats from offset " + off
                    + " but the array has " + arr.length + ": pass the matrix in row-major order with these dimensions");
        }
    }
}
