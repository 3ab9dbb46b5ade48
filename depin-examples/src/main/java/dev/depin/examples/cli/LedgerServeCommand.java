package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.LedgerServer;
import dev.depin.ledger.JdbcLedger;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code depin ledger serve}: a settlement service (depin-grpc's {@link LedgerServer}) in front
 * of a durable {@link JdbcLedger}, until SIGTERM or Ctrl-C.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin ledger serve --port 7100 --file ledger.db --key ledger.key",
            "  depin ledger serve --port 7100 --file ledger.db --key ledger.key --client HEX=buyer:acme"},
        description = {
            "Serve a depin ledger over gRPC with mutual TLS 1.3 until SIGTERM or Ctrl-C: buyers hold, post and void "
                    + "their escrow through it (RemoteSettlement, an Escrow on it), providers read what they are owed, "
                    + "and every hold for a job spec is answered with a hold certificate signed by the ledger's key.",
            "",
            "The ledger is an SQLite file (--file, made on first start; default ledger.db) or a PostgreSQL database "
                    + "(--jdbc-url with --user, the password in DEPIN_LEDGER_PASSWORD). The ledger's Ed25519 key is "
                    + "read from --key, or generated and saved there (mode 0600) on first start: it is the service's "
                    + "TLS identity, which clients pin, and it signs hold certificates; give its public key (printed "
                    + "at start) to nodes as 'depin node --ledger-key HEX'. Holds expire in the ledger by themselves.",
            "",
            "Who may do what is decided by the caller's TLS key: the ledger's own key and each --operator key may "
                    + "do everything (open and fund accounts: 'depin ledger fund'); a key granted an account with "
                    + "--client HEX=ACCOUNT (or a line HEX=ACCOUNT in --clients FILE) holds from it, posts, voids and "
                    + "expires its holds and reads it; every key reads its own provider:<node id> and stake:<node id> "
                    + "accounts and the holds that pay it. Everything else is refused (PERMISSION_DENIED)."
        })
