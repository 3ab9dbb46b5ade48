package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.RetryPolicy;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewReply;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.network.NetworkException;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import dev.depin.grpc.internal.wire.PresenceReply;
import dev.depin.grpc.internal.wire.PresenceRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A connection to one directory over mutual TLS: renews a provider's listing on a schedule
 * (the heartbeat), or answers a buyer's queries. Both are idempotent, so both are tried
 * again while the directory is UNAVAILABLE or does not answer in time (DEADLINE_EXCEEDED), up
 * to the {@link RetryPolicy}, with exponential backoff and jitter; any other status is final. Before each retry on a connection that failed, gRPC's own
 * reconnect backoff (which grows to two minutes) is cut short ({@link Reconnect}), so a
 * directory that comes back is reached at the next try.
 */
public final class DirectoryClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryClient.class);
    /** Deadline of one call when none is given. */
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(5);

    private final String address;
    private final ManagedChannel channel;
    private final Supplier<ProviderOffer> offer;
    private final String listedAt;
    private final ScheduledExecutorService timer;
    private final RetryPolicy retry;
    private final long callTimeoutMs;
    private volatile boolean failing;
    private volatile boolean closed;

    /**
     * A client that renews a listing every {@code renewEvery}, starting now, with the
     * default retry policy and call deadline.
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
        this(self, address, pinned, offer, listedAt, renewEvery, RetryPolicy.DIRECTORY_DEFAULT, DEFAULT_CALL_TIMEOUT);
    }

    /**
     * A client that renews a listing every {@code renewEvery}, starting now.
     *
     * @param self        this node's identity (its TLS certificate)
     * @param address     the directory's host:port
     * @param pinned      the directory's key, or {@code null} for any
     * @param offer       the node's current signed offer
     * @param listedAt    where the node serves, host:port
     * @param renewEvery  the heartbeat interval
     * @param retry       how a renewal is retried while the directory is unavailable
     * @param callTimeout the deadline of one renewal call
     */
    public DirectoryClient(NodeTls.Identity self, String address, NodePublicKey pinned, Supplier<ProviderOffer> offer,
                           String listedAt, Duration renewEvery, RetryPolicy retry, Duration callTimeout) {
        this.address = address;
        this.channel = channel(self, address, pinned);
        this.offer = offer;
        this.listedAt = listedAt;
        this.retry = retry;
        this.callTimeoutMs = callTimeout.toMillis();
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
     * @param self        the buyer's identity (its TLS certificate)
     * @param address     the directory's host:port
     * @param pinned      the directory's key, or {@code null} for any
     * @param retry       how a query is retried while the directory is unavailable or slow
     * @param callTimeout the deadline of one query call
     */
    public DirectoryClient(NodeTls.Identity self, String address, NodePublicKey pinned, RetryPolicy retry,
                           Duration callTimeout) {
        this.address = address;
        this.channel = channel(self, address, pinned);
        this.offer = null;
        this.listedAt = null;
        this.timer = null;
        this.retry = retry;
        this.callTimeoutMs = callTimeout.toMillis();
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
     * Renews the listing now, retrying while the directory is UNAVAILABLE or slow.
     *
     * @throws NetworkException if the directory cannot be reached within the retry policy,
     *                          or refuses the listing
     */
    public void renew() {
        for (int attempt = 1; ; attempt++) {
            try {
                RenewReply r = DirectoryGrpc.newBlockingStub(channel).withDeadlineAfter(callTimeoutMs,
                        TimeUnit.MILLISECONDS).renew(RenewRequest.newBuilder().setListing(Listing.newBuilder()
                        .setOfferJson(ByteString.copyFrom(offer.get().toJson())).setAddress(listedAt)).build());
                if (failing) {
                    failing = false;
                    LOG.info("directory {} reachable again; listed until {}", address,
                            java.time.Instant.ofEpochMilli(r.getListedUntilEpochMillis()));
                }
                return;
            } catch (StatusRuntimeException e) {
                boolean again = !closed && attempt < retry.maxAttempts() && transientFailure(e.getStatus());
                if (again) {
                    try {
                        Thread.sleep(retry.backoffMillis(attempt, ThreadLocalRandom.current().nextDouble()));
                        Reconnect.await(channel);
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        again = false;
                    }
                }
                if (!again) {
                    throw new NetworkException("directory " + address + " did not renew the listing"
                            + tries(attempt) + ": " + Wire.describe(e.getStatus()), e);
                }
            }
        }
    }

    /** The directory is down or restarting, or did not answer in time: both calls are idempotent. */
    private static boolean transientFailure(Status s) {
        return s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.DEADLINE_EXCEEDED;
    }

    private static String tries(int attempts) {
        return attempts == 1 ? "" : " (" + attempts + " tries)";
    }

    private void renewQuietly() {
        try {
            renew();
        } catch (RuntimeException e) {
            if (!failing && !closed) { // a renewal cut short by close() is no news
                failing = true;
                LOG.warn("{}; retrying every heartbeat", e.getMessage());
            }
        }
    }

    /**
     * Asks the directory for listings, retrying while it is UNAVAILABLE or does not answer
     * in time.
     *
     * @param query the query
     * @return the answer, or a future failed with a {@link NetworkException} once the retry
     *         policy is spent or on any other status
     */
    public CompletableFuture<DirectoryAnswer> query(DirectoryQuery query) {
        CompletableFuture<DirectoryAnswer> f = new CompletableFuture<>();
        query(query, 1, f);
        return f;
    }

    private void query(DirectoryQuery query, int attempt, CompletableFuture<DirectoryAnswer> f) {
        if (closed) {
            f.completeExceptionally(new NetworkException("the client of directory " + address + " is closed"));
            return;
        }
        DirectoryGrpc.newStub(channel).withDeadlineAfter(callTimeoutMs, TimeUnit.MILLISECONDS).query(query,
                new StreamObserver<>() {
                    @Override
                    public void onNext(DirectoryAnswer value) {
                        f.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        Status s = Status.fromThrowable(t);
                        if (transientFailure(s) && !closed && attempt < retry.maxAttempts()) {
                            long pause = retry.backoffMillis(attempt, ThreadLocalRandom.current().nextDouble());
                            CompletableFuture.delayedExecutor(pause, TimeUnit.MILLISECONDS).execute(() ->
                                    Reconnect.thenRun(channel, () -> query(query, attempt + 1, f)));
                        } else {
                            f.completeExceptionally(new NetworkException("directory " + address + " did not answer"
                                    + tries(attempt) + ": " + s, t));
                        }
                    }

                    @Override
                    public void onCompleted() {
                        if (!f.isDone()) {
                            f.completeExceptionally(new NetworkException("directory " + address
                                    + " closed the query without an answer"));
                        }
                    }
                });
    }

    /**
     * Asks for a presence statement (one call, no retry: the caller decides).
     *
     * @param request the provider and window
     * @return the statement's bytes as the directory sent them (unverified), or a future failed
     *         with a {@link NetworkException}
     */
    public CompletableFuture<byte[]> presence(PresenceRequest request) {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        if (closed) {
            f.completeExceptionally(new NetworkException("the client of directory " + address + " is closed"));
            return f;
        }
        DirectoryGrpc.newStub(channel).withDeadlineAfter(callTimeoutMs, TimeUnit.MILLISECONDS).presence(request,
                new StreamObserver<>() {
                    @Override
                    public void onNext(PresenceReply value) {
                        f.complete(value.getStatement().toByteArray());
                    }

                    @Override
                    public void onError(Throwable t) {
                        f.completeExceptionally(new NetworkException("directory " + address + " gave no presence "
                                + "statement: " + Wire.describe(Status.fromThrowable(t)), t));
                    }

                    @Override
                    public void onCompleted() {
                        if (!f.isDone()) {
                            f.completeExceptionally(new NetworkException("directory " + address
                                    + " closed the presence call without an answer"));
                        }
                    }
                });
        return f;
    }

    @Override
    public void close() {
        closed = true;
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
