package dev.depin.kernel.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SGEMM blocks on the Vector API ({@code jdk.incubator.vector}, which the JVM must resolve:
 * {@code --add-modules jdk.incubator.vector}), at the widest vector the JVM prefers: 512-bit
 * with {@code UseAVX=3}, 256-bit with {@code UseAVX=2}, 128-bit on NEON.
 *
 * <p>The classic packed layout (Goto's GEMM): a KC×NC block of B is packed into strips of
 * {@code NR = 2·lanes} columns, an MC×KC block of A into strips of {@code MR} rows (6, or 8
 * with 512-bit vectors), and a micro-kernel keeps an MR×NR tile of C in 2·MR vector registers
 * while it walks the depth,
 * broadcasting one element of A and multiplying it into two vectors of B with a fused
 * multiply-add per register. Each element of C therefore receives exactly
 * {@code acc = fma(a[i][p], b[p][j], acc)} in increasing p: the tile is loaded from C at the
 * start of a depth block (zero at the first, {@code +0.0f}) and stored at its end, and the
 * padding of edge strips (zeros in A's rows and B's columns beyond the matrix) only feeds
 * accumulators that are thrown away.
 *
 * <p>Only {@code CpuReference} loads this class, and only when the module is present.
 */
public final class VectorSgemm implements SgemmBlocks {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** Columns of a micro-tile: two vectors. */
    private static final int NR = 2 * V;
    /**
     * Rows of a micro-tile: 6 × 2 accumulators + 2 of B + 1 broadcast fit AVX2's 16 registers;
     * with 512-bit vectors (AVX-512 has 32 registers) 8 rows measured faster than 6 and 12.
     */
    private static final int MR = V >= 16 ? 8 : 6;
    /** Depth of a packed block: one strip of B (KC × NR floats, 32 KiB at 512-bit) stays in L1. */
    private static final int KC = 256;
    /** Rows of a packed block of A (MC × KC floats = 96 or 128 KiB, in L2). */
    private static final int MC = 16 * MR;
    /** Columns of a packed block of B (KC × NC floats = 1 MiB, in L2/L3). */
    private static final int NC = 1024;

    private static final int SLOT_A = 0;
    private static final int SLOT_B = 1;
    private static final int SLOT_TILE = 2;
    /** A's block (MC × KC) copied from a buffer before it is packed. */
    private static final int SLOT_A_ROWS = 3;
    /** B's block (KC × NC) copied from a buffer before it is packed. */
    private static final int SLOT_B_ROWS = 4;

    @Override
    public String describe() {
        return "vector-api " + S.vectorBitSize() + "-bit";
    }

    @Override
    public void reserve(Workspace ws, int rows, int cols, int k, boolean aBuffer, boolean bBuffer) {
        int ncMax = Math.min(NC, cols);
        int mcMax = Math.min(MC, rows);
        int kc = Math.min(KC, k);
        ws.floats(SLOT_B, kc * roundUp(ncMax, NR));
        ws.floats(SLOT_A, kc * roundUp(mcMax, MR));
        ws.floats(SLOT_TILE, MR * NR);
        if (bBuffer) {
            ws.floats(SLOT_B_ROWS, kc * ncMax);
        }
        if (aBuffer) {
            ws.floats(SLOT_A_ROWS, mcMax * kc);
        }
    }

    @Override
    public void gemm(int i0, int i1, int j0, int j1, int k, int n, float[] a, FloatBuffer aIn, float[] b,
            FloatBuffer bIn, float[] c, ByteBuffer cOut, boolean accumulate, Workspace ws) {
        // C in a buffer: each tile is loaded from it into the task's tile array (little-endian
        // vector reads), computed there by the same micro-kernel, and stored back; the edge
        // tiles' rows move through this float view in bulk.
        FloatBuffer cf = c == null ? cOut.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer() : null;
        int ncMax = Math.min(NC, j1 - j0);
        int mcMax = Math.min(MC, i1 - i0);
        float[] bp = ws.floats(SLOT_B, Math.min(KC, k) * roundUp(ncMax, NR));
        float[] ap = ws.floats(SLOT_A, Math.min(KC, k) * roundUp(mcMax, MR));
        float[] tile = ws.floats(SLOT_TILE, MR * NR);
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean first = pc == 0 && !accumulate;
                if (b != null) {
                    packB(b, n, pc, kc, jc, nc, bp);
                } else {
                    // B's block, row by row in bulk from the buffer, then packed as from an array.
                    float[] rows = ws.floats(SLOT_B_ROWS, kc * nc);
                    SgemmBlocks.copyRows(bIn, n, pc, jc, kc, nc, rows, nc);
                    packB(rows, nc, 0, kc, 0, nc, bp);
                }
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    if (a != null) {
                        packA(a, k, ic, mc, pc, kc, ap);
                    } else {
                        float[] rows = ws.floats(SLOT_A_ROWS, mc * kc);
                        SgemmBlocks.copyRows(aIn, k, ic, pc, mc, kc, rows, kc);
                        packA(rows, kc, 0, mc, 0, kc, ap);
                    }
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        int bOff = (jr / NR) * kc * NR;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int aOff = (ir / MR) * kc * MR;
                            int cOff = (ic + ir) * n + jc + jr;
                            if (mr == MR && nr == NR) {
                                if (c != null) {
                                    kernel(kc, ap, aOff, bp, bOff, c, cOff, n, first);
                                } else {
                                    inBuffer(kc, ap, aOff, bp, bOff, cOut, cOff, n, first, tile);
                                }
                            } else {
                                edge(kc, ap, aOff, bp, bOff, c, cf, cOff, n, first, mr, nr, tile);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * A full tile of C in a buffer: loaded from it into the tile array (unless this is the first
     * depth block), computed there by the micro-kernel (which then only ever sees arrays, as C2
     * compiles it best), and stored back, each row as two little-endian vectors.
     */
    private static void inBuffer(int kc, float[] ap, int aOff, float[] bp, int bOff, ByteBuffer cb, int cOff, int n,
            boolean first, float[] tile) {
        if (!first) {
            for (int r = 0, o = cOff * Float.BYTES; r < MR; r++, o += n * Float.BYTES) {
                FloatVector.fromByteBuffer(S, cb, o, ByteOrder.LITTLE_ENDIAN).intoArray(tile, r * NR);
                FloatVector.fromByteBuffer(S, cb, o + V * Float.BYTES, ByteOrder.LITTLE_ENDIAN).intoArray(tile, r * NR + V);
            }
        }
        kernel(kc, ap, aOff, bp, bOff, tile, 0, NR, first);
        for (int r = 0, o = cOff * Float.BYTES; r < MR; r++, o += n * Float.BYTES) {
            FloatVector.fromArray(S, tile, r * NR).intoByteBuffer(cb, o, ByteOrder.LITTLE_ENDIAN);
            FloatVector.fromArray(S, tile, r * NR + V).intoByteBuffer(cb, o + V * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** A partial tile: through a full-size scratch tile, of which only mr × nr is kept (C in c, or else in cf). */
    private static void edge(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, FloatBuffer cf, int cOff,
            int n, boolean first, int mr, int nr, float[] tile) {
        java.util.Arrays.fill(tile, 0, MR * NR, 0f);
        if (!first) {
            for (int r = 0; r < mr; r++) {
                if (c != null) {
                    System.arraycopy(c, cOff + r * n, tile, r * NR, nr);
                } else {
                    cf.get(cOff + r * n, tile, r * NR, nr);
                }
            }
        }
        kernel(kc, ap, aOff, bp, bOff, tile, 0, NR, false);
        for (int r = 0; r < mr; r++) {
            if (c != null) {
                System.arraycopy(tile, r * NR, c, cOff + r * n, nr);
            } else {
                cf.put(cOff + r * n, tile, r * NR, nr);
            }
        }
    }

    /** B[pc:pc+kc, jc:jc+nc] as strips of NR columns, row after row, zero-padded to NR. */
    private static void packB(float[] b, int n, int pc, int kc, int jc, int nc, float[] bp) {
        int o = 0;
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int src = pc * n + jc + jr;
            for (int p = 0; p < kc; p++, src += n, o += NR) {
                System.arraycopy(b, src, bp, o, nr);
                if (nr < NR) {
                    java.util.Arrays.fill(bp, o + nr, o + NR, 0f);
                }
            }
        }
    }

    /** A[ic:ic+mc, pc:pc+kc] as strips of MR rows, depth after depth, zero-padded to MR. */
    private static void packA(float[] a, int k, int ic, int mc, int pc, int kc, float[] ap) {
        int o = 0;
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int row = (ic + ir) * k + pc;
            if (mr == MR) {
                for (int p = 0; p < kc; p++, o += MR) {
                    for (int r = 0, src = row + p; r < MR; r++, src += k) {
                        ap[o + r] = a[src];
                    }
                }
            } else {
                for (int p = 0; p < kc; p++, o += MR) {
                    for (int r = 0; r < MR; r++) {
                        ap[o + r] = r < mr ? a[row + r * k + p] : 0f;
                    }
                }
            }
        }
    }

    /** One MR × NR tile; C2 folds the test, since MR is a constant. */
    private static void kernel(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, int cOff, int ldc,
            boolean zero) {
        if (MR == 8) {
            kernel8(kc, ap, aOff, bp, bOff, c, cOff, ldc, zero);
        } else {
            kernel6(kc, ap, aOff, bp, bOff, c, cOff, ldc, zero);
        }
    }

    /** One 6 × NR tile of C (leading dimension ldc) over kc depths of the packed strips. */
    private static void kernel6(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, int cOff, int ldc,
            boolean zero) {
        FloatVector z = FloatVector.zero(S);
        int o0 = cOff + 0 * ldc;
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, o0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, o0 + V);
        int o1 = cOff + 1 * ldc;
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, o1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, o1 + V);
        int o2 = cOff + 2 * ldc;
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, o2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, o2 + V);
        int o3 = cOff + 3 * ldc;
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, o3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, o3 + V);
        int o4 = cOff + 4 * ldc;
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, o4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, o4 + V);
        int o5 = cOff + 5 * ldc;
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, o5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, o5 + V);
        int ai = aOff;
        int bi = bOff;
        for (int p = 0; p < kc; p++, ai += 6, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + V);
            FloatVector x0 = FloatVector.broadcast(S, ap[ai + 0]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = x2.fma(b0, c20);
            c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = x3.fma(b0, c30);
            c31 = x3.fma(b1, c31);
            FloatVector x4 = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = x4.fma(b0, c40);
            c41 = x4.fma(b1, c41);
            FloatVector x5 = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = x5.fma(b0, c50);
            c51 = x5.fma(b1, c51);
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + V);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + V);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + V);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + V);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + V);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + V);
    }

    /** One 8 × NR tile of C (leading dimension ldc) over kc depths of the packed strips. */
    private static void kernel8(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, int cOff, int ldc,
            boolean zero) {
        FloatVector z = FloatVector.zero(S);
        int o0 = cOff + 0 * ldc;
        FloatVector c00 = zero ? z : FloatVector.fromArray(S, c, o0);
        FloatVector c01 = zero ? z : FloatVector.fromArray(S, c, o0 + V);
        int o1 = cOff + 1 * ldc;
        FloatVector c10 = zero ? z : FloatVector.fromArray(S, c, o1);
        FloatVector c11 = zero ? z : FloatVector.fromArray(S, c, o1 + V);
        int o2 = cOff + 2 * ldc;
        FloatVector c20 = zero ? z : FloatVector.fromArray(S, c, o2);
        FloatVector c21 = zero ? z : FloatVector.fromArray(S, c, o2 + V);
        int o3 = cOff + 3 * ldc;
        FloatVector c30 = zero ? z : FloatVector.fromArray(S, c, o3);
        FloatVector c31 = zero ? z : FloatVector.fromArray(S, c, o3 + V);
        int o4 = cOff + 4 * ldc;
        FloatVector c40 = zero ? z : FloatVector.fromArray(S, c, o4);
        FloatVector c41 = zero ? z : FloatVector.fromArray(S, c, o4 + V);
        int o5 = cOff + 5 * ldc;
        FloatVector c50 = zero ? z : FloatVector.fromArray(S, c, o5);
        FloatVector c51 = zero ? z : FloatVector.fromArray(S, c, o5 + V);
        int o6 = cOff + 6 * ldc;
        FloatVector c60 = zero ? z : FloatVector.fromArray(S, c, o6);
        FloatVector c61 = zero ? z : FloatVector.fromArray(S, c, o6 + V);
        int o7 = cOff + 7 * ldc;
        FloatVector c70 = zero ? z : FloatVector.fromArray(S, c, o7);
        FloatVector c71 = zero ? z : FloatVector.fromArray(S, c, o7 + V);
        int ai = aOff;
        int bi = bOff;
        for (int p = 0; p < kc; p++, ai += 8, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + V);
            FloatVector x0 = FloatVector.broadcast(S, ap[ai + 0]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = x2.fma(b0, c20);
            c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = x3.fma(b0, c30);
            c31 = x3.fma(b1, c31);
            FloatVector x4 = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = x4.fma(b0, c40);
            c41 = x4.fma(b1, c41);
            FloatVector x5 = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = x5.fma(b0, c50);
            c51 = x5.fma(b1, c51);
            FloatVector x6 = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = x6.fma(b0, c60);
            c61 = x6.fma(b1, c61);
            FloatVector x7 = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = x7.fma(b0, c70);
            c71 = x7.fma(b1, c71);
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + V);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + V);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + V);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + V);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + V);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + V);
        c60.intoArray(c, o6);
        c61.intoArray(c, o6 + V);
        c70.intoArray(c, o7);
        c71.intoArray(c, o7 + V);
    }

    private static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }
}
