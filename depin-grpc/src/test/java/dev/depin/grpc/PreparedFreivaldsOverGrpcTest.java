package dev.depin.grpc;

import static dev.depin.network.spi.FreivaldsJobs.passed;
import static dev.depin.network.spi.FreivaldsJobs.sgemm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.client.internal.AttemptVerifier;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.VerificationReport;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.Requirements;
import dev.depin.kernel.CpuReference;
import dev.depin.network.spi.ArrivalTaps;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The prepared Freivalds check over gRPC: the {@link GrpcNetwork}'s assembler feeds the taps the
 * request carries, so every returned SGEMM result (C of one byte to many chunks) is checked
 * prepared, for two clients in one process at once, and for two clients whose attempts have the
 * same job ids, attempt numbers and nonces at the same time.
 */
class PreparedFreivaldsOverGrpcTest {
    private static final long SEED = 0x7A95_0C11L;
    private static final String JOB_ID = "fedcba9876543210fedcba9876543210";
    /** m, k, n: C of 4 bytes, one row, one column, and 600 KiB (150 chunks of 4 KiB). */
    private static final int[][] SHAPES = {{1, 1, 1}, {1, 9, 1023}, {1023, 2, 1}, {300, 7, 513}};

    private static Loopback loopback() {
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate(), NodeKeyPair.generate());
        List<ProviderNode> nodes = List.of(ProviderNode.builder(keys.get(0), new CpuExecutor(1)).build(),
                ProviderNode.builder(keys.get(1), new CpuExecutor(1)).build());
        return new Loopback(nodes, keys);
    }

    @Test
    void twoClients_sgemmOverGrpc_everyResultCheckedPrepared() throws Exception {
        System.out.println("PreparedFreivaldsOverGrpcTest seed = " + SEED);
        try (Loopback net = loopback();
             DepinClient one = DepinClient.builder(net).build();
             DepinClient two = DepinClient.builder(net).build()) {
            List<JobHandle> handles = new ArrayList<>();
            for (int rep = 0; rep < 2; rep++) {
                for (int[] s : SHAPES) {
                    handles.add(one.submit(sgemm(SEED, s[0], s[1], s[2])));
                    handles.add(two.submit(sgemm(SEED, s[0], s[1], s[2])));
                }
            }
            for (JobHandle h : handles) {
                JobResult r = h.result(Duration.ofSeconds(60));
                assertTrue(passed(r.report(), "freivalds"), r.report().toString());
                assertTrue(passed(r.report(), AttemptVerifier.PREPARED_CHECK), r.report().toString());
            }
        }
    }

    private static ExecutionRequest request(Job job, int attempt) {
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        new SplittableRandom(SEED + attempt).nextBytes(nonce);
        return new ExecutionRequest(JOB_ID, attempt, job.spec(), job.inputs(), nonce);
    }

    /**
     * Two clients (two verifiers) send attempts with the same ids and nonces at the same time,
     * each to its own provider through the one gRPC network: each check is fed by its own
     * attempt's assembler only.
     */
    @Test
    void twoClients_sameJobIdsAndNonces_concurrently_eachCheckedPrepared() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (Loopback net = loopback(); CpuReference ref0 = new CpuReference(1);
             CpuReference ref1 = new CpuReference(1)) {
            List<ProviderOffer> offers = net.offers(new OfferQuery("sgemm", Requirements.ANY, 10))
                    .get(10, TimeUnit.SECONDS);
            assertEquals(2, offers.size());
            List<AttemptVerifier> clients = List.of(new AttemptVerifier(ref0, Parallelism.callerThread()),
                    new AttemptVerifier(ref1, Parallelism.callerThread()));
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<Void>> runs = new ArrayList<>();
            for (int c = 0; c < 2; c++) {
                AttemptVerifier client = clients.get(c);
                ProviderOffer offer = offers.get(c);
                String who = "client " + c;
                runs.add(CompletableFuture.runAsync(() -> {
                    try {
                        go.await();
                        for (int rep = 0; rep < 3; rep++) {
                            for (int j = 0; j < SHAPES.length; j++) {
                                int[] s = SHAPES[j];
                                Job job = sgemm(SEED, s[0], s[1], s[2]);
                                ExecutionRequest req = request(job, j + 1);
                                ArrivalTaps taps = client.prepareFreivalds(job.spec(), job.inputs(), req).orElseThrow();
                                ExecutionResponse response = net.dispatch(offer, req.withTaps(taps), p -> { })
                                        .response().get(60, TimeUnit.SECONDS);
                                assertFalse(taps.pending(), who + ": the network's assembler took the taps");
                                VerificationReport report = client.verify(job.spec(), job.spec().hash(), job.inputs(),
                                        offer, req, response);
                                assertTrue(passed(report, AttemptVerifier.PREPARED_CHECK), who + " rep " + rep
                                        + " job " + j + ": " + report);
                            }
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(who + ": " + e, e);
                    }
                }, threads));
            }
            go.countDown();
            CompletableFuture.allOf(runs.toArray(new CompletableFuture<?>[0])).get(180, TimeUnit.SECONDS);
            for (AttemptVerifier v : clients) {
                assertEquals(0, v.preparedChecks(), "every prepared check was used and wiped");
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
