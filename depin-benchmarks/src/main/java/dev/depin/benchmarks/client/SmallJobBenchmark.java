package dev.depin.benchmarks.client;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

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
        Histogram floor = floor(seconds);
        System.out.println();
        System.out.printf(Locale.ROOT, "%-34s %10s %10s %10s %10s%n", "", "p50 us", "p90 us", "p99 us", "count");
        row("floor (2 sign + 2 verify, BC)", floor);
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
            oneInFlight(client, rnd, Math.max(2, seconds / 2)); // warm-up
            Histogram one = oneInFlight(client, rnd, seconds);
            row("one in flight, " + mode, one);
            System.out.printf(Locale.ROOT, "%-34s p50 %.2f x floor, p99 %.2f x floor p50 (goals <= 1.3 and <= 3)%n",
                    "", one.getValueAtPercentile(50) / (double) floor.getValueAtPercentile(50),
                    one.getValueAtPercentile(99) / (double) floor.getValueAtPercentile(50));
            for (int window : new int[] {8, 64, 256}) {
                throughput(client, rnd, window, Math.max(1, seconds / 2)); // warm-up
                System.out.printf(Locale.ROOT, "%-34s %10.0f jobs/s%n", window + " in flight, " + mode,
                        throughput(client, rnd, window, seconds));
            }
        }
    }

    private static ProviderNode node(int batch) {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001")))
                .concurrency(2, 4096).receiptBatching(batch).build();
    }

    private static Job job(SplittableRandom rnd) {
        float[] x = new float[N];
        float[] y = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", N).param("alpha", 2).input("x", x).input("y", y)
                .maxPrice(MicroUsd.ofUsd("0.01")).timeout(Duration.ofMinutes(1)).build();
    }

    private static Histogram oneInFlight(DepinClient client, SplittableRandom rnd, int seconds) {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < until) {
            Job job = job(rnd);
            long t0 = System.nanoTime();
            client.submit(job).result();
            h.recordValue(System.nanoTime() - t0);
        }
        return h;
    }

    private static double throughput(DepinClient client, SplittableRandom rnd, int window, int seconds)
            throws InterruptedException {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            jobs.add(job(rnd));
        }
        Semaphore slots = new Semaphore(window);
        List<CompletableFuture<?>> last = new ArrayList<>();
        long t0 = System.nanoTime();
        long until = t0 + TimeUnit.SECONDS.toNanos(seconds);
        long done = 0;
        int i = 0;
        while (System.nanoTime() < until) {
            slots.acquire();
            JobHandle h = client.submit(jobs.get(i++ & 1023));
            h.resultAsync().whenComplete((r, t) -> slots.release());
            if (last.size() < window) {
                last.add(h.resultAsync());
            } else {
                last.set((int) (done % window), h.resultAsync());
            }
            done++;
        }
        slots.acquire(window);
        long elapsed = System.nanoTime() - t0;
        for (CompletableFuture<?> f : last) {
            f.join(); // a failed job fails the benchmark
        }
        return done / (elapsed / 1e9);
    }

    /** Two signs and two verifies per sample, plain BouncyCastle, receipt- and wipe-sized payloads. */
    private static Histogram floor(int seconds) {
        SecureRandom random = new SecureRandom();
        Ed25519PrivateKeyParameters key = new Ed25519PrivateKeyParameters(random);
        Ed25519PublicKeyParameters pub = key.generatePublicKey();
        byte[] receipt = new byte[1600];
        byte[] wipe = new byte[1100];
        random.nextBytes(receipt);
        random.nextBytes(wipe);
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(1), 3);
        for (int phase = 0; phase < 2; phase++) {
            h.reset();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(phase == 0 ? Math.max(2, seconds / 2) : seconds);
            while (System.nanoTime() < until) {
                long t0 = System.nanoTime();
                byte[] s1 = sign(key, receipt);
                byte[] s2 = sign(key, wipe);
                if (!verify(pub, receipt, s1) || !verify(pub, wipe, s2)) {
                    throw new IllegalStateException("a fresh signature did not verify");
                }
                h.recordValue(System.nanoTime() - t0);
            }
        }
        return h;
    }

    private static byte[] sign(Ed25519PrivateKeyParameters key, byte[] m) {
        Ed25519Signer s = new Ed25519Signer();
        s.init(true, key);
        s.update(m, 0, m.length);
        return s.generateSignature();
    }

    private static boolean verify(Ed25519PublicKeyParameters pub, byte[] m, byte[] sig) {
        Ed25519Signer v = new Ed25519Signer();
        v.init(false, pub);
        v.update(m, 0, m.length);
        return v.verifySignature(sig);
    }

    private static void row(String name, Histogram h) {
        System.out.printf(Locale.ROOT, "%-34s %10.1f %10.1f %10.1f %10d%n", name, h.getValueAtPercentile(50) / 1e3,
                h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getTotalCount());
    }
}
