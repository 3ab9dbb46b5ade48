/**
 * The buyer's side: {@link dev.depin.client.DepinClient} matches, dispatches, checks and
 * retries jobs on any {@link dev.depin.network.spi.ComputeNetwork}.
 *
 * <pre>{@code
 * try (DepinClient client = DepinClient.builder(network).build()) {
 *     JobResult r = client.submit(job).result();
 * }
 * }</pre>
 */
package dev.depin.client;
