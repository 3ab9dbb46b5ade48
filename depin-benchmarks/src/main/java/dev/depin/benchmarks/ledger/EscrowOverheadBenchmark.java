package dev.depin.benchmarks.ledger;

import dev.depin.benchmarks.client.SmallJobs;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * What paying for each job costs: the small-job path (SAXPY on 256 floats, two providers
 * with batched receipts, every result verified) without an escrow, and with one on a durable
 * SQLite ledger (WAL, full sync, group commit: a hold before dispatch and a post after
 * verification, each durable before the job moves on), in the same run. One job in flight
 * (latency percentiles, HdrHistogram) and 64 and 256 in flight (verified, settled jobs per
 * second).
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.ledger.EscrowOverheadBenchmark [seconds-per-phase]}
 */
public final class EscrowOverheadBenchmark {
    private static final int N = 256;

    private EscrowOverheadBenchmark() {
    }

    /**
     * Runs both configurations and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf(Locale.ROOT, "escrow overhead: SAXPY n=%d, 2 providers (batched receipts), %d s per phase, "
                + "%d cores, %s%n", N, seconds, Runtime.getRuntime().availableProcessors(), Runtime.version());
        System.out.printf(Locale.ROOT, "%-34s %10s %10s %10s %10s%n", "", "p50 us", "p90 us", "p99 us", "count");
        Path dir = Files.createTempDirectory("depin-escrow-bench");
        try {
            run(seconds, null);
            try (JdbcLedger ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"))) {
                AccountId buyer = AccountId.of("buyer:bench");
                ledger.open(buyer, AccountKind.BUYER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1000000"))).join();
                run(seconds, Escrow.builder(ledger, buyer).build());
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void run(int seconds, Escrow escrow) throws Exception {
        String mode = escrow == null ? "no escrow" : "escrow on SQLite";
        try (LocalNetwork net = LocalNetwork.of(List.of(node(), node()))) {
            DepinClient.Builder b = DepinClient.builder(net);
            if (escrow != null) {
                b.escrow(escrow);
            }
            try (DepinClient client = b.build()) {
                SplittableRandom rnd = new SplittableRandom(20261128L);
                SmallJobs.oneInFlight(client, rnd, N, Math.max(2, seconds / 2)); // warm-up
                Histogram one = SmallJobs.oneInFlight(client, rnd, N, seconds);
                SmallJobs.row(34, "one in flight, " + mode, one);
                for (int window : new int[] {64, 256}) {
                    SmallJobs.throughput(client, rnd, N, window, Math.max(1, seconds / 2)); // warm-up
                    System.out.printf(Locale.ROOT, "%-34s %10.0f jobs/s%n", window + " in flight, " + mode,
                            SmallJobs.throughput(client, rnd, N, window, seconds));
                }
            }
        }
    }

    private static ProviderNode node() {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001")))
                .concurrency(2, 4096).receiptBatching(256).build();
    }
}
