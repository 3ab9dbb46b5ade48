package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.job.Job;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
 * Many self-made keys from one address: strangers connecting from 127.0.0.2 (loopback, but
 * another address than the honest buyers' 127.0.0.1), each key within its own per-key share,
 * together past the per-address one. The node refuses the address's next stream, byte or
 * Start with the exact reason while honest jobs from 127.0.0.1 keep succeeding; the directory
 * refuses the address's next listing before its signature while an honest provider still lists.
 */
class PerAddressAttackTest {
    private static final long SEED = 0xADD7E55L;
    private static final String STRANGERS = "127.0.0.2";
    private static final int STREAMS_PER_PEER = 8;
    private static final int STREAMS_PER_ADDRESS = 32;
    private static final long PER_PEER = 4L << 20;
    /**
     * The largest inputs the node's offer allows (reduce-sum: its job bytes, one peer's input
     * budget, less the 4-byte sum); a job declaring more is refused at Start for its size.
     */
    private static final int DECLARED = (int) PER_PEER - 4;
    private static final long PER_ADDRESS = 6L << 20;
    private static final int REFUSED_STARTS_PER_ADDRESS = 8;
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private DirectoryServer directory;
    private ProviderServer server;
    private GrpcNetwork net;
    private ProviderOffer offer;
    private final List<Hostile> strangers = new ArrayList<>();
    private final io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry();

    @BeforeEach
    void start() throws Exception {
        System.out.println("PerAddressAttackTest seed " + SEED);
        directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
        server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).jobLimits(1 << 20, PER_PEER)
                        .build(), providerKey)
                .maxInputBytes(16L << 20).maxInputBytesPerPeer(PER_PEER).maxStreamsPerPeer(STREAMS_PER_PEER)
                .maxStreamsPerAddress(STREAMS_PER_ADDRESS).maxInputBytesPerAddress(PER_ADDRESS)
                .maxRefusedStartsPerAddress(REFUSED_STARTS_PER_ADDRESS)
                // Long enough that the held streams are still open when the test looks: they are
                // cancelled by the test itself, not by a deadline.
                .receiveIdleTimeout(Duration.ofSeconds(60)).receiveTimeout(Duration.ofMinutes(2))
                .meterRegistry(meters).directory(directory.address()).start();
        server.renewNow();
        net = GrpcNetwork.connect(directory.address());
        offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS).get(0);
    }

    @AfterEach
    void stop() throws InterruptedException {
        strangers.forEach(Hostile::close);
        net.close();
        Hostile.awaitReleased(server);
        server.close();
        directory.close();
    }

    private Hostile stranger() {
        Hostile h = new Hostile(server.address(), providerKey.publicKey(), NodeKeyPair.generate(), STRANGERS);
        strangers.add(h);
        return h;
    }


    @Test
    void manyKeysFromOneAddress_streamPastTheAddressShareRefusedWhileHonestJobsSucceed() throws Exception {
        try (HonestLoad honest = new HonestLoad(net, offer, 2, SEED, 1000)) {
            honest.awaitOk(3);
            // 4 keys × 8 streams: each key at its own share, the address at its 32.
            List<Hostile.Stream> held = new ArrayList<>();
            for (int k = 0; k < STREAMS_PER_ADDRESS / STREAMS_PER_PEER; k++) {
                Hostile h = stranger();
                for (int i = 0; i < STREAMS_PER_PEER; i++) {
                    Hostile.Stream s = h.open(true);
                    s.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(k * 100 + i)));
                    held.add(s);
                }
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (server.maxHeldByOneAddress()[0] < STREAMS_PER_ADDRESS && System.nanoTime() < until) {
                Thread.sleep(2);
            }
            assertEquals(STREAMS_PER_ADDRESS, server.maxHeldByOneAddress()[0], "streams held from " + STRANGERS);
            // The 33rd stream, from a fifth key that holds nothing, is refused when it opens.
            Hostile.Stream extra = stranger().open(true);
            Status st = extra.await(10);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
            assertEquals("address " + STRANGERS + " has " + STREAMS_PER_ADDRESS + " Execute streams open over all its "
                    + "keys, this node's limit per address: finish or cancel some first", st.getDescription());
            // The operator sees it: one Execute call told RESOURCE_EXHAUSTED (the held ones are still open).
            assertEquals(1.0, meters.get("depin.node.calls").tag("method", "Execute")
                    .tag("status", "resource_exhausted").counter().count());
            honest.finishAfter(5);
            assertTrue(held.stream().noneMatch(s -> s.status.isDone()), "a held stream ended early");
            held.forEach(s -> s.requests.cancel("the stranger goes", null));
        }
    }

    @Test
    void manyKeysFromOneAddress_bytesPastTheAddressShareRefusedWithTheReason() throws Exception {
        byte[] chunk = new byte[256 << 10];
        Hostile a = stranger();
        Hostile.Stream sa = a.open(true);
        sa.send(Hostile.start(Hostile.declaring(DECLARED), Hostile.jobId(1)));
        for (int i = 0; i < 15; i++) {
            sa.send(Hostile.input("x", chunk, 0, chunk.length)); // 3.75 MiB: within its own 4 MiB
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (server.reservedInputBytes() < 15L * chunk.length && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertTrue(server.reservedInputBytes() >= 15L * chunk.length, "held " + server.reservedInputBytes()
                + "; stream a: " + sa.status);
        // Another key from the same address: within its own share, past the address's 6 MiB.
        Hostile.Stream sb = stranger().open(true);
        sb.send(Hostile.start(Hostile.declaring(DECLARED), Hostile.jobId(2)));
        for (int i = 0; i < 16 && !sb.status.isDone(); i++) {
            sb.send(Hostile.input("x", chunk, 0, chunk.length));
        }
        Status st = sb.await(10);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
        assertTrue(st.getDescription().startsWith("address " + STRANGERS + " holds ")
                && st.getDescription().endsWith(" more would pass this node's limit of " + PER_ADDRESS
                + " per address"), st.getDescription());
        assertTrue(server.maxHeldByOneAddress()[1] <= PER_ADDRESS, "address held " + server.maxHeldByOneAddress()[1]);
        // An honest job from 127.0.0.1 meanwhile: the address share is the strangers' only.
        try (HonestLoad honest = new HonestLoad(net, offer, 1, SEED + 3, 1000)) {
            honest.awaitOk(5);
            honest.close();
            assertEquals(List.of(), honest.failures);
            assertTrue(honest.ok.get() >= 5, "honest jobs: " + honest.ok.get());
        }
        sa.requests.cancel("the stranger goes", null);
    }

    @Test
    void freshKeyPerRefusedStart_addressRefusedAtOpeningWhileOthersSucceed() throws Exception {
        Job huge = Hostile.declaring(512 << 20);
        try (HonestLoad honest = new HonestLoad(net, offer, 1, SEED + 11, 1000)) {
            String refusal = "job " + Hostile.jobId(0) + " declares " + (512L << 20) + " input bytes; this node takes "
                    + "at most " + PER_PEER + " per peer (" + (16L << 20) + " in all)";
            // Each Start from a fresh key: no key comes near its own 32, the address reaches its 8.
            Hostile last = null;
            for (int i = 0; i < REFUSED_STARTS_PER_ADDRESS; i++) {
                last = stranger();
                Hostile.Stream s = last.open(true);
                s.send(Hostile.start(huge, Hostile.jobId(0)));
                Status st = s.await(10);
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
                assertEquals(refusal, st.getDescription(), "Start " + i);
            }
            // The address is refused whole: the last key's next stream, even for a job the node
            // takes, is refused when it opens (NodeRefusedAddressTest: new connections before TLS).
            Hostile.Stream s = last.open(true);
            s.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(1)));
            Status st = s.await(10);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
            String prefix = "address " + STRANGERS + " sent " + REFUSED_STARTS_PER_ADDRESS + " Start messages this node "
                    + "refused over all its keys (jobs it never takes, or malformed) within 10000 ms: its calls and "
                    + "connections are refused for ";
            assertTrue(st.getDescription().startsWith(prefix) && st.getDescription().endsWith(
                    " ms more; fix what was refused before sending again"), st.getDescription());
            Duration left = server.refusedFor(java.net.InetAddress.getByName(STRANGERS));
            assertTrue(!left.isZero() && left.compareTo(Duration.ofSeconds(30)) <= 0, left.toString());
            // A stranger from another address gets the ordinary refusal; honest jobs keep succeeding.
            try (Hostile other = new Hostile(server.address(), providerKey.publicKey(), NodeKeyPair.generate(),
                    "127.0.0.3")) {
                Hostile.Stream o = other.open(true);
                o.send(Hostile.start(huge, Hostile.jobId(0)));
                assertEquals(refusal, o.await(10).getDescription());
            }
            honest.finishAfter(5);
        }
    }

    @Test
    void manyKeysFromOneAddress_listingPastTheAddressShareRefusedBeforeItsSignature() throws Exception {
        DeviceInfo device;
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            device = cpu.device();
        }
        NodeKeyPair honestKey = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).maxListingsPerHost(3).start();
             GrpcNetwork buyer = GrpcNetwork.builder().directory(dir.address(), dir.publicKey())
                     .offerCache(Duration.ZERO).build()) {
            List<ManagedChannel> channels = new ArrayList<>();
            try {
                List<NodeKeyPair> keys = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    NodeKeyPair k = NodeKeyPair.generate();
                    keys.add(k);
                    channels.add(Hostile.from(NettyChannelBuilder.forTarget(dir.address()), STRANGERS)
                            .sslContext(NodeTls.client(NodeTls.identity(k), dir.publicKey())).build());
                }
                for (int i = 0; i < 3; i++) {
                    DirectoryGrpc.newBlockingStub(channels.get(i)).withDeadlineAfter(10, TimeUnit.SECONDS)
                            .renew(renewal(offer(keys.get(i), device, Instant.now().plus(Duration.ofMinutes(5)))));
                }
                // The fourth key's offer is signed and expired: refused for the address before the
                // signature is checked, so its verification (which would refuse it) never runs.
                RenewRequest expired = renewal(offer(keys.get(3), device, Instant.now().minusSeconds(60)));
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                        .newBlockingStub(channels.get(3)).withDeadlineAfter(10, TimeUnit.SECONDS).renew(expired));
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
                assertEquals("directory holds 3 listings renewed from " + STRANGERS + ", its maximum per address: "
                        + "renew an existing listing, or list from another address", e.getStatus().getDescription());
                // Refused before its offer is parsed: a listing whose offer is not even JSON gets the
                // address's refusal, not "malformed listing".
                RenewRequest junk = RenewRequest.newBuilder().setListing(expired.getListing().toBuilder()
                        .setOfferJson(com.google.protobuf.ByteString.copyFromUtf8("{not json"))).build();
                e = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc.newBlockingStub(channels.get(3))
                        .withDeadlineAfter(10, TimeUnit.SECONDS).renew(junk));
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
                assertEquals("directory holds 3 listings renewed from " + STRANGERS + ", its maximum per address: "
                        + "renew an existing listing, or list from another address", e.getStatus().getDescription());
                // A listed key from the full address still renews; an honest provider from 127.0.0.1 still lists.
                DirectoryGrpc.newBlockingStub(channels.get(0)).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .renew(renewal(offer(keys.get(0), device, Instant.now().plus(Duration.ofMinutes(5)))));
                try (ProviderServer honest = ProviderServer.builder(ProviderNode.builder(honestKey,
                        new CpuExecutor(1)).build(), honestKey).directory(dir.address(), dir.publicKey())
                        .renewEvery(Duration.ofHours(1)).start()) {
                    honest.renewNow();
                    assertEquals(4, dir.size());
                    assertTrue(buyer.offers(new OfferQuery("saxpy", Requirements.ANY, 100)).get(10, TimeUnit.SECONDS)
                            .stream().anyMatch(o -> o.nodeId().equals(honestKey.nodeId())), "honest provider listed");
                }
            } finally {
                channels.forEach(ManagedChannel::shutdownNow);
            }
        }
    }

    @Test
    void builders_perAddressLimitsOutOfRange_refusedWithWhatToDo() {
        ProviderServer.Builder b = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).build(),
                providerKey);
        assertEquals("maximum streams per address 0 must be 1 to 1048576; raise it for many buyers behind one NAT, "
                        + "lower it to bound one machine's share",
                assertThrows(InvalidArgumentException.class, () -> b.maxStreamsPerAddress(0)).getMessage());
        assertEquals("maximum input bytes per address -1 must be positive",
                assertThrows(InvalidArgumentException.class, () -> b.maxInputBytesPerAddress(-1)).getMessage());
        assertEquals("refused Starts per address 2097152 must be 1 to 1048576 and the time an address stays refused "
                + "PT30S 1 s to 1 h",
                assertThrows(InvalidArgumentException.class, () -> b.maxRefusedStartsPerAddress(1 << 21)).getMessage());
        assertEquals("maximum listings per address 0 must be positive; raise it for providers behind one NAT, lower it "
                        + "to bound one machine's listings",
                assertThrows(InvalidArgumentException.class,
                        () -> DirectoryServer.builder(NodeKeyPair.generate()).maxListingsPerHost(0)).getMessage());
    }

    private static ProviderOffer offer(NodeKeyPair key, DeviceInfo device, Instant validUntil) {
        return ProviderOffer.sign(key, new OfferTerms("depin://127.0.0.2:1", List.of(device), new Region("US", ""),
                Set.of("saxpy"), new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01")), MicroUsd.ofUsd("100"),
                validUntil));
    }

    private static RenewRequest renewal(ProviderOffer offer) {
        return RenewRequest.newBuilder().setListing(Listing.newBuilder()
                .setOfferJson(ByteString.copyFrom(offer.toJson())).setAddress("127.0.0.2:1")).build();
    }
}
