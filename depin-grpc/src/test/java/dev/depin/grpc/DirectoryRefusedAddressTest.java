package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
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
import dev.depin.settlement.SettlementContract.ManualClock;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An address whose renewals the directory keeps refusing is refused whole for a while
 * ({@link DirectoryServer.Builder#refusedRenewalsPerAddress}): a stranger with fresh keys from
 * 127.0.0.2 sends renewals the directory refuses; the one that reaches the maximum has the address
 * refused, its next call answered with the exact reason, its connections closed and new ones
 * closed before TLS, while honest providers and buyers from 127.0.0.1 go on as before. Time is
 * the directory's clock, moved by hand.
 */
class DirectoryRefusedAddressTest {
    private static final String STRANGERS = "127.0.0.2";
    private static final int MAX_REFUSED = 4;

    private static ProviderOffer offer(NodeKeyPair key, DeviceInfo device) {
        return ProviderOffer.sign(key, new OfferTerms("depin://127.0.0.1:1", List.of(device), new Region("US", ""),
                Set.of("saxpy"), new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01")), MicroUsd.ofUsd("100"),
                Instant.now().plus(Duration.ofMinutes(5))));
    }

    private static ManagedChannel stranger(DirectoryServer dir) {
        return Hostile.from(NettyChannelBuilder.forTarget(dir.address()), STRANGERS)
                .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), dir.publicKey())).build();
    }

    private static StatusRuntimeException renew(ManagedChannel ch, RenewRequest r) {
        return assertThrows(StatusRuntimeException.class,
                () -> DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).renew(r));
    }

    @Test
    void renew_refusedPastTheMaximumFromOneAddress_addressRefusedWholeOthersServedUntilItsTimeEnds()
            throws Exception {
        DeviceInfo device;
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            device = cpu.device();
        }
        ManualClock clock = new ManualClock(Instant.now());
        NodeKeyPair honestKey = NodeKeyPair.generate();
        InetAddress strangers = InetAddress.getByName(STRANGERS);
        // Another node's offer: each renewal refused PERMISSION_DENIED, for the peer, before its signature.
        RenewRequest foreign = RenewRequest.newBuilder().setListing(Listing.newBuilder()
                .setOfferJson(ByteString.copyFrom(offer(NodeKeyPair.generate(), device).toJson()))
                .setAddress("127.0.0.2:1")).build();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).clock(clock)
                .refusedRenewalsPerAddress(MAX_REFUSED, Duration.ofSeconds(30)).start();
             ProviderServer honest = ProviderServer.builder(ProviderNode.builder(honestKey, new CpuExecutor(1)).build(),
                     honestKey).directory(dir.address(), dir.publicKey()).renewEvery(Duration.ofHours(1)).start();
             GrpcNetwork buyer = GrpcNetwork.builder().directory(dir.address(), dir.publicKey())
                     .offerCache(Duration.ZERO).build()) {
            honest.renewNow();
            ManagedChannel one = stranger(dir);
            ManagedChannel other = stranger(dir);
            ManagedChannel late = stranger(dir);
            try {
                // MAX_REFUSED refusals over two keys of the address, each the directory's own answer.
                for (int i = 0; i < MAX_REFUSED; i++) {
                    StatusRuntimeException e = renew(i % 2 == 0 ? one : other, foreign);
                    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
                    if (i < MAX_REFUSED - 1) {
                        assertEquals(Duration.ZERO, dir.refusedFor(strangers), "after " + (i + 1) + " refusals");
                    }
                }
                // A refusal is counted as its stream closes on the directory, which may be just after
                // the stranger read it: wait for the count (no time is asserted).
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (dir.refusedFor(strangers).isZero() && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertEquals(Duration.ofSeconds(30), dir.refusedFor(strangers));
                assertEquals(Duration.ZERO, dir.refusedFor(InetAddress.getByName("127.0.0.1")));

                // Its next call, of any method, on a connection it has: refused before its message is read.
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc
                        .newBlockingStub(one).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .query(DirectoryQuery.newBuilder().setKernelId("saxpy").setLimit(10).build()));
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
                assertEquals("address 127.0.0.2 sent 4 renewals this directory refused (over all its keys) within "
                        + "10000 ms: its calls and connections are refused for 30000 ms more; fix what was refused "
                        + "before sending again", e.getStatus().getDescription());
                // A new key from it: its connection is closed before TLS.
                long before = dir.transportRefusals();
                e = renew(late, foreign);
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
                assertTrue(dir.transportRefusals() > before, "the refused connection is counted");

                // Honest peers from 127.0.0.1 are served as before.
                honest.renewNow();
                List<ProviderOffer> seen = buyer.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                        .get(10, TimeUnit.SECONDS);
                assertTrue(seen.stream().anyMatch(x -> x.nodeId().equals(honestKey.nodeId())), seen.toString());

                // Its time ends: the address is heard again, and gets the directory's own answer.
                clock.advance(Duration.ofSeconds(30));
                assertEquals(Duration.ZERO, dir.refusedFor(strangers));
                ManagedChannel again = stranger(dir);
                try {
                    e = renew(again, foreign);
                    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
                } finally {
                    again.shutdownNow();
                }
            } finally {
                one.shutdownNow();
                other.shutdownNow();
                late.shutdownNow();
            }
        }
    }

    @Test
    void refusedRenewalsPerAddress_outOfRange_refused() {
        DirectoryServer.Builder b = DirectoryServer.builder(NodeKeyPair.generate());
        assertEquals("refused renewals per address 0 must be 1 to 1000000 and the time an address stays refused PT30S "
                + "1 s to 1 h", assertThrows(InvalidArgumentException.class,
                        () -> b.refusedRenewalsPerAddress(0, Duration.ofSeconds(30))).getMessage());
        assertThrows(InvalidArgumentException.class, () -> b.refusedRenewalsPerAddress(1, Duration.ofMillis(999)));
        assertThrows(InvalidArgumentException.class, () -> b.refusedRenewalsPerAddress(1, Duration.ofMinutes(61)));
        assertThrows(InvalidArgumentException.class, () -> b.refusedRenewalsPerAddress(1, null));
        b.refusedRenewalsPerAddress(1_000_000, Duration.ofHours(1));
    }
}
