package dev.depin.ledger;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A buyer process killed with SIGKILL while its jobs are escrowed and running: a client
 * built afterwards with the same session finds the holds in the ledger and resolves each
 * exactly once (void before expiry, expire after), and the ledger balances.
 */
class EscrowRecoveryTest {
    private static final AccountId BUYER = AccountId.of("buyer:crashy");
    private static final int JOBS = 7;
    private static final long MAX = 12_345;

    /** Runs the child buyer until its jobs are held, kills it, and returns the ledger file. */
    private static Path crashedBuyer(String session) throws Exception {
        Path file = Databases.temporaryDirectory("depin-escrow-crash").resolve("ledger.db");
        try (JdbcLedger ledger = JdbcLedger.sqlite(file)) {
            fund(ledger);
        }
        killAfterHeld(file, session);
        return file;
    }

    private static void fund(JdbcLedger ledger) {
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("1"))).join();
    }

    /**
     * Starts the child buyer on {@code file} (with the jobs' timeout and expiry grace in
     * milliseconds, if given), waits until every job is escrowed and dispatched, and kills it
     * with SIGKILL.
     */
    private static void killAfterHeld(Path file, String session, String... timing) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> command = new java.util.ArrayList<>(List.of(java, "-cp", classPath, "-Xmx256m",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", EscrowBuyerProcess.class.getName(), file.toString(),
                session, Integer.toString(JOBS), Long.toString(MAX), BUYER.value()));
        command.addAll(List.of(timing));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line;
            String held = null;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null) {
                seen.append(line).append('\n');
                if (line.startsWith("HELD ")) {
                    held = line;
                    break;
                }
            }
            assertEquals("HELD " + JOBS, held, "the child buyer never held its jobs:\n" + seen);
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no close
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
    }

    private static ProviderNode honestNode() {
        return ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).build();
    }

    private static void assertBalanced(JdbcLedger ledger) {
        long sum = 0;
        for (Balance b : ledger.balances()) {
            sum += b.posted();
            assertEquals(0, b.held(), b.toString());
        }
        assertEquals(0, sum);
        assertEquals(List.of(), ledger.openHolds());
    }

    @Test
    void restartedBuyer_voidsTheHoldsItsPredecessorLeftOpenExactlyOnce() throws Exception {
        Path file = crashedBuyer("batch-7");
        try (JdbcLedger ledger = JdbcLedger.sqlite(file)) {
            List<OpenHold> open = ledger.openHolds();
            assertEquals(JOBS, open.size(), "every acknowledged hold is durable");
            assertEquals(JOBS * MAX, ledger.balance(BUYER).held());
            // Another session's client resolves nothing of this one.
            try (LocalNetwork net = LocalNetwork.of(List.of(honestNode()));
                 DepinClient other = DepinClient.builder(net)
                         .escrow(Escrow.builder(ledger, BUYER).session("someone-else").build()).build()) {
                assertEquals(List.of(), other.recovered());
            }
            assertEquals(JOBS, ledger.openHolds().size());
            try (LocalNetwork net = LocalNetwork.of(List.of(honestNode()));
                 DepinClient client = DepinClient.builder(net)
                         .escrow(Escrow.builder(ledger, BUYER).session("batch-7").build()).build()) {
                List<Applied> recovered = client.recovered();
                assertEquals(JOBS, recovered.size());
                recovered.forEach(a -> assertInstanceOf(Operation.VoidHold.class, a.operation()));
                assertEquals(1_000_000, ledger.balance(BUYER).posted());
                assertEquals(0, ledger.balance(BUYER).held());
                // The restarted client works: a new job settles normally.
                JobResult r = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", 3).param("alpha", 2)
                        .input("x", new float[] {1, 2, 3}).input("y", new float[] {1, 1, 1})
                        .maxPrice(MicroUsd.ofMicros(MAX)).timeout(Duration.ofSeconds(60)).build()).result();
                assertEquals(JobState.SETTLED, r.history().get(r.history().size() - 1).state());
                assertEquals(1_000_000 - r.cost().micros(), ledger.balance(BUYER).posted());
            }
            // A third start finds nothing left to resolve.
            try (LocalNetwork net = LocalNetwork.of(List.of(honestNode()));
                 DepinClient again = DepinClient.builder(net)
                         .escrow(Escrow.builder(ledger, BUYER).session("batch-7").build()).build()) {
                assertEquals(List.of(), again.recovered());
            }
            assertBalanced(ledger);
        }
    }

    @Test
    void restartAfterTheHoldsExpired_expiresThem() throws Exception {
        Path file = crashedBuyer("batch-x");
        // The ledger and the client both run an hour later: past every hold's expiry (deadline + 1 minute).
        Clock later = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).clock(later).expirySweep(Duration.ZERO).open()) {
            assertEquals(JOBS, ledger.openHolds().size());
            try (LocalNetwork net = LocalNetwork.of(List.of(honestNode()));
                 DepinClient client = DepinClient.builder(net).clock(later)
                         .escrow(Escrow.builder(ledger, BUYER).session("batch-x").build()).build()) {
                List<Applied> recovered = client.recovered();
                assertEquals(JOBS, recovered.size());
                recovered.forEach(a -> assertInstanceOf(Operation.Expire.class, a.operation()));
            }
            assertEquals(1_000_000, ledger.balance(BUYER).posted());
            assertBalanced(ledger);
        }
    }

    /**
     * Nobody comes back: the buyer is killed with its jobs escrowed, and a ledger that was open
     * on the same file all along (as a settlement service is) expires every hold itself,
     * durably and once, within a second of its expiry by the ledger's own record.
     */
    @Test
    void killedBuyer_itsHoldsExpireInTheLedgerWithNobodyComingBack() throws Exception {
        Path file = Databases.temporaryDirectory("depin-escrow-expiry").resolve("ledger.db");
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(file).expirySweep(Duration.ofMillis(100)).open()) {
            fund(ledger);
            // Jobs time out 4 s after submission and their holds expire 1 ms later.
            killAfterHeld(file, "gone", "4000", "1");
            long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // a bound, not an assertion
            while (!ledger.openHolds().isEmpty() && System.nanoTime() < waitUntil) {
                Thread.sleep(50);
            }
            assertEquals(List.of(), ledger.openHolds(), "holds left open by the killed buyer");
            try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file);
                 java.sql.Statement s = c.createStatement();
                 java.sql.ResultSet rs = s.executeQuery("SELECT h.hold_key, h.expires_ms, h.state, h.resolved_by,"
                         + " o.at_ms FROM holds h JOIN ops o ON o.op_key = h.resolved_by ORDER BY h.hold_key")) {
                int holds = 0;
                while (rs.next()) {
                    holds++;
                    OperationKey hold = OperationKey.of(rs.getString(1));
                    assertEquals("EXPIRED", rs.getString(3), hold.value());
                    assertEquals(JdbcLedger.expiryKey(hold).value(), rs.getString(4), hold.value());
                    long late = rs.getLong(5) - rs.getLong(2);
                    assertTrue(late >= 0 && late <= 1000, hold + " expired " + late + " ms after its expiry");
                }
                assertEquals(JOBS, holds);
            }
            LedgerAudit audit = ledger.audit();
            assertEquals(List.of(), audit.violations());
            assertEquals(0, audit.openHolds());
            assertBalanced(ledger);
            assertEquals(1_000_000, ledger.balance(BUYER).posted());
            // The buyer restarted much later finds nothing left to resolve.
            try (LocalNetwork net = LocalNetwork.of(List.of(honestNode()));
                 DepinClient client = DepinClient.builder(net)
                         .escrow(Escrow.builder(ledger, BUYER).session("gone").build()).build()) {
                assertEquals(List.of(), client.recovered());
            }
        }
    }
}
