package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.bytes;
import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.node;
import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import dev.depin.client.DepinClient;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.job.JobResult;
import dev.depin.job.Requirements;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Held data read from a provider listed at several addresses, one of them dead (a port nobody
 * listens on): the fetch goes to the provider's route first, is refused there (UNAVAILABLE) and
 * reads the chunks from its next listed address within the one fetch deadline; a provider
 * reachable at none of its addresses fails with a message naming each.
 */
class HeldFetchFailoverTest {
    private static final long SEED = 0xFA110FL;

    @Test
    void fetch_routeDeadAnotherAddressListed_readFromTheNextAddress() throws Exception {
        System.out.println("HeldFetchFailoverTest seed 0x" + Long.toHexString(SEED));
        SplittableRandom random = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = node(key, InputCache.Limits.of(64L << 20, 64));
        String dead = "127.0.0.1:" + deadPort();
        try (DirectoryServer first = DirectoryServer.builder(NodeKeyPair.generate()).start();
             DirectoryServer second = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer server = serve(node, key, second);
             GrpcNetwork net = GrpcNetwork.builder().directory(first.address(), first.publicKey())
                     .directory(second.address(), second.publicKey()).identity(NodeKeyPair.generate())
                     .offerCache(Duration.ZERO).keepOutputsOnProviders(true).build();
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            // The same terms valid a minute longer, listed at the dead address: the buyer believes
            // the offer valid longest, so the dead address becomes the provider's route.
            listAt(first, key, later(key, node.offer()), dead);
            JobResult r = client.submit(CacheFixtures.saxpy(floats(random, 3001), floats(random, 3001), 50_000))
                    .result();
            BufferDigest d = OutputFetchOverGrpcTest.out(r);
            byte[] returned = bytes(r.outputs().get("out"));
            for (int round = 0; round < 2; round++) {
                // A fresh query puts the provider's route back on the dead address each round.
                List<ProviderOffer> offers = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                        .get(10, TimeUnit.SECONDS);
                assertEquals(1, offers.size());
                assertEquals(java.util.HexFormat.of().formatHex(returned), java.util.HexFormat.of().formatHex(
                        OutputFetchOverGrpcTest.fetchAll(net, key.nodeId(), d, 4096)), "round " + round);
            }
        }
    }

    @Test
    void fetch_everyListedAddressDead_failsNamingEach() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = node(key, InputCache.Limits.of(1L << 20, 4));
        String deadA = "127.0.0.1:" + deadPort();
        String deadB = "127.0.0.1:" + deadPort();
        try (DirectoryServer first = DirectoryServer.builder(NodeKeyPair.generate()).start();
             DirectoryServer second = DirectoryServer.builder(NodeKeyPair.generate()).start();
             GrpcNetwork net = GrpcNetwork.builder().directory(first.address(), first.publicKey())
                     .directory(second.address(), second.publicKey()).identity(NodeKeyPair.generate())
                     .offerCache(Duration.ZERO).keepOutputsOnProviders(true).build()) {
            ProviderOffer offer = node.offer();
            listAt(first, key, offer, deadA);
            listAt(second, key, offer, deadB);
            assertEquals(1, net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS).size());
            ExecutionException e = assertThrows(ExecutionException.class, () -> net.fetch(key.nodeId(), "ab".repeat(32),
                    4096, 4096, List.of(0)).get(60, TimeUnit.SECONDS));
            NetworkException n = assertInstanceOf(NetworkException.class, e.getCause());
            assertEquals(true, n.getMessage().startsWith("provider not reached at any of its 2 listed addresses ("
                    + deadA + ": "), n.getMessage());
            assertEquals(true, n.getMessage().contains("; " + deadB + ": "), n.getMessage());
        } finally {
            node.close();
        }
    }

    /** A loopback port that was free a moment ago and that nobody listens on. */
    private static int deadPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static ProviderOffer later(NodeKeyPair key, ProviderOffer o) {
        OfferTerms t = o.terms();
        return ProviderOffer.sign(key, new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(), t.price(),
                t.stake(), t.validUntil().plusSeconds(60), t.sla(), t.inputCacheBytes(), t.limits(), t.hold()));
    }

    /** Lists {@code offer} in {@code dir} at {@code address}, as its provider (a provider may list any address). */
    private static void listAt(DirectoryServer dir, NodeKeyPair key, ProviderOffer offer, String address) {
        ManagedChannel ch = NettyChannelBuilder.forTarget(dir.address())
                .sslContext(NodeTls.client(NodeTls.identity(key), dir.publicKey())).build();
        try {
            DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).renew(RenewRequest.newBuilder()
                    .setListing(Listing.newBuilder().setOfferJson(ByteString.copyFrom(offer.toJson()))
                            .setAddress(address)).build());
        } finally {
            ch.shutdownNow();
        }
    }
}
