package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.akash.AkashConsole;
import dev.depin.akash.AkashMarket;
import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.GpuSpec;
import dev.depin.capacity.LocalMarket;
import dev.depin.capacity.Machine;
import dev.depin.capacity.NodeTemplate;
import dev.depin.capacity.spi.CapacityMarket;
import dev.depin.ionet.IonetCaas;
import dev.depin.ionet.IonetMarket;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.Region;
import dev.depin.settlement.FixedRateOracle;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code depin capacity}: price, lease, list and release machines that run {@code depin node} on
 * a GPU market (Akash through the Console API, io.net through its CaaS API) or on this host
 * ({@code local}: node processes). Keys come from the environment ({@code AKASH_API_KEY},
 * {@code IONET_API_KEY}), never from arguments.
 */
@Command(name = "capacity", mixinStandardHelpOptions = true,
        description = {"Price, lease, list and release machines that run depin node on a market: akash (Console "
                + "API, key in AKASH_API_KEY), ionet (IO Cloud CaaS, key in IONET_API_KEY) or local (node processes "
                + "on this host).",
            "Render has no buyer-side job API, so it is not a market here (see README, Capacity on GPU markets)."},
        subcommands = {CapacityCommand.Quote.class, CapacityCommand.Lease.class, CapacityCommand.ListMachines.class,
            CapacityCommand.Release.class})
public final class CapacityCommand implements Runnable {
    @picocli.CommandLine.Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Which market and how to reach it. */
    static final class MarketOptions {
        @Option(names = "--market", required = true, paramLabel = "akash|ionet|local",
                description = "Where the machines come from.")
        String market;

        @Option(names = "--akash-url", defaultValue = "https://console-api.akash.network", paramLabel = "URL",
                description = "Akash Console API base (default ${DEFAULT-VALUE}).")
        URI akashUrl;

        @Option(names = "--akt-usd", paramLabel = "USD",
                description = "The USD price of one AKT (or ACT with --denom uact) used to price Akash leases; "
                        + "no live oracle is wired in the command line.")
        String tokenUsd;

        @Option(names = "--denom", defaultValue = "uakt", paramLabel = "uakt|uact",
                description = "Akash price denomination (default ${DEFAULT-VALUE}).")
        String denom;

        @Option(names = "--max-price-per-block", defaultValue = "10000", paramLabel = "AMOUNT",
                description = "Akash: the most paid per block, in micro-units of the token (default ${DEFAULT-VALUE}).")
        BigDecimal maxPerBlock;

        @Option(names = "--ionet-url", defaultValue = "https://api.io.solutions/enterprise/v1/io-cloud/caas",
                paramLabel = "URL", description = "io.net CaaS API base (default ${DEFAULT-VALUE}).")
        URI ionetUrl;

        @Option(names = "--ionet-hardware", paramLabel = "MODEL=ID", split = ",",
                description = "io.net hardware ids by GPU model, from its inventory API, e.g. h100=206.")
        Map<String, Integer> ionetHardware = Map.of();

        @Option(names = "--ionet-location", paramLabel = "CC=ID[;ID]", split = ",",
                description = "io.net location ids by country (* for any), from its inventory API, e.g. US=1;7.")
        Map<String, String> ionetLocations = Map.of();

        @Option(names = "--price-per-hour", defaultValue = "0", paramLabel = "USD",
                description = "local: what one machine costs per hour (default ${DEFAULT-VALUE}).")
        String localHourly;

        CapacityMarket open() throws ServeOptions.UsageException {
            switch (market) {
                case "akash" -> {
                    String key = System.getenv("AKASH_API_KEY");
                    if (key == null || key.isBlank()) {
                        throw new ServeOptions.UsageException("set AKASH_API_KEY to your Akash Console API key "
                                + "(Console, Settings → API Keys)");
                    }
                    if (tokenUsd == null) {
                        throw new ServeOptions.UsageException("--akt-usd is required for akash: the USD price of one "
                                + (denom.equals("uact") ? "ACT" : "AKT"));
                    }
                    long microUsd = NodeCommand.usd("--akt-usd", tokenUsd).micros();
                    String token = denom.equals("uact") ? "ACT" : "AKT";
                    return AkashMarket.builder(AkashConsole.connect(akashUrl, key, Duration.ofSeconds(30)),
                            new FixedRateOracle(token, microUsd, Clock.systemUTC()))
                            .sdl(b -> b.maxPricePerBlock(denom, maxPerBlock)).build();
                }
                case "ionet" -> {
                    String key = System.getenv("IONET_API_KEY");
                    if (key == null || key.isBlank()) {
                        throw new ServeOptions.UsageException("set IONET_API_KEY to your io.net API key");
                    }
                    IonetMarket.Builder b = IonetMarket.builder(IonetCaas.connect(ionetUrl, key, Duration.ofSeconds(30)),
                            FixedRateOracle.usdPegged());
                    ionetHardware.forEach(b::hardware);
                    for (Map.Entry<String, String> e : ionetLocations.entrySet()) {
                        List<Integer> ids = new ArrayList<>();
                        for (String id : e.getValue().split(";")) {
                            try {
                                ids.add(Integer.parseInt(id.trim()));
                            } catch (NumberFormatException x) {
                                throw new ServeOptions.UsageException("--ionet-location " + e.getKey() + "="
                                        + e.getValue() + ": ids are integers separated by ;");
                            }
                        }
                        b.location(e.getKey(), ids);
                    }
                    return b.build();
                }
                case "local" -> {
                    List<String> launcher = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                            "-Xmx512m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                            DepinCli.class.getName());
                    return LocalMarket.builder(launcher).pricePerMachineHour(NodeCommand.usd("--price-per-hour",
                            localHourly)).build();
                }
                default -> throw new ServeOptions.UsageException("--market must be akash, ionet or local, got '"
                        + market + "' (Render has no buyer-side job API: see README)");
            }
        }
    }

