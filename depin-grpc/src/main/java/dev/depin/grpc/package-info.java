/**
 * Our own network over gRPC with mutual TLS 1.3: {@link dev.depin.grpc.ProviderServer} serves
 * a provider node, {@link dev.depin.grpc.DirectoryServer} holds signed offers with a time to
 * live, and {@link dev.depin.grpc.GrpcNetwork} is the {@link dev.depin.network.spi.ComputeNetwork}
 * a buyer uses. The wire contract is {@code depin.proto} (package {@code depin.v1}).
 *
 * <pre>{@code
 * DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
 * NodeKeyPair key = NodeKeyPair.generate();
 * ProviderServer node = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(2)).build(), key)
 *         .directory(dir.address()).start();
 * try (DepinClient client = DepinClient.builder(GrpcNetwork.connect(dir.address())).build()) {
 *     JobResult r = client.submit(job).result();
 * }
 * }</pre>
 */
package dev.depin.grpc;
