/**
 * Providers: devices, regions, signed offers, and {@link dev.depin.provider.ProviderNode},
 * which runs jobs on an executor.
 *
 * <pre>{@code
 * ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(4))
 *         .region(Region.parse("DE/fra-1")).build();
 * ProviderOffer offer = node.offer();          // signed, expires after its time to live
 * offer.verify(Instant.now());                 // throws InvalidOfferException if not usable
 * }</pre>
 */
package dev.depin.provider;