    /** What to ask for. */
    static final class RequestOptions {
        @Option(names = "--gpu", defaultValue = "none", paramLabel = "MODEL",
                description = "GPU model, e.g. h100, or none (default ${DEFAULT-VALUE}).")
        String gpu;

        @Option(names = "--count", defaultValue = "1", paramLabel = "N", description = "GPUs per machine (default ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--machines", defaultValue = "1", paramLabel = "N", description = "Machines (default ${DEFAULT-VALUE}).")
        int machines;

        @Option(names = "--hours", defaultValue = "1", paramLabel = "H", description = "Lease length in hours (default ${DEFAULT-VALUE}).")
        int hours;

        @Option(names = "--region", paramLabel = "CC[/zone]", description = "Where, e.g. US or DE/fra-1 (default anywhere).")
        String region;

        @Option(names = "--budget", defaultValue = "1000000", paramLabel = "USD",
                description = "The most the request may cost, in USD (default ${DEFAULT-VALUE}).")
        String budget;

        @Option(names = "--directory", defaultValue = "directory.invalid:7000", paramLabel = "HOST:PORT",
                description = "The buyer's directory the nodes list themselves in.")
        String directory;

        @Option(names = "--image", defaultValue = NodeTemplate.DEFAULT_IMAGE, paramLabel = "IMAGE",
                description = "The node image (default ${DEFAULT-VALUE}).")
        String image;

        @Option(names = "--node-price-per-second", defaultValue = "0.0010", paramLabel = "USD",
                description = "The price the nodes' offers ask per device-second (default ${DEFAULT-VALUE}).")
        String nodePrice;

        CapacityRequest request() throws ServeOptions.UsageException {
            try {
                GpuSpec g = GpuSpec.of(gpu, count);
                Region where = region == null ? null : Region.parse(region);
                NodeTemplate node = new NodeTemplate(image, List.of(directory),
                        new Price(NodeCommand.usd("--node-price-per-second", nodePrice), MicroUsd.ofUsd("0.02")),
                        MicroUsd.ZERO, 7001, Duration.ofSeconds(10));
                if (hours < 1 || hours > 2160) {
                    throw new ServeOptions.UsageException("--hours must be 1 to 2160, got " + hours);
                }
                return new CapacityRequest(machines, g, where, Duration.ofHours(hours),
                        NodeCommand.usd("--budget", budget), node);
            } catch (DepinException e) {
                throw new ServeOptions.UsageException(e.getMessage());
            }
        }
    }

    static int fail(PrintStream err, Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        err.println(c.getMessage());
        return 1;
    }

    /** {@code depin capacity quote}. */
    @Command(name = "quote", mixinStandardHelpOptions = true, description = "Print what the machines would cost.")
    static final class Quote implements Callable<Integer> {
        @Mixin MarketOptions m = new MarketOptions();
        @Mixin RequestOptions r = new RequestOptions();

        @Override
        public Integer call() {
            try (CapacityMarket market = m.open()) {
                CapacityQuote q = market.quote(r.request()).join();
                System.out.println(q.market() + ": " + q.request() + " costs " + q.total() + " (" + q.perMachine()
                        + " per machine; " + q.basis() + ")" + (q.withinBudget() ? "" : " -- over the budget"));
                return 0;
            } catch (ServeOptions.UsageException e) {
                System.err.println(e.getMessage());
                return 2;
            } catch (RuntimeException e) {
                return fail(System.err, e);
            }
        }
    }

