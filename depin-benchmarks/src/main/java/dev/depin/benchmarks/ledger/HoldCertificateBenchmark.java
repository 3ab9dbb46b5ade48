package dev.depin.benchmarks.ledger;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.VerifiedRoots;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-hold cost of hold certificates: version 1 (one Ed25519 signature per hold) against
 * version 2 (one signed RFC 6962 root per batch of {@code holds}, an audit path per hold), in the
 * same run. Every call handles <b>one hold</b>, so every score is µs per hold; the v2 benchmarks
 * sign a new batch (or start a fresh {@link VerifiedRoots}, an empty cache) every {@code holds}
 * calls, so the batch's one signature and its one verification are amortised over exactly
 * {@code holds} holds. Each hold is what a provider receives: encoded, parsed and verified.
 * <ul>
 *   <li>{@code v1SignAndVerify}: the ledger signs the hold's v1 certificate, the node parses it
 *       and checks it (one sign, one verify per hold);</li>
 *   <li>{@code v2SignAndVerify}: the ledger certifies the batch ({@link HoldCertificate#issueBatch})
 *       once per {@code holds} calls; the node parses each certificate and checks it with one
 *       {@link VerifiedRoots} per batch (one root verify per batch, one audit path per hold);</li>
 *   <li>{@code v1Verify}, {@code v2Verify}: the node's half alone, certificates signed in setup.</li>
 * </ul>
 *
 * <p>Run (as in docs/benchmarks.md):
 * <pre>
 * mvn -B -q -o -pl depin-benchmarks -am -DskipTests package
 * java -jar depin-benchmarks/target/benchmarks.jar 'ledger.HoldCertificateBenchmark' -f 1 -wi 2 -i 3
 * </pre>
 * On a machine shared with other work, wall-clock scores say more about the neighbours than about
 * the code; {@link #main} runs the same four calls and reports the calling thread's <em>CPU</em>
 * time per hold (and wall time beside it):
 * <pre>
 * java -cp depin-benchmarks/target/benchmarks.jar dev.depin.benchmarks.ledger.HoldCertificateBenchmark [holds-per-size]
 * </pre>
 */
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
public class HoldCertificateBenchmark extends BenchmarkBase {
    private static final Instant EXPIRES = Instant.parse("2030-01-01T00:00:00Z");
    private static final Instant NOW = Instant.parse("2029-01-01T00:00:00Z");
    private static final Price PRICE = new Price(MicroUsd.ofMicros(250), MicroUsd.ofMicros(10_000));

    /** Holds per batch (v2) and per cycle of calls. */
    @Param({"1", "16", "256", "1024"})
    public int holds;

    private NodeKeyPair ledger;
    private NodeKeyPair node;
    private final List<Operation.Hold> batch = new ArrayList<>();
    private final List<byte[]> v1Signed = new ArrayList<>();
    private final List<byte[]> v2Signed = new ArrayList<>();
    private List<HoldCertificate> current;
    private VerifiedRoots roots;
    private int next;

    /** Prepares {@code holds} holds and their certificates of both versions. */
    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(SEED);
        ledger = NodeKeyPair.fromSeed(seed(r));
        node = NodeKeyPair.fromSeed(seed(r));
        for (int i = 0; i < holds; i++) {
            batch.add(new Operation.Hold(OperationKey.of("buyer:b" + (i % 64) + "/job" + i + "/0/hold"),
                    AccountId.of("buyer:b" + (i % 64)), Escrow.providerAccount(node.nodeId()),
                    MicroUsd.ofMicros(2_000), EXPIRES, Optional.of(Hex.encode(seed(r))), Optional.of(PRICE)));
            v1Signed.add(HoldCertificate.issue(batch.get(i), ledger).toBytes());
        }
        for (HoldCertificate c : HoldCertificate.issueBatch(batch, ledger)) {
            v2Signed.add(c.toBytes());
        }
    }

    private static byte[] seed(SplittableRandom r) {
        byte[] s = new byte[32];
        r.nextBytes(s);
        return s;
    }

    private int next() {
        int i = next;
        next = i + 1 == holds ? 0 : i + 1;
        return i;
    }

    private void check(byte[] certificate, VerifiedRoots cache) {
        HoldCertificate c = HoldCertificate.parse(certificate);
        c.verify(ledger.publicKey(), node.nodeId(), c.specHash(), PRICE, NOW, cache);
    }

    /**
     * The four calls for 1, 16, 256 and 1,024 holds per batch, each run over at least
     * {@code args[0]} holds (default 8,192) after as many for warm-up; prints CPU and wall µs per hold.
     *
     * @param args optional: holds measured per call and size
     */
    public static void main(String[] args) {
        int total = args.length > 0 ? Integer.parseInt(args[0]) : 8_192;
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        System.out.printf(java.util.Locale.ROOT, "load average %.2f, %d holds per measurement, %s%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), total,
                Runtime.version());
        System.out.printf(java.util.Locale.ROOT, "%-16s %6s %12s %12s%n", "call", "holds", "cpu us/hold", "wall us/hold");
        String[] names = {"v1SignAndVerify", "v2SignAndVerify", "v1Verify", "v2Verify"};
        for (int size : new int[] {1, 16, 256, 1024}) {
            HoldCertificateBenchmark b = new HoldCertificateBenchmark();
            b.holds = size;
            b.setUp();
            java.util.List<java.util.function.IntSupplier> calls = java.util.List.of(b::v1SignAndVerify,
                    b::v2SignAndVerify, b::v1Verify, b::v2Verify);
            int n = (Math.max(total, size) + size - 1) / size * size;
            for (int k = 0; k < calls.size(); k++) {
                b.next = 0;
                for (int i = 0; i < n; i++) {
                    calls.get(k).getAsInt();
                }
                long cpu = threads.getCurrentThreadCpuTime();
                long wall = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    calls.get(k).getAsInt();
                }
                System.out.printf(java.util.Locale.ROOT, "%-16s %6d %12.1f %12.1f%n", names[k], size,
                        (threads.getCurrentThreadCpuTime() - cpu) / 1e3 / n, (System.nanoTime() - wall) / 1e3 / n);
            }
        }
    }

    /** @return one hold: sign its v1 certificate, parse and verify it */
    @Benchmark
    public int v1SignAndVerify() {
        int i = next();
        check(HoldCertificate.issue(batch.get(i), ledger).toBytes(), null);
        return i;
    }

    /** @return one hold of a v2 batch: the batch signed on its first hold, then parse and verify */
    @Benchmark
    public int v2SignAndVerify() {
        int i = next();
        if (i == 0) {
            current = HoldCertificate.issueBatch(batch, ledger);
            roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
        }
        check(current.get(i).toBytes(), roots);
        return i;
    }

    /** @return one v1 certificate parsed and verified (the node's half) */
    @Benchmark
    public int v1Verify() {
        int i = next();
        check(v1Signed.get(i), null);
        return i;
    }

    /** @return one v2 certificate parsed and verified, the root's signature once per batch (a fresh cache) */
    @Benchmark
    public int v2Verify() {
        int i = next();
        if (i == 0) {
            roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
        }
        check(v2Signed.get(i), roots);
        return i;
    }
}
