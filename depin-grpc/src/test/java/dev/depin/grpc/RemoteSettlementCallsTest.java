package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.ForwardingLedger;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@link RemoteSettlement} fills its calls: a call's place among the
 * {@value RemoteSettlement#BATCHES_IN_FLIGHT} calls in flight stays taken while its answer is
 * settled, so that what the callers apply from their callbacks goes together in the next call;
 * and a callback that blocks on another operation of the same client does not hold the place
 * for ever. The service's ledger holds back the operations under gated prefixes, so that every
 * place is taken when the tests need it.
 */
class RemoteSettlementCallsTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.generate();
    private static final NodeKeyPair BUYER_KEY = NodeKeyPair.generate();
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final NodeKeyPair PROVIDER_KEY = NodeKeyPair.generate();
    private static final AccountId PROVIDER = AccountId.of("provider:" + PROVIDER_KEY.nodeId().hex());
    private static final String SPEC = "5e".repeat(32);

    private JdbcLedger jdbc;
    private LedgerServer server;
    private RemoteSettlement client;
    /** The operations' keys of each chunk the service handed to its ledger, in order. */
    private final List<List<String>> handed = Collections.synchronizedList(new ArrayList<>());
    /** Operations whose key has a gate wait for it. */
    private final Map<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();

    @BeforeEach
    void open(@TempDir Path dir) {
        jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(LEDGER_KEY).open();
        jdbc.open(BUYER, AccountKind.BUYER, false).join();
        jdbc.open(PROVIDER, AccountKind.PROVIDER, false).join();
        jdbc.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofMicros(1_000_000_000))).join();
        ForwardingLedger gated = new ForwardingLedger(jdbc) {
            @Override
            public List<CompletableFuture<Applied>> applyAll(List<Operation> ops, String source) {
                handed.add(ops.stream().map(o -> o.key().value()).toList());
                List<CompletableFuture<Applied>> out = new ArrayList<>(ops.size());
                for (Operation op : ops) {
                    CompletableFuture<Void> gate = gates.get(op.key().value());
                    out.add(gate == null ? jdbc.applyAll(List.of(op), source).get(0)
                            : gate.thenCompose(v -> jdbc.applyAll(List.of(op), source).get(0)));
                }
                return out;
            }
        };
        server = LedgerServer.builder(gated, LEDGER_KEY, LedgerAccess.builder().grant(BUYER_KEY.publicKey(), BUYER).build())
                .start();
    }

    @AfterEach
    void close() {
        gates.values().forEach(g -> g.complete(null));
        if (client != null) {
            client.close();
        }
        server.close();
        assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
        assertEquals(0, jdbc.balances().stream().mapToLong(Balance::posted).sum());
        jdbc.close();
    }

    private RemoteSettlement connect(Duration settleHold) {
        // calls time out after a minute: no place is freed by a deadline within a test
        client = RemoteSettlement.builder(BUYER_KEY, server.address(), LEDGER_KEY.publicKey())
                .callTimeout(Duration.ofMinutes(1)).settleHold(settleHold).connect();
        return client;
    }

    private static Operation.Hold hold(String key) {
        return new Operation.Hold(OperationKey.of(key), BUYER, PROVIDER, MicroUsd.ofMicros(100),
                Instant.now().plus(Duration.ofMinutes(10)), Optional.of(SPEC));
    }

    private static Operation.Post post(Operation.Hold h) {
        return new Operation.Post(OperationKey.of(h.key().value() + "/post"), h.key(), MicroUsd.ofMicros(60));
    }

    /** Takes places with lone holds that the service's ledger holds back, each until its gate opens. */
    private List<CompletableFuture<Applied>> takePlaces(int n) {
        List<CompletableFuture<Applied>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            gates.put("buyer:acme/stuck/" + i, new CompletableFuture<>());
            out.add(client.apply(hold("buyer:acme/stuck/" + i)));
        }
        return out;
    }

    private void openGate(String key) {
        gates.get(key).complete(null);
    }

    @Test
    void answer_whatItsCallbacksApplyGoesTogetherInTheNextCall() throws Exception {
        connect(Duration.ofMinutes(1)); // the place is freed by the end of settling here, never by the timer
        List<CompletableFuture<Applied>> stuck = takePlaces(RemoteSettlement.BATCHES_IN_FLIGHT);
        // every place is taken: these ten wait together for the next place
        List<CompletableFuture<Applied>> jobs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Operation.Hold h = hold("buyer:acme/job/" + i);
            jobs.add(client.apply(h).thenCompose(a -> client.apply(post(h))));
        }
        // one place frees: the ten holds go in it; their answer's callbacks apply the posts while
        // the seven other places stay taken
        openGate("buyer:acme/stuck/0");
        for (CompletableFuture<Applied> j : jobs) {
            assertTrue(j.get(30, TimeUnit.SECONDS).operation() instanceof Operation.Post);
        }
        for (int i = 1; i < stuck.size(); i++) {
            assertTrue(!stuck.get(i).isDone(), "stuck hold " + i + " was answered");
            openGate("buyer:acme/stuck/" + i);
        }
        for (CompletableFuture<Applied> s : stuck) {
            s.get(30, TimeUnit.SECONDS);
        }
        List<String> posts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            posts.add("buyer:acme/job/" + i + "/post");
        }
        List<List<String>> withPosts = new ArrayList<>();
        synchronized (handed) {
            for (List<String> chunk : handed) {
                if (chunk.stream().anyMatch(k -> k.endsWith("/post"))) {
                    withPosts.add(chunk);
                }
            }
        }
        // the ten posts in one call, in the order their holds were answered; before, the place
        // was freed first and the first post took it alone, the other nine following in the next
        assertEquals(List.of(posts), withPosts);
    }

    @Test
    void callback_blockingOnAnotherOperation_whileEveryPlaceIsTaken_isFreedByTheTimer() throws Exception {
        connect(Duration.ofMillis(200));
        List<CompletableFuture<Applied>> stuck = takePlaces(RemoteSettlement.BATCHES_IN_FLIGHT - 1);
        gates.put("buyer:acme/blocker", new CompletableFuture<>());
        Operation.Hold h = hold("buyer:acme/blocker");
        // the eighth place: its answer's callback applies the post and waits for it on the
        // thread that settles the answer, while the seven other places stay taken
        CompletableFuture<Applied> posted = client.apply(h).thenApply(a -> client.apply(post(h)).join());
        openGate("buyer:acme/blocker");
        assertEquals(post(h), posted.get(30, TimeUnit.SECONDS).operation());
        for (int i = 0; i < stuck.size(); i++) {
            assertTrue(!stuck.get(i).isDone(), "stuck hold " + i + " was answered: it freed a place, not the timer");
            openGate("buyer:acme/stuck/" + i);
        }
        for (CompletableFuture<Applied> s : stuck) {
            s.get(30, TimeUnit.SECONDS);
        }
    }
}
