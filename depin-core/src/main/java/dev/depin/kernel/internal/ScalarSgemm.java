package dev.depin.kernel.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * SGEMM blocks in plain Java, for JVMs without the Vector API module: micro-kernels in the one
 * shape HotSpot C2's superword pass reliably vectorizes, every array in the inner loop indexed
 * by the plain loop variable {@code j} (no per-array offset), which is why B is packed into one
 * array per row of the panel and a block of C is copied into per-row scratch arrays while it is
 * updated. Each update is a {@link Math#fma}, in increasing depth, so the bits are exactly those
 * of {@link SgemmBlocks}'s definition (and of {@link VectorSgemm}). C stays in memory between
 * depths (C2 cannot keep a tile in registers), so this runs at about 0.7× OpenBLAS's AVX2 kernel
 * and 0.4× its AVX-512 kernel per core (docs/benchmarks.md).
 */
public final class ScalarSgemm implements SgemmBlocks {
    /** Rows of C updated by one micro-kernel call. */
    private static final int MR = 4;
    /** Depth (rows of B) of one packed panel: KC x NC floats = 256 KiB, sized for L2. */
    private static final int KC = 256;
    /** Width (columns of B and C) of one packed panel and of the C scratch rows (L1-resident). */
    private static final int NC = 256;

    @Override
    public String describe() {
        return "scalar (C2 auto-vectorized Math.fma)";
    }

    @Override
    public void reserve(Workspace ws, int rows, int cols, int k, boolean aBuffer, boolean bBuffer) {
        ws.rows(0, Math.min(KC, k), Math.min(NC, cols));
        ws.rows(1, MR, Math.min(NC, cols));
        if (aBuffer) {
            ws.floats(0, MR * Math.min(KC, k));
        }
    }

    @Override
    public void gemm(int i0, int i1, int j0, int j1, int k, int n, float[] a, FloatBuffer aIn, float[] b,
            FloatBuffer bIn, float[] c, ByteBuffer cOut, boolean accumulate, Workspace ws) {
        {
            // C in a buffer: its rows reach and leave the per-row scratch arrays in bulk.
            FloatBuffer cf = c == null ? cOut.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer() : null;
            float[][] bp = ws.rows(0, Math.min(KC, k), Math.min(NC, j1 - j0));
            float[][] cr = ws.rows(1, MR, Math.min(NC, j1 - j0));
            for (int jc = j0; jc < j1; jc += NC) {
                int nc = Math.min(NC, j1 - jc);
                for (int pc = 0; pc < k; pc += KC) {
                    int kc = Math.min(KC, k - pc);
                    // Pack B[pc:pc+kc, jc:jc+nc], one array per row (see class notes).
                    for (int p = 0; p < kc; p++) {
                        if (b != null) {
                            System.arraycopy(b, (pc + p) * n + jc, bp[p], 0, nc);
                        } else {
                            bIn.get((pc + p) * n + jc, bp[p], 0, nc);
                        }
                    }
                    for (int i = i0; i < i1; i += MR) {
                        int mr = Math.min(MR, i1 - i);
                        for (int r = 0; r < mr; r++) {
                            if (pc == 0 && !accumulate) {
                                Arrays.fill(cr[r], 0, nc, 0f);
                            } else if (c != null) {
                                System.arraycopy(c, (i + r) * n + jc, cr[r], 0, nc);
                            } else {
                                cf.get((i + r) * n + jc, cr[r], 0, nc);
                            }
                        }
                        float[] as = a;
                        int lda = k;
                        int aRow = i * k + pc;
                        if (a == null) {
                            // These rows of A's block, copied from the buffer (rows of kc floats).
                            as = ws.floats(0, MR * kc);
                            lda = kc;
                            aRow = 0;
                            SgemmBlocks.copyRows(aIn, k, i, pc, mr, kc, as, kc);
                        }
                        switch (mr) {
                            case 4:
                                panel4(as, aRow, aRow + lda, aRow + 2 * lda, aRow + 3 * lda, kc, bp, cr, nc);
                                break;
                            case 3:
                                // Row 3 is computed twice; the copy in cr[3] is discarded.
                                panel4(as, aRow, aRow + lda, aRow + 2 * lda, aRow + 2 * lda, kc, bp, cr, nc);
                                break;
                            case 2:
                                panel2(as, aRow, aRow + lda, kc, bp, cr[0], cr[1], nc);
                                break;
                            default:
                                panel1(as, aRow, kc, bp, cr[0], nc);
                                break;
                        }
                        for (int r = 0; r < mr; r++) {
                            if (c != null) {
                                System.arraycopy(cr[r], 0, c, (i + r) * n + jc, nc);
                            } else {
                                cf.put((i + r) * n + jc, cr[r], 0, nc);
                            }
                        }
                    }
                }
            }
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
     * Micro-kernels. Each keeps the k order of the updates per element: fma with a_p*b_p first,
     * then with a_{p+1}*b_{p+1}. Keep the bodies this small: a larger body (e.g. 4 rows x 4
     * depths) is not unrolled far enough by C2 to be vectorized and runs 4-5x slower. (With
     * UseAVX=3 C2 did not vectorize the unfused c + a*x + a*y form at all; it does vectorize
     * Math.fma, on 256 and 512 bits alike.)
     */

    private static void kernel4x2(float[] c0, float[] c1, float[] c2, float[] c3, float[] b0, float[] b1,
            float a00, float a01, float a10, float a11, float a20, float a21, float a30, float a31, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            float y = b1[j];
            c0[j] = Math.fma(a01, y, Math.fma(a00, x, c0[j]));
            c1[j] = Math.fma(a11, y, Math.fma(a10, x, c1[j]));
            c2[j] = Math.fma(a21, y, Math.fma(a20, x, c2[j]));
            c3[j] = Math.fma(a31, y, Math.fma(a30, x, c3[j]));
        }
    }

    private static void kernel4x1(float[] c0, float[] c1, float[] c2, float[] c3, float[] b0,
            float a0, float a1, float a2, float a3, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            c0[j] = Math.fma(a0, x, c0[j]);
            c1[j] = Math.fma(a1, x, c1[j]);
            c2[j] = Math.fma(a2, x, c2[j]);
            c3[j] = Math.fma(a3, x, c3[j]);
        }
    }

    private static void kernel2x2(float[] c0, float[] c1, float[] b0, float[] b1,
            float a00, float a01, float a10, float a11, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            float y = b1[j];
            c0[j] = Math.fma(a01, y, Math.fma(a00, x, c0[j]));
            c1[j] = Math.fma(a11, y, Math.fma(a10, x, c1[j]));
        }
    }

    private static void kernel2x1(float[] c0, float[] c1, float[] b0, float a0, float a1, int nc) {
        for (int j = 0; j < nc; j++) {
            float x = b0[j];
            c0[j] = Math.fma(a0, x, c0[j]);
            c1[j] = Math.fma(a1, x, c1[j]);
        }
    }

    private static void kernel1x2(float[] c0, float[] b0, float[] b1, float a0, float a1, int nc) {
        for (int j = 0; j < nc; j++) {
            c0[j] = Math.fma(a1, b1[j], Math.fma(a0, b0[j], c0[j]));
        }
    }

    private static void kernel1x1(float[] c0, float[] b0, float a0, int nc) {
        for (int j = 0; j < nc; j++) {
            c0[j] = Math.fma(a0, b0[j], c0[j]);
        }
    }

}
