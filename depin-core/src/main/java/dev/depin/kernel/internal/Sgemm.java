package dev.depin.kernel.internal;

import dev.depin.crypto.verify.ChunkRecomputer;
import dev.depin.crypto.verify.Comparison;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.Buffers;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.MatrixProduct;
import dev.depin.kernel.Recompute;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

/** {@code C = A·B}, row-major float32. */
public final class Sgemm extends BuiltinDefinition {
    private static final SortedSet<String> PARAMS =
            Collections.unmodifiableSortedSet(new TreeSet<>(List.of("k", "m", "n")));

    @Override
    public String contract() {
        return "C[m,n] = A[m,k] * B[k,n], row-major; params m,k,n>=1; inputs a float32[m*k], b float32[k*n]; "
                + "output c float32[m*n]";
    }

    @Override
    public Set<String> floatParams() {
        return Set.of();
    }

    @Override
    public SortedSet<String> paramNames() {
        return PARAMS;
    }

    @Override
    public List<BufferDecl> inputs(LaunchParams p) {
        return List.of(floats("a", product(p, "m", "k")), floats("b", product(p, "k", "n")));
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        product(p, "m", "k");
        product(p, "k", "n");
        return List.of(floats("c", product(p, "m", "n")));
    }

    @Override
    public long flops(LaunchParams p) {
        return saturatingMul(2 * product(p, "m", "n"), dim(p, "k"));
    }

    @Override
    public boolean isMatrixProduct() {
        return true;
    }

    @Override
    public Optional<MatrixProduct> matrixProduct(LaunchParams p) {
        outputs(p);
        return Optional.of(new MatrixProduct("a", "b", "c", (int) dim(p, "m"), (int) dim(p, "k"), (int) dim(p, "n")));
    }

    @Override
    public void run(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
                    Scratch scratch) {
        int m = (int) dim(p, "m");
        int k = (int) dim(p, "k");
        int n = (int) dim(p, "n");
        // A and B are read where they lie and C is computed in its output buffer (no float
        // copies to make, copy out and wipe). The kernel's packed blocks of A and B and its
        // tiles of C are allocated through the scratch, so they are recorded and wiped with the job.
        cpu.sgemm(m, k, n, Buffers.floatView(inputs.get("a")), Buffers.floatView(inputs.get("b")), outputs.get("c"),
                scratch);
    }

    /**
     * As {@link #run(CpuReference, LaunchParams, Map, Map, Scratch)}, telling {@code progress}
     * each block of C's rows (bytes {@code [4·i0·n, 4·i1·n)}) once it is final.
     */
    @Override
    public void run(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
                    Scratch scratch, Progress progress) {
        int m = (int) dim(p, "m");
        int k = (int) dim(p, "k");
        int n = (int) dim(p, "n");
        long rowBytes = (long) n * Float.BYTES;
        cpu.sgemm(m, k, n, Buffers.floatView(inputs.get("a")), Buffers.floatView(inputs.get("b")), outputs.get("c"),
                scratch, new CpuReference.RowBlocks() {
                    @Override
                    public void rowsDone(int i0, int i1) {
                        progress.ready("c", i0 * rowBytes, i1 * rowBytes);
                    }

                    @Override
                    public void idle(BooleanSupplier computing) {
                        progress.idle(computing);
                    }
                });
    }

    /** Rows of C need the same rows of A and B (of a chunk within one row, only its columns of B). */
    @Override
    public Optional<Map<String, long[]>> inputsRead(LaunchParams p, String output, long offset, int length) {
        long k = dim(p, "k");
        long n = dim(p, "n");
        long r0 = offset / Float.BYTES / n;
        long r1 = ((offset + length) / Float.BYTES - 1) / n;
        return Optional.of(Map.of("a", new long[] {r0 * k * Float.BYTES, (r1 + 1) * k * Float.BYTES},
                "b", new long[] {0, k * n * Float.BYTES}));
    }

    /**
     * Compared bit for bit: every executor computes the definition on
     * {@link CpuReference#sgemm(int, int, int, float[], float[], float[])} (docs/decisions.md,
     * "Bit-reproducible kernels"), so no tolerance is derived and A and B are not scanned for one.
     * The recomputer reads A's rows and B in place (no copy of either), and computes the rows of
     * all the chunks it is told about in one pass over B ({@link SampledRows}).
     */
    @Override
    public Recompute recompute(CpuReference cpu, LaunchParams p, Map<String, ByteBuffer> inputs) {
        return new Recompute(new SampledRows(cpu, Buffers.floatView(inputs.get("a")), Buffers.floatView(inputs.get("b")),
                (int) dim(p, "m"), (int) dim(p, "k"), (int) dim(p, "n")), Comparison.bitwise());
    }

