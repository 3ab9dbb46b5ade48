package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.client.NoHoldingOfferException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.HeldOutput;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.Requirements;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.CpuReference;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chain of SGEMM jobs over loopback mutual TLS whose intermediates never come back: each step
 * leaves its output on the node and the next takes it by root. Paid through a ledger: the books
 * close after a chain, a cancelled step, a refused step, a restarted node and a lying node, and
 * a step that cannot run moves no money.
 */
class ChainOverGrpcTest {
    private static final long SEED = 0xC4A1E5L;
    /** 200 x 96 floats: 76,800 bytes, two 64 KiB chunks (the second short). */
    private static final int M = 200;
    private static final int K = 96;
    private final SplittableRandom random = new SplittableRandom(SEED);

    ChainOverGrpcTest() {
        System.out.println("ChainOverGrpcTest seed 0x" + Long.toHexString(SEED));
    }

    private static ProviderNode node(NodeKeyPair key, DeviceExecutor executor) {
        return ProviderNode.builder(key, executor).receiptBatching(0)
                .inputCache(InputCache.Limits.of(16L << 20, 64)).build();
    }

    private Job.Builder step() {
        return Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", K).input("b", floats(random, K * K))
                .maxPrice(MicroUsd.ofMicros(50_000)).timeout(Duration.ofSeconds(60))
                .leaveOutputsOnNode(Duration.ofMinutes(5));
    }

    private static String returned(JobResult r) {
        return r.history().stream().filter(e -> e.attemptState() == AttemptState.RETURNED).map(JobEvent::detail)
                .findFirst().orElseThrow();
    }

    /** The balances that hold or moved money (an account opened for a provider that was never paid is left out). */
    private static List<Balance> moneyOf(List<Balance> balances) {
        return balances.stream().filter(b -> b.posted() != 0 || b.held() != 0).toList();
    }

    private interface Body {
        void run(ProviderNode node, NodeKeyPair key, DirectoryServer directory, GrpcNetwork net, DepinClient client,
                 JdbcLedger ledger) throws Exception;
    }

