/**
 * The SPI a network implements: offers in by query, attempts out, asynchronously.
 * {@link dev.depin.network.spi.ComputeNetwork#dispatch} carries an
 * {@link dev.depin.network.spi.ExecutionRequest} (spec, inputs, challenge nonce) and returns a
 * {@link dev.depin.network.spi.Dispatch} whose response's outputs were assembled by an
 * {@link dev.depin.network.spi.OutputAssembler} (bounded, hashed on arrival); the client
 * checks everything before trusting it. Run {@code NetworkContractTest} from depin-core's
 * test jar against your network.
 *
 * <pre>{@code
 * Dispatch d = network.dispatch(offer, request, progress -> {});
 * d.response().thenAccept(r -> r.outputs().forEach((name, out) -> System.out.println(name + " " + out)));
 * d.cancel("no longer needed");   // reaches the provider; d.released() completes when it lets go
 * }</pre>
 */
package dev.depin.network.spi;
