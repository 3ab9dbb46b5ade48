package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.job.Requirements;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.settlement.SettlementContract;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The directory: listings live for their time to live after each renewal (the heartbeat);
 * badly signed offers and offers listed by anyone but their provider are refused; queries
 * filter by kernel and requirements; a buyer merges several directories and survives one
 * that is down.
 */
class DirectoryTest {
    private static final OfferQuery SAXPY = new OfferQuery("saxpy", Requirements.ANY, 100);

    private static ProviderServer provider(NodeKeyPair key, String region, DirectoryServer... dirs) {
        ProviderServer.Builder b = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1))
                .region(Region.parse(region)).build(), key).renewEvery(Duration.ofHours(1));
        for (DirectoryServer d : dirs) {
            b.directory(d.address(), d.publicKey());
        }
        ProviderServer s = b.start();
        s.renewNow();
        return s;
    }

    private static Set<String> ids(List<ProviderOffer> offers) {
        return offers.stream().map(o -> o.nodeId().hex()).collect(Collectors.toSet());
    }

    @Test
    void listing_expiresUnlessRenewedAndRenewalsAreHeartbeats() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        // The directory's own clock decides expiry, moved by hand: no sleep, so a loaded machine
        // cannot let the listing lapse between a renewal and the query that expects it.
        SettlementContract.ManualClock clock = new SettlementContract.ManualClock(java.time.Instant.now());
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).listingTtl(Duration.ofMillis(400))
                .clock(clock).start();
             ProviderServer p = provider(key, "DE/fra-1", dir);
             GrpcNetwork net = GrpcNetwork.builder().directory(dir.address()).offerCache(Duration.ZERO).build()) {
            long before = dir.heartbeats(key.nodeId());
            assertTrue(before >= 1, "listed at start");
            p.renewNow();
            assertEquals(before + 1, dir.heartbeats(key.nodeId()), "each renewal is one heartbeat");
            assertEquals(Set.of(key.nodeId().hex()), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)));
            clock.advance(Duration.ofMillis(399));
            assertEquals(Set.of(key.nodeId().hex()), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)),
                    "listed until its TTL is over");
            clock.advance(Duration.ofMillis(201));
            assertEquals(Set.of(), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)), "an expired listing is dropped");
            p.renewNow();
            assertEquals(Set.of(key.nodeId().hex()), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)));
        }
    }

    @Test
    void renew_badlySignedOrSomeoneElsesOfferIsRefused() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        NodeKeyPair other = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build()) {
            ProviderOffer offer = node.offer();
            String json = new String(offer.toJson(), StandardCharsets.UTF_8);
            String tampered = json.replace(offer.terms().endpoint(), offer.terms().endpoint() + "x");
            assertTrue(!tampered.equals(json));
            ManagedChannel asProvider = NettyChannelBuilder.forTarget(dir.address())
                    .sslContext(NodeTls.client(NodeTls.identity(key), dir.publicKey())).build();
            ManagedChannel asOther = NettyChannelBuilder.forTarget(dir.address())
                    .sslContext(NodeTls.client(NodeTls.identity(other), dir.publicKey())).build();
            try {
                StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                        .newBlockingStub(asProvider).renew(listing(tampered.getBytes(StandardCharsets.UTF_8))));
                assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode(), bad.toString());
                StatusRuntimeException garbage = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                        .newBlockingStub(asProvider).renew(listing("{\"nodeId\":".getBytes(StandardCharsets.UTF_8))));
                assertEquals(Status.Code.INVALID_ARGUMENT, garbage.getStatus().getCode(), garbage.toString());
                StatusRuntimeException notYours = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                        .newBlockingStub(asOther).renew(listing(offer.toJson())));
                assertEquals(Status.Code.PERMISSION_DENIED, notYours.getStatus().getCode(), notYours.toString());
                assertEquals(0, dir.size(), "nothing was listed");
                DirectoryGrpc.newBlockingStub(asProvider).renew(listing(offer.toJson()));
                assertEquals(1, dir.size());
            } finally {
                asProvider.shutdownNow();
                asOther.shutdownNow();
            }
        }
    }

    @Test
    void offers_eachDistinctOfferParsedOnceAndARenewedOfferSeenNew() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        dev.depin.provider.DeviceInfo device;
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            device = cpu.device();
        }
        java.time.Instant now = java.time.Instant.now();
        ProviderOffer first = signed(key, device, now.plus(Duration.ofMinutes(10)));
        ProviderOffer second = signed(key, device, now.plus(Duration.ofMinutes(20)));
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             GrpcNetwork net = GrpcNetwork.builder().directory(dir.address(), dir.publicKey())
                     .offerCache(Duration.ZERO).build()) {
            ManagedChannel asProvider = NettyChannelBuilder.forTarget(dir.address())
                    .sslContext(NodeTls.client(NodeTls.identity(key), dir.publicKey())).build();
            try {
                DirectoryGrpc.newBlockingStub(asProvider).renew(listing(first.toJson()));
                ProviderOffer a = net.offers(SAXPY).get(10, TimeUnit.SECONDS).get(0);
                ProviderOffer b = net.offers(SAXPY).get(10, TimeUnit.SECONDS).get(0);
                assertEquals(first.terms().validUntil(), a.terms().validUntil());
                // Two answers with the same listing: parsed once, the second answer's offer is the first's.
                assertTrue(a == b, "the same offer JSON was parsed again");
                assertEquals(1, net.parsedOffers());
                // A renewal with another signed offer (a later expiry): the buyer sees the new one.
                DirectoryGrpc.newBlockingStub(asProvider).renew(listing(second.toJson()));
                ProviderOffer c = net.offers(SAXPY).get(10, TimeUnit.SECONDS).get(0);
                assertEquals(second.terms().validUntil(), c.terms().validUntil());
                assertEquals(2, net.parsedOffers());
            } finally {
                asProvider.shutdownNow();
            }
        }
    }

    private static ProviderOffer signed(NodeKeyPair key, dev.depin.provider.DeviceInfo device, java.time.Instant until) {
        return ProviderOffer.sign(key, new dev.depin.provider.OfferTerms("depin://127.0.0.1:1", List.of(device),
                Region.parse("DE/fra-1"), Set.of("saxpy"), new dev.depin.money.Price(
                dev.depin.money.MicroUsd.ofUsd("0.000001"), dev.depin.money.MicroUsd.ofUsd("0.0001")),
                dev.depin.money.MicroUsd.ofUsd("100"), until));
    }

    private static RenewRequest listing(byte[] offerJson) {
        return RenewRequest.newBuilder().setListing(Listing.newBuilder().setOfferJson(ByteString.copyFrom(offerJson))
                .setAddress("127.0.0.1:1")).build();
    }

    @Test
    @SuppressWarnings("try") // the providers only need to be listed, and closed afterwards
    void query_filtersByKernelAndRequirements() throws Exception {
        NodeKeyPair de = NodeKeyPair.generate();
        NodeKeyPair fr = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer p1 = provider(de, "DE/fra-1", dir);
             ProviderServer p2 = provider(fr, "FR/par-1", dir);
             GrpcNetwork net = GrpcNetwork.connect(dir.address())) {
            assertEquals(Set.of(de.nodeId().hex(), fr.nodeId().hex()), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)));
            Requirements inDe = Requirements.builder().regions(Region.parse("DE")).build();
            assertEquals(Set.of(de.nodeId().hex()), ids(net.offers(new OfferQuery("saxpy", inDe, 100))
                    .get(10, TimeUnit.SECONDS)));
            Requirements huge = Requirements.builder().minDeviceMemoryBytes(Long.MAX_VALUE / 2).build();
            assertEquals(Set.of(), ids(net.offers(new OfferQuery("saxpy", huge, 100)).get(10, TimeUnit.SECONDS)));
            assertEquals(Set.of(), ids(net.offers(new OfferQuery("ptx", Requirements.ANY, 100))
                    .get(10, TimeUnit.SECONDS)));
            assertEquals(1, net.offers(new OfferQuery("saxpy", Requirements.ANY, 1)).get(10, TimeUnit.SECONDS).size());
        }
    }

    @Test
    @SuppressWarnings("try") // the providers only need to be listed; the directories are stopped on purpose
    void offers_mergeSeveralDirectoriesAndSurviveOneDown() throws Exception {
        NodeKeyPair a = NodeKeyPair.generate();
        NodeKeyPair b = NodeKeyPair.generate();
        try (DirectoryServer d1 = DirectoryServer.builder(NodeKeyPair.generate()).start();
             DirectoryServer d2 = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer pa = provider(a, "DE/fra-1", d1, d2);
             ProviderServer pb = provider(b, "DE/fra-1", d2);
             GrpcNetwork net = GrpcNetwork.builder().directory(d1.address(), d1.publicKey())
                     .directory(d2.address(), d2.publicKey()).offerCache(Duration.ZERO).build()) {
            List<ProviderOffer> both = net.offers(SAXPY).get(10, TimeUnit.SECONDS);
            assertEquals(2, both.size(), "a provider listed twice is one offer: " + both);
            assertEquals(Set.of(a.nodeId().hex(), b.nodeId().hex()), ids(both));
            d2.close();
            assertEquals(Set.of(a.nodeId().hex()), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)));
            d1.close();
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> net.offers(SAXPY).get(10, TimeUnit.SECONDS));
            assertInstanceOf(NetworkException.class, e.getCause());
        }
    }
}
