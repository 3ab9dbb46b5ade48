/**
 * The executor SPI: implement {@link dev.depin.executor.spi.DeviceExecutor} (which opens one
 * {@link dev.depin.executor.spi.ExecutionContext} per job) and register an
 * {@link dev.depin.executor.spi.ExecutorProvider} in
 * {@code META-INF/services/dev.depin.executor.spi.ExecutorProvider}. Run
 * {@code ExecutorContractTest} from depin-core's test jar against your executor.
 *
 * <pre>{@code
 * for (ExecutorProvider p : ExecutorRegistry.providers()) {
 *     System.out.println(p.name() + ": " + p.availability());
 * }
 * try (DeviceExecutor best = ExecutorRegistry.createBest(ExecutorOptions.defaults())) {
 *     System.out.println(best.kind() + " on " + best.device().model());
 * }
 * }</pre>
 */
package dev.depin.executor.spi;
