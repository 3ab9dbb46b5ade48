package dev.depin.benchmarks.client;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * The small-job path as a new user sees it: a warm JVM, two providers in a
 * {@link LocalNetwork}, SAXPY on 256 floats, default verification (signature only), every
 * result verified (receipt and wipe attestation, two Ed25519 signatures made by the
 * provider and two checked by the buyer per job).
 *
 * <p>Measured in one run, each after its own warm-up:
 * <ul>
 *   <li><b>floor</b>: two Ed25519 signs plus two verifies on payloads the size of a
 *       receipt and a wipe attestation, with plain BouncyCastle, one after the other on one
 *       thread: what a job's trust costs at the least without batching;</li>
 *   <li><b>one in flight</b>: submit, wait for the verified result, repeat; latency
 *       percentiles in an HdrHistogram;</li>
 *   <li><b>throughput</b> with 8, 64 and 256 jobs in flight (a semaphore keeps the window
 *       full), in verified jobs per second.</li>
 * </ul>
 * Both with providers that sign every job on its own, and with providers that batch
 * receipts ({@code ProviderNode.Builder.receiptBatching(256)}: one signature per batch,
 * each job verified by inclusion).
 * Goals (issue 6): one in flight p50 &le; 1.3 × floor and p99 &le; 3 × floor.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.client.SmallJobBenchmark [seconds-per-phase]}
 */
public final class SmallJobBenchmark {
    private static final int N = 256;

    private SmallJobBenchmark() {
    }

    /**
     * Runs every phase and prints one table.
     *
     * @param args optional: seconds per measured phase (default 5)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.printf(Locale.ROOT, "small-job benchmark: SAXPY n=%d, 2 providers, signatureOnly, %d s per phase, "
                + "%d cores, %s%n", N, seconds, Runtime.getRuntime().availableProcessors(), Runtime.version());
        Histogram floor = SmallJobs.floor(seconds);
        System.out.println();
        System.out.printf(Locale.ROOT, "%-34s %10s %10s %10s %10s%n", "", "p50 us", "p90 us", "p99 us", "count");
        SmallJobs.row(34, "floor (2 sign + 2 verify, BC)", floor);
        for (int batch : new int[] {0, 256}) {
            run(floor, seconds, batch);
        }
        double floorRate = 1e9 / floor.getMean();
        System.out.printf(Locale.ROOT, "floor on one core: %.0f jobs/s; on all %d cores: %.0f jobs/s%n", floorRate,
                Runtime.getRuntime().availableProcessors(), floorRate * Runtime.getRuntime().availableProcessors());
    }

    private static void run(Histogram floor, int seconds, int batch) throws Exception {
        String mode = batch == 0 ? "signed per job" : "batched receipts (up to " + batch + ")";
        try (LocalNetwork net = LocalNetwork.of(List.of(node(batch), node(batch)));
             DepinClient client = DepinClient.builder(net).build()) {
            SplittableRandom rnd = new SplittableRandom(20261128L);
            SmallJobs.oneInFlight(client, rnd, N, Math.max(2, seconds / 2)); // warm-up
            Histogram one = SmallJobs.oneInFlight(client, rnd, N, seconds);
            SmallJobs.row(34, "one in flight, " + mode, one);
            System.out.printf(Locale.ROOT, "%-34s p50 %.2f x floor, p99 %.2f x floor p50 (goals <= 1.3 and <= 3)%n",
                    "", one.getValueAtPercentile(50) / (double) floor.getValueAtPercentile(50),
                    one.getValueAtPercentile(99) / (double) floor.getValueAtPercentile(50));
            for (int window : new int[] {8, 64, 256}) {
                SmallJobs.throughput(client, rnd, N, window, Math.max(1, seconds / 2)); // warm-up
                System.out.printf(Locale.ROOT, "%-34s %10.0f jobs/s%n", window + " in flight, " + mode,
                        SmallJobs.throughput(client, rnd, N, window, seconds));
            }
        }
    }

    private static ProviderNode node(int batch) {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001")))
                .concurrency(2, 4096).receiptBatching(batch).build();
    }







}
