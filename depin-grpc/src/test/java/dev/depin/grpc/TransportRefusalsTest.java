package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.DirectoryQuery;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.ProviderNode;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the transport refuses before the server's code runs is counted where an operator
 * looks ({@code <prefix>.transport.refusals}, beside {@code <prefix>.calls}): streams past a
 * connection's MAX_CONCURRENT_STREAMS, opened by a raw HTTP/2 stranger (no gRPC client to
 * queue them), and renewals past the directory's inbound message limit. Honest calls and the
 * ordinary ends of streams are not counted.
 */
class TransportRefusalsTest {
    @Test
    void streamsPastMaxConcurrentStreams_countedAsRefusedStreamResets() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        NodeKeyPair key = NodeKeyPair.generate();
        try (ProviderServer server = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1)).build(), key)
                .maxStreamsPerConnection(2).receiveIdleTimeout(Duration.ofSeconds(60)).meterRegistry(meters).start();
             RawHttp2 raw = new RawHttp2(server.address(), key.publicKey(), NodeKeyPair.generate(), "127.0.0.2", true)) {
            assertEquals(2L, raw.serverMaxConcurrentStreams());
            List<Integer> held = List.of(raw.openExecute(), raw.openExecute());
            assertEquals(0, server.transportRefusals());
            for (int i = 0; i < 3; i++) {
                assertEquals("RST_STREAM REFUSED_STREAM", raw.awaitEnd(raw.openExecute(), 30));
            }
            assertFalse(raw.ended(held.get(0)) || raw.ended(held.get(1)), "a held stream was ended");
            assertEquals(3, server.transportRefusals());
            assertEquals(3.0, meters.get("depin.node.transport.refusals").tag("kind", "stream_reset")
                    .tag("error", "refused_stream").functionCounter().count());
            // A stream the stranger cancels itself (RST_STREAM CANCEL from its side) frees its slot:
            // the next stream is taken, and neither is a refusal.
            raw.cancel(held.get(0));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (server.openStreams() > 1 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            int next = raw.openExecute();
            Thread.sleep(500);
            assertFalse(raw.ended(next), "the stream after the cancelled one: " + (raw.ended(next)
                    ? raw.awaitEnd(next, 0) : ""));
            assertEquals(3, server.transportRefusals());
        }
    }

    @Test
    void renewalsPastTheInboundLimit_countedAsMessagesTooLarge() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        NodeKeyPair stranger = NodeKeyPair.generate();
        dev.depin.provider.DeviceInfo device;
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            device = cpu.device();
        }
        ProviderOffer offer = ProviderOffer.sign(stranger, new OfferTerms("depin://127.0.0.1:1", List.of(device),
                new Region("US", ""), Set.of("saxpy"), new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01")),
                MicroUsd.ofUsd("100"), Instant.now().plus(Duration.ofMinutes(5))));
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).meterRegistry(meters).start()) {
            ManagedChannel ch = NettyChannelBuilder.forTarget(dir.address())
                    .sslContext(NodeTls.client(NodeTls.identity(stranger), dir.publicKey())).build();
            try {
                // Honest traffic first: a renewal and a query, neither counted.
                DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).renew(renewal(offer, 0));
                assertEquals(1, DirectoryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .query(DirectoryQuery.newBuilder().setKernelId("saxpy").setLimit(10).build()).getListingsCount());
                assertEquals(0, dir.transportRefusals());
                List<Status> refused = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    RenewRequest big = renewal(offer, (1 << 20) + i);
                    refused.add(assertThrows(StatusRuntimeException.class, () -> DirectoryGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(10, TimeUnit.SECONDS).renew(big)).getStatus());
                }
                for (Status s : refused) {
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode(), s.toString());
                }
                assertEquals(5, dir.transportRefusals());
                assertEquals(5.0, meters.get("depin.directory.transport.refusals").tag("kind", "message_too_large")
                        .tag("error", "resource_exhausted").functionCounter().count());
                // The directory's own refusals stay in depin.directory.calls, as before: the
                // renewal and query above, nothing for the five the transport refused.
                assertEquals(2.0, meters.get("depin.directory.calls").counters().stream()
                        .mapToDouble(io.micrometer.core.instrument.Counter::count).sum());
            } finally {
                ch.shutdownNow();
            }
        }
    }

    private static RenewRequest renewal(ProviderOffer offer, int junkBytes) {
        Listing.Builder l = Listing.newBuilder().setOfferJson(ByteString.copyFrom(offer.toJson()))
                .setAddress("127.0.0.1:1");
        if (junkBytes > 0) {
            l.setUnknownFields(UnknownFieldSet.newBuilder().addField(99, UnknownFieldSet.Field.newBuilder()
                    .addLengthDelimited(ByteString.copyFrom(new byte[junkBytes])).build()).build());
        }
        return RenewRequest.newBuilder().setListing(l).build();
    }
}
