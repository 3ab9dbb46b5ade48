package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.ListingAddressPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code depin directory}: a directory of signed provider offers as its own process, over
 * gRPC with mutual TLS 1.3. Prints one line saying where it serves and runs until SIGTERM
 * or Ctrl-C.
 */
@Command(name = "directory", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin directory --port 7000 --key dir.key", "  depin directory --port 7000 --key dir.key --ttl 60s"},

        description = {"Run a directory of signed provider offers over gRPC with mutual TLS 1.3 until SIGTERM or "
                + "Ctrl-C. Providers list and renew their offers in it (depin node --directory HOST:PORT); buyers "
                + "query it.",
            "The directory's Ed25519 key is read from --key, or generated and saved there (mode 0600) on first "
                + "start; encrypted when a passphrase is given (--passphrase-env VAR or --ask-passphrase)."})
public final class DirectoryCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "7000", paramLabel = "PORT",
            description = "Port to listen on, 0 for any free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--key", paramLabel = "FILE",
            description = "The directory's key file (default ~/.depin/directory.key); made on first start.")
    Path key;

    @Option(names = "--ttl", defaultValue = "30s", paramLabel = "DURATION", converter = ServeOptions.DurationConverter.class,
            description = "How long a listing lives after each renewal, e.g. 30s (default ${DEFAULT-VALUE}).")
    Duration ttl;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (off by default; 0 for any free "
                    + "port): listings held, calls by method and status, call latency.")
    Integer metricsPort;

    @Option(names = "--max-listings", defaultValue = "10000", paramLabel = "N",
            description = "Most listings held; more are refused (default ${DEFAULT-VALUE}).")
    int maxListings;

    @Option(names = "--max-listings-per-address", defaultValue = "16", paramLabel = "N",
            description = "Most listings whose renewals come from one IP address (an IPv6 /64); raise it for "
                    + "providers behind one NAT (default ${DEFAULT-VALUE}).")
    int maxListingsPerAddress;

    @Option(names = "--max-answer-listings", defaultValue = "256", paramLabel = "N",
            description = "Most listings in one answer, the providers listed longest without a lapse first "
                    + "(default ${DEFAULT-VALUE}).")
    int maxAnswerListings;

    @Option(names = "--max-answer-listings-per-address", defaultValue = "8", paramLabel = "N",
            description = "Most listings renewed from one IP address (an IPv6 /64) in one answer "
                    + "(default ${DEFAULT-VALUE}).")
    int maxAnswerListingsPerAddress;

    @Option(names = "--max-refused-renewals-per-address", defaultValue = "256", paramLabel = "N",
            description = "Renewals the directory may refuse from one IP address (an IPv6 /64) in 10 s before it "
                    + "refuses the address whole for --refused-address-for: its calls, its connections and new ones "
                    + "before TLS; raise it for many providers behind one NAT (default ${DEFAULT-VALUE}).")
    int maxRefusedRenewalsPerAddress;

    @Option(names = "--refused-address-for", defaultValue = "30s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long such an address is refused, 1s to 1h (default ${DEFAULT-VALUE}).")
    Duration refusedAddressFor;

    @Option(names = "--listing-address", defaultValue = "syntax", paramLabel = "POLICY",
            description = "Which listed addresses are accepted: 'syntax' (any well-formed host:port that is not "
                    + "unspecified, broadcast or multicast) or 'peer' (only the IP the renewal comes from) "
                    + "(default ${DEFAULT-VALUE}).")
    String listingAddress;

    @Mixin
    ServeOptions serve = new ServeOptions();

    @Override
    public Integer call() throws Exception {
        serve.quietLogs();
        Path keyFile = key != null ? key : ServeOptions.defaultKey("directory.key");
        ServeOptions.LoadedKey id;
        DirectoryServer server;
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry = null;
        try {
            if (port < 0 || port > 65535) {
                throw new ServeOptions.UsageException("--port must be 0 to 65535, got " + port);
            }
            if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
                throw new ServeOptions.UsageException("--metrics-port must be 0 to 65535, got " + metricsPort);
            }
            if (maxListings < 1 || maxListingsPerAddress < 1) {
                throw new ServeOptions.UsageException("--max-listings and --max-listings-per-address must be "
                        + "positive, got " + maxListings + " and " + maxListingsPerAddress);
            }
            if (maxAnswerListings < 1 || maxAnswerListings > 100_000 || maxAnswerListingsPerAddress < 1) {
                throw new ServeOptions.UsageException("--max-answer-listings must be 1 to 100000 and "
                        + "--max-answer-listings-per-address positive, got " + maxAnswerListings + " and "
                        + maxAnswerListingsPerAddress);
            }
            ListingAddressPolicy policy = switch (listingAddress) {
                case "syntax" -> ListingAddressPolicy.SYNTAX;
                case "peer" -> ListingAddressPolicy.PEER_ADDRESS;
                default -> throw new ServeOptions.UsageException("--listing-address must be 'syntax' or 'peer', got '"
                        + listingAddress + "'");
            };
            id = serve.loadKey(keyFile);
            DirectoryServer.Builder b = DirectoryServer.builder(id.keys()).listen(serve.host, port).listingTtl(ttl)
                    .maxListings(maxListings).maxListingsPerHost(maxListingsPerAddress).addressPolicy(policy)
                    .maxAnswerListings(maxAnswerListings).maxAnswerListingsPerHost(maxAnswerListingsPerAddress)
                    .refusedRenewalsPerAddress(maxRefusedRenewalsPerAddress, refusedAddressFor);
            if (metricsPort != null) {
                registry = MetricsHttp.registry();
                b.meterRegistry(registry);
            }
            server = b.start();
        } catch (ServeOptions.UsageException | DepinException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        MetricsHttp http = null;
        if (registry != null) {
            try {
                http = MetricsHttp.start(serve.host, metricsPort, java.util.Map.of("/metrics",
                        MetricsHttp.metrics(registry)));
            } catch (DepinException e) {
                server.close();
                System.err.println("--metrics-port: " + e.getMessage());
                return 2;
            }
        }
        String ready = "depin directory " + id.keys().nodeId().hex() + " serving offers on " + server.address()
                + " (mutual TLS 1.3), listings live " + ServeOptions.shortDuration(ttl) + " after each renewal; "
                + id.describe(keyFile) + "; public key " + dev.depin.crypto.Hex.encode(id.keys().publicKey().raw())
                + (http == null ? "" : "; metrics on http://" + serve.host + ":" + http.port() + "/metrics");
        MetricsHttp web = http;
        AutoCloseable all = () -> {
            try {
                if (web != null) {
                    web.close();
                }
            } finally {
                server.close();
            }
        };
        return serve.serveUntilStopped(all, System.out, ready, "depin directory " + id.keys().nodeId().shortId() + " on "
                + server.address() + " stopped");
    }
}
