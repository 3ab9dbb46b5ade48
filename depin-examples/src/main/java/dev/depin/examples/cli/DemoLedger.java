package dev.depin.examples.cli;

import dev.depin.crypto.NodeId;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The demo's money: a real ledger file (SQLite, WAL, full sync) with a funded buyer and a
 * funded stake per provider, the escrow the demo's client pays through, and, at the end, what
 * moved (escrowed, paid per provider, refunded, slashed) and the balance sheet of every
 * account, which sums to zero.
 */
final class DemoLedger implements AutoCloseable {
    static final AccountId BUYER = AccountId.of("buyer:demo");
    static final MicroUsd FUNDS = MicroUsd.ofUsd("100");
    static final MicroUsd STAKE = MicroUsd.ofUsd("5");

    private final Path file;
    private final boolean temporary;
    private final JdbcLedger ledger;

    private DemoLedger(Path file, boolean temporary, dev.depin.crypto.NodeKeyPair key) {
        this.file = file;
        this.temporary = temporary;
        this.ledger = JdbcLedger.builder().sqlite(file).certifyHolds(key).open();
    }

    /**
     * Opens the ledger the demo writes: {@code file}, or a temporary one deleted on close.
     *
     * @param file where the ledger lives, or null for a temporary file
     * @param key  the key the ledger signs hold certificates with
     * @return the ledger, with the buyer funded
     * @throws IOException if the temporary directory cannot be made
     */
    static DemoLedger open(Path file, dev.depin.crypto.NodeKeyPair key) throws IOException {
        boolean temporary = file == null;
        Path f = temporary ? Files.createTempDirectory("depin-demo-ledger").resolve("ledger.db") : file;
        DemoLedger d = new DemoLedger(f, temporary, key);
        d.ledger.open(BUYER, AccountKind.BUYER, false).join();
        d.ledger.apply(new Operation.Mint(OperationKey.of("demo/fund/" + BUYER.value()), BUYER, FUNDS)).join();
        return d;
    }

    /**
     * Opens a provider's stake account and deposits its stake, as a provider does before it
     * offers work.
     *
     * @param node the provider
     */
    void stake(NodeId node) {
        AccountId stake = Escrow.stakeAccount(node);
        ledger.open(stake, AccountKind.STAKE, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("demo/stake/" + node.hex()), stake, STAKE)).join();
    }

    /** @return the escrow the demo's client pays through */
    Escrow escrow() {
        return Escrow.builder(ledger, BUYER).session("demo-" + Long.toHexString(System.nanoTime())).build();
    }

    /** @return the ledger */
    JdbcLedger ledger() {
        return ledger;
    }

    /**
     * Prints what moved and the balance sheet.
     *
     * @param out      where to print
     * @param handles  the demo's jobs
     * @param names    display names by node id, in the demo's order
     * @return the sum over every account's posted balance (zero unless the ledger is broken)
     */
    long print(PrintStream out, List<JobHandle> handles, Map<NodeId, String> names) {
        long escrowed = 0;
        long holds = 0;
        long paid = 0;
        long refunded = 0;
        long slashedToBuyer = 0;
        long settled = 0;
        for (JobHandle h : handles) {
            JobResult r = h.resultAsync().isDone() && !h.resultAsync().isCompletedExceptionally()
                    ? h.resultAsync().join() : null;
            if (r == null || r.settlement() == null) {
                continue;
            }
            settled++;
            for (Applied a : r.settlement().operations()) {
                if (a.operation() instanceof Operation.Hold hold) {
                    escrowed += hold.amount().micros();
                    holds++;
                } else if (a.operation() instanceof Operation.Slash s) {
                    slashedToBuyer += s.toBeneficiary().micros();
                }
            }
            paid += r.settlement().paid().micros();
            refunded += r.settlement().refunded().micros();
        }
        out.println();
        out.println("money (ledger " + (temporary ? "in a temporary SQLite file" : file.toAbsolutePath()) + "; "
                + "USD-pegged token at $1):");
        out.printf("  %d settled jobs escrowed %s in %d holds; providers were paid %s, the buyer got %s back "
                        + "and %s of slashed stake%n", settled, MicroUsd.ofMicros(escrowed), holds,
                MicroUsd.ofMicros(paid), MicroUsd.ofMicros(refunded), MicroUsd.ofMicros(slashedToBuyer));
        out.println();
        out.printf("  %-24s %-9s %14s %14s%n", "account", "kind", "posted", "held");
        long sum = 0;
        for (Balance b : ledger.balances()) {
            String name = b.account().value();
            for (Map.Entry<NodeId, String> e : names.entrySet()) {
                if (name.endsWith(e.getKey().hex())) {
                    name = name.substring(0, name.indexOf(':') + 1) + e.getValue();
                }
            }
            out.printf("  %-24s %-9s %14s %14s%n", name, b.kind().name().toLowerCase(java.util.Locale.ROOT),
                    signed(b.posted()), MicroUsd.ofMicros(b.held()));
            sum += b.posted();
        }
        out.printf("  %-24s %-9s %14s%n", "sum", "", signed(sum));
        return sum;
    }

    private static String signed(long micros) {
        return micros < 0 ? "-" + MicroUsd.ofMicros(-micros) : MicroUsd.ofMicros(micros).toString();
    }

    @Override
    public void close() {
        ledger.close();
        if (temporary) {
            for (String suffix : new String[] {"", "-wal", "-shm"}) {
                try {
                    Files.deleteIfExists(Path.of(file + suffix));
                } catch (IOException ignored) {
                    // a temporary file left behind is harmless
                }
            }
            try {
                Files.deleteIfExists(file.getParent());
            } catch (IOException ignored) {
                // likewise
            }
        }
    }
}
