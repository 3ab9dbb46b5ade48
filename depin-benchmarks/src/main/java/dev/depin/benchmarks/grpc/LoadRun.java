package dev.depin.benchmarks.grpc;

import dev.depin.benchmarks.client.SmallJobs;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import org.HdrHistogram.Histogram;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;

/**
 * The load run of issue 10 (a benchmark, not a test): 100,000 small verified jobs (SAXPY on
 * 1 Ki floats, every result verified) through 4 provider nodes with batched receipts, 256 in
 * flight, over {@link GrpcNetwork} with mutual TLS 1.3 on loopback; then, as the baseline in
 * the same run, the same jobs through the in-process {@link LocalNetwork}. It counts every
 * job exactly once (each id must come back once, verified: none lost, none twice), measures
 * each job's latency (HdrHistogram), and samples memory every 50 ms: heap used, the old
 * generation's usage after each collection (what stays live), and the process's resident set
 * ({@code /proc/self/status}: VmRSS now, VmHWM peak).
 *
 * <p>Run: {@code java -Xmx1g -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.LoadRun [jobs] [window]} (defaults 100000 and 256). Each phase
 * warms up for at least 15 s and 5,000 jobs first.
 */
public final class LoadRun {
    private static final int N = 1024;

    private LoadRun() {
    }

