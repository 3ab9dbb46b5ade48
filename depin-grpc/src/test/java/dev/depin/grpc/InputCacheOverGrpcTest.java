package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.buyer;
import static dev.depin.grpc.CacheFixtures.event;
import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.node;
import static dev.depin.grpc.CacheFixtures.saxpy;
import static dev.depin.grpc.CacheFixtures.serve;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.AttemptState;
import dev.depin.job.DataMovement;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.Requirements;
import dev.depin.ledger.JdbcLedger;
import dev.depin.money.MicroUsd;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.InputTransfer;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs that stay on the node, over loopback mutual TLS: a buyer that lets providers keep its
 * inputs sends only their roots for its next job on them, the node asks for what it no longer
 * holds (restarted: cache lost) and the job still succeeds on the same stream, paid once.
 */
class InputCacheOverGrpcTest {
    private static final long SEED = 0x15C4C7EL;
    private final SplittableRandom random = new SplittableRandom(SEED);

    InputCacheOverGrpcTest() {
        System.out.println("InputCacheOverGrpcTest seed 0x" + Long.toHexString(SEED));
    }

    private ExecutionResponse dispatch(GrpcNetwork net, Job job, int attempt) throws Exception {
        ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS)
                .get(0);
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        random.nextBytes(nonce);
        ExecutionRequest r = new ExecutionRequest("0123456789abcdef0123456789abcdef", attempt, job.spec(),
                job.inputs(), nonce);
        ExecutionResponse resp = net.dispatch(offer, r, p -> { }).response().get(30, TimeUnit.SECONDS);
        ByteBuffer x = job.inputs().get("x");
        ByteBuffer y = job.inputs().get("y");
        ByteBuffer out = resp.outputBytes().get("out");
        int n = x.remaining() / 4;
        for (int i = 0; i < n; i += Math.max(1, n / 97)) {
            assertEquals(2f * x.getFloat(4 * i) + y.getFloat(4 * i), out.getFloat(4 * i), "element " + i);
        }
        return resp;
    }

    @Test
    void aSecondJobOnTheSameInputsSendsOnlyTheirRoots() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = node(key, InputCache.Limits.of(64L << 20, 64));
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(node, key, directory);
             GrpcNetwork net = buyer(directory, NodeKeyPair.generate(), true, false)) {
            for (int n : new int[] {1000, 100_003}) { // inputs inside Start, then in chunks
                long each = 4L * n;
                float[] x = floats(random, n);
                Job first = saxpy(x, floats(random, n), 50_000);
                assertEquals(new InputTransfer(2 * each, 2 * each, List.of(), List.of(), List.of("x", "y")),
                        dispatch(net, first, 1).inputTransfer());
                // Same x, new y: x by root only.
                Job second = saxpy(x, floats(random, n), 50_000);
                assertEquals(new InputTransfer(2 * each, each, List.of("x"), List.of(), List.of("x", "y")),
                        dispatch(net, second, 2).inputTransfer());
                // Both held: no input byte on the wire.
                ExecutionResponse warm = dispatch(net, second, 3);
                assertEquals(new InputTransfer(2 * each, 0, List.of("x", "y"), List.of(), List.of("x", "y")),
                        warm.inputTransfer());
            }
            // Per size class: x (second job), then x and y (third).
            assertEquals(6, node.inputCache().orElseThrow().hits());
        }
    }

    /**
     * The node restarts between two jobs on the same inputs (its cache is gone): the buyer sends
     * roots, the node answers Need, the bytes go on the same stream, and the job succeeds in its
     * one attempt (maxAttempts 1), paid exactly once.
     */
    @Test
    void aRestartedNodeAsksForTheBytesAndTheJobSucceedsPaidOnce(@TempDir Path dir) throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        AccountId buyer = AccountId.of("buyer:cache");
        int n = 70_001;
        float[] x = floats(random, n);
        float[] y = floats(random, n);
        try (JdbcLedger ledger = JdbcLedger.sqlite(dir.resolve("ledger.db"));
             DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                     .start();
             GrpcNetwork net = buyer(directory, NodeKeyPair.generate(), true, false)) {
            ledger.open(buyer, AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), buyer, MicroUsd.ofUsd("1"))).join();
            long paid = 0;
            try (DepinClient client = DepinClient.builder(net).maxAttempts(1)
                    .escrow(Escrow.builder(ledger, buyer).build()).build()) {
                ProviderServer first = serve(node(key, InputCache.Limits.of(64L << 20, 64)), key, directory);
                JobHandle h1 = client.submit(saxpy(x, y, 50_000));
                JobResult r1 = h1.result();
                assertEquals(JobState.SETTLED, h1.state());
                assertEquals("inputs: " + 8L * n + " of " + 8L * n + " bytes sent; kept by the provider: [x, y]",
                        event(h1, null, AttemptState.RETURNED).detail());
                paid += r1.cost().micros();
                first.close(); // the node goes, and its cache with it (wiped)

                ProviderServer second = serve(node(key, InputCache.Limits.of(64L << 20, 64)), key, directory);
                try {
                    net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS); // new address
                    JobHandle h2 = client.submit(saxpy(x, y, 50_000));
                    JobResult r2 = h2.result();
                    assertEquals(JobState.SETTLED, h2.state());
                    assertEquals(1, r2.attempt(), "the miss cost an attempt");
                    assertEquals("inputs: " + 8L * n + " of " + 8L * n + " bytes sent; resent after a cache miss: "
                            + "[x, y]; kept by the provider: [x, y]", event(h2, null, AttemptState.RETURNED).detail());
                    assertArrayEquals(r1.floats("out"), r2.floats("out"));
                    paid += r2.cost().micros();

                    assertEquals(List.of("x", "y"), r2.dataMovement().orElseThrow().resent());
                    assertEquals(0, r2.dataMovement().orElseThrow().inputBytesNotSent());

                    JobHandle h3 = client.submit(saxpy(x, y, 50_000)); // held again: roots only
                    h3.result();
                    assertEquals("inputs: 0 of " + 8L * n + " bytes sent; from the provider's cache: [x, y]; kept by "
                            + "the provider: [x, y]", event(h3, null, AttemptState.RETURNED).detail());
                    // The same account, as values on the result.
                    DataMovement warm = h3.result().dataMovement().orElseThrow();
                    assertEquals(8L * n, warm.inputBytesNotSent());
                    assertEquals(List.of("x", "y"), warm.fromCache());
                    assertEquals(List.of("x", "y"), warm.keptInputs());
                    assertTrue(warm.dataCharge().compareTo(h3.result().cost()) <= 0, warm.summary());
                    paid += h3.result().cost().micros();
                } finally {
                    second.close();
                }
            }
            assertEquals(1_000_000 - paid, ledger.balance(buyer).posted());
            assertEquals(paid, ledger.balance(Escrow.providerAccount(key.nodeId())).posted());
            long sum = 0;
            for (Balance b : ledger.balances()) {
                sum += b.posted();
                assertEquals(0, b.held(), b.toString());
            }
            assertEquals(0, sum);
            assertTrue(ledger.openHolds().isEmpty());
        }
    }

    /**
     * A chain: each job's input x is the previous job's output. With outputs kept on the node,
     * every intermediate goes down once (as an output) and never back up (the next job sends its
     * root only), and the chain's result equals the same chain computed here.
     */
    @Test
    void aChainOfJobsNeverSendsAnIntermediateBackUp() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = node(key, InputCache.Limits.of(64L << 20, 64));
        int n = 50_000;
        long each = 4L * n;
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer server = serve(node, key, directory);
             GrpcNetwork net = GrpcNetwork.builder().directory(directory.address(), directory.publicKey())
                     .offerCache(Duration.ZERO).keepOutputsOnProviders(true).build()) {
            float[] x = floats(random, n);
            float[] y = floats(random, n);
            float[] expected = x.clone();
            for (int step = 1; step <= 4; step++) {
                ExecutionResponse r = dispatch(net, saxpy(x, y, 50_000), step);
                InputTransfer t = r.inputTransfer();
                if (step == 1) {
                    assertEquals(new InputTransfer(2 * each, 2 * each, List.of(), List.of(), List.of("x", "y"),
                            List.of("out")), t);
                } else {
                    assertEquals(new InputTransfer(2 * each, 0, List.of("x", "y"), List.of(), List.of("x", "y"),
                            List.of("out")), t, "step " + step);
                }
                ByteBuffer out = r.outputBytes().get("out").order(java.nio.ByteOrder.LITTLE_ENDIAN);
                x = new float[n];
                out.asFloatBuffer().get(x);
                for (int i = 0; i < n; i++) {
                    expected[i] = 2f * expected[i] + y[i];
                }
            }
            assertArrayEquals(expected, x);
            // Inputs x0 and y, and the outputs of steps 1 to 4 (each step's x was the previous output).
            assertEquals(6 * each, node.inputCache().orElseThrow().bytes());
        }
    }

}
