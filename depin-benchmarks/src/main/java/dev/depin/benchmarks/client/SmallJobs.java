package dev.depin.benchmarks.client;

import dev.depin.client.DepinClient;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
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
 * The measurements the small-job benchmarks share (in process and over the network): a
 * SAXPY job of a given size, latency with one job in flight, throughput with a window of
 * jobs in flight, and the signature floor timed with plain BouncyCastle.
 */
public final class SmallJobs {
    private SmallJobs() {
    }

    /**
     * A SAXPY job on {@code n} random floats, default verification, a one-minute timeout.
     *
     * @param rnd the seeded source of the inputs
     * @param n   the vector length
     * @return the job
     */
    public static Job job(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x).input("y", y)
                .maxPrice(MicroUsd.ofUsd("0.01")).timeout(Duration.ofMinutes(1)).build();
    }

    /**
     * Submits one job, waits for its verified result, and repeats for {@code seconds}.
     *
     * @param client  the client
     * @param rnd     the seeded source of the inputs
     * @param n       the vector length
     * @param seconds how long to measure
     * @return the latency of each job, in nanoseconds
     */
    public static Histogram oneInFlight(DepinClient client, SplittableRandom rnd, int n, int seconds) {
        Histogram h = new Histogram(3);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < until) {
            Job job = job(rnd, n);
            long t0 = System.nanoTime();
            client.submit(job).result();
            h.recordValue(System.nanoTime() - t0);
        }
        return h;
    }

    /**
     * Keeps {@code window} jobs in flight for {@code seconds} (a semaphore refills the window
     * as jobs complete); a failed job fails the measurement.
     *
     * @param client  the client
     * @param rnd     the seeded source of the inputs
     * @param n       the vector length
     * @param window  jobs in flight
     * @param seconds how long to measure
     * @return verified jobs per second
     * @throws InterruptedException if interrupted while waiting for a slot
     */
    public static double throughput(DepinClient client, SplittableRandom rnd, int n, int window, int seconds)
            throws InterruptedException {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            jobs.add(job(rnd, n));
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

    /**
     * The signature floor: two signs and two verifies per sample on one thread, with plain
     * BouncyCastle, on payloads the size of a receipt and a wipe attestation; after a
     * warm-up of half the time.
     *
     * @param seconds how long to measure
     * @return the time of each sample, in nanoseconds
     */
    public static Histogram floor(int seconds) {
        SecureRandom random = new SecureRandom();
        Ed25519PrivateKeyParameters key = new Ed25519PrivateKeyParameters(random);
        Ed25519PublicKeyParameters pub = key.generatePublicKey();
        byte[] receipt = new byte[1600];
        byte[] wipe = new byte[1100];
        random.nextBytes(receipt);
        random.nextBytes(wipe);
        Histogram h = new Histogram(3);
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

    /**
     * Prints one table row: name, p50, p90 and p99 in microseconds, and the sample count.
     *
     * @param width the name column's width
     * @param name  what was measured
     * @param h     the samples, in nanoseconds
     */
    public static void row(int width, String name, Histogram h) {
        System.out.printf(Locale.ROOT, "%-" + width + "s %10.1f %10.1f %10.1f %10d%n", name,
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getTotalCount());
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
}
