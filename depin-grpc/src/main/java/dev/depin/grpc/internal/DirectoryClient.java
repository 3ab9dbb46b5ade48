package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewReply;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.network.NetworkException;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A connection to one directory over mutual TLS: renews a provider's listing on a schedule
 * (the heartbeat), or answers a buyer's queries.
 */
public final class DirectoryClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryClient.class);
    private static final long CALL_TIMEOUT_MS = 5_000;

    private final String address;
    private final ManagedChannel channel;
    private final Supplier<ProviderOffer> offer;
    private final String listedAt;
    private final ScheduledExecutorService timer;
    private volatile boolean failing;

    /**
     * A client that renews a listing every {@code renewEvery}, starting now.
     *
     * @param self       this node's identity (its TLS certificate)
     * @param address    the directory's host:port
     * @param pinned     the directory's key, or {@code null} for any
     * @param offer      the node's current signed offer
     * @param listedAt   where the node serves, host:port
     * @param renewEvery the heartbeat interval
     */
    public DirectoryClient(NodeTls.Identity self, String address, NodePublicKey pinned, Supplier<ProviderOffer> offer,
                           String listedAt, Duration renewEvery) {
        this.address = address;
        this.channel = channel(self, address, pinned);
        this.offer = offer;
        this.listedAt = listedAt;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "depin-renew-" + address);
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::renewQuietly, 0, renewEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * A client for queries only.
     *
     * @param self    the buyer's identity (its TLS certificate)
     * @param address the directory's host:port
     * @param pinned  the directory's key, or {@code null} for any
     */
    public DirectoryClient(NodeTls.Identity self, String address, NodePublicKey pinned) {
        this.address = address;
        this.channel = channel(self, address, pinned);
        this.offer = null;
        this.listedAt = null;
        this.timer = null;
    }

    private static ManagedChannel channel(NodeTls.Identity self, String address, NodePublicKey pinned) {
        Wire.parseAddress(address);
        return NettyChannelBuilder.forTarget(address)
                .sslContext(NodeTls.client(self, pinned))
                .maxInboundMessageSize(64 << 20)
                .build();
    }

    /** @return the directory's host:port */
    public String address() {
        return address;
    }

    /**
     * Renews the listing now.
     *
     * @throws NetworkException if the directory cannot be reached or refuses it
     */
    public void renew() {
        try {
            RenewReply r = DirectoryGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_TIMEOUT_MS,
                    TimeUnit.MILLISECONDS).renew(RenewRequest.newBuilder().setListing(Listing.newBuilder()
                    .setOfferJson(ByteString.copyFrom(offer.get().toJson())).setAddress(listedAt)).build());
            if (failing) {
                failing = false;
                LOG.info("directory {} reachable again; listed until {}", address,
                        java.time.Instant.ofEpochMilli(r.getListedUntilEpochMillis()));
            }
        } catch (StatusRuntimeException e) {
            throw new NetworkException("directory " + address + " did not renew the listing: " + e.getStatus(), e);
        }
    }

    private void renewQuietly() {
        try {
            renew();
        } catch (RuntimeException e) {
            if (!failing) {
                failing = true;
                LOG.warn("{}; retrying every heartbeat", e.getMessage());
            }
        }
    }

    /**
     * Asks the directory for listings.
     *
     * @param query the query
     * @return the answer, or a future failed with a {@link NetworkException}
     */
    public CompletableFuture<DirectoryAnswer> query(DirectoryQuery query) {
        CompletableFuture<DirectoryAnswer> f = new CompletableFuture<>();
        DirectoryGrpc.newStub(channel).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS).query(query,
                new StreamObserver<>() {
                    @Override
                    public void onNext(DirectoryAnswer value) {
                        f.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        f.completeExceptionally(new NetworkException("directory " + address + " did not answer: "
                                + io.grpc.Status.fromThrowable(t), t));
                    }

                    @Override
                    public void onCompleted() {
                        f.completeExceptionally(new NetworkException("directory " + address
                                + " closed the query without an answer"));
                    }
                });
        return f;
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
