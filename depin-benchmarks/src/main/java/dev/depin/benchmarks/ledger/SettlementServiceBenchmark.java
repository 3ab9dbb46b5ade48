package dev.depin.benchmarks.ledger;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
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
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * Escrowed small jobs per second (a certified hold for a job spec, then its post when the hold
 * is durable: two durable operations per job) through the settlement service beside the
 * embedded {@link JdbcLedger}, in the same run, on the same disk: embedded; the service
 * ({@link LedgerServer} in a JVM of its own in front of a {@link JdbcLedger} on SQLite, reached
 * by a {@link RemoteSettlement} with a buyer's key over loopback mutual TLS) with the client's
 * default batching; the same with one operation per call (how the client sent before it
 * batched); embedded again (so a change of the machine's load during the run shows). Each phase
 * keeps a window of jobs in flight over 64 buyers, warms up (for a third of its time unless told
 * otherwise: each service phase starts a fresh JVM, whose JIT compiles for tens of seconds on two
 * loaded cores, so a longer warm-up measures the code rather than the compiler), and reports
 * jobs per second, each job's latency (hold sent to post acknowledged: p50, p99), and the CPU
 * time per durable operation of the process that holds the ledger (the benchmark's own JVM when
 * embedded, the service's JVM otherwise) and, for the service, of the client's JVM: the
 * service's CPU per operation says how many operations per second its cores could keep when the
 * clients run elsewhere, which one machine with both on it cannot show.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.SettlementServiceBenchmark [seconds-per-phase] [window] [warm-up-seconds]}
 * (defaults 10, 512 and a third of the phase).
 */
public final class SettlementServiceBenchmark {
    private static final int BUYERS = 64;
    private static final String SPEC = "5e".repeat(32);
    private static long warmupMillis;

    private SettlementServiceBenchmark() {
    }

    /**
     * Runs the four phases and prints one table; with {@code serve} as the first argument, is
     * the service's JVM instead (see {@link #serve}).
     *
     * @param args optional: seconds per phase, jobs in flight, seconds of warm-up per phase
     * @throws Exception if an operation fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("serve")) {
            serve(Path.of(args[1]), NodeKeyPair.fromSeed(Hex.decode(args[2])), NodePublicKey.of(Hex.decode(args[3])));
            return;
        }
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        warmupMillis = args.length > 2 ? Integer.parseInt(args[2]) * 1_000L : seconds * 1_000L / 3;
        System.out.printf(Locale.ROOT, "processors %d, load average %.2f, %d s per phase after %d s of warm-up, %d jobs in flight, %s%n",
                Runtime.getRuntime().availableProcessors(), load(), seconds, warmupMillis / 1_000, window, Runtime.version());
        System.out.printf(Locale.ROOT, "%-38s %9s %9s %9s %9s %13s %13s%n", "phase", "jobs/s", "ops/s", "p50 ms",
                "p99 ms", "ledger us/op", "client us/op");
        Path dir = Files.createTempDirectory("depin-service-bench");
        try {
            NodeKeyPair ledgerKey = NodeKeyPair.generate();
            embedded("embedded JdbcLedger (SQLite)", dir.resolve("a.db"), ledgerKey, seconds, window);
            service("service, batched (default)", dir.resolve("b.db"), ledgerKey, RemoteSettlement.DEFAULT_OPERATIONS_PER_CALL,
                    seconds, window);
            service("service, one operation per call", dir.resolve("c.db"), ledgerKey, 1, seconds, window);
            embedded("embedded JdbcLedger again", dir.resolve("d.db"), ledgerKey, seconds, window);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory
            }
        }
        System.out.printf(Locale.ROOT, "load average at the end %.2f%n", load());
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    private static long ownCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static AccountId provider(NodeKeyPair ledgerKey) {
        return AccountId.of("provider:" + ledgerKey.nodeId().hex());
    }

    /** Opens the provider and the funded buyers. */
    private static AccountId[] accounts(Settlement ledger, AccountId provider) {
        AccountId[] buyers = new AccountId[BUYERS];
        ledger.open(provider, AccountKind.PROVIDER, false).join();
        for (int i = 0; i < BUYERS; i++) {
            buyers[i] = AccountId.of("buyer:b" + i);
            ledger.open(buyers[i], AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund-" + i), buyers[i], MicroUsd.ofUsd("1000000"))).join();
        }
        return buyers;
    }

    private static void embedded(String name, Path file, NodeKeyPair ledgerKey, int seconds, int window) throws Exception {
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(file).certifyHolds(ledgerKey).open()) {
            AccountId provider = provider(ledgerKey);
            AccountId[] buyers = accounts(jdbc, provider);
            measure(name, jdbc, buyers, provider, seconds, window, null);
            if (!jdbc.audit().sound()) {
                throw new IllegalStateException("audit: " + jdbc.audit().violations());
            }
        }
    }

    private static void service(String name, Path file, NodeKeyPair ledgerKey, int perCall, int seconds, int window)
            throws Exception {
        NodeKeyPair buyerKey = NodeKeyPair.generate();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", SettlementServiceBenchmark.class.getName(), "serve",
                file.toString(), Hex.encode(ledgerKey.seed()), Hex.encode(buyerKey.publicKey().raw()))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             Writer in = new java.io.OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
            String ready = out.readLine();
            if (ready == null || !ready.startsWith("SERVING ")) {
                throw new IllegalStateException("the service did not start: " + ready);
            }
            AccountId[] buyers = new AccountId[BUYERS];
            for (int i = 0; i < BUYERS; i++) {
                buyers[i] = AccountId.of("buyer:b" + i);
            }
            try (RemoteSettlement remote = RemoteSettlement.builder(buyerKey, ready.substring(8), ledgerKey.publicKey())
                    .maxOperationsPerCall(perCall).connect()) {
                measure(name, remote, buyers, provider(ledgerKey), seconds, window, child.toHandle());
            }
            in.write("audit\n");
            in.flush();
            String audit = out.readLine();
            if (!"AUDIT sound".equals(audit)) {
                throw new IllegalStateException("the service's ledger: " + audit);
            }
        } finally {
            child.waitFor(10, TimeUnit.SECONDS);
            child.destroyForcibly();
        }
    }

    /**
     * The service's JVM: a {@link JdbcLedger} on {@code file} certifying holds with
     * {@code ledgerKey}, the benchmark's accounts, and a {@link LedgerServer} under the same key
     * that grants {@code buyer} the buyers' accounts. Prints {@code SERVING host:port}; on a line
     * on its input, audits the ledger, prints {@code AUDIT sound} (or the violations) and exits.
     */
    private static void serve(Path file, NodeKeyPair ledgerKey, NodePublicKey buyer) throws IOException {
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(file).certifyHolds(ledgerKey).open()) {
            AccountId[] buyers = accounts(jdbc, provider(ledgerKey));
            LedgerAccess.Builder access = LedgerAccess.builder();
            for (AccountId b : buyers) {
                access.grant(buyer, b);
            }
            try (LedgerServer server = LedgerServer.builder(jdbc, ledgerKey, access.build()).start()) {
                System.out.println("SERVING " + server.address());
                System.out.flush();
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            }
            System.out.println(jdbc.audit().sound() ? "AUDIT sound" : "AUDIT " + jdbc.audit().violations());
            System.out.flush();
        }
    }

    private static void measure(String name, Settlement s, AccountId[] buyers, AccountId provider, int seconds, int window,
                                ProcessHandle service) throws InterruptedException {
        drive(s, buyers, provider, window, warmupMillis, "w", null);
        ConcurrentHistogram latency = new ConcurrentHistogram(3);
        long own0 = ownCpuNanos();
        long svc0 = service == null ? 0 : cpuNanos(service);
        long t0 = System.nanoTime();
        long jobs = drive(s, buyers, provider, window, seconds * 1_000L, "m", latency);
        double secs = (System.nanoTime() - t0) / 1e9;
        double own = (ownCpuNanos() - own0) / 1e3 / (2.0 * jobs);
        double svc = service == null ? own : (cpuNanos(service) - svc0) / 1e3 / (2.0 * jobs);
        System.out.printf(Locale.ROOT, "%-38s %9.0f %9.0f %9.2f %9.2f %13.1f %13s%n", name, jobs / secs, 2 * jobs / secs,
                latency.getValueAtPercentile(50) / 1e6, latency.getValueAtPercentile(99) / 1e6, svc,
                service == null ? "-" : String.format(Locale.ROOT, "%.1f", own));
    }

    private static long cpuNanos(ProcessHandle p) {
        return p.info().totalCpuDuration().orElseThrow(() -> new IllegalStateException("no CPU time for the service's "
                + "process on this OS")).toNanos();
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
