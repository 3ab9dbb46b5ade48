package dev.depin.client.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.JobSettlement;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One job's money on its own, against a real ledger (SQLite, certifying its holds) and real
 * providers: the holds of a round and their certificates, a winner paid what it charged and
 * the rest voided under the keys crash recovery depends on, every hold resolved once
 * whatever is decided after, a failed job's future completing only once its refunds are
 * durable, and a verified job's settlement waiting for its money to come to rest.
 */
class JobMoneyTest {
    private static final long SEED = 20261205L;
    private static final AccountId BUYER = AccountId.of("buyer:money");
    private static final MicroUsd FUNDS = MicroUsd.ofUsd("1");
    private static final MicroUsd MAX = MicroUsd.ofUsd("0.50");
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.fromSeed(seed(9));
    private static final String SESSION = "s-money";

    private final List<AutoCloseable> open = new ArrayList<>();
    private JdbcLedger ledger;
    private ExecutorService reads;
    /** Where continuations run, as on the client's scheduler: never on a ledger thread. */
    private ExecutorService hops;
    private Escrowing escrowing;
    private List<ProviderNode> nodes;
    private LocalNetwork network;
    private final Object lock = new Object();

    @BeforeAll
    static void printSeed() {
        System.out.println("JobMoneyTest seed = " + SEED);
    }

    private static byte[] seed(int first) {
        byte[] s = new byte[32];
        s[0] = (byte) first;
        return s;
    }

