package dev.depin.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.job.Requirements;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Directory flood by strangers with self-made keys and raw protobuf renewals: listings that
 * carry megabytes of unknown fields, kilobytes of them, more listings than the directory
 * holds, and addresses no buyer should dial. Honest buyers' queries keep answering with the
 * honest provider throughout; the directory stores only known fields and stays within its
 * listing, byte and per-address bounds.
 */
class DirectoryFloodAttackTest {
    private static final int MAX_LISTINGS = 15;
    private static final long MAX_TOTAL_BYTES = 256L << 10;

    private static DeviceInfo device() {
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            return cpu.device();
        }
    }

    private static ProviderOffer offer(NodeKeyPair key, DeviceInfo device) {
        return ProviderOffer.sign(key, new OfferTerms("depin://127.0.0.1:1", List.of(device), new Region("US", ""),
                Set.of("saxpy", "sgemm", "reduce-sum"), new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01")),
                MicroUsd.ofUsd("100"), Instant.now().plus(Duration.ofMinutes(5))));
    }

    private static RenewRequest renewal(ProviderOffer offer, String address, int junkBytes) {
        Listing.Builder l = Listing.newBuilder().setOfferJson(ByteString.copyFrom(offer.toJson())).setAddress(address);
        if (junkBytes > 0) {
            l.setUnknownFields(UnknownFieldSet.newBuilder().addField(99, UnknownFieldSet.Field.newBuilder()
                    .addLengthDelimited(ByteString.copyFrom(new byte[junkBytes])).build()).build());
        }
        return RenewRequest.newBuilder().setListing(l).build();
    }

    /** A stranger's channel to the directory, with its own key. */
    private static ManagedChannel channel(DirectoryServer dir, NodeKeyPair key) {
        return NettyChannelBuilder.forTarget(dir.address())
                .sslContext(NodeTls.client(NodeTls.identity(key), dir.publicKey())).build();
    }

    private static Status.Code refusal(ManagedChannel ch, RenewRequest r) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).renew(r));
        return e.getStatus().getCode();
    }

    @Test
    void flood_unknownFieldsDroppedBoundsHeldHonestQueriesAnswered() throws Exception {
        DeviceInfo device = device();
        NodeKeyPair honestKey = NodeKeyPair.generate();
        // Every listing answered (all come from 127.0.0.1), so that each is checked for its unknown field.
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).maxListings(MAX_LISTINGS)
                .maxTotalBytes(MAX_TOTAL_BYTES).maxAnswerListingsPerHost(MAX_LISTINGS).start();
             ProviderServer honest = ProviderServer.builder(ProviderNode.builder(honestKey, new CpuExecutor(1)).build(),
                     honestKey).directory(dir.address(), dir.publicKey()).renewEvery(Duration.ofHours(1)).start();
             GrpcNetwork buyer = GrpcNetwork.builder().directory(dir.address(), dir.publicKey())
                     .offerCache(Duration.ZERO).build()) {
            honest.renewNow();
            List<ManagedChannel> channels = new ArrayList<>();
            int accepted = 0;
            int refusedFull = 0;
            try {
                for (int i = 0; i < 45; i++) {
                    NodeKeyPair k = NodeKeyPair.generate();
                    ManagedChannel ch = channel(dir, k);
                    channels.add(ch);
                    ProviderOffer o = offer(k, device);
                    if (i % 3 == 0) {
                        // 4 MiB (or 64 KiB) of unknown field: refused by the transport's inbound limit.
                        assertEquals(Status.Code.RESOURCE_EXHAUSTED, refusal(ch, renewal(o, "127.0.0.1:1",
                                i < 9 ? 4 << 20 : 64 << 10)));
                    } else if (i % 3 == 1) {
                        // 16 KiB of unknown field: past the listing bound, refused with its size.
                        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                                .newBlockingStub(ch).renew(renewal(o, "127.0.0.1:1", 16 << 10)));
                        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
                        assertTrue(e.getStatus().getDescription().contains("this directory takes at most 16384 per "
                                + "listing"), e.getStatus().toString());
                    } else {
                        // 4 KiB of unknown field: listed, but stored without it.
                        try {
                            DirectoryGrpc.newBlockingStub(ch).renew(renewal(o, "127.0.0.1:1", 4 << 10));
                            accepted++;
                        } catch (StatusRuntimeException e) {
                            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
                            assertTrue(e.getStatus().getDescription().contains("listings, its maximum"),
                                    e.getStatus().toString());
                            refusedFull++;
                        }
                    }
                    // The honest buyer's query keeps answering, with the honest provider in it.
                    List<ProviderOffer> seen = buyer.offers(new OfferQuery("saxpy", Requirements.ANY, 1000))
                            .get(10, TimeUnit.SECONDS);
                    assertTrue(seen.stream().anyMatch(x -> x.nodeId().equals(honestKey.nodeId())),
                            "the honest provider vanished from answers after " + i + " strangers");
                    assertTrue(dir.size() <= MAX_LISTINGS && dir.storedBytes() <= MAX_TOTAL_BYTES,
                            dir.size() + " listings, " + dir.storedBytes() + " bytes");
                }
                assertEquals(MAX_LISTINGS - 1, accepted, "listings up to the bound, the honest one included");
                assertEquals(15 - accepted, refusedFull);
                DirectoryAnswer all = DirectoryGrpc.newBlockingStub(channels.get(0)).query(DirectoryQuery.newBuilder()
                        .setKernelId("saxpy").setLimit(1000).build());
                assertEquals(MAX_LISTINGS, all.getListingsCount());
                for (Listing l : all.getListingsList()) {
                    assertTrue(l.getUnknownFields().asMap().isEmpty(), "an unknown field was stored and served");
                    assertTrue(l.getSerializedSize() < 4 << 10, "listing of " + l.getSerializedSize() + " bytes");
                }
            } finally {
                channels.forEach(ManagedChannel::shutdownNow);
            }
        }
    }

    @Test
    void oversizedRenewals_refusedWithoutALogRecordEachAndTheLargestTakenStillListed() throws Exception {
        DeviceInfo device = device();
        List<java.util.logging.LogRecord> logged = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger grpcLog = java.util.logging.Logger.getLogger("io.grpc.netty");
        grpcLog.addHandler(capture);
        NodeKeyPair k = NodeKeyPair.generate();
        ProviderOffer o = offer(k, device);
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            ManagedChannel ch = channel(dir, k);
            try {
                long before = dev.depin.grpc.internal.RefusedMessageLog.dropped();
                for (int i = 0; i < 5; i++) {
                    RenewRequest r = renewal(o, "127.0.0.1:1", 4 << 20);
                    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                            () -> DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).renew(r));
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
                    assertEquals("gRPC message exceeds maximum size 20480: " + (r.getSerializedSize()),
                            e.getStatus().getDescription());
                }
                assertTrue(dev.depin.grpc.internal.RefusedMessageLog.dropped() >= before + 5);
                assertEquals(List.of(), logged.stream().filter(r -> r.getThrown() != null).map(
                        java.util.logging.LogRecord::getMessage).toList(), "gRPC logged the refused messages");
                // The largest renewal the directory takes (16 KiB, 12 KiB of it unknown field)
                // passes its inbound window in one piece: listed, stored without the field.
                RenewRequest largest = renewal(o, "127.0.0.1:1", 12 << 10);
                assertTrue(largest.getListing().getSerializedSize() <= 16 << 10);
                DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).renew(largest);
                assertEquals(1, dir.size());
                assertTrue(dir.storedBytes() < 4 << 10, dir.storedBytes() + " bytes stored");
            } finally {
                ch.shutdownNow();
                grpcLog.removeHandler(capture);
            }
        }
    }

    /**
     * A renewal past the inbound limit is refused from its 5-byte length prefix with trailers and
     * no reset, so gRPC's client keeps that stream open with the rest of its message queued
     * behind the directory's 64 KiB window (this kept {@code AttackRun}'s flood at 35 of the
     * 200 renewals/s asked, and its 100 threads' direct memory growing past 2 GiB). A stranger
     * holding such half-open streams, up to its connection's 64, stalls only that connection:
     * honest queries keep answering and an honest renewal is listed. A stranger that resets each
     * refused stream (as the flood now does) is refused at once every time, with the same
     * status, far past 64 on one connection.
     */
    @Test
    void oversizedRenewals_halfOpenStreamsStallOnlyTheStrangerAndAResettingOneIsRefusedEveryTime()
            throws Exception {
        DeviceInfo device = device();
        NodeKeyPair honestKey = NodeKeyPair.generate();
        NodeKeyPair holder = NodeKeyPair.generate();
        NodeKeyPair resetter = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            ManagedChannel honest = channel(dir, honestKey);
            ManagedChannel holding = channel(dir, holder);
            ManagedChannel resetting = NettyChannelBuilder.forTarget(dir.address())
                    .sslContext(NodeTls.client(NodeTls.identity(resetter), dir.publicKey())).disableRetry().build();
            try {
                RenewRequest big = renewal(offer(holder, device), "127.0.0.1:1", 4 << 20);
                String refused = "gRPC message exceeds maximum size 20480: " + big.getSerializedSize();
                for (int i = 0; i < 64; i++) {
                    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                            .newBlockingStub(holding).withDeadlineAfter(10, TimeUnit.SECONDS).renew(big));
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), i + ": " + e.getStatus());
                    assertEquals(refused, e.getStatus().getDescription());
                }
                DirectoryGrpc.newBlockingStub(honest).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .renew(renewal(offer(honestKey, device), "127.0.0.1:7000", 0));
                assertEquals(1, DirectoryGrpc.newBlockingStub(honest).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .query(DirectoryQuery.newBuilder().setKernelId("saxpy").setLimit(1000).build())
                        .getListingsCount());
                RenewRequest big2 = renewal(offer(resetter, device), "127.0.0.1:1", 4 << 20);
                for (int i = 0; i < 100; i++) {
                    io.grpc.ClientCall<RenewRequest, dev.depin.grpc.internal.wire.RenewReply> call = resetting.newCall(
                            DirectoryGrpc.getRenewMethod(), io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10,
                                    TimeUnit.SECONDS));
                    java.util.concurrent.CompletableFuture<Status> closed = new java.util.concurrent.CompletableFuture<>();
                    call.start(new io.grpc.ClientCall.Listener<>() {
                        @Override
                        public void onClose(Status status, io.grpc.Metadata trailers) {
                            closed.complete(status);
                        }
                    }, new io.grpc.Metadata());
                    call.request(1);
                    call.sendMessage(big2);
                    call.halfClose();
                    Status st = closed.get(20, TimeUnit.SECONDS);
                    call.cancel("reset after the refusal", null);
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), i + ": " + st);
                    assertEquals(refused, st.getDescription());
                }
                DirectoryGrpc.newBlockingStub(honest).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .renew(renewal(offer(honestKey, device), "127.0.0.1:7000", 0));
                assertEquals(1, dir.size());
            } finally {
                honest.shutdownNow();
                holding.shutdownNow();
                resetting.shutdownNow();
            }
        }
    }

    @Test
    void renew_anotherNodesOfferWithABadSignature_refusedForThePeerBeforeTheSignature() throws Exception {
        DeviceInfo device = device();
        NodeKeyPair victim = NodeKeyPair.generate();
        NodeKeyPair stranger = NodeKeyPair.generate();
        byte[] json = offer(victim, device).toJson();
        String text = new String(json, java.nio.charset.StandardCharsets.UTF_8);
        // The victim's offer with a price the victim never signed: its signature no longer holds.
        String forged = text.replace("\"stakeMicroUsd\":100000000", "\"stakeMicroUsd\":100000001");
        assertTrue(!forged.equals(text), text);
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            ManagedChannel strangerCh = channel(dir, stranger);
            ManagedChannel victimCh = channel(dir, victim);
            try {
                RenewRequest r = RenewRequest.newBuilder().setListing(Listing.newBuilder().setOfferJson(
                        ByteString.copyFromUtf8(forged)).setAddress("127.0.0.1:1")).build();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> DirectoryGrpc.newBlockingStub(strangerCh).renew(r));
                assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
                assertEquals("only provider " + victim.nodeId().shortId() + " itself may list its offer",
                        e.getStatus().getDescription());
                // From the victim itself the same bytes reach the signature check and fail it.
                StatusRuntimeException v = assertThrows(StatusRuntimeException.class,
                        () -> DirectoryGrpc.newBlockingStub(victimCh).renew(r));
                assertEquals(Status.Code.INVALID_ARGUMENT, v.getStatus().getCode(), v.getStatus().toString());
                assertTrue(v.getStatus().getDescription().startsWith("listing refused: "), v.getStatus().toString());
                // and its own offer is listed.
                DirectoryGrpc.newBlockingStub(victimCh).renew(renewal(offer(victim, device), "127.0.0.1:1", 0));
                assertEquals(1, dir.size());
            } finally {
                strangerCh.shutdownNow();
                victimCh.shutdownNow();
            }
        }
    }

    @Test
    void renew_addressesNoBuyerShouldDial_refused() throws Exception {
        DeviceInfo device = device();
        NodeKeyPair k = NodeKeyPair.generate();
        ProviderOffer o = offer(k, device);
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             DirectoryServer strict = DirectoryServer.builder(NodeKeyPair.generate())
                     .addressPolicy(ListingAddressPolicy.PEER_ADDRESS).start()) {
            ManagedChannel ch = channel(dir, k);
            ManagedChannel chStrict = channel(strict, k);
            try {
                for (String bad : List.of("0.0.0.0:7000", "[::]:7000", "224.0.0.1:7000", "255.255.255.255:7000",
                        "evil host:7000", "a..b:7000", "-a.example:7000", "[zz]:7000", "1.2.3:7000", "h:0",
                        "h:65536", "300.1.1.1:7000")) {
                    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                            () -> DirectoryGrpc.newBlockingStub(ch).renew(renewal(o, bad, 0)), bad);
                    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), bad);
                    assertTrue(e.getStatus().getDescription().startsWith("listing refused: address '"),
                            e.getStatus().toString());
                }
                for (String good : List.of("127.0.0.1:7000", "node-1.example.org:7000", "[::1]:7000")) {
                    DirectoryGrpc.newBlockingStub(ch).renew(renewal(o, good, 0));
                }
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> DirectoryGrpc.newBlockingStub(chStrict).renew(renewal(o, "10.1.2.3:7000", 0)));
                assertEquals("listing refused: address '10.1.2.3:7000': this directory lists only the address a "
                        + "renewal comes from (127.0.0.1): list that IP address", e.getStatus().getDescription());
                DirectoryGrpc.newBlockingStub(chStrict).renew(renewal(o, "127.0.0.1:7000", 0));
                assertEquals(1, strict.size());
            } finally {
                ch.shutdownNow();
                chStrict.shutdownNow();
            }
        }
    }
}
