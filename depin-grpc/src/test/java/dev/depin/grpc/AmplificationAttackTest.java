package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.JobTooLargeException;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.ProviderRejectedException;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Amplification: strangers ask for SGEMM m=n=23000, k=1 (184 KB of inputs, 2.1 GB of
 * output), and for jobs whose inputs and outputs together pass the node's working memory.
 * Each is refused at its Start with RESOURCE_EXHAUSTED and the limit, before an input byte
 * is held or any work runs; honest jobs meanwhile all succeed.
 */
class AmplificationAttackTest {
    private static final long SEED = 0x5EEDA3L;
    private static final long MAX_OUT = 16L << 20;
    private static final long MAX_JOB = 32L << 20;

    private static Job sgemm(int m, int n, int k) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", m).param("n", n).param("k", k)
                .input("a", new float[m * k]).input("b", new float[k * n]).build();
    }

    @Test
    void hugeOutputsAndMemory_refusedAtStartWhileHonestJobsSucceed() throws Exception {
        System.out.println("AmplificationAttackTest seed " + SEED);
        NodeKeyPair providerKey = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(providerKey, new CpuExecutor(1)).jobLimits(MAX_OUT, MAX_JOB).build();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer server = ProviderServer.builder(node, providerKey).directory(directory.address()).start();
             GrpcNetwork net = GrpcNetwork.connect(directory.address())) {
            server.renewNow();
            ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                    .get(10, TimeUnit.SECONDS).get(0);
            Job amplify = sgemm(23000, 23000, 1);
            Job memory = Job.builder(BuiltinKernel.SAXPY).param("n", 3 << 20).param("alpha", 2f)
                    .input("x", new float[3 << 20]).input("y", new float[3 << 20]).build(); // 24 MiB in + 12 out
            List<Hostile> strangers = new ArrayList<>();
            try (HonestLoad honest = new HonestLoad(net, offer, 2, SEED, 1000)) {
                honest.awaitOk(3);
                List<Hostile.Stream> streams = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    Hostile h = new Hostile(server.address(), providerKey.publicKey());
                    strangers.add(h);
                    Hostile.Stream s = h.open(true);
                    s.send(Hostile.start(i % 2 == 0 ? amplify : memory, Hostile.jobId(i)));
                    streams.add(s);
                }
                for (int i = 0; i < streams.size(); i++) {
                    Status st = streams.get(i).await(10);
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
                    assertTrue(st.getDescription().contains(i % 2 == 0
                            ? "declares 2116000000 output bytes; provider " + providerKey.nodeId().shortId()
                              + " returns at most 16777216 per job"
                            : "needs 37748736 bytes of working memory (25165824 input + 12582912 output)"),
                            st.toString());
                    assertEquals(0, streams.get(i).outputBytes.get());
                }
                int before = honest.ok.get();
                honest.awaitOk(before + 3);
                honest.close();
                assertEquals(List.of(), honest.failures, "honest jobs failed during the attack");
                assertEquals(honest.ok.get(), node.completedCount(), "only honest jobs ran");
                assertEquals(0, node.failedCount(), "refused at Start: the node never queued them");
            } finally {
                strangers.forEach(Hostile::close);
            }
            assertEquals(0, server.reservedInputBytes());

            // A buyer through GrpcNetwork gets the refusal as a ProviderRejectedException with the reason.
            ExecutionRequest r = new ExecutionRequest(Hostile.jobId(99), 1, amplify.spec(), amplify.inputs(),
                    new byte[ExecutionRequest.NONCE_BYTES]);
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> net.dispatch(offer, r, p -> { }).response().get(10, TimeUnit.SECONDS));
            assertInstanceOf(ProviderRejectedException.class, e.getCause(), e.toString());
            assertTrue(e.getCause().getMessage().contains("RESOURCE_EXHAUSTED: job declares 2116000000 output bytes"),
                    e.getCause().getMessage());
        }
    }

    @Test
    void admit_refusesWhatPassesTheNodesLimits() {
        NodeKeyPair key = NodeKeyPair.generate();
        try (ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).jobLimits(MAX_OUT, MAX_JOB).build()) {
            JobTooLargeException out = assertThrows(JobTooLargeException.class,
                    () -> node.admit(sgemm(23000, 23000, 1).spec()));
            assertTrue(out.getMessage().startsWith("job declares 2116000000 output bytes; provider "), out.getMessage());
            node.admit(sgemm(1024, 1024, 1024).spec()); // 4 + 4 + 4 MiB: taken
            assertEquals(MAX_OUT, node.maxOutputBytes());
            assertEquals(MAX_JOB, node.maxJobBytes());
        }
    }
}
