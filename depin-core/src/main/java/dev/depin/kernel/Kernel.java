package dev.depin.kernel;

import java.util.List;
import java.util.Optional;

/**
 * A computation a job asks for: one of the {@link BuiltinKernel built-in kernels} with
 * documented semantics that every executor implements identically, or a
 * {@link PtxKernel user-supplied PTX kernel} that only CUDA executors run.
 *
 * <p>Every kernel has a stable {@link #id()} and a {@link #codeHash()} (SHA-256 hex of
 * its code or, for a built-in, of its semantic definition), which a job spec records
 * and an execution receipt repeats, so a provider cannot silently run something else.
 *
 * <p>All buffers hold IEEE 754 binary32 values in little-endian byte order unless a
 * kernel documents otherwise.
 */
public sealed interface Kernel permits BuiltinKernel, PtxKernel {

    /** @return the kernel's id, e.g. {@code "sgemm"} or {@code "ptx:my_kernel"} */
    String id();

    /** @return SHA-256 hex of the kernel's code or semantic definition */
    String codeHash();

    /**
     * The name under which a provider's offer lists this kernel: a built-in's {@link #id()};
     * {@link PtxKernel#OFFER_ID} for every user PTX kernel (a provider that runs PTX runs
     * any). Matching a job to offers and an executor to the kernels it offers both use this,
     * and nothing else.
     *
     * @return the offer's kernel name
     */
    String offerId();

    /**
     * The input buffers this kernel reads for the given parameters, with their exact
     * sizes.
     *
     * @param params the job's launch parameters
     * @return the input buffers, in the kernel's order
     * @throws ShapeMismatchException if the parameters are missing, out of range or
     *                                overflow
     */
    List<BufferDecl> inputs(LaunchParams params);

    /**
     * The output buffers this kernel writes for the given parameters.
     *
     * @param params the job's launch parameters
     * @return the output buffers, in the kernel's order
     * @throws ShapeMismatchException as {@link #inputs(LaunchParams)}
     */
    List<BufferDecl> outputs(LaunchParams params);

    /**
     * Floating-point operations the kernel performs for these parameters, used to
     * estimate device time and therefore price.
     *
     * @param params the job's launch parameters
     * @return the operation count; 0 when unknown
     */
    long flops(LaunchParams params);

    /**
     * Whether the launch parameter {@code name} is a float scalar (such as SAXPY's
     * {@code alpha}), so that a builder given an integer for it stores the float.
     *
     * @param name a parameter name
     * @return true for a float parameter of this kernel
     */
    boolean isFloatParam(String name);

    /**
     * Every launch parameter this kernel may read. A {@link dev.depin.job.JobSpec} naming any
     * other is refused: a parameter nothing reads would still be signed, hashed and priced,
     * and would let two specs that run the same computation differ.
     *
     * @return the parameter names, sorted, unmodifiable
     */
    java.util.SortedSet<String> paramNames();

    /**
     * What this kernel knows about checking its results: its CPU reference and the
     * recipes verification policies use. Built-in kernels have one; user PTX has none.
     *
     * @return the reference, or empty
     */
    Optional<KernelReference> reference();
}
