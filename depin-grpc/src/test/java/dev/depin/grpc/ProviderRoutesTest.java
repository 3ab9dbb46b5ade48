package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryAnswer;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.job.Requirements;
import dev.depin.network.NetworkException;
import dev.depin.network.OutputGoneException;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a buyer remembers of where providers serve, against directories that would make it
 * remember too much or the wrong thing: the table is bounded (the least recently used provider
 * is forgotten, and a job for it is told to refresh the offers), and an unpinned directory that
 * pairs a provider's genuine signed offer with another host cannot steer the buyer away from the
 * address a pinned directory lists.
 */
class ProviderRoutesTest {
    private static final OfferQuery SAXPY = new OfferQuery("saxpy", Requirements.ANY, 100);
    private static final String ROOT = "ab".repeat(32);

    private static ProviderServer provider(NodeKeyPair key, DirectoryServer dir) {
        return provider(key, "US/nyc-1", dir);
    }

    private static ProviderServer provider(NodeKeyPair key, String region, DirectoryServer dir) {
        ProviderServer s = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1))
                        .region(Region.parse(region)).build(), key)
                .renewEvery(Duration.ofHours(1)).directory(dir.address(), dir.publicKey()).start();
        s.renewNow();
        return s;
    }

    /** How a read of held data on {@code node} ends: which exception, through this network's route to it. */
    private static Throwable fetchFails(GrpcNetwork net, NodeId node) {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> net.fetch(node, ROOT, 4096, 4096, List.of(0)).get(30, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void pastMaxProviders_theLeastRecentlyUsedIsForgotten_andAReadOnItSaysRefresh() throws Exception {
        NodeKeyPair de = NodeKeyPair.generate();
        OfferQuery inDe = new OfferQuery("saxpy", Requirements.builder().regions(Region.parse("DE")).build(), 100);
        OfferQuery inUs = new OfferQuery("saxpy", Requirements.builder().regions(Region.parse("US")).build(), 100);
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer a = provider(de, "DE/fra-1", dir);
             ProviderServer b = provider(NodeKeyPair.generate(), dir);
             ProviderServer c = provider(NodeKeyPair.generate(), dir);
             GrpcNetwork net = GrpcNetwork.builder().directory(dir.address(), dir.publicKey())
                     .offerCache(Duration.ofHours(1)).maxProviders(2).build()) {
            assertEquals(List.of(de.nodeId()), ids(net.offers(inDe).get(10, TimeUnit.SECONDS)));
            assertInstanceOf(OutputGoneException.class, fetchFails(net, de.nodeId()),
                    "a listed provider is reached: it answers that it holds no such output");

            List<ProviderOffer> us = net.offers(inUs).get(10, TimeUnit.SECONDS);
            assertEquals(2, us.size(), "the answer itself is not cut by the bound: " + us);
            Throwable forgotten = fetchFails(net, de.nodeId());
            assertInstanceOf(NetworkException.class, forgotten);
            assertEquals("no directory lists provider " + de.nodeId().shortId() + ": refresh the offers",
                    forgotten.getMessage());
            assertInstanceOf(OutputGoneException.class, fetchFails(net, us.get(1).nodeId()));
            assertInstanceOf(OutputGoneException.class, fetchFails(net, us.get(0).nodeId()));

            // the same query answered from the cache puts its routes back (every offer an answer
            // returns can be used); the least recently used, us[1], makes room
            assertEquals(List.of(de.nodeId()), ids(net.offers(inDe).get(10, TimeUnit.SECONDS)));
            assertInstanceOf(OutputGoneException.class, fetchFails(net, de.nodeId()));
            assertInstanceOf(OutputGoneException.class, fetchFails(net, us.get(0).nodeId()));
            assertEquals("no directory lists provider " + us.get(1).nodeId().shortId() + ": refresh the offers",
                    fetchFails(net, us.get(1).nodeId()).getMessage());
        }
    }

    @Test
    void maxProviders_outOfRange_isRefusedWithTheRange() {
        for (int bad : new int[] {0, -1, 1_000_001}) {
            assertEquals("remembering " + bad + " providers: give 1 to 1000000",
                    assertThrows(InvalidArgumentException.class, () -> GrpcNetwork.builder().maxProviders(bad))
                            .getMessage());
        }
    }

    /**
     * A directory no one pinned, asked first, answers with the honest provider's own signed offer
     * (which it may have read from any directory) at a port where nothing listens.
     */
    @Test
    void anUnpinnedDirectory_cannotSteerABuyerAwayFromThePinnedDirectorysAddress() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        try (DirectoryServer honest = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer p = provider(key, honest)) {
            List<Listing> genuine;
            try (GrpcNetwork look = GrpcNetwork.builder().directory(honest.address(), honest.publicKey()).build()) {
                ProviderOffer offer = look.offers(SAXPY).get(10, TimeUnit.SECONDS).get(0);
                genuine = List.of(Listing.newBuilder().setOfferJson(ByteString.copyFrom(offer.toJson()))
                        .setAddress("127.0.0.1:1").build());
            }
            Server steering = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .sslContext(NodeTls.server(NodeTls.identity(NodeKeyPair.generate())))
                    .addService(new DirectoryGrpc.DirectoryImplBase() {
                        @Override
                        public void query(DirectoryQuery request, StreamObserver<DirectoryAnswer> answer) {
                            answer.onNext(DirectoryAnswer.newBuilder().addAllListings(genuine).build());
                            answer.onCompleted();
                        }
                    }).build().start();
            try (GrpcNetwork net = GrpcNetwork.builder().directory("127.0.0.1:" + steering.getPort())
                    .directory(honest.address(), honest.publicKey()).offerCache(Duration.ZERO).build()) {
                List<ProviderOffer> offers = net.offers(SAXPY).get(10, TimeUnit.SECONDS);
                assertEquals(List.of(key.nodeId()), ids(offers));
                assertInstanceOf(OutputGoneException.class, fetchFails(net, key.nodeId()),
                        "the read went to the provider at the pinned directory's address");
            } finally {
                steering.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Only unpinned directories. The first asked pairs the provider's genuine signed offer with
     * its own address, where another key answers (the pin fails there) or nothing listens; the
     * second lists the provider where it serves. A job's first attempt tries the first address,
     * is refused by the pin before anything is sent, and runs at the second; that address is then
     * the provider's route.
     */
    @ParameterizedTest(name = "wrong address: {0}")
    @ValueSource(strings = {"another key", "nothing listening"})
    void onlyUnpinnedDirectories_aWrongFirstAddress_theJobRunsAtTheOtherListedOne(String wrong) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        try (DirectoryServer honest = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer p = provider(key, honest)) {
            ProviderOffer offer;
            try (GrpcNetwork look = GrpcNetwork.builder().directory(honest.address(), honest.publicKey()).build()) {
                offer = look.offers(SAXPY).get(10, TimeUnit.SECONDS).get(0);
            }
            java.util.concurrent.atomic.AtomicReference<String> at = new java.util.concurrent.atomic.AtomicReference<>();
            Server steering = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .sslContext(NodeTls.server(NodeTls.identity(NodeKeyPair.generate())))
                    .addService(new DirectoryGrpc.DirectoryImplBase() {
                        @Override
                        public void query(DirectoryQuery request, StreamObserver<DirectoryAnswer> answer) {
                            answer.onNext(DirectoryAnswer.newBuilder().addListings(Listing.newBuilder()
                                    .setOfferJson(ByteString.copyFrom(offer.toJson())).setAddress(at.get())).build());
                            answer.onCompleted();
                        }
                    }).build().start();
            at.set(wrong.equals("another key") ? "127.0.0.1:" + steering.getPort() : "127.0.0.1:1");
            try (GrpcNetwork net = GrpcNetwork.builder().directory("127.0.0.1:" + steering.getPort())
                    .directory(honest.address()).offerCache(Duration.ZERO).dispatchRetry(0, Duration.ofMillis(1))
                    .build();
                 dev.depin.client.DepinClient client = dev.depin.client.DepinClient.builder(net).maxAttempts(1)
                         .build()) {
                assertEquals(List.of(key.nodeId()), ids(net.offers(SAXPY).get(10, TimeUnit.SECONDS)));
                assertInstanceOf(NetworkException.class, fetchFails(net, key.nodeId()),
                        "the first directory's address is the route: a read (which does not fail over) fails");
                for (int i = 0; i < 2; i++) {
                    dev.depin.job.JobResult r = client.submit(dev.depin.job.Job.builder(
                            dev.depin.kernel.BuiltinKernel.SAXPY).param("n", 3).param("alpha", 2)
                            .input("x", new float[] {1, 2, 3}).input("y", new float[] {1, 1, 1})
                            .timeout(Duration.ofSeconds(30)).build()).result(Duration.ofSeconds(60));
                    assertEquals(key.nodeId(), r.provider());
                    assertEquals(1, r.attempt(), "one attempt, at the second address");
                    org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {3, 5, 7}, r.floats("out"));
                }
                assertInstanceOf(OutputGoneException.class, fetchFails(net, key.nodeId()),
                        "the address that worked is now the provider's route");
            } finally {
                steering.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static List<NodeId> ids(List<ProviderOffer> offers) {
        List<NodeId> ids = new ArrayList<>();
        offers.forEach(o -> ids.add(o.nodeId()));
        return ids;
    }
}
