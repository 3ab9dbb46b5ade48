package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.executor.ExecutorRegistry;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.grpc.ProviderServer;
import dev.depin.metrics.GpuTelemetry;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.ProviderNode;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.Region;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code depin node}: a provider node as its own process. It serves jobs over gRPC with
 * mutual TLS 1.3 on the best executor present (CUDA where a GPU is, the CPU otherwise),
 * lists its signed offer in each directory and renews it, prints one line saying what it
 * serves and where, and runs until SIGTERM or Ctrl-C.
 */
@Command(name = "node", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin node --port 7001 --key node.key --directory 127.0.0.1:7000", "  depin node --port 7001 --key node.key --region DE/fra-1 --threads 2",
            "  depin node --port 7001 --key node.key --sla-within 30s --sla-period 1h"},

        description = {"Run a provider node: serve jobs over gRPC with mutual TLS 1.3 on the best executor "
                + "present, listed in the given directories, until SIGTERM or Ctrl-C.",
            "The node's Ed25519 key is read from --key, or generated and saved there (mode 0600) on first start; "
                + "encrypted when a passphrase is given (--passphrase-env VAR or --ask-passphrase, never as an "
                + "argument)."})
public final class NodeCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "7001", paramLabel = "PORT",
            description = "Port to listen on, 0 for any free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--key", paramLabel = "FILE",
            description = "The node's key file (default ~/.depin/node.key); made on first start.")
    Path key;

    @Option(names = "--directory", paramLabel = "HOST:PORT",
            description = "A directory to list the offer in and renew it; repeat for several.")
    List<String> directories = new ArrayList<>();

    @Option(names = "--advertise", paramLabel = "HOST:PORT",
            description = "The address listed in directories and offers when buyers reach the node elsewhere than "
                    + "--host:--port: behind NAT, or behind a market's port mapping (default: --host:--port).")
    String advertise;

    @Option(names = "--threads", paramLabel = "N",
            description = "Executor host threads (default: the number of cores).")
    Integer threads;

    @Option(names = "--price-per-second", defaultValue = "0.0010", paramLabel = "USD",
            description = "Price per device-second in USD (default ${DEFAULT-VALUE}).")
    String pricePerSecond;

    @Option(names = "--price-per-gb", defaultValue = "0.02", paramLabel = "USD",
            description = "Price per 10^9 bytes moved in or out, in USD (default ${DEFAULT-VALUE}).")
    String pricePerGb;

    @Option(names = "--region", defaultValue = "US", paramLabel = "CC[/zone]",
            description = "Where the hardware is, e.g. DE/fra-1 (default ${DEFAULT-VALUE}).")
    String region;

    @Option(names = "--stake", defaultValue = "100", paramLabel = "USD",
            description = "Stake the offer declares, in USD (default ${DEFAULT-VALUE}).")
    String stake;

    @Option(names = "--renew", defaultValue = "10s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How often the offer is renewed in each directory, e.g. 10s (default ${DEFAULT-VALUE}); "
                    + "keep it well under the directory's --ttl.")
    Duration renew;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (off by default; 0 for any free "
                    + "port): attempts, latency histograms, bytes, earnings, energy, errors, GPU telemetry.")
    Integer metricsPort;

    @Option(names = "--dashboard-port", paramLabel = "PORT",
            description = "Serve a dashboard at http://HOST:PORT/ (off by default; 0 for any free port): earnings "
                    + "over time, attempts completed and failed, GPU utilisation and temperature, latency histogram.")
    Integer dashboardPort;

    @Option(names = "--watts", paramLabel = "W",
            description = "Board power in watts, to estimate energy per attempt (watts x device time, signed in "
                    + "each receipt as 'estimated') where the GPU's own power readings (nvidia-smi, read for a CUDA executor's own GPU, found by UUID) "
                    + "are not available.")
    Integer watts;

    @Option(names = "--max-output-bytes", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Most output bytes one job may declare, e.g. 256m (default: half of --max-job-bytes); larger "
                    + "jobs are refused at their Start, before any input is received; the node's signed offer states it, "
                    + "so buyers do not send larger ones.")
    Long maxOutputBytes;

    @Option(names = "--max-job-bytes", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Most working memory (input plus output bytes) of one job, stated in the signed offer "
                    + "(default: an eighth of the JVM's maximum heap, at most 1g, and at most what the input budgets "
                    + "below admit for one job); it may not pass those budgets, so buyers never plan a job the node "
                    + "refuses for its size.")
    Long maxJobBytes;

    @Option(names = "--input-cache-bytes", defaultValue = "0", paramLabel = "SIZE",
            converter = ServeOptions.SizeOrOffConverter.class,
            description = "Memory for inputs kept by Merkle root between jobs, for buyers that ask for it "
                    + "(GrpcNetwork.Builder.keepInputsOnProviders), e.g. 4g; their next jobs send only the roots. "
                    + "Each buyer may take a quarter; least recently used entries are evicted, wiped and listed in "
                    + "their owner's next wipe attestation. Default ${DEFAULT-VALUE}: off.")
    long inputCacheBytes;

    @Option(names = "--input-cache-entries", defaultValue = "1024", paramLabel = "N",
            description = "Most inputs the input cache holds (default ${DEFAULT-VALUE}; a buyer may take a quarter).")
    int inputCacheEntries;

    @Option(names = "--input-cache-ttl", defaultValue = "10m", paramLabel = "DURATION",
            description = "How long a cached input is kept unused, e.g. 10m, 1h (default ${DEFAULT-VALUE}).")
    String inputCacheTtl;

    @Option(names = "--max-input-bytes", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Most input bytes all streams may hold at once, allocated as they arrive "
                    + "(default 2g, or a quarter of the JVM's maximum heap if less: see java -Xmx).")
    Long maxInputBytes;

    @Option(names = "--max-input-bytes-per-peer", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Most input bytes one peer's streams may hold at once (default: half of --max-input-bytes; "
                    + "at least 4m).")
    Long maxInputBytesPerPeer;

    @Option(names = "--max-input-bytes-per-address", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Most input bytes the streams of all keys from one remote address (IPv4, or an IPv6 /64) may "
                    + "hold at once (default: three quarters of --max-input-bytes, at least the per-peer share; "
                    + "at least 4m).")
    Long maxInputBytesPerAddress;

    @Option(names = "--max-streams-per-address", defaultValue = "1024", paramLabel = "N",
            description = "Most Execute streams open at once from one remote address over all its keys (default "
                    + "${DEFAULT-VALUE}); buyers behind one NAT share it.")
    int maxStreamsPerAddress;

    @Option(names = "--max-refused-starts-per-address", defaultValue = "128", paramLabel = "N",
            description = "Start messages the node refused (jobs it never takes, malformed streams, messages past 4 "
                    + "MiB, refused TLS certificates) one remote address (an IPv6 /64) may send per 10 s over all its "
                    + "keys before the node refuses the address whole for --refused-address-for: its calls, its "
                    + "connections and new ones before TLS; refusals for capacity (node busy) never count (default "
                    + "${DEFAULT-VALUE}).")
    int maxRefusedStartsPerAddress;

    @Option(names = "--refused-address-for", defaultValue = "30s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long such an address is refused, 1s to 1h (default ${DEFAULT-VALUE}).")
    Duration refusedAddressFor;

    @Option(names = "--max-unread-output-bytes", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Most output bytes of finished jobs the node holds for buyers that have not read them, "
                    + "over all peers (default 256m, or an eighth of the JVM's maximum heap if less).")
    Long maxUnreadOutputBytes;

    @Option(names = "--max-unread-output-bytes-per-peer", paramLabel = "SIZE",
            converter = ServeOptions.SizeConverter.class,
            description = "Such output bytes one peer may leave unread before its next jobs are refused at Start "
                    + "(default 64m, or a quarter of --max-unread-output-bytes if less).")
    Long maxUnreadOutputBytesPerPeer;

    @Option(names = "--max-streams-per-connection", defaultValue = "128", paramLabel = "N",
            description = "HTTP/2 streams one connection may have open at once (MAX_CONCURRENT_STREAMS; default "
                    + "${DEFAULT-VALUE}); a client queues the rest.")
    int maxStreamsPerConnection;

    @Option(names = "--connection-idle", defaultValue = "5m", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "A connection with no stream for this long is closed (default ${DEFAULT-VALUE}).")
    Duration connectionIdle;

    @Option(names = "--connection-age", defaultValue = "2h", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "Any connection is asked to go away (HTTP/2 GOAWAY) after this long, so that no peer holds "
                    + "one forever (default ${DEFAULT-VALUE}).")
    Duration connectionAge;

    @Option(names = "--connection-grace", defaultValue = "10m", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "How long the streams of a connection asked to go away may finish before it is cut "
                    + "(default ${DEFAULT-VALUE}).")
    Duration connectionGrace;

    @Option(names = "--max-streams-per-peer", defaultValue = "256", paramLabel = "N",
            description = "Most Execute streams one peer (its TLS key) may have open at once (default ${DEFAULT-VALUE}).")
    int maxStreamsPerPeer;

    @Option(names = "--max-jobs-per-peer", defaultValue = "256", paramLabel = "N",
            description = "Most jobs one peer may have receiving, queued or running at once (default ${DEFAULT-VALUE}).")
    int maxJobsPerPeer;

    @Option(names = "--receive-idle", defaultValue = "10s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "A stream whose inputs are incomplete and that sends nothing for this long is closed and "
                    + "what it held released (default ${DEFAULT-VALUE}).")
    Duration receiveIdle;

    @Option(names = "--receive-timeout", defaultValue = "5m", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "A stream's inputs must be complete this long after it opened (default ${DEFAULT-VALUE}).")
    Duration receiveTimeout;

    @Option(names = "--stall-timeout", defaultValue = "2s", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "A buyer that reads none of its outputs for this long has its attempt stopped and the "
                    + "worker freed (default ${DEFAULT-VALUE}).")
    Duration stallTimeout;

    /** The demo's dishonest provider: corrupts this fraction of its SGEMM results before signing them. */
    @Option(names = "--ledger-key", paramLabel = "HEX",
            description = "A private network: run only jobs that carry a hold certificate signed by this settlement "
                    + "ledger key (64 hex characters, the raw Ed25519 public key) for exactly the job's spec and this "
                    + "node as payee; others are refused before their inputs are received (default: an open network, "
                    + "any job is run).")
    String ledgerKey;

    @Option(names = "--ledger-service", paramLabel = "HOST:PORT",
            description = "With --ledger-key: the settlement service (depin ledger serve) where this node claims, with "
                    + "its receipt, each paid job whose buyer has not posted the hold 30 s after the result; the ledger "
                    + "pays the claim after its dispute window unless the buyer disputes it (default: no claims).")
    String ledgerService;

    @Option(names = "--claims-journal", paramLabel = "FILE",
            description = "With --ledger-service: where paid jobs not yet settled are kept, so a node restarted "
                    + "(or killed) before it claimed still claims them (default: claims.journal beside the key file).")
    Path claimsJournal;

    @Option(names = "--dishonest", hidden = true, defaultValue = "0")
    double dishonest;

    @Option(names = "--dishonest-seed", hidden = true, defaultValue = "0")
    long dishonestSeed;

    @Mixin
    SlaOptions slaOptions = new SlaOptions();

    @Mixin
    ServeOptions serve = new ServeOptions();

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        serve.quietLogs();
        Path keyFile = key != null ? key : ServeOptions.defaultKey("node.key");
        int hostThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Price price;
        Region where;
        dev.depin.node.InputCache.Limits cacheLimits = null;
        MicroUsd staked;
        dev.depin.crypto.NodePublicKey ledger = null;
        dev.depin.provider.SlaTerms sla;
        ServeOptions.LoadedKey id;
        dev.depin.provider.JobLimits jobs;
        try {
            if (port < 0 || port > 65535) {
                throw new ServeOptions.UsageException("--port must be 0 to 65535, got " + port);
            }
            if (hostThreads < 1 || hostThreads > 1024) {
                throw new ServeOptions.UsageException("--threads must be 1 to 1024, got " + hostThreads);
            }
            if (!(dishonest >= 0 && dishonest <= 1)) {
                throw new ServeOptions.UsageException("--dishonest must be 0 to 1, got " + dishonest);
            }
            if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
                throw new ServeOptions.UsageException("--metrics-port must be 0 to 65535, got " + metricsPort);
            }
            if (dashboardPort != null && (dashboardPort < 0 || dashboardPort > 65535)) {
                throw new ServeOptions.UsageException("--dashboard-port must be 0 to 65535, got " + dashboardPort);
            }
            if (dashboardPort != null && dashboardPort != 0 && dashboardPort.equals(metricsPort)) {
                throw new ServeOptions.UsageException("--dashboard-port and --metrics-port must differ, both are "
                        + dashboardPort);
            }
            if (watts != null && (watts < 1 || watts > 100_000)) {
                throw new ServeOptions.UsageException("--watts must be 1 to 100000, got " + watts);
            }
            if (maxStreamsPerPeer < 1 || maxStreamsPerPeer > 65_536 || maxJobsPerPeer < 1
                    || maxJobsPerPeer > 65_536) {
                throw new ServeOptions.UsageException("--max-streams-per-peer and --max-jobs-per-peer must be 1 to "
                        + "65536, got " + maxStreamsPerPeer + " and " + maxJobsPerPeer);
            }
            checkServerLimits();
            jobs = jobLimits();
            if (inputCacheEntries < 1 || inputCacheEntries > 1_000_000) {
                throw new ServeOptions.UsageException("--input-cache-entries must be 1 to 1000000, got "
                        + inputCacheEntries);
            }
            Duration cacheTtl = parseTtl(inputCacheTtl); // checked even while the cache is off
            if (inputCacheBytes > 0) {
                try {
                    cacheLimits = dev.depin.node.InputCache.Limits.of(inputCacheBytes, inputCacheEntries)
                            .withIdleTtl(cacheTtl);
                } catch (DepinException e) {
                    throw new ServeOptions.UsageException("--input-cache-ttl " + inputCacheTtl + ": "
                            + e.getMessage());
                }
            }
            price = new Price(usd("--price-per-second", pricePerSecond), usd("--price-per-gb", pricePerGb));
            staked = usd("--stake", stake);
            where = parseRegion(region);
            sla = slaOptions.terms();
            id = serve.loadKey(keyFile);
            if (ledgerKey != null) {
                try {
                    ledger = dev.depin.crypto.NodePublicKey.of(dev.depin.crypto.Hex.decode(ledgerKey));
                } catch (DepinException e) {
                    throw new ServeOptions.UsageException("--ledger-key: " + e.getMessage()
                            + " (give the ledger's raw Ed25519 public key as 64 hex characters)");
                }
            }
            if (ledgerService != null && ledger == null) {
                throw new ServeOptions.UsageException("--ledger-service needs --ledger-key: a node claims only holds "
                        + "certified by the ledger it trusts");
            }
        } catch (ServeOptions.UsageException e) {
            err.println(e.getMessage());
            return 2;
        }
        dev.depin.grpc.RemoteSettlement claimsLedger = null;
        dev.depin.grpc.ClaimAgent claimer = null;
        if (ledgerService != null) {
            try {
                claimsLedger = dev.depin.grpc.RemoteSettlement.builder(id.keys(), ledgerService, ledger).connect();
                Path journalFile = claimsJournal != null ? claimsJournal
                        : keyFile.toAbsolutePath().resolveSibling("claims.journal");
                claimer = dev.depin.grpc.ClaimAgent.builder(claimsLedger).journal(journalFile).build();
            } catch (DepinException e) {
                if (claimsLedger != null) {
                    claimsLedger.close();
                }
                err.println("--ledger-service: " + e.getMessage());
                return 2;
            }
        }

        DeviceExecutor executor = ExecutorRegistry.createBest(ExecutorOptions.threads(hostThreads));
        String model = executor.device().model();
        if (dishonest > 0) {
            executor = new DishonestExecutor(executor, dishonest, dishonestSeed);
        }
        // The server states the endpoint (depin://host:port) in the offer once it listens.
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry = null;
        GpuTelemetry gpus = null;
        String energy = "";
        ProviderNode node;
        try {
            ProviderNode.Builder nb = ProviderNode.builder(id.keys(), executor).region(where).price(price)
                    .stake(staked).sla(sla)
                    // Single envelopes per job (receiptBatching(0)): buyers of the CLI's nodes keep evidence
                    // that verify_receipt.py and other single-envelope tools can re-check.
                    .receiptBatching(0).jobLimits(jobs.maxOutputBytes(), jobs.maxJobBytes());
            if (cacheLimits != null) {
                nb.inputCache(cacheLimits);
            }
            if (metricsPort != null || dashboardPort != null) {
                registry = MetricsHttp.registry();
                nb.meterRegistry(registry);
            }
            // GPU power is read for the receipts' energy whether or not metrics are served
            // (a CPU executor draws no GPU power: no nvidia-smi process for it).
            if (executor.device().kind() == DeviceKind.CUDA || registry != null) {
                gpus = GpuTelemetry.start(registry != null ? registry
                        : new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), Duration.ofSeconds(2));
            }
            String uuidHash = executor.device().uuidHash();
            if (gpus != null && gpus.available() && executor.device().kind() == DeviceKind.CUDA) {
                // This executor's GPU only, found by UUID: a node on one GPU of several states that GPU's
                // energy, not the machine's. One listed GPU is this one whatever its UUID field says.
                GpuTelemetry g = gpus;
                boolean one = g.latest().size() == 1;
                nb.power(() -> one ? g.powerWatts() : g.powerWatts(uuidHash), true);
                energy = "; GPU telemetry and measured energy from nvidia-smi" + (one ? "" : " (this node's GPU)");
            } else if (watts != null) {
                double w = watts;
                nb.power(() -> w, false);
                energy = "; energy estimated at " + watts + " W"
                        + (gpus != null && !gpus.available() ? " (" + gpus.unavailability() + ")" : "");
            } else if (gpus != null && !gpus.available()) {
                energy = "; no energy figures: " + gpus.unavailability() + " (give --watts to estimate)";
            }
            if (ledger != null) {
                nb.requireHoldCertificates(ledger);
            }
            if (claimer != null) {
                nb.onPaidAttempt(claimer);
            }
            node = nb.build();
        } catch (DepinException e) {
            closeClaims(claimer, claimsLedger);
            if (gpus != null) {
                gpus.close();
            }
            executor.close();
            err.println(e.getMessage());
            return 2;
        }
        ProviderServer server;
        try {
            ProviderServer.Builder sb = ProviderServer.builder(node, id.keys()).listen(serve.host, port).renewEvery(renew)
                    .maxStreamsPerPeer(maxStreamsPerPeer).maxJobsPerPeer(maxJobsPerPeer)
                    .maxStreamsPerAddress(maxStreamsPerAddress).refusedStartsPerAddress(maxRefusedStartsPerAddress, refusedAddressFor)
                    .maxStreamsPerConnection(maxStreamsPerConnection)
                    .connectionLimits(connectionIdle, connectionAge, connectionGrace)
                    .receiveIdleTimeout(receiveIdle).receiveTimeout(receiveTimeout).stallTimeout(stallTimeout);
            if (registry != null) {
                sb.meterRegistry(registry); // depin.node.calls: refusals by status, on /metrics
            }
            if (maxInputBytes != null) {
                sb.maxInputBytes(maxInputBytes);
            }
            if (maxInputBytesPerPeer != null) {
                sb.maxInputBytesPerPeer(maxInputBytesPerPeer);
            }
            if (maxInputBytesPerAddress != null) {
                sb.maxInputBytesPerAddress(maxInputBytesPerAddress);
            }
            if (maxUnreadOutputBytes != null) {
                sb.maxUnreadOutputBytes(maxUnreadOutputBytes);
            }
            if (maxUnreadOutputBytesPerPeer != null) {
                sb.maxUnreadOutputBytesPerPeer(maxUnreadOutputBytesPerPeer);
            }
            if (advertise != null) {
                sb.advertise(advertise);
            }
            for (String d : directories) {
                sb.directory(d);
            }
            server = sb.start();
        } catch (DepinException e) {
            node.close();
            closeClaims(claimer, claimsLedger);
            if (gpus != null) {
                gpus.close();
            }
            err.println(e.getMessage());
            return 2;
        }
        MetricsHttp http = null;
        MetricsHttp board = null;
        Dashboard dashboard = null;
        try {
            if (metricsPort != null) {
                http = MetricsHttp.start(serve.host, metricsPort, java.util.Map.of("/metrics",
                        MetricsHttp.metrics(registry)));
            }
            if (dashboardPort != null) {
                Dashboard d = new Dashboard(registry, gpus, node.nodeId().shortId(), sla);
                dashboard = d;
                board = MetricsHttp.start(serve.host, dashboardPort, java.util.Map.of(
                        "/", new MetricsHttp.Page("text/html; charset=utf-8", Dashboard::page),
                        "/dashboard.json", new MetricsHttp.Page("application/json", d::json)));
            }
        } catch (DepinException e) {
            if (http != null) {
                http.close();
            }
            if (dashboard != null) {
                dashboard.close();
            }
            server.close();
            closeClaims(claimer, claimsLedger);
            gpus.close();
            err.println((http == null && metricsPort != null ? "--metrics-port: " : "--dashboard-port: ")
                    + e.getMessage());
            return 2;
        }
        if (!directories.isEmpty()) {
            listNow(server, err);
        }
        String kernels = String.join(",", new java.util.TreeSet<>(node.offer().terms().kernels()));
        String ready = "depin node " + node.nodeId().hex() + " serving " + kernels + " on " + server.address()
                + " (mutual TLS 1.3) with the " + executor.kind() + " executor (" + model + ", " + hostThreads
                + " thread(s))"
                + (directories.isEmpty() ? ", listed in no directory" : ", listed in " + String.join(" ", directories))
                + "; " + id.describe(keyFile) + (sla == null ? "; no SLA" : "; " + SlaOptions.describe(sla))
                + (http == null ? "" : "; metrics on http://" + serve.host + ":" + http.port() + "/metrics")
                + (board == null ? "" : "; dashboard on http://" + serve.host + ":" + board.port() + "/") + energy
                + (claimer == null ? "" : "; claims unpaid holds on " + ledgerService);
        MetricsHttp web = http;
        MetricsHttp page = board;
        Dashboard charts = dashboard;
        GpuTelemetry telemetry = gpus;
        dev.depin.grpc.ClaimAgent claims = claimer;
        dev.depin.grpc.RemoteSettlement claimsClient = claimsLedger;
        AutoCloseable all = () -> {
            try {
                if (web != null) {
                    web.close();
                }
                if (page != null) {
                    page.close();
                }
                if (charts != null) {
                    charts.close();
                }
                if (telemetry != null) {
                    telemetry.close();
                }
            } finally {
                server.close();
                closeClaims(claims, claimsClient);
            }
        };
        return serve.serveUntilStopped(all, System.out, ready, "depin node " + node.nodeId().shortId() + " on "
                + server.address() + " stopped");
    }

    /** The server's limits that take counts, and pairs that must agree, checked with the flags' names. */
    private void checkServerLimits() throws ServeOptions.UsageException {
        if (maxStreamsPerAddress < 1 || maxStreamsPerAddress > 1 << 20) {
            throw new ServeOptions.UsageException("--max-streams-per-address must be 1 to 1048576, got "
                    + maxStreamsPerAddress + " (raise it for many buyers behind one NAT)");
        }
        if (maxRefusedStartsPerAddress < 1 || maxRefusedStartsPerAddress > 1 << 20) {
            throw new ServeOptions.UsageException("--max-refused-starts-per-address must be 1 to 1048576, got "
                    + maxRefusedStartsPerAddress);
        }
        ServeOptions.checkRefusedAddressFor(refusedAddressFor);
        if (maxStreamsPerConnection < 1 || maxStreamsPerConnection > 65_536) {
            throw new ServeOptions.UsageException("--max-streams-per-connection must be 1 to 65536, got "
                    + maxStreamsPerConnection);
        }
        if (maxUnreadOutputBytes != null && maxUnreadOutputBytesPerPeer != null
                && maxUnreadOutputBytesPerPeer > maxUnreadOutputBytes) {
            throw new ServeOptions.UsageException("--max-unread-output-bytes-per-peer " + maxUnreadOutputBytesPerPeer
                    + " must not be more than --max-unread-output-bytes " + maxUnreadOutputBytes);
        }
    }

    /**
     * The job limits the node's offer states: as given, or sized to the heap and to what the
     * input budgets admit for one job, so that the server never refuses for its size a job the
     * offer allows (ProviderServer would refuse to start otherwise; this says which flag).
     */
    private dev.depin.provider.JobLimits jobLimits() throws ServeOptions.UsageException {
        long perJob = ProviderServer.inputBytesPerJob(maxInputBytes == null ? 0 : maxInputBytes,
                maxInputBytesPerPeer == null ? 0 : maxInputBytesPerPeer,
                maxInputBytesPerAddress == null ? 0 : maxInputBytesPerAddress);
        if (perJob < ProviderServer.MIN_INPUT_BYTES_PER_JOB) {
            throw new ServeOptions.UsageException("--max-input-bytes, --max-input-bytes-per-peer and "
                    + "--max-input-bytes-per-address admit at most " + perJob + " input bytes per job, less than one "
                    + "Start message (" + ProviderServer.MIN_INPUT_BYTES_PER_JOB + " bytes): give at least 4m per peer "
                    + "and per address (--max-input-bytes at least 8m)");
        }
        long job;
        if (maxJobBytes != null) {
            if (maxJobBytes > perJob) {
                throw new ServeOptions.UsageException("--max-job-bytes " + maxJobBytes + " is more than the "
                        + perJob + " input bytes this node admits for one job (--max-input-bytes-per-peer, by default "
                        + "half of --max-input-bytes, and --max-input-bytes-per-address): buyers would plan jobs it "
                        + "refuses; lower --max-job-bytes or raise those budgets");
            }
            job = maxJobBytes;
        } else {
            job = Math.min(dev.depin.provider.JobLimits.forHeap(Runtime.getRuntime().maxMemory()).maxJobBytes(),
                    perJob);
        }
        long out = maxOutputBytes != null ? maxOutputBytes : dev.depin.provider.JobLimits.ofJobBytes(job)
                .maxOutputBytes();
        if (out > job) {
            throw new ServeOptions.UsageException("--max-output-bytes " + out + " must not be more than "
                    + (maxJobBytes != null ? "--max-job-bytes " + job : "the job bytes " + job + " this node takes "
                    + "by default (an eighth of the heap, within the input budgets): give --max-job-bytes too"));
        }
        return new dev.depin.provider.JobLimits(out, job);
    }

    private static void closeClaims(dev.depin.grpc.ClaimAgent claimer, dev.depin.grpc.RemoteSettlement ledger) {
        if (claimer != null) {
            claimer.close();
        }
        if (ledger != null) {
            ledger.close();
        }
    }

    /**
     * Lists the offer before saying so: a few tries, since a cold JVM on a loaded machine may
     * miss the first handshake's deadline. A directory that refused the connection (nothing
     * listens there yet) gets no more tries than the renewal's own: trying again at once would
     * only delay the node's line. The scheduled renewals keep trying after that, so a directory
     * that starts later still lists this node.
     */
    private static void listNow(ProviderServer server, PrintStream err) {
        for (int attempt = 1; ; attempt++) {
            try {
                server.renewNow();
                return;
            } catch (DepinException e) {
                if (attempt == 3 || refused(e)) {
                    err.println("warning: not listed yet (renewals keep trying): " + e.getMessage());
                    return;
                }
            }
        }
    }

    /** @return whether a connection was refused: the directory is not running (yet) */
    private static boolean refused(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    static MicroUsd usd(String option, String value) throws ServeOptions.UsageException {
        try {
            return MicroUsd.ofUsd(value);
        } catch (DepinException e) {
            throw new ServeOptions.UsageException(option + " '" + value + "': " + e.getMessage());
        }
    }

    /** A duration as {@code 90s}, {@code 10m}, {@code 2h} or {@code 1d}. */
    private static Duration parseTtl(String text) throws ServeOptions.UsageException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,7})([smhd])").matcher(text);
        if (!m.matches()) {
            throw new ServeOptions.UsageException("--input-cache-ttl '" + text + "': give a number and a unit s, m, h "
                    + "or d, e.g. 10m");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    private static Region parseRegion(String text) throws ServeOptions.UsageException {
        try {
            return Region.parse(text);
        } catch (DepinException e) {
            throw new ServeOptions.UsageException("--region '" + text + "': " + e.getMessage());
        }
    }
}
