package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.ledger.LedgerReader;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Balance;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.StatementLine;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code depin ledger}: prints every account's balance from a depin ledger opened read-only
 * ({@link LedgerReader}), or one account's balance and statement. Exit status: 0 printed; 1 the account is not in the
 * ledger; 2 bad usage, or a ledger that does not exist or cannot be opened; 3 an internal
 * error (a bug).
 */
@Command(name = "ledger", mixinStandardHelpOptions = true, sortOptions = false,
        subcommands = {LedgerServeCommand.class, LedgerFundCommand.class},
        footer = {"", "Examples:", "  depin ledger --file demo.db", "  depin ledger --file demo.db --account buyer:demo"},

        description = {
            "Show the balances of a depin ledger (posted, held, available, in USD), or with --account one "
                    + "account's balance and its statement: every entry in order with its operation key, "
                    + "counterparty, change and balance after.",
            "",
            "The ledger is an SQLite file written by depin-ledger's JdbcLedger (--file) or a PostgreSQL database "
                    + "(--jdbc-url jdbc:postgresql://host:port/db, --user, and the password in the environment "
                    + "variable DEPIN_LEDGER_PASSWORD, never on the command line). It is opened read-only: nothing is "
                    + "created or changed, no -wal or -shm file is left behind, and a file or database that is not a "
                    + "depin ledger (empty, not SQLite, other tables) is refused with status 2.",
            "",
            "With --service HOST:PORT it asks a settlement service (depin ledger serve) instead, as the client "
                    + "--key names: the service shows each key only the accounts it may read.",
            "",
            "Subcommands: 'depin ledger serve' runs a settlement service; 'depin ledger fund' opens and funds an "
                    + "account on one.",
            "",
            "Exit status: 0 printed; 1 the account is not in the ledger; 2 bad usage, or a ledger that does not "
                    + "exist or cannot be opened; 3 internal error (a bug)."
        })
public final class LedgerCommand implements Callable<Integer> {

    @ArgGroup(exclusive = true)
    Source source;

    static final class Source {
        @Option(names = "--file", paramLabel = "FILE", description = "The ledger's SQLite file, such as ledger.db.")
        String file;

        @Option(names = "--jdbc-url", paramLabel = "URL", description = "A PostgreSQL JDBC URL "
                + "(jdbc:postgresql://host:port/database).")
        String jdbcUrl;

        @Option(names = "--service", paramLabel = "HOST:PORT", description = "A settlement service "
                + "(depin ledger serve), asked as the client --key names.")
        String service;
    }

    @picocli.CommandLine.Mixin
    LedgerClientOptions client = new LedgerClientOptions();

    @Option(names = "--user", paramLabel = "NAME", description = "Database user, with --jdbc-url.")
    String user;

