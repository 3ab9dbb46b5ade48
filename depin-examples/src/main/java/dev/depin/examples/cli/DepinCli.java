package dev.depin.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code depin} command line: {@code java -jar depin-cli/target/depin.jar <command>}.
 *
 * <p>Subcommands: {@code demo} (a network of providers running a batch of jobs end to end),
 * {@code node} and {@code directory} (a provider node and a directory as their own processes),
 * {@code verify} (check a receipt, wipe attestation or dispute offline), {@code earnings}
 * (a GPU owner's net after energy and depreciation), {@code ledger} (balances and an
 * account's statement from a ledger), {@code sla} (providers' SLA statements from a buyer's journal, and
 * their credits paid), {@code capacity} (price, lease, list and release machines
 * running depin nodes on Akash, io.net or this host), {@code akash sdl} (a depin node's SDL) and
 * {@code health} (whether a node serves, through its health RPC).
 */
@Command(name = "depin", mixinStandardHelpOptions = true, version = "depin 0.1.0",
        description = "Decentralized GPU compute with verifiable results.",
        subcommands = {DemoCommand.class, NodeCommand.class, DirectoryCommand.class, VerifyCommand.class, EarningsCommand.class, LedgerCommand.class, SlaCommand.class,
            CapacityCommand.class, AkashCommand.class, HealthCommand.class,
            CommandLine.HelpCommand.class})
public final class DepinCli implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /**
     * Runs the command line and exits with its status.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the command line without exiting (for tests).
     *
     * @param args the arguments
     * @return the exit status
     */
    public static int run(String... args) {
        return new CommandLine(new DepinCli()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
