/**
 * Capacity on Akash: {@link dev.depin.akash.AkashSdl} writes the SDL of a depin node and computes
 * its manifest version exactly as Akash's own SDK does; {@link dev.depin.akash.AkashConsole} is a
 * client of the Akash Console API (deployments, bids, leases, deposits; a managed wallet paid in
 * USD); {@link dev.depin.akash.AkashMarket} is the {@link dev.depin.capacity.spi.CapacityMarket}
 * over them.
 *
 * <pre>{@code
 * AkashConsole console = AkashConsole.connect(System.getenv("AKASH_API_KEY"));
 * try (AkashMarket akash = AkashMarket.builder(console, aktUsdOracle)
 *         .sdl(sdl -> sdl.cpuMillis(16_000).memoryMiB(64 * 1024)
 *                 .maxPricePerBlock("uakt", new BigDecimal("20000"))).build()) {
 *     List<Machine> machines = akash.obtain(request).join();
 * }
 * }</pre>
 */
package dev.depin.akash;
