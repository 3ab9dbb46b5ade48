package dev.depin.benchmarks.ledger;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The embedded ledger's writer thread alone, in group commits of a fixed size: its CPU time
 * per durable operation and the bytes written per operation, figures that a loaded machine
 * disturbs far less than a rate, and that do not depend on how many operations the load let
 * accumulate per commit (in {@link SettlementServiceBenchmark} the group commits grow as the
 * machine slows, and the writer's CPU per operation falls with them).
 *
 * <p>Escrowed jobs as in {@link SettlementServiceBenchmark} (64 buyers, one provider, certified
 * holds for a job spec): each unit handed to the ledger with {@code applyAll} holds
 * {@code batch / 2} holds of new jobs and the posts of the previous unit's holds, and the next
 * unit is handed over when every operation of this one is durable, so each group commit is one
 * unit. The writer thread's CPU comes from Linux's {@code /proc/self/task/<tid>/stat}, the bytes
 * from {@code /proc/self/io} (both over the measured jobs, after the warm-up jobs); the rate
 * printed is one unit at a time, fsync latency included, so it is not the ledger's throughput.
 *
 * <p>Run (Linux): {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.WriterCpuBenchmark [batch] [warm-up-jobs] [jobs]} (defaults 512,
 * 40,000 and 100,000).
 */
public final class WriterCpuBenchmark {
    private static final int BUYERS = 64;
    private static final long CLOCK_TICK_MICROS = 10_000; // USER_HZ = 100 on Linux

    private WriterCpuBenchmark() {
    }

    /**
     * Runs the jobs and prints one line.
     *
     * @param args optional: operations per group commit (even, at least 2), warm-up jobs, measured jobs
     * @throws Exception if an operation fails or {@code /proc} cannot be read
     */
    public static void main(String[] args) throws Exception {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 40_000;
        int jobs = args.length > 2 ? Integer.parseInt(args[2]) : 100_000;
        if (batch < 2 || batch % 2 != 0) {
            throw new IllegalArgumentException("batch " + batch + ": give an even number of operations, at least 2");
        }
        Path dir = Files.createTempDirectory("depin-writer-bench");
        NodeKeyPair key = NodeKeyPair.generate();
        AccountId provider = AccountId.of("provider:" + key.nodeId().hex());
        Instant expiry = Instant.now().plus(Duration.ofHours(1));
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(key).open()) {
            ledger.open(provider, AccountKind.PROVIDER, false).join();
            AccountId[] buyers = new AccountId[BUYERS];
            for (int i = 0; i < BUYERS; i++) {
                buyers[i] = AccountId.of("buyer:b" + i);
                ledger.open(buyers[i], AccountKind.BUYER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("fund-" + i), buyers[i], MicroUsd.ofUsd("1000000"))).join();
            }
            List<OperationKey> previous = List.of();
            long job = 0;
            long ticks0 = -1;
            long bytes0 = 0;
            long nanos0 = 0;
            long ops = 0;
            while (job < warmup + jobs) {
                if (job >= warmup && ticks0 < 0) {
                    ticks0 = writerTicks();
                    bytes0 = writtenBytes();
                    nanos0 = System.nanoTime();
                    ops = 0;
                }
                List<Operation> unit = new ArrayList<>(batch);
                for (OperationKey hold : previous) {
                    String post = hold.value().substring(0, hold.value().length() - "hold".length()) + "post";
                    unit.add(new Operation.Post(OperationKey.of(post), hold, MicroUsd.ofMicros(1_500)));
                }
                List<OperationKey> next = new ArrayList<>(batch / 2);
                for (int i = 0; i < batch / 2; i++, job++) {
                    AccountId buyer = buyers[(int) (job % BUYERS)];
                    OperationKey hold = OperationKey.of(buyer + "/m" + job + "/0/hold");
                    unit.add(new Operation.Hold(hold, buyer, provider, MicroUsd.ofMicros(2_000), expiry,
                            Optional.of("5e".repeat(32)), Optional.empty()));
                    next.add(hold);
                }
                List<CompletableFuture<Applied>> done = ledger.applyAll(unit);
                CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).join();
                ops += unit.size();
                previous = next;
            }
            double micros = (writerTicks() - ticks0) * (double) CLOCK_TICK_MICROS / ops;
            double bytes = (double) (writtenBytes() - bytes0) / ops;
            double rate = ops / ((System.nanoTime() - nanos0) / 1e9);
            System.out.printf(Locale.ROOT, "group commits of %d operations, %d jobs measured after %d: writer thread"
                    + " CPU %.1f us/op, %.0f bytes written/op, %.0f ops/s one unit at a time%n", batch, jobs, warmup,
                    micros, bytes, rate);
            if (!ledger.audit().sound()) {
                throw new IllegalStateException("audit: " + ledger.audit().violations());
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory
            }
        }
    }

    /** The writer thread's user + system CPU time, in clock ticks. */
    private static long writerTicks() throws IOException {
        long ticks = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                if (Files.readString(task.resolve("comm")).trim().startsWith("depin-ledger-wr")) {
                    String stat = Files.readString(task.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                }
            }
        }
        return ticks;
    }

    private static long writtenBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
            if (line.startsWith("write_bytes:")) {
                return Long.parseLong(line.substring("write_bytes:".length()).trim());
            }
        }
        return 0;
    }
}
