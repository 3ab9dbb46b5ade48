/**
 * What providers offer: devices, regions, prices and signed offers. The node that runs
 * jobs is {@link dev.depin.node.ProviderNode}.
 *
 * <pre>{@code
 * ProviderOffer offer = node.offer();          // signed, expires after its time to live
 * offer.verify(Instant.now());                 // throws InvalidOfferException if not usable
 * }</pre>
 */
package dev.depin.provider;
