package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.PresenceRequest;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.settlement.SettlementContract;
import dev.depin.sla.PresenceStatement;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A provider's renewals as signed heartbeats, over loopback mutual TLS: the directory (on a
 * clock the test moves) turns renewals into live intervals, and a buyer gets them as a
 * presence statement verified against the directory's pinned key; malformed requests are
 * refused with the reason.
 */
class DirectoryPresenceTest {
    private static ProviderOffer offer(NodeKeyPair key) {
        DeviceInfo device;
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            device = cpu.device();
        }
        return ProviderOffer.sign(key, new OfferTerms("depin://127.0.0.1:1", List.of(device), new Region("US", ""),
                Set.of("saxpy"), new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01")), MicroUsd.ofUsd("1"),
                Instant.now().plus(Duration.ofMinutes(10))));
    }

    private static ManagedChannel channel(DirectoryServer dir, NodeKeyPair key) {
        return NettyChannelBuilder.forTarget(dir.address())
                .sslContext(NodeTls.client(NodeTls.identity(key), dir.publicKey())).build();
    }

    @Test
    void renewalsBecomeASignedRecordOfWhenTheProviderWasListed() throws Exception {
        Instant t0 = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        SettlementContract.ManualClock clock = new SettlementContract.ManualClock(t0);
        NodeKeyPair provider = NodeKeyPair.generate();
        ProviderOffer offer = offer(provider);
        RenewRequest renew = RenewRequest.newBuilder().setListing(Listing.newBuilder()
                .setOfferJson(ByteString.copyFrom(offer.toJson())).setAddress("127.0.0.1:1")).build();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .listingTtl(Duration.ofSeconds(10)).clock(clock).start();
             GrpcNetwork pinned = GrpcNetwork.builder().directory(dir.address(), dir.publicKey())
                     .identity(NodeKeyPair.generate()).build()) {
            ManagedChannel ch = channel(dir, provider);
            try {
                DirectoryGrpc.DirectoryBlockingStub stub = DirectoryGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(10, TimeUnit.SECONDS);
                stub.renew(renew);                     // t0: listed until t0 + 10
                clock.advance(Duration.ofSeconds(5));
                stub.renew(renew);                     // t0 + 5: until t0 + 15, one interval
                clock.advance(Duration.ofSeconds(20));
                stub.renew(renew);                     // t0 + 25: it had lapsed at t0 + 15
                clock.advance(Duration.ofSeconds(5));  // now t0 + 30

                List<PresenceStatement> got = pinned.presence(provider.nodeId(), t0.minusSeconds(60),
                        t0.plusSeconds(3600)).get(10, TimeUnit.SECONDS);
                assertEquals(1, got.size());
                PresenceStatement s = got.get(0);
                assertEquals(dir.publicKey().nodeId(), s.directory());
                assertEquals(t0.plusSeconds(30), s.to(), "the window is clipped to the directory's now");
                assertEquals(t0.plusSeconds(30), s.issued());
                assertEquals(t0, s.history(), "known since the directory started");
                assertEquals(List.of(new PresenceStatement.Interval(t0, t0.plusSeconds(15)),
                        new PresenceStatement.Interval(t0.plusSeconds(25), t0.plusSeconds(30))), s.live());
                assertEquals(20.0 / 30.0, s.liveFraction(), 1e-12);
                // The bytes a buyer keeps check offline against the directory's key.
                PresenceStatement.parse(s.toBytes()).verify(dir.publicKey(), provider.nodeId());

                // Malformed requests, raw: refused with the reason.
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.presence(
                        PresenceRequest.newBuilder().setProviderNodeId("zz").setFromEpochMillis(0)
                                .setToEpochMillis(1).build()));
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
                assertEquals(true, e.getStatus().getDescription().startsWith("malformed presence request: "),
                        e.getStatus().getDescription());
                long now = t0.plusSeconds(30).toEpochMilli();
                e = assertThrows(StatusRuntimeException.class, () -> stub.presence(PresenceRequest.newBuilder()
                        .setProviderNodeId(provider.nodeId().hex()).setFromEpochMillis(now)
                        .setToEpochMillis(now + 60_000).build()));
                assertEquals("malformed presence request: window [" + now + ", " + (now + 60_000) + ") ms is empty "
                        + "or ends before it starts (the directory's now is " + now + ")",
                        e.getStatus().getDescription());
            } finally {
                ch.shutdownNow();
            }
            try (GrpcNetwork unpinned = GrpcNetwork.builder().directory(dir.address())
                    .identity(NodeKeyPair.generate()).build()) {
                InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                        () -> unpinned.presence(provider.nodeId(), t0, t0.plusSeconds(1)));
                assertEquals("no directory of this network has a pinned key, so no presence statement could be "
                        + "checked: add directories with directory(address, key)", e.getMessage());
            }
        }
    }
}
