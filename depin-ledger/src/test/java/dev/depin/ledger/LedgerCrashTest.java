package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
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
        // Each child is started while the parent still checks the trial before it, and waits with
        // its classes loaded until told GO: its JVM start overlaps the check instead of following
        // it. The kill still comes 20-420 ms after the child said READY on the file.
        Child next = Child.start(java, classPath, file, 0);
        try {
            for (int trial = 0; trial < TRIALS; trial++) {
                Child current = next;
                next = null;
                Process child = current.process();
                BufferedReader in = current.in();
                assertEquals("WAITING", in.readLine(), "trial " + trial + ": the child did not start");
                current.go();
                List<String> acked = new ArrayList<>();
                String ready = in.readLine();
                assertEquals("READY", ready, "trial " + trial + ": the child did not open the ledger");
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
                if (trial + 1 < TRIALS) {
                    next = Child.start(java, classPath, file, trial + 1);
                }
                try (JdbcLedger ledger = JdbcLedger.sqlite(file)) {
                    long before = ledger.audit().operations();
                    // Every acknowledged operation again, all submitted before the first is awaited
                    // (so that they share group commits): each must come back as already applied.
                    List<Operation> ops = new ArrayList<>(acked.size());
                    List<CompletableFuture<Applied>> again = new ArrayList<>(acked.size());
                    for (String key : acked) {
                        Operation op = CrashWriter.operation(key);
                        ops.add(op);
                        again.add(ledger.apply(op));
                    }
                    for (int i = 0; i < ops.size(); i++) {
                        assertEquals(ops.get(i), again.get(i).join().operation(), "trial " + trial + ": " + acked.get(i));
                    }
                    LedgerAudit audit = ledger.audit();
                    assertEquals(before, audit.operations(),
                            "trial " + trial + ": an acknowledged operation was missing and applied only now");
                    assertTrue(audit.sound(), "trial " + trial + ": " + audit.violations());
                    assertEquals(CrashWriter.ACCOUNTS * CrashWriter.FUNDS, audit.minted(), "trial " + trial + ": minted total");
                    // Recovery as a restarted buyer does it: every hold left open by the kill is found
                    // and voided, and nothing stays reserved.
                    List<CompletableFuture<Applied>> voids = new ArrayList<>();
                    for (OpenHold h : ledger.openHolds()) {
                        voids.add(ledger.apply(new Operation.VoidHold(OperationKey.of(h.key().value() + "-recovered"), h.key())));
                    }
                    voids.forEach(CompletableFuture::join);
                    for (Balance b : ledger.balances()) {
                        assertEquals(0, b.held(), "trial " + trial + ": " + b.account() + " still has funds held");
                    }
                    LedgerAudit recovered = ledger.audit();
                    assertTrue(recovered.sound(), "trial " + trial + " after recovery: " + recovered.violations());
                }
                totalAcked += acked.size();
            }
        } finally {
            if (next != null) {
                next.process().destroyForcibly();
            }
        }
        System.out.println("LedgerCrashTest: " + TRIALS + " kills, " + totalAcked + " acknowledged operations, all present once");
    }

    /** A started {@link CrashWriter} that warms up and then waits for GO. */
    private record Child(Process process, BufferedReader in) {
        static Child start(String java, String classPath, Path file, int trial) throws IOException {
            Process p = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", classPath,
                    CrashWriter.class.getName(), file.toString(), "t" + trial, "--wait")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            return new Child(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        }

        void go() throws IOException {
            OutputStream o = process.getOutputStream();
            o.write("GO\n".getBytes(StandardCharsets.US_ASCII));
            o.flush();
        }
    }
}
