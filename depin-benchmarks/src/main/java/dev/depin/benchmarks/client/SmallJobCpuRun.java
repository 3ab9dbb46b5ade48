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
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.client.SmallJobCpuRun one|window [seconds]} ({@code one}: one job in
 * flight; {@code window}: 64 in flight).
 */
public final class SmallJobCpuRun {
    private SmallJobCpuRun() {
    }

    /**
     * Runs the floor, a warm-up, then the measured phase, and prints the CPU per job of every
     * thread that spent more than 10 ms.
     *
     * @param args {@code one} or {@code window}, then optional seconds (default 5)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 1 || !(args[0].equals("one") || args[0].equals("window"))) {
            throw new IllegalArgumentException("usage: SmallJobCpuRun one|window [seconds]");
        }
        boolean one = args[0].equals("one");
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Histogram floor = SmallJobs.floor(2);
        SmallJobs.row(30, "floor (2 sign + 2 verify)", floor);
        try (LocalNetwork net = LocalNetwork.of(List.of(node(), node()));
             DepinClient client = DepinClient.builder(net).build()) {
            SplittableRandom rnd = new SplittableRandom(20261206L);
            if (one) {
                SmallJobs.oneInFlight(client, rnd, 256, 3);
            } else {
                SmallJobs.throughput(client, rnd, 256, 64, 3);
            }
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            ThreadMXBean tm = ManagementFactory.getThreadMXBean();
            Map<Long, Long> before = new HashMap<>();
            for (long id : tm.getAllThreadIds()) {
                before.put(id, tm.getThreadCpuTime(id));
            }
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
            for (long id : tm.getAllThreadIds()) {
                ThreadInfo ti = tm.getThreadInfo(id);
                long now = tm.getThreadCpuTime(id);
                if (ti == null || now < 0) {
                    continue;
                }
                long d = now - before.getOrDefault(id, 0L);
                sum += d;
                if (d > 10_000_000L) {
                    System.out.printf(Locale.ROOT, "  %-40s %8.1f us/job%n", ti.getThreadName(), d / 1e3 / jobs);
                }
            }
            System.out.printf(Locale.ROOT, "  Java threads %.1f us/job, process %.1f us/job, %.2f cores busy%n",
                    sum / 1e3 / jobs, (c1 - c0) / 1e3 / jobs, (c1 - c0) / (double) (t1 - t0));
        }
    }

    private static ProviderNode node() {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).build();
    }
}
