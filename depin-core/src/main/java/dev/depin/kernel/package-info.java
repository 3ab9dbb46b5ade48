/**
 * The kernel catalog: {@link dev.depin.kernel.BuiltinKernel}s with documented semantics
 * (SAXPY, SGEMM, reduce-sum) and {@link dev.depin.kernel.PtxKernel} for user PTX, with shape
 * checks through {@link dev.depin.kernel.Kernel#inputs} and {@link dev.depin.kernel.Kernel#outputs}.
 * Each built-in kernel owns its knowledge in one place: shapes, its CPU reference
 * ({@link dev.depin.kernel.CpuReference}) and how its results are checked
 * ({@link dev.depin.kernel.KernelReference}).
 *
 * <pre>{@code
 * LaunchParams p = LaunchParams.builder().put("m", 64).put("k", 32).put("n", 16).build();
 * List<BufferDecl> in = BuiltinKernel.SGEMM.inputs(p);   // a: 8192 bytes, b: 2048 bytes
 * boolean product = BuiltinKernel.SGEMM.reference().orElseThrow().isMatrixProduct(); // Freivalds applies
 * }</pre>
 */
package dev.depin.kernel;
