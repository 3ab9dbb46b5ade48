/**
 * Executors: the {@link dev.depin.executor.CpuExecutor} reference and the
 * {@link dev.depin.executor.ExecutorRegistry}, which finds executors through ServiceLoader and
 * picks the best available one.
 *
 * <pre>{@code
 * try (Executor e = ExecutorRegistry.createBest(4)) {
 *     ExecutionOutput out = e.execute(BuiltinKernel.SGEMM, params, inputs, new JobWorkspace());
 * }
 * }</pre>
 */
package dev.depin.executor;
