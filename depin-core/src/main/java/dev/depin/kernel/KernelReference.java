package dev.depin.kernel;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * What a kernel knows about its own results: how the CPU reference computes it, and how a
 * buyer can check a provider's result without trusting the provider. Every built-in
 * kernel has one ({@link Kernel#reference()}); user PTX kernels have none, so they are
 * checked by redundancy or accepted on signature alone.
 *
 * <p>Verification policies ask the kernel, never the other way round: Freivalds applies
 * where {@link #matrixProduct} names a product, a spot check recomputes chunks with
 * {@link #recompute}, redundancy compares replicas with {@link Recompute#comparison()}.
 * Adding a kernel is one implementation of this interface and one registration.
 *
 * <p>All buffers are little-endian, position 0, exactly the sizes
 * {@link Kernel#inputs}/{@link Kernel#outputs} declare; the caller validated them.
 */
public interface KernelReference {

    /**
     * Computes the kernel on the CPU reference.
     *
     * @param cpu     the reference kernels (threads owned by the caller)
     * @param params  launch parameters, already validated by the kernel's shapes
     * @param inputs  input buffers by name, read-only
     * @param outputs output buffers by name, writable, to be filled completely
     * @param scratch where the computation allocates its working arrays, so that the
     *                caller can account for (and wipe) every byte the job touched
     */
    void run(CpuReference cpu, LaunchParams params, Map<String, ByteBuffer> inputs, Map<String, ByteBuffer> outputs,
             Scratch scratch);

    /**
     * As {@link #run(CpuReference, LaunchParams, Map, Map, Scratch)}, bit for bit, telling
     * {@code progress} which bytes of each output are final as soon as they are, and lending it
     * the kernel's threads that run out of work before the others (the CPU SGEMM does both,
     * per block of rows). By default the kernel runs without telling: the caller then takes
     * each output as final when this returns.
     *
     * @param cpu      the reference kernels
     * @param params   launch parameters, validated
     * @param inputs   input buffers by name, read-only
     * @param outputs  output buffers by name, writable
     * @param scratch  where the computation allocates its working arrays
     * @param progress told of final output bytes; thread-safe
     */
    default void run(CpuReference cpu, LaunchParams params, Map<String, ByteBuffer> inputs,
                     Map<String, ByteBuffer> outputs, Scratch scratch, Progress progress) {
        run(cpu, params, inputs, outputs, scratch);
    }

    /**
     * What a running kernel tells its executor about its outputs: which bytes are final, so
     * that the executor can commit to (hash) them while the rest is computed. Thread-safe.
     */
    interface Progress {
        /**
         * Bytes {@code [from, to)} of output {@code output} hold their result and are not written
         * again by this run. Each byte is told at most once, on the thread that wrote it.
         *
         * @param output the output's name
         * @param from   first byte
         * @param to     end byte (exclusive)
         */
        void ready(String output, long from, long to);

        /**
         * Lends a kernel thread that has no work left while others still compute: do short
         * pieces of work, returning once {@code computing} is false (checked between pieces).
         * The kernel's own work never waits for it. By default returns at once.
         *
         * @param computing whether the kernel is still computing
         */
        default void idle(BooleanSupplier computing) {
        }
    }

    /**
     * The matrix product this kernel computes, for Freivalds' check.
     *
     * @param params launch parameters
     * @return the product's buffers and dimensions, or empty when the kernel is not a product
     */
    Optional<MatrixProduct> matrixProduct(LaunchParams params);

    /** @return whether {@link #matrixProduct} names a product for every valid parameter set */
    default boolean isMatrixProduct() {
        return false;
    }

    /**
     * How to recompute any output chunk on the CPU reference, and how closely an honest
     * executor's bytes agree with it: bit for bit for every built-in kernel, whose result is
     * defined bit for bit (docs/decisions.md, "Bit-reproducible kernels"); a kernel whose bits
     * may differ between devices gives a tolerance. Used by spot checks and to compare
     * redundant replicas.
     *
     * @param cpu    the reference kernels
     * @param params launch parameters
     * @param inputs the buyer's own input bytes
     * @return the recomputation and its comparison
     */
    Recompute recompute(CpuReference cpu, LaunchParams params, Map<String, ByteBuffer> inputs);

    /**
     * Which bytes of each input {@link #recompute}'s recomputer reads to recompute the bytes
     * {@code [offset, offset + length)} of {@code output}: what a verifier must fetch of an input
     * it does not hold (one held on the provider) to spot-check that range. The recomputer must
     * read nothing else, and must compute its tolerance only from what it reads there.
     *
     * @param params launch parameters, already validated
     * @param output the output's name
     * @param offset the first byte, a multiple of 4
     * @param length the bytes, a multiple of 4
     * @return per input read, its byte range {@code {from, to}}; inputs absent are not read;
     *         empty when the kernel cannot say (then every input is read whole)
     */
    default Optional<Map<String, long[]>> inputsRead(LaunchParams params, String output, long offset, int length) {
        return Optional.empty();
    }

    /**
     * Where a reference computation allocates working memory. The CPU SGEMM also allocates its
     * packed panels here ({@code scratch:sgemm-...}, {@link CpuReference#sgemm(int, int, int,
     * java.nio.FloatBuffer, java.nio.FloatBuffer, float[], Scratch)}); an implementation must be
     * thread-safe (a kernel may allocate from its worker threads).
     */
    @FunctionalInterface
    interface Scratch {
        /**
         * Allocates a zeroed float array that the owner tracks and wipes after the job.
         *
         * @param label what it holds, for the wipe attestation
         * @param count number of floats
         * @return the array
         */
        float[] floats(String label, int count);

        /**
         * Allocates {@code count} zeroed float arrays of {@code width} floats each, tracked and
         * wiped after the job like {@link #floats}: for a kernel whose inner loops need one array
         * per row. The default allocates each row with {@link #floats} (one record per row); an
         * owner may track the rows as one allocation (one record), as {@code HostArena} does.
         *
         * @param label what they hold, for the wipe attestation
         * @param count number of arrays
         * @param width floats per array
         * @return the arrays
         */
        default float[][] rows(String label, int count, int width) {
            float[][] r = new float[count][];
            for (int i = 0; i < count; i++) {
                r[i] = floats(label, width);
            }
            return r;
        }

        /** A scratch that allocates plain, untracked arrays (for buyers recomputing locally). */
        Scratch UNTRACKED = (label, count) -> new float[count];
    }
}