public final class LedgerServeCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true)
    Source source;

    static final class Source {
        @Option(names = "--file", paramLabel = "FILE", description = "The ledger's SQLite file (default ledger.db); "
                + "made on first start.")
        Path file;

        @Option(names = "--jdbc-url", paramLabel = "URL", description = "A PostgreSQL JDBC URL "
                + "(jdbc:postgresql://host:port/database), for a ledger shared by several services.")
        String jdbcUrl;
    }

    @Option(names = "--user", paramLabel = "NAME", description = "Database user, with --jdbc-url.")
    String user;

    @Option(names = "--port", defaultValue = "7100", paramLabel = "PORT",
            description = "Port to listen on, 0 for any free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--key", paramLabel = "FILE",
            description = "The ledger's key file (default ~/.depin/ledger.key); made on first start.")
    Path key;

    @Option(names = "--operator", paramLabel = "HEX",
            description = "A public key (64 hex characters) that may do everything, as the ledger's own key may; "
                    + "repeatable.")
    List<String> operators = new ArrayList<>();

    @Option(names = "--client", paramLabel = "HEX=ACCOUNT",
            description = "Let the client with this public key act for this account (hold from it, resolve its "
                    + "holds, read it); repeatable.")
    List<String> clients = new ArrayList<>();

    @Option(names = "--clients", paramLabel = "FILE",
            description = "More grants, one HEX=ACCOUNT per line ('#' starts a comment).")
    Path clientsFile;

    @Option(names = "--max-in-flight", defaultValue = "4096", paramLabel = "N",
            description = "Most unanswered operations one client key may have at once, each of a batch counting "
                    + "(default ${DEFAULT-VALUE}); more are refused RESOURCE_EXHAUSTED and retried by clients.")
    int maxInFlight;

    @Option(names = "--max-in-flight-per-address", defaultValue = "16384", paramLabel = "N",
            description = "Most unanswered operations from one remote address over all its keys (default "
                    + "${DEFAULT-VALUE}); clients behind one NAT share it.")
    int maxInFlightPerAddress;

    @Option(names = "--max-in-flight-total", defaultValue = "65536", paramLabel = "N",
            description = "Most unanswered operations over all clients (default ${DEFAULT-VALUE}); its last quarter "
                    + "is kept for addresses holding fewer than --max-in-flight, so big batches cannot shut out "
                    + "single operations.")
    int maxInFlightTotal;

    @Option(names = "--stall-timeout", defaultValue = "10s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long a client may take nothing of a listing's answer (balances, statement, open "
                    + "holds) before its connection is closed (1ms to 10m, default ${DEFAULT-VALUE}).")
    Duration stallTimeout;

    @Option(names = "--call-timeout", defaultValue = "30s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long an operation may wait for the database before the caller is told to retry "
                    + "(default ${DEFAULT-VALUE}).")
    Duration callTimeout;

    @Option(names = "--dispute-window", defaultValue = "10m", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long a buyer may dispute a provider's claim before the ledger posts it "
                    + "(1s to 30d, default ${DEFAULT-VALUE}).")
    Duration disputeWindow;

    @Option(names = "--recheck-window", defaultValue = "10m", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long after a disputed claim's window its re-check may still decide it; then the "
                    + "ledger posts the claim (1s to 30d, default ${DEFAULT-VALUE}).")
    Duration recheckWindow;

    @Option(names = "--max-calls-per-peer", defaultValue = "256", paramLabel = "N",
            description = "Most calls one client key may have open at once over all its connections, counted until "
                    + "its answer is read: a request sent slowly or an answer left unread holds only its sender's "
                    + "share (default ${DEFAULT-VALUE}); more are refused RESOURCE_EXHAUSTED.")
    int maxCallsPerPeer;

    @Option(names = "--max-calls-per-address", defaultValue = "1024", paramLabel = "N",
            description = "Most calls open at once from one remote address over all its keys (default "
                    + "${DEFAULT-VALUE}); clients behind one NAT share it.")
    int maxCallsPerAddress;

    @Option(names = "--max-refused-calls-per-address", defaultValue = "128", paramLabel = "N",
            description = "Calls the service may refuse as hostile (malformed, not permitted for the key, past 64 KiB, "
                    + "refused TLS certificates) from one remote address (an IPv6 /64) in 10 s over all its keys "
                    + "before it refuses the address whole for --refused-address-for: its calls, its connections and "
                    + "new ones before TLS; refusals for capacity and the ledger's own answers (insufficient funds...) "
                    + "never count (default ${DEFAULT-VALUE}).")
    int maxRefusedCallsPerAddress;

    @Option(names = "--refused-address-for", defaultValue = "30s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long such an address is refused, 1s to 1h (default ${DEFAULT-VALUE}).")
    Duration refusedAddressFor;

    @Option(names = "--max-streams-per-connection", defaultValue = "128", paramLabel = "N",
            description = "HTTP/2 streams one connection may have open at once (MAX_CONCURRENT_STREAMS; default "
                    + "${DEFAULT-VALUE}); a client queues the rest.")
    int maxStreamsPerConnection;

    @Option(names = "--receive-timeout", defaultValue = "10s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long a call may take to send its request whole before it is ended DEADLINE_EXCEEDED "
                    + "(default ${DEFAULT-VALUE}; a dispute's upload has its own deadline).")
    Duration receiveTimeout;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (off by default; 0 for any free "
                    + "port): calls by method and status, call latency, operations in flight, calls open, refusals "
                    + "by reason (operations past a bound, stalled readers), and what "
                    + "the transport refused (handshakes, streams past the limit, requests past 64 KiB).")
    Integer metricsPort;

    @Mixin
    ServeOptions serve = new ServeOptions();

    @Override
    public Integer call() throws Exception {
        serve.quietLogs();
        Path keyFile = key != null ? key : ServeOptions.defaultKey("ledger.key");
        ServeOptions.LoadedKey id;
        LedgerAccess access;
        String where;
        JdbcLedger ledger = null;
        LedgerServer server;
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry = null;
        try {
            if (port < 0 || port > 65535) {
                throw new ServeOptions.UsageException("--port must be 0 to 65535, got " + port);
            }
            if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
                throw new ServeOptions.UsageException("--metrics-port must be 0 to 65535, got " + metricsPort);
            }
            checkLimits();
            LedgerAccess.Builder rules = LedgerAccess.builder();
            for (String hex : operators) {
                rules.operator(publicKey(hex, "--operator"));
            }
            List<String> grants = new ArrayList<>(clients);
            if (clientsFile != null) {
                grants.addAll(grantLines(clientsFile));
            }
            for (String g : grants) {
                try {
                    rules.grant(g);
                } catch (DepinException e) {
                    throw new ServeOptions.UsageException("--client: " + e.getMessage());
                }
            }
            id = serve.loadKey(keyFile);
            access = rules.operator(id.keys().publicKey()).build();
            JdbcLedger.Builder b = JdbcLedger.builder().certifyHolds(id.keys());
            try {
                b.disputeWindow(disputeWindow);
            } catch (DepinException e) {
                throw new ServeOptions.UsageException("--dispute-window: " + e.getMessage());
            }
            try {
                b.recheckWindow(recheckWindow);
            } catch (DepinException e) {
                throw new ServeOptions.UsageException("--recheck-window: " + e.getMessage());
            }
            if (source != null && source.jdbcUrl != null) {
                b.postgres(source.jdbcUrl, user, System.getenv("DEPIN_LEDGER_PASSWORD"));
                where = source.jdbcUrl + " (PostgreSQL)";
            } else {
                if (user != null) {
                    throw new ServeOptions.UsageException("--user applies to --jdbc-url only");
                }
                Path file = source != null && source.file != null ? source.file : Path.of("ledger.db");
                if (Files.exists(file) && !Files.isRegularFile(file)) {
                    throw new ServeOptions.UsageException("--file " + file + " is not a regular file: give a depin "
                            + "ledger's SQLite file, or a new path");
                }
                b.sqlite(file);
                where = file + " (SQLite)";
            }
            ledger = b.open();
            LedgerServer.Builder sb = LedgerServer.builder(ledger, id.keys(), access).listen(serve.host, port)
                    .maxInFlight(maxInFlight, maxInFlightPerAddress, maxInFlightTotal).stallTimeout(stallTimeout)
                    .callTimeout(callTimeout)
                    .maxCalls(maxCallsPerPeer, maxCallsPerAddress).maxStreamsPerConnection(maxStreamsPerConnection)
                    .receiveTimeout(receiveTimeout)
                    .refusedCallsPerAddress(maxRefusedCallsPerAddress, refusedAddressFor);
            if (metricsPort != null) {
                registry = MetricsHttp.registry();
                sb.meterRegistry(registry);
            }
            server = sb.start();
        } catch (ServeOptions.UsageException | DepinException e) {
            if (ledger != null) {
                ledger.close();
            }
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
                ledger.close();
                System.err.println("--metrics-port: " + e.getMessage());
                return 2;
            }
        }
        NodeKeyPair keys = id.keys();
        String ready = "depin ledger " + keys.nodeId().hex() + " serving settlement on " + server.address()
                + " (mutual TLS 1.3), ledger " + where + "; ledger key " + Hex.encode(keys.publicKey().raw())
                + " (nodes: --ledger-key); " + access + "; " + id.describe(keyFile)
                + (http == null ? "" : "; metrics on http://" + serve.host + ":" + http.port() + "/metrics");
        JdbcLedger owned = ledger;
        MetricsHttp web = http;
        AutoCloseable all = () -> {
            try {
                if (web != null) {
                    web.close();
                }
            } finally {
                try {
                    server.close();
                } finally {
                    owned.close();
                }
            }
        };
        return serve.serveUntilStopped(all, System.out, ready, "depin ledger " + keys.nodeId().shortId() + " on "
                + server.address() + " stopped");
    }

    /** The per-peer limits, checked before the ledger is opened (a bad flag makes no file). */
    private void checkLimits() throws ServeOptions.UsageException {
        if (maxCallsPerPeer < 1 || maxCallsPerAddress < maxCallsPerPeer || maxCallsPerAddress > 1_000_000) {
            throw new ServeOptions.UsageException("--max-calls-per-peer " + maxCallsPerPeer + " and "
                    + "--max-calls-per-address " + maxCallsPerAddress + ": give 1 <= per peer <= per address <= 1000000");
        }
        if (maxStreamsPerConnection < 1 || maxStreamsPerConnection > 65_536) {
            throw new ServeOptions.UsageException("--max-streams-per-connection must be 1 to 65536, got "
                    + maxStreamsPerConnection);
        }
        if (maxRefusedCallsPerAddress < 1 || maxRefusedCallsPerAddress > 1_000_000) {
            throw new ServeOptions.UsageException("--max-refused-calls-per-address must be 1 to 1000000, got "
                    + maxRefusedCallsPerAddress);
        }
        ServeOptions.checkRefusedAddressFor(refusedAddressFor);
        if (maxInFlight < 1 || maxInFlightPerAddress < maxInFlight || maxInFlightTotal < maxInFlightPerAddress
                || maxInFlightTotal > 10_000_000) {
            throw new ServeOptions.UsageException("--max-in-flight " + maxInFlight + ", --max-in-flight-per-address "
                    + maxInFlightPerAddress + " and --max-in-flight-total " + maxInFlightTotal + ": give 1 <= per key "
                    + "<= per address <= total <= 10000000");
        }
        if (stallTimeout.toMillis() < 1 || stallTimeout.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new ServeOptions.UsageException("--stall-timeout must be 1ms to 10m, got "
                    + ServeOptions.shortDuration(stallTimeout));
        }
        if (receiveTimeout.toMillis() < 1 || receiveTimeout.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new ServeOptions.UsageException("--receive-timeout must be 1ms to 10m, got "
                    + ServeOptions.shortDuration(receiveTimeout));
        }
    }

    static NodePublicKey publicKey(String hex, String option) throws ServeOptions.UsageException {
        try {
            return NodePublicKey.of(Hex.decode(hex));
        } catch (DepinException | IllegalArgumentException e) {
            throw new ServeOptions.UsageException(option + " '" + (hex.length() > 80 ? hex.substring(0, 80) + "..." : hex)
                    + "' is not an Ed25519 public key as 64 hex characters (" + e.getMessage() + ")");
        }
    }

    private static List<String> grantLines(Path file) throws ServeOptions.UsageException {
        if (!Files.isRegularFile(file)) {
            throw new ServeOptions.UsageException("--clients " + file + " is not a regular file: give a file of "
                    + "HEX=ACCOUNT lines");
        }
        try {
            if (Files.size(file) > (1 << 20)) {
                throw new ServeOptions.UsageException("--clients " + file + " is over 1 MiB: that is not a grants file");
            }
            List<String> out = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                int hash = line.indexOf('#');
                String g = (hash >= 0 ? line.substring(0, hash) : line).strip();
                if (!g.isEmpty()) {
                    out.add(g);
                }
            }
            return out;
        } catch (IOException e) {
            throw new ServeOptions.UsageException("--clients " + file + ": cannot read it (" + e.getMessage() + ")");
        }
    }
}
