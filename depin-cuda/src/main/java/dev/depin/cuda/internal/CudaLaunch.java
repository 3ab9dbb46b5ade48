package dev.depin.cuda.internal;

import dev.depin.kernel.LaunchParams;

/**
 * How the CUDA executor launches one kernel: a {@link CudaKernel} constant for a built-in,
 * {@link PtxLaunch} for user PTX. {@link CudaJob} calls {@link #check} before it allocates
 * anything and {@link #prepare} once the job's buffers exist.
 */
interface CudaLaunch {
    /**
     * Checks the parameters against what the device allows (grid limits, a PTX signature).
     *
     * @param p launch parameters the kernel already accepted
     * @throws dev.depin.kernel.ShapeMismatchException if the device cannot run them
     */
    default void check(LaunchParams p) {
    }

    /**
     * Captures what the launch needs (scratch buffers, a loaded module).
     *
     * @param job the job, with its inputs and outputs allocated
     * @param p   its launch parameters
     * @return the launch, run by {@link CudaJob#run()} and closed with the job
     */
    CudaJob.Launch prepare(CudaJob job, LaunchParams p);
}