    /** {@code depin capacity lease}. */
    @Command(name = "lease", mixinStandardHelpOptions = true,
            description = {"Obtain the machines and print their ids.",
                "For --market local the nodes are child processes: the command stays until Ctrl-C or the end of "
                    + "standard input, then releases them."})
    static final class Lease implements Callable<Integer> {
        @Mixin MarketOptions m = new MarketOptions();
        @Mixin RequestOptions r = new RequestOptions();

        @Override
        public Integer call() throws Exception {
            try (CapacityMarket market = m.open()) {
                List<Machine> got = market.obtain(r.request()).join();
                for (Machine x : got) {
                    System.out.println(x);
                }
                System.out.flush();
                if (market instanceof LocalMarket) {
                    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                        while (in.readLine() != null) {
                            // Holds until standard input closes; close() then releases the nodes.
                        }
                    }
                }
                return 0;
            } catch (ServeOptions.UsageException e) {
                System.err.println(e.getMessage());
                return 2;
            } catch (RuntimeException e) {
                return fail(System.err, e);
            }
        }
    }

    /** {@code depin capacity list}. */
    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List deployments: akash lists the account's deployments; ionet shows the ids given.")
    static final class ListMachines implements Callable<Integer> {
        @Mixin MarketOptions m = new MarketOptions();

        @Parameters(paramLabel = "ID", arity = "0..*", description = "ionet: the deployment ids to show.")
        List<String> ids = List.of();

        @Override
        public Integer call() {
            try {
                switch (m.market) {
                    case "akash" -> {
                        String key = System.getenv("AKASH_API_KEY");
                        if (key == null || key.isBlank()) {
                            throw new ServeOptions.UsageException("set AKASH_API_KEY to your Akash Console API key");
                        }
                        for (AkashConsole.Deployment d : AkashConsole.connect(m.akashUrl, key, Duration.ofSeconds(30))
                                .deployments(0, 1000)) {
                            System.out.println("akash:" + d.dseq() + " " + d.state() + " " + d.leases());
                        }
                    }
                    case "ionet" -> {
                        String key = System.getenv("IONET_API_KEY");
                        if (key == null || key.isBlank()) {
                            throw new ServeOptions.UsageException("set IONET_API_KEY to your io.net API key");
                        }
                        IonetCaas caas = IonetCaas.connect(m.ionetUrl, key, Duration.ofSeconds(30));
                        for (String id : ids) {
                            System.out.println("ionet:" + id + " " + caas.deployment(id).status());
                        }
                    }
                    default -> throw new ServeOptions.UsageException("list works for akash and ionet; local machines "
                            + "live as long as the depin capacity lease that started them");
                }
                return 0;
            } catch (ServeOptions.UsageException e) {
                System.err.println(e.getMessage());
                return 2;
            } catch (RuntimeException e) {
                return fail(System.err, e);
            }
        }
    }

    /** {@code depin capacity release}. */
    @Command(name = "release", mixinStandardHelpOptions = true,
            description = "Close deployments: akash closes them (the deposit's rest returns), ionet deletes them.")
    static final class Release implements Callable<Integer> {
        @Mixin MarketOptions m = new MarketOptions();

        @Parameters(paramLabel = "ID", arity = "1..*", description = "Akash dseq or io.net deployment id.")
        List<String> ids = List.of();

        @Override
        public Integer call() {
            try {
                switch (m.market) {
                    case "akash" -> {
                        String key = System.getenv("AKASH_API_KEY");
                        if (key == null || key.isBlank()) {
                            throw new ServeOptions.UsageException("set AKASH_API_KEY to your Akash Console API key");
                        }
                        AkashConsole c = AkashConsole.connect(m.akashUrl, key, Duration.ofSeconds(30));
                        for (String id : ids) {
                            c.closeDeployment(id);
                            System.out.println("akash:" + id + " closed");
                        }
                    }
                    case "ionet" -> {
                        String key = System.getenv("IONET_API_KEY");
                        if (key == null || key.isBlank()) {
                            throw new ServeOptions.UsageException("set IONET_API_KEY to your io.net API key");
                        }
                        IonetCaas caas = IonetCaas.connect(m.ionetUrl, key, Duration.ofSeconds(30));
                        for (String id : ids) {
                            caas.delete(id);
                            System.out.println("ionet:" + id + " deleted");
                        }
                    }
                    default -> throw new ServeOptions.UsageException("release works for akash and ionet; local "
                            + "machines are released when their depin capacity lease ends");
                }
                return 0;
            } catch (ServeOptions.UsageException e) {
                System.err.println(e.getMessage());
                return 2;
            } catch (RuntimeException e) {
                return fail(System.err, e);
            }
        }
    }
}
