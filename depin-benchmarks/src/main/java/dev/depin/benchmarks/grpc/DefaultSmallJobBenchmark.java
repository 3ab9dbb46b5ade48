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
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * <p><b>Settling, so that a phase measures the code and not the JIT.</b> Each measured phase
 * (one in flight and 64 in flight, in process and over mTLS) is preceded by its minimum warm-up
 * (3 s in process, 10 s and 5 s over mTLS, or the phase's length if longer) and then by more of
 * the same work in 1 s steps until the JIT's compiler threads used at most
 * {@code --settle-jit-ms} of CPU in each of the last two steps (default 20 ms, i.e. 2 % of one
 * core; two, because on a loaded machine one step can starve the compiler threads too), or
 * until {@code --settle-max} seconds of warm-up in all (default 60). The lines under the table
 * say, per phase, how long its warm-up took, whether it settled or hit the cap, and the JIT's
 * share of the measured phase's CPU. The JIT's CPU is read from {@code /proc/self/task} (Linux,
 * 10 ms ticks); where it cannot be read, only the minimum warm-up runs and the lines say so.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.DefaultSmallJobBenchmark [seconds-per-phase] [--seconds N]
 * [--settle-max S] [--settle-jit-ms MS] [--no-settle]}: {@code seconds-per-phase} (or
 * {@code --seconds}) is the length of each measured phase (default 5; 30 for a longer run);
 * {@code --no-settle} keeps only the minimum warm-ups (the behaviour before settling).
 */
public final class DefaultSmallJobBenchmark {
    private static final int N = 256;
    private static final int WINDOW = 64;

    private DefaultSmallJobBenchmark() {
    }

    /**
     * Runs every phase and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5), and the options in the
     *             class comment
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = 5;
        Settle settle = new Settle(60, 20, true);
        for (int a = 0; a < args.length; a++) {
            switch (args[a]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++a]);
                case "--settle-max" -> settle = new Settle(Integer.parseInt(args[++a]), settle.jitMs, settle.on);
                case "--settle-jit-ms" -> settle = new Settle(settle.maxSeconds, Integer.parseInt(args[++a]), settle.on);
                case "--no-settle" -> settle = new Settle(settle.maxSeconds, settle.jitMs, false);
                default -> {
                    if (args[a].startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + args[a] + ": use [seconds-per-phase] "
                                + "[--seconds N] [--settle-max S] [--settle-jit-ms MS] [--no-settle]");
                    }
                    seconds = Integer.parseInt(args[a]);
                }
            }
        }
        if (seconds < 1) {
            throw new IllegalArgumentException("seconds per phase must be at least 1, got " + seconds);
        }
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
            settle.warm("one in flight, in process", Math.max(3, seconds),
                    s -> SmallJobs.oneInFlight(client, rnd, N, s));
            long oneCpu = cpuNanos();
            long oneJit = jitMillis();
            local = SmallJobs.oneInFlight(client, rnd, N, seconds);
            localOneCpu = (cpuNanos() - oneCpu) / 1e3 / local.getTotalCount();
            settle.measured(cpuNanos() - oneCpu, jitMillis() - oneJit);
            settle.warm(WINDOW + " in flight, in process", Math.max(3, seconds),
                    s -> SmallJobs.throughput(client, rnd, N, WINDOW, s));
            long cpu = cpuNanos();
            long jit = jitMillis();
            long wall = System.nanoTime();
            localRate = SmallJobs.throughput(client, rnd, N, WINDOW, seconds);
            double jobs = localRate * (System.nanoTime() - wall) / 1e9;
            localCpu = (cpuNanos() - cpu) / 1e3 / jobs;
            localJit = (jitMillis() - jit) * 1e3 / jobs;
            settle.measured(cpuNanos() - cpu, jitMillis() - jit);
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
                settle.warm("one in flight, loopback mTLS", Math.max(10, seconds),
                        s -> SmallJobs.oneInFlight(client, rnd, N, s));
                long oneCpu = cpuNanos();
                long oneJit = jitMillis();
                remote = SmallJobs.oneInFlight(client, rnd, N, seconds);
                settle.measured(cpuNanos() - oneCpu, jitMillis() - oneJit);
                settle.warm(WINDOW + " in flight, loopback mTLS", Math.max(5, seconds),
                        s -> SmallJobs.throughput(client, rnd, N, WINDOW, s));
                long cpu = cpuNanos();
                long jit = jitMillis();
                long wall = System.nanoTime();
                remoteRate = SmallJobs.throughput(client, rnd, N, WINDOW, seconds);
                double jobs = remoteRate * (System.nanoTime() - wall) / 1e9;
                remoteCpu = (cpuNanos() - cpu) / 1e3 / jobs;
                remoteJit = (jitMillis() - jit) * 1e3 / jobs;
                settle.measured(cpuNanos() - cpu, jitMillis() - jit);
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
        settle.print();
    }

    /** One phase's work for {@code seconds}; its result is not used. */
    private interface Work {
        Object run(int seconds) throws Exception;
    }

