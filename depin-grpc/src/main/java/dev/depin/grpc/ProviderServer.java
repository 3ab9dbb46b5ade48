package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.AddressLimits;
import dev.depin.grpc.internal.AddressRefusals;
import dev.depin.grpc.internal.RefusedAddresses;
import dev.depin.grpc.internal.CallMeters;
import dev.depin.grpc.internal.DirectoryClient;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.ServerTransport;
import dev.depin.grpc.internal.ProviderService;
import dev.depin.grpc.internal.StreamLimits;
import dev.depin.grpc.internal.Wire;
import dev.depin.network.NetworkException;
import dev.depin.node.ProviderNode;
import io.grpc.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link ProviderNode} served over gRPC with mutual TLS 1.3: buyers reach it through a
 * {@link GrpcNetwork}, pinning the key of its signed offer. It publishes its offer to each
 * directory it is given and renews it (the renewal is its heartbeat).
 *
 * <p>Each Execute stream is checked as it arrives, and nothing a peer can make the node hold
 * is unbounded or kept without a deadline: a job's kernel, deadline, outputs and working
 * memory are checked at its Start, before any input is received ({@link ProviderNode#admit});
 * inputs are allocated as their bytes arrive, bounded in total ({@link Builder#maxInputBytes})
 * and per authenticated peer ({@link Builder#maxInputBytesPerPeer}); a peer's streams and
 * jobs are bounded ({@link Builder#maxStreamsPerPeer}, {@link Builder#maxJobsPerPeer}); since a
 * stranger makes keys for free, what one remote address (an IPv4 address, an IPv6 /64) holds
 * over all its keys is bounded too ({@link Builder#maxStreamsPerAddress},
 * {@link Builder#maxInputBytesPerAddress}), and an address that keeps sending what the node
 * refuses is refused whole for a while ({@link Builder#refusedStartsPerAddress}); a
 * stream that stops sending before its inputs are complete is closed
 * ({@link Builder#receiveIdleTimeout}, {@link Builder#receiveTimeout}); outputs are sent under
 * gRPC flow control and a reader that grants no credit for {@link Builder#stallTimeout} has
 * its attempt stopped and the worker freed; the node's queue serves buyers in turn. Refusals
 * are RESOURCE_EXHAUSTED (limits) or FAILED_PRECONDITION, with the reason; a malformed stream
 * is INVALID_ARGUMENT; an idle one DEADLINE_EXCEEDED.
 *
 * <pre>{@code
 * ProviderNode node = ProviderNode.builder(key, new CpuExecutor(2)).build();
 * try (ProviderServer server = ProviderServer.builder(node, key)
 *         .listen("127.0.0.1", 7001).directory("127.0.0.1:7000").start()) {
 *     server.awaitTermination();
 * }
 * }</pre>
 */
public final class ProviderServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderServer.class);

    private final ProviderNode node;
    private final Server server;
    private final ProviderService service;
    private final StreamLimits limits;
    private final AddressLimits addressLimits;
    private final dev.depin.grpc.internal.TransportRefusals transportRefusals;
    private final AddressRefusals refusedAddresses;
    /** RST_STREAM frames a connection may send per 10 s before it is closed (rapid reset, CVE-2023-44487). */
    private static final int MAX_RST_FRAMES_PER_10S = 10_000;
    /**
     * The fewest input bytes one peer's and one address's budgets may admit for a job: one Start
     * message (4 MiB), which may carry the job's inputs whole and is held until the job is wiped.
     */
    public static final long MIN_INPUT_BYTES_PER_JOB = Wire.MAX_MESSAGE_BYTES;
    /** Most input bytes all streams hold by default, from a heap of 8 GiB up (a quarter of a smaller one). */
    private static final long DEFAULT_INPUT_BYTES_CAP = 2L << 30;
    /** Most unread output bytes one peer's drains hold by default (a quarter of the total if less). */
    private static final long DEFAULT_UNREAD_OUTPUT_BYTES_PER_PEER = 64L << 20;
    private final String address;
    private final String listedAt;
    private final List<DirectoryClient> directories = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private ProviderServer(Builder b) throws IOException {
        this.node = b.node;
        long perPeer = perPeer(b.maxInputBytes, b.maxInputBytesPerPeer);
        long perAddress = perAddress(b.maxInputBytes, perPeer, b.maxInputBytesPerAddress);
        checkJobsFit(b.node, b.maxInputBytes, perPeer, perAddress);
        NodeTls.Identity identity = NodeTls.identity(b.key);
        long drainPerPeer = b.maxDrainBytesPerPeer > 0 ? Math.min(b.maxDrainBytesPerPeer, b.maxDrainBytes)
                : Math.min(DEFAULT_UNREAD_OUTPUT_BYTES_PER_PEER, Math.max(1, b.maxDrainBytes / 4));
        this.limits = new StreamLimits(b.maxInputBytes, perPeer, b.maxStreamsPerPeer, b.maxJobsPerPeer,
                b.receiveIdleTimeout.toMillis(), b.receiveTimeout.toMillis(), b.stallTimeout.toMillis(),
                b.maxDrainBytes, drainPerPeer, b.sessionIdleTimeout.toMillis());
        this.addressLimits = new AddressLimits(b.maxStreamsPerAddress, perAddress, b.maxRefusedStartsPerAddress);
        // A Start refused for the job itself (or a malformed stream) counts against its address;
        // the one that reaches maxRefusedStartsPerAddress in 10 s has the address refused whole.
        this.refusedAddresses = new AddressRefusals(b.maxRefusedStartsPerAddress,
                dev.depin.grpc.internal.RefusedStarts.WINDOW_NANOS, b.refusedAddressFor.toNanos(),
                dev.depin.grpc.internal.RefusedStarts.MAX_PEERS, b.addressClock);
        this.service = new ProviderService(b.node, limits, addressLimits, refusedAddresses, b.sessions);
        CallMeters meters = b.registry == null ? null : new CallMeters(b.registry, "depin.node");
        // Jobs on a Session are counted as calls of method SessionJob, with the status each was told.
        service.meterSessionJobs(meters);
        this.transportRefusals = new dev.depin.grpc.internal.TransportRefusals(b.registry, "depin.node");
        // Beside the service's own count: what gRPC refuses before the service sees a byte (a
        // message past 4 MiB, a request that is not protobuf), which no buyer of this SDK sends.
        RefusedAddresses gate = new RefusedAddresses(refusedAddresses, transportRefusals, m -> true,
                st -> dev.depin.grpc.internal.TransportRefusals.tooLarge(st)
                        || dev.depin.grpc.internal.Malformed.refused(st),
                dev.depin.grpc.internal.RefusedStarts.WHAT);
        if (b.registry != null) {
            gate.register(b.registry, "depin.node");
        }
        this.server = ServerTransport.mutualTls(b.host, b.port, identity, transportRefusals)
                .addStreamTracerFactory(gate.tracer())
                .flowControlWindow(Wire.FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(Wire.MAX_MESSAGE_BYTES)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (gRPC's default is 2^31-1): a client
                // queues streams past it on its side rather than failing them.
                .maxConcurrentCallsPerConnection(b.maxStreamsPerConnection)
                .maxConnectionIdle(b.maxConnectionIdle.toMillis(), TimeUnit.MILLISECONDS)
                .maxConnectionAge(b.maxConnectionAge.toMillis(), TimeUnit.MILLISECONDS)
                .maxConnectionAgeGrace(b.maxConnectionAgeGrace.toMillis(), TimeUnit.MILLISECONDS)
                .maxRstFramesPerWindow(b.maxRstFramesPer10s, ServerTransport.RST_WINDOW_SECONDS)
                // A small job whose buyer marked it runs its callbacks on the event loop (InlineCalls).
                .callExecutor(dev.depin.grpc.internal.InlineCalls.executors())
                // Lets the node reset a stalled reader's stream, so Netty drops what it queued.
                .intercept(dev.depin.grpc.internal.StreamResets.capture())
                .addService(b.registry == null ? ServerTransport.authenticated(service.definition(),
                        gate.interceptor()) : ServerTransport.authenticated(service.definition(), gate.interceptor(),
                        meters))
                .build()
                .start();
        if (b.registry != null) {
            io.micrometer.core.instrument.FunctionCounter.builder("depin.node.streams.reset", service,
                    ProviderService::stalledStreamsReset).description("Execute streams reset because their reader "
                    + "took nothing for the stall limit").register(b.registry);
            io.micrometer.core.instrument.Gauge.builder("depin.node.direct.bytes",
                    dev.depin.grpc.internal.DirectMemory::used)
                    .description("Direct buffer bytes in use in this JVM (Netty's transport buffers)")
                    .baseUnit("bytes").register(b.registry);
        }
        this.address = b.host + ":" + server.getPort();
        this.listedAt = b.advertised != null ? b.advertised : address;
        // The offer states where buyers reach the node, which only the server knows (port 0).
        node.advertise(Wire.endpointUri(listedAt));
        for (int i = 0; i < b.directories.size(); i++) {
            directories.add(new DirectoryClient(identity, b.directories.get(i), b.directoryKeys.get(i), node::offer,
                    listedAt, b.renewEvery, b.renewRetry, DirectoryClient.DEFAULT_CALL_TIMEOUT));
        }
        LOG.info("provider node {} serving {} on {} (mutual TLS 1.3){}", node.nodeId().shortId(),
                node.executor().kind(), address, b.directories.isEmpty() ? ""
                        : ", listed" + (listedAt.equals(address) ? "" : " as " + listedAt) + " in " + b.directories);
    }

    /** @return one peer's input bytes: as given (at most the whole), else half of the whole */
    private static long perPeer(long maxInputBytes, long given) {
        return given > 0 ? Math.min(given, maxInputBytes) : Math.max(1, maxInputBytes / 2);
    }

    /** @return one address's input bytes: as given (at most the whole), else ¾ of it and at least a peer's */
    private static long perAddress(long maxInputBytes, long perPeer, long given) {
        return given > 0 ? Math.min(given, maxInputBytes) : Math.max(perPeer, maxInputBytes / 4 * 3);
    }

    /**
     * The most bytes one job may declare, inputs and outputs together, on a node served with
     * these input budgets, for a peer that holds nothing else there: its inputs must fit one
     * peer's and one address's input bytes, and the smallest output is one byte, so a node whose
     * {@link ProviderNode.Builder#jobLimits} job bytes are at most this never offers a job the
     * server refuses for its size alone. A command line that sets the budgets uses it to size the
     * node's jobs before it builds the node ({@code depin node} without {@code --max-job-bytes}).
     *
     * @param maxInputBytes           {@link Builder#maxInputBytes}, or 0 for its default
     * @param maxInputBytesPerPeer    {@link Builder#maxInputBytesPerPeer}, or 0 for its default
     * @param maxInputBytesPerAddress {@link Builder#maxInputBytesPerAddress}, or 0 for its default
     * @return the input bytes one job is admitted with
     * @throws InvalidArgumentException if a value is negative
     */
    public static long inputBytesPerJob(long maxInputBytes, long maxInputBytesPerPeer, long maxInputBytesPerAddress) {
        if (maxInputBytes < 0 || maxInputBytesPerPeer < 0 || maxInputBytesPerAddress < 0) {
            throw new InvalidArgumentException("input budgets " + maxInputBytes + " in all, " + maxInputBytesPerPeer
                    + " per peer and " + maxInputBytesPerAddress + " per address: give positive values, or 0 for a "
                    + "default");
        }
        long all = maxInputBytes > 0 ? maxInputBytes : Builder.heapShare(DEFAULT_INPUT_BYTES_CAP, 4);
        long perPeer = perPeer(all, maxInputBytesPerPeer);
        return Math.min(perPeer, perAddress(all, perPeer, maxInputBytesPerAddress));
    }

    /**
     * Refuses a node whose signed offer would promise more than this server admits: a job the
     * offer allows (inputs up to its job bytes) must fit one peer's and one address's input
     * budget, which must also hold one Start message (it may carry the job's inputs whole).
     */
    private static void checkJobsFit(ProviderNode node, long all, long perPeer, long perAddress) {
        long admitted = Math.min(perPeer, perAddress);
        String budgets = "maxInputBytesPerPeer " + perPeer + ", maxInputBytesPerAddress " + perAddress
                + ", maxInputBytes " + all;
        if (admitted < MIN_INPUT_BYTES_PER_JOB) {
            throw new InvalidArgumentException("this server would admit at most " + admitted + " input bytes per job ("
                    + budgets + "), less than one Start message of " + MIN_INPUT_BYTES_PER_JOB + " bytes, which may "
                    + "carry a job's inputs: give input budgets of at least 4 MiB per peer and per address");
        }
        if (node.maxJobBytes() > admitted) {
            throw new InvalidArgumentException("provider " + node.nodeId().shortId() + " offers jobs of up to "
                    + node.maxJobBytes() + " input + output bytes, but this server admits at most " + admitted
                    + " input bytes per job (" + budgets + "), so buyers would plan jobs it refuses: build the node "
                    + "with jobLimits of at most " + admitted + " job bytes, or raise the input budgets");
        }
    }

    /**
     * Starts building a server for {@code node}.
     *
     * @param node the provider node; the server owns it and closes it
     * @param key  the node's identity (its TLS certificate is made from it); must be the key
     *             the node signs with
     * @return a builder
     * @throws InvalidArgumentException on nulls or a key that is not the node's
     */
    public static Builder builder(ProviderNode node, NodeKeyPair key) {
        InvalidArgumentException.requireNonNull(node, "provider node");
        InvalidArgumentException.requireNonNull(key, "node key");
        if (!key.nodeId().equals(node.nodeId())) {
            throw new InvalidArgumentException("key " + key.nodeId().shortId() + " is not the key of provider "
                    + node.nodeId().shortId() + ": give the key the node was built with");
        }
        return new Builder(node, key);
    }

    /** @return where the server listens, as {@code host:port} */
    public String address() {
        return address;
    }

    /**
     * @return the address published in directories: {@link #address()} unless
     *         {@link Builder#advertise} gave another
     */
    public String listedAddress() {
        return listedAt;
    }

    /** @return the port it listens on */
    public int port() {
        return server.getPort();
    }

    /** @return the node's id */
    public NodeId nodeId() {
        return node.nodeId();
    }

    /** @return the node it serves */
    public ProviderNode node() {
        return node;
    }

    /**
     * @return input bytes held right now by streams that are receiving or whose job is queued
     *         or running; allocated as bytes arrive, so never more than was received, and never
     *         more than {@link Builder#maxInputBytes}
     */
    public long reservedInputBytes() {
        return service.reservedInputBytes();
    }

    /**
     * @return output bytes of finished jobs held right now for readers that have not read them
     *         (never more than {@link Builder#maxUnreadOutputBytes}'s total)
     */
    public long unreadOutputBytes() {
        return service.drainingOutputBytes();
    }

    /**
     * @return Execute streams this node reset at the transport (HTTP/2 {@code RST_STREAM}) since
     *         start because their reader took nothing for {@link Builder#stallTimeout}: during an
     *         attempt's outputs, or after the node ended the stream (its last outputs, result or
     *         status untaken); the reset makes gRPC and Netty drop what they had queued for the
     *         stream at once, instead of holding it until the reader cancels or its connection
     *         ends. Also {@code depin.node.streams.reset} in the meter registry.
     */
    public long stalledStreamsReset() {
        return service.stalledStreamsReset();
    }

    /**
     * @return direct (off-heap) buffer bytes in use in this JVM right now, as the JDK counts them
     *         against {@code -XX:MaxDirectMemorySize}: Netty's transport buffers (TLS records,
     *         HTTP/2 frames queued for a reader, inbound reads) for every server and client in the
     *         process, plus Netty's own counter where it allocates without the JDK's (it does
     *         only when started with reflective access to {@code java.nio}); also
     *         {@code depin.node.direct.bytes} in the meter registry. The node's resident set is
     *         bounded by its heap, this and the JVM's own memory (README, "What a peer can make a
     *         node hold")
     */
    public long directBytes() {
        return dev.depin.grpc.internal.DirectMemory.used();
    }

    /** @return authenticated peers holding anything here right now (a stream, a job, bytes) */
    public int peersHolding() {
        return service.peersHolding();
    }

    /** @return finished jobs whose outputs are still being sent without a worker right now */
    public int outputDrains() {
        return service.drains();
    }

    /** @return Session streams open right now (each of their jobs also counts as an Execute stream) */
    public int openSessions() {
        return service.openSessions();
    }

    /** @return jobs whose Start came on a Session stream since the server started (taken or refused) */
    public long sessionJobs() {
        return service.sessionJobs();
    }

    /**
     * Answers session jobs that take it folded with separate messages instead, as a node from
     * before Start.folded did (tests of old nodes against new buyers).
     *
     * @param fold whether to fold (the default)
     */
    void foldSessionEnds(boolean fold) {
        service.foldSessionEnds(fold);
    }

    /** Replaces the sessions' clock (tests move it by hand, then call {@link #sweepSessions}). */
    void sessionTicker(java.util.function.LongSupplier ticker) {
        service.sessionTicker(ticker);
    }

    /** Runs every open session's timer check now (idle limit, stalled reader, its jobs' deadlines). */
    void sweepSessions() {
        service.sweepSessions();
    }

    /** @return Execute streams open right now (never more than {@link Builder#maxStreamsPerPeer} per peer) */
    public int openStreams() {
        return service.openStreams();
    }

    /**
     * @return the most any one authenticated peer holds right now, as {streams, jobs, input
     *         bytes, unread output bytes}: each within {@link Builder#maxStreamsPerPeer},
     *         {@link Builder#maxJobsPerPeer}, {@link Builder#maxInputBytesPerPeer} and the
     *         per-peer bound of {@link Builder#maxUnreadOutputBytes}
     */
    public long[] maxHeldByOnePeer() {
        return service.maxHeldByOnePeer();
    }

    /**
     * @return the most any one remote address (an IPv4 address, an IPv6 /64) holds right now over
     *         all the keys that connect from it, as {streams, input bytes}: within
     *         {@link Builder#maxStreamsPerAddress} and {@link Builder#maxInputBytesPerAddress}
     */
    public long[] maxHeldByOneAddress() {
        return service.maxHeldByOneAddress();
    }

    /**
     * @return streams and connections the transport refused before the node's code ran, since
     *         start: streams past {@link Builder#maxStreamsPerConnection} (RST_STREAM
     *         REFUSED_STREAM), other HTTP/2 resets and GOAWAYs with an error (too many rapid
     *         resets...), messages past the inbound size limit; by kind in the meter registry as
     *         {@code depin.node.transport.refusals}
     */
    public long transportRefusals() {
        return transportRefusals.total();
    }

    /** @return the bounds this server's streams are held to */
    StreamLimits limits() {
        return limits;
    }

    /** @return the bounds the streams of one remote address are held to */
    AddressLimits addressLimits() {
        return addressLimits;
    }

    /**
     * @param address an IP address
     * @return how long its calls and new connections stay refused for the Starts this node
     *         refused from it ({@link Builder#refusedStartsPerAddress}); zero when they are not
     * @throws InvalidArgumentException on null
     */
    public Duration refusedFor(java.net.InetAddress address) {
        return Duration.ofNanos(refusedAddresses.refusedFor(dev.depin.grpc.internal.AddressGroup.of(
                InvalidArgumentException.requireNonNull(address, "address"))));
    }

    /**
     * Sends a renewal to every directory now instead of waiting for the next heartbeat.
     *
     * @throws NetworkException if a directory could not be reached or refused the listing
     */
    public void renewNow() {
        for (DirectoryClient d : directories) {
            d.renew();
        }
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
     * Stops renewing, refuses new streams, closes the node (queued attempts fail, running
     * ones are cancelled and waited for), then closes every stream. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        directories.forEach(DirectoryClient::close);
        server.shutdown();
        node.close();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        service.close();
        LOG.info("provider node {} on {} stopped", node.nodeId().shortId(), address);
    }

    /**
     * Stops the server at once, as a crash would: every stream and connection is cut, the
     * node is closed afterwards. For tests and the demo's fault injection.
     */
    public void kill() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        directories.forEach(DirectoryClient::close);
        server.shutdownNow();
        node.close();
        service.close();
    }

    /** Options of a {@link ProviderServer}. */
    public static final class Builder {
        private final ProviderNode node;
        private final NodeKeyPair key;
        private String host = "127.0.0.1";
        private int port;
        private final List<String> directories = new ArrayList<>();
        private final List<NodePublicKey> directoryKeys = new ArrayList<>();
        private Duration renewEvery = Duration.ofSeconds(10);
        private RetryPolicy renewRetry = RetryPolicy.DIRECTORY_DEFAULT;
        private String advertised;
        // Byte budgets a peer can make the node hold default to a share of the heap they are held
        // in (a node started with -Xmx512m must not promise strangers 1 GiB of it): inputs a
        // quarter, unread outputs an eighth, each capped at the figure a large heap gets. One
        // peer's half of the inputs is the eighth of the heap a node's default job takes
        // (JobLimits.forHeap), so default offers fit default servers.
        private long maxInputBytes = heapShare(DEFAULT_INPUT_BYTES_CAP, 4);
        private long maxInputBytesPerPeer;
        private int maxStreamsPerPeer = 256;
        private int maxJobsPerPeer = 256;
        private boolean sessions = true;
        // Per remote address, over all its keys: four peers' worth of streams and refused Starts,
        // three quarters of the node's input bytes (docs/decisions.md: a NAT'd group of buyers
        // shares one address; one address never takes the whole node).
        private int maxStreamsPerAddress = 1024;
        private long maxInputBytesPerAddress;
        private int maxRefusedStartsPerAddress = 128;
        private Duration refusedAddressFor = Duration.ofSeconds(30);
        private java.util.function.LongSupplier addressClock = System::nanoTime;
        private Duration receiveIdleTimeout = Duration.ofSeconds(10);
        private Duration receiveTimeout = Duration.ofMinutes(5);
        private Duration stallTimeout = Duration.ofSeconds(2);
        private Duration sessionIdleTimeout = Duration.ofMillis(Wire.SESSION_IDLE_MILLIS);
        private long maxDrainBytes = heapShare(256L << 20, 8);
        /** 0: {@link #DEFAULT_UNREAD_OUTPUT_BYTES_PER_PEER}, or a quarter of the total if less. */
        private long maxDrainBytesPerPeer;
        private int maxStreamsPerConnection = 128;
        private Duration maxConnectionIdle = Duration.ofMinutes(5);
        private Duration maxConnectionAge = Duration.ofHours(2);
        private Duration maxConnectionAgeGrace = Duration.ofMinutes(10);
        private int maxRstFramesPer10s = MAX_RST_FRAMES_PER_10S;
        private io.micrometer.core.instrument.MeterRegistry registry;

        private Builder(ProviderNode node, NodeKeyPair key) {
            this.node = node;
            this.key = key;
        }

        /** Tests: a lower rapid-reset threshold, to show honest streams send no RST_STREAM. */
        Builder maxRstFramesPer10s(int frames) {
            this.maxRstFramesPer10s = frames;
            return this;
        }

        /** @return {@code cap}, or the JVM's maximum heap divided by {@code divisor} if that is less */
        static long heapShare(long cap, int divisor) {
            return Math.max(1, Math.min(cap, Runtime.getRuntime().maxMemory() / divisor));
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
         * Publishes the offer to a directory and renews it; may be called for several.
         *
         * @param address the directory's {@code host:port}
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder directory(String address) {
            return directory(address, null);
        }

        /**
         * Publishes the offer to a directory whose key is known, and renews it.
         *
         * @param address the directory's {@code host:port}
         * @param key     the directory's key, pinned; {@code null} accepts any directory key
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder directory(String address, NodePublicKey key) {
            Wire.parseAddress(address);
            directories.add(address);
            directoryKeys.add(key);
            return this;
        }

        /**
         * @param every how often the offer is renewed in each directory (default 10 s); keep
         *              it well under the directory's listing time to live
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder renewEvery(Duration every) {
            InvalidArgumentException.requireNonNull(every, "renewal interval");
            if (every.isNegative() || every.isZero()) {
                throw new InvalidArgumentException("renewal interval " + every + " must be positive");
            }
            this.renewEvery = every;
            return this;
        }

        /**
         * @param policy how each renewal is retried while a directory is UNAVAILABLE or does
         *               not answer in time, before the next heartbeat (default {@link RetryPolicy#DIRECTORY_DEFAULT})
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder renewRetry(RetryPolicy policy) {
            this.renewRetry = InvalidArgumentException.requireNonNull(policy, "renewal retry policy");
            return this;
        }

        /**
         * Publishes another address than the one listened on, for a node behind a NAT, a
         * port forward or a proxy.
         *
         * @param address the {@code host:port} buyers should dial (default: the listen address)
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder advertise(String address) {
            Wire.parseAddress(address);
            this.advertised = address;
            return this;
        }

        /**
         * @param bytes the most input bytes the streams of all buyers may hold at once
         *              (default 2 GiB, or a quarter of the JVM's maximum heap if less); a job that does not fit is refused with
         *              RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxInputBytes(long bytes) {
            if (bytes < 1) {
                throw new InvalidArgumentException("maximum input bytes " + bytes + " must be positive");
            }
            this.maxInputBytes = bytes;
            return this;
        }

        /**
         * @param bytes the most input bytes the streams of one authenticated peer may hold at
         *              once (default half of {@link #maxInputBytes}); a job declaring more is
         *              refused at its Start, a stream that would pass it with RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxInputBytesPerPeer(long bytes) {
            if (bytes < 1) {
                throw new InvalidArgumentException("maximum input bytes per peer " + bytes + " must be positive");
            }
            this.maxInputBytesPerPeer = bytes;
            return this;
        }

        /**
         * @param streams the most Execute streams one authenticated peer may have open at
         *                once, over all its connections (default 256); more are refused with
         *                RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 65536
         */
        public Builder maxStreamsPerPeer(int streams) {
            if (streams < 1 || streams > 65_536) {
                throw new InvalidArgumentException("maximum streams per peer " + streams + " must be 1 to 65536");
            }
            this.maxStreamsPerPeer = streams;
            return this;
        }

        /**
         * Whether the node serves the Session method: many small jobs of one buyer on one
         * long-lived stream, each counted as one Execute stream against every per-peer limit
         * (default true). Without it the method answers UNIMPLEMENTED, as a node from before
         * it did, and buyers send each job on its own stream.
         *
         * @param serve whether to serve it
         * @return this builder
         */
        public Builder sessions(boolean serve) {
            this.sessions = serve;
            return this;
        }

        /**
         * @param timeout how long a Session stream with no job in flight and no message from its
         *                buyer stays open before the node closes it (OK; default 60 s). Its jobs'
         *                and its reader's limits are unchanged. Buyers of this SDK stop using a
         *                session after 20 s idle; below that, a Start may cross the node's close
         *                (that attempt fails UNAVAILABLE, nothing ran, and the engine sends it again).
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder sessionIdleTimeout(Duration timeout) {
            this.sessionIdleTimeout = positive(timeout, "session idle timeout");
            return this;
        }

        /**
         * @param jobs the most jobs (streams past their Start: receiving, queued or running)
         *             one authenticated peer may have on this node at once (default 256)
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 65536
         */
        public Builder maxJobsPerPeer(int jobs) {
            if (jobs < 1 || jobs > 65_536) {
                throw new InvalidArgumentException("maximum jobs per peer " + jobs + " must be 1 to 65536");
            }
            this.maxJobsPerPeer = jobs;
            return this;
        }

        /**
         * Bounds the Execute streams of one remote address, over all the keys that connect from
         * it: an IPv4 address, or an IPv6 address's /64 prefix (loopback included). Keys are
         * free, addresses are not; buyers behind one NAT share this bound.
         *
         * @param streams the most Execute streams open at once from one address (default 1,024,
         *                four peers' {@link #maxStreamsPerPeer} default); more are refused with
         *                RESOURCE_EXHAUSTED when they open
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 1048576
         */
        public Builder maxStreamsPerAddress(int streams) {
            if (streams < 1 || streams > 1 << 20) {
                throw new InvalidArgumentException("maximum streams per address " + streams + " must be 1 to 1048576; "
                        + "raise it for many buyers behind one NAT, lower it to bound one machine's share");
            }
            this.maxStreamsPerAddress = streams;
            return this;
        }

        /**
         * @param bytes the most input bytes the streams of all keys from one remote address may
         *              hold at once (default three quarters of {@link #maxInputBytes}, and at
         *              least {@link #maxInputBytesPerPeer}; at most {@link #maxInputBytes}); a
         *              stream that would pass it is refused with RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxInputBytesPerAddress(long bytes) {
            if (bytes < 1) {
                throw new InvalidArgumentException("maximum input bytes per address " + bytes + " must be positive");
            }
            this.maxInputBytesPerAddress = bytes;
            return this;
        }

        /**
         * As {@link #refusedStartsPerAddress(int, Duration)}, keeping the time an address stays
         * refused (default 30 s).
         *
         * @param starts refused Starts one address may send per 10 s, over all its keys (default 128)
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 1048576
         */
        public Builder maxRefusedStartsPerAddress(int starts) {
            return refusedStartsPerAddress(starts, refusedAddressFor);
        }

        /**
         * How many Starts the node may refuse from one address before it refuses the address
         * whole. A peer whose Start messages the node refuses 32 times within 10 s has its
         * Execute streams refused when they open until the 10 s end; keys are free, so the
         * refusals are also counted per remote address (an IPv4 address, an IPv6 /64) over all
         * its keys, and the one that reaches {@code max} in 10 s has the address refused for
         * {@code refusedFor}: each of its calls is answered RESOURCE_EXHAUSTED before its message
         * is read, its connections are ended with GOAWAY, and a new connection from it is closed
         * as it is accepted, before its TLS handshake.
         *
         * <p>Only what an honest buyer of this SDK cannot cause counts: a Start refused for the job
         * itself, whenever it is sent (a malformed spec, no valid hold certificate where one is
         * required, inputs past one peer's budget, a kernel, output or memory past the offer's), a
         * malformed stream (a frame that is not protobuf, a second Start, an undeclared input, a
         * stream ended before its inputs), a message past 4 MiB, a TLS certificate the node
         * refuses. A job refused because the node, the peer's or the address's share is busy
         * (RESOURCE_EXHAUSTED for capacity), a deadline or a cancel never counts: buyers behind one
         * NAT meet those under load. Defaults 128 (four peers' worth) and 30 s.
         *
         * @param max        refused Starts one address may send per 10 s (1 to 1048576)
         * @param refusedFor how long the address is refused once it has (1 s to 1 h)
         * @return this builder
         * @throws InvalidArgumentException outside those ranges
         */
        public Builder refusedStartsPerAddress(int max, Duration refusedFor) {
            AddressRefusals.checkSettings("refused Starts", max, 1 << 20, refusedFor);
            this.maxRefusedStartsPerAddress = max;
            this.refusedAddressFor = refusedFor;
            return this;
        }

        /** Tests: the clock addresses are refused by ({@link System#nanoTime} by default), moved by hand. */
        Builder addressClock(java.util.function.LongSupplier nanos) {
            this.addressClock = nanos;
            return this;
        }

        /**
         * @param registry where the server counts its calls by method and the status each peer was
         *                 told ({@code depin.node.calls}: a stream refused for a limit is
         *                 {@code resource_exhausted}) and times them ({@code depin.node.call.duration});
         *                 what the transport refuses before any call exists (a stream past
         *                 {@link #maxStreamsPerConnection}, other HTTP/2 resets and GOAWAYs with an
         *                 error, a message past the inbound limit) is counted as
         *                 {@code depin.node.transport.refusals} by {@code kind} and {@code error}.
         *                 Default none.
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            this.registry = InvalidArgumentException.requireNonNull(registry, "meter registry");
            return this;
        }

        /**
         * @param streams HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may
         *                have open at once (default 128); a client queues the rest
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 65536
         */
        public Builder maxStreamsPerConnection(int streams) {
            if (streams < 1 || streams > 65_536) {
                throw new InvalidArgumentException("maximum streams per connection " + streams
                        + " must be 1 to 65536");
            }
            this.maxStreamsPerConnection = streams;
            return this;
        }

        /**
         * @param timeout how long a stream whose inputs are incomplete may send nothing (before
         *                its Start, or between chunks) before it is closed with
         *                DEADLINE_EXCEEDED and what it held released (default 10 s)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder receiveIdleTimeout(Duration timeout) {
            this.receiveIdleTimeout = positive(timeout, "receive idle timeout");
            return this;
        }

        /**
         * @param timeout how long a stream may take from opening until its inputs are complete
         *                (default 5 min): bounds a peer that trickles bytes just often enough
         *                to never be idle
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder receiveTimeout(Duration timeout) {
            this.receiveTimeout = positive(timeout, "receive timeout");
            return this;
        }

        /**
         * @param timeout how long a buyer may leave its output stream unread (no flow-control
         *                credit at all) before the attempt is stopped and its worker freed
         *                for the next job (default 2 s)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder stallTimeout(Duration timeout) {
            this.stallTimeout = positive(timeout, "stall timeout");
            return this;
        }

        /**
         * Bounds the outputs a node holds for readers that have not taken them. When a job's
         * outputs do not all fit the buyer's stream at once, the rest is copied out of the
         * executor, the worker takes its next job, and the copy is sent as the buyer reads
         * (stopped after {@link #stallTimeout} without progress). A peer that holds
         * {@code perPeer} such bytes has its next jobs refused at Start (RESOURCE_EXHAUSTED)
         * until it reads them; a job whose rest would pass the peer's or the node's bound is
         * stopped when it is handed over (FAILED_PRECONDITION or RESOURCE_EXHAUSTED); a rest
         * larger than {@code perPeer} on its own is sent from the worker as the reader grants
         * credit, as before.
         *
         * @param total   output bytes all peers' drains may hold at once (default 256 MiB, or an
         *                eighth of the JVM's maximum heap if less)
         * @param perPeer output bytes one peer's drains may hold (default 64 MiB, or a quarter of
         *                the total if less; at most {@code total})
         * @return this builder
         * @throws InvalidArgumentException unless {@code 1 <= perPeer <= total}
         */
        public Builder maxUnreadOutputBytes(long total, long perPeer) {
            if (total < 1 || perPeer < 1 || perPeer > total) {
                throw new InvalidArgumentException("unread output byte limits " + total + " in all and " + perPeer
                        + " per peer: give positive values, per peer at most the whole");
            }
            this.maxDrainBytes = total;
            this.maxDrainBytesPerPeer = perPeer;
            return this;
        }

        /**
         * {@link #maxUnreadOutputBytes(long, long)} with one peer's share left at its default
         * (64 MiB, or a quarter of {@code total} if less) unless {@link #maxUnreadOutputBytesPerPeer}
         * gives it.
         *
         * @param total output bytes all peers' drains may hold at once
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxUnreadOutputBytes(long total) {
            if (total < 1) {
                throw new InvalidArgumentException("unread output byte limit " + total + " in all must be positive");
            }
            this.maxDrainBytes = total;
            return this;
        }

        /**
         * One peer's share of {@link #maxUnreadOutputBytes(long, long)}, the total left as it is.
         *
         * @param perPeer output bytes one peer's drains may hold (at most the total: a larger
         *                value gives one peer the whole)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxUnreadOutputBytesPerPeer(long perPeer) {
            if (perPeer < 1) {
                throw new InvalidArgumentException("unread output byte limit " + perPeer + " per peer must be positive");
            }
            this.maxDrainBytesPerPeer = perPeer;
            return this;
        }

        /**
         * gRPC's connection limits: a connection with no stream for {@code idle} is closed
         * (default 5 min); any connection is asked to go away after {@code age} (default 2 h)
         * and cut {@code grace} later (default 10 min), so no peer holds one forever.
         *
         * @param idle  the most a connection may stay without streams
         * @param age   the most a connection lives
         * @param grace how long its streams may finish after that
         * @return this builder
         * @throws InvalidArgumentException unless each is positive
         */
        public Builder connectionLimits(Duration idle, Duration age, Duration grace) {
            this.maxConnectionIdle = positive(idle, "connection idle limit");
            this.maxConnectionAge = positive(age, "connection age limit");
            this.maxConnectionAgeGrace = positive(grace, "connection age grace");
            return this;
        }

        private static Duration positive(Duration d, String what) {
            InvalidArgumentException.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(what + " " + d + " must be positive");
            }
            return d;
        }

        /**
         * Binds the port and starts serving (and renewing, when directories were given).
         *
         * @return the running server
         * @throws NetworkException if the port cannot be bound
         * @throws InvalidArgumentException if the node offers jobs larger than these input budgets
         *                                  admit from one peer ({@link #inputBytesPerJob}), or the
         *                                  budgets hold less than one Start message (4 MiB); the
         *                                  node is then not started nor closed
         */
        public ProviderServer start() {
            try {
                return new ProviderServer(this);
            } catch (IOException e) {
                throw new NetworkException("could not listen on " + host + ":" + port + ": " + e.getMessage()
                        + " (is the port in use?)", e);
            }
        }
    }
}
