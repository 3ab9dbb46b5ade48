package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The directory's listing policy against a flood of fresh keys, with raw stubs and self-made
 * keys (no {@code GrpcNetwork}): one address lists at most its share of keys (16 by default),
 * and a query's answer lists the providers that have kept their listing alive longest first,
 * at most 8 from one address and at most {@code maxAnswerListings} in all, so strangers' keys
 * neither crowd out an established provider nor make every honest query read all of them.
 */
class DirectoryAnswerPolicyTest {
    private static final long SEED = 0xD1AEC7L;
    private static final String STRANGERS = "127.0.0.2";
    private static final String HONEST = "127.0.0.1";

    @Test
    void floodOfFreshKeys_defaultsBoundListingsPerAddressAndAnswerListsTheEstablishedFirst() throws Exception {
        System.out.println("DirectoryAnswerPolicyTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        DeviceInfo device = device();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            Peer honest = new Peer(dir, HONEST, device);
            List<Peer> strangers = new ArrayList<>();
            try {
                honest.renew();
                // 100 strangers from one address, each its own key, in a seeded order.
                for (int i = 0; i < 100; i++) {
                    strangers.add(new Peer(dir, STRANGERS, device));
                }
                Collections.shuffle(strangers, new java.util.Random(rnd.nextLong()));
                List<Peer> listed = new ArrayList<>();
                for (Peer p : strangers) {
                    if (listed.size() < 16) {
                        p.renew();
                        listed.add(p);
                        continue;
                    }
                    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, p::renew);
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
                    assertEquals("directory holds 16 listings renewed from " + STRANGERS + ", its maximum per address: "
                            + "renew an existing listing, or list from another address", e.getStatus().getDescription());
                }
                assertEquals(17, dir.size());
                // Every listed stranger renews again (still no lapse): the order stays the order of
                // first listing, the honest provider first, and only 8 strangers are answered.
                Collections.reverse(listed);
                for (Peer p : listed) {
                    p.renew();
                }
                Collections.reverse(listed);
                List<String> expected = new ArrayList<>();
                expected.add(honest.id());
                listed.subList(0, 8).forEach(p -> expected.add(p.id()));
                assertEquals(expected, honest.query(1000));
                // A query's own limit still applies below the answer's bound.
                assertEquals(expected.subList(0, 3), honest.query(3));
            } finally {
                honest.close();
                strangers.forEach(Peer::close);
            }
        }
    }

    @Test
    void lapsedListing_comesBackLastAndAnswerBoundHolds() throws Exception {
        DeviceInfo device = device();
        MutableClock clock = new MutableClock(Instant.now());
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).clock(clock)
                .listingTtl(Duration.ofSeconds(30)).maxAnswerListings(3).maxAnswerListingsPerHost(2).start()) {
            List<Peer> peers = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    peers.add(new Peer(dir, HONEST, device));
                    peers.add(new Peer(dir, STRANGERS, device));
                }
                for (Peer p : peers) {
                    p.renew();
                }
                // Listed 127.0.0.1 a, .2 b, .1 c, .2 d, .1 e, .2 f: two per address, three in all.
                assertEquals(List.of(peers.get(0).id(), peers.get(1).id(), peers.get(2).id()), peers.get(0).query(1000));
                // a lapses (35 s without a renewal, the others renewed at 20 s) and comes back: last.
                clock.advance(Duration.ofSeconds(20));
                for (Peer p : peers.subList(1, 6)) {
                    p.renew();
                }
                clock.advance(Duration.ofSeconds(15));
                peers.get(0).renew();
                assertEquals(List.of(peers.get(1).id(), peers.get(2).id(), peers.get(3).id()), peers.get(0).query(1000));
            } finally {
                peers.forEach(Peer::close);
            }
        }
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).clock(clock)
                .maxAnswerListings(5).maxAnswerListingsPerHost(4).start()) {
            List<Peer> peers = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    peers.add(new Peer(dir, i < 3 ? HONEST : STRANGERS, device));
                    peers.get(i).renew();
                }
                // Three from .1, then two of .2's three: five in all, oldest first.
                assertEquals(peers.subList(0, 5).stream().map(Peer::id).toList(), peers.get(0).query(1000));
            } finally {
                peers.forEach(Peer::close);
            }
        }
    }

    @Test
    void builders_answerLimitsOutOfRange_refusedWithWhatToDo() {
        DirectoryServer.Builder b = DirectoryServer.builder(NodeKeyPair.generate());
        assertEquals("maximum listings per answer 0 must be 1 to 100000",
                assertThrows(InvalidArgumentException.class, () -> b.maxAnswerListings(0)).getMessage());
        assertEquals("maximum listings per answer 100001 must be 1 to 100000",
                assertThrows(InvalidArgumentException.class, () -> b.maxAnswerListings(100_001)).getMessage());
        assertEquals("maximum listings per address in one answer 0 must be positive; raise it for providers behind "
                        + "one NAT, lower it to bound what one machine puts in an answer",
                assertThrows(InvalidArgumentException.class, () -> b.maxAnswerListingsPerHost(0)).getMessage());
    }

    private static DeviceInfo device() {
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            return cpu.device();
        }
    }

    /** A provider's key renewing its own listing from one local address over raw stubs. */
    private static final class Peer implements AutoCloseable {
        private final NodeKeyPair key = NodeKeyPair.generate();
        private final ManagedChannel channel;
        private final DeviceInfo device;
        private final String from;

        Peer(DirectoryServer dir, String from, DeviceInfo device) {
            this.from = from;
            this.device = device;
            this.channel = Hostile.from(NettyChannelBuilder.forTarget(dir.address()), from)
                    .sslContext(NodeTls.client(NodeTls.identity(key), dir.publicKey())).build();
        }

        String id() {
            return key.nodeId().hex();
        }

        void renew() {
            ProviderOffer offer = ProviderOffer.sign(key, new OfferTerms("depin://" + from + ":1", List.of(device),
                    new Region("US", ""), Set.of("saxpy"), new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01")),
                    MicroUsd.ofUsd("100"), Instant.now().plus(Duration.ofHours(1))));
            DirectoryGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).renew(RenewRequest.newBuilder()
                    .setListing(Listing.newBuilder().setOfferJson(ByteString.copyFrom(offer.toJson()))
                            .setAddress(from + ":1")).build());
        }

        /** @return the node ids the directory answers, in its order */
        List<String> query(int limit) {
            DirectoryAnswer a = DirectoryGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .query(DirectoryQuery.newBuilder().setKernelId("saxpy").setLimit(limit).build());
            List<String> ids = new ArrayList<>();
            for (Listing l : a.getListingsList()) {
                ids.add(ProviderOffer.fromJson(l.getOfferJson().toByteArray()).nodeId().hex());
            }
            return ids;
        }

        @Override
        public void close() {
            channel.shutdownNow();
        }
    }

    private static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
