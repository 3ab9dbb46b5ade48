/**
 * The SPI a network implements: offers in, attempts out, asynchronously.
 * {@link dev.depin.network.spi.ComputeNetwork#dispatch} carries an
 * {@link dev.depin.network.spi.ExecutionRequest} (spec, inputs, challenge nonce) and returns an
 * {@link dev.depin.network.spi.ExecutionResponse}, which the client checks before trusting.
 *
 * <pre>{@code
 * CompletableFuture<ExecutionResponse> r = network.dispatch(offer, request, progress -> {});
 * }</pre>
 */
package dev.depin.network.spi;
