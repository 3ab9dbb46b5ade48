package dev.depin.benchmarks.client;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * The in-process phases of {@code grpc.DefaultSmallJobBenchmark} (two default providers, a
 * default client, SAXPY n = 256) with the CPU time each thread spent per job: on a shared
 * machine, where wall-clock latency mostly measures the other work, CPU per job and which
 * thread spends it are what a change can be judged by (A/B in alternation). The signature
 * floor (two signs and two verifies) is printed first, from the same JVM.
 *
 * <p>The warm-up matters: after the 3 s it had until 2026-12-06 the measured phase still ran
 * partly interpreted code and spent a fifth to a quarter of the process's CPU outside the Java
 * threads (the JIT's compiler threads, GC), 1.5–3× the CPU per job of the warmed
 * {@code DefaultSmallJobBenchmark} window of the same minutes: it measured the JVM's warm-up as
 * much as the code, which is why the 32–52 % it showed for 55b894d did not appear there
 * (docs/benchmarks.md). The compilation time and the collections during the phase are printed,
 * so a run that still compiles shows it. The bytes the Java threads allocated per job are printed
 * too: they hardly depend on the machine's load, so under load they compare A with B where CPU
 * time does not.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.client.SmallJobCpuRun one|window [seconds] [warm-up seconds]}
 * ({@code one}: one job in flight; {@code window}: 64 in flight; warm-up 12 s by default).
 */
public final class SmallJobCpuRun {
    private SmallJobCpuRun() {
    }

    /**
     * Runs the floor, a warm-up, then the measured phase, and prints the CPU per job of every
     * thread that spent more than 10 ms.
     *
     * @param args {@code one} or {@code window}, then optional seconds (default 5) and warm-up
     *             seconds (default 12)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 1 || !(args[0].equals("one") || args[0].equals("window"))) {
            throw new IllegalArgumentException("usage: SmallJobCpuRun one|window [seconds] [warm-up seconds]");
        }
        boolean one = args[0].equals("one");
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int warmUp = args.length > 2 ? Integer.parseInt(args[2]) : 12;
        Histogram floor = SmallJobs.floor(2);
        SmallJobs.row(30, "floor (2 sign + 2 verify)", floor);
        try (LocalNetwork net = LocalNetwork.of(List.of(node(), node()));
             DepinClient client = DepinClient.builder(net).build()) {
            SplittableRandom rnd = new SplittableRandom(20261206L);
            if (one) {
                SmallJobs.oneInFlight(client, rnd, 256, warmUp);
            } else {
                SmallJobs.throughput(client, rnd, 256, 64, warmUp);
            }
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            ThreadMXBean tm = ManagementFactory.getThreadMXBean();
            var allocated = (com.sun.management.ThreadMXBean) tm;
            Map<Long, Long> before = new HashMap<>();
            Map<Long, Long> bytesBefore = new HashMap<>();
            for (long id : tm.getAllThreadIds()) {
                before.put(id, tm.getThreadCpuTime(id));
                bytesBefore.put(id, allocated.getThreadAllocatedBytes(id));
            }
            var jit = ManagementFactory.getCompilationMXBean();
            long jit0 = jit.getTotalCompilationTime();
            long gc0 = collections();
            long c0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            double jobs;
            if (one) {
                Histogram h = SmallJobs.oneInFlight(client, rnd, 256, seconds);
                SmallJobs.row(30, "one in flight", h);
                System.out.printf(Locale.ROOT, "p50 / floor p50 %.2f%n",
                        h.getValueAtPercentile(50) / (double) floor.getValueAtPercentile(50));
                jobs = h.getTotalCount();
            } else {
                double rate = SmallJobs.throughput(client, rnd, 256, 64, seconds);
                jobs = rate * (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "64 in flight: %.0f jobs/s%n", rate);
            }
            long c1 = os.getProcessCpuTime();
            long t1 = System.nanoTime();
            long sum = 0;
            long bytes = 0;
            for (long id : tm.getAllThreadIds()) {
                ThreadInfo ti = tm.getThreadInfo(id);
                long now = tm.getThreadCpuTime(id);
                if (ti == null || now < 0) {
                    continue;
                }
                long b = allocated.getThreadAllocatedBytes(id);
                if (b > 0) {
                    bytes += b - bytesBefore.getOrDefault(id, 0L);
                }
                long d = now - before.getOrDefault(id, 0L);
                sum += d;
                if (d > 10_000_000L) {
                    System.out.printf(Locale.ROOT, "  %-40s %8.1f us/job%n", ti.getThreadName(), d / 1e3 / jobs);
                }
            }
            System.out.printf(Locale.ROOT, "  Java threads %.1f us/job, process %.1f us/job, %.2f cores busy; during "
                    + "the phase: compilation %d ms, %d collections%n", sum / 1e3 / jobs, (c1 - c0) / 1e3 / jobs,
                    (c1 - c0) / (double) (t1 - t0), jit.getTotalCompilationTime() - jit0, collections() - gc0);
            // Bytes allocated depend little on the machine's load: under load they compare where CPU does not.
            System.out.printf(Locale.ROOT, "  Java threads allocated %.0f bytes/job%n", bytes / jobs);
        }
    }

    private static long collections() {
        long n = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += gc.getCollectionCount();
        }
        return n;
    }

    private static ProviderNode node() {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).build();
    }
}
