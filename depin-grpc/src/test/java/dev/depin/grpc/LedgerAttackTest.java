package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.ApplyRequest;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile clients against the settlement service ({@link LedgerServer}), each written for its
 * attack (raw HTTP/2 frames, raw protobuf on the generated stub, or a stranger's own
 * {@link RemoteSettlement} with a self-made key the service grants nothing): a stranger
 * hammering holds from someone else's account, batches past the service's bounds, requests never
 * sent whole (slowloris), answers never read (stalled readers), streams past
 * MAX_CONCURRENT_STREAMS. Each attack's refusals are checked for their exact status and message
 * and counted where an operator looks ({@code depin.ledger.calls},
 * {@code depin.ledger.transport.refusals}); an honest buyer holds and posts all the while and
 * must keep succeeding, no money moves for the attacker, and the books balance after (audit
 * sound, nothing held, posted balances sum to zero).
 */
class LedgerAttackTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair OPERATOR = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());
    private static final String APPLY = LedgerGrpc.getApplyMethod().getFullMethodName();
    private static final String HEALTH = LedgerGrpc.getHealthMethod().getFullMethodName();

    @TempDir
    Path dir;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private JdbcLedger jdbc;
    private LedgerServer server;
    private Honest honest;

    /** Starts the service with the test's limits, funds the buyer and starts the honest buyer. */
    private void start(UnaryOperator<LedgerServer.Builder> limits) {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY).open();
        LedgerAccess access = LedgerAccess.builder().operator(OPERATOR.publicKey())
                .grant(Hex.encode(BUYER_KEY.publicKey().raw()) + "=" + BUYER).build();
        server = limits.apply(LedgerServer.builder(jdbc, LEDGER_KEY, access).meterRegistry(meters)).start();
        RemoteSettlement operator = client(OPERATOR);
        operator.open(BUYER, AccountKind.BUYER, false).join();
        operator.open(PROVIDER, AccountKind.PROVIDER, false).join();
        operator.apply(new Operation.Mint(OperationKey.of("fund-acme"), BUYER, MicroUsd.ofMicros(1_000_000_000))).join();
        honest = new Honest(client(BUYER_KEY));
    }

    private RemoteSettlement client(NodeKeyPair key) {
        RemoteSettlement c = RemoteSettlement.builder(key, server.address(), LEDGER_KEY.publicKey())
                .callTimeout(Duration.ofSeconds(60)).connect();
        closing.add(c);
        return c;
    }

    @AfterEach
    void stop() throws Exception {
        if (honest != null) {
            honest.close();
        }
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
        if (jdbc != null) {
            LedgerBooks.assertClosed(jdbc);
            assertEquals(1_000_000_000L - honest.posted.get(), jdbc.balance(BUYER).posted(),
                    "the buyer paid for exactly its own holds");
            assertEquals(honest.posted.get(), jdbc.balance(PROVIDER).posted());
            jdbc.close();
        }
    }

    /**
     * The honest buyer: holds 1 µUSD for the provider and posts it, again and again, from its own
     * thread; every failure is kept with its message.
     */
    private static final class Honest implements AutoCloseable {
        final AtomicInteger ok = new AtomicInteger();
        final AtomicInteger posted = new AtomicInteger();
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Honest(RemoteSettlement buyer) {
            thread = new Thread(() -> {
                for (int i = 0; !stop.get(); i++) {
                    OperationKey hold = OperationKey.of("buyer:acme/honest-" + i + "/hold");
                    try {
                        buyer.apply(new Operation.Hold(hold, BUYER, PROVIDER, MicroUsd.ofMicros(1),
                                Instant.now().plus(Duration.ofMinutes(10)), Optional.empty())).join();
                        buyer.apply(new Operation.Post(OperationKey.of("buyer:acme/honest-" + i + "/post"), hold,
                                MicroUsd.ofMicros(1))).join();
                        posted.incrementAndGet();
                        ok.incrementAndGet();
                    } catch (RuntimeException e) {
                        failures.add(e.toString());
                    }
                }
            }, "honest-buyer");
            thread.setDaemon(true);
            thread.start();
        }

        /** Waits (at most 60 s) until {@code more} further hold-and-post rounds succeeded: it made progress. */
        void progresses(int more) throws InterruptedException {
            int target = ok.get() + more;
            await(() -> ok.get() >= target, "the honest buyer made no progress: " + failures);
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(thread.isAlive(), "the honest buyer did not stop");
            assertEquals(List.of(), failures, "honest operations failed during the attack");
            assertTrue(ok.get() > 0);
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    private double calls(String method, String status) {
        var c = meters.find("depin.ledger.calls").tag("method", method).tag("status", status).counter();
        return c == null ? 0 : c.count();
    }

    private double refusals(String kind, String error) {
        var c = meters.find("depin.ledger.transport.refusals").tag("kind", kind).tag("error", error).functionCounter();
        return c == null ? 0 : c.count();
    }

    private static byte[] apply(Operation op) {
        return ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(op.toJson())).build().toByteArray();
    }

    private static Operation.Hold theft(int i) {
        return new Operation.Hold(OperationKey.of("stranger/" + i), BUYER, AccountId.of("provider:" + "ab".repeat(32)),
                MicroUsd.ofMicros(1_000_000), Instant.now().plus(Duration.ofMinutes(10)), Optional.empty());
    }

    @Test
    void stranger_hammeringHoldsFromAnotherAccount_everyOneRefusedAndNoMoneyMoves() throws Exception {
        // The stranger shares 127.0.0.1 with the honest buyer (as behind one NAT): each refusal is
        // what this test is about, so the address is not refused whole here (at the default, the
        // honest buyer would be refused with it after 128 refused calls or batches: see
        // hostileCallsFromOneAddress_refusedWholePastTheMaximumHonestServedUntilItsTimeEnds).
        start(b -> b.refusedCallsPerAddress(1_000_000, Duration.ofSeconds(30)));
        NodeKeyPair strangerKey = NodeKeyPair.generate();
        RemoteSettlement stranger = client(strangerKey);
        honest.progresses(3);
        int start = honest.ok.get();
        List<CompletableFuture<?>> tries = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            tries.add(stranger.apply(theft(i)));
        }
        String expected = "key " + strangerKey.nodeId().shortId() + " may not hold from account buyer:acme, which it "
                + "does not act for";
        for (CompletableFuture<?> f : tries) {
            CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, f::join);
            SettlementException s = assertInstanceOf(SettlementException.class, e.getCause(), e.toString());
            assertTrue(s.is(Reason.NOT_PERMITTED), s.toString());
            assertTrue(s.getMessage().startsWith(expected), s.getMessage());
        }
        honest.progresses(3);
        assertTrue(honest.ok.get() > start);
        assertEquals(List.of(), jdbc.openHolds().stream().filter(h -> !h.payer().equals(BUYER)
                || !h.payee().equals(PROVIDER)).toList(), "a stranger's hold is open");
        for (int i = 0; i < 2_000; i += 97) {
            assertEquals(Optional.empty(), jdbc.hold(OperationKey.of("stranger/" + i)));
        }
    }

    @Test
    void batchesPastTheBounds_refusedWholeAndNothingApplied() throws Exception {
        start(b -> b);
        // The buyer's own key: even an authorised client's batch past the bounds is refused whole.
        ManagedChannel ch = NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(BUYER_KEY), LEDGER_KEY.publicKey())).build();
        try {
            LedgerGrpc.LedgerBlockingStub stub = LedgerGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
            ApplyBatchRequest.Builder many = ApplyBatchRequest.newBuilder();
            for (int i = 0; i <= LedgerServer.MAX_BATCH_OPERATIONS; i++) {
                many.addOperationJson(ByteString.copyFromUtf8("{}"));
            }
            LedgerServiceAccessTest.assertStatus(Status.Code.INVALID_ARGUMENT, "a batch of 1025 operations: send 1 to "
                    + "1024 in one ApplyBatch", () -> stub.applyBatch(many.build()));
            LedgerServiceAccessTest.assertStatus(Status.Code.INVALID_ARGUMENT, "a batch of 0 operations",
                    () -> stub.applyBatch(ApplyBatchRequest.getDefaultInstance()));
            // Holds the buyer may make, but 400 of them with their JSON padded: 80 KB in one message.
            ApplyBatchRequest.Builder big = ApplyBatchRequest.newBuilder();
            for (int i = 0; i < 400; i++) {
                Operation.Hold h = new Operation.Hold(OperationKey.of("buyer:acme/big-" + i + "/" + "x".repeat(100)), BUYER,
                        PROVIDER, MicroUsd.ofMicros(1), Instant.now().plus(Duration.ofMinutes(10)), Optional.empty());
                big.addOperationJson(ByteString.copyFrom(h.toJson()));
            }
            assertTrue(big.build().getSerializedSize() > LedgerServer.MAX_REQUEST_BYTES);
            for (int i = 0; i < 3; i++) {
                LedgerServiceAccessTest.assertStatus(Status.Code.RESOURCE_EXHAUSTED,
                        "gRPC message exceeds maximum size 65536", () -> stub.applyBatch(big.build()));
            }
            assertEquals(3, refusals("message_too_large", "resource_exhausted"));
            assertEquals(2, calls("ApplyBatch", "invalid_argument"));
            honest.progresses(3);
            // None of the refused batches' holds exists (the books after: the buyer paid exactly
            // for the honest buyer's own holds, checked after each test).
            for (int i = 0; i < 400; i += 57) {
                assertEquals(Optional.empty(), jdbc.hold(OperationKey.of("buyer:acme/big-" + i + "/" + "x".repeat(100))));
            }
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void slowloris_requestsNeverSentWhole_holdOnlyTheirSendersShare() throws Exception {
        // A long receive timeout: the streams stay held while the honest buyer is watched.
        start(b -> b.maxCalls(8, 12).receiveTimeout(Duration.ofMinutes(10)));
        NodeKeyPair first = NodeKeyPair.generate();
        NodeKeyPair second = NodeKeyPair.generate();
        try (RawHttp2 a = new RawHttp2(server.address(), LEDGER_KEY.publicKey(), first, "127.0.0.3", true);
             RawHttp2 b = new RawHttp2(server.address(), LEDGER_KEY.publicKey(), second, "127.0.0.3", true)) {
            List<Integer> held = new ArrayList<>();
            byte[] request = apply(theft(0));
            for (int i = 0; i < 8; i++) {
                int s = a.open(APPLY);
                // Half a request, or none: the length prefix promises more than ever comes.
                if (i % 2 == 0) {
                    a.sendPart(s, request, request.length / 2);
                }
                held.add(s);
            }
            await(() -> server.openCalls(first.publicKey()) == 8, "open calls " + server.openCalls(first.publicKey()));
            assertEquals(keyFull(first, 8), a.awaitEnd(a.open(APPLY), 30));
            for (int i = 0; i < 4; i++) {
                held.add(b.open(APPLY));
            }
            await(() -> server.openCalls(second.publicKey()) == 4, "open calls " + server.openCalls(second.publicKey()));
            assertEquals("grpc-status 8: address 127.0.0.3 has 12 calls open over all its keys, the most this service "
                    + "allows per address: wait for answers (and read them) before opening more",
                    b.awaitEnd(b.open(APPLY), 30));
            honest.progresses(5);
            for (int i = 0; i < 8; i++) {
                assertFalse(a.ended(held.get(i)), "a held stream ended");
            }
            assertEquals(2, calls("Apply", "resource_exhausted"));
        }
        released(first, second);
    }

    @Test
    void slowloris_requestNotWholeWithinTheReceiveTimeout_endedDeadlineExceeded() throws Exception {
        start(b -> b.receiveTimeout(Duration.ofSeconds(1)));
        NodeKeyPair stranger = NodeKeyPair.generate();
        try (RawHttp2 raw = new RawHttp2(server.address(), LEDGER_KEY.publicKey(), stranger, null, true)) {
            byte[] request = apply(theft(0));
            int none = raw.open(APPLY);
            int half = raw.open(APPLY);
            raw.sendPart(half, request, request.length / 2);
            int unended = raw.open(APPLY); // the whole message, but never the half-close
            raw.send(unended, request);
            String late = "grpc-status 4: the request did not arrive whole within 1000 ms of the call's start: send it "
                    + "at once";
            for (int s : List.of(none, half, unended)) {
                assertEquals(late, raw.awaitEnd(s, 60));
            }
            // A request sent whole is answered as ever (refused: the stranger acts for no account).
            int whole = raw.open(APPLY);
            raw.send(whole, request, true);
            assertTrue(raw.awaitEnd(whole, 60).startsWith("grpc-status 7: key "), raw.awaitEnd(whole, 0));
        }
        assertEquals(3, calls("Apply", "deadline_exceeded"));
        released(stranger);
    }

    @Test
    void stalledReaders_answersNeverRead_holdOnlyTheirSendersShare() throws Exception {
        start(b -> b.maxCalls(6, 1024));
        NodeKeyPair reader = NodeKeyPair.generate();
        // SETTINGS_INITIAL_WINDOW_SIZE 0 and no WINDOW_UPDATE ever: no answer's bytes reach it,
        // so each answered call stays open on the service, its answer and trailers queued.
        Http2Settings shut = new Http2Settings().initialWindowSize(0);
        try (RawHttp2 raw = new RawHttp2(server.address(), LEDGER_KEY.publicKey(), reader, null, true, shut)) {
            List<Integer> held = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                int s = raw.open(HEALTH);
                raw.send(s, new byte[0], true);
                held.add(s);
            }
            await(() -> calls("Health", "ok") == 6, "health calls answered: " + calls("Health", "ok"));
            assertEquals(6, server.openCalls(reader.publicKey()), "answered calls whose answers are unread still count");
            // A refusal is trailers only, which flow control lets through.
            int more = raw.open(HEALTH);
            raw.send(more, new byte[0], true);
            assertEquals(keyFull(reader, 6), raw.awaitEnd(more, 30));
            honest.progresses(3);
            for (int s : held) {
                assertFalse(raw.ended(s), "a stalled stream ended");
            }
        }
        released(reader);
    }

    @Test
    void stalledListingReaders_cutOffAfterTheStallTimeout_theirCallsLetGoAndCounted() throws Exception {
        start(b -> b.stallTimeout(Duration.ofMillis(200)));
        honest.progresses(3); // the buyer's statement has lines to send
        String statement = LedgerGrpc.getGetStatementMethod().getFullMethodName();
        byte[] request = dev.depin.grpc.internal.wire.AccountRequest.newBuilder().setAccount(BUYER.value()).build()
                .toByteArray();
        // Three connections that grant no credit (SETTINGS_INITIAL_WINDOW_SIZE 0, no WINDOW_UPDATE
        // ever), each asking for the buyer's statement: no byte of an answer reaches them.
        Http2Settings shut = new Http2Settings().initialWindowSize(0);
        List<RawHttp2> readers = new ArrayList<>();
        try {
            List<Integer> streams = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                RawHttp2 raw = new RawHttp2(server.address(), LEDGER_KEY.publicKey(), OPERATOR, null, true, shut);
                readers.add(raw);
                int s = raw.open(statement);
                raw.send(s, request, true);
                streams.add(s);
            }
            for (int i = 0; i < 3; i++) {
                // gRPC resets no single stream for a server: the stalled reader's connection is closed.
                assertEquals("connection closed", readers.get(i).awaitEnd(streams.get(i), 60));
            }
        } finally {
            readers.forEach(RawHttp2::close);
        }
        await(() -> server.inFlight(OPERATOR.publicKey()) == 0 && server.openCalls(OPERATOR.publicKey()) == 0,
                "the stalled calls let go: " + server.inFlight(OPERATOR.publicKey()) + " in flight, "
                        + server.openCalls(OPERATOR.publicKey()) + " open");
        assertEquals(3, server.refusals("reply_stalled"));
        assertEquals(3, meters.find("depin.ledger.refusals").tag("reason", "reply_stalled").functionCounter().count());
        honest.progresses(3);
        // A reader that reads is answered in full.
        assertTrue(client(OPERATOR).statement(BUYER).size() >= 4);
    }

    @Test
    void manyStreams_pastMaxConcurrentStreams_resetAndCounted() throws Exception {
        start(b -> b.maxStreamsPerConnection(4).maxCalls(16, 64).receiveTimeout(Duration.ofMinutes(10)));
        NodeKeyPair stranger = NodeKeyPair.generate();
        try (RawHttp2 raw = new RawHttp2(server.address(), LEDGER_KEY.publicKey(), stranger, null, true)) {
            assertEquals(4L, raw.serverMaxConcurrentStreams());
            List<Integer> held = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                held.add(raw.open(APPLY));
            }
            await(() -> server.openCalls(stranger.publicKey()) == 4, "open calls " + server.openCalls(stranger.publicKey()));
            for (int i = 0; i < 3; i++) {
                assertEquals("RST_STREAM REFUSED_STREAM", raw.awaitEnd(raw.open(APPLY), 30));
            }
            assertEquals(3, refusals("stream_reset", "refused_stream"));
            assertEquals(3, server.transportRefusals());
            honest.progresses(3);
            for (int s : held) {
                assertFalse(raw.ended(s), "a held stream ended");
            }
        }
        released(stranger);
    }

    /** A stranger's own channel from {@code from} (another loopback address than the honest buyer's). */
    private ManagedChannel strangerChannel(String from, NodeTls.Identity identity) {
        ManagedChannel ch = Hostile.from(NettyChannelBuilder.forTarget(server.address()), from)
                .sslContext(NodeTls.client(identity, LEDGER_KEY.publicKey())).build();
        closing.add(ch::shutdownNow);
        return ch;
    }

    /** Waits (at most 10 s) until {@code from} is refused: a call is counted as its stream closes on the service. */
    private java.time.Duration awaitRefused(String from) throws Exception {
        java.net.InetAddress a = java.net.InetAddress.getByName(from);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.refusedFor(a).isZero() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        return server.refusedFor(a);
    }

    @Test
    void hostileCallsFromOneAddress_refusedWholePastTheMaximumHonestServedUntilItsTimeEnds() throws Exception {
        AtomicLong now = new AtomicLong(-3_000_000_000L); // nanoTime may be negative
        start(b -> b.refusedCallsPerAddress(4, Duration.ofSeconds(30)).addressClock(now::get));
        honest.progresses(3);
        java.net.InetAddress strangers = java.net.InetAddress.getByName("127.0.0.2");
        ManagedChannel one = strangerChannel("127.0.0.2", NodeTls.identity(NodeKeyPair.generate()));
        ManagedChannel other = strangerChannel("127.0.0.2", NodeTls.identity(NodeKeyPair.generate()));
        LedgerGrpc.LedgerBlockingStub a = LedgerGrpc.newBlockingStub(one).withDeadlineAfter(60, TimeUnit.SECONDS);
        LedgerGrpc.LedgerBlockingStub b = LedgerGrpc.newBlockingStub(other).withDeadlineAfter(60, TimeUnit.SECONDS);
        // Four calls no client of this SDK makes, over two keys: a malformed operation, a hold from
        // an account the key does not act for, a batch with a malformed operation (answered OK,
        // counted once), a request past 64 KiB.
        LedgerServiceAccessTest.assertStatus(Status.Code.INVALID_ARGUMENT, "", () -> a.apply(ApplyRequest.newBuilder()
                .setOperationJson(ByteString.copyFromUtf8("{\"not\":\"an operation\"}")).build()));
        LedgerServiceAccessTest.assertStatus(Status.Code.PERMISSION_DENIED, "key ", () -> b.apply(
                ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(theft(0).toJson())).build()));
        var reply = a.applyBatch(ApplyBatchRequest.newBuilder().addOperationJson(ByteString.copyFromUtf8("{}"))
                .addOperationJson(ByteString.copyFromUtf8("[]")).build());
        assertEquals(2, reply.getResultsCount());
        assertEquals(java.time.Duration.ZERO, server.refusedFor(strangers), "three of four");
        LedgerServiceAccessTest.assertStatus(Status.Code.RESOURCE_EXHAUSTED, "gRPC message exceeds maximum size",
                () -> b.apply(ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(
                        new byte[LedgerServer.MAX_REQUEST_BYTES + 1])).build()));
        assertEquals(Duration.ofSeconds(30), awaitRefused("127.0.0.2"));
        assertEquals(Duration.ZERO, server.refusedFor(java.net.InetAddress.getByName("127.0.0.1")));
        assertEquals(1.0, meters.get("depin.ledger.addresses.refused").gauge().value());

        // Its next call, of any method, on a connection it has: refused before its message is read.
        LedgerServiceAccessTest.assertStatus(Status.Code.RESOURCE_EXHAUSTED, "address 127.0.0.2 sent 4 requests this "
                + "settlement service refused as hostile (malformed, not permitted, too large) within 10000 ms: its "
                + "calls and connections are refused for 30000 ms more; fix what was refused before sending again",
                () -> a.health(dev.depin.grpc.internal.wire.HealthRequest.getDefaultInstance()));
        // A new key from it: its connection is closed as accepted, before TLS.
        ManagedChannel late = strangerChannel("127.0.0.2", NodeTls.identity(NodeKeyPair.generate()));
        LedgerServiceAccessTest.assertStatus(Status.Code.UNAVAILABLE, "", () -> LedgerGrpc.newBlockingStub(late)
                .withDeadlineAfter(60, TimeUnit.SECONDS).health(dev.depin.grpc.internal.wire.HealthRequest
                        .getDefaultInstance()));
        assertTrue(refusals("connection", "refused_address") >= 1, "the refused connection is counted");
        // The honest buyer from 127.0.0.1 goes on.
        honest.progresses(3);

        // Its time ends: the address is heard again, and gets the service's own answer.
        now.addAndGet(Duration.ofSeconds(30).toNanos());
        assertEquals(Duration.ZERO, server.refusedFor(strangers));
        ManagedChannel again = strangerChannel("127.0.0.2", NodeTls.identity(NodeKeyPair.generate()));
        LedgerServiceAccessTest.assertStatus(Status.Code.PERMISSION_DENIED, "key ", () -> LedgerGrpc
                .newBlockingStub(again).withDeadlineAfter(60, TimeUnit.SECONDS).apply(ApplyRequest.newBuilder()
                        .setOperationJson(ByteString.copyFrom(theft(1).toJson())).build()));
        assertEquals(0.0, meters.get("depin.ledger.addresses.refused").gauge().value());
    }

    @Test
    void honestRefusals_neverCountAgainstTheAddress() throws Exception {
        start(b -> b.refusedCallsPerAddress(2, Duration.ofSeconds(30)));
        // The buyer's own key from 127.0.0.3: holds past its funds (FAILED_PRECONDITION), a post of a
        // hold that does not exist (NOT_FOUND): the ledger's answers to an honest client's mistakes.
        ManagedChannel ch = strangerChannel("127.0.0.3", NodeTls.identity(BUYER_KEY));
        LedgerGrpc.LedgerBlockingStub stub = LedgerGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
        for (int i = 0; i < 6; i++) {
            Operation.Hold tooMuch = new Operation.Hold(OperationKey.of("buyer:acme/too-much-" + i), BUYER, PROVIDER,
                    MicroUsd.ofMicros(1_000_000_000_000L), Instant.now().plus(Duration.ofMinutes(10)), Optional.empty());
            LedgerServiceAccessTest.assertStatus(Status.Code.FAILED_PRECONDITION, "", () -> stub.apply(
                    ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(tooMuch.toJson())).build()));
            Operation.Post none = new Operation.Post(OperationKey.of("buyer:acme/post-" + i),
                    OperationKey.of("buyer:acme/no-such-hold-" + i), MicroUsd.ofMicros(1));
            LedgerServiceAccessTest.assertStatus(Status.Code.NOT_FOUND, "", () -> stub.apply(
                    ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(none.toJson())).build()));
        }
        assertEquals(Duration.ZERO, server.refusedFor(java.net.InetAddress.getByName("127.0.0.3")));
        assertTrue(stub.health(dev.depin.grpc.internal.wire.HealthRequest.getDefaultInstance()).getNodeId().length() > 0);
        honest.progresses(2);
    }

    @Test
    void certificatesTheServiceRefuses_countAgainstTheAddress() throws Exception {
        start(b -> b.refusedCallsPerAddress(3, Duration.ofSeconds(30)));
        // A certificate outside its validity (the service's trust manager refuses it: bad_certificate),
        // each on a fresh channel, as a stranger reconnecting would.
        Instant past = Instant.now().minus(Duration.ofDays(2));
        for (int i = 0; i < 3; i++) {
            ManagedChannel ch = strangerChannel("127.0.0.4", NodeTls.identity(NodeKeyPair.generate(), past,
                    past.plus(Duration.ofDays(1))));
            LedgerServiceAccessTest.assertStatus(Status.Code.UNAVAILABLE, "", () -> LedgerGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(60, TimeUnit.SECONDS).health(dev.depin.grpc.internal.wire.HealthRequest
                            .getDefaultInstance()));
        }
        assertEquals(Duration.ofSeconds(30).toSeconds(), (awaitRefused("127.0.0.4").toMillis() + 999) / 1000,
                "refused for (about) 30 s after the third bad certificate");
        assertEquals(3, refusals("handshake", "bad_certificate"));
        // A good certificate from that address is now closed before TLS; the honest buyer goes on.
        ManagedChannel good = strangerChannel("127.0.0.4", NodeTls.identity(NodeKeyPair.generate()));
        LedgerServiceAccessTest.assertStatus(Status.Code.UNAVAILABLE, "", () -> LedgerGrpc.newBlockingStub(good)
                .withDeadlineAfter(60, TimeUnit.SECONDS).health(dev.depin.grpc.internal.wire.HealthRequest
                        .getDefaultInstance()));
        assertTrue(refusals("connection", "refused_address") >= 1);
        honest.progresses(2);
    }

    /**
     * After the strangers left: every call they held is let go (bounded wait), the honest buyer
     * goes on, and nothing of theirs was stored.
     */
    private void released(NodeKeyPair... strangers) throws InterruptedException {
        for (NodeKeyPair k : strangers) {
            await(() -> server.openCalls(k.publicKey()) == 0, "open calls after the stranger left: "
                    + server.openCalls(k.publicKey()));
        }
        honest.progresses(2);
        assertEquals(Optional.empty(), jdbc.hold(OperationKey.of("stranger/0")));
    }

    /** What a call past a key's share is told. */
    private static String keyFull(NodeKeyPair key, int calls) {
        return "grpc-status 8: key " + key.nodeId().shortId() + " has " + calls + " calls open, the most this service "
                + "allows per key: wait for answers (and read them) before opening more";
    }
}
