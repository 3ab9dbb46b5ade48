/**
 * Capacity on GPU markets: obtain machines that run {@code depin node}, grow and shrink a fleet
 * by demand and budget.
 *
 * <p>A buyer accepts only results signed with an offer's key, so a machine leased on another
 * market (Akash, io.net) is useful only if it runs a depin node: the node generates its key on
 * the machine, lists its signed offer in the buyer's directory, and the buyer's usual
 * {@link dev.depin.client.DepinClient} reaches it and checks its work like any other node's.
 * A {@link dev.depin.capacity.spi.CapacityMarket} names that: quote, obtain, list, release.
 * {@link dev.depin.capacity.ElasticNetwork} grows the fleet when work waits and releases idle
 * machines, within a budget in USD; {@link dev.depin.capacity.LocalMarket} starts node processes
 * on this host.
 *
 * <pre>{@code
 * CapacityRequest one = new CapacityRequest(1, GpuSpec.NONE, null, Duration.ofHours(1),
 *         MicroUsd.ofUsd("1"), NodeTemplate.of(directory.address(), price));
 * try (LocalMarket market = LocalMarket.builder(depinLauncher).build();
 *      GrpcNetwork overDirectory = GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).build();
 *      ElasticNetwork net = ElasticNetwork.builder(overDirectory, market, one)
 *              .budget(MicroUsd.ofUsd("5")).maxMachines(3).build();
 *      DepinClient client = DepinClient.builder(net).build()) {
 *     JobResult r = client.submit(job).result(); // the fleet grows from 0 to serve it
 * }
 * }</pre>
 */
package dev.depin.capacity;
