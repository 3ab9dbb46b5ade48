package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DisputeChunk;
import dev.depin.grpc.internal.wire.DisputeReply;
import dev.depin.grpc.internal.wire.DisputeStart;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.job.Job;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A buyer killed with SIGKILL between a liar's result and its dispute: the buyer (a JVM of its
 * own, with a dispute journal) catches the lie, keeps the dispute on the disk and tries to file
 * it, but the service's only dispute slot is held by a stalled upload, so the dispute cannot
 * have reached the service when the buyer is killed. A buyer built again on the same journal
 * and session files it from the journal within the window: the liar's claim is voided, its
 * stake slashed, it is never paid, and the journal is emptied.
 */
class DisputeKillTest {
    private static final long SEED = 20261206L;
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");

    /** The job both buyers know: SAXPY over seeded integers, every element spot-checked. */
    static Job job(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 2_000 + rnd.nextInt(97);
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-100, 101);
            y[i] = rnd.nextInt(-100, 101);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3).input("x", x).input("y", y)
                .verification(VerificationPolicy.spotCheck(1.0)).maxPrice(MicroUsd.ofMicros(200_000))
                .timeout(Duration.ofSeconds(120)).build();
    }

    @Test
    void kill9_buyerBetweenTheLiarsResultAndItsDispute_restartedOnItsJournal_disputes(@TempDir Path tmp)
            throws Exception {
        System.out.println("DisputeKillTest seed = " + SEED);
        byte[] buyerSeed = new byte[32];
        new SecureRandom().nextBytes(buyerSeed);
        NodeKeyPair buyerKey = NodeKeyPair.fromSeed(buyerSeed);
        NodeKeyPair liarKey = NodeKeyPair.generate();
        AccountId liar = Escrow.providerAccount(liarKey.nodeId());
        AccountId liarStake = Escrow.stakeAccount(liarKey.nodeId());
        AccountId other = AccountId.of("provider:" + "0f".repeat(32));
        Path journal = tmp.resolve("disputes");
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(tmp.resolve("ledger.db")).certifyHolds(LEDGER_KEY)
                .disputeWindow(Duration.ofMinutes(10)).open();
             LedgerServer service = LedgerServer.builder(jdbc, LEDGER_KEY, LedgerAccess.builder()
                     .grant(buyerKey.publicKey(), BUYER).build())
                     .disputeLimits(1 << 20, 1, Duration.ofMinutes(5)).start();
             DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             RemoteSettlement liarSide = RemoteSettlement.builder(liarKey, service.address(), LEDGER_KEY.publicKey())
                     .connect();
             ClaimAgent greedy = ClaimAgent.builder(liarSide).delay(Duration.ZERO).build();
             ProviderNode liarNode = ProviderNode.builder(liarKey, new CorruptingExecutor(new CpuExecutor(1),
                     CorruptingExecutor.addOneToMiddleElement())).price(new Price(MicroUsd.ofMicros(1_000),
                     MicroUsd.ofMicros(1))).requireHoldCertificates(LEDGER_KEY.publicKey()).onPaidAttempt(greedy).build();
             ProviderServer liarServer = ProviderServer.builder(liarNode, liarKey).directory(dir.address()).start()) {
            liarServer.renewNow();
            jdbc.open(BUYER, AccountKind.BUYER, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("10"))).join();
            jdbc.open(liarStake, AccountKind.STAKE, false).join();
            jdbc.apply(new Operation.Mint(OperationKey.of("stake"), liarStake, MicroUsd.ofUsd("100"))).join();
            // The service's one dispute slot, taken by a stalled upload of a claim on another hold.
            jdbc.open(other, AccountKind.PROVIDER, false).join();
            OperationKey blocker = OperationKey.of("blocker/job/1/hold");
            jdbc.apply(new Operation.Hold(blocker, BUYER, other, MicroUsd.ofMicros(5), java.time.Instant.now()
                    .plus(Duration.ofHours(1)), Optional.of("ab".repeat(32)))).join();
            jdbc.apply(new Operation.Claim(OperationKey.of("blocker-claim"), blocker, MicroUsd.ofMicros(5), "x")).join();
            ManagedChannel raw = NettyChannelBuilder.forTarget(service.address())
                    .sslContext(NodeTls.client(NodeTls.identity(buyerKey), LEDGER_KEY.publicKey())).build();
            StreamObserver<DisputeChunk> stalled = null;
            OperationKey liarHold;
            try {
                LedgerGrpc.LedgerStub stub = LedgerGrpc.newStub(raw);
                // A probe on a connection of its own (the service bounds the streams of one
                // connection). Under load the probe can reach the service before the stalled
                // upload's start and take the slot, which refuses the stalled upload: then the
                // stalled upload is sent again, and the probe looks again.
                java.util.concurrent.atomic.AtomicReference<CompletableFuture<Status>> refused =
                        new java.util.concurrent.atomic.AtomicReference<>();
                java.util.concurrent.atomic.AtomicReference<StreamObserver<DisputeChunk>> stall =
                        new java.util.concurrent.atomic.AtomicReference<>();
                Runnable sendStall = () -> {
                    CompletableFuture<Status> ended = new CompletableFuture<>();
                    refused.set(ended);
                    StreamObserver<DisputeChunk> up = stub.dispute(ending(ended));
                    up.onNext(DisputeChunk.newBuilder().setStart(DisputeStart.newBuilder().setHold(blocker.value())
                            .setRecordBytes(100)).build());
                    stall.set(up);
                };
                sendStall.run();
                waitUntil(() -> {
                    if (refused.get().isDone()) {
                        System.out.println("stalled upload ended: " + refused.get().join() + "; sending it again");
                        sendStall.run();
                        return false;
                    }
                    return slotTaken(service.address(), buyerKey, blocker);
                }, "the stalled upload to take the service's dispute slot");
                stalled = stall.get();

                String[] args = {dir.address(), Hex.encode(buyerSeed), service.address(),
                    Hex.encode(LEDGER_KEY.publicKey().raw()), BUYER.value(), journal.toString(), String.valueOf(SEED)};
                Process buyer = start(args);
                StringBuilder said = new StringBuilder();
                Thread reader = drain(buyer, said);
                try {
                    waitUntil(() -> kept(journal).size() == 1, "the buyer to keep its dispute on the disk");
                    buyer.destroyForcibly(); // SIGKILL: the dispute cannot have reached the service
                    assertTrue(buyer.waitFor(10, TimeUnit.SECONDS));
                } finally {
                    buyer.destroyForcibly();
                    reader.join(5_000);
                }
                System.out.println("the killed buyer said: " + said);
                List<OperationKey> liars = holdsOf(jdbc, liar);
                assertEquals(1, liars.size(), "one attempt, one hold");
                liarHold = liars.get(0);
                waitUntil(() -> jdbc.hold(liarHold).orElseThrow().state() != HoldRecord.State.OPEN,
                        "the liar's claimer to claim");
                assertEquals(HoldRecord.State.CLAIMED, jdbc.hold(liarHold).orElseThrow().state(),
                        "claimed, and not disputed: the buyer died with its dispute");
                assertEquals(1, kept(journal).size(), "the dispute is on the disk");
            } finally {
                if (stalled != null) {
                    stalled.onError(new RuntimeException("the test releases the slot")); // frees the service's slot
                }
                raw.shutdownNow();
                raw.awaitTermination(5, TimeUnit.SECONDS);
            }

            // The buyer comes back on the same journal and session: its recovery files the dispute.
            List<Applied> recovered;
            try (GrpcNetwork net = GrpcNetwork.builder().directory(dir.address()).offerCache(Duration.ZERO).build();
                 RemoteSettlement remote = RemoteSettlement.builder(buyerKey, service.address(), LEDGER_KEY.publicKey())
                         .connect();
                 DepinClient again = DepinClient.builder(net).escrow(Escrow.builder(remote, BUYER)
                         .disputeJournal(journal).build()).build()) {
                recovered = again.recovered();
            }
            System.out.println("recovered: " + recovered.stream().map(a -> a.operation().key().value()).toList());
            assertTrue(recovered.stream().anyMatch(a -> a.operation() instanceof Operation.Dispute d
                    && d.hold().equals(liarHold)), recovered.toString());
            HoldRecord h = jdbc.hold(liarHold).orElseThrow();
            assertEquals(HoldRecord.State.VOIDED, h.state(), "the dispute was upheld");
            assertTrue(h.claim().orElseThrow().disputedBy().isPresent());
            assertEquals(0, jdbc.balance(liar).posted(), "the liar is never paid");
            assertTrue(jdbc.balance(liarStake).posted() < 100_000_000, "the service slashed the liar's stake");
            assertEquals(List.of(), kept(journal), "the answered dispute left the journal");
            // the blocker's claim: the payer agrees (a post of the claim), so nothing stays held
            jdbc.apply(new Operation.Post(OperationKey.of("blocker-post"), blocker, MicroUsd.ofMicros(5))).join();
            assertEquals(List.of(), jdbc.openHolds());
            assertEquals(0, jdbc.balances().stream().mapToLong(Balance::posted).sum(), "the books sum to zero");
            assertTrue(jdbc.audit().sound(), () -> jdbc.audit().violations().toString());
        }
    }

    private static List<OperationKey> holdsOf(JdbcLedger jdbc, AccountId payee) {
        return jdbc.openHolds().stream().filter(h -> h.payee().equals(payee)).map(dev.depin.settlement.OpenHold::key)
                .toList();
    }

    private static List<Path> kept(Path journal) {
        if (!Files.isDirectory(journal)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(journal)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".bin")).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Whether a second upload is refused because the slot is taken (its own stream ends at once). */
    private static boolean slotTaken(String address, NodeKeyPair key, OperationKey hold) {
        ManagedChannel channel = NettyChannelBuilder.forTarget(address)
                .sslContext(NodeTls.client(NodeTls.identity(key), LEDGER_KEY.publicKey())).build();
        try {
            return slotTaken(LedgerGrpc.newStub(channel), hold);
        } finally {
            channel.shutdownNow();
        }
    }

    private static boolean slotTaken(LedgerGrpc.LedgerStub stub, OperationKey hold) {
        CompletableFuture<Status> answer = new CompletableFuture<>();
        StreamObserver<DisputeChunk> probe = stub.dispute(new StreamObserver<>() {
            @Override
            public void onNext(DisputeReply value) {
            }

            @Override
            public void onError(Throwable t) {
                answer.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                answer.complete(Status.OK);
            }
        });
        probe.onNext(DisputeChunk.newBuilder().setStart(DisputeStart.newBuilder().setHold(hold.value())
                .setRecordBytes(100)).build());
        try {
            Status s = answer.get(10, TimeUnit.SECONDS);
            System.out.println("probe: " + s);
            return s.getCode() == Status.Code.RESOURCE_EXHAUSTED && s.getDescription().startsWith(
                    "the service is re-checking as many disputes as it allows at once");
        } catch (Exception e) {
            System.out.println("probe: " + e);
            probe.onError(e); // it was admitted: the stalled one was not yet; give the slot back and look again
            return false;
        }
    }

    /** An answer that completes {@code ended} with the call's status when the service ends the call. */
    private static StreamObserver<DisputeReply> ending(CompletableFuture<Status> ended) {
        return new StreamObserver<>() {
            @Override
            public void onNext(DisputeReply value) {
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        };
    }

    private static Process start(String[] args) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", classPath, "-Xmx256m",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", DisputingBuyerProcess.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static Thread drain(Process p, StringBuilder said) {
        Thread t = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    synchronized (said) {
                        said.append(line).append('\n');
                    }
                }
            } catch (java.io.IOException e) {
                // the process was killed
            }
        }, "buyer-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void waitUntil(BooleanSupplier done, String what) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // a bound, not an assertion
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("gave up waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
