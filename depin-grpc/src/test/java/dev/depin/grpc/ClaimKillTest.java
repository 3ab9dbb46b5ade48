package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A provider node killed with SIGKILL after it ran a paid job and before it claimed: restarted
 * on the same claim journal, it claims at once, and the buyer that vanished without posting
 * pays once, after the dispute window.
 */
class ClaimKillTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");

    @Test
    void kill9_nodeBeforeItClaimed_restartedOnItsJournal_isPaidOnce(@TempDir Path tmp) throws Exception {
        byte[] seed = new byte[32];
        new SecureRandom().nextBytes(seed);
        NodeKeyPair nodeKey = NodeKeyPair.fromSeed(seed);
        AccountId provider = Escrow.providerAccount(nodeKey.nodeId());
        Path journal = tmp.resolve("claims.journal");
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(tmp.resolve("ledger.db")).certifyHolds(LEDGER_KEY)
                .expirySweep(Duration.ofMillis(20)).disputeWindow(Duration.ofSeconds(1)).open();
             LedgerServer service = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder()
                     .grant(BUYER_KEY.publicKey(), BUYER).build()).start();
             DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            jdbc.open(BUYER, AccountKind.BUYER, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("10"))).join();
            String[] args = {dir.address(), Hex.encode(seed), service.address(), Hex.encode(LEDGER_KEY.publicKey().raw()),
                journal.toString(), String.valueOf(Duration.ofHours(1).toMillis())};
            Process first = start(args);
            OperationKey hold;
            try {
                BufferedReader out = await(first, "LISTENING ");
                try (GrpcNetwork net = GrpcNetwork.builder().directory(dir.address()).offerCache(Duration.ZERO).build();
                     RemoteSettlement remote = RemoteSettlement.builder(BUYER_KEY, service.address(),
                             LEDGER_KEY.publicKey()).connect();
                     DepinClient client = DepinClient.builder(net).maxAttempts(1)
                             .escrow(Escrow.builder(new NeverPays(remote), BUYER).build()).build()) {
                    float[] x = {1, 2, 3, 4};
                    assertThrows(JobFailedException.class, () -> client.submit(Job.builder(BuiltinKernel.SAXPY)
                            .param("n", 4).param("alpha", 2).input("x", x).input("y", x)
                            .maxPrice(MicroUsd.ofMicros(100_000)).timeout(Duration.ofSeconds(60)).build()).result(),
                            "the buyer vanishes before it pays");
                }
                String paid = readUntil(out, "PAID ");
                hold = OperationKey.of(paid.substring("PAID ".length()).trim());
                first.destroyForcibly(); // SIGKILL, an hour before the claimer would have looked
                assertTrue(first.waitFor(10, TimeUnit.SECONDS));
            } finally {
                first.destroyForcibly();
            }
            assertEquals(HoldRecord.State.OPEN, jdbc.hold(hold).orElseThrow().state(), "nobody claimed yet");
            Process second = start(args);
            try {
                await(second, "LISTENING ");
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // a bound, not an assertion
                while (jdbc.hold(hold).orElseThrow().state() != HoldRecord.State.POSTED && System.nanoTime() < until) {
                    Thread.sleep(20);
                }
            } finally {
                second.destroyForcibly();
                second.waitFor(10, TimeUnit.SECONDS);
            }
            HoldRecord h = jdbc.hold(hold).orElseThrow();
            assertEquals(HoldRecord.State.POSTED, h.state(), "the restarted node claimed from its journal");
            assertEquals(Optional.of(JdbcLedger.claimPostKey(hold)), h.resolvedBy());
            assertEquals(h.claim().orElseThrow().amount().micros(), jdbc.balance(provider).posted(), "paid once");
            assertEquals(0, jdbc.balance(BUYER).held());
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
        }
    }

    private static Process start(String[] args) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-cp", classPath, "-Xmx256m",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", ClaimingNodeProcess.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static BufferedReader await(Process p, String prefix) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        readUntil(out, prefix);
        return out;
    }

    private static String readUntil(BufferedReader out, String prefix) throws Exception {
        StringBuilder said = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith(prefix)) {
                return line;
            }
            said.append(line).append('\n');
        }
        throw new AssertionError("the node process never printed " + prefix + ":\n" + said);
    }

    /** A buyer's settlement that holds but never posts: the buyer vanishes with its result. */
    private static final class NeverPays extends ForwardingSettlement {
        NeverPays(RemoteSettlement inner) {
            super(inner);
        }

        @Override
        public CompletableFuture<Applied> apply(Operation op) {
            return op instanceof Operation.Post ? CompletableFuture.failedFuture(
                    new LedgerFailureException("the buyer vanished before it paid")) : inner.apply(op);
        }
    }
}