    /**
     * Runs both phases and prints one table.
     *
     * @param args optional: jobs, jobs in flight
     * @throws Exception if a job is lost, fails or comes back twice
     */
    public static void main(String[] args) throws Exception {
        int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        System.out.printf(Locale.ROOT, "load run: %d SAXPY n=%d jobs, %d in flight, 4 nodes, batched receipts, "
                        + "%d cores, max heap %d MiB, %s%n", jobs, N, window,
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20,
                Runtime.version());
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate(), NodeKeyPair.generate(), NodeKeyPair.generate(),
                NodeKeyPair.generate());
        Result remote;
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            List<ProviderServer> servers = new ArrayList<>();
            try {
                for (NodeKeyPair k : keys) {
                    ProviderServer s = ProviderServer.builder(node(k), k).directory(dir.address()).start();
                    s.renewNow();
                    servers.add(s);
                }
                try (GrpcNetwork net = GrpcNetwork.connect(dir.address())) {
                    remote = run("GrpcNetwork, mTLS", net, jobs, window);
                }
            } finally {
                servers.forEach(ProviderServer::close);
            }
        }
        Result local;
        try (LocalNetwork net = LocalNetwork.of(List.of(node(NodeKeyPair.generate()), node(NodeKeyPair.generate()),
                node(NodeKeyPair.generate()), node(NodeKeyPair.generate())))) {
            local = run("LocalNetwork (baseline)", net, jobs, window);
        }
        System.out.printf(Locale.ROOT, "%-26s %8s %8s %9s %9s %9s %9s %10s %10s %9s %9s%n", "", "jobs", "lost",
                "jobs/s", "p50 ms", "p99 ms", "max ms", "heap MiB", "live MiB", "RSS MiB", "peak RSS");
        remote.print();
        local.print();
    }

    private static ProviderNode node(NodeKeyPair key) {
        return ProviderNode.builder(key, new CpuExecutor(1))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001")))
                .concurrency(2, 4096).receiptBatching(256).build();
    }

    /** What one phase measured. */
    private record Result(String name, int jobs, long lost, double seconds, Histogram latency, long maxHeap,
                          long maxLiveAfterGc, long maxRss, long peakRss) {
        void print() {
            System.out.printf(Locale.ROOT, "%-26s %8d %8d %9.0f %9.2f %9.2f %9.2f %10d %10d %9d %9d%n", name, jobs,
                    lost, jobs / seconds, latency.getValueAtPercentile(50) / 1e6,
                    latency.getValueAtPercentile(99) / 1e6, latency.getMaxValue() / 1e6, maxHeap >> 20,
                    maxLiveAfterGc >> 20, maxRss >> 20, peakRss >> 20);
        }
    }

    private static Result run(String name, ComputeNetwork net, int jobs, int window) throws Exception {
        SplittableRandom rnd = new SplittableRandom(20261128L);
        LongAccumulator maxHeap = new LongAccumulator(Math::max, 0);
        LongAccumulator maxLive = new LongAccumulator(Math::max, 0);
        LongAccumulator maxRss = new LongAccumulator(Math::max, 0);
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "load-run-memory");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleAtFixedRate(() -> {
            maxHeap.accumulate(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
            long live = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && p.getCollectionUsage() != null) {
                    live += p.getCollectionUsage().getUsed();
                }
            }
            maxLive.accumulate(live);
            maxRss.accumulate(procStatus("VmRSS:"));
        }, 0, 50, TimeUnit.MILLISECONDS);
        Histogram latency = new Histogram(TimeUnit.MINUTES.toNanos(5), 3);
        AtomicLong failed = new AtomicLong();
        ConcurrentHashMap<String, Boolean> seen = new ConcurrentHashMap<>();
        AtomicLong twice = new AtomicLong();
        long t0;
        long elapsed;
        try (DepinClient client = DepinClient.builder(net).build()) {
            // Warm-up, not counted: at least 5,000 jobs and 15 s, so that the JIT has compiled the
            // TLS path (AES-GCM runs several times slower until C2 has compiled it).
            long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            for (int done = 0; done < 5_000 || System.nanoTime() < warm; done += 1_000) {
                runJobs(client, rnd, 1_000, window, new Histogram(3), new AtomicLong(), new ConcurrentHashMap<>(),
                        new AtomicLong());
            }
            System.gc();
            t0 = System.nanoTime();
            runJobs(client, rnd, jobs, window, latency, failed, seen, twice);
            elapsed = System.nanoTime() - t0;
        } finally {
            sampler.shutdownNow();
        }
        long lost = jobs - seen.size();
        if (lost != 0 || failed.get() != 0 || twice.get() != 0) {
            throw new IllegalStateException(name + ": " + lost + " jobs lost, " + failed.get() + " failed, "
                    + twice.get() + " came back twice");
        }
        return new Result(name, jobs, lost, elapsed / 1e9, latency, maxHeap.get(), maxLive.get(), maxRss.get(),
                procStatus("VmHWM:"));
    }

    /**
     * Submits {@code jobs} jobs with {@code window} in flight and waits for every one. Jobs
     * come from a pool of 1,024 random ones, rebuilt every 8,192 jobs (a job's deadline runs
     * from when it was built).
     */
    private static void runJobs(DepinClient client, SplittableRandom rnd, int jobs, int window, Histogram latency,
                                AtomicLong failed, ConcurrentHashMap<String, Boolean> seen, AtomicLong twice)
            throws InterruptedException {
        Semaphore slots = new Semaphore(window);
        List<Job> pool = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            if ((i & 8191) == 0) {
                pool.clear();
                for (int j = 0; j < 1024; j++) {
                    pool.add(SmallJobs.job(rnd, N));
                }
            }
            slots.acquire();
            long start = System.nanoTime();
            client.submit(pool.get(i & 1023)).resultAsync().whenComplete((JobResult r, Throwable t) -> {
                try {
                    if (t != null || r == null || !r.report().allPassed()) {
                        failed.incrementAndGet();
                    } else {
                        synchronized (latency) {
                            latency.recordValue(System.nanoTime() - start);
                        }
                        if (seen.putIfAbsent(r.jobId(), Boolean.TRUE) != null) {
                            twice.incrementAndGet();
                        }
                    }
                } finally {
                    slots.release();
                }
            });
        }
        slots.acquire(window);
        slots.release(window);
    }

    /** A size line of {@code /proc/self/status} in bytes, or 0 where there is none. */
    private static long procStatus(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) << 10;
                }
            }
        } catch (Exception e) {
            return 0;
        }
        return 0;
    }
}
