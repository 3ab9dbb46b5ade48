package dev.depin.ledger;

import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Semaphore;

/**
 * The child process of {@link LedgerCrashTest}: writes hold and post pairs into an SQLite
 * ledger as fast as it can, and prints {@code ACK key .} for each operation whose future
 * completed (that is, after its commit) until it is killed with SIGKILL. Given
 * {@code --wait}, it first loads its classes, prints {@code WAITING} and waits for {@code GO} on
 * its standard input before it opens the ledger.
 */
final class CrashWriter {
    static final int ACCOUNTS = 4;
    static final long FUNDS = 1_000_000_000_000L;

    private CrashWriter() {
    }

    static AccountId buyer(int i) {
        return AccountId.of("buyer:" + i);
    }

    static AccountId provider(int i) {
        return AccountId.of("provider:" + i);
    }

    /** The operation a key names, so that the parent can rebuild what the child acknowledged. */
    static Operation operation(String key) {
        int slash = key.indexOf('/');
        String job = key.substring(0, slash);
        long n = Long.parseLong(job.substring(job.lastIndexOf('-') + 1));
        int i = (int) (n % ACCOUNTS);
        OperationKey hold = OperationKey.of(job, 0, "hold");
        long amount = 1 + n % 997;
        if (key.endsWith("/hold")) {
            return new Operation.Hold(hold, buyer(i), provider(i), MicroUsd.ofMicros(amount), Instant.parse("2100-01-01T00:00:00Z"));
        }
        return new Operation.Post(OperationKey.of(job, 0, "post"), hold, MicroUsd.ofMicros(amount / 2));
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        String prefix = args[1];
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, "UTF-8");
        if (args.length > 2 && args[2].equals("--wait")) {
            // Started ahead, while the parent still checks the previous trial: load the classes
            // and SQLite's native library (what every child does first anyway), then wait for the
            // parent's GO before touching the ledger.
            Class.forName(JdbcLedger.class.getName());
            java.sql.DriverManager.getConnection("jdbc:sqlite::memory:").close();
            out.println("WAITING");
            out.flush();
            java.io.BufferedReader go = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                    java.nio.charset.StandardCharsets.UTF_8));
            if (!"GO".equals(go.readLine())) {
                return; // the parent is done with it
            }
        }
        JdbcLedger ledger = JdbcLedger.sqlite(file);
        fund(ledger);
        out.println("READY");
        out.flush();
        Semaphore inFlight = new Semaphore(512);
        for (long n = 0; ; n++) {
            String job = prefix + "-" + n;
            inFlight.acquire();
            ledger.apply(operation(job + "/0/hold")).thenCompose(h -> {
                ack(out, h.operation().key());
                return ledger.apply(operation(job + "/0/post"));
            }).whenComplete((p, e) -> {
                if (e == null) {
                    ack(out, p.operation().key());
                }
                inFlight.release();
            });
        }
    }

    private static void fund(JdbcLedger ledger) {
        for (int i = 0; i < ACCOUNTS; i++) {
            ledger.open(buyer(i), AccountKind.BUYER, false).join();
            ledger.open(provider(i), AccountKind.PROVIDER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("mint-" + i), buyer(i), MicroUsd.ofMicros(FUNDS))).join();
        }
    }

    private static void ack(PrintStream out, OperationKey key) {
        synchronized (out) {
            out.println("ACK " + key + " .");
            out.flush();
        }
    }
}
