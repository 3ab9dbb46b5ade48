package dev.depin.benchmarks.ledger;

import dev.depin.ledger.JdbcLedger;
import dev.depin.ledger.LedgerAudit;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Durable hold-and-post pairs per second in the embedded ledger (an SQLite file, WAL,
 * {@code synchronous=FULL}): with group commit (one transaction and one fsync for every
 * operation queued, up to 4,096) beside the baseline of one commit, so one fsync, per
 * operation ({@code maxBatch(1)}), in the same run on the same disk.
 *
 * <p>Each phase keeps a window of pairs in flight (a hold, then its post when the hold is
 * durable) over 64 buyer and 64 provider accounts, counts the operations acknowledged
 * (= committed) within the measured time, reports pairs per second as half of that, and
 * audits the ledger afterwards.
 *
 * <p>With a PostgreSQL JDBC URL as third argument, the same two phases run against that
 * server too (each in a fresh schema it creates).
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.LedgerBenchmark [seconds-per-phase] [window] [postgres-url]}
 */
public final class LedgerBenchmark {
    private static final int ACCOUNTS = 64;

    private LedgerBenchmark() {
    }

    /**
     * Runs both phases and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5), pairs in flight (default
     *             1024), a PostgreSQL JDBC URL (user and password in it) to measure as well
     * @throws Exception if a phase fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        System.out.printf(Locale.ROOT, "%-38s %10s %12s %12s %10s%n", "phase", "ops", "pairs/s", "ops/s", "audit");
        for (int maxBatch : new int[] {4096, 1}) {
            Path dir = Files.createTempDirectory("depin-ledger-bench");
            try {
                phase(JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).maxBatch(maxBatch),
                        maxBatch == 1 ? "SQLite, one fsync per operation" : "SQLite, group commit", seconds, window);
            } finally {
                deleteTree(dir);
            }
        }
        if (args.length > 2) {
            for (int maxBatch : new int[] {4096, 1}) {
                String schema = "bench" + System.nanoTime();
                try (Connection c = DriverManager.getConnection(args[2]); Statement s = c.createStatement()) {
                    s.execute("CREATE SCHEMA " + schema);
                }
                String url = args[2] + (args[2].contains("?") ? "&" : "?") + "currentSchema=" + schema;
                phase(JdbcLedger.builder().postgres(url, null, null).maxBatch(maxBatch),
                        maxBatch == 1 ? "PostgreSQL, one commit per operation" : "PostgreSQL, group commit", seconds, window);
            }
        }
    }

    private static void phase(JdbcLedger.Builder builder, String name, int seconds, int window) throws Exception {
        try (JdbcLedger ledger = builder.open()) {
            for (int i = 0; i < ACCOUNTS; i++) {
                ledger.open(buyer(i), AccountKind.BUYER, false).join();
                ledger.open(provider(i), AccountKind.PROVIDER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("mint-" + i), buyer(i),
                        MicroUsd.ofMicros(1_000_000_000_000L))).join();
            }
            run(ledger, "warm-up", 2, window);
            long ops = run(ledger, "measured", seconds, window);
            LedgerAudit audit = ledger.audit();
            System.out.printf(Locale.ROOT, "%-38s %10d %12.0f %12.0f %10s%n", name, ops,
                    ops / 2.0 / seconds, ops / (double) seconds, audit.sound() ? "sound" : audit.violations());
        }
    }

    private static long run(JdbcLedger ledger, String phase, int seconds, int window) throws InterruptedException {
        Semaphore inFlight = new Semaphore(window);
        AtomicLong done = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        Instant expiry = Instant.parse("2100-01-01T00:00:00Z");
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        for (long n = 0; System.nanoTime() < end; n++) {
            inFlight.acquire();
            int i = (int) (n % ACCOUNTS);
            String job = phase + "-" + n;
            OperationKey hold = OperationKey.of(job, 0, "hold");
            long amount = 1 + n % 1000;
            ledger.apply(new Operation.Hold(hold, buyer(i), provider(i), MicroUsd.ofMicros(amount), expiry))
                    .thenCompose(h -> {
                        if (System.nanoTime() <= end) {
                            done.incrementAndGet();
                        }
                        return ledger.apply(new Operation.Post(OperationKey.of(job, 0, "post"), hold,
                                MicroUsd.ofMicros(amount / 2)));
                    })
                    .whenComplete((p, t) -> {
                        if (t == null && System.nanoTime() <= end) {
                            done.incrementAndGet();
                        } else if (t != null) {
                            failed.incrementAndGet();
                        }
                        inFlight.release();
                    });
        }
        inFlight.acquire(window); // drain
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " pairs failed in phase " + phase);
        }
        return done.get();
    }

    private static AccountId buyer(int i) {
        return AccountId.of("buyer:" + i);
    }

    private static AccountId provider(int i) {
        return AccountId.of("provider:" + i);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
