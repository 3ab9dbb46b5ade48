package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.LedgerService;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.ServerTransport;
import dev.depin.network.NetworkException;
import dev.depin.settlement.spi.Settlement;
import io.grpc.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A settlement service: any {@link Settlement} (such as depin-ledger's {@code JdbcLedger})
 * served over gRPC with mutual TLS 1.3 under the ledger's key, so that buyers and providers on
 * other machines share one ledger they can both check. Callers are known by their TLS keys and
 * may do what {@link LedgerAccess} grants them; clients use {@link RemoteSettlement}.
 *
 * <p>Limits: requests of at most 64 KiB (an operation is at most
 * {@value dev.depin.settlement.Operation#MAX_JSON_BYTES} bytes of JSON; a batch of operations,
 * which {@link RemoteSettlement} sends when it has several to apply at once, at most
 * {@value #MAX_BATCH_OPERATIONS} of them), 128 concurrent calls per connection,
 * {@link Builder#maxInFlightPerKey} unanswered calls per client key over all its connections
 * (each operation of a batch counts as one), an operation answered within
 * {@link Builder#callTimeout} or UNAVAILABLE
 * (safe to retry with its key), a TLS handshake within 10 s, idle connections closed after 5
 * minutes, keepalive pings no more often than every 20 s, and every connection recycled after 2
 * hours. Claims and disputes (issue 16): a hold's payee claims it with its signed receipt, its
 * payer disputes the claim with the dispute record and the job's data, which the service
 * re-checks with the offline verifier ({@link Builder#disputeLimits} bounds the uploads). A
 * dispute whose upload completed before the claim's window end freezes the claim; its re-check
 * then decides it even after the window (upheld: voided and slashed; not upheld: posted at
 * once), or the ledger posts it at its re-check deadline ({@code JdbcLedger.Builder.recheckWindow}).
 *
 * <pre>{@code
 * try (JdbcLedger ledger = JdbcLedger.builder().sqlite(Path.of("ledger.db")).certifyHolds(ledgerKey).open();
 *      LedgerServer server = LedgerServer.builder(ledger, ledgerKey, access).listen("0.0.0.0", 7100).start()) {
 *     server.awaitTermination();
 * }
 * }</pre>
 */
public final class LedgerServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LedgerServer.class);
    /** Largest request accepted: an operation's JSON and its framing, with room to spare. */
    public static final int MAX_REQUEST_BYTES = 64 << 10;
    /** The most operations one batch may carry. */
    public static final int MAX_BATCH_OPERATIONS = LedgerService.MAX_BATCH;

    private final Server server;
    private final LedgerService service;
    private final NodePublicKey key;
    private final String address;
    private final ExecutorService executor;
    private final ExecutorService responses;
    private final ExecutorService rechecks;
    private final java.util.concurrent.ScheduledExecutorService timer;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LedgerServer(Builder b) throws IOException {
        this.key = b.key.publicKey();
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(b.threads, r -> daemon(r, "depin-ledger-call-" + n.incrementAndGet()));
        this.responses = Executors.newFixedThreadPool(b.threads, r -> daemon(r, "depin-ledger-answer-" + n.incrementAndGet()));
        this.rechecks = Executors.newFixedThreadPool(b.maxDisputes, r -> daemon(r, "depin-ledger-recheck-" + n.incrementAndGet()));
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "depin-ledger-dispute-deadline"));
        this.service = new LedgerService(b.ledger, b.access, b.key.nodeId(), responses, b.maxInFlightPerKey,
                b.callTimeout.toMillis()).claims(b.slashing, rechecks, timer, b.maxDisputeBytes, b.maxDisputes,
                b.disputeUploadDeadline.toMillis());
        try {
            this.server = ServerTransport.mutualTls(b.host, b.port, NodeTls.identity(b.key))
                    .executor(executor)
                    .maxInboundMessageSize(MAX_REQUEST_BYTES)
                    .maxConcurrentCallsPerConnection(128)
                    .keepAliveTime(1, TimeUnit.MINUTES)
                    .keepAliveTimeout(20, TimeUnit.SECONDS)
                    .permitKeepAliveTime(20, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .maxConnectionIdle(5, TimeUnit.MINUTES)
                    .maxConnectionAge(2, TimeUnit.HOURS)
                    .maxConnectionAgeGrace(1, TimeUnit.MINUTES)
                    .addService(ServerTransport.authenticated(service.bindService()))
                    .build()
                    .start();
        } catch (IOException | RuntimeException e) {
            executor.shutdownNow();
            responses.shutdownNow();
            rechecks.shutdownNow();
            timer.shutdownNow();
            throw e;
        }
        this.address = b.host + ":" + server.getPort();
        LOG.info("settlement service {} on {} (mutual TLS 1.3), {}", b.key.nodeId().shortId(), address, b.access);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Starts building a service.
     *
     * @param ledger what it serves; the caller keeps owning it (closing the server does not close it)
     * @param key    the service's identity: its TLS certificate is made from it, and clients pin
     *               its public half (use the ledger's certificate key, so that one key names the ledger)
     * @param access who may do what
     * @return a builder
     * @throws InvalidArgumentException on null
     */
    public static Builder builder(Settlement ledger, NodeKeyPair key, LedgerAccess access) {
        return new Builder(InvalidArgumentException.requireNonNull(ledger, "settlement"),
                InvalidArgumentException.requireNonNull(key, "service key"),
                InvalidArgumentException.requireNonNull(access, "access rules"));
    }

    /** @return where it listens, as {@code host:port} */
    public String address() {
        return address;
    }

    /** @return the port it listens on */
    public int port() {
        return server.getPort();
    }

    /** @return the service's key, which clients pin */
    public NodePublicKey publicKey() {
        return key;
    }

    /** @return calls being answered now */
    public int inFlight() {
        return service.inFlight();
    }

    /**
     * Blocks until the server has stopped.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /**
     * Stops serving: new calls are refused, calls in progress get up to 5 s to be answered.
     * The ledger stays open (its owner closes it). Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        executor.shutdownNow();
        responses.shutdown();
        rechecks.shutdownNow();
        timer.shutdownNow();
        LOG.info("settlement service on {} stopped", address);
    }

    /** Options of a {@link LedgerServer}. */
    public static final class Builder {
        private final Settlement ledger;
        private final NodeKeyPair key;
        private final LedgerAccess access;
        private String host = "127.0.0.1";
        private int port;
        private int maxInFlightPerKey = 4_096;
        private Duration callTimeout = Duration.ofSeconds(30);
        private int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private dev.depin.settlement.SlashPolicy slashing = dev.depin.settlement.SlashPolicy.DEFAULT;
        private long maxDisputeBytes = 64L << 20;
        private int maxDisputes = 2;
        private Duration disputeUploadDeadline = Duration.ofMinutes(2);

        private Builder(Settlement ledger, NodeKeyPair key, LedgerAccess access) {
            this.ledger = ledger;
            this.key = key;
            this.access = access;
        }

        /**
         * @param host the interface to listen on (default {@code 127.0.0.1})
         * @param port the port, or 0 for any free one (default)
         * @return this builder
         * @throws InvalidArgumentException on a null host or a port out of range
         */
        public Builder listen(String host, int port) {
            ListenAddress.check(host, port);
            this.host = host;
            this.port = port;
            return this;
        }

        /**
         * @param max unanswered calls one client key may have at once, over all its connections
         *            (default 4,096); more are refused with RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 1,000,000
         */
        public Builder maxInFlightPerKey(int max) {
            if (max < 1 || max > 1_000_000) {
                throw new InvalidArgumentException("calls in flight per key " + max + " must be 1 to 1,000,000");
            }
            this.maxInFlightPerKey = max;
            return this;
        }

        /**
         * @param timeout how long an operation may wait for the ledger before the caller is told
         *                UNAVAILABLE (default 30 s); the operation may still apply, and a retry
         *                with its key returns its result
         * @return this builder
         * @throws InvalidArgumentException unless 1 ms to 10 minutes
         */
        public Builder callTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "call timeout");
            if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidArgumentException("call timeout " + timeout + " must be 1 ms to 10 minutes");
            }
            this.callTimeout = timeout;
            return this;
        }

        /**
         * @param threads threads that take calls, and as many that send answers (default the
         *                number of processors, at least 2)
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 256
         */
        public Builder threads(int threads) {
            if (threads < 1 || threads > 256) {
                throw new InvalidArgumentException("threads " + threads + " must be 1 to 256");
            }
            this.threads = threads;
            return this;
        }

        /**
         * @param slashing what a dispute the service upholds takes from the payee's stake
         *                 ({@code stake:<node id>}, where it exists) and gives the payer (default
         *                 {@link dev.depin.settlement.SlashPolicy#DEFAULT})
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder slashing(dev.depin.settlement.SlashPolicy slashing) {
            this.slashing = InvalidArgumentException.requireNonNull(slashing, "slash policy");
            return this;
        }

        /**
         * How much a dispute may upload and how many are taken at once: a dispute declares its
         * parts' sizes first and is refused (RESOURCE_EXHAUSTED) before anything is read if they
         * exceed {@code maxBytes}; bytes are kept only as they arrive; at most {@code maxAtOnce}
         * disputes are uploaded or re-checked together (so at most {@code maxBytes * maxAtOnce}
         * bytes are held); an upload not finished within {@code deadline} is dropped
         * (DEADLINE_EXCEEDED).
         *
         * @param maxBytes  the record, inputs and outputs together, 1 KiB to 1 GiB (default 64 MiB)
         * @param maxAtOnce 1 to 64 (default 2)
         * @param deadline  1 s to 1 hour (default 2 minutes)
         * @return this builder
         * @throws InvalidArgumentException if out of range
         */
        public Builder disputeLimits(long maxBytes, int maxAtOnce, Duration deadline) {
            InvalidArgumentException.requireNonNull(deadline, "dispute upload deadline");
            if (maxBytes < 1024 || maxBytes > (1L << 30)) {
                throw new InvalidArgumentException("dispute size limit " + maxBytes + " must be 1 KiB to 1 GiB");
            }
            if (maxAtOnce < 1 || maxAtOnce > 64) {
                throw new InvalidArgumentException("disputes at once " + maxAtOnce + " must be 1 to 64");
            }
            if (deadline.compareTo(Duration.ofSeconds(1)) < 0 || deadline.compareTo(Duration.ofHours(1)) > 0) {
                throw new InvalidArgumentException("dispute upload deadline " + deadline + " must be 1 s to 1 hour");
            }
            this.maxDisputeBytes = maxBytes;
            this.maxDisputes = maxAtOnce;
            this.disputeUploadDeadline = deadline;
            return this;
        }

        /**
         * Binds the port and starts serving.
         *
         * @return the running service
         * @throws NetworkException if the port cannot be bound
         */
        public LedgerServer start() {
            try {
                return new LedgerServer(this);
            } catch (IOException e) {
                throw new NetworkException("could not listen on " + host + ":" + port + ": " + e.getMessage()
                        + " (is the port in use?)", e);
            }
        }
    }
}
