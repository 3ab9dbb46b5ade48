package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.LedgerService;
import dev.depin.grpc.internal.LedgerWire;
import dev.depin.grpc.internal.Malformed;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.PeerKeys;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.ApplyRequest;
import dev.depin.grpc.internal.wire.ApplyResult;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.ForwardingLedger;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The settlement service's batches: {@code ApplyBatch} answers each operation as {@code Apply}
 * would (checked against {@code Apply}'s own answer to the same request), within its size and
 * per-key limits, admitting as many operations as the key has room for; {@link RemoteSettlement}
 * batches many concurrent operations and still applies each exactly once, makes progress against
 * a per-key limit far below its batch size, and falls back to one {@code Apply} per operation on
 * a service that has no {@code ApplyBatch}.
 */
class LedgerServiceBatchTest {
    private static final long SEED = 20261205L;
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId OTHER = AccountId.of("buyer:other");
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());
    private static final String SPEC = "5e".repeat(32);

    private JdbcLedger jdbc;
    private LedgerServer server;
    private Server bare;
    private ExecutorService bareThreads;
    private final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeEach
    void open(@TempDir Path dir) {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY).open();
        jdbc.open(BUYER, AccountKind.BUYER, false).join();
        jdbc.open(OTHER, AccountKind.BUYER, false).join();
        jdbc.open(PROVIDER, AccountKind.PROVIDER, false).join();
        jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofMicros(1_000_000_000))).join();
        jdbc.apply(new Operation.Mint(OperationKey.of("fund-other"), OTHER, MicroUsd.ofMicros(1_000_000))).join();
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
        if (bare != null) {
            bare.shutdownNow();
            bare.awaitTermination(5, TimeUnit.SECONDS);
            bareThreads.shutdownNow();
        }
        assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
        assertEquals(0, jdbc.balances().stream().mapToLong(Balance::posted).sum());
        jdbc.close();
    }

    private LedgerServer serve(int maxInFlightPerKey) {
        server = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER).build())
                .maxInFlightPerKey(maxInFlightPerKey).start();
        return server;
    }

    private LedgerGrpc.LedgerBlockingStub raw(String address) {
        ManagedChannel c = NettyChannelBuilder.forTarget(address)
                .sslContext(NodeTls.client(NodeTls.identity(BUYER_KEY), LEDGER_KEY.publicKey())).build();
        channels.add(c);
        return LedgerGrpc.newBlockingStub(c).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static ByteString json(Operation op) {
        return ByteString.copyFrom(op.toJson());
    }

    private static ByteString json(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    private static Operation.Hold hold(String key, AccountId payer, long micros) {
        return new Operation.Hold(OperationKey.of(key), payer, PROVIDER, MicroUsd.ofMicros(micros),
                Instant.now().plus(Duration.ofMinutes(10)), Optional.of(SPEC));
    }

    @Test
    void applyBatch_answersEachOperationAsApplyWould() {
        LedgerGrpc.LedgerBlockingStub stub = raw(serve(4_096).address());
        Operation.Hold h1 = hold("buyer:acme/j1/hold", BUYER, 10_000);
        List<ByteString> refusedAlone = List.of(
                json("{\"op\":\"hold\",\"key\":\"k\""),
                json(hold("buyer:acme/x/hold", OTHER, 1)),
                json(new Operation.Post(OperationKey.of("buyer:acme/none/post"), OperationKey.of("buyer:acme/none/hold"),
                        MicroUsd.ofMicros(1))),
                json(new Operation.Mint(OperationKey.of("buyer:acme/mint"), BUYER, MicroUsd.ofMicros(1))),
                json(hold("ledger:x", BUYER, 1)));
        List<Balance> before = jdbc.balances();
        ApplyBatchReply first = stub.applyBatch(ApplyBatchRequest.newBuilder().addOperationJson(json(h1))
                .addAllOperationJson(refusedAlone).build());
        assertEquals(1 + refusedAlone.size(), first.getResultsCount());
        Applied applied = LedgerWire.applied(first.getResults(0).getApplied());
        assertEquals(h1.key(), applied.operation().key());
        applied.certificate().orElseThrow().verify(LEDGER_KEY.publicKey(), PROVIDER_KEY.nodeId(), SPEC, new dev.depin.money.Price(dev.depin.money.MicroUsd.ofMicros(1), dev.depin.money.MicroUsd.ofMicros(1)), Instant.now());
        // Each refusal in the batch is exactly what Apply says to the same request alone.
        for (int i = 0; i < refusedAlone.size(); i++) {
            ApplyResult r = first.getResults(1 + i);
            assertTrue(r.hasRefused(), "operation " + (1 + i) + " was refused");
            ByteString request = refusedAlone.get(i);
            StatusRuntimeException alone = assertThrows(StatusRuntimeException.class,
                    () -> stub.apply(ApplyRequest.newBuilder().setOperationJson(request).build()));
            assertEquals(alone.getStatus().getCode().value(), r.getRefused().getCode(), r.toString());
            assertEquals(alone.getStatus().getDescription(), r.getRefused().getMessage());
            String reason = alone.getTrailers() == null ? null : alone.getTrailers().get(LedgerWire.REASON);
            assertEquals(reason == null ? "" : reason, r.getRefused().getReason());
        }
        assertEquals(List.of(Status.Code.INVALID_ARGUMENT, Status.Code.PERMISSION_DENIED, Status.Code.NOT_FOUND,
                        Status.Code.PERMISSION_DENIED, Status.Code.INVALID_ARGUMENT),
                first.getResultsList().subList(1, first.getResultsCount()).stream()
                        .map(r -> Status.fromCodeValue(r.getRefused().getCode()).getCode()).toList());
        assertTrue(first.getResults(2).getRefused().getMessage().startsWith("key " + BUYER_KEY.nodeId().shortId()
                + " may not hold from account buyer:other, which it does not act for"), first.getResults(2).toString());
        assertEquals("UNKNOWN_HOLD", first.getResults(3).getRefused().getReason());
        assertTrue(first.getResults(5).getRefused().getMessage().startsWith("operation key ledger:x begins with ledger:"),
                first.getResults(5).toString());
        assertEquals(before.stream().filter(b -> !b.account().equals(BUYER) && !b.account().equals(PROVIDER)).toList(),
                jdbc.balances().stream().filter(b -> !b.account().equals(BUYER) && !b.account().equals(PROVIDER)).toList(),
                "only the hold moved money");
        assertEquals(10_000, jdbc.balance(BUYER).held());

        // The hold's post, an identical retry of the hold (its original result), and its key
        // reused for another hold (a conflict, described without the other operation's fields).
        Operation.Post post = new Operation.Post(OperationKey.of("buyer:acme/j1/post"), h1.key(), MicroUsd.ofMicros(4_000));
        ApplyBatchReply second = stub.applyBatch(ApplyBatchRequest.newBuilder().addOperationJson(json(post))
                .addOperationJson(json(h1)).addOperationJson(json(hold("buyer:acme/j1/hold", BUYER, 99))).build());
        assertEquals(post.key(), LedgerWire.applied(second.getResults(0).getApplied()).operation().key());
        assertEquals(applied.sequence(), LedgerWire.applied(second.getResults(1).getApplied()).sequence(),
                "an identical retry returns the original result");
        assertEquals("IDEMPOTENCY_CONFLICT", second.getResults(2).getRefused().getReason());
        assertEquals("this key was already used for another operation: use a new key for a different operation",
                second.getResults(2).getRefused().getMessage());
        assertEquals(new Balance(BUYER, AccountKind.BUYER, false, 1_000_000_000 - 4_000, 0), jdbc.balance(BUYER));
        assertEquals(List.of(), jdbc.openHolds());
    }

    @Test
    void omitEcho_leavesOutOnlyTheOperation_andBatchedHoldsShareSignedRoots() {
        LedgerGrpc.LedgerBlockingStub stub = raw(serve(4_096).address());
        ApplyBatchRequest.Builder req = ApplyBatchRequest.newBuilder().setOmitEcho(true);
        List<Operation.Hold> holds = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            holds.add(hold("buyer:acme/echo/" + i, BUYER, 100 + i));
            req.addOperationJson(json(holds.get(i)));
        }
        ApplyBatchReply quiet = stub.applyBatch(req.build());
        dev.depin.settlement.VerifiedRoots roots = new dev.depin.settlement.VerifiedRoots(64);
        java.util.Set<String> batches = new java.util.HashSet<>();
        for (int i = 0; i < holds.size(); i++) {
            dev.depin.grpc.internal.wire.AppliedReply m = quiet.getResults(i).getApplied();
            assertTrue(m.getOperationJson().isEmpty(), "no echo asked for, none sent");
            assertTrue(m.getPostingsCount() > 0, "the legs still come");
            Applied a = LedgerWire.applied(m, holds.get(i));
            assertEquals(holds.get(i), a.operation(), "the client keeps the operation it sent");
            dev.depin.settlement.HoldCertificate c = a.certificate().orElseThrow();
            assertEquals(2, c.version());
            assertEquals(holds.get(i).key(), c.hold());
            c.verify(LEDGER_KEY.publicKey(), PROVIDER_KEY.nodeId(), SPEC, new dev.depin.money.Price(MicroUsd.ofMicros(1),
                    MicroUsd.ofMicros(1)), Instant.now(), roots);
            batches.add(c.envelope().digestHex());
        }
        assertEquals(batches.size(), roots.size(), "each batch root checked once");
        // Without omit_echo (what an older client sends), the same retry is echoed in full.
        ApplyBatchReply echoed = stub.applyBatch(ApplyBatchRequest.newBuilder().addOperationJson(json(holds.get(0))).build());
        assertEquals(holds.get(0), LedgerWire.applied(echoed.getResults(0).getApplied()).operation());
        assertEquals(quiet.getResults(0).getApplied().getSequence(), echoed.getResults(0).getApplied().getSequence());
        // Apply alone: the same.
        Operation.Post post = new Operation.Post(OperationKey.of("buyer:acme/echo/0/post"), holds.get(0).key(),
                MicroUsd.ofMicros(50));
        dev.depin.grpc.internal.wire.AppliedReply alone = stub.apply(ApplyRequest.newBuilder().setOperationJson(json(post))
                .setOmitEcho(true).build());
        assertTrue(alone.getOperationJson().isEmpty());
        assertTrue(alone.getPostingsCount() > 0);
        assertEquals(post, LedgerWire.applied(stub.apply(ApplyRequest.newBuilder().setOperationJson(json(post)).build()))
                .operation());
    }

    /**
     * The service hands what a peer sends to the ledger in its address's turn
     * ({@code applyAll(operations, source)}, which {@link JdbcLedger} takes in turns between
     * sources), by {@code ApplyBatch} and by {@code Apply} alike.
     */
    @Test
    void operations_areHandedToTheLedgerInTheirAddresssTurn() {
        List<String> handed = java.util.Collections.synchronizedList(new ArrayList<>());
        dev.depin.settlement.spi.Settlement recording = new ForwardingLedger(jdbc) {
            @Override
            public List<java.util.concurrent.CompletableFuture<dev.depin.settlement.Applied>> applyAll(List<Operation> ops,
                                                                                                   String source) {
                handed.add(source + " x" + ops.size());
                return jdbc.applyAll(ops, source);
            }
        };
        server = LedgerServer.builder(recording, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER)
                .build()).start();
        LedgerGrpc.LedgerBlockingStub stub = raw(server.address());
        ApplyBatchRequest.Builder req = ApplyBatchRequest.newBuilder();
        for (int i = 0; i < 3; i++) {
            req.addOperationJson(json(hold("buyer:acme/turn/" + i, BUYER, 100)));
        }
        ApplyBatchReply reply = stub.applyBatch(req.build());
        for (int i = 0; i < 3; i++) {
            assertTrue(reply.getResults(i).hasApplied(), reply.getResults(i).toString());
        }
        Operation.Post post = new Operation.Post(OperationKey.of("buyer:acme/turn/0/post"), OperationKey.of("buyer:acme/turn/0"),
                MicroUsd.ofMicros(50));
        assertEquals(post, LedgerWire.applied(stub.apply(ApplyRequest.newBuilder().setOperationJson(json(post)).build()))
                .operation());
        assertEquals(2, handed.size(), handed::toString);
        String source = handed.get(0).substring(0, handed.get(0).indexOf(' '));
        assertTrue(source.equals("127.0.0.1") || source.equals("0:0:0:0::/64"), "the loopback address group: " + source);
        assertEquals(List.of(source + " x3", source + " x1"), handed);
    }

    @Test
    void applyBatch_handsEachChunkToOneGroupCommit_soItsHoldsShareOneRoot() {
        LedgerGrpc.LedgerBlockingStub stub = raw(serve(4_096).address());
        // 150 holds: chunks of 64, 64 and 22. Handed one by one, an idle writer would commit the
        // first hold or few alone while the call thread parsed the rest.
        ApplyBatchRequest.Builder req = ApplyBatchRequest.newBuilder().setOmitEcho(true);
        List<Operation.Hold> holds = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            holds.add(hold("buyer:acme/chunk/" + i, BUYER, 100 + i));
            req.addOperationJson(json(holds.get(i)));
        }
        ApplyBatchReply reply = stub.applyBatch(req.build());
        dev.depin.settlement.VerifiedRoots roots = new dev.depin.settlement.VerifiedRoots(64);
        String[] root = new String[holds.size()];
        for (int i = 0; i < holds.size(); i++) {
            dev.depin.settlement.HoldCertificate c = LedgerWire.applied(reply.getResults(i).getApplied(), holds.get(i))
                    .certificate().orElseThrow();
            c.verifyIssuer(LEDGER_KEY.publicKey(), roots);
            int chunk = i / LedgerService.CHUNK;
            int chunkSize = Math.min(LedgerService.CHUNK, holds.size() - chunk * LedgerService.CHUNK);
            assertTrue(c.batch().orElseThrow().leafCount() >= chunkSize, "hold " + i + " in a root of "
                    + c.batch().orElseThrow().leafCount() + ", smaller than its chunk of " + chunkSize);
            root[i] = c.envelope().digestHex();
            if (i % LedgerService.CHUNK != 0) {
                assertEquals(root[i - 1], root[i], "hold " + i + " under another root than the hold before it in its chunk");
            }
        }
    }

    @Test
    void applyBatch_outsideItsLimits_isRefusedWhole() {
        LedgerGrpc.LedgerBlockingStub stub = raw(serve(4_096).address());
        List<Balance> before = jdbc.balances();
        assertStatus(Status.Code.INVALID_ARGUMENT, "a batch of 0 operations: send 1 to 1024 in one ApplyBatch",
                () -> stub.applyBatch(ApplyBatchRequest.getDefaultInstance()));
        ApplyBatchRequest.Builder many = ApplyBatchRequest.newBuilder();
        for (int i = 0; i <= LedgerServer.MAX_BATCH_OPERATIONS; i++) {
            many.addOperationJson(json(hold("buyer:acme/many/" + i, BUYER, 1)));
        }
        // 1,025 holds of about 250 bytes are over 64 KiB: refused by size before they are counted.
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, "gRPC message exceeds maximum size 65536",
                () -> stub.applyBatch(many.build()));
        ApplyBatchRequest.Builder tiny = ApplyBatchRequest.newBuilder();
        for (int i = 0; i <= LedgerServer.MAX_BATCH_OPERATIONS; i++) {
            tiny.addOperationJson(json("{}"));
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, "a batch of 1025 operations: send 1 to 1024 in one ApplyBatch",
                () -> stub.applyBatch(tiny.build()));
        assertEquals(before, jdbc.balances(), "no refused batch changed a balance");
        assertEquals(List.of(), jdbc.openHolds());
    }

    @Test
    void applyBatch_admitsWhatTheKeysLimitLeavesRoomFor_andTheClientGetsThereByRetrying() {
        serve(3);
        LedgerGrpc.LedgerBlockingStub stub = raw(server.address());
        ApplyBatchRequest.Builder five = ApplyBatchRequest.newBuilder();
        for (int i = 0; i < 5; i++) {
            five.addOperationJson(json(hold("buyer:acme/five/" + i, BUYER, 7)));
        }
        ApplyBatchReply reply = stub.applyBatch(five.build());
        for (int i = 0; i < 3; i++) {
            assertTrue(reply.getResults(i).hasApplied(), reply.getResults(i).toString());
        }
        for (int i = 3; i < 5; i++) {
            assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), reply.getResults(i).getRefused().getCode());
            assertEquals("key " + BUYER_KEY.nodeId().shortId() + " may have 3 operations in flight (depin ledger serve "
                    + "--max-in-flight) and had 0 when this call brought 5 more: wait for answers before sending more",
                    reply.getResults(i).getRefused().getMessage());
        }
        assertEquals(3, jdbc.openHolds().size(), "what was refused as busy did not apply");
        assertEquals(0, server.inFlight(), "every slot was let go once answered");

        // A client sending batches of up to 512 against a limit of 3 gets every operation through
        // by retrying the busy ones (each applied once: its key).
        SplittableRandom rnd = new SplittableRandom(SEED);
        System.out.println("LedgerServiceBatchTest seed = " + SEED);
        int n = 60 + rnd.nextInt(40);
        try (RemoteSettlement client = RemoteSettlement.builder(BUYER_KEY, server.address(), LEDGER_KEY.publicKey())
                .retry(new RetryPolicy(100, Duration.ofMillis(1), Duration.ofMillis(20), 0.5)).connect()) {
            List<CompletableFuture<Applied>> holds = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                holds.add(client.apply(hold("buyer:acme/many/" + i, BUYER, 1 + rnd.nextInt(1_000))));
            }
            CompletableFuture.allOf(holds.toArray(CompletableFuture[]::new)).join();
            List<CompletableFuture<Applied>> ends = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                OperationKey h = OperationKey.of("buyer:acme/many/" + i);
                ends.add(client.apply(i % 2 == 0 ? new Operation.Post(OperationKey.of("buyer:acme/many/" + i + "/post"), h,
                        MicroUsd.ofMicros(1)) : new Operation.VoidHold(OperationKey.of("buyer:acme/many/" + i + "/void"), h)));
            }
            CompletableFuture.allOf(ends.toArray(CompletableFuture[]::new)).join();
        }
        List<OpenHold> open = jdbc.openHolds();
        assertEquals(3, open.size(), "the batch's three holds are open, each of the client's resolved: " + open);
        assertEquals((n + 1) / 2, jdbc.balance(PROVIDER).posted(), "each even hold posted 1 micro-USD, once");
    }

    /** Serves the same service without the named methods, as an older service would be. */
    private String serveWithout(String... methods) throws java.io.IOException {
        bareThreads = Executors.newFixedThreadPool(2);
        ServerServiceDefinition full = Malformed.refuseWithInvalidArgument(new LedgerService(jdbc,
                LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER).build(), LEDGER_KEY.nodeId(), bareThreads, 4_096,
                30_000).bindService());
        ServiceDescriptor.Builder d = ServiceDescriptor.newBuilder(full.getServiceDescriptor().getName());
        List<ServerMethodDefinition<?, ?>> kept = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : full.getMethods()) {
            String name = m.getMethodDescriptor().getFullMethodName();
            if (java.util.Arrays.stream(methods).noneMatch(x -> name.endsWith("/" + x))) {
                kept.add(m);
                d.addMethod(m.getMethodDescriptor());
            }
        }
        for (String x : methods) {
            assertFalse(full.getServiceDescriptor().getMethods().stream().map(MethodDescriptor::getFullMethodName)
                    .noneMatch(m -> m.endsWith("/" + x)), "the full service has " + x);
        }
        ServerServiceDefinition.Builder old = ServerServiceDefinition.builder(d.build());
        kept.forEach(old::addMethod);
        bare = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(NodeTls.server(NodeTls.identity(LEDGER_KEY))).executor(bareThreads)
                .addService(ServerInterceptors.intercept(old.build(), new PeerKeys())).build().start();
        return "127.0.0.1:" + bare.getPort();
    }

    /** 40 jobs (a hold, then its post) through {@code client}, all posted. */
    private void holdAndPost(RemoteSettlement client, String prefix) {
        List<CompletableFuture<Applied>> jobs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Operation.Hold h = hold("buyer:acme/" + prefix + "/" + i, BUYER, 100);
            jobs.add(client.apply(h).thenCompose(a -> {
                assertEquals(h.key(), a.certificate().orElseThrow().hold());
                return client.apply(new Operation.Post(OperationKey.of(h.key().value() + "/post"), h.key(),
                        MicroUsd.ofMicros(60)));
            }));
        }
        CompletableFuture.allOf(jobs.toArray(CompletableFuture[]::new)).join();
        for (CompletableFuture<Applied> j : jobs) {
            assertTrue(j.join().operation() instanceof Operation.Post);
        }
    }

    @Test
    void remoteSettlement_onAServiceWithoutApplyBatch_sendsOneOperationPerCall() throws Exception {
        // A service as it was before batches: the same service, without ApplyBatch and ApplyOperations.
        String address = serveWithout("ApplyBatch", "ApplyOperations");
        try (RemoteSettlement client = RemoteSettlement.builder(BUYER_KEY, address, LEDGER_KEY.publicKey()).connect()) {
            holdAndPost(client, "old");
            assertEquals(0, client.waitingOperations(), "the client let go of every operation");
            assertEquals(0, client.waitingBytes());
        }
        assertEquals(40 * 60, jdbc.balance(PROVIDER).posted());
        assertEquals(List.of(), jdbc.openHolds());
    }

    @Test
    void remoteSettlement_onAServiceWithoutApplyOperations_sendsJsonBatches() throws Exception {
        // A service as it was before the binary form: ApplyBatch, no ApplyOperations.
        String address = serveWithout("ApplyOperations");
        try (RemoteSettlement client = RemoteSettlement.builder(BUYER_KEY, address, LEDGER_KEY.publicKey()).connect()) {
            holdAndPost(client, "json");
            assertEquals(0, client.waitingOperations(), "the client let go of every operation");
            assertEquals(0, client.waitingBytes());
        }
        assertEquals(40 * 60, jdbc.balance(PROVIDER).posted());
        assertEquals(List.of(), jdbc.openHolds());
    }

    @Test
    void remoteSettlement_withBinaryOperationsOff_isAnOldClient_andStillServed() {
        // An old client sends JSON batches (ApplyBatch) to a service that also has ApplyOperations.
        try (RemoteSettlement client = RemoteSettlement.builder(BUYER_KEY, serve(4_096).address(), LEDGER_KEY.publicKey())
                .binaryOperations(false).connect()) {
            holdAndPost(client, "json-client");
            assertEquals(0, client.waitingOperations(), "the client let go of every operation");
            assertEquals(0, client.waitingBytes());
        }
        assertEquals(40 * 60, jdbc.balance(PROVIDER).posted());
        assertEquals(List.of(), jdbc.openHolds());
    }

    private static void assertStatus(Status.Code code, String prefix, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        String d = String.valueOf(e.getStatus().getDescription());
        assertTrue(d.startsWith(prefix), "expected '" + prefix + "...', got '" + d + "'");
    }
}
