package dev.depin.benchmarks.ledger;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.LedgerServer;
import dev.depin.grpc.RemoteSettlement;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.spi.Settlement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * Escrowed small jobs per second (a certified hold for a job spec, then its post when the hold
 * is durable: two durable operations per job) through the settlement service
 * ({@link RemoteSettlement} with a buyer's key → {@link LedgerServer} over loopback mutual TLS →
 * {@link JdbcLedger} on SQLite) beside the embedded {@link JdbcLedger} in the same process, in
 * the same run, on the same disk: embedded, service, embedded again (so a change of the
 * machine's load during the run shows). Each phase keeps a window of jobs in flight over 64
 * buyers, warms up for a third of its time, and reports jobs per second and each job's latency
 * (hold sent to post acknowledged: p50, p99).
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.SettlementServiceBenchmark [seconds-per-phase] [window]}
 * (defaults 10 and 512).
 */
public final class SettlementServiceBenchmark {
    private static final int BUYERS = 64;
    private static final String SPEC = "5e".repeat(32);

    private SettlementServiceBenchmark() {
    }

    /**
     * Runs the three phases and prints one table.
     *
     * @param args optional: seconds per phase, jobs in flight
     * @throws Exception if an operation fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        System.out.printf(Locale.ROOT, "processors %d, load average %.2f, %d s per phase, %d jobs in flight%n",
                Runtime.getRuntime().availableProcessors(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), seconds, window);
        System.out.printf(Locale.ROOT, "%-34s %12s %12s %10s %10s%n", "phase", "jobs/s", "durable ops/s", "p50 ms",
                "p99 ms");
        Path dir = Files.createTempDirectory("depin-service-bench");
        try {
            NodeKeyPair ledgerKey = NodeKeyPair.generate();
            run("embedded JdbcLedger (SQLite)", dir.resolve("a.db"), ledgerKey, false, seconds, window);
            run("service: RemoteSettlement -> gRPC", dir.resolve("b.db"), ledgerKey, true, seconds, window);
            run("embedded JdbcLedger again", dir.resolve("c.db"), ledgerKey, false, seconds, window);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory
            }
        }
        System.out.printf(Locale.ROOT, "load average at the end %.2f%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static void run(String name, Path file, NodeKeyPair ledgerKey, boolean remote, int seconds, int window)
            throws Exception {
        NodeKeyPair buyerKey = NodeKeyPair.generate();
        AccountId provider = AccountId.of("provider:" + NodeKeyPair.generate().nodeId().hex());
        AccountId[] buyers = new AccountId[BUYERS];
        LedgerAccess.Builder access = LedgerAccess.builder();
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(file).certifyHolds(ledgerKey).open()) {
            jdbc.open(provider, AccountKind.PROVIDER, false).join();
            for (int i = 0; i < BUYERS; i++) {
                buyers[i] = AccountId.of("buyer:b" + i);
                jdbc.open(buyers[i], AccountKind.BUYER, false).join();
                jdbc.apply(new Operation.Mint(OperationKey.of("fund-" + i), buyers[i], MicroUsd.ofUsd("1000000"))).join();
                access.grant(buyerKey.publicKey(), buyers[i]);
            }
            LedgerServer server = remote ? LedgerServer.builder(jdbc, ledgerKey, access.build()).start() : null;
            Settlement s = remote ? RemoteSettlement.builder(buyerKey, server.address(), ledgerKey.publicKey()).connect()
                    : jdbc;
            try {
                long warm = seconds * 1_000L / 3;
                drive(s, buyers, provider, window, warm, "w", null);
                ConcurrentHistogram latency = new ConcurrentHistogram(3);
                long t0 = System.nanoTime();
                long jobs = drive(s, buyers, provider, window, seconds * 1_000L, "m", latency);
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "%-34s %12.0f %12.0f %10.2f %10.2f%n", name, jobs / secs, 2 * jobs / secs,
                        latency.getValueAtPercentile(50) / 1e6, latency.getValueAtPercentile(99) / 1e6);
                if (!jdbc.audit().sound()) {
                    throw new IllegalStateException("audit: " + jdbc.audit().violations());
                }
            } finally {
                if (remote) {
                    s.close();
                    server.close();
                }
            }
        }
    }

    /** Runs jobs for {@code millis} with {@code window} in flight; returns the jobs whose post was acknowledged. */
    private static long drive(Settlement s, AccountId[] buyers, AccountId provider, int window, long millis,
                              String tag, ConcurrentHistogram latency) throws InterruptedException {
        Semaphore slots = new Semaphore(window);
        AtomicLong done = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long end = System.nanoTime() + millis * 1_000_000L;
        Instant expiry = Instant.now().plus(Duration.ofHours(1));
        long i = 0;
        while (System.nanoTime() < end) {
            slots.acquire();
            long n = i++;
            AccountId buyer = buyers[(int) (n % BUYERS)];
            String base = buyer + "/" + tag + n + "/0/";
            OperationKey hold = OperationKey.of(base + "hold");
            long start = System.nanoTime();
            s.apply(new Operation.Hold(hold, buyer, provider, MicroUsd.ofMicros(2_000), expiry, Optional.of(SPEC)))
                    .thenCompose(h -> s.apply(new Operation.Post(OperationKey.of(base + "post"), hold, MicroUsd.ofMicros(1_500))))
                    .whenComplete((a, t) -> {
                        if (t != null) {
                            if (failed.incrementAndGet() == 1) {
                                System.out.println("first failure: " + t);
                            }
                        } else if (System.nanoTime() <= end) {
                            done.incrementAndGet();
                            if (latency != null) {
                                latency.recordValue(System.nanoTime() - start);
                            }
                        }
                        slots.release();
                    });
        }
        slots.acquire(window);
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " jobs failed");
        }
        return done.get();
    }
}
