package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.ApplyResult;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.ledger.JdbcLedger;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.ForwardingLedger;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.spi.Settlement;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The settlement service's bounds on operations in flight (issue 16): per key, per remote
 * address over all its keys, in total, and the share of the total kept for light peers. The
 * ledger behind the service holds back every operation whose key contains {@code /held/} until
 * the test lets them go, so that what each call finds taken is exact: five buyers' keys, from
 * three loopback addresses, send batches in a fixed order, and each batch's admitted and refused
 * operations, the refusals' exact messages and the meters by reason are checked; once let go,
 * every admitted hold applies once, nothing refused applies, and every slot is given back.
 */
class LedgerAdmissionTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());

    @TempDir
    Path dir;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private JdbcLedger jdbc;
    private LedgerServer server;

    /** The ledger, holding back operations whose key contains {@code /held/} until {@link #let}. */
    private static final class Holding extends ForwardingLedger {
        private final CompletableFuture<Void> gate = new CompletableFuture<>();

        Holding(Settlement inner) {
            super(inner);
        }

        void let() {
            gate.complete(null);
        }

        @Override
        public CompletableFuture<Applied> apply(Operation op) {
            return op.key().value().contains("/held/") ? gate.thenCompose(v -> super.apply(op)) : super.apply(op);
        }
    }

    @AfterEach
    void close() throws InterruptedException {
        for (ManagedChannel c : channels) {
            c.shutdownNow();
            c.awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.close();
        }
        if (jdbc != null) {
            assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
            jdbc.close();
        }
    }

    private LedgerGrpc.LedgerFutureStub stub(NodeKeyPair key, String from) {
        ManagedChannel c = Hostile.from(NettyChannelBuilder.forTarget(server.address()), from)
                .sslContext(NodeTls.client(NodeTls.identity(key), LEDGER_KEY.publicKey())).build();
        channels.add(c);
        return LedgerGrpc.newFutureStub(c).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static ApplyBatchRequest holds(String buyer, int n) {
        ApplyBatchRequest.Builder b = ApplyBatchRequest.newBuilder();
        for (int i = 0; i < n; i++) {
            b.addOperationJson(ByteString.copyFrom(new Operation.Hold(OperationKey.of(buyer + "/held/" + i),
                    AccountId.of(buyer), PROVIDER, MicroUsd.ofMicros(1 + i), Instant.now().plus(Duration.ofMinutes(10)),
                    Optional.empty()).toJson()));
        }
        return b.setOmitEcho(true).build();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    private double refused(String reason) {
        var c = meters.find("depin.ledger.refusals").tag("reason", reason).functionCounter();
        return c == null ? -1 : c.count();
    }

    /** Checks that the first {@code admitted} results applied and the rest were refused with {@code message}. */
    private static void answered(ApplyBatchReply reply, int admitted, String message) {
        for (int i = 0; i < reply.getResultsCount(); i++) {
            ApplyResult r = reply.getResults(i);
            if (i < admitted) {
                assertTrue(r.hasApplied(), i + ": " + r);
            } else {
                assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), r.getRefused().getCode(), i + ": " + r);
                assertEquals(message, r.getRefused().getMessage());
            }
        }
    }

    @Test
    void operationsInFlight_boundedPerKeyPerAddressAndInTotal_withTheLightPeersShareKept() throws Exception {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY).open();
        Holding holding = new Holding(jdbc);
        String[] buyers = {"buyer:a", "buyer:b", "buyer:c", "buyer:d", "buyer:e"};
        NodeKeyPair[] keys = new NodeKeyPair[buyers.length];
        LedgerAccess.Builder access = LedgerAccess.builder();
        jdbc.open(PROVIDER, AccountKind.PROVIDER, false).join();
        for (int i = 0; i < buyers.length; i++) {
            keys[i] = NodeKeyPair.generate();
            access.grant(keys[i].publicKey(), AccountId.of(buyers[i]));
            jdbc.open(AccountId.of(buyers[i]), AccountKind.BUYER, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("fund-" + i), AccountId.of(buyers[i]),
                    MicroUsd.ofMicros(1_000_000))).join();
        }
        // 4 per key, 6 per address, 12 in all: the last 3 kept for addresses holding fewer than 4.
        server = LedgerServer.builder(holding, LEDGER_KEY, access.build()).maxInFlight(4, 6, 12).meterRegistry(meters)
                .start();
        String one = "127.0.0.1";
        String two = "127.0.0.2";
        String three = "127.0.0.3";

        // a (address one) asks for 5: its key's 4 are taken, 1 refused.
        ListenableFuture<ApplyBatchReply> a = stub(keys[0], one).applyBatch(holds(buyers[0], 5));
        await(() -> server.inFlight() == 4, "a's four in flight: " + server.inFlight());
        assertEquals(4, server.inFlight(keys[0].publicKey()));
        // b (address one) asks for 3: its address has 2 left of 6.
        ListenableFuture<ApplyBatchReply> b = stub(keys[1], one).applyBatch(holds(buyers[1], 3));
        await(() -> server.inFlight() == 6, "b's two in flight: " + server.inFlight());
        // c (address two, light) asks for 3: the bulk (9) has 3 left, all taken.
        ListenableFuture<ApplyBatchReply> c = stub(keys[2], two).applyBatch(holds(buyers[2], 3));
        await(() -> server.inFlight() == 9, "c's three in flight: " + server.inFlight());
        // d (address two, still light at 3) asks for 3: the bulk is full; a light address may take
        // from the reserve until it holds one key's share (4): 1 taken, 2 refused.
        ListenableFuture<ApplyBatchReply> d = stub(keys[3], two).applyBatch(holds(buyers[3], 3));
        await(() -> server.inFlight() == 10, "d's one in flight: " + server.inFlight());
        // e (address three, light at 0) asks for 3: 2 left in all.
        ListenableFuture<ApplyBatchReply> e = stub(keys[4], three).applyBatch(holds(buyers[4], 3));
        await(() -> server.inFlight() == 12, "e's two in flight: " + server.inFlight());
        // A heavy address (one, at 6) gets nothing more, even with a fresh key of its own: its address is full.
        assertEquals(6, server.inFlight(keys[0].publicKey()) + server.inFlight(keys[1].publicKey()));

        assertEquals(1, refused("operations_per_key"));
        assertEquals(1, refused("operations_per_address"));
        assertEquals(2, refused("operations_fair_share"));
        assertEquals(1, refused("operations_total"));
        assertEquals(0, refused("reply_stalled"));
        assertEquals(1, server.refusals("operations_total"));
        assertThrows(InvalidArgumentException.class, () -> server.refusals("nonsense"));

        holding.let();
        String when = " when this call brought ";
        answered(a.get(60, TimeUnit.SECONDS), 4, "key " + keys[0].nodeId().shortId() + " may have 4 operations in "
                + "flight (depin ledger serve --max-in-flight) and had 0" + when + "5 more: wait for answers before "
                + "sending more");
        answered(b.get(60, TimeUnit.SECONDS), 2, "address " + one + " may have 6 operations in flight over all its "
                + "keys (depin ledger serve --max-in-flight-per-address; clients behind one NAT share it) and had 4"
                + when + "3 more: wait for answers before sending more");
        answered(c.get(60, TimeUnit.SECONDS), 3, null);
        answered(d.get(60, TimeUnit.SECONDS), 1, "the service had 9 of its 12 operations in flight taken and keeps "
                + "the last 3 for addresses holding fewer than 4; address " + two + " had 3" + when + "3 more: wait "
                + "for answers and retry (depin ledger serve --max-in-flight-total raises the total)");
        answered(e.get(60, TimeUnit.SECONDS), 2, "the service had 10 of its 12 operations in flight taken (depin "
                + "ledger serve --max-in-flight-total), key " + keys[4].nodeId().shortId() + " 0" + when + "3 more: "
                + "wait for answers and retry");
        await(() -> server.inFlight() == 0, "every slot given back: " + server.inFlight());
        assertEquals(0, server.inFlight(keys[0].publicKey()));
        assertEquals(4 + 2 + 3 + 1 + 2, jdbc.openHolds().size(), "each admitted hold applied once, none refused");
    }

    @Test
    void maxInFlight_outOfOrder_refusedWithTheRule() {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).open();
        LedgerServer.Builder b = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder().build());
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> b.maxInFlight(8, 4, 16));
        assertEquals("operations in flight of 8 per key, 4 per address and 16 in total: give 1 <= per key <= per "
                + "address <= total <= 10000000", e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> b.maxInFlight(0, 4, 16));
        assertThrows(InvalidArgumentException.class, () -> b.maxInFlight(1, 4, 2));
        assertThrows(InvalidArgumentException.class, () -> b.maxInFlight(1, 4, 10_000_001));
        InvalidArgumentException s = assertThrows(InvalidArgumentException.class, () -> b.stallTimeout(Duration.ZERO));
        assertEquals("stall timeout PT0S must be 1 ms to 10 minutes", s.getMessage());
    }
}
