package dev.depin.cuda.internal;

import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.kernel.UnsupportedKernelException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * How the CUDA executor launches each built-in kernel it runs: one constant per kernel, with
 * the module entries it needs and its launch on a job's stream. This enum is the whole list:
 * the executor offers exactly these kernels ({@link #ids()}), loads exactly these entries
 * (with the trust kernels, {@link #moduleEntries()}), and {@link #of} refuses any other
 * built-in with {@link UnsupportedKernelException}. Adding a kernel to the CUDA executor is
 * its {@code .cu} code and one constant here.
 */
public enum CudaKernel implements CudaLaunch {
    /** {@code depin_sgemm}: 128 x 128 tiles of C, one thread block each. */
    SGEMM(BuiltinKernel.SGEMM, "depin_sgemm") {
        @Override
        public void check(LaunchParams p) {
            long m = p.requireLong("m");
            if ((m + 127) / 128 > MAX_GRID_Y) {
                throw new ShapeMismatchException("sgemm with m = " + m + " needs more than " + MAX_GRID_Y
                        + " row tiles: split A into row blocks of at most " + (long) MAX_GRID_Y * 128 + " rows");
            }
        }

        @Override
        public CudaJob.Launch prepare(CudaJob job, LaunchParams p) {
            int m = (int) p.requireLong("m");
            int k = (int) p.requireLong("k");
            int n = (int) p.requireLong("n");
            return () -> job.launch("depin_sgemm", (n + 127) / 128, (m + 127) / 128, 256,
                    job.deviceInput("a"), job.deviceInput("b"), job.deviceOutput("c"), m, k, n);
        }
    },

    /** {@code depin_saxpy}: a grid-stride loop over float4s. */
    SAXPY(BuiltinKernel.SAXPY, "depin_saxpy") {
        @Override
        public CudaJob.Launch prepare(CudaJob job, LaunchParams p) {
            long n = p.requireLong("n");
            float alpha = p.requireFloat("alpha");
            return () -> job.launch("depin_saxpy", (int) Math.max(1, Math.min(65535, (n / 4 + 256) / 256)), 1, 256,
                    job.deviceInput("x"), job.deviceInput("y"), job.deviceOutput("out"), alpha, n);
        }
    },

    /**
     * {@code depin_reduce_partials}: one float64 partial per 4096-element block on the device,
     * added in block order on the host, exactly as {@code CpuReference.reduceSum}.
     */
    REDUCE_SUM(BuiltinKernel.REDUCE_SUM, "depin_reduce_partials") {
        @Override
        public CudaJob.Launch prepare(CudaJob job, LaunchParams p) {
            long n = p.requireLong("n");
            long blocks = (n + 4095) / 4096;
            CudaJob.Scratch partials = job.scratch("scratch:partials", blocks * Double.BYTES);
            return () -> {
                job.launch("depin_reduce_partials", (int) ((blocks * 8 + 255) / 256), 1, 256, job.deviceInput("x"), n,
                        partials.device());
                job.kernelDone();
                java.nio.ByteBuffer host = partials.toHost();
                double total = 0;
                for (long b = 0; b < blocks; b++) {
                    total += host.getDouble((int) (b * Double.BYTES));
                }
                float sum = (float) total;
                // The one NaN the device writes for float32 results, whatever x86 made of the payload.
                int bits = sum != sum ? CANONICAL_NAN_BITS : Float.floatToRawIntBits(sum);
                job.writeOutput("sum", java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .putInt(0, bits));
            };
        }
    };

    /** NVIDIA's canonical float32 NaN, {@code 0x7fffffff}: what the device's float32 arithmetic writes for any NaN. */
    static final int CANONICAL_NAN_BITS = 0x7fffffff;

    /** Largest grid dimension y. */
    static final int MAX_GRID_Y = 65535;

    /** Entries of the trust kernels every job uses: wipe fill and read-back, Merkle roots. */
    static final List<String> TRUST_ENTRIES = List.of("depin_fill", "depin_verify", "depin_merkle_leaves",
            "depin_merkle_nodes");

    private final BuiltinKernel kernel;
    private final List<String> entries;

    CudaKernel(BuiltinKernel kernel, String... entries) {
        this.kernel = kernel;
        this.entries = List.of(entries);
    }

    /** @return the built-in kernel this constant launches */
    public BuiltinKernel kernel() {
        return kernel;
    }

    /** @return the module entries its launch uses */
    public List<String> entries() {
        return entries;
    }

    /**
     * How the CUDA executor launches a kernel.
     *
     * @param kernel a kernel
     * @return its launch: a constant of this enum, or {@link PtxLaunch} for user PTX
     * @throws UnsupportedKernelException if the CUDA executor has no launch for it
     */
    static CudaLaunch of(Kernel kernel) {
        if (kernel instanceof PtxKernel ptx) {
            return new PtxLaunch.Factory(ptx);
        }
        for (CudaKernel k : values()) {
            if (k.kernel == kernel) {
                return k;
            }
        }
        throw new UnsupportedKernelException("the CUDA executor does not run " + kernel.id() + ": it runs "
                + ids() + " and user PTX; pick a provider whose offer lists " + kernel.offerId());
    }

    /**
     * The built-in kernels the CUDA executor runs: what it offers.
     *
     * @return their ids, sorted, unmodifiable
     */
    public static SortedSet<String> ids() {
        SortedSet<String> ids = new TreeSet<>();
        for (CudaKernel k : values()) {
            ids.add(k.kernel.id());
        }
        return Collections.unmodifiableSortedSet(ids);
    }

    /**
     * Every entry the executor looks up in the built-in module: each launch's and the trust
     * kernels'.
     *
     * @return the entry names
     */
    public static List<String> moduleEntries() {
        List<String> all = new ArrayList<>();
        for (CudaKernel k : values()) {
            all.addAll(k.entries);
        }
        all.addAll(TRUST_ENTRIES);
        return List.copyOf(all);
    }
}
