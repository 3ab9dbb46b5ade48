package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.buyer;
import static dev.depin.grpc.CacheFixtures.event;
import static dev.depin.grpc.CacheFixtures.floats;
import static dev.depin.grpc.CacheFixtures.saxpy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Placement by input locality over loopback mutual TLS: a buyer that keeps its inputs on
 * providers sends its next job on them to the provider that holds them, although a cheaper one
 * is listed, and sends nothing but roots; a job on other inputs, and a buyer that keeps
 * nothing, go to the cheaper provider as before.
 */
class InputLocalityOverGrpcTest {
    private static final long SEED = 0x10CA11L;
    private final SplittableRandom random = new SplittableRandom(SEED);

    InputLocalityOverGrpcTest() {
        System.out.println("InputLocalityOverGrpcTest seed 0x" + Long.toHexString(SEED));
    }

    private static ProviderServer serve(NodeKeyPair key, long microsPerSecond, DirectoryServer directory) {
        return CacheFixtures.serve(ProviderNode.builder(key, new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(microsPerSecond), MicroUsd.ofMicros(10)))
                .inputCache(InputCache.Limits.of(64L << 20, 64)).build(), key, directory);
    }

    @Test
    void theNextJobOnKeptInputsGoesWhereTheyAre_otherJobsToTheCheaperProvider() throws Exception {
        NodeKeyPair dear = NodeKeyPair.generate();
        NodeKeyPair cheap = NodeKeyPair.generate();
        int n = 65_537;
        long inputBytes = 8L * n;
        float[] x = floats(random, n);
        float[] y = floats(random, n);
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0)
                .start();
             ProviderServer first = serve(dear, 5_000, directory);
             GrpcNetwork keeping = buyer(directory, NodeKeyPair.generate(), true, false);
             DepinClient client = DepinClient.builder(keeping).build()) {
            JobResult r1 = client.submit(saxpy(x, y, 500_000)).result();
            assertEquals(dear.nodeId(), r1.provider(), "the only provider listed");

            try (ProviderServer second = serve(cheap, 100, directory)) {
                // Same inputs: the provider that holds them, though ten times dearer, and roots only.
                JobHandle h2 = client.submit(saxpy(x, y, 500_000));
                JobResult r2 = h2.result();
                assertEquals(dear.nodeId(), r2.provider(), "the job went past the provider holding its inputs");
                String matched = event(h2, JobState.MATCHED, null).detail();
                assertTrue(matched.contains(dear.nodeId().shortId() + " est. ")
                        && matched.contains(", holds " + inputBytes + " input bytes"), matched);
                assertEquals("inputs: 0 of " + inputBytes + " bytes sent; from the provider's cache: [x, y]; kept by "
                        + "the provider: [x, y]", event(h2, null, AttemptState.RETURNED).detail());

                // Half of them held (same x, new y): still the holder, which gets only y.
                JobHandle h3 = client.submit(saxpy(x, floats(random, n), 500_000));
                assertEquals(dear.nodeId(), h3.result().provider());
                assertTrue(event(h3, JobState.MATCHED, null).detail().contains(", holds " + 4L * n + " input bytes"),
                        event(h3, JobState.MATCHED, null).detail());

                // Inputs nobody holds: the cheaper provider, as placement always chose.
                JobHandle h4 = client.submit(saxpy(floats(random, n), floats(random, n), 500_000));
                assertEquals(cheap.nodeId(), h4.result().provider());
                assertTrue(!event(h4, JobState.MATCHED, null).detail().contains("holds"),
                        event(h4, JobState.MATCHED, null).detail());

                // A buyer that keeps nothing ranks by price alone, on the very same inputs.
                try (GrpcNetwork plain = buyer(directory, NodeKeyPair.generate(), false, false);
                     DepinClient other = DepinClient.builder(plain).build()) {
                    assertEquals(cheap.nodeId(), other.submit(saxpy(x, y, 500_000)).result().provider());
                }
            }
        }
    }
}
