package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.settlement.Balance;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Kills a JVM that writes an SQLite ledger with SIGKILL at random moments, 50 times over the
 * same file, and checks after each kill that every operation the child acknowledged is in
 * the ledger exactly once, that the total minted is unchanged, and that the audit is sound.
 */
class LedgerCrashTest {
    private static final int TRIALS = Integer.getInteger("ledger.crashTrials", 50);

    @Test
    void killNine_losesNoAcknowledgedOperationAndAppliesNoneTwice() throws Exception {
        long seed = LedgerInvariantTest.SEED;
        System.out.println("LedgerCrashTest: " + TRIALS + " trials, seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        Path file = Databases.temporaryDirectory("depin-crash").resolve("ledger.db");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = System.getProperty("java.class.path");
        long totalAcked = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            Process child = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", classPath,
                    CrashWriter.class.getName(), file.toString(), "t" + trial)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            List<String> acked = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready = in.readLine();
            assertEquals("READY", ready, "trial " + trial + ": the child did not start");
            long killAfterMs = 20 + rnd.nextInt(400);
            Thread reader = new Thread(() -> {
                try {
                    for (String line; (line = in.readLine()) != null; ) {
                        // a line cut by the kill has no terminator and is not an acknowledgement
                        if (line.startsWith("ACK ") && line.endsWith(" .")) {
                            acked.add(line.substring(4, line.length() - 2));
                        }
                    }
                } catch (java.io.IOException ignored) {
                    // the pipe closes when the child dies
                }
            });
            reader.start();
            Thread.sleep(killAfterMs);
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no close, no flush
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
            reader.join();
            try (JdbcLedger ledger = JdbcLedger.sqlite(file)) {
                long before = ledger.audit().operations();
                for (String key : acked) {
                    Operation op = CrashWriter.operation(key);
                    assertEquals(op, ledger.apply(op).join().operation());
                }
                LedgerAudit audit = ledger.audit();
                assertEquals(before, audit.operations(),
                        "trial " + trial + ": an acknowledged operation was missing and applied only now");
                assertTrue(audit.sound(), "trial " + trial + ": " + audit.violations());
                assertEquals(CrashWriter.ACCOUNTS * CrashWriter.FUNDS, audit.minted(), "trial " + trial + ": minted total");
                // Recovery as a restarted buyer does it: every hold left open by the kill is found
                // and voided, and nothing stays reserved.
                for (OpenHold h : ledger.openHolds()) {
                    ledger.apply(new Operation.VoidHold(OperationKey.of(h.key().value() + "-recovered"), h.key())).join();
                }
                for (Balance b : ledger.balances()) {
                    assertEquals(0, b.held(), "trial " + trial + ": " + b.account() + " still has funds held");
                }
                assertTrue(ledger.audit().sound(), "trial " + trial + " after recovery: " + ledger.audit().violations());
            }
            totalAcked += acked.size();
        }
        System.out.println("LedgerCrashTest: " + TRIALS + " kills, " + totalAcked + " acknowledged operations, all present once");
    }
}
