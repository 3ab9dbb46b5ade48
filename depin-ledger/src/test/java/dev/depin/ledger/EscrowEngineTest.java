package dev.depin.ledger;

import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.ScriptedNetwork;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.JobSettlement;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SlashPolicy;
import dev.depin.settlement.TokenRate;
import dev.depin.settlement.spi.PriceOracle;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine paying for jobs through a real ledger (SQLite, WAL, full sync; PostgreSQL in
 * {@link PostgresEscrowEngineTest}): holds before
 * dispatch, posts on verified results, voids on failure and cancel, slashes on disputes,
 * refusals that move no money, and a restarted client resolving what its predecessor left
 * open.
 */
class EscrowEngineTest {
    private static final long SEED = 20261128L;
    static final AccountId BUYER = AccountId.of("buyer:acme");
    static final MicroUsd FUNDS = MicroUsd.ofUsd("1000");
    static final MicroUsd STAKE = MicroUsd.ofUsd("5");
    private final List<AutoCloseable> open = new ArrayList<>();
    private JdbcLedger ledger;

    @BeforeAll
    static void seed() {
        System.out.println("EscrowEngineTest seed = " + SEED);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** @return where this suite's ledgers live: a fresh SQLite file per test */
    Databases.Location location() {
        return Databases.sqlite();
    }

    private JdbcLedger ledger() {
        ledger = location().builder().open();
        open.add(ledger);
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund-buyer"), BUYER, FUNDS)).join();
        return ledger;
    }

    /** Providers with prices ten times apart (provider 0 cheapest), each with a funded stake. */
    private List<ProviderNode> nodes(int n, java.util.function.IntFunction<dev.depin.executor.spi.DeviceExecutor> exec) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 1);
            NodeKeyPair key = NodeKeyPair.fromSeed(seed);
            AccountId stake = Escrow.stakeAccount(key.nodeId());
            ledger.open(stake, AccountKind.STAKE, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("stake-" + i), stake, STAKE)).join();
            nodes.add(ProviderNode.builder(key, exec.apply(i))
                    .price(new Price(MicroUsd.ofMicros((long) Math.pow(10, 3 + i)), MicroUsd.ofMicros(10_000)))
                    .stake(STAKE).build());
        }
        return nodes;
    }

    private DepinClient client(dev.depin.network.spi.ComputeNetwork net, Escrow escrow, int attempts) {
        DepinClient c = DepinClient.builder(net).maxAttempts(attempts).attemptTimeout(Duration.ofSeconds(30))
                .escrow(escrow).build();
        open.add(net);
        open.add(c);
        return c;
    }

    private static Job saxpy(SplittableRandom rnd, int n, MicroUsd max) {
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 1.5).input("x", x).input("y", y)
                .verification(dev.depin.job.VerificationPolicy.spotCheck(1.0))
                .maxPrice(max).timeout(Duration.ofSeconds(60)).build();
    }

    /** The first exception of {@code type} in {@code e}'s cause chain ({@code result()} rethrows a copy). */
    private static SettlementException causeOf(Throwable e, Reason reason) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SettlementException s && s.is(reason)) {
                return s;
            }
        }
        throw new AssertionError("no " + reason + " in the causes of " + e, e);
    }

    private static <T extends Throwable> T causeOf(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " among the causes of " + e, e);
    }

    private static List<JobState> states(List<JobEvent> events) {
        return events.stream().filter(e -> !e.isAttemptEvent()).map(JobEvent::state)
                .filter(s -> s != JobState.RUNNING).toList();
    }

    private long posted(AccountId account) {
        return ledger.balance(account).posted();
    }

    /** The ledger's sum over every account is zero, and nothing is held once the money has come to rest. */
    private void assertBalanced() {
        long sum = 0;
        long held = 0;
        for (Balance b : ledger.balances()) {
            sum += b.posted();
            held += b.held();
        }
        assertEquals(0, sum, "sum over all accounts, issuer included");
        assertEquals(0, held, "money still held: " + ledger.openHolds());
        assertEquals(List.of(), ledger.openHolds());
    }

    @Test
    void verifiedJobs_areHeldBeforeDispatchPaidWhatTheyChargedAndSettled() {
        ledger();
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<ProviderNode> nodes = nodes(3, i -> new CpuExecutor(1));
        DepinClient client = client(LocalNetwork.of(nodes), Escrow.builder(ledger, BUYER).build(), 3);
        MicroUsd max = MicroUsd.ofUsd("0.50");
        List<JobHandle> handles = new ArrayList<>();
        for (int n : new int[] {1, 2, 7, 1000, 4097}) {
            handles.add(client.submit(saxpy(rnd, n, max)));
        }
        long paid = 0;
        Map<AccountId, Long> perProvider = new HashMap<>();
        for (JobHandle h : handles) {
            JobResult r = h.result();
            assertEquals(List.of(JobState.SUBMITTED, JobState.MATCHED, JobState.ESCROWED, JobState.DISPATCHED,
                    JobState.RETURNED, JobState.VERIFIED, JobState.SETTLED), states(r.history()), r.history().toString());
            assertEquals(JobState.SETTLED, h.state());
            JobSettlement s = r.settlement();
            List<Applied> ops = s.operations();
            assertEquals(2, ops.size(), ops.toString());
            Operation.Hold hold = assertInstanceOf(Operation.Hold.class, ops.get(0).operation());
            Operation.Post post = assertInstanceOf(Operation.Post.class, ops.get(1).operation());
            assertEquals(max, hold.amount(), "one attempt holds the whole cap");
            assertEquals(BUYER, hold.payer());
            assertEquals(Escrow.providerAccount(r.provider()), hold.payee());
            assertEquals(hold.key(), post.hold());
            assertTrue(hold.key().value().startsWith(BUYER.value() + "/" + r.jobId() + "/"), hold.key().value());
            assertEquals(r.cost(), post.amount());
            assertEquals(s.paid(), r.cost());
            assertEquals(max.micros() - r.cost().micros(), s.refunded().micros());
            assertTrue(r.cost().micros() > 0 && r.cost().compareTo(max) <= 0, r.cost().toString());
            assertEquals(h.spec().deadline().plus(Duration.ofMinutes(1)).toEpochMilli(), hold.expiresAt().toEpochMilli(),
                    "the hold expires one grace minute after the job's deadline");
            assertEquals(r.cost().micros(), s.paidMicroTokens(), "USDC pegged at $1: micro-tokens = micro-USD");
            paid += r.cost().micros();
            perProvider.merge(Escrow.providerAccount(r.provider()), r.cost().micros(), Long::sum);
        }
        client.close();
        assertEquals(FUNDS.micros() - paid, posted(BUYER));
        perProvider.forEach((account, sum) -> assertEquals(sum, posted(account), account.value()));
        assertBalanced();
    }

    @Test
    void redundantJob_holdsAShareOfTheCapPerReplicaAndPaysEachAgreeingReplica() {
        ledger();
        List<ProviderNode> nodes = nodes(3, i -> new CpuExecutor(1));
        DepinClient client = client(LocalNetwork.of(nodes), Escrow.builder(ledger, BUYER).build(), 3);
        Job job = Job.builder(BuiltinKernel.SAXPY).param("n", 33).param("alpha", 2)
                .input("x", new float[33]).input("y", new float[33])
                .verification(dev.depin.job.VerificationPolicy.redundant(3))
                .maxPrice(MicroUsd.ofMicros(3_000_001)).timeout(Duration.ofSeconds(60)).build();
        JobResult r = client.submit(job).result();
        List<Applied> ops = r.settlement().operations();
        List<Operation.Hold> holds = ops.stream().map(Applied::operation).filter(Operation.Hold.class::isInstance)
                .map(Operation.Hold.class::cast).toList();
        assertEquals(3, holds.size(), ops.toString());
        holds.forEach(h -> assertEquals(1_000_000, h.amount().micros(), "floor(cap / replicas)"));
        long posts = ops.stream().map(Applied::operation).filter(Operation.Post.class::isInstance).count();
        assertEquals(3, posts, "all three replicas agreed: each is paid");
        assertTrue(r.cost().micros() <= 3_000_000);
        client.close();
        assertEquals(FUNDS.micros() - r.cost().micros(), posted(BUYER));
        assertBalanced();
    }

    @Test
    void disputedProvider_isVoidedAndSlashedAndTheJobSettlesElsewhere() {
        ledger();
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        // Provider 0 is the cheapest and lies; provider 1 is honest.
        List<ProviderNode> nodes = nodes(2, i -> i == 0
                ? new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement())
                : new CpuExecutor(1));
        DepinClient client = client(LocalNetwork.of(nodes), Escrow.builder(ledger, BUYER)
                .slashing(new SlashPolicy(3, 40)).build(), 3);
        MicroUsd max = MicroUsd.ofMicros(100_000);
        JobResult r = client.submit(saxpy(rnd, 256, max)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider());
        assertEquals(1, r.disputes().size());
        JobSettlement s = r.settlement();
        List<Class<?>> kinds = new ArrayList<>();
        s.operations().forEach(a -> kinds.add(a.operation().getClass()));
        assertEquals(List.of(Operation.Hold.class, Operation.VoidHold.class, Operation.Slash.class, Operation.Hold.class,
                Operation.Post.class), sortedByRound(kinds), kinds.toString());
        Operation.Slash slash = s.operations().stream().map(Applied::operation).filter(Operation.Slash.class::isInstance)
                .map(Operation.Slash.class::cast).findFirst().orElseThrow();
        assertEquals(Escrow.stakeAccount(nodes.get(0).nodeId()), slash.stake());
        assertEquals(300_000, slash.total().micros(), "3 x the hold");
        assertEquals(120_000, slash.toBeneficiary().micros(), "40% to the buyer");
        assertEquals(180_000, slash.burned().micros());
        assertTrue(slash.evidence().startsWith("dispute-sha256:"), slash.evidence());
        assertEquals(300_000, s.slashed().micros());
        client.close();
        assertEquals(FUNDS.micros() - r.cost().micros() + 120_000, posted(BUYER));
        assertEquals(STAKE.micros() - 300_000, posted(Escrow.stakeAccount(nodes.get(0).nodeId())));
        assertEquals(180_000, posted(AccountId.BURN));
        assertEquals(0, posted(Escrow.providerAccount(nodes.get(0).nodeId())), "a liar is never paid");
        assertBalanced();
    }

    /** Round 1's void and slash complete in either order: compare as hold, {void, slash}, hold, post. */
    private static List<Class<?>> sortedByRound(List<Class<?>> kinds) {
        List<Class<?>> out = new ArrayList<>(kinds);
        int v = out.indexOf(Operation.VoidHold.class);
        int sl = out.indexOf(Operation.Slash.class);
        if (v > sl && sl >= 0) {
            out.set(sl, Operation.VoidHold.class);
            out.set(v, Operation.Slash.class);
        }
        return out;
    }

    @Test
    void slashOfAProviderWithoutStake_isSkippedWithANote() {
        ledger();
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        byte[] seed = new byte[32];
        seed[0] = 99;
        NodeKeyPair liarKey = NodeKeyPair.fromSeed(seed);
        ProviderNode liar = ProviderNode.builder(liarKey,
                        new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement()))
                .price(new Price(MicroUsd.ofMicros(1), MicroUsd.ofMicros(1))).build();
        List<ProviderNode> nodes = new ArrayList<>(nodes(1, i -> new CpuExecutor(1)));
        nodes.add(liar);
        DepinClient client = client(LocalNetwork.of(nodes), Escrow.builder(ledger, BUYER).build(), 3);
        JobResult r = client.submit(saxpy(rnd, 64, MicroUsd.ofMicros(50_000))).result();
        assertEquals(nodes.get(0).nodeId(), r.provider());
        assertEquals(0, r.settlement().slashed().micros());
        assertEquals(1, r.settlement().notes().size(), r.settlement().notes().toString());
        assertTrue(r.settlement().notes().get(0).contains("no stake account"), r.settlement().notes().toString());
        client.close();
        assertBalanced();
    }

    @Test
    void hedgedJob_holdsForBothPaysTheWinnerAndVoidsTheLoser() throws Exception {
        ledger();
        BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
        List<ProviderNode> nodes = nodes(2, i -> i == 0 ? slow : new CpuExecutor(1));
        LocalNetwork net = LocalNetwork.of(nodes);
        DepinClient client = DepinClient.builder(net).maxAttempts(3).attemptTimeout(Duration.ofSeconds(30))
                .hedgeAfter(Duration.ofMillis(30)).escrow(Escrow.builder(ledger, BUYER).build()).build();
        open.add(net);
        open.add(client);
        MicroUsd max = MicroUsd.ofMicros(70_000);
        JobResult r = client.submit(saxpy(new SplittableRandom(SEED + 8), 100, max)).result();
        assertEquals(nodes.get(1).nodeId(), r.provider(), "the hedge won");
        Map<Class<?>, Long> kinds = new HashMap<>();
        r.settlement().operations().forEach(a -> kinds.merge(a.operation().getClass(), 1L, Long::sum));
        assertEquals(Map.of(Operation.Hold.class, 2L, Operation.Post.class, 1L, Operation.VoidHold.class, 1L), kinds,
                r.settlement().toString());
        assertEquals(2 * max.micros() - r.cost().micros(), r.settlement().refunded().micros(),
                "the loser's whole hold and the rest of the winner's came back");
        client.close();
        assertEquals(FUNDS.micros() - r.cost().micros(), posted(BUYER));
        assertEquals(0, posted(Escrow.providerAccount(nodes.get(0).nodeId())), "the slow provider lost the race");
        assertBalanced();
    }

    @Test
    void buyerWithoutFunds_isRejectedAndNothingMoves() {
        ledger();
        AccountId poor = AccountId.of("buyer:poor");
        ledger.open(poor, AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund-poor"), poor, MicroUsd.ofMicros(10))).join();
        List<ProviderNode> nodes = nodes(2, i -> new CpuExecutor(1));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net, Escrow.builder(ledger, poor).build(), 3);
        JobHandle h = client.submit(saxpy(new SplittableRandom(SEED + 4), 16, MicroUsd.ofMicros(11)));
        JobFailedException e = assertThrows(JobFailedException.class, h::result);
        assertEquals(JobState.REJECTED, e.finalState());
        SettlementException cause = causeOf(e, Reason.INSUFFICIENT_FUNDS);
        assertTrue(e.getMessage().contains("could not escrow $0.000011") && e.getMessage().contains("buyer:poor"),
                e.getMessage());
        assertTrue(cause.getMessage().length() > 0);
        assertEquals(0, net.dispatches(nodes.get(0).nodeId()) + net.dispatches(nodes.get(1).nodeId()),
                "nothing was dispatched");
        client.close();
        assertEquals(10, posted(poor));
        assertBalanced();
    }

    /** An oracle whose rate is whatever the test sets, observed at a time the test sets. */
    private static final class SettableOracle implements PriceOracle {
        final AtomicLong rate = new AtomicLong(2_000_000);
        volatile Instant asOf = Instant.now();

        @Override
        public String name() {
            return "settable";
        }

        @Override
        public CompletableFuture<TokenRate> rate() {
            return CompletableFuture.completedFuture(new TokenRate("DPN", rate.get(), asOf));
        }
    }

    @Test
    void staleRate_isRefusedBeforeAnyMoneyMoves() {
        ledger();
        List<ProviderNode> nodes = nodes(1, i -> new CpuExecutor(1));
        SettableOracle oracle = new SettableOracle();
        oracle.asOf = Instant.now().minus(Duration.ofMinutes(6));
        DepinClient client = client(LocalNetwork.of(nodes), Escrow.builder(ledger, BUYER).oracle(oracle)
                .maxRateAge(Duration.ofMinutes(5)).build(), 3);
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> client.submit(saxpy(new SplittableRandom(SEED + 5), 8, MicroUsd.ofMicros(1000))).result());
        assertEquals(JobState.REJECTED, e.finalState());
        SettlementException cause = causeOf(e, Reason.STALE_QUOTE);
        assertTrue(cause.getMessage().contains("older than the PT5M this buyer accepts"), cause.getMessage());
        client.close();
        assertEquals(FUNDS.micros(), posted(BUYER));
        assertBalanced();
    }

    @Test
    void rateThatSlipsBetweenRounds_failsTheJobAndRefundsTheFirstRound() throws Exception {
        ledger();
        List<ProviderNode> nodes = nodes(2, i -> new CpuExecutor(1));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        SettableOracle oracle = new SettableOracle();
        // The cheapest provider refuses; before round 2 re-quotes, the token loses 3%.
        net.fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.REFUSE);
        DepinClient client = client(net, Escrow.builder(ledger, BUYER).oracle(oracle).quoteTtl(Duration.ofMillis(1))
                .maxSlippage(200).build(), 3);
        oracle.asOf = Instant.now().plusSeconds(3600); // fresh for the whole test
        JobHandle h = client.submit(saxpy(new SplittableRandom(SEED + 6), 8, MicroUsd.ofMicros(1000)));
        // Round 1's quote is taken at submission; the rate drops before its refusal comes back.
        oracle.rate.set(1_940_000);
        JobFailedException e = assertThrows(JobFailedException.class, h::result);
        assertEquals(JobState.FAILED, e.finalState());
        SettlementException cause = causeOf(e, Reason.SLIPPAGE_EXCEEDED);
        assertTrue(cause.getMessage().contains("300 basis points") && cause.getMessage().contains("bound of 200"),
                cause.getMessage());
        client.close();
        assertEquals(FUNDS.micros(), posted(BUYER), "round 1's hold was voided");
        assertBalanced();
    }

    @Test
    void cancelledJob_isRefundedByTheTimeTheClientCloses() throws Exception {
        ledger();
        BlockingExecutor blocking = new BlockingExecutor(new CpuExecutor(1));
        List<ProviderNode> nodes = nodes(1, i -> blocking);
        DepinClient client = client(LocalNetwork.of(nodes), Escrow.builder(ledger, BUYER).build(), 3);
        JobHandle h = client.submit(saxpy(new SplittableRandom(SEED + 7), 8, MicroUsd.ofMicros(5000)));
        assertTrue(blocking.awaitStarted(30), "the job reached the provider");
        assertEquals(5000, ledger.balance(BUYER).held(), "escrowed while it runs");
        assertTrue(h.cancelAsync().join());
        client.close();
        blocking.release(1);
        assertEquals(JobState.CANCELLED, h.state());
        assertEquals(FUNDS.micros(), posted(BUYER));
        assertBalanced();
    }
}