    @Option(names = "--account", paramLabel = "ID", description = "Show this account's balance and statement, "
            + "such as buyer:acme.")
    String account;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        PrintStream err = System.err;
        AccountId id = null;
        if (account != null) {
            try {
                id = AccountId.of(account);
            } catch (DepinException e) {
                err.println("usage: --account: " + e.getMessage());
                return 2;
            }
        }
        if (source == null) {
            err.println("usage: give the ledger: --file FILE, --jdbc-url URL or --service HOST:PORT (see depin ledger --help)");
            return 2;
        }
        if (source.service != null) {
            return remote(id, out, err);
        }
        if (client.key != null || client.ledgerKey != null) {
            err.println("usage: --key and --ledger-key apply to --service only");
            return 2;
        }
        LedgerReader ledger;
        try {
            if (source.file != null) {
                if (user != null) {
                    err.println("usage: --user applies to --jdbc-url only");
                    return 2;
                }
                Path file;
                try {
                    file = Path.of(source.file);
                } catch (InvalidPathException e) {
                    err.println("usage: --file: '" + source.file + "' is not a valid path");
                    return 2;
                }
                if (!Files.isRegularFile(file)) {
                    err.println("cannot open ledger: no ledger file at " + file + (Files.exists(file)
                            ? " (it is not a regular file)" : "")
                            + ": give the file a depin ledger wrote; this command never creates one");
                    return 2;
                }
                ledger = LedgerReader.sqlite(file);
            } else {
                ledger = LedgerReader.postgres(source.jdbcUrl, user, System.getenv("DEPIN_LEDGER_PASSWORD"));
            }
        } catch (LedgerFailureException e) {
            err.println("cannot open ledger: " + e.getMessage());
            return 2;
        } catch (DepinException e) {
            err.println("usage: " + e.getMessage());
            return 2;
        }
        try (ledger) {
            if (id == null) {
                List<Balance> all = ledger.balances();
                out.printf(Locale.ROOT, "%-32s %-9s %16s %16s %16s%n", "account", "kind", "posted", "held",
                        "available");
                for (Balance b : all) {
                    printBalance(out, b);
                }
                out.println(all.size() + " account(s)");
                return 0;
            }
            Balance b = ledger.balance(id);
            List<StatementLine> lines = ledger.statement(id);
            out.printf(Locale.ROOT, "%-32s %-9s %16s %16s %16s%n", "account", "kind", "posted", "held", "available");
            printBalance(out, b);
            out.println();
            out.printf(Locale.ROOT, "%8s  %-24s  %-40s  %-32s %16s %16s%n", "seq", "at", "key", "counterparty",
                    "change", "balance after");
            for (StatementLine l : lines) {
                out.printf(Locale.ROOT, "%8d  %-24s  %-40s  %-32s %16s %16s%n", l.sequence(), l.at(), l.key(),
                        l.counterparty(), Earnings.usd(l.change()), Earnings.usd(l.balanceAfter()));
            }
            out.println(lines.size() + " statement line(s)");
            return 0;
        } catch (SettlementException e) {
            if (e.is(SettlementException.Reason.UNKNOWN_ACCOUNT)) {
                out.println("UNKNOWN ACCOUNT: " + e.getMessage());
                return 1;
            }
            err.println("cannot read ledger: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("ERROR: internal error in depin ledger (a bug; please report it): " + e);
            return 3;
        }
    }

    /** The same listing, through a settlement service: the accounts this client's key may read. */
    private int remote(AccountId id, PrintStream out, PrintStream err) {
        if (user != null) {
            err.println("usage: --user applies to --jdbc-url only");
            return 2;
        }
        dev.depin.grpc.RemoteSettlement ledger;
        try {
            ledger = client.connect(source.service);
        } catch (ServeOptions.UsageException e) {
            err.println("usage: " + e.getMessage());
            return 2;
        }
        try (ledger) {
            if (id == null) {
                List<Balance> all = ledger.balances();
                out.printf(Locale.ROOT, "%-32s %-9s %16s %16s %16s%n", "account", "kind", "posted", "held", "available");
                for (Balance b : all) {
                    printBalance(out, b);
                }
                out.println(all.size() + " account(s)");
                return 0;
            }
            Balance b = ledger.balance(id);
            List<StatementLine> lines = ledger.statement(id);
            printAccount(out, b, lines);
            return 0;
        } catch (LedgerFailureException e) {
            err.println("cannot reach the ledger: " + e.getMessage());
            return 2;
        } catch (SettlementException e) {
            if (e.is(SettlementException.Reason.UNKNOWN_ACCOUNT)) {
                out.println("UNKNOWN ACCOUNT: " + e.getMessage());
                return 1;
            }
            err.println("refused: " + e.getMessage());
            return 2;
        } catch (DepinException e) {
            err.println("usage: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("ERROR: internal error in depin ledger (a bug; please report it): " + e);
            return 3;
        }
    }

    private static void printAccount(PrintStream out, Balance b, List<StatementLine> lines) {
        out.printf(Locale.ROOT, "%-32s %-9s %16s %16s %16s%n", "account", "kind", "posted", "held", "available");
        printBalance(out, b);
        out.println();
        out.printf(Locale.ROOT, "%8s  %-24s  %-40s  %-32s %16s %16s%n", "seq", "at", "key", "counterparty",
                "change", "balance after");
        for (StatementLine l : lines) {
            out.printf(Locale.ROOT, "%8d  %-24s  %-40s  %-32s %16s %16s%n", l.sequence(), l.at(), l.key(),
                    l.counterparty(), Earnings.usd(l.change()), Earnings.usd(l.balanceAfter()));
        }
        out.println(lines.size() + " statement line(s)");
    }

    private static void printBalance(PrintStream out, Balance b) {
        out.printf(Locale.ROOT, "%-32s %-9s %16s %16s %16s%n", b.account(), b.kind(), Earnings.usd(b.posted()),
                Earnings.usd(b.held()), Earnings.usd(b.available()) + (b.allowCredit() ? " (credit allowed)" : ""));
    }
}
