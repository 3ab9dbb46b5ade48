/**
 * The capacity SPI: a {@link dev.depin.capacity.spi.CapacityMarket} prices, obtains, lists and
 * releases machines that run {@code depin node}. Implementations: {@link dev.depin.capacity.LocalMarket}
 * here, {@code dev.depin.akash.AkashMarket} in depin-akash and {@code dev.depin.ionet.IonetMarket}
 * in depin-ionet.
 */
package dev.depin.capacity.spi;
