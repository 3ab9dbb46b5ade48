package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stalled readers: strangers submit jobs whose outputs (9 MiB each) are larger than the
 * HTTP/2 window and never read them. Each attempt is stopped when its reader has granted no
 * credit for the stall limit, which frees the node's one worker; honest jobs, queued in turn
 * with the strangers' (fair queueing), all succeed meanwhile, and afterwards the node holds no
 * attempt, no input bytes and no stream of its own accounting.
 */
class StalledReaderAttackTest {
    private static final long SEED = 0x5EED57L;

    @Test
    void unreadOutputs_attemptsStoppedWorkerFreedHonestJobsSucceed() throws Exception {
        System.out.println("StalledReaderAttackTest seed " + SEED);
        NodeKeyPair providerKey = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(providerKey, new CpuExecutor(1)).build();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer server = ProviderServer.builder(node, providerKey).directory(directory.address())
                     .stallTimeout(Duration.ofMillis(500)).start();
             GrpcNetwork net = GrpcNetwork.connect(directory.address())) {
            server.renewNow();
            ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                    .get(10, TimeUnit.SECONDS).get(0);
            int m = 1536;
            Job wide = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("n", m).param("k", 1)
                    .input("a", new float[m]).input("b", new float[m]).build(); // 12 KiB in, 9 MiB out
            List<Hostile> strangers = new ArrayList<>();
            List<Hostile.Stream> stalled = new ArrayList<>();
            try (HonestLoad honest = new HonestLoad(net, offer, 2, SEED, 1000)) {
                honest.awaitOk(3);
                for (int i = 0; i < 8; i++) {
                    Hostile h = new Hostile(server.address(), providerKey.publicKey());
                    strangers.add(h);
                    Hostile.Stream s = h.open(false); // never reads a message
                    s.send(Hostile.start(wide, Hostile.jobId(i)));
                    s.send(Hostile.input("a", new byte[m * 4], 0, m * 4));
                    s.send(Hostile.input("b", new byte[m * 4], 0, m * 4));
                    stalled.add(s);
                }
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (node.failedCount() + node.cancelledCount() < stalled.size() && System.nanoTime() < until) {
                    Thread.sleep(10);
                }
                assertEquals(stalled.size(), node.failedCount() + node.cancelledCount(),
                        "every stalled reader's attempt is stopped");
                int before = honest.ok.get();
                honest.awaitOk(before + 3);
                honest.close();
                assertEquals(List.of(), honest.failures, "honest jobs failed during the attack");
                assertEquals(honest.ok.get(), node.completedCount(), "no stalled job completed");
                for (Hostile.Stream s : stalled) {
                    assertTrue(s.outputBytes.get() == 0, "the stalled reader read nothing");
                }
            } finally {
                // Cancel the unread calls first: their buffered replies are released with the call.
                stalled.forEach(s -> s.requests.cancel("the attack is over", null));
                strangers.forEach(Hostile::close);
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((node.busy() != 0 || server.openStreams() != 0) && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(0, node.busy());
            assertEquals(0, server.openStreams());
            assertEquals(0, server.reservedInputBytes());
            for (Hostile.Stream s : stalled) {
                Status st = s.status.getNow(null);
                assertTrue(st == null || !st.isOk(), String.valueOf(st));
            }
        }
    }
}
