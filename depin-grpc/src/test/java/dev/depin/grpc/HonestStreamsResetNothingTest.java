package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.ProviderNode;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * An honest buyer's jobs end without RST_STREAM: the node holds a finished stream's close until
 * the buyer half-closes, instead of closing first and having the buyer's gRPC reset its open
 * half. Measured before the change, 141 of 200 honest jobs ended in a reset from the buyer, so at
 * about 1,000 jobs/s on one connection the rapid-reset guard (10,000 resets per 10 s) sent honest
 * buyers GOAWAY (ENHANCE_YOUR_CALM, {@code too_many_rststreams}; the attack suite's quiet phase
 * lost jobs to it). Here the guard is lowered to 20 resets per 10 s, and 150 jobs in a row on one
 * connection must all succeed.
 */
class HonestStreamsResetNothingTest {
    private static final long SEED = 0x4E5E7L;

    @Test
    void honestJobs_onOneConnection_neverTripTheRapidResetGuard() throws Exception {
        System.out.println("HonestStreamsResetNothingTest seed 0x" + Long.toHexString(SEED));
        SplittableRandom random = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
             ProviderServer server = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1)).build(), key)
                     .listen("127.0.0.1", 0).directory(directory.address(), directory.publicKey())
                     .maxRstFramesPer10s(20).start();
             GrpcNetwork net = GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).build();
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            server.renewNow();
            int done = 0;
            for (int i = 0; i < 150; i++) {
                int n = 1 + random.nextInt(300);
                float[] x = CacheFixtures.floats(random, n);
                float[] y = CacheFixtures.floats(random, n);
                client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x)
                        .input("y", y).timeout(Duration.ofSeconds(30)).build()).result(Duration.ofSeconds(60));
                done++;
            }
            assertEquals(150, done);
        }
    }
}
