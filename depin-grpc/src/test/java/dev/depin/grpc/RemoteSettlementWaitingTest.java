package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.PeerKeys;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.grpc.internal.wire.OperationBatch;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link RemoteSettlement} keeps of the operations it sent (each until its answer: a hold's
 * certificate is rebuilt from the hold sent) is bounded in count and bytes, and let go on every
 * way an operation ends: its answer, a refusal, its last try's deadline, {@link
 * RemoteSettlement#close()} with calls in flight and operations queued, and a service without
 * {@code ApplyOperations} (the operations go again as JSON). Services that never answer are
 * served here by a stub that holds each call open; nothing waits on the wall clock but the one
 * deadline that is the path under test.
 */
class RemoteSettlementWaitingTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId OTHER = AccountId.of("buyer:other");
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());
    private static final String SPEC = "5e".repeat(32);

    private JdbcLedger jdbc;
    private LedgerServer server;
    private Server silent;
    private final List<RemoteSettlement> clients = new ArrayList<>();

    @AfterEach
    void close() throws InterruptedException {
        clients.forEach(RemoteSettlement::close);
        if (server != null) {
            server.close();
        }
        if (silent != null) {
            silent.shutdownNow();
            silent.awaitTermination(5, TimeUnit.SECONDS);
        }
        if (jdbc != null) {
            assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
            jdbc.close();
        }
    }

    private String ledger(Path dir) {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY).open();
        jdbc.open(BUYER, AccountKind.BUYER, false).join();
        jdbc.open(PROVIDER, AccountKind.PROVIDER, false).join();
        jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofMicros(1_000_000))).join();
        server = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER).build())
                .start();
        return server.address();
    }

    /** A ledger service that takes every ApplyOperations call and never answers it (counted in {@code calls}). */
    private String silent(List<StreamObserver<ApplyBatchReply>> calls, AtomicInteger operations) throws Exception {
        LedgerGrpc.LedgerImplBase never = new LedgerGrpc.LedgerImplBase() {
            @Override
            public void applyOperations(OperationBatch request, StreamObserver<ApplyBatchReply> out) {
                operations.addAndGet(request.getOperationsCount());
                calls.add(out);
            }
        };
        silent = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(NodeTls.server(NodeTls.identity(LEDGER_KEY)))
                .addService(ServerInterceptors.intercept(never.bindService(), new PeerKeys())).build().start();
        return "127.0.0.1:" + silent.getPort();
    }

    private RemoteSettlement client(String address, java.util.function.UnaryOperator<RemoteSettlement.Builder> options) {
        RemoteSettlement c = options.apply(RemoteSettlement.builder(BUYER_KEY, address, LEDGER_KEY.publicKey())).connect();
        clients.add(c);
        return c;
    }

    private static Operation.Hold hold(String key, AccountId payer, long micros) {
        return new Operation.Hold(OperationKey.of(key), payer, PROVIDER, MicroUsd.ofMicros(micros),
                Instant.now().plus(Duration.ofMinutes(10)), Optional.of(SPEC));
    }

    private static void assertNothingHeld(RemoteSettlement c) {
        assertEquals(0, c.waitingOperations(), "operations still held");
        assertEquals(0, c.waitingBytes(), "bytes still held");
    }

    private static Throwable failure(CompletableFuture<?> f) {
        CompletionException e = assertThrows(CompletionException.class, f::join);
        return e.getCause();
    }

    private static void awaitTrue(BooleanSupplier c, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, what);
            Thread.sleep(5);
        }
    }

    @Test
    void answered_andRefused_releaseEveryOperation(@TempDir Path dir) {
        RemoteSettlement c = client(ledger(dir), b -> b);
        List<CompletableFuture<Applied>> ok = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            Operation.Hold h = hold("buyer:acme/w/" + i, BUYER, 1 + i);
            ok.add(c.apply(h).thenCompose(a -> c.apply(new Operation.Post(OperationKey.of(h.key().value() + "/post"),
                    h.key(), MicroUsd.ofMicros(1)))));
        }
        // Refused: a payer this key may not use, and a hold past the buyer's funds.
        CompletableFuture<Applied> notMine = c.apply(hold("buyer:other/w/0", OTHER, 5));
        CompletableFuture<Applied> tooMuch = c.apply(hold("buyer:acme/w/big", BUYER, 2_000_000));
        ok.forEach(CompletableFuture::join);
        assertInstanceOf(dev.depin.settlement.SettlementException.class, failure(notMine));
        assertInstanceOf(dev.depin.settlement.SettlementException.class, failure(tooMuch));
        assertNothingHeld(c);
        assertEquals(100, jdbc.balance(PROVIDER).posted());
    }

    @Test
    void lastTrysDeadline_releasesItsOperations() throws Exception {
        List<StreamObserver<ApplyBatchReply>> calls = new CopyOnWriteArrayList<>();
        AtomicInteger received = new AtomicInteger();
        RemoteSettlement c = client(silent(calls, received),
                b -> b.retry(RetryPolicy.NONE).callTimeout(Duration.ofMillis(300)));
        CompletableFuture<Applied> f = c.apply(hold("buyer:acme/d/0", BUYER, 7));
        Throwable t = failure(f);
        assertInstanceOf(LedgerFailureException.class, t);
        assertTrue(t.getMessage().contains("DEADLINE_EXCEEDED"), t.getMessage());
        assertEquals(1, received.get(), "the operation reached the service before its deadline passed");
        assertNothingHeld(c);
    }

    @Test
    void close_withCallsInFlightAndOperationsQueued_releasesThemAll() throws Exception {
        List<StreamObserver<ApplyBatchReply>> calls = new CopyOnWriteArrayList<>();
        AtomicInteger received = new AtomicInteger();
        RemoteSettlement c = client(silent(calls, received), b -> b.maxOperationsPerCall(2)
                .callTimeout(Duration.ofMinutes(5)));
        List<CompletableFuture<Applied>> sent = new ArrayList<>();
        for (int i = 0; i < 37; i++) { // 8 calls of 2 (or a lone first one) in flight, the rest queued
            sent.add(c.apply(hold("buyer:acme/c/" + i, BUYER, 1 + i)));
        }
        awaitTrue(() -> calls.size() == RemoteSettlement.BATCHES_IN_FLIGHT, "every call the client may have out reached the service");
        assertEquals(37, c.waitingOperations());
        assertTrue(c.waitingBytes() > 0);
        assertTrue(received.get() < 37, "some operations still queued: " + received.get());
        c.close();
        for (CompletableFuture<Applied> f : sent) {
            assertInstanceOf(LedgerFailureException.class, failure(f));
        }
        assertNothingHeld(c);
    }

    @Test
    void beyondTheBounds_anOperationFailsAtOnce_andRoomComesBackAsOthersEnd() throws Exception {
        List<StreamObserver<ApplyBatchReply>> calls = new CopyOnWriteArrayList<>();
        AtomicInteger received = new AtomicInteger();
        RemoteSettlement c = client(silent(calls, received), b -> b.maxWaiting(3, 1 << 20)
                .callTimeout(Duration.ofMinutes(5)));
        List<CompletableFuture<Applied>> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(c.apply(hold("buyer:acme/b/" + i, BUYER, 1)));
        }
        CompletableFuture<Applied> fourth = c.apply(hold("buyer:acme/b/3", BUYER, 1));
        Throwable t = failure(fourth);
        assertInstanceOf(LedgerFailureException.class, t);
        assertTrue(t.getMessage().contains("holds 3 operations not yet answered, the most it holds (maxWaiting)"),
                t.getMessage());
        assertTrue(t.getMessage().contains("again later with the same key"), t.getMessage());
        assertEquals(3, c.waitingOperations());
        // A call's end frees its operations' room: the service refuses the first call.
        awaitTrue(() -> !calls.isEmpty(), "the first call reached the service");
        calls.get(0).onError(Status.INVALID_ARGUMENT.withDescription("refused by the test").asRuntimeException());
        awaitTrue(() -> c.waitingOperations() < 3, "the refused call's operations were let go");
        int left = c.waitingOperations();
        CompletableFuture<Applied> next = c.apply(hold("buyer:acme/b/4", BUYER, 1));
        assertFalse(next.isDone(), "admitted once there was room");
        assertEquals(left + 1, c.waitingOperations());
        c.close();
        assertInstanceOf(LedgerFailureException.class, failure(next));
        // A call still in flight at close() ends on gRPC's executor, possibly after close()
        // returns; each operation is let go before its future fails, so wait for the futures.
        // The refused call's operations failed with the service's refusal, the rest with the close.
        for (CompletableFuture<Applied> f : held) {
            Throwable e = failure(f);
            assertTrue(e instanceof LedgerFailureException || e instanceof InvalidArgumentException, e.toString());
        }
        assertNothingHeld(c);
    }

    @Test
    void beyondTheByteBound_anOperationFailsAtOnce() throws Exception {
        List<StreamObserver<ApplyBatchReply>> calls = new CopyOnWriteArrayList<>();
        AtomicInteger received = new AtomicInteger();
        RemoteSettlement c = client(silent(calls, received), b -> b.maxWaiting(1_000, 1 << 10)
                .callTimeout(Duration.ofMinutes(5)));
        List<CompletableFuture<Applied>> sent = new ArrayList<>();
        CompletableFuture<Applied> refused = null;
        for (int i = 0; i < 100 && refused == null; i++) {
            CompletableFuture<Applied> f = c.apply(hold("buyer:acme/bytes/" + i, BUYER, 1));
            if (f.isCompletedExceptionally()) {
                refused = f;
            } else {
                sent.add(f);
            }
        }
        assertTrue(refused != null, "a 1 KiB bound refused one of 100 holds");
        Throwable t = failure(refused);
        assertInstanceOf(LedgerFailureException.class, t);
        assertTrue(t.getMessage().contains("bytes of operations not yet answered, and this one's"), t.getMessage());
        assertTrue(t.getMessage().contains("would pass the most it holds, 1024 (maxWaiting)"), t.getMessage());
        assertTrue(c.waitingBytes() <= 1024, "held " + c.waitingBytes());
        assertEquals(sent.size(), c.waitingOperations());
        assertTrue(sent.size() >= 1, "one operation always fits");
        c.close();
        sent.forEach(f -> assertInstanceOf(LedgerFailureException.class, failure(f)));
        assertNothingHeld(c);
    }

    @Test
    void maxWaiting_outsideItsRange_isRefused() {
        RemoteSettlement.Builder b = RemoteSettlement.builder(BUYER_KEY, "127.0.0.1:1", LEDGER_KEY.publicKey());
        assertEquals("waiting operations 0 must be 1 to 16777216",
                assertThrows(InvalidArgumentException.class, () -> b.maxWaiting(0, 1 << 20)).getMessage());
        assertEquals("waiting bytes 1023 must be 1 KiB to 1 GiB",
                assertThrows(InvalidArgumentException.class, () -> b.maxWaiting(1, 1023)).getMessage());
        assertEquals("waiting bytes 1073741825 must be 1 KiB to 1 GiB",
                assertThrows(InvalidArgumentException.class, () -> b.maxWaiting(1, (1L << 30) + 1)).getMessage());
    }
}