    /**
     * The settling rule (class comment): warm-up steps until the JIT is quiet or the cap is
     * reached, and one line per phase on how that went.
     */
    private static final class Settle {
        final int maxSeconds;
        final int jitMs;
        final boolean on;
        private final List<String> lines = new ArrayList<>();
        private String pending;

        Settle(int maxSeconds, int jitMs, boolean on) {
            if (maxSeconds < 1 || jitMs < 0) {
                throw new IllegalArgumentException("--settle-max must be >= 1 s and --settle-jit-ms >= 0, got "
                        + maxSeconds + " and " + jitMs);
            }
            this.maxSeconds = maxSeconds;
            this.jitMs = jitMs;
            this.on = on;
        }

        /** Runs the minimum warm-up, then 1 s steps until the JIT took at most jitMs in the last one. */
        void warm(String phase, int minSeconds, Work work) throws Exception {
            long t0 = System.nanoTime();
            work.run(minSeconds);
            boolean readable = Files.isReadable(Path.of("/proc/self/task"));
            String how;
            if (!on) {
                how = "minimum warm-up only (--no-settle)";
            } else if (!readable) {
                how = "minimum warm-up only (JIT CPU not readable here)";
            } else {
                long last;
                int quiet = 0;
                while (true) {
                    long before = jitMillis();
                    work.run(1);
                    last = jitMillis() - before;
                    // Two quiet steps in a row: on a loaded machine one step can starve the compiler threads too.
                    quiet = last <= jitMs ? quiet + 1 : 0;
                    if (quiet == 2) {
                        how = "settled (JIT at most " + jitMs + " ms in each of the last two 1 s steps, " + last
                                + " ms in the last)";
                        break;
                    }
                    if (System.nanoTime() - t0 >= maxSeconds * 1_000_000_000L) {
                        how = "NOT settled: cap of " + maxSeconds + " s reached (JIT " + last + " ms in the last 1 s step)";
                        break;
                    }
                }
            }
            pending = String.format(Locale.ROOT, "  %-38s warm-up %5.1f s, %s", phase,
                    (System.nanoTime() - t0) / 1e9, how);
        }

        /** Records the JIT's share of the measured phase that followed the last warm-up. */
        void measured(long cpuNanos, long jitMillis) {
            lines.add(pending + String.format(Locale.ROOT, "; JIT %.1f %% of the measured phase's CPU",
                    cpuNanos > 0 ? 100.0 * jitMillis * 1e6 / cpuNanos : 0.0));
        }

        void print() {
            System.out.printf(Locale.ROOT, "warm-ups (settle: JIT <= %d ms per 1 s step, at most %d s; %s):%n", jitMs,
                    maxSeconds, on ? "on" : "off");
            lines.forEach(System.out::println);
        }
    }

    /**
     * @return the CPU time of the JIT's compiler threads so far (Linux: their {@code utime + stime}
     *         from {@code /proc/self/task}, 10 ms ticks), in milliseconds; 0 where not readable
     */
    private static long jitMillis() {
        long ticks = 0;
        try (DirectoryStream<Path> tasks =
                     Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                String stat;
                try {
                    stat = Files.readString(t.resolve("stat"));
                } catch (IOException e) {
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
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return ticks * 10;
    }

    /** @return this process's CPU time so far, all threads, in nanoseconds */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static ProviderNode node() {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).build();
    }
}
