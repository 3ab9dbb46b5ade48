/**
 * The executor SPI: implement {@link dev.depin.executor.spi.Executor} and register an
 * {@link dev.depin.executor.spi.ExecutorProvider} in
 * {@code META-INF/services/dev.depin.executor.spi.ExecutorProvider}.
 *
 * <pre>{@code
 * for (ExecutorProvider p : ExecutorRegistry.providers()) {
 *     System.out.println(p.name() + ": " + p.availability());
 * }
 * }</pre>
 */
package dev.depin.executor.spi;
