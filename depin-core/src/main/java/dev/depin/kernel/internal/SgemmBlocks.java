package dev.depin.kernel.internal;

/**
 * One implementation of the SGEMM block computation behind {@code CpuReference.sgemm}: rows
 * {@code [i0, i1)} × columns {@code [j0, j1)} of {@code C = A·B} (row-major, A m×k, B k×n, C m×n),
 * each element exactly {@code acc = +0.0f; for p in 0..k-1: acc = fma(a[i][p], b[p][j], acc)}.
 *
 * <p>Implementations differ only in speed, never in bits: the accumulator of an element carries
 * over from one depth block to the next through C itself (a stored float is the accumulator's
 * exact value), so blocking, packing, vector width and threads cannot change a result.
 */
public interface SgemmBlocks {

    /** @return what computes the blocks, for logs and benchmark tables (e.g. "vector-api 512-bit") */
    String describe();

    /**
     * Copies {@code rows} rows of {@code cols} floats from a row-major matrix in a buffer (row
     * stride {@code ld}, from row {@code row0}, column {@code col0}; absolute indices) into
     * {@code dst} at row stride {@code dstLd}: how a block of an operand read in place reaches a
     * task's working array, one bulk copy per row.
     */
    static void copyRows(java.nio.FloatBuffer src, int ld, int row0, int col0, int rows, int cols, float[] dst,
                         int dstLd) {
        for (int r = 0; r < rows; r++) {
            src.get((row0 + r) * ld + col0, dst, r * dstLd, cols);
        }
    }

    /**
     * Computes one block of C; the caller validated every argument.
     *
     * <p>A and B are each read from an array or, when the array is {@code null}, in place from
     * a buffer (element {@code e} at absolute index {@code e}, position ignored and unchanged;
     * the caller's own buffer, not shared with another thread): a block of a buffer is copied
     * in bulk into this task's working arrays, then packed as from an array, so the bits do not
     * depend on where the operands live.
     *
     * <p>C is likewise an array or, when the array is {@code null}, a buffer of little-endian
     * float32 bytes (element {@code e} at absolute byte {@code 4e}, whatever the view's byte
     * order; the task's own view, not shared with another thread): an executor's output buffer, written in place, with the same values at
     * the same points of the computation as the array would hold.
     *
     * @param a          A (m×k), or null to read {@code aIn}
     * @param aIn        A when {@code a} is null
     * @param b          B (k×n), or null to read {@code bIn}
     * @param bIn        B when {@code b} is null
     * @param c          C (m×n), or null to write {@code cOut}
     * @param cOut       C when {@code c} is null
     * @param accumulate whether each element's accumulator starts from the value C holds (a
     *                   chain continued over a further block of depths, for B read in depth
     *                   panels) instead of {@code +0.0f}
     * @param scratch    working arrays owned by the calling task (never shared between threads)
     */
    void gemm(int i0, int i1, int j0, int j1, int k, int n, float[] a, java.nio.FloatBuffer aIn, float[] b,
              java.nio.FloatBuffer bIn, float[] c, java.nio.ByteBuffer cOut, boolean accumulate, Workspace scratch);

    /**
     * Allocates in {@code ws}, in the order {@link #gemm} would, every array a task of at most
     * {@code rows} × {@code cols} of C over depth {@code k} uses, so that the task allocates
     * nothing more (a tracked call's arrays are then made on the calling thread, in a fixed order).
     *
     * @param ws      the workspace
     * @param rows    rows of C of the call's largest task
     * @param cols    columns of C of the call's largest task
     * @param k       the depth
     * @param aBuffer whether A is read from a buffer (its blocks copied into working arrays)
     * @param bBuffer whether B is read from a buffer
     */
    void reserve(Workspace ws, int rows, int cols, int k, boolean aBuffer, boolean bBuffer);

    /**
     * Growable working arrays of one task at a time, reused from task to task. An untracked
     * workspace (the instance's shared pool: buyers' recomputations) allocates with {@code new}
     * and lives as long as the pool; a tracked one belongs to one call and allocates every array
     * through that call's {@link dev.depin.kernel.KernelReference.Scratch}, so that the job's
     * owner records and wipes each array that held the job's blocks.
     */
    final class Workspace {
        private final dev.depin.kernel.KernelReference.Scratch scratch;
        private final String label;
        private final float[][] slots = new float[6][0];
        private final float[][][] rowSlots = new float[2][0][0];

        /** An untracked workspace, for the shared pool. */
        public Workspace() {
            this(null, null);
        }

        /**
         * A workspace whose arrays are allocated through {@code scratch}, labelled
         * {@code label + "-" + slot} and {@code label + "-rows" + slot}.
         *
         * @param scratch where the arrays are allocated (tracked and wiped by its owner), or null
         * @param label   the prefix of their labels, e.g. {@code "scratch:sgemm-w0"}
         */
        public Workspace(dev.depin.kernel.KernelReference.Scratch scratch, String label) {
            this.scratch = scratch;
            this.label = label;
        }

        /**
         * Returns slot {@code slot}'s array, at least {@code size} floats, grown (never shrunk)
         * when a larger problem arrives; its contents are whatever the last user left.
         */
        public float[] floats(int slot, int size) {
            float[] f = slots[slot];
            if (f.length < size) {
                f = scratch == null ? new float[size] : scratch.floats(label + "-" + slot, size);
                slots[slot] = f;
            }
            return f;
        }

        /**
         * Returns slot {@code slot}'s rows: at least {@code count} arrays of at least
         * {@code width} floats each, grown (never shrunk) when a larger problem arrives.
         */
        public float[][] rows(int slot, int count, int width) {
            float[][] r = rowSlots[slot];
            if (r.length < count || r[0].length < width) {
                int w = Math.max(width, r.length == 0 ? 0 : r[0].length);
                int c = Math.max(count, r.length);
                r = scratch == null ? new float[c][w] : scratch.rows(label + "-rows" + slot, c, w);
                rowSlots[slot] = r;
            }
            return r;
        }

        /** Lets the arrays go. */
        public void clear() {
            java.util.Arrays.fill(slots, new float[0]);
            java.util.Arrays.fill(rowSlots, new float[0][0]);
        }
    }
}
