package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import dev.depin.DepinException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.PresenceReply;
import dev.depin.grpc.internal.wire.PresenceRequest;
import dev.depin.grpc.internal.wire.RenewReply;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.job.Requirements;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.sla.PresenceStatement;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The directory: signed offers with a time to live, by node. A renewal is accepted only from
 * the provider itself (the TLS peer's key is the offer's key), only with a well-formed,
 * validly signed, unexpired offer and a well-formed address; it is also the provider's
 * heartbeat, counted per node. Expired listings are dropped on every query and by
 * {@link #purge()}.
 *
 * <p>What a stranger can make it hold is bounded: a listing is stored re-encoded from the
 * fields the directory knows (the offer's own JSON, re-serialized, and the address), so
 * unknown protobuf fields are dropped; a renewal larger than {@code maxListingBytes} is
 * refused; the listings (one per key), their bytes in all, and the listings whose renewals
 * come from one address ({@link AddressGroup}: an IPv4 address, an IPv6 /64) are capped, the
 * last checked before the offer's signature so that a flood of fresh keys from one address costs
 * a parse, not a verification, once its share is full; and an answer never grows past what a
 * buyer accepts in one message.
 *
 * <p>What a stranger can make a buyer read is bounded too. An answer lists the matching
 * listings <em>oldest first</em>: by when each was first listed and renewed without a lapse
 * since (a listing that expired and comes back starts again at the end), so keys made a moment
 * ago never come before providers that have kept their listing alive; it holds at most
 * {@link Limits#maxAnswerListings()} listings, whatever the query's limit, and at most
 * {@link Limits#maxAnswerListingsPerHost()} renewed from one address, so one machine's keys
 * cannot fill it. A listing skipped for its address costs the query one map look-up.
 */
public final class DirectoryService extends DirectoryGrpc.DirectoryImplBase {
    /** Room left in an answer for the message's own framing. */
    private static final int MAX_ANSWER_BYTES = Wire.MAX_MESSAGE_BYTES - (64 << 10);
    /** Live intervals remembered per provider. */
    static final int PRESENCE_INTERVALS = 1024;

    private final Map<NodeId, Entry> entries = new ConcurrentHashMap<>();
    /** The same entries by {@link Entry#age}: what a query walks, oldest first. */
    private final java.util.concurrent.ConcurrentSkipListMap<Long, Entry> byAge =
            new java.util.concurrent.ConcurrentSkipListMap<>();
    /** The next {@link Entry#age} given to a listing that is new or lapsed; under the lock. */
    private long nextAge;
    /** Listings by the {@link AddressGroup} their renewals came from. */
    private final Map<String, Integer> perHost = new HashMap<>();
    private final Duration ttl;
    private final Clock clock;
    private final Limits limits;
    private final String nodeId;
    private final NodeKeyPair key;
    private final PresenceLog presence;
    private long storedBytes;

    /**
     * What a directory holds at most.
     *
     * @param maxListings        listings in all
     * @param maxListingBytes    bytes of one renewal's listing as received
     * @param maxTotalBytes      bytes of all stored listings together
     * @param maxListingsPerHost listings whose renewals come from one address (an IPv4 address, an IPv6 /64)
     * @param addressPolicy      which listed addresses are accepted
     * @param maxAnswerListings  listings in one answer, whatever the query's limit
     * @param maxAnswerListingsPerHost listings renewed from one address in one answer
     */
    public record Limits(int maxListings, int maxListingBytes, long maxTotalBytes, int maxListingsPerHost,
                         dev.depin.grpc.ListingAddressPolicy addressPolicy, int maxAnswerListings,
                         int maxAnswerListingsPerHost) {
    }

    /**
     * One provider's listing.
     *
     * @param age its rank by age: lower was listed earlier, kept since without a lapse
     */
    private record Entry(ProviderOffer offer, Listing listing, int bytes, String host, Instant until,
                         long heartbeats, long age) {
    }

    /**
     * @param key    the directory's key: its node id for health answers, its signature on
     *               presence statements
     * @param ttl    how long a listing lives without a renewal
     * @param clock  the clock
     * @param limits what it holds at most
     */
    public DirectoryService(NodeKeyPair key, Duration ttl, Clock clock, Limits limits) {
        this.key = key;
        this.nodeId = key.nodeId().hex();
        // As many providers' presence as listings; 1,024 intervals each (a provider that lapses
        // once an hour keeps six weeks of record).
        this.presence = new PresenceLog(clock.instant(), limits.maxListings(), PRESENCE_INTERVALS);
        this.ttl = ttl;
        this.clock = clock;
        this.limits = limits;
    }

    /** @return listings held now (expired ones included until purged) */
    public int size() {
        return entries.size();
    }

    /** @return bytes of the listings held now */
    public synchronized long storedBytes() {
        return storedBytes;
    }

    /**
     * @param node a provider
     * @return how many renewals the directory accepted from it since it was first listed
     *         (its heartbeats), 0 if it is not listed
     */
    public long heartbeats(NodeId node) {
        Entry e = entries.get(node);
        return e == null ? 0 : e.heartbeats();
    }

    /** Drops every expired listing. */
    public synchronized void purge() {
        Instant now = clock.instant();
        for (Entry e : entries.values()) {
            if (!now.isBefore(e.until())) {
                drop(e);
            }
        }
    }

    /** Removes one entry and what it counted; the caller holds the lock. */
    private void drop(Entry e) {
        if (entries.remove(e.offer().nodeId(), e)) {
            byAge.remove(e.age(), e);
            storedBytes -= e.bytes();
            if (e.host() != null) {
                perHost.merge(e.host(), -1, (a, b) -> a + b == 0 ? null : a + b);
            }
        }
    }

    @Override
    public void renew(RenewRequest request, StreamObserver<RenewReply> responses) {
        NodePublicKey peer = PeerKeys.PEER.get();
        InetAddress from = PeerKeys.REMOTE.get();
        String group = AddressGroup.of(from);
        Listing l = request.getListing();
        int size = l.getSerializedSize();
        if (size > limits.maxListingBytes()) {
            responses.onError(Status.RESOURCE_EXHAUSTED.withDescription("listing of " + size + " bytes; this "
                    + "directory takes at most " + limits.maxListingBytes() + " per listing").asRuntimeException());
            return;
        }
        // A stranger from an address that holds its maximum is refused before its offer is
        // parsed: only the listing of the peer's own key may be stored, so the peer's key decides
        // the address check as the offer's would. In a flood from one address these are most
        // renewals, and the parse was most of what each cost the directory.
        String full = peer == null ? null : addressFull(peer.nodeId(), group);
        if (full != null) {
            responses.onError(Status.RESOURCE_EXHAUSTED.withDescription(full).asRuntimeException());
            return;
        }
        ProviderOffer offer;
        Instant now = clock.instant();
        // Cheapest first: the size and the address's share (above), then the parse, whether the
        // peer is the offer's own key and the address (comparisons), and only then the signature.
        try {
            offer = ProviderOffer.fromJson(l.getOfferJson().toByteArray());
            if (peer == null || !peer.equals(offer.publicKey())) {
                responses.onError(Status.PERMISSION_DENIED.withDescription("only provider " + offer.nodeId().shortId()
                        + " itself may list its offer").asRuntimeException());
                return;
            }
            ListingAddresses.check(l.getAddress(), limits.addressPolicy(), from);
            offer.verify(now);
        } catch (DepinException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("listing refused: " + e.getMessage())
                    .asRuntimeException());
            return;
        } catch (RuntimeException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("malformed listing: " + e).asRuntimeException());
            return;
        }
        // Only the fields this directory knows, re-encoded: unknown fields a renewal carried are dropped.
        Listing stored = Listing.newBuilder().setOfferJson(ByteString.copyFrom(offer.toJson()))
                .setAddress(l.getAddress()).build();
        Instant until = now.plus(ttl);
        if (offer.terms().validUntil().isBefore(until)) {
            until = offer.terms().validUntil();
        }
        String refused = store(offer, stored, group, until);
        if (refused != null) {
            responses.onError(Status.RESOURCE_EXHAUSTED.withDescription(refused).asRuntimeException());
            return;
        }
        responses.onNext(RenewReply.newBuilder().setListedUntilEpochMillis(until.toEpochMilli()).build());
        responses.onCompleted();
    }

    /**
     * The per-address cap, checked before the signature: a node already listed from the address
     * may renew; another is refused while the address holds its maximum of unexpired listings.
     *
     * @return null when the listing may be stored as far as its address goes, else why not
     */
    private synchronized String addressFull(NodeId node, String host) {
        if (host == null || perHost.getOrDefault(host, 0) < limits.maxListingsPerHost()) {
            return null;
        }
        Entry old = entries.get(node);
        if (old != null && host.equals(old.host())) {
            return null;
        }
        purge(); // expired listings may be what fills it
        int held = perHost.getOrDefault(host, 0);
        return held < limits.maxListingsPerHost() ? null : fullMessage(held, host);
    }

    private static String fullMessage(int held, String host) {
        return "directory holds " + held + " listings renewed from " + host + ", its maximum per address: "
                + "renew an existing listing, or list from another address";
    }

    /** @return null when stored, else why not */
    private synchronized String store(ProviderOffer offer, Listing listing, String host, Instant until) {
        Entry old = entries.get(offer.nodeId());
        int bytes = listing.getSerializedSize();
        for (int pass = 0; pass < 2; pass++) {
            long total = storedBytes - (old == null ? 0 : old.bytes()) + bytes;
            int listings = entries.size() + (old == null ? 1 : 0);
            boolean sameHost = old != null && java.util.Objects.equals(old.host(), host);
            int fromHost = host == null ? 0 : perHost.getOrDefault(host, 0) + (sameHost ? 0 : 1);
            String why = listings > limits.maxListings() ? "directory holds " + limits.maxListings()
                    + " listings, its maximum"
                    : total > limits.maxTotalBytes() ? "directory holds " + storedBytes + " bytes of listings; "
                    + bytes + " more would pass its maximum of " + limits.maxTotalBytes()
                    : fromHost > limits.maxListingsPerHost() ? fullMessage(fromHost - 1, host)
                    : null;
            if (why == null) {
                Instant now = clock.instant();
                // A renewal before the listing lapsed keeps its age; a new or lapsed one goes last.
                long age = old != null && now.isBefore(old.until()) ? old.age() : nextAge++;
                Entry e = new Entry(offer, listing, bytes, host, until, old == null ? 1 : old.heartbeats() + 1, age);
                // Replaced in place, never removed and put back: queries walk byAge without the
                // lock, so one passing a renewing provider between a removal and its put would
                // answer without it (the first suspect for an honest buyer's provider missing from
                // one answer in 23k under attack; too narrow to reproduce in a test). A renewal
                // that kept its age replaces its mapping; a lapsed one's old entry (expired, so
                // skipped by queries) is removed after the new one is in.
                entries.put(offer.nodeId(), e);
                byAge.put(age, e);
                if (old != null) {
                    if (old.age() != age) {
                        byAge.remove(old.age(), old);
                    }
                    storedBytes -= old.bytes();
                    if (old.host() != null) {
                        perHost.merge(old.host(), -1, (a, b) -> a + b == 0 ? null : a + b);
                    }
                }
                presence.renewed(offer.nodeId(), now, until);
                storedBytes += bytes;
                if (host != null) {
                    perHost.merge(host, 1, Integer::sum);
                }
                return null;
            }
            if (pass == 0) {
                purge(); // expired listings may be what fills it
                old = entries.get(offer.nodeId());
            } else {
                return why;
            }
        }
        throw new AssertionError();
    }

    @Override
    public void query(DirectoryQuery q, StreamObserver<DirectoryAnswer> responses) {
        Requirements req;
        try {
            if (q.getKernelId().isEmpty() || q.getLimit() < 1 || q.getLimit() > 100_000) {
                throw new IllegalArgumentException("a query needs a kernel id and a limit of 1 to 100000");
            }
            Set<Region> regions = new HashSet<>();
            q.getRegionsList().forEach(r -> regions.add(Region.parse(r)));
            Set<DeviceKind> kinds = new HashSet<>();
            q.getDeviceKindsList().forEach(k -> kinds.add(DeviceKind.valueOf(k)));
            req = new Requirements(q.getMinDeviceMemoryBytes() < 0 ? -1 : q.getMinDeviceMemoryBytes(),
                    Set.copyOf(q.getModelsList()), regions, kinds, 0);
        } catch (RuntimeException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("malformed query: " + e.getMessage())
                    .asRuntimeException());
            return;
        }
        Instant now = clock.instant();
        DirectoryAnswer.Builder a = DirectoryAnswer.newBuilder();
        int left = Math.min(q.getLimit(), limits.maxAnswerListings());
        long answerBytes = 0;
        boolean expired = false;
        // Listings in this answer by the address they were renewed from (null: in process, not counted).
        Map<String, Integer> fromHost = new HashMap<>();
        for (Entry e : byAge.values()) { // oldest first
            if (left == 0) {
                break;
            }
            if (!now.isBefore(e.until())) {
                expired = true;
                continue;
            }
            if (e.host() != null && fromHost.getOrDefault(e.host(), 0) >= limits.maxAnswerListingsPerHost()) {
                continue; // this address's share of the answer is full: cheapest check first
            }
            if (e.offer().terms().kernels().contains(q.getKernelId()) && req.mismatch(e.offer()) == null) {
                long next = answerBytes + e.bytes() + 6; // tag and length of the repeated field
                if (next > MAX_ANSWER_BYTES) {
                    break; // a buyer takes one message of at most 4 MiB: the answer ends here
                }
                a.addListings(e.listing());
                answerBytes = next;
                left--;
                if (e.host() != null) {
                    fromHost.merge(e.host(), 1, Integer::sum);
                }
            }
        }
        if (expired) {
            purge();
        }
        responses.onNext(a.build());
        responses.onCompleted();
    }

    @Override
    public void presence(PresenceRequest request, StreamObserver<PresenceReply> responses) {
        PresenceStatement statement;
        try {
            NodeId provider = NodeId.parse(request.getProviderNodeId());
            Instant now = Instant.ofEpochMilli(clock.millis());
            Instant from = Instant.ofEpochMilli(request.getFromEpochMillis());
            Instant to = Instant.ofEpochMilli(Math.min(request.getToEpochMillis(), now.toEpochMilli()));
            if (!to.isAfter(from)) {
                throw new IllegalArgumentException("window [" + request.getFromEpochMillis() + ", "
                        + request.getToEpochMillis() + ") ms is empty or ends before it starts (the directory's now "
                        + "is " + now.toEpochMilli() + ")");
            }
            PresenceLog.Window w = presence.window(provider, from, to);
            statement = PresenceStatement.issue(key, provider, from, to, w.history(), now, w.live());
        } catch (DepinException | IllegalArgumentException | java.time.DateTimeException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("malformed presence request: "
                    + e.getMessage()).asRuntimeException());
            return;
        }
        responses.onNext(PresenceReply.newBuilder().setStatement(ByteString.copyFrom(statement.toBytes())).build());
        responses.onCompleted();
    }

    @Override
    public void health(HealthRequest request, StreamObserver<HealthReply> responses) {
        responses.onNext(HealthReply.newBuilder().setStatus(HealthReply.Status.SERVING).setNodeId(nodeId)
                .setBusy(entries.size()).build());
        responses.onCompleted();
    }
}
