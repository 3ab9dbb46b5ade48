package dev.depin.crypto.verify;

import dev.depin.crypto.Assurance;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.Hex;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.internal.Parallel;
import dev.depin.crypto.internal.SeededRandom;

import java.nio.FloatBuffer;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Freivalds' randomized check that {@code C = A·B} for row-major float32 matrices
 * ({@code A} m×k, {@code B} k×n, {@code C} m×n), in O(r·(mk + kn + mn)) instead of the
 * O(mkn) of recomputing the product.
 *
 * <h2>Method</h2>
 * The verifier draws r random vectors with entries uniform in {0, 1} (the classic
 * choice), expanded deterministically from a secret seed (SHA-256 in counter mode, see
 * {@code SeededRandom}), and batches them as one n×r matrix X. It computes
 * {@code BX} (k×r), {@code A(BX)} (m×r) and {@code CX} (m×r) in double precision — one
 * pass over each of A, B and C for every two rounds — and requires for every row i and
 * round t: {@code |A(BX)_it - (CX)_it| <= τ_i}.
 *
 * <h2>Tolerance</h2>
 * A correct C is computed in float32, so it differs from the exact product. Write u for
 * the unit roundoff of the arithmetic that produced C (2<sup>-24</sup> for IEEE float32,
 * any summation order, with or without FMA), u<sub>d</sub> = 2<sup>-53</sup>, and
 * γ(n, u) = nu/(1 - nu).
 * <ul>
 *   <li>{@link Model#RIGOROUS} (default): by the standard dot-product bound, every element
 *   of a correct C satisfies |C<sub>ij</sub> - (AB)<sub>ij</sub>| &le; γ(k, u)·(|A||B|)<sub>ij</sub>
 *   (+ k·2<sup>-149</sup> for float32 underflow), so |(Cx)<sub>i</sub> - (ABx)<sub>i</sub>| &le;
 *   γ(k, u)·(|A| s<sub>B</sub>)<sub>i</sub> with s<sub>B</sub> the row sums of |B| (x-independent, since 0 &le; x &le; 1).
 *   The double-precision evaluation adds at most (γ(n, u<sub>d</sub>) + γ(k, u<sub>d</sub>)(1+γ(n, u<sub>d</sub>)))·(|A|s<sub>B</sub>)<sub>i</sub>
 *   + γ(n, u<sub>d</sub>)·(s<sub>C</sub>)<sub>i</sub>, s<sub>C</sub> the row sums of |C|. τ<sub>i</sub> is the sum of these
 *   terms, inflated by (1 + γ(k+n+4, u<sub>d</sub>)) for the rounding of the bound itself.
 *   <b>Guarantee:</b> a correct float32 product, whatever its summation order, always passes
 *   (barring overflow, which is rejected up front). This worst-case bound is loose: it grows
 *   like k·n·u times the magnitudes, far above typical rounding.</li>
 *   <li>{@link Model#PROBABILISTIC}(λ): under the model of Higham &amp; Mary (2019) —
 *   rounding errors independent, mean zero — |C<sub>ij</sub> - (AB)<sub>ij</sub>| &le;
 *   γ̃<sub>k</sub>(λ)·‖A<sub>i</sub>‖<sub>2</sub>‖B<sub>:j</sub>‖<sub>2</sub> with
 *   γ̃<sub>k</sub>(λ) = exp(λ√k·u + ku²/(1-u)) - 1, except with probability
 *   2k·exp(-λ²(1-u)²/2) per element; summing the independent errors of a row (Hoeffding)
 *   gives τ<sub>i</sub> = λ·γ̃<sub>k</sub>(λ)·‖A<sub>i</sub>‖<sub>2</sub>‖B‖<sub>F</sub>
 *   (+ the double-evaluation terms), exceeded with probability 2·exp(-λ²/2) per row and
 *   round. Typically 10–100× tighter than RIGOROUS; the probability that a correct result is
 *   rejected is reported as {@code honestRejectBound}.</li>
 * </ul>
 * Set the unit roundoff to 2<sup>-11</sup> for TF32 tensor-core products (see
 * {@link Options#withUnitRoundoff(double)}).
 *
 * <h2>Error bound</h2>
 * τ<sub>i</sub> does not depend on x. If some element C<sub>ij</sub> is off by more than
 * 2τ<sub>i</sub>, then for any values of the other entries of x the two choices of x<sub>j</sub>
 * give values of A(Bx)<sub>i</sub> - (Cx)<sub>i</sub> that differ by more than 2τ<sub>i</sub>,
 * so at least one is rejected: each round catches it with probability &ge; 1/2, and r
 * independent rounds let it pass with probability &le; 2<sup>-r</sup> (the reported
 * {@code falseAcceptBound}). Errors smaller than 2τ<sub>i</sub> may pass: the report states
 * τ, never more.
 *
 * <pre>{@code
 * byte[] seed = Freivalds.newSeed(new SecureRandom());     // draw after the provider committed
 * VerificationReport r = Freivalds.verify(a, b, c, m, k, n, 2, seed);   // throws RESULT_MISMATCH
 * }</pre>
 */
public final class Freivalds {
    /** Domain string of the vector stream. */
    public static final String DOMAIN = "depin/freivalds/v1";
    /** Unit roundoff of IEEE float32, 2<sup>-24</sup>. */
    public static final double FLOAT32_UNIT_ROUNDOFF = 0x1p-24;
    /** Unit roundoff of TF32 (10-bit mantissa), 2<sup>-11</sup>. */
    public static final double TF32_UNIT_ROUNDOFF = 0x1p-11;
    private static final double UD = 0x1p-53;
    private static final int GRAIN_ELEMENTS = 1 << 18;

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
        /** Validates. */
        public Options {
            if (rounds < 1 || rounds > 64) {
                throw new IllegalArgumentException("rounds must be in 1..64, got " + rounds);
            }
            Objects.requireNonNull(model, "model");
            if (!(unitRoundoff > 0 && unitRoundoff <= 0.01)) {
                throw new IllegalArgumentException("unitRoundoff must be in (0, 0.01], got " + unitRoundoff);
            }
            if (model == Model.PROBABILISTIC && !(lambda >= 1 && lambda <= 100)) {
                throw new IllegalArgumentException("lambda must be in [1, 100], got " + lambda);
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
        Objects.requireNonNull(random, "random").nextBytes(s);
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
     * Checks {@code C = A·B} on float buffers (their elements from the current position).
     * Heap buffers are read in place; other buffers are copied into arrays first.
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
        float[][] arr = new float[3][];
        int[] off = new int[3];
        FloatBuffer[] in = {a, b, c};
        for (int i = 0; i < 3; i++) {
            FloatBuffer f = Objects.requireNonNull(in[i], "buffer");
            if (f.hasArray()) {
                arr[i] = f.array();
                off[i] = f.arrayOffset() + f.position();
            } else {
                arr[i] = new float[f.remaining()];
                f.duplicate().get(arr[i]);
            }
        }
        return verify(arr[0], off[0], arr[1], off[1], arr[2], off[2], m, k, n, options, seed);
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
     */
    public static VerificationReport verify(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                            int m, int k, int n, Options options, byte[] seed) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(seed, "seed");
        if (seed.length < 16) {
            throw new IllegalArgumentException("seed must have >= 16 bytes, got " + seed.length
                    + ": use Freivalds.newSeed(new SecureRandom())");
        }
        if (m < 1 || k < 1 || n < 1) {
            throw new IllegalArgumentException("dimensions must be >= 1, got m=" + m + " k=" + k + " n=" + n);
        }
        checkSize(a, aOff, (long) m * k, "A", m + "x" + k);
        checkSize(b, bOff, (long) k * n, "B", k + "x" + n);
        checkSize(c, cOff, (long) m * n, "C", m + "x" + n);
        int r = options.rounds();
        boolean rigorous = options.model() == Model.RIGOROUS;

        // Random {0,1} vectors, x[t][j].
        SeededRandom rnd = new SeededRandom(DOMAIN, seed);
        double[][] x = new double[r][n];
        for (int t = 0; t < r; t++) {
            for (int j = 0; j < n; j += 8) {
                int bits = rnd.nextByte();
                for (int q = 0; q < 8 && j + q < n; q++) {
                    x[t][j + q] = (bits >>> q) & 1;
                }
            }
        }

        double[][] bx = new double[r][k];
        double[][] abx = new double[r][m];
        double[][] cx = new double[r][m];
        double[] bMag = new double[k];   // rigorous: row sums of |B|; probabilistic: row sums of B^2
        double[] aMag = new double[m];   // rigorous: (|A| sB)_i; probabilistic: ||A_i||^2
        double[] cAbs = new double[m];   // row sums of |C|

        for (int t0 = 0; t0 < r; t0 += 2) {
            final int g = t0;
            final boolean first = t0 == 0;
            final boolean pair = t0 + 1 < r;
            final double[] x0 = x[g];
            final double[] x1 = pair ? x[g + 1] : x[g];
            Parallel.forRange(k, grainRows(n), (from, to) -> {
                for (int p = from; p < to; p++) {
                    rowDot(b, bOff + (long) p * n, n, x0, x1, bx[g], pair ? bx[g + 1] : null, p,
                            first ? bMag : null, rigorous);
                }
            });
            final double[] y0 = bx[g];
            final double[] y1 = pair ? bx[g + 1] : bx[g];
            Parallel.forRange(m, grainRows(k), (from, to) -> {
                for (int i = from; i < to; i++) {
                    rowDotA(a, aOff + (long) i * k, k, y0, y1, abx[g], pair ? abx[g + 1] : null, i,
                            first ? aMag : null, rigorous ? bMag : null);
                }
            });
            Parallel.forRange(m, grainRows(n), (from, to) -> {
                for (int i = from; i < to; i++) {
                    rowDot(c, cOff + (long) i * n, n, x0, x1, cx[g], pair ? cx[g + 1] : null, i,
                            first ? cAbs : null, true);
                }
            });
        }

        // Tolerances.
        double u = options.unitRoundoff();
        double gdn = gamma(n, UD);
        double gdk = gamma(k, UD);
        double inflate = 1 + gamma((long) k + n + 4, UD);
        double underflow = (double) n * k * 0x1p-149;
        double evalCoef = gdn + gdk * (1 + gdn) + 2 * UD;
        double cCoef = gdn * (1 + gdn) + 2 * UD;
        double coef;
        double bFrob = 0;
        double honestReject = 0;
        if (rigorous) {
            coef = gamma(k, u);
            if (!Double.isFinite(coef) || k * u >= 0.5) {
                throw new IllegalArgumentException("k=" + k + " is too large for unit roundoff " + u
                        + " (k*u >= 0.5): the rigorous bound is meaningless; use smaller blocks");
            }
        } else {
            double lambda = options.lambda();
            double gt = Math.expm1(lambda * Math.sqrt(k) * u + k * u * u / (1 - u));
            coef = lambda * gt;
            for (double s : bMag) {
                bFrob += s;
            }
            bFrob = Math.sqrt(bFrob);
            double e = Math.exp(-lambda * lambda * (1 - u) * (1 - u) / 2);
            honestReject = Math.min(1, (double) m * n * 2 * k * e + (double) m * r * 2 * Math.exp(-lambda * lambda / 2));
        }
        double tauMax = 0;
        double tauMin = Double.POSITIVE_INFINITY;
        double[] tau = new double[m];
        for (int i = 0; i < m; i++) {
            double mag;   // bound on (|A||B|x)_i
            double main;
            if (rigorous) {
                mag = aMag[i];
                main = coef * mag;
            } else {
                double an = Math.sqrt(aMag[i]);
                mag = an * Math.sqrt(n) * bFrob;  // Cauchy-Schwarz bound on (|A||B|1)_i
                main = coef * an * bFrob;
            }
            if (!Double.isFinite(mag)) {
                throw new IllegalArgumentException("row " + i + " of A, or B, contains NaN or infinity (or overflows "
                        + "double): the product is undefined; check the inputs before verifying");
            }
            if (mag * (1 + gamma(k, u)) > Float.MAX_VALUE) {
                throw new IllegalArgumentException("row " + i + " reaches float32 overflow (|A||B| row sum " + mag
                        + "): a float32 result is not meaningful there; scale the inputs");
            }
            double t = inflate * (main + evalCoef * mag + cCoef * (Double.isFinite(cAbs[i]) ? cAbs[i] : 0) + underflow);
            tau[i] = t;
            tauMax = Math.max(tauMax, t);
            tauMin = Math.min(tauMin, t);
        }

        for (int t = 0; t < r; t++) {
            for (int i = 0; i < m; i++) {
                double diff = Math.abs(abx[t][i] - cx[t][i]);
                if (!(diff <= tau[i])) {
                    throw failure(a, aOff, b, bOff, c, cOff, m, k, n, i, t, abx[t][i], cx[t][i], tau[i], seed);
                }
            }
        }

        double bound = Math.scalb(1.0, -r);
        String model = rigorous ? "RIGOROUS" : "PROBABILISTIC(lambda=" + options.lambda() + ")";
        String detail = String.format(Locale.ROOT, "C (%dx%d) = A (%dx%d) x B (%dx%d): %d round(s) of {0,1} vectors "
                        + "from seed %s; |A(Bx)_i - (Cx)_i| <= tau_i for every row; tolerance model %s, unit roundoff %s; "
                        + "tau_i in [%.3e, %.3e]; an element error > 2*tau_i passes with probability <= %s",
                m, n, m, k, k, n, r, Hex.encode(seed), model, u == FLOAT32_UNIT_ROUNDOFF ? "2^-24" : Double.toString(u),
                tauMin, tauMax, bound);
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

    private static int grainRows(int rowLength) {
        return Math.max(1, GRAIN_ELEMENTS / Math.max(1, rowLength));
    }

    /**
     * Dot products of one row of M with x0 (and x1), plus the row's magnitude term
     * (sum of |M| if {@code absSum}, else sum of M^2) into mag[row] when mag is given.
     */
    private static void rowDot(float[] mtx, long offset, int len, double[] x0, double[] x1, double[] out0,
                               double[] out1, int row, double[] mag, boolean absSum) {
        int off = (int) offset;
        double s0 = 0;
        double s1 = 0;
        double t0 = 0;
        double t1 = 0;
        if (mag == null) {
            int j = 0;
            for (; j + 2 <= len; j += 2) {
                double v0 = mtx[off + j];
                double v1 = mtx[off + j + 1];
                s0 += v0 * x0[j];
                s1 += v0 * x1[j];
                t0 += v1 * x0[j + 1];
                t1 += v1 * x1[j + 1];
            }
            for (; j < len; j++) {
                double v = mtx[off + j];
                s0 += v * x0[j];
                s1 += v * x1[j];
            }
        } else {
            double m0 = 0;
            double m1 = 0;
            int j = 0;
            for (; j + 2 <= len; j += 2) {
                double v0 = mtx[off + j];
                double v1 = mtx[off + j + 1];
                s0 += v0 * x0[j];
                s1 += v0 * x1[j];
                t0 += v1 * x0[j + 1];
                t1 += v1 * x1[j + 1];
                if (absSum) {
                    m0 += Math.abs(v0);
                    m1 += Math.abs(v1);
                } else {
                    m0 += v0 * v0;
                    m1 += v1 * v1;
                }
            }
            for (; j < len; j++) {
                double v = mtx[off + j];
                s0 += v * x0[j];
                s1 += v * x1[j];
                m0 += absSum ? Math.abs(v) : v * v;
            }
            mag[row] = m0 + m1;
        }
        out0[row] = s0 + t0;
        if (out1 != null) {
            out1[row] = s1 + t1;
        }
    }

    /**
     * Row i of A times y0 (and y1); magnitude: (|A_i| . sB) if sB given, else ||A_i||^2.
     */
    private static void rowDotA(float[] a, long offset, int len, double[] y0, double[] y1, double[] out0,
                                double[] out1, int row, double[] mag, double[] sB) {
        int off = (int) offset;
        double s0 = 0;
        double s1 = 0;
        double t0 = 0;
        double t1 = 0;
        double m0 = 0;
        double m1 = 0;
        int j = 0;
        if (mag == null) {
            for (; j + 2 <= len; j += 2) {
                double v0 = a[off + j];
                double v1 = a[off + j + 1];
                s0 += v0 * y0[j];
                s1 += v0 * y1[j];
                t0 += v1 * y0[j + 1];
                t1 += v1 * y1[j + 1];
            }
        } else if (sB != null) {
            for (; j + 2 <= len; j += 2) {
                double v0 = a[off + j];
                double v1 = a[off + j + 1];
                s0 += v0 * y0[j];
                s1 += v0 * y1[j];
                t0 += v1 * y0[j + 1];
                t1 += v1 * y1[j + 1];
                m0 += Math.abs(v0) * sB[j];
                m1 += Math.abs(v1) * sB[j + 1];
            }
        } else {
            for (; j + 2 <= len; j += 2) {
                double v0 = a[off + j];
                double v1 = a[off + j + 1];
                s0 += v0 * y0[j];
                s1 += v0 * y1[j];
                t0 += v1 * y0[j + 1];
                t1 += v1 * y1[j + 1];
                m0 += v0 * v0;
                m1 += v1 * v1;
            }
        }
        for (; j < len; j++) {
            double v = a[off + j];
            s0 += v * y0[j];
            s1 += v * y1[j];
            if (mag != null) {
                m0 += sB != null ? Math.abs(v) * sB[j] : v * v;
            }
        }
        out0[row] = s0 + t0;
        if (out1 != null) {
            out1[row] = s1 + t1;
        }
        if (mag != null) {
            mag[row] = m0 + m1;
        }
    }

    /** Builds the evidence: the failing row, and the column of row i that deviates most from a recompute. */
    private static VerificationException failure(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                                 int m, int k, int n, int row, int round, double expected,
                                                 double got, double tau, byte[] seed) {
        double[] ref = new double[n];
        for (int p = 0; p < k; p++) {
            double av = a[aOff + row * k + p];
            if (av == 0) {
                continue;
            }
            int bo = bOff + p * n;
            for (int j = 0; j < n; j++) {
                ref[j] += av * b[bo + j];
            }
        }
        int worst = 0;
        double worstDiff = -1;
        for (int j = 0; j < n; j++) {
            double d = Math.abs(c[cOff + row * n + j] - ref[j]);
            if (Double.isNaN(d) || d > worstDiff) {
                worstDiff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                worst = j;
                if (Double.isNaN(d)) {
                    break;
                }
            }
        }
        float cval = c[cOff + row * n + worst];
        Evidence ev = new Evidence("freivalds",
                String.format(Locale.ROOT, "row %d (round %d); largest deviation at column %d", row, round, worst),
                String.format(Locale.ROOT, "A(Bx)_%d = %.9g (tolerance %.3e); C[%d][%d] recomputed = %.9g",
                        row, expected, tau, row, worst, ref[worst]),
                String.format(Locale.ROOT, "(Cx)_%d = %.9g; C[%d][%d] = %s", row, got, row, worst, cval),
                Hex.encode(seed));
        return new VerificationException(VerificationException.Reason.RESULT_MISMATCH,
                String.format(Locale.ROOT, "Freivalds check failed at row %d of %d (round %d): |A(Bx) - Cx| = %.6g "
                                + "exceeds the tolerance %.6g; C[%d][%d] = %s but recomputes to %.9g: the product "
                                + "is wrong; reject it and keep the evidence for a dispute",
                        row, m, round, Math.abs(expected - got), tau, row, worst, cval, ref[worst]), ev);
    }

    private static void checkSize(float[] arr, int off, long need, String name, String shape) {
        Objects.requireNonNull(arr, name);
        if (off < 0 || need > Integer.MAX_VALUE || arr.length - (long) off < need) {
            throw new IllegalArgumentException(name + " (" + shape + ") needs " + need + " floats from offset " + off
                    + " but the array has " + arr.length + ": pass the matrix in row-major order with these dimensions");
        }
    }
}
