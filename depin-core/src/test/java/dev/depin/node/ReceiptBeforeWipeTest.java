package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.ScriptedNetwork;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A large job's receipt before its wipe, in process: the node releases the receipt (signed alone)
 * once the outputs are committed and signs the attestation after the wipe, with that receipt as
 * its subject; a small job's receipt comes only with its result. The buyer's engine checks the
 * outputs meanwhile and counts the attempt only with the attestation checked.
 */
class ReceiptBeforeWipeTest {
    private static final long SEED = 0xB4F0_3E17L;
    /** 301 x 301 floats each for A, B and C: 1,087,212 bytes, above RECEIPT_FIRST_BYTES. */
    private static final int N = 301;

    private static Job sgemm(SplittableRandom rnd, int n) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", n).param("k", n).param("n", n)
                .input("a", floats(rnd, n * n)).input("b", floats(rnd, n * n))
                .verification(VerificationPolicy.spotCheck(0.05)).timeout(Duration.ofSeconds(60)).build();
    }

    private static float[] floats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static ExecutionRequest request(Job job) {
        return new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, job.spec(), job.inputs(),
                new byte[ExecutionRequest.NONCE_BYTES]);
    }

    @Test
    void largeJob_releasesItsReceiptBeforeTheWipe_andTheAttestationNamesIt() throws Exception {
        System.out.println("ReceiptBeforeWipeTest seed 0x" + Long.toHexString(SEED));
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        // The default node batches signatures: a large job's receipt is signed alone all the same.
        try (ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build()) {
            ExecutionRequest r = request(sgemm(rnd, N));
            NodeAttempt a = node.submit(r, p -> { }, r.newAssembler());
            Envelope receipt = a.receiptBeforeWipe().get(60, TimeUnit.SECONDS);
            assertNotNull(receipt, "released before the result");
            NodeResult done = a.result().get(60, TimeUnit.SECONDS);
            assertNull(done.batched());
            assertEquals(new String(receipt.toJsonBytes()), new String(done.receipt().toJsonBytes()));
            ExecutionReceipt stated = ExecutionReceipt.readUnverified(receipt);
            WipeAttestation.verify(done.wipe(), receipt, key.publicKey(), WipeAttestation.buffersOf(stated));
            // A small job's receipt comes with its result only (here in a batch).
            ExecutionRequest small = request(sgemm(rnd, 17));
            NodeAttempt b = node.submit(small, p -> { }, small.newAssembler());
            assertNull(b.receiptBeforeWipe().get(60, TimeUnit.SECONDS));
            assertNotNull(b.result().get(60, TimeUnit.SECONDS).batched());
        }
    }

    @Test
    void inProcess_theAttestationFollows_andWithoutItTheJobFails() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build();
        List<ExecutionResponse> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        boolean[] drop = new boolean[1];
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(node))).fault(node.nodeId(),
                ScriptedNetwork.Fault.TAMPER_RESPONSE).tamperResponses(r -> {
                    seen.add(r);
                    if (!drop[0]) {
                        return r;
                    }
                    CompletableFuture<Envelope> never = r.wipeToFollow().thenApply(w -> {
                        throw new IllegalStateException("lost on the way");
                    });
                    return new ExecutionResponse(r.jobId(), r.attempt(), r.provider(), r.executorKind(), r.outputs(),
                            r.startedAt(), r.endedAt(), r.deviceNanos(), r.receipt(), null, null, r.inputTransfer(),
                            never);
                });
        try (DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            JobResult ok = client.submit(sgemm(rnd, N)).result();
            assertTrue(seen.get(0).wipeFollows(), "the receipt came first");
            assertFalse(ok.report().checks().isEmpty());
            assertTrue(ok.report().checks().stream().anyMatch(c -> c.name().equals("buffers")), ok.report().summary());
            WipeAttestation.verify(ok.wipe(), ok.receipt(), key.publicKey(),
                    WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(ok.receipt())));
            drop[0] = true;
            JobFailedException e = org.junit.jupiter.api.Assertions.assertThrows(JobFailedException.class,
                    () -> client.submit(sgemm(rnd, N)).result());
            assertEquals(JobState.FAILED, e.finalState());
            assertTrue(e.getMessage().contains("signed its receipt but its wipe attestation did not come (lost on the "
                    + "way): the attempt does not count"), e.getMessage());
        } finally {
            net.close();
        }
    }

    @Test
    void wipeAttestationGrace_mustBePositive() {
        LocalNetwork net = LocalNetwork.of(List.of(ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .build()));
        try {
            DepinClient.Builder b = DepinClient.builder(net);
            dev.depin.InvalidArgumentException zero = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.depin.InvalidArgumentException.class, () -> b.wipeAttestationGrace(Duration.ZERO));
            assertEquals("wipe attestation grace PT0S must be positive", zero.getMessage());
            dev.depin.InvalidArgumentException negative = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.depin.InvalidArgumentException.class, () -> b.wipeAttestationGrace(Duration.ofMillis(-1)));
            assertEquals("wipe attestation grace PT-0.001S must be positive", negative.getMessage());
            org.junit.jupiter.api.Assertions.assertThrows(dev.depin.InvalidArgumentException.class,
                    () -> b.wipeAttestationGrace(null));
            assertEquals(Duration.ofSeconds(5), DepinClient.DEFAULT_WIPE_ATTESTATION_GRACE);
        } finally {
            net.close();
        }
    }
}
