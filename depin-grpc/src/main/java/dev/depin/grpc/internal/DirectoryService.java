package dev.depin.grpc.internal;

import dev.depin.DepinException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewReply;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.job.Requirements;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The directory: signed offers with a time to live, by node. A renewal is accepted only from
 * the provider itself (the TLS peer's key is the offer's key), only with a well-formed,
 * validly signed, unexpired offer; it is also the provider's heartbeat, counted per node.
 * Expired listings are dropped on every query and by {@link #purge()}.
 */
public final class DirectoryService extends DirectoryGrpc.DirectoryImplBase {
    private final Map<NodeId, Entry> entries = new ConcurrentHashMap<>();
    private final Duration ttl;
    private final Clock clock;
    private final int maxListings;
    private final String nodeId;

    /** One provider's listing. */
    private record Entry(ProviderOffer offer, Listing listing, Instant until, long heartbeats) {
    }

    /**
     * @param nodeId      the directory's own node id, for health answers
     * @param ttl         how long a listing lives without a renewal
     * @param clock       the clock
     * @param maxListings the most listings held
     */
    public DirectoryService(NodeId nodeId, Duration ttl, Clock clock, int maxListings) {
        this.nodeId = nodeId.hex();
        this.ttl = ttl;
        this.clock = clock;
        this.maxListings = maxListings;
    }

    /** @return listings held now (expired ones included until purged) */
    public int size() {
        return entries.size();
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
    public void purge() {
        Instant now = clock.instant();
        entries.values().removeIf(e -> !now.isBefore(e.until()));
    }

    @Override
    public void renew(RenewRequest request, StreamObserver<RenewReply> responses) {
        NodePublicKey peer = PeerKeys.PEER.get();
        Listing l = request.getListing();
        ProviderOffer offer;
        Instant now = clock.instant();
        try {
            offer = ProviderOffer.fromJson(l.getOfferJson().toByteArray());
            offer.verify(now);
            Wire.parseAddress(l.getAddress());
        } catch (DepinException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("listing refused: " + e.getMessage())
                    .asRuntimeException());
            return;
        } catch (RuntimeException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("malformed listing: " + e).asRuntimeException());
            return;
        }
        if (peer == null || !peer.equals(offer.publicKey())) {
            responses.onError(Status.PERMISSION_DENIED.withDescription("only provider " + offer.nodeId().shortId()
                    + " itself may list its offer").asRuntimeException());
            return;
        }
        Instant until = now.plus(ttl);
        if (offer.terms().validUntil().isBefore(until)) {
            until = offer.terms().validUntil();
        }
        Instant listedUntil = until;
        if (!entries.containsKey(offer.nodeId()) && entries.size() >= maxListings) {
            purge();
            if (entries.size() >= maxListings) {
                responses.onError(Status.RESOURCE_EXHAUSTED.withDescription("directory holds " + maxListings
                        + " listings, its maximum").asRuntimeException());
                return;
            }
        }
        entries.compute(offer.nodeId(), (k, old) -> new Entry(offer, l, listedUntil,
                old == null ? 1 : old.heartbeats() + 1));
        responses.onNext(RenewReply.newBuilder().setListedUntilEpochMillis(listedUntil.toEpochMilli()).build());
        responses.onCompleted();
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
        AtomicLong left = new AtomicLong(q.getLimit());
        for (Entry e : entries.values()) {
            if (!now.isBefore(e.until())) {
                entries.remove(e.offer().nodeId(), e);
                continue;
            }
            if (left.get() > 0 && e.offer().terms().kernels().contains(q.getKernelId())
                    && req.mismatch(e.offer()) == null) {
                a.addListings(e.listing());
                left.decrementAndGet();
            }
        }
        responses.onNext(a.build());
        responses.onCompleted();
    }

    @Override
    public void health(HealthRequest request, StreamObserver<HealthReply> responses) {
        responses.onNext(HealthReply.newBuilder().setStatus(HealthReply.Status.SERVING).setNodeId(nodeId)
                .setBusy(entries.size()).build());
        responses.onCompleted();
    }
}
