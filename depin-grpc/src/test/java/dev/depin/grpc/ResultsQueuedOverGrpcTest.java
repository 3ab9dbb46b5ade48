package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Requirements;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.network.spi.SmallRequests;
import dev.depin.node.ProviderNode;
import dev.depin.node.SealProbe;
import dev.depin.provider.ProviderOffer;
import java.util.List;
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

    @Test
    void behindBuyer_jobHeldOverTheWire_andSignedWithTheNextInOneBatch() throws Exception {
        System.out.println("ResultsQueuedOverGrpcTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = SealProbe.lingeringNode(key);
        try (Loopback net = new Loopback(List.of(node), List.of(key))) {
            ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                    .get(30, TimeUnit.SECONDS).get(0);
            Dispatch behind = net.dispatch(offer, SmallRequests.request(rnd, ExecutionRequest.BEHIND), p -> { });
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (SealProbe.pendingSeals(node) != 1) {
                assertFalse(behind.response().isDone(), "signed at once: the node did not see the buyer's hint");
                assertTrue(System.nanoTime() < until, "the job of a buyer that is behind was never held");
                Thread.sleep(1);
            }
            assertFalse(behind.response().isDone(), "held for company, with an hour's linger");
            Dispatch caughtUp = net.dispatch(offer, SmallRequests.request(rnd, 0), p -> { });
            ExecutionResponse ra = behind.response().get(30, TimeUnit.SECONDS);
            ExecutionResponse rb = caughtUp.response().get(30, TimeUnit.SECONDS);
            assertEquals(ra.batched().batch().digestHex(), rb.batched().batch().digestHex(), "one signature for both");
            assertEquals(4, ra.batched().receiptProof().leafCount());
            assertEquals(0, SealProbe.pendingSeals(node));
            // A buyer that is not behind: signed at once, alone, despite the hour's linger.
            ExecutionResponse alone = net.dispatch(offer, SmallRequests.request(rnd, 0), p -> { }).response()
                    .get(30, TimeUnit.SECONDS);
            assertEquals(2, alone.batched().receiptProof().leafCount());
        }
    }
}
