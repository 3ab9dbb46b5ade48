/**
 * Executors: the {@link dev.depin.executor.CpuExecutor} reference and the
 * {@link dev.depin.executor.ExecutorRegistry}, which finds executors through ServiceLoader and
 * picks the best available one (a machine without a GPU driver gets the CPU executor and
 * one log line saying why).
 *
 * <pre>{@code
 * try (DeviceExecutor e = ExecutorRegistry.createBest(ExecutorOptions.defaults());
 *      ExecutionContext ctx = e.open(BuiltinKernel.SGEMM, params)) {
 *     ctx.input("a").put(a);
 *     ctx.input("b").put(b);
 *     ctx.run();
 *     ByteBuffer c = ctx.output("c");
 * }
 * }</pre>
 */
package dev.depin.executor;
