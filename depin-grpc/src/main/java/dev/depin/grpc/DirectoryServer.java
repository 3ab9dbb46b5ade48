package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.AddressRefusals;
import dev.depin.grpc.internal.CallMeters;
import dev.depin.grpc.internal.DirectoryService;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.RefusedAddresses;
import dev.depin.grpc.internal.ServerTransport;
import dev.depin.grpc.internal.Wire;
import dev.depin.network.NetworkException;
import io.grpc.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A directory of provider offers over gRPC with mutual TLS 1.3. Providers list and renew
 * their signed offers ({@link ProviderServer.Builder#directory}); buyers query it by kernel
 * and requirements ({@link GrpcNetwork.Builder#directory}). A listing lives for the
 * directory's time to live after each renewal, never past its offer's own expiry; only the
 * provider itself may renew it, and a badly signed or expired offer is refused.
 *
 * <p>Keys are free, so what one machine can list and what it can put in a buyer's answer are
 * bounded per address ({@link Builder#maxListingsPerHost}, {@link Builder#maxAnswerListingsPerHost}),
 * and an answer lists the providers that have kept their listing alive longest first
 * ({@link Builder#maxAnswerListings}): a flood of fresh keys neither crowds out established
 * providers nor makes every buyer read and check it.
 *
 * <pre>{@code
 * try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 7000).start()) {
 *     dir.awaitTermination();
 * }
 * }</pre>
 */
public final class DirectoryServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryServer.class);

    private final Server server;
    private final DirectoryService service;
    private final dev.depin.grpc.internal.TransportRefusals transportRefusals;
    private final AddressRefusals refusedAddresses;
    /** The window refused renewals are counted in per address. */
    static final Duration REFUSED_RENEWALS_WINDOW = Duration.ofSeconds(10);
    /** Addresses whose refused renewals are remembered at most, least recently seen forgotten first. */
    static final int MAX_REFUSED_ADDRESSES = 4096;
    private final NodePublicKey key;
    private final String address;
    private final ScheduledExecutorService purger;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DirectoryServer(Builder b) throws IOException {
        this.key = b.key.publicKey();
        this.service = new DirectoryService(b.key, b.ttl, b.clock, new DirectoryService.Limits(
                b.maxListings, b.maxListingBytes, b.maxTotalBytes, b.maxListingsPerHost, b.addressPolicy,
                b.maxAnswerListings, b.maxAnswerListingsPerHost));
        this.transportRefusals = new dev.depin.grpc.internal.TransportRefusals(b.registry, "depin.directory");
        // Time from the directory's clock, so that a test can move it; a renewal's refusal is
        // counted against its address, and an address past its maximum is refused whole.
        Clock clock = b.clock;
        this.refusedAddresses = new AddressRefusals(b.maxRefusedRenewalsPerAddress, REFUSED_RENEWALS_WINDOW.toNanos(),
                b.refusedAddressFor.toNanos(), MAX_REFUSED_ADDRESSES, () -> clock.millis() * 1_000_000L);
        RefusedAddresses gate = new RefusedAddresses(refusedAddresses, transportRefusals,
                dev.depin.grpc.internal.wire.DirectoryGrpc.getRenewMethod().getFullMethodName(),
                "renewals this directory refused (over all its keys)");
        if (b.registry != null) {
            gate.register(b.registry, "depin.directory");
        }
        this.server = ServerTransport.mutualTls(b.host, b.port, NodeTls.identity(b.key), transportRefusals)
                .addStreamTracerFactory(gate.tracer())
                // A renewal is one listing, a query a few fields: far below a node's 4 MiB.
                .maxInboundMessageSize(b.maxListingBytes + (4 << 10))
                // What a peer may send before the directory reads it: two of the largest messages it
                // takes, not gRPC's 1 MiB, so a renewal refused for its size costs the directory at
                // most this much decryption, however large the peer said it was.
                .flowControlWindow(inboundWindow(b.maxListingBytes))
                .maxConcurrentCallsPerConnection(64)
                .maxConnectionIdle(5, TimeUnit.MINUTES)
                .maxConnectionAge(2, TimeUnit.HOURS)
                .maxConnectionAgeGrace(1, TimeUnit.MINUTES)
                .addService(b.registry == null
                        ? ServerTransport.authenticated(service.bindService(), gate.interceptor())
                        : ServerTransport.authenticated(service.bindService(), gate.interceptor(),
                                new CallMeters(b.registry, "depin.directory")))
                .build()
                .start();
        this.address = b.host + ":" + server.getPort();
        if (b.registry != null) {
            io.micrometer.core.instrument.Gauge.builder("depin.directory.listings", service, DirectoryService::size)
                    .description("Listings held now (expired ones until purged)").register(b.registry);
        }
        this.purger = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "depin-directory-purge");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1, b.ttl.toMillis() / 2);
        purger.scheduleWithFixedDelay(service::purge, every, every, TimeUnit.MILLISECONDS);
        LOG.info("directory {} serving offers on {} (mutual TLS 1.3), listings live {} after each renewal",
                b.key.nodeId().shortId(), address, b.ttl);
    }

    /**
     * Starts building a directory.
     *
     * @param key the directory's identity (its TLS certificate is made from it)
     * @return a builder
     * @throws InvalidArgumentException on a null key
     */
    public static Builder builder(NodeKeyPair key) {
        return new Builder(InvalidArgumentException.requireNonNull(key, "directory key"));
    }

    /**
     * @param maxListingBytes the largest listing taken
     * @return the HTTP/2 flow-control window (per stream and per connection) for that inbound
     *         limit: room for two of the largest messages, at least 64 KiB
     */
    static int inboundWindow(int maxListingBytes) {
        return Math.max(64 << 10, 2 * (maxListingBytes + (4 << 10)));
    }

    /** @return where it listens, as {@code host:port} */
    public String address() {
        return address;
    }

    /** @return the port it listens on */
    public int port() {
        return server.getPort();
    }

    /** @return the directory's key, which buyers and providers may pin */
    public NodePublicKey publicKey() {
        return key;
    }

    /** @return listings held now */
    public int size() {
        return service.size();
    }

    /**
     * @return streams, connections and messages the transport refused before the directory's
     *         code ran, since start (a renewal past the inbound message limit, streams past 64 per
     *         connection, HTTP/2 resets and GOAWAYs with an error); by kind in the meter registry
     *         as {@code depin.directory.transport.refusals}
     */
    public long transportRefusals() {
        return transportRefusals.total();
    }

    /**
     * @param address an IP address
     * @return how long its calls and new connections stay refused for the renewals this directory
     *         refused from it ({@link Builder#refusedRenewalsPerAddress}); zero when they are not
     */
    public Duration refusedFor(java.net.InetAddress address) {
        return Duration.ofNanos(refusedAddresses.refusedFor(dev.depin.grpc.internal.AddressGroup.of(address)));
    }

    /** @return bytes of the listings held now (within {@link Builder#maxTotalBytes}) */
    public long storedBytes() {
        return service.storedBytes();
    }

    /**
     * @param node a provider
     * @return renewals accepted from it (its heartbeats), 0 if it is not listed
     */
    public long heartbeats(NodeId node) {
        return service.heartbeats(node);
    }

    /**
     * Blocks until the server has stopped.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /** Stops serving; listings are kept in memory only, so they are gone. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        purger.shutdownNow();
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("directory on {} stopped", address);
    }

    /** Options of a {@link DirectoryServer}. */
    public static final class Builder {
        private final NodeKeyPair key;
        private String host = "127.0.0.1";
        private int port;
        private Duration ttl = Duration.ofSeconds(30);
        private Clock clock = Clock.systemUTC();
        private int maxListings = 10_000;
        private int maxListingBytes = 16 << 10;
        private long maxTotalBytes = 64L << 20;
        private int maxListingsPerHost = 16;
        private int maxAnswerListings = 256;
        private int maxAnswerListingsPerHost = 8;
        private ListingAddressPolicy addressPolicy = ListingAddressPolicy.SYNTAX;
        private int maxRefusedRenewalsPerAddress = 256;
        private Duration refusedAddressFor = Duration.ofSeconds(30);
        private io.micrometer.core.instrument.MeterRegistry registry;

        private Builder(NodeKeyPair key) {
            this.key = key;
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
         * @param ttl how long a listing lives after each renewal (default 30 s)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder listingTtl(Duration ttl) {
            InvalidArgumentException.requireNonNull(ttl, "listing time to live");
            if (ttl.isNegative() || ttl.isZero()) {
                throw new InvalidArgumentException("listing time to live " + ttl + " must be positive");
            }
            this.ttl = ttl;
            return this;
        }

        /**
         * @param clock the clock for expiry (default UTC system clock)
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * @param bytes the most bytes of one listing as received (default 16 KiB; a listing is
         *              an offer and an address, about 1 KiB); larger renewals are refused with
         *              RESOURCE_EXHAUSTED, and the server's inbound message limit is this plus 4 KiB
         * @return this builder
         * @throws InvalidArgumentException unless 1 KiB to 1 MiB
         */
        public Builder maxListingBytes(int bytes) {
            if (bytes < 1024 || bytes > (1 << 20)) {
                throw new InvalidArgumentException("maximum listing bytes " + bytes + " must be 1 KiB to 1 MiB");
            }
            this.maxListingBytes = bytes;
            return this;
        }

        /**
         * @param bytes the most bytes of all listings held together (default 64 MiB)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxTotalBytes(long bytes) {
            if (bytes < 1) {
                throw new InvalidArgumentException("maximum total listing bytes " + bytes + " must be positive");
            }
            this.maxTotalBytes = bytes;
            return this;
        }

        /**
         * @param max the most listings whose renewals come from one address, an IPv4 address or
         *            an IPv6 /64 prefix, loopback included (default 16): a listing is per key
         *            and keys are free, so this bounds what one machine can list; raise it for a
         *            directory many of whose providers share one NAT. Checked before the offer's
         *            signature, so renewals of new keys from a full address cost a parse; a
         *            refused renewal gets RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxListingsPerHost(int max) {
            if (max < 1) {
                throw new InvalidArgumentException("maximum listings per address " + max + " must be positive; raise it "
                        + "for providers behind one NAT, lower it to bound one machine's listings");
            }
            this.maxListingsPerHost = max;
            return this;
        }

        /**
         * @param max the most listings in one answer, whatever the query's limit (default 256):
         *            an answer lists the matching providers oldest first (by when each was first
         *            listed and renewed without a lapse since), so past this many the newest are
         *            left out; a buyer that needs others narrows its query (region, device kind,
         *            model, memory)
         * @return this builder
         * @throws InvalidArgumentException unless 1 to 100,000
         */
        public Builder maxAnswerListings(int max) {
            if (max < 1 || max > 100_000) {
                throw new InvalidArgumentException("maximum listings per answer " + max + " must be 1 to 100000");
            }
            this.maxAnswerListings = max;
            return this;
        }

        /**
         * @param max the most listings renewed from one address (an IPv4 address, an IPv6 /64) in
         *            one answer (default 8), the oldest of them: one machine's keys cannot fill a
         *            buyer's answer, however many it lists; raise it for a directory whose
         *            providers share one NAT
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxAnswerListingsPerHost(int max) {
            if (max < 1) {
                throw new InvalidArgumentException("maximum listings per address in one answer " + max + " must be "
                        + "positive; raise it for providers behind one NAT, lower it to bound what one machine puts in "
                        + "an answer");
            }
            this.maxAnswerListingsPerHost = max;
            return this;
        }

        /**
         * How many refused renewals one address may send before the directory refuses the address
         * whole. Keys are free: a stranger renews listings for fresh keys from one machine, and
         * each refused renewal still costs the directory a stream, a message and an answer. So the
         * renewals it refuses (RESOURCE_EXHAUSTED, INVALID_ARGUMENT, PERMISSION_DENIED: too large,
         * the address's listings full, malformed, badly signed, another node's offer) are counted
         * per address (an IPv4 address, an IPv6 /64, over all its keys) in windows of 10 s; the
         * one that reaches {@code max} has the address refused for {@code refusedFor}: each of its
         * calls (renewals and queries) is answered RESOURCE_EXHAUSTED before its message is read,
         * its connections are ended with GOAWAY, and a new connection from it is closed as it is
         * accepted, before its TLS handshake. Defaults: 256 in 10 s, refused for 30 s. An honest
         * provider is refused a renewal only when the directory or its address is full, once
         * per renewal; 256 in 10 s is more than a hundred such providers behind one NAT make, and
         * a 200-per-second flood reaches it in under 2 s. Raise it for a directory many of whose
         * providers share one address and are turned away; buyers behind an address that is
         * refused cannot query for {@code refusedFor}.
         *
         * @param max        refused renewals one address may send in 10 s (1 to 1,000,000)
         * @param refusedFor how long the address is refused once it has (1 s to 1 h)
         * @return this builder
         * @throws InvalidArgumentException outside those ranges
         */
        public Builder refusedRenewalsPerAddress(int max, Duration refusedFor) {
            AddressRefusals.checkSettings("refused renewals", max, 1_000_000, refusedFor);
            this.maxRefusedRenewalsPerAddress = max;
            this.refusedAddressFor = refusedFor;
            return this;
        }

        /**
         * @param policy which listed addresses are accepted (default {@link ListingAddressPolicy#SYNTAX})
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder addressPolicy(ListingAddressPolicy policy) {
            this.addressPolicy = InvalidArgumentException.requireNonNull(policy, "listing address policy");
            return this;
        }

        /**
         * @param max the most listings held (default 10,000); more are refused with
         *            RESOURCE_EXHAUSTED
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder maxListings(int max) {
            if (max < 1) {
                throw new InvalidArgumentException("maximum listings " + max + " must be positive");
            }
            this.maxListings = max;
            return this;
        }

        /**
         * Publishes the directory's meters in {@code registry}: listings held, calls by method
         * and status (renewals accepted and refused, queries), call latency, and what the
         * transport refused before any call existed ({@code depin.directory.transport.refusals}
         * by {@code kind} and {@code error}: renewals past the inbound size limit, streams past
         * 64 per connection, HTTP/2 resets and GOAWAYs with an error).
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
         * @return the running directory
         * @throws NetworkException if the port cannot be bound
         */
        public DirectoryServer start() {
            try {
                return new DirectoryServer(this);
            } catch (IOException e) {
                throw new NetworkException("could not listen on " + host + ":" + port + ": " + e.getMessage()
                        + " (is the port in use?)", e);
            }
        }
    }
}