    @BeforeEach
    void setUp() throws Exception {
        Path dir = Files.createTempDirectory("depin-jobmoney");
        ledger = JdbcLedger.builder().sqlite(dir.resolve("l.db")).certifyHolds(LEDGER_KEY).open();
        open.add(ledger);
        ledger.open(BUYER, AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, FUNDS)).join();
        nodes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ProviderNode n = ProviderNode.builder(NodeKeyPair.fromSeed(seed(i + 1)), new CpuExecutor(1))
                    .price(new Price(MicroUsd.ofMicros(1000), MicroUsd.ofMicros(10_000)))
                    .requireHoldCertificates(LEDGER_KEY.publicKey()).build();
            open.add(n);
            nodes.add(n);
        }
        network = LocalNetwork.of(nodes);
        open.add(network);
        reads = Executors.newSingleThreadExecutor();
        hops = Executors.newSingleThreadExecutor();
        escrowing = new Escrowing(Escrow.builder(ledger, BUYER).session(SESSION).build(), Clock.systemUTC(), reads);
    }

    @AfterEach
    void tearDown() throws Exception {
        assertTrue(escrowing.awaitQuiet(Duration.ofSeconds(10)), "money still in flight");
        reads.shutdownNow();
        hops.shutdownNow();
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private static Job job(MicroUsd max) {
        SplittableRandom rnd = new SplittableRandom(SEED);
        int n = 64;
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 1.5).input("x", x).input("y", y)
                .verification(VerificationPolicy.spotCheck(1.0)).maxPrice(max).timeout(Duration.ofSeconds(60))
                .build();
    }

    private List<Attempt> round(String jobId, Job job, int size) {
        List<Attempt> round = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
            nonce[0] = (byte) (i + 1);
            round.add(new Attempt(nodes.get(i).offer(),
                    new ExecutionRequest(jobId, i + 1, job.spec(), job.inputs(), nonce), 1));
        }
        return List.copyOf(round);
    }

    /** Reserves and places a round's holds, as the engine's hold stage does. */
    private Escrowing.Holds hold(JobMoney money, List<Attempt> round) throws Exception {
        Runnable pin;
        synchronized (lock) {
            pin = money.reserve(round);
        }
        assertNotNull(pin, "the max price splits");
        CompletableFuture<Escrowing.Holds> placed = new CompletableFuture<>();
        money.hold(round, pin, (holds, error) -> {
            synchronized (lock) {
                money.placed(round, holds);
            }
            if (error != null) {
                placed.completeExceptionally(error);
            } else {
                placed.complete(holds);
            }
        });
        Escrowing.Holds holds = placed.get(30, TimeUnit.SECONDS);
        assertNull(holds.error(), "every hold placed");
        return holds;
    }

    private static Set<String> keys(List<Applied> ops) {
        Set<String> keys = new TreeSet<>();
        ops.forEach(a -> keys.add(a.operation().key().value()));
        return keys;
    }

    @Test
    void aWonRound_paysTheWinnerWhatItChargedVoidsTheRest_underTheRecoveryKeys_andResolvesEachHoldOnce()
            throws Exception {
        Job job = job(MAX);
        String jobId = "0000000000000000000000000000000a";
        JobMoney money = new JobMoney(lock, jobId, job.spec(), job.spec().hash(), escrowing, hops::execute);
        List<Attempt> round = round(jobId, job, 2);
        hold(money, round);

        MicroUsd each = MicroUsd.ofMicros(MAX.micros() / 2);
        List<OpenHold> openHolds = ledger.openHolds();
        assertEquals(Set.of(SESSION + "/" + jobId + "/1/hold", SESSION + "/" + jobId + "/2/hold"),
                Set.copyOf(openHolds.stream().map(h -> h.key().value()).toList()));
        for (Attempt a : round) {
            assertEquals(each, money.held(a));
            // The request carries the ledger's certificate of exactly this attempt's hold.
            HoldCertificate c = money.request(a).holdCertificate().orElseThrow();
            assertEquals(SESSION + "/" + jobId + "/" + a.number() + "/hold", c.hold().value());
            assertEquals(each, c.amount());
            assertEquals(Optional.of(a.offer.terms().price()), c.price(), "the hold names the offer's price");
            c.verify(LEDGER_KEY.publicKey(), a.provider(), job.spec().hash(), a.offer.terms().price(),
                    Clock.systemUTC().instant());
        }

        // Attempt 1 runs at a node that admits only certified jobs; attempt 2 never answers.
        Attempt winner = round.get(0);
        ExecutionResponse r = network.dispatch(winner.offer, money.request(winner), p -> { })
                .response().get(60, TimeUnit.SECONDS);
        winner.response = r;
        List<Attempt.Outcome> outcomes = List.of(new Attempt.Outcome(winner, AttemptState.ACCEPTED, "ok", null, null),
                Attempt.Outcome.failed(round.get(1), "no answer"));
        long charge = winner.offer.terms().price().charge(r.deviceNanos(), job.spec().bytesMoved()).micros();
        long post = Math.min(charge, each.micros());
        assertTrue(post > 0, "the provider charged something: " + charge);

        CompletableFuture<Throwable> then = new CompletableFuture<>();
        CompletableFuture<Boolean> settled = new CompletableFuture<>();
        JobMoney.Moves moves;
        synchronized (lock) {
            money.decide(round, outcomes, true);
            money.then(then::complete);
            assertTrue(money.deferSettle(() -> settled.complete(true)), "a post and a void are still to move");
            moves = money.drain();
        }
        Runnable complete = () -> { };
        assertSame(complete, moves.start(complete), "a verified job's future does not wait for its money");
        assertNull(then.get(30, TimeUnit.SECONDS), "no post failed");
        assertTrue(settled.get(30, TimeUnit.SECONDS), "the settlement ran once the money came to rest");

        assertEquals(List.of(), ledger.openHolds());
        assertEquals(FUNDS.micros() - post, ledger.balance(BUYER).posted());
        assertEquals(post, ledger.balance(Escrow.providerAccount(winner.provider())).posted());
        JobSettlement s;
        synchronized (lock) {
            s = money.settlement();
        }
        assertEquals(MicroUsd.ofMicros(post), s.paid());
        assertEquals(MicroUsd.ofMicros(MAX.micros() - post), s.refunded());
        assertEquals(MicroUsd.ZERO, s.slashed());
        String base = SESSION + "/" + jobId + "/";
        assertEquals(Set.of(base + "1/hold", base + "2/hold", base + "1/post", base + "2/void"), keys(s.operations()));
        Operation.Post p = (Operation.Post) s.operations().stream().filter(a -> a.operation() instanceof Operation.Post)
                .findFirst().orElseThrow().operation();
        assertEquals(MicroUsd.ofMicros(post), p.amount());
        assertEquals(OperationKey.of(base + "1/hold"), p.hold());

        // Whatever is decided after, each hold was resolved once: nothing more moves.
        synchronized (lock) {
            money.release(round);
            money.decide(round, outcomes, true);
            moves = money.drain();
        }
        assertSame(complete, moves.start(complete));
        assertTrue(escrowing.awaitQuiet(Duration.ofSeconds(10)));
        synchronized (lock) {
            assertEquals(4, money.settlement().operations().size(), money.settlement().operations().toString());
        }
    }

    @Test
    void aFailedJob_completesOnlyOnceItsRefundsAreDurable() throws Exception {
        Job job = job(MAX);
        String jobId = "0000000000000000000000000000000b";
        JobMoney money = new JobMoney(lock, jobId, job.spec(), job.spec().hash(), escrowing, hops::execute);
        List<Attempt> round = round(jobId, job, 1);
        hold(money, round);
        assertEquals(FUNDS.micros() - MAX.micros(), ledger.balance(BUYER).available());

        AtomicReference<List<OpenHold>> openAtCompletion = new AtomicReference<>();
        CompletableFuture<Long> availableAtCompletion = new CompletableFuture<>();
        JobMoney.Moves moves;
        synchronized (lock) {
            money.release(round);
            money.ended();
            moves = money.drain();
        }
        assertNull(moves.start(() -> {
            openAtCompletion.set(ledger.openHolds());
            availableAtCompletion.complete(ledger.balance(BUYER).available());
        }), "a failed job's future waits for its refunds");
        assertEquals(FUNDS.micros(), availableAtCompletion.get(30, TimeUnit.SECONDS));
        assertEquals(List.of(), openAtCompletion.get());
        synchronized (lock) {
            assertEquals(Set.of(SESSION + "/" + jobId + "/1/hold", SESSION + "/" + jobId + "/1/void"),
                    keys(money.settlement().operations()));
            assertEquals(MAX, money.settlement().refunded());
        }
    }

    @Test
    void aMaxPriceThatCannotBeSplit_reservesNothing() {
        Job job = job(MicroUsd.ofMicros(1));
        String jobId = "0000000000000000000000000000000c";
        JobMoney money = new JobMoney(lock, jobId, job.spec(), job.spec().hash(), escrowing, hops::execute);
        List<Attempt> round = round(jobId, job, 2);
        synchronized (lock) {
            assertNull(money.reserve(round));
            assertFalse(money.deferSettle(() -> { }), "nothing asked for: the money is at rest");
        }
        assertEquals("max price $0.000001 cannot be split into 2 hold(s) of at least 1 micro-USD: raise the max "
                + "price", money.unsplittable(2));
        assertNull(money.held(round.get(0)));
        assertFalse(money.request(round.get(0)).holdCertificate().isPresent());
        assertTrue(escrowing.awaitQuiet(Duration.ZERO), "no pin left behind");
        assertEquals(List.of(), ledger.openHolds());
    }
}
