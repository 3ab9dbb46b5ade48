package dev.depin.benchmarks.grpc;

import dev.depin.benchmarks.client.SmallJobs;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * Small jobs exactly as a new user writes them (issue 15, item 8): two providers built with
 * {@code ProviderNode.builder(key, new CpuExecutor(1)).build()} and nothing else, a
 * {@code DepinClient.builder(net).build()}, SAXPY on 256 floats with the default verification,
 * every result verified. In one run, each phase after its own warm-up: the signature floor (two
 * Ed25519 signs and two verifies, plain BouncyCastle, same JVM), one job in flight and 64 in
 * flight in process ({@link LocalNetwork}), then the same over loopback mutual TLS
 * ({@link GrpcNetwork}, a directory and two {@link ProviderServer}s in this JVM).
 * Goals (2 cores): ≥ 10,000 jobs/s in process at 64 in flight; one in flight p50 ≤ 1.3 × the
 * floor; over mTLS ≥ 0.5 × the in-process rate. The last lines give the process's CPU time
 * per job in the one-in-flight phase in process and in each 64-in-flight phase (every thread:
 * client, nodes, transport, JIT and GC), and how much of each 64-in-flight phase's the JIT's
 * compiler threads took (their CPU time over the phase, read on Linux).
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.DefaultSmallJobBenchmark [seconds-per-phase]}
 */
public final class DefaultSmallJobBenchmark {
    private static final int N = 256;
    private static final int WINDOW = 64;

    private DefaultSmallJobBenchmark() {
    }

    /**
     * Runs every phase and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf(Locale.ROOT, "default small jobs: SAXPY n=%d, 2 default providers, default client, %d s per "
                + "phase, %d cores, %s%n", N, seconds, Runtime.getRuntime().availableProcessors(), Runtime.version());
        Histogram floor = SmallJobs.floor(seconds);
        System.out.printf(Locale.ROOT, "%-40s %10s %10s %10s %10s%n", "", "p50 us", "p90 us", "p99 us", "count");
        SmallJobs.row(40, "floor (2 sign + 2 verify, BC)", floor);
        Histogram local;
        double localRate;
        double localCpu;
        double localOneCpu;
        double localJit;
        try (LocalNetwork net = LocalNetwork.of(List.of(node(), node()));
             DepinClient client = DepinClient.builder(net).build()) {
            SplittableRandom rnd = new SplittableRandom(20261205L);
            SmallJobs.oneInFlight(client, rnd, N, Math.max(3, seconds));
            long oneCpu = cpuNanos();
            local = SmallJobs.oneInFlight(client, rnd, N, seconds);
            localOneCpu = (cpuNanos() - oneCpu) / 1e3 / local.getTotalCount();
            SmallJobs.throughput(client, rnd, N, WINDOW, Math.max(3, seconds));
            long cpu = cpuNanos();
            long jit = jitMillis();
            long wall = System.nanoTime();
            localRate = SmallJobs.throughput(client, rnd, N, WINDOW, seconds);
            double jobs = localRate * (System.nanoTime() - wall) / 1e9;
            localCpu = (cpuNanos() - cpu) / 1e3 / jobs;
            localJit = (jitMillis() - jit) * 1e3 / jobs;
        }
        SmallJobs.row(40, "one in flight, in process", local);
        Histogram remote;
        double remoteRate;
        double remoteCpu;
        double remoteJit;
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            List<ProviderServer> servers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                NodeKeyPair k = NodeKeyPair.generate();
                ProviderServer s = ProviderServer.builder(ProviderNode.builder(k, new CpuExecutor(1)).build(), k)
                        .directory(dir.address()).start();
                s.renewNow();
                servers.add(s);
            }
            try (GrpcNetwork net = GrpcNetwork.connect(dir.address());
                 DepinClient client = DepinClient.builder(net).build()) {
                SplittableRandom rnd = new SplittableRandom(20261205L);
                // gRPC and TLS paths need a long JIT warm-up
                SmallJobs.oneInFlight(client, rnd, N, Math.max(10, seconds));
                remote = SmallJobs.oneInFlight(client, rnd, N, seconds);
                SmallJobs.throughput(client, rnd, N, WINDOW, Math.max(5, seconds));
                long cpu = cpuNanos();
                long jit = jitMillis();
                long wall = System.nanoTime();
                remoteRate = SmallJobs.throughput(client, rnd, N, WINDOW, seconds);
                double jobs = remoteRate * (System.nanoTime() - wall) / 1e9;
                remoteCpu = (cpuNanos() - cpu) / 1e3 / jobs;
                remoteJit = (jitMillis() - jit) * 1e3 / jobs;
            } finally {
                servers.forEach(ProviderServer::close);
            }
        }
        SmallJobs.row(40, "one in flight, loopback mTLS", remote);
        double f50 = floor.getValueAtPercentile(50);
        System.out.printf(Locale.ROOT, "one in flight p50 / floor p50: in process %.2f (goal <= 1.3), mTLS %.2f%n",
                local.getValueAtPercentile(50) / f50, remote.getValueAtPercentile(50) / f50);
        System.out.printf(Locale.ROOT, "%-40s %10.0f jobs/s (goal >= 10000)%n", WINDOW + " in flight, in process",
                localRate);
        System.out.printf(Locale.ROOT, "%-40s %10.0f jobs/s = %.2f x in process (goal >= 0.5)%n",
                WINDOW + " in flight, loopback mTLS", remoteRate, remoteRate / localRate);
        // With one job in flight, CPU beyond the job's own path is work on other threads (wake-ups
        // that find nothing to do, timers): on an idle core it costs no latency, under load it does.
        System.out.printf(Locale.ROOT, "%-40s %10.0f us in process (every thread)%n", "CPU per job, one in flight",
                localOneCpu);
        // The process's CPU time over each phase per job: steadier than a rate on a shared machine.
        System.out.printf(Locale.ROOT, "%-40s %10.0f us in process, %.0f us over mTLS (%.2f x)%n",
                "CPU per job, " + WINDOW + " in flight", localCpu, remoteCpu, remoteCpu / localCpu);
        // What of it was still the JIT's (its compiler threads' CPU): a short warm-up on 2 cores leaves a lot.
        System.out.printf(Locale.ROOT, "%-40s %10.0f us in process, %.0f us over mTLS%n",
                "  of which JIT compiling (per job)", localJit, remoteJit);
    }

    /**
     * @return the CPU time of the JIT's compiler threads so far (Linux: their {@code utime + stime}
     *         from {@code /proc/self/task}, 10 ms ticks), in milliseconds; 0 where not readable
     */
    private static long jitMillis() {
        long ticks = 0;
        try (java.nio.file.DirectoryStream<java.nio.file.Path> tasks =
                     java.nio.file.Files.newDirectoryStream(java.nio.file.Path.of("/proc/self/task"))) {
            for (java.nio.file.Path t : tasks) {
                String stat;
                try {
                    stat = java.nio.file.Files.readString(t.resolve("stat"));
                } catch (java.io.IOException e) {
                    continue; // the thread ended
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                if (open < 0 || close < open || !stat.startsWith("CompilerThre", open + 4)) {
                    continue; // "C1 CompilerThre" / "C2 CompilerThre" (the kernel cuts names at 15 characters)
                }
                String[] f = stat.substring(close + 2).split(" ");
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
        return ticks * 10;
    }

    /** @return this process's CPU time so far, all threads, in nanoseconds */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static ProviderNode node() {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).build();
    }
}
