/**
 * Capacity on io.net: {@link dev.depin.ionet.IonetCaas} is a client of the IO Cloud
 * "Containers as a Service" API (price, deploy, extend, update, delete); {@link
 * dev.depin.ionet.IonetMarket} is the {@link dev.depin.capacity.spi.CapacityMarket} that runs the
 * depin node image there, one prepaid container deployment per machine.
 *
 * <pre>{@code
 * IonetCaas caas = IonetCaas.connect(System.getenv("IONET_API_KEY"));
 * try (IonetMarket ionet = IonetMarket.builder(caas, FixedRateOracle.usdPegged())
 *         .hardware("h100", h100HardwareId).location("US", List.of(usLocationId)).build()) {
 *     CapacityQuote q = ionet.quote(request).join();
 * }
 * }</pre>
 */
package dev.depin.ionet;
