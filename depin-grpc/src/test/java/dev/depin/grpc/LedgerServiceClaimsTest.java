package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ClaimRequest;
import dev.depin.grpc.internal.wire.DisputeChunk;
import dev.depin.grpc.internal.wire.DisputeData;
import dev.depin.grpc.internal.wire.DisputePart;
import dev.depin.grpc.internal.wire.DisputeReply;
import dev.depin.grpc.internal.wire.DisputeStart;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementAssertions;
import dev.depin.settlement.SettlementContract;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Claims and disputes on the settlement service, by honest and hostile clients: a provider's
 * real receipts and a real dispute record come from one job run once for the class, in which
 * one provider lies (its result is caught and disputed) and the other answers honestly. Each
 * refusal is checked for its exact reason or status and for leaving the ledger unchanged.
 */
class LedgerServiceClaimsTest {
    private static final long SEED = 20261205L;
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair LIAR_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair HONEST_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId LIAR = Escrow.providerAccount(LIAR_KEY.nodeId());
    private static final AccountId HONEST = Escrow.providerAccount(HONEST_KEY.nodeId());
    private static final AccountId LIAR_STAKE = Escrow.stakeAccount(LIAR_KEY.nodeId());
    private static final Duration WINDOW = Duration.ofMinutes(5);
    private static final Duration RECHECK = Duration.ofMinutes(3);

    private static Job job;
    private static JobResult honest;
    private static DisputeRecord lie;

    private final SettlementContract.ManualClock clock = new SettlementContract.ManualClock(Instant.now());
    private JdbcLedger jdbc;
    private GatedSettlement gated;
    private LedgerServer server;
    private RemoteSettlement buyer;
    private RemoteSettlement liar;
    private RemoteSettlement provider;

    /** Runs the job whose receipts and dispute record the tests use. */
    @BeforeAll
    static void runTheJob() {
        System.out.println("LedgerServiceClaimsTest seed = " + SEED);
        job = saxpy(SEED, 3000);
        honest = runWithALiar(job, LIAR_KEY, HONEST_KEY);
        lie = honest.disputes().get(0);
    }

