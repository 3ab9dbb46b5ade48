/**
 * Running a provider: {@link dev.depin.node.ProviderNode} (an identity, an executor, a
 * bounded queue, signed offers, receipts and wipe attestations) and
 * {@link dev.depin.node.LocalNetwork}, an in-process pool of nodes that implements the
 * {@link dev.depin.network.spi.ComputeNetwork} SPI.
 *
 * <pre>{@code
 * ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), ExecutorRegistry.createBest(ExecutorOptions.defaults()))
 *         .region(Region.parse("DE/fra-1"))
 *         .price(new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")))
 *         .build();
 * try (LocalNetwork net = LocalNetwork.of(List.of(node))) {
 *     // hand net to a DepinClient
 * }
 * }</pre>
 */
package dev.depin.node;
