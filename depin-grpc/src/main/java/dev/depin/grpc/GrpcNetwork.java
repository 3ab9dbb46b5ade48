package dev.depin.grpc;

import com.google.protobuf.ByteString;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.DirectoryClient;
import dev.depin.grpc.internal.LruTable;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.Reconnect;
import dev.depin.grpc.internal.RemoteAttempt;
import dev.depin.grpc.internal.SessionClient;
import dev.depin.grpc.internal.Wire;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.DepinException;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.job.InputRef;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The {@link ComputeNetwork} of our own network: offers come from one or more directories
 * (merged, one listing per provider), attempts go to each provider's node over gRPC with
 * mutual TLS 1.3, with the provider's key pinned to the key of its signed offer (a node
 * holding another key is refused during the handshake, before any job data flows). One
 * channel per provider; each attempt has a deadline (the job's, or the network's attempt
 * timeout if sooner), and a cancel travels on the attempt's stream to the provider.
 *
 * <p>Transient failures are retried where that is safe: a directory query while the
 * directory is UNAVAILABLE or slow ({@link Builder#directoryRetry}); a dispatch once more on
 * the same provider when it failed UNAVAILABLE before its first message was handed to the
 * connection, so no job data can have reached the provider ({@link Builder#dispatchRetry}).
 * Every later failure goes back to the engine, which reschedules the job on another provider.
 *
 * <p>Moving a program from the in-process pool to the network is one line:
 * <pre>{@code
 * // ComputeNetwork net = LocalNetwork.of(nodes);
 * ComputeNetwork net = GrpcNetwork.connect("127.0.0.1:7000");
 * try (DepinClient client = DepinClient.builder(net).build()) {
 *     JobResult r = client.submit(job).result();
 * }
 * }</pre>
 */
public final class GrpcNetwork implements ComputeNetwork {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcNetwork.class);
    /** The most providers remembered by default ({@link Builder#maxProviders}): the largest offer query. */
    public static final int DEFAULT_MAX_PROVIDERS = 100_000;

    private final NodeTls.Identity identity;
    private final List<DirectoryClient> directories = new ArrayList<>();
    private final List<NodePublicKey> directoryKeys;
    private final Duration attemptTimeout;
    private final Duration closeGrace;
    private final long offerCacheNanos;
    private final int dispatchRetries;
    private final Duration dispatchBackoff;
    /** Recent answers by query, so that a scheduling round per job does not cost a directory round trip. */
    private final Map<OfferQuery, Cached> recent = new ConcurrentHashMap<>();
    /**
     * Offers parsed from directory answers, by their JSON bytes ({@link #PARSED_OFFERS} at most,
     * least recently seen dropped first; only offers of at most {@link #PARSED_OFFER_BYTES}). A
     * directory under a flood answers with up to 8 strangers' listings beside the honest ones, the
     * same ones query after query: each is parsed once, not once per query on the buyer's path.
     * An offer is signed and its bytes are its whole content, so equal bytes parse to an equal offer.
     */
    private final LruTable<ByteString, ProviderOffer> parsedOffers =
            new LruTable<>(PARSED_OFFERS, (json, offer) -> { });
    /** Parsed offers kept at most. */
    static final int PARSED_OFFERS = 1024;
    /** The largest offer JSON kept parsed (a real offer has about 1 KiB): 4 MiB at most in all. */
    static final int PARSED_OFFER_BYTES = 4 << 10;
    /**
     * Where each provider serves, as last listed, with the key its channel pins: at most
     * {@link Builder#maxProviders} of them, the least recently used forgotten (and its channel
     * closed) past that, so that directories listing ever fresh keys cannot grow it for as long as
     * the buyer runs.
     */
    private final LruTable<NodeId, Route> routes;
    /**
     * The other addresses directories listed for each provider, tried in order when dialing the
     * route's address fails before a Start was sent (at most {@link #MAX_OTHER_ADDRESSES}; bounded
     * like the routes). No channel belongs to them: one opened to try an address is closed when it
     * fails, or becomes the route's when it works.
     */
    private final LruTable<NodeId, List<String>> otherAddresses;
    /** The most other listed addresses remembered per provider. */
    private static final int MAX_OTHER_ADDRESSES = 3;
    private final Map<Route, ManagedChannel> channels = new ConcurrentHashMap<>();
    /** The Session stream of each route that has one (opening, open, or retiring). */
    private final Map<Route, SessionClient> sessions = new ConcurrentHashMap<>();
    /** Every session not yet ended, those retired and replaced in {@link #sessions} included (swept for deadlines). */
    private final Set<SessionClient> liveSessions = ConcurrentHashMap.newKeySet();
    /** Providers that answered a Session with UNIMPLEMENTED (nodes from before it): one stream per job. */
    private final Set<NodeId> withoutSessions = ConcurrentHashMap.newKeySet();
    /** Checks every session's job deadlines and idle time (one timer for all, not one per job); started with the first session. */
    private volatile java.util.concurrent.ScheduledExecutorService sweeper;
    /** How often the sessions' job deadlines are checked. */
    private static final long SWEEP_MILLIS = 25;
    /** The sessions' clock for their jobs' deadlines, age and idle time (tests move it by hand: {@link #sessionTicker}). */
    private volatile java.util.function.LongSupplier sessionTicker = System::nanoTime;
    private final Set<RemoteAttempt> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** What providers hold of this buyer's inputs, or null when the buyer lets them keep nothing. */
    private final dev.depin.grpc.internal.HeldInputs held;
    private final boolean keepOutputs;

    private record Route(String address, NodePublicKey key) {
    }

    /** An answer with the routes of its offers, put back on a hit so that each offer can be dispatched. */
    private record Cached(long untilNanos, List<ProviderOffer> offers, List<Route> routes, List<List<String>> others) {
    }

    private GrpcNetwork(Builder b) {
        this.identity = NodeTls.identity(b.key);
        this.attemptTimeout = b.attemptTimeout;
        this.closeGrace = b.closeGrace;
        this.offerCacheNanos = b.offerCache.toNanos();
        this.dispatchRetries = b.dispatchRetries;
        this.dispatchBackoff = b.dispatchBackoff;
        this.held = b.keepInputs || b.keepOutputs ? new dev.depin.grpc.internal.HeldInputs() : null;
        this.keepOutputs = b.keepOutputs;
        this.routes = new LruTable<>(b.maxProviders, (node, route) -> forget(route));
        this.otherAddresses = new LruTable<>(b.maxProviders, (node, addresses) -> { });
        for (int i = 0; i < b.directories.size(); i++) {
            directories.add(new DirectoryClient(identity, b.directories.get(i), b.directoryKeys.get(i),
                    b.directoryRetry, b.directoryTimeout));
        }
        this.directoryKeys = new ArrayList<>(b.directoryKeys); // null where a directory is not pinned
    }

    /**
     * A network that finds providers through the given directories, with a fresh buyer
     * identity and default timeouts.
     *
     * @param directories each directory's {@code host:port}; at least one
     * @return the network
     * @throws InvalidArgumentException if none is given or an address is not host:port
     */
    public static GrpcNetwork connect(String... directories) {
        InvalidArgumentException.requireNonNull(directories, "directories");
        Builder b = builder();
        for (String d : directories) {
            b.directory(d);
        }
        return b.build();
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "grpc";
    }

    /**
     * Asks every directory, merges their listings (one per provider: the offer that is valid
     * longest), and remembers where each provider serves; the same query within
     * {@link Builder#offerCache} is answered from the last answer. Fails only when no
     * directory answers.
     */
    @Override
    public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
        InvalidArgumentException.requireNonNull(query, "offer query");
        if (closed.get()) {
            return CompletableFuture.failedFuture(new NetworkException("this gRPC network is closed"));
        }
        Cached hit = recent.get(query);
        if (hit != null && System.nanoTime() - hit.untilNanos() < 0) {
            for (int i = 0; i < hit.offers().size(); i++) {
                routes.put(hit.offers().get(i).nodeId(), hit.routes().get(i));
                otherAddresses.put(hit.offers().get(i).nodeId(), hit.others().get(i));
            }
            return CompletableFuture.completedFuture(hit.offers());
        }
        DirectoryQuery.Builder q = DirectoryQuery.newBuilder().setKernelId(query.kernelId()).setLimit(query.limit())
                .setMinDeviceMemoryBytes(query.requirements().minDeviceMemoryBytes())
                .addAllModels(query.requirements().models());
        for (Region r : query.requirements().regions()) {
            q.addRegions(r.toString());
        }
        for (DeviceKind k : query.requirements().deviceKinds()) {
            q.addDeviceKinds(k.name());
        }
        DirectoryQuery dq = q.build();
        List<CompletableFuture<DirectoryAnswer>> answers = new ArrayList<>();
        for (DirectoryClient d : directories) {
            answers.add(d.query(dq));
        }
        return CompletableFuture.allOf(answers.stream().map(f -> f.handle((a, e) -> null))
                        .toArray(CompletableFuture[]::new))
                .thenApply(v -> {
                    List<Route> listed = new ArrayList<>();
                    List<List<String>> others = new ArrayList<>();
                    List<ProviderOffer> offers = List.copyOf(merge(answers, query.limit(), listed, others));
                    if (offerCacheNanos > 0) {
                        if (recent.size() > 1024) {
                            recent.clear();
                        }
                        recent.put(query, new Cached(System.nanoTime() + offerCacheNanos, offers, List.copyOf(listed),
                                List.copyOf(others)));
                    }
                    return offers;
                });
    }

    /** @return the offer of a listing, parsed once per distinct JSON while it stays in {@link #parsedOffers} */
    private ProviderOffer parsedOffer(ByteString json) {
        if (json.size() > PARSED_OFFER_BYTES) {
            return ProviderOffer.fromJson(json.toByteArray());
        }
        ProviderOffer o = parsedOffers.get(json);
        if (o == null) {
            byte[] bytes = json.toByteArray();
            o = ProviderOffer.fromJson(bytes); // a malformed one throws and is not kept
            // Kept by a copy of its own bytes, never by a slice that could hold the whole answer.
            parsedOffers.put(ByteString.copyFrom(bytes), o);
        }
        return o;
    }

    /** @return offers parsed from directory answers and kept now */
    int parsedOffers() {
        return parsedOffers.size();
    }

    private List<ProviderOffer> merge(List<CompletableFuture<DirectoryAnswer>> answers, int limit,
                                      List<Route> listed, List<List<String>> others) {
        Map<NodeId, ProviderOffer> best = new LinkedHashMap<>();
        Map<NodeId, String> where = new LinkedHashMap<>();
        // Every address listed for a provider, pinned directories' first, each once.
        Map<NodeId, java.util.LinkedHashSet<String>> pinnedAt = new java.util.HashMap<>();
        Map<NodeId, java.util.LinkedHashSet<String>> unpinnedAt = new java.util.HashMap<>();
        Throwable lastFailure = null;
        List<String> failures = new ArrayList<>();
        int answered = 0;
        Set<NodeId> fromPinned = new java.util.HashSet<>();
        Instant now = Instant.now();
        for (int d = 0; d < answers.size(); d++) {
            CompletableFuture<DirectoryAnswer> f = answers.get(d);
            boolean pinned = directoryKeys.get(d) != null;
            DirectoryAnswer a;
            try {
                a = f.join();
            } catch (RuntimeException e) {
                lastFailure = Wire.unwrap(e);
                failures.add(lastFailure.getMessage());
                continue;
            }
            answered++;
            for (Listing l : a.getListingsList()) {
                ProviderOffer o;
                try {
                    o = parsedOffer(l.getOfferJson());
                    Wire.parseAddress(l.getAddress());
                } catch (RuntimeException e) {
                    LOG.debug("ignoring a malformed listing: {}", e.getMessage());
                    continue;
                }
                (pinned ? pinnedAt : unpinnedAt).computeIfAbsent(o.nodeId(), k -> new java.util.LinkedHashSet<>())
                        .add(l.getAddress());
                // The offer is signed, its address is not: a live offer from a directory whose key is
                // pinned is believed over any from one that is not (which could pair the provider's
                // newest offer with a host that fails the key pin, or with nowhere); among equals,
                // the offer valid longest.
                ProviderOffer prev = best.get(o.nodeId());
                boolean prevPinned = fromPinned.contains(o.nodeId());
                boolean newer = prev == null || o.terms().validUntil().isAfter(prev.terms().validUntil());
                boolean better = prev == null
                        || (pinned && !prevPinned && o.terms().validUntil().isAfter(now))
                        || (pinned == prevPinned && newer)
                        || (!pinned && prevPinned && !prev.terms().validUntil().isAfter(now) && newer);
                if (better) {
                    best.put(o.nodeId(), o);
                    where.put(o.nodeId(), l.getAddress());
                    if (pinned) {
                        fromPinned.add(o.nodeId());
                    } else {
                        fromPinned.remove(o.nodeId());
                    }
                }
            }
        }
        if (answered == 0 && !answers.isEmpty()) {
            throw new NetworkException("no directory answered (" + directories.size() + " asked): "
                    + String.join("; ", failures) + ". Check that a directory runs at each address and is reachable",
                    lastFailure);
        }
        if (!failures.isEmpty()) {
            LOG.debug("{} of {} directories answered; merged without: {}", answered, answers.size(), failures);
        }
        List<ProviderOffer> out = new ArrayList<>();
        for (ProviderOffer o : best.values()) {
            if (out.size() == limit) {
                break;
            }
            Route route = new Route(where.get(o.nodeId()), o.publicKey());
            routes.put(o.nodeId(), route);
            listed.add(route);
            java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>(
                    pinnedAt.getOrDefault(o.nodeId(), new java.util.LinkedHashSet<>()));
            all.addAll(unpinnedAt.getOrDefault(o.nodeId(), new java.util.LinkedHashSet<>()));
            all.remove(route.address());
            List<String> rest = all.stream().limit(MAX_OTHER_ADDRESSES).toList();
            otherAddresses.put(o.nodeId(), rest);
            others.add(rest);
            out.add(o);
        }
        return out;
    }

    /**
     * When a provider's listing was live over a window, as each directory with a pinned key
     * signed it (its renewals as heartbeats: evidence for an SLA that both sides can check
     * against the directory's key; docs/decisions.md, "Presence: the directory's renewals as
     * signed heartbeats"). Directories added without a key are not asked: their statements
     * could not be checked.
     *
     * @param provider the provider
     * @param from     the window's start
     * @param to       the window's end; the directory clips it to its own clock
     * @return one verified statement per directory that answered, in the order the directories
     *         were added; fails with a {@link NetworkException} when none with a pinned key
     *         answered or a statement does not verify (naming the directory)
     * @throws InvalidArgumentException on a null argument, or if no directory has a pinned key
     */
    public CompletableFuture<List<dev.depin.sla.PresenceStatement>> presence(NodeId provider, Instant from,
                                                                             Instant to) {
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(from, "window start");
        InvalidArgumentException.requireNonNull(to, "window end");
        dev.depin.grpc.internal.wire.PresenceRequest request = dev.depin.grpc.internal.wire.PresenceRequest
                .newBuilder().setProviderNodeId(provider.hex()).setFromEpochMillis(from.toEpochMilli())
                .setToEpochMillis(to.toEpochMilli()).build();
        List<CompletableFuture<dev.depin.sla.PresenceStatement>> asked = new ArrayList<>();
        for (int i = 0; i < directories.size(); i++) {
            NodePublicKey key = directoryKeys.get(i);
            if (key == null) {
                continue;
            }
            DirectoryClient d = directories.get(i);
            asked.add(d.presence(request).thenApply(bytes -> {
                try {
                    dev.depin.sla.PresenceStatement st = dev.depin.sla.PresenceStatement.parse(bytes);
                    st.verify(key, provider);
                    return st;
                } catch (DepinException e) {
                    throw new NetworkException("directory " + d.address() + " sent a presence statement that does "
                            + "not verify: " + e.getMessage(), e);
                }
            }));
        }
        if (asked.isEmpty()) {
            throw new InvalidArgumentException("no directory of this network has a pinned key, so no presence "
                    + "statement could be checked: add directories with directory(address, key)");
        }
        return CompletableFuture.allOf(asked.stream().map(f -> f.handle((a, e) -> null))
                .toArray(CompletableFuture[]::new)).thenApply(v -> {
                    List<dev.depin.sla.PresenceStatement> out = new ArrayList<>();
                    List<String> failures = new ArrayList<>();
                    for (CompletableFuture<dev.depin.sla.PresenceStatement> f : asked) {
                        try {
                            out.add(f.join());
                        } catch (RuntimeException e) {
                            failures.add(Wire.unwrap(e).getMessage());
                        }
                    }
                    if (out.isEmpty() || failures.stream().anyMatch(m -> m.contains("does not verify"))) {
                        throw new NetworkException("no verified presence statement for " + provider.shortId() + ": "
                                + String.join("; ", failures));
                    }
                    return List.copyOf(out);
                });
    }

    /**
     * The job's input bytes each provider said it keeps for this buyer (Result.kept_inputs of
     * earlier jobs), when inputs or outputs are kept on providers; nothing otherwise. The
     * engine then prefers such a provider within a load tier, so a chain's next job goes where
     * its input already is.
     */
    @Override
    public Map<NodeId, Long> inputBytesHeld(List<InputRef> inputs) {
        return held == null || inputs == null ? Map.of() : held.bytesHeld(inputs);
    }

    /** @return whether it lets providers keep inputs (and so sends those they hold by root) */
    @Override
    public boolean providersMayKeepInputs() {
        return held != null;
    }

    /**
     * Opens an Execute stream to the provider behind {@code offer}, at the address its
     * directory listing gave, pinning the offer's key. When the provider cannot be reached there
     * before the job's Start is sent (no connection, or another key answers), the other addresses
     * directories listed for it are tried in turn (at most three), and the one that works
     * becomes its address.
     */
    @Override
    public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
        InvalidArgumentException.requireNonNull(offer, "offer");
        InvalidArgumentException.requireNonNull(request, "request");
        InvalidArgumentException.requireNonNull(progress, "progress listener");
        if (closed.get()) {
            return Dispatch.failed(new NetworkException("this gRPC network is closed"));
        }
        Route listed = routes.get(offer.nodeId());
        if (listed == null) {
            return Dispatch.failed(new NetworkException("no directory lists provider " + offer.nodeId().shortId()
                    + ": refresh the offers"));
        }
        // The pin is the key of the offer being dispatched to, whatever the listing said.
        Route route = new Route(listed.address(), offer.publicKey());
        List<String> listedToo = otherAddresses.get(offer.nodeId());
        List<String> others = listedToo == null ? List.of()
                : listedToo.stream().filter(x -> !x.equals(listed.address())).toList();
        if (!others.isEmpty()) {
            return new Tries(offer, route, others, request, progress).first();
        }
        if (dispatchRetries == 0) {
            try {
                return open(offer, route, request, progress).dispatch();
            } catch (RuntimeException e) {
                return unreachable(offer, route, e);
            }
        }
        return new Tries(offer, route, List.of(), request, progress).first();
    }

    /**
     * Reads chunks of an output that a provider keeps for this buyer
     * ({@link Builder#keepOutputsOnProviders}), each checked against {@code root} with its
     * RFC 6962 inclusion proof before it is returned: pass the root that the job's verified
     * receipt commits to ({@code JobResult.receipt()} outputs), never one the provider told
     * you. Chunk {@code i} is bytes {@code [i·chunkBytes, min((i+1)·chunkBytes, bytes))}. One
     * call asks for at most 64 chunks and 2 MiB, and waits at most 30 s; a provider serves a
     * peer at most 4 calls at once. Only this buyer's key ({@link Builder#identity}) can read
     * what its jobs kept.
     *
     * @param provider   the provider that ran the job
     * @param root       the output's root (64 hex) as the verified receipt commits to it
     * @param bytes      the output's size
     * @param chunkBytes 4 KiB (the receipts' Merkle leaf) times a power of two, at most 1 MiB
     * @param chunks     chunk indices, strictly increasing
     * @return the chunks in the order asked (read-only); or failed with
     *         {@link dev.depin.network.OutputGoneException} when the provider no longer holds
     *         the output (evicted, expired, restarted) or never held it for this buyer,
     *         {@link dev.depin.crypto.VerificationException} when a chunk or its proof does not
     *         lead to {@code root} (nothing is returned), or a {@link NetworkException}
     * @throws InvalidArgumentException on null, or a request outside the bounds
     */
    public CompletableFuture<List<java.nio.ByteBuffer>> fetch(NodeId provider, String root, long bytes,
                                                              int chunkBytes, List<Integer> chunks) {
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(chunks, "chunk indices");
        List<Integer> asked = List.copyOf(chunks);
        return onRoute(provider, (channel, ms) -> dev.depin.grpc.internal.OutputFetch.fetch(channel, provider.shortId(),
                root, bytes, chunkBytes, asked, ms));
    }

    /**
     * Chunks of an output a provider keeps for this buyer, with their audit paths, unchecked: the
     * buyer's engine checks each against the root its verified receipt signed
     * ({@link ComputeNetwork#fetchHeld}). Calls within {@code Provider.Fetch}'s bounds (64 chunks,
     * 2 MiB, 30 s).
     */
    @Override
    public CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchHeld(NodeId provider, String root, long bytes,
                                                                              int chunkBytes, int[] chunks) {
        dev.depin.network.spi.HeldChunk.checkRequest(root, bytes, chunkBytes, chunks);
        List<Integer> asked = java.util.Arrays.stream(chunks).boxed().toList();
        return onRoute(provider, (channel, ms) -> dev.depin.grpc.internal.OutputFetch.fetchUnchecked(channel,
                provider.shortId(), root, bytes, chunkBytes, asked, ms));
    }

    /**
     * Calls {@code call} (given the milliseconds it may take) on the channel to a listed
     * provider, or fails when this network is closed or no directory lists the provider (one
     * lookup for every read of held data). A provider listed at other addresses too is tried at
     * each in turn while one cannot be reached, within one fetch deadline
     * ({@link dev.depin.grpc.internal.AddressFailover}); the address that answers becomes its route.
     */
    private <T> CompletableFuture<T> onRoute(NodeId provider,
                                             java.util.function.BiFunction<ManagedChannel, Long, CompletableFuture<T>> call) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new NetworkException("this gRPC network is closed"));
        }
        Route route = routes.get(provider);
        if (route == null) {
            return CompletableFuture.failedFuture(new NetworkException("no directory lists provider "
                    + provider.shortId() + ": refresh the offers"));
        }
        List<String> listedToo = otherAddresses.get(provider);
        if (listedToo == null || listedToo.isEmpty()) {
            return call.apply(channel(route), dev.depin.grpc.internal.OutputFetch.DEADLINE_MILLIS);
        }
        List<String> all = new ArrayList<>();
        all.add(route.address());
        listedToo.stream().filter(a -> !a.equals(route.address())).forEach(all::add);
        return dev.depin.grpc.internal.AddressFailover.inTurn(all, dev.depin.grpc.internal.OutputFetch.DEADLINE_MILLIS,
                System::nanoTime, (address, ms) -> call.apply(channel(new Route(address, route.key())), ms), address -> {
                    if (!address.equals(route.address()) && route.equals(routes.get(provider))) {
                        routes.put(provider, new Route(address, route.key())); // closes the dead address's channel
                    }
                }).whenComplete((r, e) -> {
                    // Channels opened to try addresses that are not the provider's route now are let go.
                    Route now = routes.get(provider);
                    for (String a : all) {
                        if (now == null || !now.address().equals(a)) {
                            forget(new Route(a, route.key()));
                        }
                    }
                });
    }

    /**
     * Verification without the bytes: spot-checks an output a provider keeps for this buyer by
     * fetching only the sampled chunks (64 KiB each, with their inclusion proofs against
     * {@code output}'s root) and recomputing each with the CPU reference, as
     * {@code VerificationPolicy.spotCheck} does over a returned output. The sample comes from
     * {@code seed}, which must be drawn after the provider committed (after its receipt
     * arrived), so the provider could not know which chunks would be read. Blocks until done.
     *
     * @param provider the provider that ran the job and keeps its output
     * @param spec     the job's spec (its kernel must have a CPU reference)
     * @param inputs   the job's input bytes, which the buyer has
     * @param output   the output's digest as the job's verified receipt commits to it
     * @param fraction fraction of chunks to recompute, in (0, 1]
     * @param seed     a secret of at least 16 bytes, drawn after the receipt arrived
     * @param cpu      the CPU reference to recompute on
     * @return what was checked, with the detection probability
     * @throws dev.depin.crypto.VerificationException {@code RESULT_MISMATCH} (with evidence) when a
     *         sampled chunk differs from the reference, {@code MERKLE_PROOF_INVALID} when one does
     *         not prove against the root
     * @throws dev.depin.network.OutputGoneException when the provider no longer holds the output
     * @throws InvalidArgumentException on a bad argument, or a kernel without a CPU reference
     */
    public dev.depin.crypto.VerificationReport spotCheckKept(NodeId provider, dev.depin.job.JobSpec spec,
                                                             Map<String, java.nio.ByteBuffer> inputs,
                                                             dev.depin.crypto.BufferDigest output, double fraction,
                                                             byte[] seed, dev.depin.kernel.CpuReference cpu) {
        InvalidArgumentException.requireNonNull(spec, "spec");
        InvalidArgumentException.requireNonNull(output, "output");
        dev.depin.kernel.KernelReference ref = spec.kernel().reference().orElseThrow(() ->
                new InvalidArgumentException("kernel " + spec.kernel().id() + " has no CPU reference to recompute "
                        + "chunks with: compare replicas' roots instead"));
        dev.depin.kernel.Recompute rc = ref.recompute(cpu, spec.params(), inputs);
        return dev.depin.crypto.verify.SpotCheck.verifyFetched(dev.depin.crypto.Hex.decode(output.merkleRoot()),
                output.bytes(), dev.depin.job.JobSpec.MERKLE_CHUNK_BYTES, dev.depin.job.JobSpec.PROOF_CHUNK_BYTES,
                fraction, seed, (indices, chunkBytes) -> fetchAll(provider, output, chunkBytes, indices),
                rc.recomputer(), rc.comparison());
    }

    /** Chunks of a kept output in calls within the per-call bounds, all at once; waits for them. */
    private List<java.nio.ByteBuffer> fetchAll(NodeId provider, dev.depin.crypto.BufferDigest output, int chunkBytes,
                                               int[] indices) {
        int perCall = Math.min(dev.depin.grpc.internal.OutputFetch.MAX_CHUNKS,
                dev.depin.grpc.internal.OutputFetch.MAX_BYTES / chunkBytes);
        List<java.util.concurrent.CompletableFuture<List<java.nio.ByteBuffer>>> calls = new ArrayList<>();
        for (int from = 0; from < indices.length; from += perCall) {
            List<Integer> part = new ArrayList<>();
            for (int k = from; k < Math.min(indices.length, from + perCall); k++) {
                part.add(indices[k]);
            }
            calls.add(fetch(provider, output.merkleRoot(), output.bytes(), chunkBytes, part));
        }
        List<java.nio.ByteBuffer> all = new ArrayList<>(indices.length);
        for (java.util.concurrent.CompletableFuture<List<java.nio.ByteBuffer>> c : calls) {
            try {
                all.addAll(c.join());
            } catch (java.util.concurrent.CompletionException e) {
                calls.forEach(f -> f.cancel(false));
                throw e.getCause() instanceof DepinException d ? d
                        : new NetworkException("fetch from provider " + provider.shortId() + " failed: " + e.getCause(),
                        e.getCause());
            }
        }
        return all;
    }

    private static Dispatch unreachable(ProviderOffer offer, Route route, RuntimeException e) {
        return Dispatch.failed(new NetworkException("could not reach provider " + offer.nodeId().shortId()
                + " at " + route.address() + ": " + e.getMessage(), e));
    }

    /**
     * Closes the channel of a route the table let go of (evicted, or the provider listed a new
     * address): calls on it finish, new ones go to a fresh channel if the provider is listed again.
     */
    private void forget(Route route) {
        SessionClient session = sessions.remove(route); // still swept until it ends
        if (session != null) {
            session.close("the provider's route changed");
        }
        ManagedChannel c = channels.remove(route);
        if (c != null) {
            c.shutdown();
        }
    }

    private ManagedChannel channel(Route route) {
        return channels.computeIfAbsent(route, r -> NettyChannelBuilder
                .forTarget(r.address())
                .sslContext(NodeTls.client(identity, r.key()))
                .flowControlWindow(Wire.FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(Wire.MAX_MESSAGE_BYTES)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .build());
    }

    /** Opens one Execute stream to the provider. */
    private RemoteAttempt open(ProviderOffer offer, Route route, ExecutionRequest request,
                               Consumer<Progress> progress) {
        ManagedChannel channel = channel(route);
        RemoteAttempt attempt = new RemoteAttempt(offer.nodeId(), request, progress, held, keepOutputs);
        inFlight.add(attempt);
        attempt.released().whenComplete((v, e) -> inFlight.remove(attempt));
        long timeoutMs = attemptTimeout.toMillis();
        long untilDeadline = request.spec().deadline().toEpochMilli() - Instant.now().toEpochMilli();
        long deadlineMs = Math.max(1, Math.min(timeoutMs, untilDeadline));
        SessionClient.Job onSession = attempt.inlineCall() ? sessionJob(offer, route) : null;
        if (onSession != null) {
            // A small job on the provider's Session stream: no stream of its own (docs/decisions.md).
            onSession.start(attempt, sessionTicker.getAsLong() + TimeUnit.MILLISECONDS.toNanos(deadlineMs));
            if (closed.get()) {
                attempt.abort("this gRPC network is closed");
            }
            return attempt;
        }
        ProviderGrpc.ProviderStub stub = ProviderGrpc.newStub(channel)
                .withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
        if (attempt.inlineCall()) {
            // The whole job is inside Start and its outputs fit one chunk: its callbacks run on
            // the event loop, on both sides, instead of a thread wake-up each (InlineCalls).
            stub = stub.withExecutor(com.google.common.util.concurrent.MoreExecutors.directExecutor())
                    .withInterceptors(dev.depin.grpc.internal.InlineCalls.mark());
        }
        stub.execute(attempt);
        if (closed.get()) {
            attempt.abort("this gRPC network is closed");
        }
        return attempt;
    }

    /**
     * A slot on the route's Session stream for a small job, or null: the provider does not serve
     * sessions (remembered once it answered UNIMPLEMENTED), the session is still opening (its
     * first jobs go on streams of their own until the node's opening message comes, so no job
     * waits on a probe or is lost to an old node's refusal), or it has
     * {@link Wire#SESSION_JOBS} jobs in flight. A session that ended or retired is replaced.
     */
    private SessionClient.Job sessionJob(ProviderOffer offer, Route route) {
        if (withoutSessions.contains(offer.nodeId()) || closed.get()) {
            return null;
        }
        SessionClient s = sessions.get(route);
        if (s == null || s.ended() || s.retired()) {
            SessionClient fresh = new SessionClient(offer.nodeId().shortId(), this::later, sessionTicker);
            if (s == null ? sessions.putIfAbsent(route, fresh) != null : !sessions.replace(route, s, fresh)) {
                return null; // another dispatch opened one meanwhile
            }
            fresh.opened().whenComplete((served, e) -> {
                if (Boolean.FALSE.equals(served)) {
                    LOG.debug("provider {} serves no Session: one stream per job", offer.nodeId().shortId());
                    withoutSessions.add(offer.nodeId());
                }
                if (!Boolean.TRUE.equals(served)) {
                    sessions.remove(route, fresh);
                }
            });
            liveSessions.add(fresh);
            startSweeper();
            try {
                ProviderGrpc.newStub(channel(route))
                        .withExecutor(com.google.common.util.concurrent.MoreExecutors.directExecutor())
                        .session(fresh);
            } catch (RuntimeException e) {
                sessions.remove(route, fresh);
                liveSessions.remove(fresh);
            }
            return null;
        }
        return s.reserve();
    }

    private void startSweeper() {
        if (sweeper != null) {
            return;
        }
        synchronized (sessions) {
            if (sweeper == null && !closed.get()) {
                java.util.concurrent.ScheduledThreadPoolExecutor t = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
                        r -> {
                            Thread th = new Thread(r, "depin-grpc-sessions");
                            th.setDaemon(true);
                            return th;
                        });
                t.scheduleWithFixedDelay(() -> {
                    for (SessionClient c : liveSessions) {
                        try {
                            c.sweep();
                        } catch (RuntimeException x) {
                            LOG.debug("session sweep: {}", x.toString());
                        }
                        if (c.ended()) {
                            liveSessions.remove(c);
                        }
                    }
                    sessions.values().removeIf(SessionClient::ended);
                }, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
                sweeper = t;
            }
        }
    }

    /**
     * Replaces the clock that the sessions opened from now on read for their jobs' deadlines,
     * their age and their idle time (tests move it by hand, so that a job's deadline passes on
     * the buyer exactly when the test says, never before its Start reached the node). The
     * sweeper still runs every {@value #SWEEP_MILLIS} ms and reads this clock.
     *
     * @param ticker nanoseconds, as {@link System#nanoTime}
     */
    void sessionTicker(java.util.function.LongSupplier ticker) {
        this.sessionTicker = java.util.Objects.requireNonNull(ticker, "ticker");
    }

    /** Runs a session's callback off the caller's locks: on the sweeper, or here once it has stopped. */
    private void later(Runnable r) {
        java.util.concurrent.ScheduledExecutorService t = sweeper;
        try {
            if (t != null) {
                t.execute(r);
                return;
            }
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: run it here
        }
        r.run();
    }

    /**
     * One dispatch that may open its stream again on the same provider: only after a failure
     * with UNAVAILABLE (connection refused or lost, handshake cut) that came before the Start
     * message was handed to the connection, and not for a refused certificate. Before that, a
     * dispatch that could not reach the provider at its address (a refused certificate included:
     * another host is there) tries the other addresses directories listed for it, in turn and at
     * once; nothing ran at the failed one. The first that works becomes the provider's route.
     */
    private final class Tries {
        private final ProviderOffer offer;
        private volatile Route route;
        private final java.util.Deque<String> untried;
        /** The route this dispatch began with. */
        private final Route begun;
        private final ExecutionRequest request;
        private final Consumer<Progress> progress;
        private final CompletableFuture<ExecutionResponse> response = new CompletableFuture<>();
        private final CompletableFuture<Void> released = new CompletableFuture<>();
        private volatile RemoteAttempt current;
        private volatile String cancelled;

        Tries(ProviderOffer offer, Route route, List<String> others, ExecutionRequest request,
              Consumer<Progress> progress) {
            this.offer = offer;
            this.route = route;
            this.begun = route;
            this.untried = new java.util.ArrayDeque<>(others);
            this.request = request;
            this.progress = progress;
        }

        Dispatch first() {
            try {
                launch(0);
            } catch (RuntimeException e) {
                return unreachable(offer, route, e);
            }
            return Dispatch.of(response, released, this::cancel);
        }

        private void launch(int retry) {
            Route at = route;
            RemoteAttempt a = open(offer, at, request, progress);
            current = a;
            String why = cancelled;
            if (why != null) {
                a.dispatch().cancel(why);
            }
            a.dispatch().response().whenComplete((r, e) -> {
                if (e == null) {
                    adopt(at);
                    response.complete(r);
                    a.released().whenComplete((v, x) -> released.complete(null));
                } else if (!untried.isEmpty() && cancelled == null && !closed.get() && unreached(a, e)) {
                    Route next = new Route(untried.poll(), at.key());
                    LOG.debug("dispatch of job {}: provider {} not reached at {} ({}); trying its address {}",
                            request.jobId(), offer.nodeId().shortId(), at.address(), e.getMessage(), next.address());
                    a.released().whenComplete((v, x) -> {
                        dropUnlisted(at);
                        route = next;
                        again(retry);
                    });
                } else if (retry < dispatchRetries && cancelled == null && !closed.get() && retryable(a, e)) {
                    long pause = dispatchBackoff.toMillis() / 2
                            + ThreadLocalRandom.current().nextLong(dispatchBackoff.toMillis() / 2 + 1);
                    LOG.debug("dispatch of job {} to provider {} failed before any job data was sent; trying it "
                            + "again in {} ms: {}", request.jobId(), offer.nodeId().shortId(), pause, e.getMessage());
                    a.released().whenComplete((v, x) -> CompletableFuture.delayedExecutor(pause,
                            TimeUnit.MILLISECONDS).execute(() -> Reconnect.thenRun(channel(at),
                            () -> again(dispatchRetries))));
                } else {
                    response.completeExceptionally(e);
                    a.released().whenComplete((v, x) -> released.complete(null));
                }
            });
        }

        /**
         * The address that answered becomes the provider's route (closing the channel of the one
         * it replaces), unless the provider was listed anew meanwhile.
         */
        private void adopt(Route at) {
            Route listed = routes.get(offer.nodeId());
            if (listed != null && !listed.address().equals(at.address())
                    && listed.address().equals(begun.address())) {
                routes.put(offer.nodeId(), at);
            }
        }

        /** Closes the channel opened to try an address that failed, unless it is the provider's route. */
        private void dropUnlisted(Route at) {
            Route listed = routes.get(offer.nodeId());
            if (listed == null || !listed.address().equals(at.address())) {
                forget(at);
            }
        }

        private void again(int retry) {
            try {
                if (closed.get()) {
                    throw new NetworkException("this gRPC network is closed");
                }
                String why = cancelled;
                if (why != null) {
                    throw new ExecutionCancelledException("the dispatch was cancelled before it was retried: " + why);
                }
                launch(retry);
            } catch (RuntimeException e) {
                response.completeExceptionally(e instanceof DepinException ? e : new NetworkException(
                        "could not reach provider " + offer.nodeId().shortId() + " at " + route.address() + ": "
                                + e.getMessage(), e));
                released.complete(null);
            }
        }

        private void cancel(String why) {
            cancelled = why;
            current.dispatch().cancel(why);
        }
    }

    /**
     * Whether a failed attempt never reached the provider at its address: UNAVAILABLE before its
     * Start was handed to the connection, a refused certificate included (there, another host
     * answered). Nothing ran; the same attempt may go to another address of the provider.
     */
    private static boolean unreached(RemoteAttempt a, Throwable failure) {
        if (a.started()) {
            return false;
        }
        for (Throwable c = Wire.unwrap(failure); c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof StatusRuntimeException s) {
                return s.getStatus().getCode() == Status.Code.UNAVAILABLE;
            }
        }
        return false;
    }

    /**
     * Whether a failed attempt may be opened again on the same provider: UNAVAILABLE, before
     * its Start was handed to the connection, and not a refused certificate (an unknown or
     * mismatched key stays refused).
     */
    private static boolean retryable(RemoteAttempt a, Throwable failure) {
        if (a.started()) {
            return false;
        }
        Throwable t = Wire.unwrap(failure);
        Status status = null;
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof CertificateException || c instanceof SSLPeerUnverifiedException) {
                return false;
            }
            if (status == null && c instanceof StatusRuntimeException s) {
                status = s.getStatus();
            }
        }
        return status != null && status.getCode() == Status.Code.UNAVAILABLE;
    }

    /**
     * Cancels every attempt in flight (each provider is told, and given a short grace to let
     * go), then closes every connection. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<RemoteAttempt> open = new ArrayList<>(inFlight);
        for (RemoteAttempt a : open) {
            a.dispatch().cancel("the buyer's network is closing");
        }
        try {
            CompletableFuture.allOf(open.stream().map(RemoteAttempt::released).toArray(CompletableFuture[]::new))
                    .get(closeGrace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.debug("attempts still open after {}: cutting them", closeGrace);
        }
        for (RemoteAttempt a : open) {
            a.abort("this gRPC network is closed");
        }
        liveSessions.forEach(x -> x.close("this gRPC network is closed"));
        java.util.concurrent.ScheduledExecutorService t;
        synchronized (sessions) {
            t = sweeper;
        }
        if (t != null) {
            t.shutdownNow();
        }
        directories.forEach(DirectoryClient::close);
        channels.values().forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    /** Options of a {@link GrpcNetwork}. */
    public static final class Builder {
        private NodeKeyPair key;
        private final List<String> directories = new ArrayList<>();
        private final List<NodePublicKey> directoryKeys = new ArrayList<>();
        private Duration attemptTimeout = Duration.ofMinutes(10);
        private Duration closeGrace = Duration.ofSeconds(2);
        private Duration offerCache = Duration.ofSeconds(1);
        private RetryPolicy directoryRetry = RetryPolicy.DIRECTORY_DEFAULT;
        private Duration directoryTimeout = DirectoryClient.DEFAULT_CALL_TIMEOUT;
        private int dispatchRetries = 1;
        private Duration dispatchBackoff = Duration.ofMillis(100);
        private boolean keepInputs;
        private boolean keepOutputs;
        private int maxProviders = DEFAULT_MAX_PROVIDERS;

        private Builder() {
        }

        /**
         * @param max the most providers whose address (and channel) this network remembers at
         *            once, 1 to 1,000,000 (default {@value GrpcNetwork#DEFAULT_MAX_PROVIDERS}, the
         *            largest offer query). Past it the least recently listed or used is forgotten
         *            and its channel closed; a job sent to it later fails with "refresh the
         *            offers" and is placed again. A bound, because every directory answer may
         *            name providers this buyer never saw, a hostile directory fresh ones each
         *            time.
         * @return this builder
         * @throws InvalidArgumentException if out of range
         */
        public Builder maxProviders(int max) {
            if (max < 1 || max > 1_000_000) {
                throw new InvalidArgumentException("remembering " + max + " providers: give 1 to 1000000");
            }
            this.maxProviders = max;
            return this;
        }

        /**
         * Lets providers keep this buyer's job outputs too, by the roots their receipts commit to,
         * so that a following job whose input is an earlier job's output (a chain), sent to the
         * same provider, sends only its root: intermediates go down once and never back up. The
         * outputs still come back to the buyer, which verifies them as before. Implies
         * {@link #keepInputsOnProviders(boolean) keepInputsOnProviders(true)}; kept outputs share
         * the buyer's part of each provider's cache (evicted, expired and attested the same way).
         *
         * @param keep whether providers may keep this buyer's outputs
         * @return this builder
         */
        public Builder keepOutputsOnProviders(boolean keep) {
            this.keepOutputs = keep;
            if (keep) {
                this.keepInputs = true;
            }
            return this;
        }

        /**
         * Lets providers keep this buyer's inputs by Merkle root (on nodes with an input cache,
         * {@code depin node --input-cache-bytes}), so that a later job on the same inputs, sent to
         * a provider that said it holds them, sends only their roots. A provider that no longer
         * holds one (evicted, expired, restarted) asks for its bytes on the same stream; the job
         * goes on, and only that miss costs a round trip. Each attempt's cost (bytes sent against
         * bytes declared, what came from the cache) is in its {@code RETURNED} event and in
         * {@link ExecutionResponse#inputTransfer()}. Entries belong to this buyer's key
         * ({@link #identity}): no other buyer can use them, and a provider wipes each when it
         * evicts it and lists it in this buyer's next wipe attestation from that provider.
         * Off by default: the inputs then leave each provider with its job.
         *
         * @param keep whether providers may keep this buyer's inputs
         * @return this builder
         */
        public Builder keepInputsOnProviders(boolean keep) {
            this.keepInputs = keep;
            return this;
        }

        /**
         * @param ttl how long a directory answer is reused for the same query (default 1 s;
         *            zero asks the directories every time). The client checks each offer's
         *            expiry and signature itself, and a provider that has gone is retried
         *            elsewhere, so a slightly stale answer costs little.
         * @return this builder
         * @throws InvalidArgumentException if negative
         */
        public Builder offerCache(Duration ttl) {
            InvalidArgumentException.requireNonNull(ttl, "offer cache time to live");
            if (ttl.isNegative()) {
                throw new InvalidArgumentException("offer cache time to live " + ttl + " must not be negative");
            }
            this.offerCache = ttl;
            return this;
        }

        /**
         * @param policy how a directory query is retried while the directory is UNAVAILABLE or
         *               does not answer within {@link #directoryTimeout} (default
         *               {@link RetryPolicy#DIRECTORY_DEFAULT}: 5 tries, 100 ms doubling to 2 s,
         *               half jitter)
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder directoryRetry(RetryPolicy policy) {
            this.directoryRetry = InvalidArgumentException.requireNonNull(policy, "directory retry policy");
            return this;
        }

        /**
         * @param timeout the deadline of one directory query call (default 5 s)
         * @return this builder
         * @throws InvalidArgumentException unless 1 ms to 10 minutes
         */
        public Builder directoryTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "directory timeout");
            if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidArgumentException("directory timeout " + timeout + " must be 1 ms to 10 minutes");
            }
            this.directoryTimeout = timeout;
            return this;
        }

        /**
         * How often a dispatch is opened again on the same provider when it failed UNAVAILABLE
         * before any job data was handed to the connection (connection refused or cut before
         * the stream started). Any other failure goes back to the engine, which tries another
         * provider.
         *
         * @param retries 0 (never) or 1 (default 1)
         * @param backoff the pause before the retry, half of it random: 1 ms to 10 s (default
         *                100 ms)
         * @return this builder
         * @throws InvalidArgumentException if a value is out of range
         */
        public Builder dispatchRetry(int retries, Duration backoff) {
            if (retries < 0 || retries > 1) {
                throw new InvalidArgumentException("dispatch retries is " + retries + ": give 0 or 1 (a provider that "
                        + "stays unreachable is left to the engine, which tries another)");
            }
            InvalidArgumentException.requireNonNull(backoff, "dispatch backoff");
            if (backoff.compareTo(Duration.ofMillis(1)) < 0 || backoff.compareTo(Duration.ofSeconds(10)) > 0) {
                throw new InvalidArgumentException("dispatch backoff " + backoff + " must be 1 ms to 10 s");
            }
            this.dispatchRetries = retries;
            this.dispatchBackoff = backoff;
            return this;
        }

        /**
         * @param key the buyer's identity, presented as its TLS client certificate (default:
         *            a fresh key)
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder identity(NodeKeyPair key) {
            this.key = InvalidArgumentException.requireNonNull(key, "buyer key");
            return this;
        }

        /**
         * Adds a directory whose key is not pinned (its answers are signed offers, which the
         * client verifies one by one).
         *
         * @param address the directory's {@code host:port}
         * @return this builder
         * @throws InvalidArgumentException if the address is not host:port
         */
        public Builder directory(String address) {
            return directory(address, null);
        }

        /**
         * Adds a directory and pins its key.
         *
         * @param address the directory's {@code host:port}
         * @param key     the directory's key, or {@code null} for any
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
         * @param timeout the longest an attempt may take, whatever the job's deadline
         *                (default 10 minutes)
         * @return this builder
         * @throws InvalidArgumentException unless positive
         */
        public Builder attemptTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "attempt timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new InvalidArgumentException("attempt timeout " + timeout + " must be positive");
            }
            this.attemptTimeout = timeout;
            return this;
        }

        /**
         * @param grace how long {@link GrpcNetwork#close()} waits for providers to let go of
         *              cancelled attempts before cutting the connections (default 2 s)
         * @return this builder
         * @throws InvalidArgumentException if negative
         */
        public Builder closeGrace(Duration grace) {
            InvalidArgumentException.requireNonNull(grace, "close grace");
            if (grace.isNegative()) {
                throw new InvalidArgumentException("close grace " + grace + " must not be negative");
            }
            this.closeGrace = grace;
            return this;
        }

        /**
         * @return the network
         * @throws InvalidArgumentException if no directory was given
         */
        public GrpcNetwork build() {
            if (directories.isEmpty()) {
                throw new InvalidArgumentException("a gRPC network needs at least one directory (host:port)");
            }
            if (key == null) {
                key = NodeKeyPair.generate();
            }
            return new GrpcNetwork(this);
        }
    }
}