    /**
     * Recomputes chunks of C from A's rows and B read in place. A chunk of at least one row's
     * floats is computed as whole rows, together with the rows of the chunks told by
     * {@link #prepare} that follow it (up to {@link #BATCH_FLOATS} of A's and C's rows), in one
     * {@code sgemm} that reads B once; a chunk shorter than a row is computed as its one or two
     * row segments, each reading only its columns of B. Thread-safe (one call at a time).
     */
    static final class SampledRows implements ChunkRecomputer {
        /** Floats of A's and C's rows one batch holds at most (32 MiB), unless one chunk needs more. */
        static final int BATCH_FLOATS = 1 << 23;
        private final CpuReference cpu;
        private final FloatBuffer a;
        private final FloatBuffer b;
        private final int m;
        private final int k;
        private final int n;
        private int[] told = new int[0];
        private int toldChunkBytes;
        private long toldTotal;
        /** The rows of the last batch, ascending, and their values ({@code rows.length × n}). */
        private int[] rows = new int[0];
        private float[] values = new float[0];

        SampledRows(CpuReference cpu, FloatBuffer a, FloatBuffer b, int m, int k, int n) {
            this.cpu = cpu;
            this.a = a;
            this.b = b;
            this.m = m;
            this.k = k;
            this.n = n;
        }

        @Override
        public synchronized void prepare(int[] chunkIndices, int chunkBytes, long totalBytes) {
            told = chunkIndices;
            toldChunkBytes = chunkBytes;
            toldTotal = totalBytes;
        }

        @Override
        public synchronized ByteBuffer recompute(int chunkIndex, long byteOffset, int byteLength) {
            long first = byteOffset / Float.BYTES;
            int count = byteLength / Float.BYTES;
            long last = first + count - 1;
            if (byteOffset % Float.BYTES != 0 || byteLength % Float.BYTES != 0 || count < 1
                    || last >= (long) m * n) {
                throw new IllegalArgumentException("bytes [" + byteOffset + ", " + (byteOffset + byteLength)
                        + ") are not whole floats of the " + m + "x" + n + " product");
            }
            int r0 = (int) (first / n);
            int r1 = (int) (last / n);
            float[] out = new float[count];
            if (count < n) {
                // Less than a row: one or two row segments, each only its columns of B.
                for (int r = r0, at = 0; r <= r1; r++) {
                    int j0 = r == r0 ? (int) (first % n) : 0;
                    int j1 = r == r1 ? (int) (last % n) + 1 : n;
                    float[] row = new float[k];
                    a.get(r * k, row);
                    float[] seg = new float[j1 - j0];
                    cpu.sgemm(1, k, n, row, b, j0, j1, seg);
                    System.arraycopy(seg, 0, out, at, seg.length);
                    at += seg.length;
                }
            } else {
                for (int r = r0; r <= r1; r++) {
                    if (Arrays.binarySearch(rows, r) < 0) {
                        batch(chunkIndex, byteOffset, byteLength);
                        break;
                    }
                }
                for (long e = first; e <= last; ) {
                    int r = (int) (e / n);
                    int j = (int) (e % n);
                    int len = (int) Math.min(n - j, last - e + 1);
                    System.arraycopy(values, Arrays.binarySearch(rows, r) * n + j, out, (int) (e - first), len);
                    e += len;
                }
            }
            return Buffers.littleEndian(out);
        }

        /** Computes the rows of this chunk and of the told chunks after it, up to the batch's size. */
        private void batch(int chunkIndex, long byteOffset, int byteLength) {
            TreeSet<Integer> need = new TreeSet<>();
            addRows(need, byteOffset, byteLength);
            int from = Arrays.binarySearch(told, chunkIndex);
            if (from >= 0 && (long) chunkIndex * toldChunkBytes == byteOffset) {
                int most = Math.max(need.size(), BATCH_FLOATS / (k + n));
                for (int t = from + 1; t < told.length; t++) {
                    long off = (long) told[t] * toldChunkBytes;
                    int len = (int) Math.min(toldChunkBytes, toldTotal - off);
                    if (len / Float.BYTES < n || off + len > (long) m * n * Float.BYTES) {
                        continue; // computed alone when asked
                    }
                    TreeSet<Integer> more = new TreeSet<>(need);
                    addRows(more, off, len);
                    if (more.size() > most) {
                        break;
                    }
                    need = more;
                }
            }
            int[] batch = need.stream().mapToInt(Integer::intValue).toArray();
            float[] aRows = new float[batch.length * k];
            for (int s = 0; s < batch.length; ) {
                int e = s + 1;
                while (e < batch.length && batch[e] == batch[e - 1] + 1) {
                    e++;
                }
                a.get(batch[s] * k, aRows, s * k, (e - s) * k);
                s = e;
            }
            float[] c = new float[batch.length * n];
            cpu.sgemm(batch.length, k, n, aRows, b, 0, n, c);
            rows = batch;
            values = c;
        }

        private void addRows(TreeSet<Integer> into, long byteOffset, int byteLength) {
            long first = byteOffset / Float.BYTES;
            long last = first + byteLength / Float.BYTES - 1;
            for (long r = first / n; r <= last / n; r++) {
                into.add((int) r);
            }
        }
    }
}
