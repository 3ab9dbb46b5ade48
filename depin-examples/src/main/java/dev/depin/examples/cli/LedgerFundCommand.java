package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.grpc.RemoteSettlement;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code depin ledger fund}: an operator opens an account on a settlement service and, with
 * {@code --usd}, mints money into it. Exit status: 0 done; 1 refused by the ledger (nothing
 * changed); 2 bad usage or the service unreachable; 3 internal error (a bug).
 */
@Command(name = "fund", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin ledger fund --service 127.0.0.1:7100 --key ledger.key --account buyer:acme "
                + "--usd 25 --op-key deposit-1"},
        description = {"Open an account on a settlement service (depin ledger serve) and mint money into it: what "
                + "an operator does for a buyer who paid, or for a provider's stake. The key must be an operator's "
                + "(the ledger's own key file, or one given to the service with --operator).",
            "",
            "Minting is applied once per --op-key: run the same command again with the same key and nothing more is "
                    + "minted (the original result is printed). Without --op-key a new key is made and printed.",
            "",
            "Exit status: 0 done; 1 refused by the ledger (nothing changed); 2 bad usage or the service unreachable; "
                    + "3 internal error (a bug)."})
public final class LedgerFundCommand implements Callable<Integer> {
    @Option(names = "--service", required = true, paramLabel = "HOST:PORT", description = "The settlement service.")
    String service;

    @Mixin
    LedgerClientOptions client = new LedgerClientOptions();

    @Option(names = "--account", required = true, paramLabel = "ID", description = "The account, such as buyer:acme.")
    String account;

    @Option(names = "--kind", defaultValue = "BUYER", paramLabel = "KIND",
            description = "BUYER, PROVIDER, STAKE or FEES (default ${DEFAULT-VALUE}).")
    String kind;

    @Option(names = "--usd", paramLabel = "AMOUNT", description = "Mint this much into it, such as 25 or 0.5.")
    String usd;

    @Option(names = "--op-key", paramLabel = "KEY", description = "The mint's idempotency key (default a new one).")
    String opKey;

    @Override
    public Integer call() {
        AccountId id;
        AccountKind k;
        MicroUsd amount = null;
        OperationKey mintKey = null;
        try {
            id = AccountId.of(account);
            k = AccountKind.valueOf(kind.toUpperCase(Locale.ROOT));
            if (usd != null) {
                amount = MicroUsd.ofUsd(usd);
                mintKey = OperationKey.of(opKey != null ? opKey : "fund/" + id + "/" + UUID.randomUUID());
            } else if (opKey != null) {
                System.err.println("usage: --op-key names a mint: give --usd too");
                return 2;
            }
        } catch (IllegalArgumentException e) {
            System.err.println("usage: --kind must be BUYER, PROVIDER, STAKE or FEES, got '" + kind + "'");
            return 2;
        } catch (DepinException e) {
            System.err.println("usage: " + e.getMessage());
            return 2;
        }
        RemoteSettlement ledger;
        try {
            ledger = client.connect(service);
        } catch (ServeOptions.UsageException e) {
            System.err.println("usage: " + e.getMessage());
            return 2;
        }
        try (ledger) {
            ledger.open(id, k, false).join();
            System.out.println("account " + id + " (" + k + ") is open");
            if (amount != null) {
                long seq = ledger.apply(new Operation.Mint(mintKey, id, amount)).join().sequence();
                System.out.println("minted " + Earnings.usd(amount.micros()) + " into " + id + " under key " + mintKey
                        + " (ledger sequence " + seq + "; the same key again mints nothing more)");
            }
            Balance b = ledger.balance(id);
            System.out.println(id + ": posted " + Earnings.usd(b.posted()) + ", held " + Earnings.usd(b.held())
                    + ", available " + Earnings.usd(b.available()));
            return 0;
        } catch (CompletionException | SettlementException e) {
            Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (t instanceof LedgerFailureException) {
                System.err.println("cannot reach the ledger: " + t.getMessage());
                return 2;
            }
            if (t instanceof SettlementException s) {
                System.out.println("REFUSED (" + s.reason() + "): " + s.getMessage());
                return 1;
            }
            if (t instanceof DepinException d) {
                System.err.println("usage: " + d.getMessage());
                return 2;
            }
            System.err.println("ERROR: internal error in depin ledger fund (a bug; please report it): " + t);
            return 3;
        } catch (DepinException e) {
            System.err.println("usage: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            System.err.println("ERROR: internal error in depin ledger fund (a bug; please report it): " + e);
            return 3;
        }
    }
}
