package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.Delivery;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.node.SealProbe;
import dev.depin.provider.ProviderOffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The buyer's "results queued" hint crosses the wire (Start.results_queued): a node whose seal
 * linger outlasts the test holds the job of a buyer that says it is behind, and signs it with
 * the next job of a caught-up buyer, in one batch; a job whose buyer is not behind is signed at
 * once. Without the field the node would see 0 and sign the first job alone.
 */
class ResultsQueuedOverGrpcTest {
    private static final long SEED = 0x2E5017EDL;

    private static ExecutionRequest request(SplittableRandom rnd, int resultsQueued) {
        int n = 1 + rnd.nextInt(300);
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        Job job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x).input("y", y)
                .timeout(Duration.ofSeconds(60)).build();
        byte[] id = new byte[16];
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        for (int i = 0; i < id.length; i++) {
            id[i] = (byte) rnd.nextInt();
        }
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = (byte) rnd.nextInt();
        }
        return new ExecutionRequest(dev.depin.crypto.Hex.encode(id), 1, job.spec(), job.inputs(), nonce,
                Optional.empty(), Delivery.RETURN, resultsQueued);
    }

    @Test
    void behindBuyer_jobHeldOverTheWire_andSignedWithTheNextInOneBatch() throws Exception {
        System.out.println("ResultsQueuedOverGrpcTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = SealProbe.lingeringNode(key);
        try (Loopback net = new Loopback(List.of(node), List.of(key))) {
            ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                    .get(30, TimeUnit.SECONDS).get(0);
            Dispatch behind = net.dispatch(offer, request(rnd, ExecutionRequest.BEHIND), p -> { });
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (SealProbe.pendingSeals(node) != 1) {
                assertFalse(behind.response().isDone(), "signed at once: the node did not see the buyer's hint");
                assertTrue(System.nanoTime() < until, "the job of a buyer that is behind was never held");
                Thread.sleep(1);
            }
            assertFalse(behind.response().isDone(), "held for company, with an hour's linger");
            Dispatch caughtUp = net.dispatch(offer, request(rnd, 0), p -> { });
            ExecutionResponse ra = behind.response().get(30, TimeUnit.SECONDS);
            ExecutionResponse rb = caughtUp.response().get(30, TimeUnit.SECONDS);
            assertEquals(ra.batched().batch().digestHex(), rb.batched().batch().digestHex(), "one signature for both");
            assertEquals(4, ra.batched().receiptProof().leafCount());
            assertEquals(0, SealProbe.pendingSeals(node));
            // A buyer that is not behind: signed at once, alone, despite the hour's linger.
            ExecutionResponse alone = net.dispatch(offer, request(rnd, 0), p -> { }).response()
                    .get(30, TimeUnit.SECONDS);
            assertEquals(2, alone.batched().receiptProof().leafCount());
        }
    }
}
