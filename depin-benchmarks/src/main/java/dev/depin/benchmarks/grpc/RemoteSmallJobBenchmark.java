package dev.depin.benchmarks.grpc;

import dev.depin.benchmarks.client.SmallJobs;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * What the network costs a small verified job: SAXPY on 1 Ki floats, every result verified,
 * through {@link GrpcNetwork} to providers on loopback over mutual TLS 1.3, beside the same
 * jobs through the in-process {@link LocalNetwork}, a bare gRPC round trip over the same TLS
 * (the providers' {@code Health} call) and the signature floor (two Ed25519 signs and two
 * verifies with plain BouncyCastle), all measured in one run, client and providers in one JVM.
 *
 * <ul>
 *   <li>one job in flight: latency percentiles (HdrHistogram); issue 10's goal is
 *       p50 &le; floor + 2 &times; bare round trip;</li>
 *   <li>256 jobs in flight on 4 providers with batched receipts: verified jobs per second
 *       (issue 10's goal: &ge; 10,000 on 2 cores).</li>
 * </ul>
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.RemoteSmallJobBenchmark [seconds-per-phase]}
 */
public final class RemoteSmallJobBenchmark {
    private static final int N = 1024;

    private RemoteSmallJobBenchmark() {
    }

    /**
     * Runs every phase and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf(Locale.ROOT, "remote small-job benchmark: SAXPY n=%d, signatureOnly, %d s per phase, "
                + "%d cores, %s%n", N, seconds, Runtime.getRuntime().availableProcessors(), Runtime.version());
        Histogram floor = SmallJobs.floor(seconds);
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %10s %10s%n", "", "p50 us", "p90 us", "p99 us", "count");
        SmallJobs.row(44, "floor (2 sign + 2 verify, BC)", floor);
        Histogram bare;
        Histogram remote;
        Histogram local;
        double remoteRate;
        double localRate;
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate(), NodeKeyPair.generate(), NodeKeyPair.generate(),
                NodeKeyPair.generate());
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            List<ProviderServer> servers = new ArrayList<>();
            for (NodeKeyPair k : keys) {
                ProviderServer s = ProviderServer.builder(node(k, 256), k).directory(dir.address()).start();
                s.renewNow();
                servers.add(s);
            }
            try (GrpcNetwork net = GrpcNetwork.connect(dir.address());
                 DepinClient client = DepinClient.builder(net).build()) {
                bare = bareRoundTrip(servers.get(0), keys.get(0), seconds);
                SplittableRandom rnd = new SplittableRandom(20261128L);
                // gRPC and TLS paths need a long JIT warm-up
                SmallJobs.oneInFlight(client, rnd, N, Math.max(10, seconds));
                remote = SmallJobs.oneInFlight(client, rnd, N, seconds);
                SmallJobs.throughput(client, rnd, N, 256, Math.max(5, seconds));
                remoteRate = SmallJobs.throughput(client, rnd, N, 256, seconds);
            } finally {
                servers.forEach(ProviderServer::close);
            }
        }
        try (LocalNetwork net = LocalNetwork.of(List.of(node(NodeKeyPair.generate(), 256),
                node(NodeKeyPair.generate(), 256), node(NodeKeyPair.generate(), 256),
                node(NodeKeyPair.generate(), 256)));
             DepinClient client = DepinClient.builder(net).build()) {
            SplittableRandom rnd = new SplittableRandom(20261128L);
            // gRPC and TLS paths need a long JIT warm-up
            SmallJobs.oneInFlight(client, rnd, N, Math.max(10, seconds));
            local = SmallJobs.oneInFlight(client, rnd, N, seconds);
            SmallJobs.throughput(client, rnd, N, 256, Math.max(5, seconds));
            localRate = SmallJobs.throughput(client, rnd, N, 256, seconds);
        }
        SmallJobs.row(44, "bare gRPC Health round trip, mTLS", bare);
        SmallJobs.row(44, "one in flight, LocalNetwork", local);
        SmallJobs.row(44, "one in flight, GrpcNetwork (mTLS)", remote);
        double goal = floor.getValueAtPercentile(50) + 2.0 * bare.getValueAtPercentile(50);
        System.out.printf(Locale.ROOT, "goal p50 <= floor + 2 x bare = %.1f us: %s (%.2f x the goal)%n", goal / 1e3,
                remote.getValueAtPercentile(50) <= goal ? "met" : "not met", remote.getValueAtPercentile(50) / goal);
        System.out.printf(Locale.ROOT, "%-44s %10.0f jobs/s%n", "256 in flight, 4 providers, LocalNetwork", localRate);
        System.out.printf(Locale.ROOT, "%-44s %10.0f jobs/s (goal >= 10000)%n",
                "256 in flight, 4 providers, GrpcNetwork", remoteRate);
    }

    private static ProviderNode node(NodeKeyPair key, int batch) {
        return ProviderNode.builder(key, new CpuExecutor(1))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001")))
                .concurrency(2, 4096).receiptBatching(batch).build();
    }

    private static Histogram bareRoundTrip(ProviderServer server, NodeKeyPair key, int seconds) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), key.publicKey())).build();
        try {
            ProviderGrpc.ProviderBlockingStub stub = ProviderGrpc.newBlockingStub(channel);
            Histogram h = new Histogram(3);
            for (int phase = 0; phase < 2; phase++) {
                h.reset();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(phase == 0 ? Math.max(10, seconds)
                        : seconds);
                while (System.nanoTime() < until) {
                    long t0 = System.nanoTime();
                    stub.health(HealthRequest.getDefaultInstance());
                    h.recordValue(System.nanoTime() - t0);
                }
            }
            return h;
        } finally {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }







}
