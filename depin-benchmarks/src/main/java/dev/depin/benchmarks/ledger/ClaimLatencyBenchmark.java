package dev.depin.benchmarks.ledger;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.LedgerServer;
import dev.depin.grpc.RemoteSettlement;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.node.LocalNetwork;
import dev.depin.node.PaidAttempt;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * How long a provider's claim takes to be paid, and what it costs, through the settlement
 * service over loopback mutual TLS, on SQLite, each beside its baseline from the same run:
 * <ul>
 *   <li>the claim call (the provider's key sends its receipt; the service checks the signature,
 *       spec and job, and the claim is durable) beside the buyer's post call of the same size;</li>
 *   <li>filed to posted, by the ledger's own timestamps (dispute window {@code W} plus the
 *       ledger's lag), and that lag (post time minus window end) beside the expiry lag of holds
 *       left to expire (expiry time minus expires-at), the same sweep thread's other job.</li>
 * </ul>
 * Every receipt is real: each job runs on a private {@link ProviderNode} with the service's hold
 * certificate (SAXPY, n = 64).
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.ClaimLatencyBenchmark [jobs] [window-seconds]} (defaults 200 and 1).
 */
public final class ClaimLatencyBenchmark {
    private ClaimLatencyBenchmark() {
    }

    /**
     * Runs the benchmark and prints one table.
     *
     * @param args optional: jobs per kind, dispute window in seconds
     * @throws Exception if anything fails
     */
    public static void main(String[] args) throws Exception {
        int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int windowSeconds = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        System.out.printf(Locale.ROOT, "processors %d, load average %.2f, %d jobs per kind, dispute window %d s, "
                        + "ledger sweep 250 ms%n", Runtime.getRuntime().availableProcessors(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), jobs,
                windowSeconds);
        Path dir = Files.createTempDirectory("depin-claim-bench");
        NodeKeyPair ledgerKey = NodeKeyPair.generate();
        NodeKeyPair buyerKey = NodeKeyPair.generate();
        NodeKeyPair nodeKey = NodeKeyPair.generate();
        AccountId buyer = AccountId.of("buyer:bench");
        AccountId provider = Escrow.providerAccount(nodeKey.nodeId());
        Path file = dir.resolve("ledger.db");
        Map<OperationKey, PaidAttempt> paid = new ConcurrentHashMap<>();
        Job job = Job.builder(BuiltinKernel.SAXPY).param("n", 64).param("alpha", 2).input("x", new float[64])
                .input("y", new float[64]).timeout(Duration.ofSeconds(60)).build();
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(file).certifyHolds(ledgerKey)
                .disputeWindow(Duration.ofSeconds(windowSeconds)).open();
             LedgerServer server = LedgerServer.builder(jdbc, ledgerKey, LedgerAccess.builder()
                     .grant(buyerKey.publicKey(), buyer).build()).start();
             RemoteSettlement buyerSide = RemoteSettlement.builder(buyerKey, server.address(), ledgerKey.publicKey()).connect();
             RemoteSettlement nodeSide = RemoteSettlement.builder(nodeKey, server.address(), ledgerKey.publicKey()).connect();
             ProviderNode node = ProviderNode.builder(nodeKey, new CpuExecutor(1))
                     .price(new Price(MicroUsd.ofMicros(1_000_000), MicroUsd.ofMicros(1_000)))
                     .requireHoldCertificates(ledgerKey.publicKey())
                     .onPaidAttempt(a -> paid.put(a.certificate().hold(), a)).build();
             LocalNetwork net = LocalNetwork.of(List.of(node))) {
            jdbc.open(buyer, AccountKind.BUYER, false).join();
            jdbc.open(provider, AccountKind.PROVIDER, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1000"))).join();
            Histogram claimCall = new Histogram(3);
            Histogram postCall = new Histogram(3);
            // warm-up: one of each, not counted
            for (int round = -1; round < jobs; round++) {
                for (String kind : List.of("c", "p", "x")) {
                    String jobId = Hex.encode(java.nio.ByteBuffer.allocate(16).putInt(kind.charAt(0)).putInt(round + 1)
                            .array());
                    OperationKey hold = OperationKey.of(buyer.value() + "/" + jobId, 1, "hold");
                    Instant expires = Instant.now().plus(kind.equals("x") ? Duration.ofSeconds(1) : Duration.ofMinutes(5));
                    HoldCertificate c = buyerSide.apply(new Operation.Hold(hold, buyer, provider, MicroUsd.ofMicros(50_000),
                            expires, Optional.of(job.spec().hash()))).join().certificate().orElseThrow();
                    if (kind.equals("x")) {
                        continue; // left to expire: the baseline of the sweep's lag
                    }
                    net.dispatch(node.offer(), new ExecutionRequest(jobId, 1, job.spec(), job.inputs(), new byte[32],
                            Optional.of(c)), p -> { }).response().get(60, TimeUnit.SECONDS);
                    PaidAttempt a = await(paid, hold);
                    long t0 = System.nanoTime();
                    if (kind.equals("c")) {
                        (a.result().batched() != null ? nodeSide.claim(hold, a.claimable(), a.result().batched())
                                : nodeSide.claim(hold, a.claimable(), a.result().receipt())).join();
                        record(claimCall, round, t0);
                    } else {
                        buyerSide.apply(new Operation.Post(OperationKey.of(buyer.value() + "/" + jobId + "/1/post"), hold,
                                a.claimable())).join();
                        record(postCall, round, t0);
                    }
                }
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60 + windowSeconds);
            while (!jdbc.openHolds().isEmpty() && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            if (!jdbc.openHolds().isEmpty() || !jdbc.audit().sound()) {
                throw new IllegalStateException("not settled: " + jdbc.openHolds().size() + " open, audit "
                        + jdbc.audit().violations());
            }
            Histogram filedToPosted = new Histogram(3);
            Histogram claimLag = new Histogram(3);
            Histogram expiryLag = new Histogram(3);
            try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = db.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT c.filed_ms, c.window_end_ms, o.at_ms FROM claims c"
                        + " JOIN holds h ON h.hold_key = c.hold_key JOIN ops o ON o.op_key = h.resolved_by"
                        + " WHERE h.state = 'POSTED' AND o.op_key LIKE 'ledger:claim:%'")) {
                    while (rs.next()) {
                        filedToPosted.recordValue(rs.getLong(3) - rs.getLong(1));
                        claimLag.recordValue(rs.getLong(3) - rs.getLong(2));
                    }
                }
                try (ResultSet rs = s.executeQuery("SELECT h.expires_ms, o.at_ms FROM holds h JOIN ops o"
                        + " ON o.op_key = h.resolved_by WHERE h.state = 'EXPIRED'")) {
                    while (rs.next()) {
                        expiryLag.recordValue(rs.getLong(2) - rs.getLong(1));
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%-52s %8s %8s %8s %6s%n", "measure", "p50 ms", "p99 ms", "max ms", "n");
            row("claim call (receipt checked, durable)", claimCall, 1e6);
            row("baseline: post call of the same hold size", postCall, 1e6);
            row("claim filed -> posted by the ledger (ledger clock)", filedToPosted, 1);
            row("  lag past the window end", claimLag, 1);
            row("baseline: expiry lag past expires-at", expiryLag, 1);
            if (expiryLag.getTotalCount() != jobs + 1 || filedToPosted.getTotalCount() != jobs + 1) {
                throw new IllegalStateException("expected " + (jobs + 1) + " expiries and claims posted by the ledger, got "
                        + expiryLag.getTotalCount() + " and " + filedToPosted.getTotalCount());
            }
        } finally {
            for (String f : List.of("ledger.db-wal", "ledger.db-shm", "ledger.db")) {
                Files.deleteIfExists(dir.resolve(f)); // the ledger's files: the only ones in its directory
            }
            Files.deleteIfExists(dir);
        }
        System.out.printf(Locale.ROOT, "load average at the end %.2f%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static PaidAttempt await(Map<OperationKey, PaidAttempt> paid, OperationKey hold) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        PaidAttempt a;
        while ((a = paid.remove(hold)) == null) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("the node never reported attempt " + hold);
            }
            Thread.sleep(1);
        }
        return a;
    }

    private static void record(Histogram h, int round, long t0) {
        if (round >= 0) {
            h.recordValue(System.nanoTime() - t0);
        }
    }

    private static void row(String name, Histogram h, double unit) {
        System.out.printf(Locale.ROOT, "%-52s %8.2f %8.2f %8.2f %6d%n", name, h.getValueAtPercentile(50) / unit,
                h.getValueAtPercentile(99) / unit, h.getMaxValue() / unit, h.getTotalCount());
    }
}