    /** SAXPY over {@code n} seeded integers, every element spot-checked. */
    static Job saxpy(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-50, 51);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x).input("y", x)
                .verification(VerificationPolicy.spotCheck(1.0)).timeout(Duration.ofSeconds(120)).build();
    }

    /**
     * Runs the job on a liar (cheaper, so tried first; caught by the spot check) and an honest
     * provider: the honest result, whose one dispute is the liar's record.
     */
    static JobResult runWithALiar(Job job, NodeKeyPair liarKey, NodeKeyPair honestKey) {
        List<ProviderNode> nodes = List.of(
                ProviderNode.builder(liarKey, new CorruptingExecutor(new CpuExecutor(1),
                        CorruptingExecutor.addOneToMiddleElement())).price(new Price(MicroUsd.ofMicros(1_000),
                        MicroUsd.ofMicros(1_000))).build(),
                ProviderNode.builder(honestKey, new CpuExecutor(1)).price(new Price(MicroUsd.ofMicros(10_000),
                        MicroUsd.ofMicros(1_000))).build());
        JobResult result;
        try (LocalNetwork net = LocalNetwork.of(nodes);
             DepinClient client = DepinClient.builder(net).maxAttempts(3).banAfterDisputes(0).build()) {
            result = client.submit(job).result();
        } finally {
            nodes.forEach(ProviderNode::close);
        }
        assertEquals(honestKey.nodeId(), result.provider());
        assertEquals(1, result.disputes().size(), "the liar answered first and was caught");
        assertEquals(liarKey.nodeId(), result.disputes().get(0).provider());
        return result;
    }

    @BeforeEach
    void start(@TempDir Path dir) {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).clock(clock).expirySweep(Duration.ZERO)
                .disputeWindow(WINDOW).recheckWindow(RECHECK).open();
        gated = new GatedSettlement(jdbc);
        server = LedgerServer.builder(gated, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER).build())
                .disputeLimits(1 << 20, 2, Duration.ofSeconds(3)).start();
        buyer = client(BUYER_KEY);
        liar = client(LIAR_KEY);
        provider = client(HONEST_KEY);
        jdbc.open(BUYER, AccountKind.BUYER, false).join();
        jdbc.open(LIAR, AccountKind.PROVIDER, false).join();
        jdbc.open(HONEST, AccountKind.PROVIDER, false).join();
        jdbc.open(LIAR_STAKE, AccountKind.STAKE, false).join();
        jdbc.apply(new Operation.Mint(key("fund"), BUYER, usd(100))).join();
        jdbc.apply(new Operation.Mint(key("stake"), LIAR_STAKE, usd(20))).join();
        // the holds the buyer made for the two attempts, keyed as every escrow keys them
        jdbc.apply(new Operation.Hold(liarHold(), BUYER, LIAR, usd(1), expiry(), Optional.of(honest.specHash()))).join();
        jdbc.apply(new Operation.Hold(honestHold(), BUYER, HONEST, usd(1), expiry(), Optional.of(honest.specHash())))
                .join();
    }

    private RemoteSettlement client(NodeKeyPair key) {
        return RemoteSettlement.builder(key, server.address(), LEDGER_KEY.publicKey()).callTimeout(Duration.ofSeconds(60))
                .connect();
    }

    @AfterEach
    void stop() {
        for (RemoteSettlement c : List.of(buyer, liar, provider)) {
            c.close();
        }
        server.close();
        assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
        assertEquals(0, jdbc.balances().stream().mapToLong(Balance::posted).sum());
        jdbc.close();
    }

    private static OperationKey key(String k) {
        return OperationKey.of(k);
    }

    private static MicroUsd usd(long dollars) {
        return MicroUsd.ofMicros(dollars * 1_000_000);
    }

    private Instant expiry() {
        return clock.instant().plus(Duration.ofMinutes(2));
    }

    private static OperationKey liarHold() {
        return OperationKey.of(BUYER.value() + "/" + lie.jobId(), lie.attempt(), "hold");
    }

    private static OperationKey honestHold() {
        return OperationKey.of(BUYER.value() + "/" + honest.jobId(), honest.attempt(), "hold");
    }

    private static CompletableFuture<Applied> claimWithOwnReceipt(RemoteSettlement client, OperationKey hold, MicroUsd amount,
                                                                  JobResult r) {
        return r.batched() != null ? client.claim(hold, amount, r.batched()) : client.claim(hold, amount, r.receipt());
    }

    private static CompletableFuture<Applied> claimWithLiarsReceipt(RemoteSettlement client, OperationKey hold, MicroUsd amount) {
        return lie.batched() != null ? client.claim(hold, amount, lie.batched()) : client.claim(hold, amount, lie.receipt());
    }

    private static Map<String, ByteBuffer> inputs() {
        return job.inputs();
    }

    @Test
    void claim_byThePayeeWithItsReceipt_isPostedWhenTheWindowEndsAndCannotBeVoided() {
        Applied claim = claimWithOwnReceipt(provider, honestHold(), MicroUsd.ofMicros(700_000), honest).join();
        String digest = honest.batched() != null ? honest.batched().receiptDigestHex() : honest.receipt().digestHex();
        assertEquals(new Operation.Claim(key("claim:sha256:" + digest), honestHold(), MicroUsd.ofMicros(700_000),
                "sha256:" + digest), claim.operation());
        assertEquals(claim, claimWithOwnReceipt(provider, honestHold(), MicroUsd.ofMicros(700_000), honest).join(),
                "a retry returns the first result");
        assertEquals(HoldRecord.State.CLAIMED, jdbc.hold(honestHold()).orElseThrow().state());
        // the buyer can no longer take the money back; the service keeps the claim's keys to itself
        refused(Reason.HOLD_CLAIMED, "hold " + honestHold() + " is claimed by its payee",
                () -> buyer.apply(new Operation.VoidHold(key(BUYER.value() + "/v"), honestHold())).join());
        refused(Reason.NOT_PERMITTED, "key ", () -> buyer.apply(new Operation.VoidHold(
                key("claim:sha256:" + digest + "/void"), honestHold())).join());
        // the same receipt cannot claim a second hold of the same job and attempt (another session's)
        OperationKey second = OperationKey.of("buyer:acme-2/" + honest.jobId(), honest.attempt(), "hold");
        jdbc.apply(new Operation.Hold(second, BUYER, HONEST, usd(1), expiry(), Optional.of(honest.specHash()))).join();
        refused(Reason.IDEMPOTENCY_CONFLICT, "this key was already used for another operation",
                () -> claimWithOwnReceipt(provider, second, usd(1), honest).join());
        clock.advance(WINDOW);
        assertEquals(1, jdbc.postDueClaims());
        assertEquals(700_000, jdbc.balance(HONEST).posted());
        assertEquals(HoldRecord.State.POSTED, jdbc.hold(honestHold()).orElseThrow().state());
        jdbc.apply(new Operation.Expire(key("cleanup"), second)).join();
        jdbc.apply(new Operation.VoidHold(key("cleanup-liar"), liarHold())).join();
    }

    @Test
    void claim_byHostileClients_isRefusedAndChangesNothing() {
        // someone else's hold: the liar's key claims the honest provider's hold
        refused(Reason.NOT_PERMITTED, "key " + LIAR_KEY.nodeId().shortId() + " may not claim hold " + honestHold(),
                () -> claimWithOwnReceipt(liar, honestHold(), usd(1), honest).join());
        // the buyer's key claims a hold that pays a provider
        refused(Reason.NOT_PERMITTED, "key " + BUYER_KEY.nodeId().shortId() + " may not claim",
                () -> claimWithOwnReceipt(buyer, honestHold(), usd(1), honest).join());
        // a receipt the claimer did not sign (the liar's, sent by the honest key for its own hold)
        refused(Reason.CLAIM_REJECTED, "the receipt for hold " + honestHold() + " is not signed by key",
                () -> claimWithLiarsReceipt(provider, honestHold(), usd(1)).join());
        // the claimer's own receipt for another job: the liar's receipt on a hold of another attempt
        OperationKey other = key(BUYER.value() + "/other-job/1/hold");
        jdbc.apply(new Operation.Hold(other, BUYER, LIAR, usd(1), expiry(), Optional.of(honest.specHash()))).join();
        refused(Reason.CLAIM_REJECTED, "the receipt is for job " + lie.jobId() + " attempt " + lie.attempt(),
                () -> claimWithLiarsReceipt(liar, other, usd(1)).join());
        // a receipt for another spec: a hold of the same job and attempt made for another spec
        OperationKey otherSpec = OperationKey.of("buyer:acme-2/" + lie.jobId(), lie.attempt(), "hold");
        jdbc.apply(new Operation.Hold(otherSpec, BUYER, LIAR, usd(1), expiry(), Optional.of("ab".repeat(32)))).join();
        refused(Reason.CLAIM_REJECTED, "the receipt is for spec " + honest.specHash(),
                () -> claimWithLiarsReceipt(liar, otherSpec, usd(1)).join());
        // more than the hold, an unknown hold, a claim of a voided hold
        refused(Reason.POST_EXCEEDS_HOLD, "claim ", () -> claimWithOwnReceipt(provider, honestHold(), usd(2), honest).join());
        OperationKey nobody = OperationKey.of("buyer:acme/" + honest.jobId(), honest.attempt() + 7, "hold");
        refused(Reason.UNKNOWN_HOLD, "no hold has key " + nobody,
                () -> claimWithOwnReceipt(provider, nobody, usd(1), honest).join());
        jdbc.apply(new Operation.VoidHold(key("void-liar-hold"), liarHold())).join();
        refused(Reason.HOLD_RESOLVED, "hold " + liarHold() + " is already VOIDED",
                () -> claimWithLiarsReceipt(liar, liarHold(), usd(1)).join());
        // a receipt that is not one, and no receipt
        ManagedChannel raw = raw(HONEST_KEY);
        try {
            LedgerGrpc.LedgerBlockingStub stub = LedgerGrpc.newBlockingStub(raw).withDeadlineAfter(60, TimeUnit.SECONDS);
            assertStatus(Status.Code.INVALID_ARGUMENT, "the claim's receipt does not parse", () -> stub.claim(
                    ClaimRequest.newBuilder().setHold(honestHold().value()).setAmount(1)
                            .setReceiptEnvelope(ByteString.copyFromUtf8("{\"payloadType\":1}")).build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "a claim carries the receipt", () -> stub.claim(
                    ClaimRequest.newBuilder().setHold(honestHold().value()).setAmount(1).build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "claim amount 0 is out of range", () -> stub.claim(
                    ClaimRequest.newBuilder().setHold(honestHold().value()).build()));
        } finally {
            raw.shutdownNow();
        }
        assertEquals(HoldRecord.State.OPEN, jdbc.hold(honestHold()).orElseThrow().state());
        for (OpenHold h : jdbc.openHolds()) {
            jdbc.apply(new Operation.VoidHold(key(h.key().value() + "/cleanup"), h.key())).join();
        }
    }

    @Test
    void claim_ofAHoldThatNamesItsPrice_isBoundedByWhatTheReceiptComesToAtThatPrice() {
        Price price = new Price(MicroUsd.ofMicros(10_000), MicroUsd.ofMicros(1_000)); // the honest node's offer
        OperationKey priced = OperationKey.of("buyer:acme-p/" + honest.jobId(), honest.attempt(), "hold");
        jdbc.apply(new Operation.Hold(priced, BUYER, HONEST, usd(1), expiry(), Optional.of(honest.specHash()),
                Optional.of(price))).join();
        assertEquals(Optional.of(price), provider.hold(priced).orElseThrow().price(), "the hold's price travels");
        dev.depin.crypto.ExecutionReceipt r = honest.batched() != null ? honest.batched().readReceiptUnverified()
                : dev.depin.crypto.ExecutionReceipt.readUnverified(honest.receipt());
        long bytes = 0;
        for (dev.depin.crypto.BufferDigest b : r.inputs()) {
            bytes += b.bytes();
        }
        for (dev.depin.crypto.BufferDigest b : r.outputs()) {
            bytes += b.bytes();
        }
        assertEquals(job.spec().bytesMoved(), bytes, "the receipt's buffers are the spec's");
        // the charge, computed here apart from the code under test: each part rounded up
        long bound = Math.floorDiv(10_000L * r.deviceTimeNanos() + 999_999_999L, 1_000_000_000L)
                + Math.floorDiv(1_000L * bytes + 999_999_999L, 1_000_000_000L);
        System.out.println("priced claim: device " + r.deviceTimeNanos() + " ns, " + bytes + " bytes, bound " + bound);
        SettlementException e = refused(Reason.CLAIM_REJECTED, "a claim of ", () -> claimWithOwnReceipt(provider,
                priced, MicroUsd.ofMicros(bound + 1), honest).join());
        assertEquals("a claim of " + MicroUsd.ofMicros(bound + 1) + " on hold " + priced + " is more than its receipt "
                + "pays: " + r.deviceTimeNanos() + " ns of device time and " + bytes + " bytes moved at the price the "
                + "hold names (10000 micro-USD per device-second, 1000 per GB) come to " + MicroUsd.ofMicros(bound)
                + " (at most the hold's " + usd(1) + "): claim at most that", e.getMessage());
        // the whole hold, which the service allowed before holds named their price
        refused(Reason.CLAIM_REJECTED, "a claim of " + usd(1) + " on hold " + priced + " is more than its receipt pays",
                () -> claimWithOwnReceipt(provider, priced, usd(1), honest).join());
        assertEquals(HoldRecord.State.OPEN, jdbc.hold(priced).orElseThrow().state(), "refused claims changed nothing");
        claimWithOwnReceipt(provider, priced, MicroUsd.ofMicros(bound), honest).join();
        assertEquals(HoldRecord.State.CLAIMED, jdbc.hold(priced).orElseThrow().state());
        // the buyer posting later than the claim posts what its engine computes, which the claim no longer exceeds
        jdbc.apply(new Operation.Post(key("buyer-post"), priced, Escrow.payable(price, r.deviceTimeNanos(), bytes,
                usd(1)))).join();
        assertEquals(HoldRecord.State.POSTED, jdbc.hold(priced).orElseThrow().state());
        assertEquals(bound, jdbc.balance(HONEST).posted(), "paid its charge, once");
        jdbc.apply(new Operation.VoidHold(key("cleanup-honest"), honestHold())).join();
        jdbc.apply(new Operation.VoidHold(key("cleanup-liar"), liarHold())).join();
    }

    @Test
    void dispute_ofALie_isUpheld_voidsTheHoldAndSlashesTheStake() {
        claimWithLiarsReceipt(liar, liarHold(), usd(1)).join();
        List<Applied> applied = buyer.dispute(liarHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join();
        assertEquals(3, applied.size(), applied.toString());
        assertInstanceOf(Operation.Dispute.class, applied.get(0).operation());
        assertInstanceOf(Operation.VoidHold.class, applied.get(1).operation());
        Operation.Slash slash = assertInstanceOf(Operation.Slash.class, applied.get(2).operation());
        assertEquals(usd(10), slash.total(), "ten times the hold (SlashPolicy.DEFAULT)");
        assertEquals(HoldRecord.State.VOIDED, jdbc.hold(liarHold()).orElseThrow().state());
        assertEquals(0, jdbc.balance(LIAR).posted(), "the liar is never paid");
        assertEquals(usd(10).micros(), jdbc.balance(LIAR_STAKE).posted());
        assertEquals(usd(105).micros(), jdbc.balance(BUYER).posted(), "the buyer got its hold back and half the slash");
        clock.advance(WINDOW.plus(RECHECK));
        assertEquals(0, jdbc.postDueClaims());
        // the same dispute again (a retry whose answer was lost) gets the same answer and moves nothing
        List<Balance> balances = jdbc.balances();
        assertEquals(applied, buyer.dispute(liarHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join());
        assertEquals(balances, jdbc.balances());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), honestHold())).join();
    }

    private static DisputeRecord framed() {
        return framed(honest, HONEST_KEY);
    }

    /** The liar's evidence (the result's one dispute) pinned on the honest provider's receipt: binds to its claim, is not upheld. */
    static DisputeRecord framed(JobResult honest, NodeKeyPair honestKey) {
        DisputeRecord lie = honest.disputes().get(0);
        return new DisputeRecord(honest.jobId(), honest.attempt(), honestKey.nodeId(),
                honestKey.publicKey(), lie.reason(), "framed", lie.evidence(), honest.batched() != null ? null
                : honest.receipt(), honest.batched() != null ? null : honest.wipe(), lie.specJson(), Instant.now(),
                honest.outputs(), honest.batched());
    }

    static String digest(JobResult r) {
        return r.batched() != null ? r.batched().receiptDigestHex() : r.receipt().digestHex();
    }

    @Test
    void dispute_ofAnHonestResult_isRejectedAndTheClaimIsPostedAtOnce() {
        claimWithOwnReceipt(provider, honestHold(), usd(1), honest).join();
        DisputeRecord framed = framed();
        // the lie's record does not dispute this claim's receipt: refused before anything is frozen
        refused(Reason.DISPUTE_REJECTED, "dispute rejected, the claim stands: the record disputes provider " + LIAR,
                () -> buyer.dispute(honestHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join());
        // someone else's key
        refused(Reason.NOT_PERMITTED, "key " + LIAR_KEY.nodeId().shortId() + " may not dispute hold " + honestHold(),
                () -> liar.dispute(honestHold(), framed, inputs(), honest.outputs(), Duration.ofSeconds(60)).join());
        // an unclaimed hold is voided, not disputed
        refused(Reason.HOLD_NOT_CLAIMED, "hold " + liarHold() + " is OPEN",
                () -> buyer.dispute(liarHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join());
        assertEquals(HoldRecord.State.CLAIMED, jdbc.hold(honestHold()).orElseThrow().state());
        // the framed record freezes the claim, the re-check does not uphold it: posted at once
        SettlementException e = reasonOf(Reason.DISPUTE_REJECTED,
                () -> buyer.dispute(honestHold(), framed, inputs(), honest.outputs(), Duration.ofSeconds(60)).join());
        assertTrue(e.getMessage().startsWith("dispute rejected, the claim is posted: "), e.getMessage());
        HoldRecord posted = jdbc.hold(honestHold()).orElseThrow();
        assertEquals(HoldRecord.State.POSTED, posted.state());
        assertEquals(Optional.of(key("claim:sha256:" + digest(honest) + "/post")), posted.resolvedBy());
        assertEquals(usd(1).micros(), jdbc.balance(HONEST).posted(), "paid before the window ends");
        clock.advance(WINDOW.plus(RECHECK));
        assertEquals(0, jdbc.postDueClaims(), "paid once");
        assertEquals(usd(1).micros(), jdbc.balance(HONEST).posted());
        assertEquals(usd(20).micros(), jdbc.balance(LIAR_STAKE).posted());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), liarHold())).join();
    }

    // ---- a dispute frozen before the window's end, decided after it (issue 16 item 2, part 3) --

    /** Waits (at most 60 s) until the hold is in the state: the service applies off the caller's thread. */
    private void awaitState(OperationKey hold, HoldRecord.State state) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (jdbc.hold(hold).orElseThrow().state() != state) {
            assertTrue(System.nanoTime() < until, () -> "hold " + hold + " is " + jdbc.hold(hold).orElseThrow().state()
                    + ", not " + state);
            Thread.sleep(5);
        }
    }

    private SettlementException reasonOf(Reason reason, Supplier<?> action) {
        try {
            action.get();
        } catch (CompletionException e) {
            return SettlementAssertions.assertReason(reason, e.getCause());
        } catch (RuntimeException e) {
            return SettlementAssertions.assertReason(reason, e);
        }
        throw new AssertionError("expected " + reason + " but it was done");
    }

    @Test
    void dispute_uploaded1msBeforeTheWindowEnds_isUpheldByARecheckThatEndsAfterIt() throws Exception {
        claimWithLiarsReceipt(liar, liarHold(), usd(1)).join();
        Instant windowEnd = jdbc.hold(liarHold()).orElseThrow().claim().orElseThrow().windowEnds();
        clock.advance(WINDOW.minusMillis(1));
        gated.shut();
        CompletableFuture<List<Applied>> dispute = buyer.dispute(liarHold(), lie, inputs(), lie.outputs(),
                Duration.ofSeconds(60));
        awaitState(liarHold(), HoldRecord.State.DISPUTED);
        clock.advance(Duration.ofMillis(2));
        assertEquals(0, jdbc.postDueClaims(), "a frozen claim is not posted when its window ends");
        gated.open();
        List<Applied> applied = dispute.join();
        assertEquals(3, applied.size(), applied.toString());
        assertTrue(applied.get(0).at().isBefore(windowEnd), "frozen before the window's end: " + applied.get(0).at());
        Operation.VoidHold voided = assertInstanceOf(Operation.VoidHold.class, applied.get(1).operation());
        assertTrue(applied.get(1).at().isAfter(windowEnd), "decided after the window's end: " + applied.get(1).at());
        assertEquals(liarHold(), voided.hold());
        assertEquals(HoldRecord.State.VOIDED, jdbc.hold(liarHold()).orElseThrow().state());
        assertEquals(0, jdbc.balance(LIAR).posted(), "the liar is never paid");
        assertEquals(usd(10).micros(), jdbc.balance(LIAR_STAKE).posted(), "slashed ten times the hold");
        assertEquals(usd(105).micros(), jdbc.balance(BUYER).posted());
        clock.advance(RECHECK.plus(WINDOW));
        assertEquals(0, jdbc.postDueClaims());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), honestHold())).join();
    }

    @Test
    void dispute_uploaded1msBeforeTheWindowEnds_isRejectedByARecheckThatEndsAfterIt_andPostedAtOnce() throws Exception {
        claimWithOwnReceipt(provider, honestHold(), MicroUsd.ofMicros(600_000), honest).join();
        clock.advance(WINDOW.minusMillis(1));
        gated.shut();
        CompletableFuture<List<Applied>> dispute = buyer.dispute(honestHold(), framed(), inputs(), honest.outputs(),
                Duration.ofSeconds(60));
        awaitState(honestHold(), HoldRecord.State.DISPUTED);
        clock.advance(Duration.ofMillis(2));
        assertEquals(0, jdbc.postDueClaims(), "a frozen claim is not posted when its window ends");
        gated.open();
        SettlementException e = reasonOf(Reason.DISPUTE_REJECTED, dispute::join);
        assertTrue(e.getMessage().startsWith("dispute rejected, the claim is posted: "), e.getMessage());
        HoldRecord posted = jdbc.hold(honestHold()).orElseThrow();
        assertEquals(HoldRecord.State.POSTED, posted.state());
        assertEquals(Optional.of(key("claim:sha256:" + digest(honest) + "/post")), posted.resolvedBy());
        assertEquals(600_000, jdbc.balance(HONEST).posted(), "the claim, at once");
        assertEquals(usd(100).micros() - 600_000, jdbc.balance(BUYER).posted());
        clock.advance(RECHECK.plus(WINDOW));
        assertEquals(0, jdbc.postDueClaims(), "paid once");
        assertEquals(usd(20).micros(), jdbc.balance(LIAR_STAKE).posted());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), liarHold())).join();
    }

    @Test
    void dispute_uploadedAtOrAfterTheWindowEnd_isRefusedWindowClosed() {
        Applied claim = claimWithLiarsReceipt(liar, liarHold(), usd(1)).join();
        clock.advance(WINDOW);
        String prefix = "claim " + claim.operation().key() + " on hold " + liarHold() + " could be disputed until "
                + jdbc.hold(liarHold()).orElseThrow().claim().orElseThrow().windowEnds();
        refused(Reason.DISPUTE_WINDOW_CLOSED, prefix,
                () -> buyer.dispute(liarHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join());
        clock.advance(Duration.ofMillis(1));
        refused(Reason.DISPUTE_WINDOW_CLOSED, prefix,
                () -> buyer.dispute(liarHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join());
        assertEquals(HoldRecord.State.CLAIMED, jdbc.hold(liarHold()).orElseThrow().state());
        assertEquals(1, jdbc.postDueClaims());
        assertEquals(usd(1).micros(), jdbc.balance(LIAR).posted(), "the claim stands: too late to dispute it");
        assertEquals(usd(20).micros(), jdbc.balance(LIAR_STAKE).posted());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), honestHold())).join();
    }

    @Test
    void dispute_whoseRecheckNeverDecides_isPostedByTheLedgerAtTheDeadlineOnce() throws Exception {
        claimWithLiarsReceipt(liar, liarHold(), usd(1)).join();
        clock.advance(WINDOW.minusMillis(1));
        gated.shut();
        CompletableFuture<List<Applied>> dispute = buyer.dispute(liarHold(), lie, inputs(), lie.outputs(),
                Duration.ofSeconds(60));
        awaitState(liarHold(), HoldRecord.State.DISPUTED);
        clock.advance(RECHECK); // the window's end + RECHECK, less 1 ms
        assertEquals(0, jdbc.postDueClaims(), "not before the re-check deadline");
        clock.advance(Duration.ofMillis(1));
        // the re-check upholds the dispute only now, at the deadline: its void is refused
        gated.open();
        SettlementException late = reasonOf(Reason.DISPUTE_WINDOW_CLOSED, dispute::join);
        assertTrue(late.getMessage().startsWith("void claim:sha256:"), late.getMessage());
        assertEquals(HoldRecord.State.DISPUTED, jdbc.hold(liarHold()).orElseThrow().state());
        assertEquals(1, jdbc.postDueClaims(), "the ledger posts the claim at the deadline");
        assertEquals(0, jdbc.postDueClaims(), "once");
        HoldRecord posted = jdbc.hold(liarHold()).orElseThrow();
        assertEquals(Optional.of(JdbcLedger.claimPostKey(liarHold())), posted.resolvedBy());
        assertEquals(usd(1).micros(), jdbc.balance(LIAR).posted(), "paid the claim once");
        assertEquals(usd(20).micros(), jdbc.balance(LIAR_STAKE).posted(), "nothing slashed");
        assertEquals(usd(99).micros(), jdbc.balance(BUYER).posted());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), honestHold())).join();
    }

    @Test
    void disputeUploads_oversizeMalformedOrSlow_areRefusedAndHoldNothing() throws Exception {
        claimWithLiarsReceipt(liar, liarHold(), usd(1)).join();
        ManagedChannel raw = raw(BUYER_KEY);
        try {
            LedgerGrpc.LedgerStub stub = LedgerGrpc.newStub(raw).withDeadlineAfter(60, TimeUnit.SECONDS);
            // declared beyond the service's 1 MiB limit: refused before anything is read
            assertStatus(Status.Code.RESOURCE_EXHAUSTED, "a dispute of 2097152 bytes is more than the 1048576",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(1 << 20)
                            .addInputs(DisputePart.newBuilder().setName("x").setBytes(1 << 20)).build(), new byte[0], true));
            assertStatus(Status.Code.RESOURCE_EXHAUSTED, "dispute part 'record' declares 18446744073709551615 bytes",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(-1).build(),
                            new byte[0], true));
            // data first, more than declared, less than declared, twice the same name
            assertStatus(Status.Code.INVALID_ARGUMENT, "a dispute begins with a DisputeStart", () -> {
                throw awaitError(stub, List.of(DisputeChunk.newBuilder().setData(DisputeData.newBuilder()
                        .setData(ByteString.copyFrom(new byte[10]))).build()), true);
            });
            assertStatus(Status.Code.INVALID_ARGUMENT, "a dispute sent more bytes than its start declared",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(4).build(),
                            new byte[5], true));
            assertStatus(Status.Code.INVALID_ARGUMENT, "the dispute ended in part 'record' after 3 of its 4 bytes",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(4).build(),
                            new byte[3], true));
            assertStatus(Status.Code.INVALID_ARGUMENT, "a dispute names input 'x' twice",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(4)
                            .addInputs(DisputePart.newBuilder().setName("x").setBytes(1))
                            .addInputs(DisputePart.newBuilder().setName("x").setBytes(1)).build(), new byte[0], true));
            // a record that is not one
            assertStatus(Status.Code.INVALID_ARGUMENT, "",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(4).build(),
                            "{}{}".getBytes(java.nio.charset.StandardCharsets.US_ASCII), true));
            // a slow uploader: the start, then nothing; dropped at the 3 s upload deadline
            assertStatus(Status.Code.DEADLINE_EXCEEDED, "the dispute's upload did not finish within 3000 ms",
                    upload(stub, DisputeStart.newBuilder().setHold(liarHold().value()).setRecordBytes(100).build(),
                            new byte[10], false));
        } finally {
            raw.shutdownNow();
            raw.awaitTermination(5, TimeUnit.SECONDS);
        }
        assertEquals(HoldRecord.State.CLAIMED, jdbc.hold(liarHold()).orElseThrow().state(), "nothing was disputed");
        // after all that, an honest dispute still goes through: nothing was left holding a slot
        assertEquals(3, buyer.dispute(liarHold(), lie, inputs(), lie.outputs(), Duration.ofSeconds(60)).join().size());
        jdbc.apply(new Operation.VoidHold(key("cleanup"), honestHold())).join();
    }

    private ManagedChannel raw(NodeKeyPair key) {
        return NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(key), LEDGER_KEY.publicKey())).build();
    }

    private static Runnable upload(LedgerGrpc.LedgerStub stub, DisputeStart start, byte[] data, boolean complete) {
        List<DisputeChunk> chunks = new java.util.ArrayList<>();
        chunks.add(DisputeChunk.newBuilder().setStart(start).build());
        if (data.length > 0) {
            chunks.add(DisputeChunk.newBuilder().setData(DisputeData.newBuilder().setData(ByteString.copyFrom(data))).build());
        }
        return () -> {
            throw awaitError(stub, chunks, complete);
        };
    }

    /** Sends the chunks (and half-closes if {@code complete}), and returns the error the service answers with. */
    private static StatusRuntimeException awaitError(LedgerGrpc.LedgerStub stub, List<DisputeChunk> chunks, boolean complete) {
        CompletableFuture<StatusRuntimeException> error = new CompletableFuture<>();
        StreamObserver<DisputeChunk> up = stub.dispute(new StreamObserver<DisputeReply>() {
            @Override
            public void onNext(DisputeReply value) {
                error.completeExceptionally(new AssertionError("the service accepted the dispute: " + value));
            }

            @Override
            public void onError(Throwable t) {
                error.complete(Status.fromThrowable(t).asRuntimeException());
            }

            @Override
            public void onCompleted() {
                error.completeExceptionally(new AssertionError("the service completed the dispute"));
            }
        });
        chunks.forEach(up::onNext);
        if (complete) {
            up.onCompleted();
        }
        StatusRuntimeException e = error.join();
        up.onError(new RuntimeException("done")); // cancels a call the service ended already
        return e;
    }

    private static void assertStatus(Status.Code code, String prefix, Runnable call) {
        LedgerServiceAccessTest.assertStatus(code, prefix, call);
    }

    /** The refusal's reason and message, and that nothing in the ledger changed. */
    private SettlementException refused(Reason reason, String prefix, Supplier<?> action) {
        List<Balance> balances = jdbc.balances();
        List<OpenHold> holds = jdbc.openHolds();
        List<HoldRecord> records = List.of(jdbc.hold(liarHold()).orElseThrow(), jdbc.hold(honestHold()).orElseThrow());
        Throwable thrown;
        try {
            action.get();
            throw new AssertionError("expected " + reason + " but it was done");
        } catch (CompletionException e) {
            thrown = e.getCause();
        } catch (RuntimeException e) {
            thrown = e;
        }
        SettlementException s = SettlementAssertions.assertReason(reason, thrown);
        assertTrue(s.getMessage().startsWith(prefix), "expected '" + prefix + "...', got '" + s.getMessage() + "'");
        assertEquals(balances, jdbc.balances(), "a refusal changed a balance");
        assertEquals(holds, jdbc.openHolds(), "a refusal changed the open holds");
        assertEquals(records, List.of(jdbc.hold(liarHold()).orElseThrow(), jdbc.hold(honestHold()).orElseThrow()),
                "a refusal changed a hold");
        return s;
    }
}
