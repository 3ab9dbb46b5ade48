/**
 * Networks: {@link dev.depin.network.LocalNetwork} runs providers in process; the same
 * {@link dev.depin.network.spi.ComputeNetwork} SPI fronts remote networks.
 *
 * <pre>{@code
 * LocalNetwork net = LocalNetwork.of(List.of(nodeA, nodeB));
 * List<ProviderOffer> offers = net.offers().join();
 * }</pre>
 */
package dev.depin.network;
