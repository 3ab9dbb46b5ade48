/**
 * Networks: the {@link dev.depin.network.spi.ComputeNetwork} SPI and its errors. The
 * in-process pool is {@link dev.depin.node.LocalNetwork}; remote networks implement the
 * same SPI.
 *
 * <pre>{@code
 * ComputeNetwork net = LocalNetwork.of(List.of(nodeA, nodeB));
 * List<ProviderOffer> offers = net.offers(new OfferQuery("sgemm", Requirements.ANY, 100)).join();
 * }</pre>
 */
package dev.depin.network;
