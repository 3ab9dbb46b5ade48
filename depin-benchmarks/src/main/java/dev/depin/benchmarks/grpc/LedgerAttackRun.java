package dev.depin.benchmarks.grpc;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.LedgerServer;
import dev.depin.grpc.RemoteSettlement;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.HdrHistogram.Histogram;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The settlement service ({@code depin ledger serve}'s {@link LedgerServer}, default limits, on an
 * SQLite {@link JdbcLedger}) under attack while honest buyers hold and post (a benchmark, not a
 * test): 4 honest buyers, each with its own granted key and account, loop a 1 µUSD hold and its
 * post; each phase reports their successes, failures and the latency of a hold-and-post pair
 * (p50, p99) beside the quiet phase of the same run. Attacks: {@code hammer}, 8 threads of a
 * stranger's {@link RemoteSettlement} (a self-made key the service grants nothing) applying holds
 * from an honest buyer's account, 64 in flight per thread, as fast as they are refused;
 * {@code batches}, {@value #HEAVY} granted keys of one address (loopback), each a
 * {@link RemoteSettlement} fed by 4 threads keeping 1,024 of its own valid holds in flight, so
 * that big batches of real work fill the writer and the service's bounds on operations in
 * flight (per key, per address, the fair share) decide who gets in. The
 * attacker runs in this JVM (the service's process), so the figures include its CPU on the same
 * two cores. (Slowloris, stalled readers and streams past the limit need a client that is not
 * gRPC's: they are in depin-grpc's {@code LedgerAttackTest}, with a raw HTTP/2 client.)
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.LedgerAttackRun [seconds per phase]} (default 20).
 */
public final class LedgerAttackRun {
    private static final int HONEST = 4;
    private static final int HEAVY = 4;
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());

    private LedgerAttackRun() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path dir = Files.createTempDirectory("ledger-attack");
        NodeKeyPair operatorKey = NodeKeyPair.generate();
        List<NodeKeyPair> buyers = new ArrayList<>();
        LedgerAccess.Builder rules = LedgerAccess.builder().operator(operatorKey.publicKey());
        for (int i = 0; i < HONEST; i++) {
            NodeKeyPair k = NodeKeyPair.generate();
            buyers.add(k);
            rules.grant(Hex.encode(k.publicKey().raw()) + "=buyer:h" + i);
        }
        List<NodeKeyPair> heavy = new ArrayList<>();
        for (int i = 0; i < HEAVY; i++) {
            NodeKeyPair k = NodeKeyPair.generate();
            heavy.add(k);
            rules.grant(Hex.encode(k.publicKey().raw()) + "=buyer:heavy" + i);
        }
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).open();
             LedgerServer server = LedgerServer.builder(jdbc, LEDGER_KEY, rules.build()).meterRegistry(meters).start()) {
            try (RemoteSettlement op = client(operatorKey, server)) {
                op.open(PROVIDER, AccountKind.PROVIDER, false).join();
                for (int i = 0; i < HONEST; i++) {
                    op.open(AccountId.of("buyer:h" + i), AccountKind.BUYER, false).join();
                    op.apply(new Operation.Mint(OperationKey.of("fund-h" + i), AccountId.of("buyer:h" + i),
                            MicroUsd.ofMicros(1_000_000_000_000L))).join();
                }
                for (int i = 0; i < HEAVY; i++) {
                    op.open(AccountId.of("buyer:heavy" + i), AccountKind.BUYER, false).join();
                    op.apply(new Operation.Mint(OperationKey.of("fund-heavy" + i), AccountId.of("buyer:heavy" + i),
                            MicroUsd.ofMicros(1_000_000_000_000L))).join();
                }
            }
            System.out.printf(Locale.ROOT, "LedgerAttackRun: %d s per phase, %d honest buyers, load %s%n", seconds,
                    HONEST, load());
            List<RemoteSettlement> honest = new ArrayList<>();
            for (NodeKeyPair k : buyers) {
                honest.add(client(k, server));
            }
            try {
                Phase quiet = phase("warm-up", seconds, honest, server, meters, null);
                quiet = phase("quiet", seconds, honest, server, meters, null);
                phase("hammer", seconds, honest, server, meters, quiet);
                HEAVY_KEYS.addAll(heavy);
                phase("batches", seconds, honest, server, meters, quiet);
                phase("quiet again", seconds, honest, server, meters, quiet);
            } finally {
                honest.forEach(RemoteSettlement::close);
            }
            long sum = jdbc.balances().stream().mapToLong(Balance::posted).sum();
            System.out.printf(Locale.ROOT, "books: audit %s, posted sum %d, open holds %d%n",
                    jdbc.audit().sound() ? "sound" : jdbc.audit().violations(), sum, jdbc.openHolds().size());
        }
    }

    private static RemoteSettlement client(NodeKeyPair key, LedgerServer server) {
        return RemoteSettlement.builder(key, server.address(), LEDGER_KEY.publicKey())
                .callTimeout(Duration.ofSeconds(60)).connect();
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private record Phase(long ok, long failed, long p50, long p99) {
    }

    /** The granted keys of the {@code batches} phase. */
    private static final List<NodeKeyPair> HEAVY_KEYS = new ArrayList<>();

    private static Phase phase(String name, int seconds, List<RemoteSettlement> honest, LedgerServer server,
                               SimpleMeterRegistry meters, Phase quiet) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> attackers = new ArrayList<>();
        AtomicLong hostile = new AtomicLong();
        AtomicInteger peakOpen = new AtomicInteger();
        List<AutoCloseable> closing = new ArrayList<>();
        if (name.equals("hammer")) {
            RemoteSettlement stranger = client(NodeKeyPair.generate(), server);
            closing.add(stranger);
            for (int t = 0; t < 8; t++) {
                int thread = t;
                attackers.add(new Thread(() -> {
                    for (long i = 0; !stop.get(); i++) {
                        List<CompletableFuture<?>> window = new ArrayList<>();
                        for (int j = 0; j < 64; j++) {
                            window.add(stranger.apply(new Operation.Hold(OperationKey.of("x/" + thread + "/" + i + "/" + j),
                                    AccountId.of("buyer:h0"), PROVIDER, MicroUsd.ofMicros(1),
                                    Instant.now().plus(Duration.ofMinutes(5)), Optional.empty())));
                        }
                        for (CompletableFuture<?> f : window) {
                            f.handle((v, e) -> null).join();
                            hostile.incrementAndGet();
                        }
                    }
                }));
            }
        }
        if (name.equals("batches")) {
            for (int h = 0; h < HEAVY_KEYS.size(); h++) {
                RemoteSettlement big = client(HEAVY_KEYS.get(h), server);
                closing.add(big);
                AccountId account = AccountId.of("buyer:heavy" + h);
                for (int t = 0; t < 4; t++) {
                    String prefix = "heavy/" + h + "/" + t + "/";
                    attackers.add(new Thread(() -> {
                        for (long i = 0; !stop.get(); i++) {
                            List<CompletableFuture<?>> window = new ArrayList<>();
                            for (int j = 0; j < 1024; j++) {
                                window.add(big.apply(new Operation.Hold(OperationKey.of(prefix + i + "/" + j), account,
                                        PROVIDER, MicroUsd.ofMicros(1), Instant.now().plus(Duration.ofMinutes(5)),
                                        Optional.empty())));
                            }
                            for (CompletableFuture<?> f : window) {
                                f.handle((v, e) -> null).join();
                                hostile.incrementAndGet();
                            }
                        }
                    }));
                }
            }
        }
        attackers.forEach(t -> {
            t.setDaemon(true);
            t.start();
        });
        Histogram latency = new Histogram(60_000_000_000L, 3);
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicBoolean measuring = new AtomicBoolean();
        List<Thread> honestThreads = new ArrayList<>();
        for (int b = 0; b < honest.size(); b++) {
            RemoteSettlement buyer = honest.get(b);
            AccountId account = AccountId.of("buyer:h" + b);
            String prefix = name.replace(' ', '-') + "/" + b + "/";
            Thread t = new Thread(() -> {
                for (long i = 0; !stop.get(); i++) {
                    long t0 = System.nanoTime();
                    try {
                        OperationKey hold = OperationKey.of(prefix + i + "/hold");
                        buyer.apply(new Operation.Hold(hold, account, PROVIDER, MicroUsd.ofMicros(1),
                                Instant.now().plus(Duration.ofMinutes(5)), Optional.empty())).join();
                        buyer.apply(new Operation.Post(OperationKey.of(prefix + i + "/post"), hold,
                                MicroUsd.ofMicros(1))).join();
                        if (measuring.get()) {
                            ok.incrementAndGet();
                            synchronized (latency) {
                                latency.recordValue(Math.min(System.nanoTime() - t0, 59_000_000_000L));
                            }
                        }
                    } catch (RuntimeException e) {
                        if (measuring.get()) {
                            failed.incrementAndGet();
                        }
                    }
                }
            });
            t.setDaemon(true);
            honestThreads.add(t);
            t.start();
        }
        // The attack settles for a second before honest work is counted.
        Thread.sleep(1000);
        measuring.set(true);
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            peakOpen.accumulateAndGet(server.openCalls(), Math::max);
            Thread.sleep(50);
        }
        measuring.set(false);
        stop.set(true);
        for (Thread t : honestThreads) {
            t.join(60_000);
        }
        for (Thread t : attackers) {
            t.join(60_000);
        }
        for (AutoCloseable c : closing) {
            c.close();
        }
        Phase p = new Phase(ok.get(), failed.get(), latency.getValueAtPercentile(50), latency.getValueAtPercentile(99));
        double success = p.ok + p.failed == 0 ? 0 : 100.0 * p.ok / (p.ok + p.failed);
        System.out.printf(Locale.ROOT, "%-12s honest %6d ok %4d failed (%.2f %%), %6.1f pairs/s, p50 %6.2f ms, p99 %7.2f ms"
                        + "%s; hostile requests %d; calls open peak %d; refusals: transport %d, calls %s, operations "
                        + "(since start) key/address/fair share/total %d/%d/%d/%d; load %s%n",
                name, p.ok, p.failed, success, p.ok / (double) seconds, p.p50 / 1e6, p.p99 / 1e6,
                quiet == null ? "" : String.format(Locale.ROOT, " (p99 %.2fx quiet)", p.p99 / (double) quiet.p99),
                hostile.get(), peakOpen.get(), server.transportRefusals(), refusedCalls(meters),
                server.refusals("operations_per_key"), server.refusals("operations_per_address"),
                server.refusals("operations_fair_share"), server.refusals("operations_total"), load());
        return p;
    }

    private static String refusedCalls(SimpleMeterRegistry meters) {
        StringBuilder b = new StringBuilder("{");
        meters.find("depin.ledger.calls").counters().stream()
                .filter(c -> !"ok".equals(c.getId().getTag("status")) && c.count() > 0)
                .forEach(c -> b.append(b.length() > 1 ? ", " : "").append(c.getId().getTag("method")).append('/')
                        .append(c.getId().getTag("status")).append('=').append((long) c.count()));
        return b.append('}').toString();
    }
}
