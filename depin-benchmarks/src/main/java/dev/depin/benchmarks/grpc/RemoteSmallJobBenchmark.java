package dev.depin.benchmarks.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.HdrHistogram.Histogram;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
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
        Histogram floor = floor(seconds);
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %10s %10s%n", "", "p50 us", "p90 us", "p99 us", "count");
        row("floor (2 sign + 2 verify, BC)", floor);
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
                oneInFlight(client, rnd, Math.max(10, seconds)); // gRPC and TLS paths need a long JIT warm-up
                remote = oneInFlight(client, rnd, seconds);
                throughput(client, rnd, 256, Math.max(5, seconds));
                remoteRate = throughput(client, rnd, 256, seconds);
            } finally {
                servers.forEach(ProviderServer::close);
            }
        }
        try (LocalNetwork net = LocalNetwork.of(List.of(node(NodeKeyPair.generate(), 256),
                node(NodeKeyPair.generate(), 256), node(NodeKeyPair.generate(), 256),
                node(NodeKeyPair.generate(), 256)));
             DepinClient client = DepinClient.builder(net).build()) {
            SplittableRandom rnd = new SplittableRandom(20261128L);
            oneInFlight(client, rnd, Math.max(10, seconds)); // gRPC and TLS paths need a long JIT warm-up
            local = oneInFlight(client, rnd, seconds);
            throughput(client, rnd, 256, Math.max(5, seconds));
            localRate = throughput(client, rnd, 256, seconds);
        }
        row("bare gRPC Health round trip, mTLS", bare);
        row("one in flight, LocalNetwork", local);
        row("one in flight, GrpcNetwork (mTLS)", remote);
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
            Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
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

    private static Job job(SplittableRandom rnd) {
        float[] x = new float[N];
        float[] y = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", N).param("alpha", 2).input("x", x).input("y", y)
                .maxPrice(MicroUsd.ofUsd("0.01")).timeout(Duration.ofMinutes(1)).build();
    }

    private static Histogram oneInFlight(DepinClient client, SplittableRandom rnd, int seconds) {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < until) {
            Job job = job(rnd);
            long t0 = System.nanoTime();
            client.submit(job).result();
            h.recordValue(System.nanoTime() - t0);
        }
        return h;
    }

    private static double throughput(DepinClient client, SplittableRandom rnd, int window, int seconds)
            throws InterruptedException {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            jobs.add(job(rnd));
        }
        Semaphore slots = new Semaphore(window);
        List<CompletableFuture<?>> all = new ArrayList<>();
        long t0 = System.nanoTime();
        long until = t0 + TimeUnit.SECONDS.toNanos(seconds);
        long done = 0;
        int i = 0;
        while (System.nanoTime() < until) {
            slots.acquire();
            JobHandle h = client.submit(jobs.get(i++ & 1023));
            h.resultAsync().whenComplete((r, t) -> slots.release());
            if (all.size() < window) {
                all.add(h.resultAsync());
            } else {
                all.set((int) (done % window), h.resultAsync());
            }
            done++;
        }
        slots.acquire(window);
        long elapsed = System.nanoTime() - t0;
        for (CompletableFuture<?> f : all) {
            f.join(); // a failed job fails the benchmark
        }
        return done / (elapsed / 1e9);
    }

    /** Two signs and two verifies per sample, plain BouncyCastle, receipt- and wipe-sized payloads. */
    private static Histogram floor(int seconds) {
        SecureRandom random = new SecureRandom();
        Ed25519PrivateKeyParameters key = new Ed25519PrivateKeyParameters(random);
        Ed25519PublicKeyParameters pub = key.generatePublicKey();
        byte[] receipt = new byte[1600];
        byte[] wipe = new byte[1100];
        random.nextBytes(receipt);
        random.nextBytes(wipe);
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(1), 3);
        for (int phase = 0; phase < 2; phase++) {
            h.reset();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(phase == 0 ? Math.max(2, seconds / 2) : seconds);
            while (System.nanoTime() < until) {
                long t0 = System.nanoTime();
                byte[] s1 = sign(key, receipt);
                byte[] s2 = sign(key, wipe);
                if (!verify(pub, receipt, s1) || !verify(pub, wipe, s2)) {
                    throw new IllegalStateException("a fresh signature did not verify");
                }
                h.recordValue(System.nanoTime() - t0);
            }
        }
        return h;
    }

    private static byte[] sign(Ed25519PrivateKeyParameters key, byte[] m) {
        Ed25519Signer s = new Ed25519Signer();
        s.init(true, key);
        s.update(m, 0, m.length);
        return s.generateSignature();
    }

    private static boolean verify(Ed25519PublicKeyParameters pub, byte[] m, byte[] sig) {
        Ed25519Signer v = new Ed25519Signer();
        v.init(false, pub);
        v.update(m, 0, m.length);
        return v.verifySignature(sig);
    }

    private static void row(String name, Histogram h) {
        System.out.printf(Locale.ROOT, "%-44s %10.1f %10.1f %10.1f %10d%n", name, h.getValueAtPercentile(50) / 1e3,
                h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getTotalCount());
    }
}
