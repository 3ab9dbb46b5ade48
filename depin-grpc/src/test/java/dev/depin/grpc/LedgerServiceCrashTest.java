package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The settlement service killed with SIGKILL while operations are in flight, and started again
 * on the same file and port: the client's retries (same keys, across the reconnect) complete
 * every escrow, and the ledger read afterwards has every hold resolved exactly once, by the
 * operation meant for it, nothing held, the books summing to zero and a sound audit.
 */
class LedgerServiceCrashTest {
    private static final long SEED = 20261205_1L;
    private static final int ROUNDS = 2;
    private static final int JOBS_PER_ROUND = 24;

    @Test
    void killedService_restartedOnTheSameFile_resolvesEveryHoldOnce(@TempDir Path dir) throws Exception {
        System.out.println("LedgerServiceCrashTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair ledgerKey = NodeKeyPair.fromSeed(seed(rnd));
        NodeKeyPair operatorKey = NodeKeyPair.fromSeed(seed(rnd));
        Path file = dir.resolve("ledger.db");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        AccountId buyer = AccountId.of("buyer:crash");
        AccountId provider = AccountId.of("provider:" + NodeKeyPair.fromSeed(seed(rnd)).nodeId().hex());
        Process service = start(file, port, ledgerKey, operatorKey);
        long posted = 0;
        List<OperationKey> expectedPosts = new ArrayList<>();
        List<OperationKey> expectedVoids = new ArrayList<>();
        try (RemoteSettlement ledger = RemoteSettlement.builder(operatorKey, "127.0.0.1:" + port, ledgerKey.publicKey())
                .retry(new RetryPolicy(100, Duration.ofMillis(50), Duration.ofSeconds(1), 0.5))
                .callTimeout(Duration.ofSeconds(20)).connect()) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.open(provider, AccountKind.PROVIDER, false).join();
            Applied fund = ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1000"))).join();
            String spec = "ab".repeat(32);
            for (int round = 0; round < ROUNDS; round++) {
                List<CompletableFuture<Applied>> flows = new ArrayList<>();
                java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();
                for (int j = 0; j < JOBS_PER_ROUND; j++) {
                    String base = "buyer:crash/r" + round + "j" + j + "/0/";
                    OperationKey hold = OperationKey.of(base + "hold");
                    long amount = 1_000 + rnd.nextInt(9_000);
                    boolean pay = rnd.nextBoolean();
                    if (pay) {
                        posted += amount / 2;
                        expectedPosts.add(OperationKey.of(base + "post"));
                    } else {
                        expectedVoids.add(OperationKey.of(base + "void"));
                    }
                    flows.add(ledger.apply(new Operation.Hold(hold, buyer, provider, MicroUsd.ofMicros(amount),
                            Instant.now().plus(Duration.ofHours(1)), Optional.of(spec))).thenCompose(h -> {
                                assertTrue(h.certificate().isPresent(), "a certified hold");
                                held.incrementAndGet();
                                return ledger.apply(pay ? new Operation.Post(OperationKey.of(base + "post"), hold,
                                        MicroUsd.ofMicros(amount / 2)) : new Operation.VoidHold(OperationKey.of(base + "void"), hold));
                            }));
                }
                // Killed once a seeded number of holds were answered: the rest, and the posts and
                // voids behind the answered ones, are in flight or not yet sent.
                int target = 1 + rnd.nextInt(JOBS_PER_ROUND - 1);
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (held.get() < target && System.nanoTime() < until) {
                    Thread.sleep(1);
                }
                service.destroyForcibly(); // SIGKILL: no shutdown hook, no close, no flush
                assertTrue(service.waitFor(30, TimeUnit.SECONDS));
                int done = (int) flows.stream().filter(CompletableFuture::isDone).count();
                System.out.println("round " + round + ": killed with " + held.get() + " holds and " + done + " of "
                        + JOBS_PER_ROUND + " escrows answered");
                service = start(file, port, ledgerKey, operatorKey);
                for (CompletableFuture<Applied> f : flows) {
                    f.get(120, TimeUnit.SECONDS);
                }
                // A retry of an applied operation, after the restart, returns the original result.
                Operation again = new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1000"));
                assertEquals(fund, ledger.apply(again).join());
            }
            assertEquals(List.of(), ledger.openHolds());
        } finally {
            service.destroyForcibly();
            service.waitFor(30, TimeUnit.SECONDS);
        }
        try (JdbcLedger jdbc = JdbcLedger.sqlite(file)) {
            LedgerBooks.assertClosed(jdbc);
            assertEquals(posted, jdbc.balance(provider).posted(), "each post paid once");
            assertEquals(1_000_000_000 - posted, jdbc.balance(buyer).posted());
            for (OperationKey p : expectedPosts) {
                HoldRecord h = jdbc.hold(OperationKey.of(p.value().replace("/post", "/hold"))).orElseThrow();
                assertEquals(HoldRecord.State.POSTED, h.state());
                assertEquals(Optional.of(p), h.resolvedBy());
            }
            for (OperationKey v : expectedVoids) {
                HoldRecord h = jdbc.hold(OperationKey.of(v.value().replace("/void", "/hold"))).orElseThrow();
                assertEquals(HoldRecord.State.VOIDED, h.state());
                assertEquals(Optional.of(v), h.resolvedBy());
            }
            assertEquals(1 + expectedPosts.size(), jdbc.statement(buyer).size(), "a mint and one line per post");
        }
    }

    static byte[] seed(SplittableRandom rnd) {
        byte[] b = new byte[32];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    /** Starts {@link LedgerServiceProcess} on the file and port, with its optional last argument. */
    static Process start(Path file, int port, NodeKeyPair ledgerKey, NodeKeyPair operator, String... extra)
            throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> command = new ArrayList<>(List.of(java, "-cp", classPath, "-Xmx256m", "-XX:TieredStopAtLevel=1",
                LedgerServiceProcess.class.getName(), file.toString(), String.valueOf(port),
                Hex.encode(ledgerKey.seed()), Hex.encode(operator.publicKey().raw())));
        command.addAll(List.of(extra));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null && line.startsWith("SERVING "), "the service started: " + line);
        return p;
    }
}
