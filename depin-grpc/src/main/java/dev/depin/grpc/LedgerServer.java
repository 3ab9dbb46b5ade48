package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.AddressRefusals;
import dev.depin.grpc.internal.CallLimits;
import dev.depin.grpc.internal.CallMeters;
import dev.depin.grpc.internal.LedgerRefusals;
import dev.depin.grpc.internal.LedgerService;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.OperationAdmission;
import dev.depin.grpc.internal.RefusedAddresses;
import dev.depin.grpc.internal.ServerTransport;
import dev.depin.grpc.internal.TransportRefusals;
import dev.depin.network.NetworkException;
import dev.depin.settlement.spi.Settlement;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
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
 * {@value #MAX_BATCH_OPERATIONS} of them), {@value #FLOW_CONTROL_WINDOW} bytes a peer may send
 * before the service reads them (per stream and per connection, without gRPC's growth of the
 * window), {@link Builder#maxStreamsPerConnection} concurrent calls per connection (HTTP/2
 * MAX_CONCURRENT_STREAMS; past it a stream is reset REFUSED_STREAM), calls open at once per
 * client key and per remote address over all their connections ({@link Builder#maxCalls}: a call counts until its answer is read, so a request sent
 * slowly or an answer left unread holds only its sender's share; past them RESOURCE_EXHAUSTED), a
 * request sent whole within {@link Builder#receiveTimeout} of the call's start or
 * DEADLINE_EXCEEDED, unanswered operations per client key, per remote address and in total
 * ({@link Builder#maxInFlight}; each operation of a batch counts as one; the last quarter of the
 * total kept for light peers), listings answered under flow control (at most 32 KiB and a page
 * queued per call) and their reader's connection closed when it takes nothing for
 * {@link Builder#stallTimeout}, an operation answered within
 * {@link Builder#callTimeout} or UNAVAILABLE (safe to retry with its key), a TLS handshake within
 * 10 s, idle connections closed after 5 minutes, keepalive pings no more often than every 20 s,
 * and every connection recycled after 2 hours. With {@link Builder#meterRegistry} each refusal is
 * counted: calls by method and status ({@code depin.ledger.calls}), and what the transport refused
 * before any call existed ({@code depin.ledger.transport.refusals}: handshakes, streams past
 * MAX_CONCURRENT_STREAMS, requests past 64 KiB). Claims and disputes (issue 16): a hold's payee claims it with its signed receipt, its
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
    /**
     * The HTTP/2 flow-control window, per stream and per connection: what a peer may send before
     * the service reads it. gRPC's default starts at 1 MiB and grows with the measured bandwidth
     * (to 8 MiB); fixed here, so that what a peer can make the service buffer does not grow.
     */
    public static final int FLOW_CONTROL_WINDOW = 1 << 20;

    private final Server server;
    private final LedgerService service;
    private final CallLimits callLimits;
    private final TransportRefusals transportRefusals;
    private final AddressRefusals refusedAddresses;
    /** The window refused calls are counted in per address. */
    static final Duration REFUSED_CALLS_WINDOW = Duration.ofSeconds(10);
    /** Addresses whose refused calls are remembered at most, least recently seen forgotten first. */
    static final int MAX_REFUSED_ADDRESSES = 4096;
    private final LedgerRefusals refusals = new LedgerRefusals();
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
        this.transportRefusals = new TransportRefusals(b.registry, "depin.ledger");
        this.service = new LedgerService(b.ledger, b.access, b.key.nodeId(), responses, b.maxInFlightPerKey,
                b.callTimeout.toMillis()).claims(b.slashing, rechecks, timer, b.maxDisputeBytes, b.maxDisputes,
                b.disputeUploadDeadline.toMillis()).limits(new OperationAdmission.Limits(b.maxInFlightPerKey,
                b.maxInFlightPerAddress, b.maxInFlightTotal), refusals, b.stallTimeout.toMillis(), timer,
                transportRefusals::closeConnection);
        this.callLimits = new CallLimits(b.maxCallsPerKey, b.maxCallsPerAddress, b.receiveTimeout.toMillis(), timer);
        // Calls refused as hostile count against their address: a request that is not protobuf or
        // not a valid operation (INVALID_ARGUMENT), one its key may not make (PERMISSION_DENIED),
        // one past 64 KiB, a batch with such an operation, a TLS certificate the service refuses;
        // the one that reaches refusedCallsPerAddress in 10 s has the address refused whole.
        this.refusedAddresses = new AddressRefusals(b.maxRefusedCallsPerAddress, REFUSED_CALLS_WINDOW.toNanos(),
                b.refusedAddressFor.toNanos(), MAX_REFUSED_ADDRESSES, b.addressClock);
        RefusedAddresses gate = new RefusedAddresses(refusedAddresses, transportRefusals, m -> true,
                st -> st.getCode() == io.grpc.Status.Code.INVALID_ARGUMENT
                        || st.getCode() == io.grpc.Status.Code.PERMISSION_DENIED || TransportRefusals.tooLarge(st),
                "requests this settlement service refused as hostile (malformed, not permitted, too large)");
        service.hostile(refusedAddresses::refused);
        if (b.registry != null) {
            gate.register(b.registry, "depin.ledger");
        }
        ServerServiceDefinition limited = ServerInterceptors.intercept(service.bindService(), callLimits);
        try {
            this.server = ServerTransport.mutualTls(b.host, b.port, NodeTls.identity(b.key), transportRefusals)
                    .addStreamTracerFactory(gate.tracer())
                    .executor(executor)
                    .maxInboundMessageSize(MAX_REQUEST_BYTES)
                    .flowControlWindow(FLOW_CONTROL_WINDOW)
                    // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: a gRPC client queues streams past it.
                    .maxConcurrentCallsPerConnection(b.maxStreamsPerConnection)
                    .keepAliveTime(1, TimeUnit.MINUTES)
                    .keepAliveTimeout(20, TimeUnit.SECONDS)
                    .permitKeepAliveTime(20, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .maxConnectionIdle(5, TimeUnit.MINUTES)
                    .maxConnectionAge(2, TimeUnit.HOURS)
                    .maxConnectionAgeGrace(1, TimeUnit.MINUTES)
                    .addService(b.registry == null ? ServerTransport.authenticated(limited, gate.interceptor())
                            : ServerTransport.authenticated(limited, gate.interceptor(),
                                    new CallMeters(b.registry, "depin.ledger")))
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
        if (b.registry != null) {
            refusals.register(b.registry, "depin.ledger");
            io.micrometer.core.instrument.Gauge.builder("depin.ledger.operations.in_flight", service,
                    LedgerService::inFlight).description("Operations taken and not yet answered, over all keys")
                    .register(b.registry);
            io.micrometer.core.instrument.Gauge.builder("depin.ledger.calls.open", callLimits, CallLimits::open)
                    .description("Calls open now, over all peers: being served, waiting for their request, or "
                            + "with an answer not yet read").register(b.registry);
        }
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

    /** @return operations being answered now (each of a batch counts) */
    public int inFlight() {
        return service.inFlight();
    }

    /**
     * @param client a client's key
     * @return its operations being answered now, over all its connections (within
     *         {@link Builder#maxInFlight}'s per-key bound)
     * @throws InvalidArgumentException on null
     */
    public int inFlight(NodePublicKey client) {
        return service.inFlight(InvalidArgumentException.requireNonNull(client, "client key"));
    }

    /**
     * @param reason a reason's meter tag ({@code operations_per_key}, {@code operations_per_address},
     *               {@code operations_total}, {@code operations_fair_share}, {@code reply_stalled})
     * @return operations refused (or answer streams cancelled) for it since start; in the meter
     *         registry as {@code depin.ledger.refusals} by {@code reason}
     * @throws InvalidArgumentException on an unknown reason
     */
    public long refusals(String reason) {
        for (LedgerRefusals.Reason r : LedgerRefusals.Reason.values()) {
            if (r.tag().equals(reason)) {
                return refusals.count(r);
            }
        }
        throw new InvalidArgumentException("no refusal reason " + reason);
    }

    /**
     * @return calls open now, over all peers: being served, waiting for their request, or with
     *         an answer not yet read (each within {@link Builder#maxCalls} per key and address)
     */
    public int openCalls() {
        return callLimits.open();
    }

    /**
     * @param client a client's key
     * @return the calls it has open now, over all its connections (within {@link Builder#maxCalls})
     * @throws InvalidArgumentException on null
     */
    public int openCalls(NodePublicKey client) {
        return callLimits.open(InvalidArgumentException.requireNonNull(client, "client key"));
    }

    /**
     * @return connections, streams and requests the transport refused before the service's code
     *         ran, since start (handshakes that did not finish, streams past
     *         {@link Builder#maxStreamsPerConnection}, requests past {@value #MAX_REQUEST_BYTES}
     *         bytes, HTTP/2 resets and GOAWAYs with an error); by kind in the meter registry as
     *         {@code depin.ledger.transport.refusals}
     */
    public long transportRefusals() {
        return transportRefusals.total();
    }

    /**
     * @param address an IP address
     * @return how long its calls and new connections stay refused for the calls this service
     *         refused from it as hostile ({@link Builder#refusedCallsPerAddress}); zero when they are not
     * @throws InvalidArgumentException on null
     */
    public Duration refusedFor(java.net.InetAddress address) {
        return Duration.ofNanos(refusedAddresses.refusedFor(dev.depin.grpc.internal.AddressGroup.of(
                InvalidArgumentException.requireNonNull(address, "address"))));
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
        private int maxInFlightPerAddress = 16_384;
        private int maxInFlightTotal = 65_536;
        private Duration stallTimeout = Duration.ofSeconds(10);
        private Duration callTimeout = Duration.ofSeconds(30);
        private int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private dev.depin.settlement.SlashPolicy slashing = dev.depin.settlement.SlashPolicy.DEFAULT;
        private long maxDisputeBytes = 64L << 20;
        private int maxDisputes = 2;
        private Duration disputeUploadDeadline = Duration.ofMinutes(2);
        private int maxStreamsPerConnection = 128;
        private int maxCallsPerKey = 256;
        private int maxCallsPerAddress = 1024;
        private Duration receiveTimeout = Duration.ofSeconds(10);
        private int maxRefusedCallsPerAddress = 128;
        private Duration refusedAddressFor = Duration.ofSeconds(30);
        private java.util.function.LongSupplier addressClock = System::nanoTime;
        private io.micrometer.core.instrument.MeterRegistry registry;

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
         * How many calls the service may refuse as hostile from one address before it refuses the
         * address whole. Keys are free: a stranger sends calls the service refuses from fresh keys
         * on one machine, and each costs a stream, a parse and an answer. So the calls refused for
         * what an honest client of this SDK never sends are counted per remote address (an IPv4
         * address, an IPv6 /64, over all its keys) in windows of 10 s: a request that is not
         * protobuf or not a valid operation (INVALID_ARGUMENT), one its key may not make
         * (PERMISSION_DENIED: a stranger's key, or another's account), a request past
         * {@value #MAX_REQUEST_BYTES} bytes, a batch with a malformed or forbidden operation (once
         * per batch), a TLS certificate the service refuses. The one that reaches {@code max} has
         * the address refused for {@code refusedFor}: each of its calls is answered
         * RESOURCE_EXHAUSTED before its message is read, its connections are ended with GOAWAY,
         * and a new connection from it is closed as accepted, before its TLS handshake. Refusals
         * for capacity (operations or calls in flight), the ledger's own answers (insufficient
         * funds, an expired hold), deadlines and cancels never count: honest clients behind one
         * NAT meet those under load. Defaults 128 in 10 s, refused for 30 s.
         *
         * @param max        refused calls one address may send in 10 s (1 to 1,000,000)
         * @param refusedFor how long the address is refused once it has (1 s to 1 h)
         * @return this builder
         * @throws InvalidArgumentException outside those ranges
         */
        public Builder refusedCallsPerAddress(int max, Duration refusedFor) {
            AddressRefusals.checkSettings("refused calls", max, 1_000_000, refusedFor);
            this.maxRefusedCallsPerAddress = max;
            this.refusedAddressFor = refusedFor;
            return this;
        }

        /** Tests: the clock addresses are refused by ({@link System#nanoTime} by default), moved by hand. */
        Builder addressClock(java.util.function.LongSupplier nanos) {
            this.addressClock = nanos;
            return this;
        }

        /**
         * @param max unanswered operations one client key may have at once, over all its
         *            connections (default 4,096; each operation of a batch counts); more are
         *            refused with RESOURCE_EXHAUSTED. The per-address and total bounds
         *            ({@link #maxInFlight}) are raised to at least this.
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 1,000,000
         */
        public Builder maxInFlightPerKey(int max) {
            if (max < 1 || max > 1_000_000) {
                throw new InvalidArgumentException("calls in flight per key " + max + " must be 1 to 1,000,000");
            }
            this.maxInFlightPerKey = max;
            this.maxInFlightPerAddress = Math.max(maxInFlightPerAddress, max);
            this.maxInFlightTotal = Math.max(maxInFlightTotal, maxInFlightPerAddress);
            return this;
        }

        /**
         * Operations the service holds unanswered at once (each of a batch counts; a read counts
         * one while it is answered), so that what peers within their call limits can make the
         * ledger's writer hold, and queue ahead of everyone, is bounded. A call asking for more
         * than is free gets what is free and the rest refused RESOURCE_EXHAUSTED, naming the
         * bound ({@link RemoteSettlement} retries them). Fair between peers: the last quarter of
         * the total is kept for addresses holding fewer than {@code perKey}, so peers sending
         * big batches fill at most three quarters and one sending single operations still gets
         * in. Refusals are counted by reason ({@code depin.ledger.refusals}).
         *
         * @param perKey     per client key over all its connections (default 4,096: a
         *                   {@link RemoteSettlement}'s {@value RemoteSettlement#BATCHES_IN_FLIGHT}
         *                   calls of up to 512)
         * @param perAddress per remote address over all its keys (default 16,384)
         * @param total      over all peers (default 65,536)
         * @return this builder
         * @throws InvalidArgumentException unless 1 &le; perKey &le; perAddress &le; total &le; 10,000,000
         */
        public Builder maxInFlight(int perKey, int perAddress, int total) {
            new OperationAdmission.Limits(perKey, perAddress, total);
            this.maxInFlightPerKey = perKey;
            this.maxInFlightPerAddress = perAddress;
            this.maxInFlightTotal = total;
            return this;
        }

        /**
         * @param timeout how long a listing's answer stream (ListBalances, GetStatement,
         *                ListOpenHolds) may go without its reader taking anything before the call
         *                cut off (default 10 s): gRPC gives a server no way to reset one call's
         *                stream, so the reader's connection is closed, ending its calls CANCELLED
         *                and letting go of what they held.
         *                The answer is sent under flow control: at most 32 KiB and one page
         *                wait for the reader at once.
         * @return this builder
         * @throws InvalidArgumentException unless 1 ms to 10 minutes
         */
        public Builder stallTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "stall timeout");
            if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidArgumentException("stall timeout " + timeout + " must be 1 ms to 10 minutes");
            }
            this.stallTimeout = timeout;
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
         * @param streams calls one connection may have open at once, advertised as HTTP/2
         *                SETTINGS_MAX_CONCURRENT_STREAMS (default 128): a gRPC client queues more
         *                on its side, a raw stream past it is reset REFUSED_STREAM
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 65,536
         */
        public Builder maxStreamsPerConnection(int streams) {
            if (streams < 1 || streams > 65_536) {
                throw new InvalidArgumentException("streams per connection " + streams + " must be 1 to 65536");
            }
            this.maxStreamsPerConnection = streams;
            return this;
        }

        /**
         * Calls one client may have open at once, over all its connections: counted from the
         * call's start until its answer is read, so requests sent slowly and answers left unread
         * hold only their sender's share. Past either bound a call is refused RESOURCE_EXHAUSTED
         * before the service sees it. Keys are free, addresses are not: the per-address bound
         * (an IPv4 address, an IPv6 /64, loopback included) is what one machine can hold however
         * many keys it makes; raise it for many clients behind one NAT.
         *
         * @param perKey     calls per client key (default 256; {@link RemoteSettlement} keeps at most
         *                   {@value RemoteSettlement#BATCHES_IN_FLIGHT} operation calls open, and
         *                   a few reads and claims beside them)
         * @param perAddress calls per remote address over all its keys (default 1,024)
         * @return this builder
         * @throws InvalidArgumentException unless 1 &le; perKey &le; perAddress &le; 1,000,000
         */
        public Builder maxCalls(int perKey, int perAddress) {
            if (perKey < 1 || perAddress < perKey || perAddress > 1_000_000) {
                throw new InvalidArgumentException("calls open per key " + perKey + " and per address " + perAddress
                        + ": give 1 <= per key <= per address <= 1000000");
            }
            this.maxCallsPerKey = perKey;
            this.maxCallsPerAddress = perAddress;
            return this;
        }

        /**
         * @param timeout how long a call may take to send its request whole, from its start
         *                (default 10 s); a call still waiting for it then is ended
         *                DEADLINE_EXCEEDED and the service never sees it (a dispute's upload has
         *                its own deadline, {@link #disputeLimits})
         * @return this builder
         * @throws InvalidArgumentException unless 1 ms to 10 minutes
         */
        public Builder receiveTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "receive timeout");
            if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidArgumentException("receive timeout " + timeout + " must be 1 ms to 10 minutes");
            }
            this.receiveTimeout = timeout;
            return this;
        }

        /**
         * Publishes the service's meters in {@code registry}: calls by method and the status the
         * caller was told ({@code depin.ledger.calls}; a refusal for a limit is
         * resource_exhausted, for access permission_denied, a request too slow
         * deadline_exceeded), call latency ({@code depin.ledger.call.duration}), operations in
         * flight and calls open now, operations refused for a bound on operations in flight and
         * answer streams cancelled for a stalled reader ({@code depin.ledger.refusals} by
         * {@code reason}), and what the transport refused before any call existed
         * ({@code depin.ledger.transport.refusals} by {@code kind} and {@code error}).
         *
         * @param registry where the meters go
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            this.registry = InvalidArgumentException.requireNonNull(registry, "meter registry");
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
