/**
 * The capacity SPI: a {@link dev.depin.capacity.spi.CapacityMarket} prices, obtains, lists and
 * releases machines that run {@code depin node}. Implementations: {@link dev.depin.capacity.LocalMarket}
 * here, {@code dev.depin.akash.AkashMarket} in depin-akash and {@code dev.depin.ionet.IonetMarket}
 * in depin-ionet. The two remote ones share {@link dev.depin.capacity.spi.LeaseBook} (what is kept
 * of each lease, listing, release, undoing a failed obtain) and {@link dev.depin.capacity.spi.MarketHttp}
 * (the REST call); each writes only how its market leases, reports and ends one machine.
 */
package dev.depin.capacity.spi;