    /** A node, a directory, a buyer paying through a ledger of its own; the books closed after. */
    private static void withChain(Path dir, DeviceExecutor executor, Body body) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        AccountId buyer = AccountId.of("buyer:chain");
        try (JdbcLedger ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"));
             DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                     .start();
             GrpcNetwork net = GrpcNetwork.builder().directory(directory.address(), directory.publicKey())
                     .identity(NodeKeyPair.generate()).offerCache(Duration.ZERO).build()) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1"))).join();
            ProviderNode node = node(key, executor);
            try (DepinClient client = DepinClient.builder(net).maxAttempts(2)
                    .escrow(Escrow.builder(ledger, buyer).build()).build();
                 ProviderServer server = serve(node, key, directory)) {
                body.run(node, key, directory, net, client, ledger);
            }
            LedgerBooks.assertClosed(ledger);
        }
    }

    @Test
    void chain_ofFourSteps_neverReturnsAnIntermediate_andClosesTheBooks(@TempDir Path dir) throws Exception {
        withChain(dir, new CpuExecutor(1), (node, key, directory, net, client, ledger) -> {
            try (CpuReference cpu = new CpuReference(1)) {
                float[] a = floats(random, M * K);
                float[] expected = a;
                JobResult previous = null;
                for (int i = 0; i < 4; i++) {
                    Job.Builder b = step();
                    Job job = (i == 0 ? b.input("a", a) : b.inputFrom("a", previous, "c")).build();
                    float[] c = new float[M * K];
                    cpu.sgemm(M, K, K, expected, dev.depin.kernel.Buffers.floats(job.inputs().get("b")), c);
                    expected = c;
                    previous = client.submit(job).result();
                    assertEquals(JobState.SETTLED, previous.history().get(previous.history().size() - 1).state());
                    // No output byte came back; after the first step only B went up (A went by root).
                    String detail = returned(previous);
                    assertTrue(detail.startsWith("outputs received: 0 bytes; left on the provider: [c]; inputs: "
                            + (i == 0 ? "113664 of 113664 bytes sent" : "36864 of 113664 bytes sent; from the provider's "
                            + "cache: [a]")), detail);
                    assertTrue(detail.endsWith("outputs kept by the provider: [c]"), detail);
                    assertTrue(previous.report().checks().stream().anyMatch(ch -> ch.name().equals("held-outputs")),
                            previous.report().summary());
                }
                ByteBuffer last = client.fetchHeld(previous, "c");
                float[] got = new float[M * K];
                last.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(expected[i], got[i], 1e-3f * Math.max(1, Math.abs(expected[i])), "element " + i);
                }
            }
        });
    }

    @Test
    void step_afterTheNodeRestarted_failsNamingRootAndNode_andMovesNoMoney(@TempDir Path dir) throws Exception {
        withChain(dir, new CpuExecutor(1), (node, key, directory, net, client, ledger) -> {
            JobResult first = client.submit(step().input("a", floats(random, M * K)).build()).result();
            HeldOutput held = first.heldOutputs().get("c");
            List<Balance> before = ledger.balances();
            // Restarted: the same key, a new process's empty cache, listed at another port.
            try (ProviderServer again = serve(node(key, new CpuExecutor(1)), key, directory)) {
                net.offers(new OfferQuery("sgemm", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS);
                JobHandle h = client.submit(step().inputFrom("a", first, "c").build());
                JobFailedException e = assertThrows(JobFailedException.class, h::result);
                assertTrue(e.getMessage().contains("provider " + key.nodeId().shortId() + " no longer holds root "
                        + held.merkleRoot() + " (76800 bytes, input 'a'), an output an earlier job left there (its "
                        + "time to live ended, it was evicted, or the node restarted): run the job that produced it "
                        + "again; no money moved for this attempt"), e.getMessage());
                assertEquals(moneyOf(before), moneyOf(ledger.balances()), "the hold of the failed step was voided");
            }
        });
    }

    @Test
    void step_refusedMidChain_movesNoMoney_andTheChainGoesOn(@TempDir Path dir) throws Exception {
        withChain(dir, new CpuExecutor(1), (node, key, directory, net, client, ledger) -> {
            JobResult first = client.submit(step().input("a", floats(random, M * K)).build()).result();
            List<Balance> before = ledger.balances();
            // The node's signed offer holds data for at most its cache's 10 minutes (through the directory): a
            // step asking 20 is rejected by the buyer's planner before anything is sent.
            JobHandle h = client.submit(step().inputFrom("a", first, "c").leaveOutputsOnNode(Duration.ofMinutes(20))
                    .build());
            JobFailedException e = assertThrows(JobFailedException.class, h::result);
            assertEquals(JobState.REJECTED, e.finalState());
            NoHoldingOfferException why = assertInstanceOf(NoHoldingOfferException.class, e.getSuppressed()[0]);
            assertTrue(why.getMessage().contains("the provider holding its inputs, " + key.nodeId().shortId()
                    + ", holds up to PT10M, "), why.getMessage());
            assertTrue(why.getMessage().endsWith(": ask leaveOutputsOnNode(ttl) with ttl <= PT10M, return the outputs, "
                    + "or add a provider whose offer holds data longer (its held inputs pin it to that provider)"),
                    why.getMessage());
            assertEquals(Duration.ofMinutes(10), why.bestOffer().orElseThrow().maxHold());
            assertEquals(moneyOf(before), moneyOf(ledger.balances()));
            // The held output is untouched by the refused step: the chain goes on from it.
            JobResult next = client.submit(step().inputFrom("a", first, "c").build()).result();
            assertEquals(M * K * 4L, next.heldOutputs().get("c").bytes());
        });
    }

    @Test
    void cancel_midChain_voidsTheHold(@TempDir Path dir) throws Exception {
        BlockingExecutor gate = new BlockingExecutor(new CpuExecutor(1));
        withChain(dir, gate, (node, key, directory, net, client, ledger) -> {
            gate.release(1);
            JobResult first = client.submit(step().input("a", floats(random, M * K)).build()).result();
            List<Balance> before = ledger.balances();
            JobHandle second = client.submit(step().inputFrom("a", first, "c").build());
            long until = System.nanoTime() + 20_000_000_000L;
            while (gate.log.stream().filter("run"::equals).count() < 2 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertTrue(second.cancelAsync().get(30, TimeUnit.SECONDS));
            assertThrows(CancellationException.class, second::result);
            until = System.nanoTime() + 20_000_000_000L;
            while (gate.log.stream().filter("context-closed"::equals).count() < 2 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertTrue(gate.log.contains("cancel"), gate.log.toString());
            until = System.nanoTime() + 20_000_000_000L;
            while (!moneyOf(before).equals(moneyOf(ledger.balances())) && System.nanoTime() < until) {
                Thread.sleep(10); // the void is recorded after the cancel returns
            }
            assertEquals(moneyOf(before), moneyOf(ledger.balances()));
        });
    }

    /** A node whose executor changed one element and signed over it: the sampled chunk catches it, nothing is paid. */
    @Test
    void lyingNode_isCaughtByTheSpotCheck_andPaidNothing(@TempDir Path dir) throws Exception {
        DeviceExecutor liar = new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement());
        withChain(dir, liar, (node, key, directory, net, client, ledger) -> {
            List<Balance> before = ledger.balances();
            JobHandle h = client.submit(step().input("a", floats(random, M * K))
                    .verification(VerificationPolicy.spotCheck(1.0)).build());
            assertThrows(JobFailedException.class, h::result);
            assertEquals(moneyOf(before), moneyOf(ledger.balances()), "nothing paid for the lie");
            JobEvent disputed = h.events().stream().filter(e -> e.attemptState() == AttemptState.DISPUTED)
                    .findFirst().orElseThrow(() -> new AssertionError(h.events().toString()));
            assertTrue(disputed.detail().contains("RESULT_MISMATCH") || disputed.detail().contains("chunk"),
                    disputed.detail());
        });
    }
}
