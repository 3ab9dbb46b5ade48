package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.Assurance;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.VerificationReport;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.network.ScriptedNetwork;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.Region;
import dev.depin.verify.DisputeNotUpheldException;
import dev.depin.verify.OfflineVerifier;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Adversarial tests end to end: a provider (or the path from it) lies in each way the
 * trust design anticipates, and the buyer catches it with the specific reason, disputes
 * the attempt, keeps the evidence, and gets a verified result from another provider.
 */
class TrustTest {
    private static final long SEED = 0x7275_7374L;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<NodeKeyPair> keys = new ArrayList<>();

    @BeforeAll
    static void seed() {
        System.out.println("TrustTest seed = " + SEED);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Two honest providers; provider 0 is much cheaper. */
    private List<ProviderNode> nodes() {
        return nodes(null);
    }

    /** Two providers; provider 0 is much cheaper and, when {@code corrupt} is given, lies with it. */
    private List<ProviderNode> nodes(BiConsumer<String, ByteBuffer> corrupt) {
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 10);
            NodeKeyPair key = NodeKeyPair.fromSeed(seed);
            keys.add(key);
            DeviceExecutor executor = new CpuExecutor(1);
            if (i == 0 && corrupt != null) {
                executor = new CorruptingExecutor(executor, corrupt);
            }
            // Single envelopes (receiptBatching(0)): these tests tamper with each envelope; the
            // batched form's tampering is tested in ReceiptBatchingTest and BatchTest.
            nodes.add(ProviderNode.builder(key, executor).region(Region.parse("DE/fra-1"))
                    .price(new Price(MicroUsd.ofMicros(i == 0 ? 1_000 : 100_000), MicroUsd.ofMicros(1_000)))
                    .receiptBatching(0).build());
        }
        return nodes;
    }

    private DepinClient client(ScriptedNetwork net) {
        DepinClient c = DepinClient.builder(net).maxAttempts(2).build();
        open.add(net);
        open.add(c);
        return c;
    }

    private static Job sgemm(VerificationPolicy policy, int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(SEED + m * 31L + k * 7L + n);
        return Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                .input("a", random(rnd, m * k)).input("b", random(rnd, k * n)).verification(policy)
                .timeout(Duration.ofSeconds(30)).build();
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    /** Runs one job where provider 0 misbehaves; asserts the dispute and the rescue by provider 1. */
    private DisputeRecord caught(ScriptedNetwork net, List<ProviderNode> nodes, Job job, Reason reason) {
        JobResult r = client(net).submit(job).result();
        assertEquals(nodes.get(1).nodeId(), r.provider(), "the job must be rescued by the honest provider");
        assertEquals(2, r.attempt(), r.history().toString());
        assertEquals(1, r.disputes().size(), r.disputes().toString());
        DisputeRecord d = r.disputes().get(0);
        assertEquals(reason, d.reason(), d.message());
        assertEquals(nodes.get(0).nodeId(), d.provider());
        JobEvent disputed = r.history().stream().filter(e -> e.attemptState() == AttemptState.DISPUTED).findFirst()
                .orElseThrow(() -> new AssertionError("no disputed attempt in " + r.history()));
        assertEquals(1, disputed.attempt());
        assertEquals(nodes.get(0).nodeId(), disputed.provider());
        assertTrue(disputed.detail().startsWith(reason.name() + ": "), disputed.detail());
        // Round 2 after the dispute, then the verified result.
        assertEquals(List.of(JobState.SUBMITTED, JobState.MATCHED, JobState.DISPATCHED, JobState.RETURNED,
                JobState.MATCHED, JobState.DISPATCHED, JobState.RETURNED, JobState.VERIFIED),
                DepinClientTest.states(r.history()));
        return d;
    }

    private ScriptedNetwork tampering(List<ProviderNode> nodes, UnaryOperator<ExecutionResponse> f) {
        return new ScriptedNetwork(LocalNetwork.of(nodes)).fault(nodes.get(0).nodeId(),
                ScriptedNetwork.Fault.TAMPER_RESPONSE).tamperResponses(f);
    }

    private static ExecutionResponse withReceipt(ExecutionResponse r, Envelope receipt, Envelope wipe,
                                                 Map<String, ByteBuffer> outputs) {
        ExecutionResponse bytes = ScriptedNetwork.withOutputs(r, outputs);
        return new ExecutionResponse(r.jobId(), r.attempt(), r.provider(), r.executorKind(), bytes.outputs(),
                r.startedAt(), r.endedAt(), r.deviceNanos(), receipt, wipe);
    }

    /** The receipt inside {@code env} with one field changed, re-signed by {@code signer}. */
    private static Envelope resign(Envelope env, NodeKeyPair signer, UnaryOperator<ExecutionReceipt> change) {
        return change.apply(ExecutionReceipt.readUnverified(env)).sign(signer);
    }

    private static ExecutionReceipt copy(ExecutionReceipt r, String nonce, String specHash) {
        return new ExecutionReceipt(r.jobId(), r.attempt(), specHash, r.kernelId(), r.kernelHash(), nonce, r.inputs(),
                r.outputs(), r.merkleChunkBytes(), r.executorKind(), r.device(), r.startedAt(), r.endedAt(),
                r.deviceTimeNanos(), r.assurance());
    }

    @Test
    void flippedBitInTransit_outputRootMismatch() {
        List<ProviderNode> nodes = nodes();
        ScriptedNetwork net = tampering(nodes, r -> {
            ByteBuffer c = r.outputBytes().get("c");
            ByteBuffer flipped = ByteBuffer.allocate(c.remaining());
            flipped.put(c).flip();
            flipped.put(37, (byte) (flipped.get(37) ^ 0x08));
            return ScriptedNetwork.withOutputs(r, Map.of("c", flipped));
        });
        caught(net, nodes,
                sgemm(VerificationPolicy.signatureOnly(), 9, 8, 7), Reason.OUTPUT_ROOT_MISMATCH);
    }

    @Test
    void wrongButSelfConsistentOutput_freivaldsCatchesIt() {
        List<ProviderNode> nodes = nodes(corruptOneElement());
        Job job = sgemm(VerificationPolicy.freivalds(20), 33, 17, 65);
        DisputeRecord d = caught(new ScriptedNetwork(LocalNetwork.of(nodes)), nodes, job, Reason.RESULT_MISMATCH);
        assertEquals("freivalds", d.evidence().check());
        assertEquals(64, d.evidence().seed().length(), "the seed that drew the vectors is in the evidence");
        // Anyone holding the inputs and the disputed bytes can re-check the dispute offline.
        VerificationReport upheld = OfflineVerifier.recheck(d, job.inputs(), d.outputs());
        assertTrue(upheld.checks().stream().anyMatch(c -> c.name().equals("dispute upheld")));
        // A round trip through JSON keeps everything the re-check needs.
        DisputeRecord back = DisputeRecord.fromJson(d.toJson());
        assertEquals(d, back);
        OfflineVerifier.recheck(back, job.inputs(), d.outputs());
    }

    @Test
    void wrongButSelfConsistentOutput_spotCheckCatchesIt() {
        List<ProviderNode> nodes = nodes(corruptOneElement());
        SplittableRandom rnd = new SplittableRandom(SEED);
        int n = 70_001;
        Job job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 0.5f)
                .input("x", random(rnd, n)).input("y", random(rnd, n))
                .verification(VerificationPolicy.spotCheck(1.0)).build();
        DisputeRecord d = caught(new ScriptedNetwork(LocalNetwork.of(nodes)), nodes, job, Reason.RESULT_MISMATCH);
        assertEquals("spot-check", d.evidence().check());
        OfflineVerifier.recheck(d, job.inputs(), d.outputs());
    }

    @Test
    void wrongButSelfConsistentOutput_signatureOnlyDoesNotCatchIt() {
        // Stated plainly: a signature proves who claims what, not that the math is right.
        List<ProviderNode> nodes = nodes(corruptOneElement());
        JobResult r = client(new ScriptedNetwork(LocalNetwork.of(nodes)))
                .submit(sgemm(VerificationPolicy.signatureOnly(), 4, 4, 4)).result();
        assertEquals(nodes.get(0).nodeId(), r.provider());
        assertEquals(Assurance.Level.SIGNATURE, r.report().assurance().level());
        assertTrue(r.disputes().isEmpty());
    }

    @Test
    void replayedReceiptFromEarlierJob_jobIdMismatch() {
        List<ProviderNode> nodes = nodes();
        AtomicReference<ExecutionResponse> earlier = new AtomicReference<>();
        ScriptedNetwork net = tampering(nodes, r -> {
            if (earlier.compareAndSet(null, r)) {
                return r;
            }
            ExecutionResponse old = earlier.get();
            return withReceipt(r, old.receipt(), old.wipe(), old.outputBytes());
        });
        DepinClient client = client(net);
        Job job = sgemm(VerificationPolicy.signatureOnly(), 5, 5, 5);
        client.submit(job).result();
        JobResult second = client.submit(job).result();
        assertEquals(Reason.JOB_ID_MISMATCH, second.disputes().get(0).reason());
        assertEquals(nodes.get(1).nodeId(), second.provider());
    }

    @Test
    void swappedNonce_nonceMismatch() {
        List<ProviderNode> nodes = nodes();
        NodeKeyPair key0 = keys.get(0);
        ScriptedNetwork net = tampering(nodes, r -> withReceipt(r, resign(r.receipt(), key0,
                rc -> copy(rc, "00".repeat(32), rc.specHash())), r.wipe(), r.outputBytes()));
        caught(net, nodes, sgemm(VerificationPolicy.signatureOnly(), 3, 3, 3), Reason.NONCE_MISMATCH);
    }

    @Test
    void signatureByAnotherKey_rejected() {
        List<ProviderNode> nodes = nodes();
        NodeKeyPair mallory = NodeKeyPair.fromSeed(new byte[32]);
        ScriptedNetwork net = tampering(nodes, r -> withReceipt(r, resign(r.receipt(), mallory, rc -> rc), r.wipe(),
                r.outputBytes()));
        JobResult res = client(net).submit(sgemm(VerificationPolicy.signatureOnly(), 3, 3, 3)).result();
        Reason reason = res.disputes().get(0).reason();
        assertTrue(reason == Reason.KEY_MISMATCH || reason == Reason.UNKNOWN_KEY || reason == Reason.BAD_SIGNATURE,
                reason.toString());
        assertTrue(res.disputes().get(0).message().contains(mallory.nodeId().hex().substring(0, 12))
                || res.disputes().get(0).message().contains("key"), res.disputes().get(0).message());
    }

    @Test
    void truncatedOutput_outputSizeMismatch() {
        List<ProviderNode> nodes = nodes();
        ScriptedNetwork net = tampering(nodes, r -> {
            Map<String, ByteBuffer> outs = new LinkedHashMap<>(r.outputBytes());
            ByteBuffer c = outs.get("c");
            outs.put("c", c.slice(0, c.remaining() - 4));
            return withReceipt(r, r.receipt(), r.wipe(), outs);
        });
        caught(net, nodes, sgemm(VerificationPolicy.signatureOnly(), 6, 2, 6), Reason.OUTPUT_SIZE_MISMATCH);
    }

    @Test
    void receiptForAnotherSpec_specHashMismatch() {
        List<ProviderNode> nodes = nodes();
        NodeKeyPair key0 = keys.get(0);
        ScriptedNetwork net = tampering(nodes, r -> withReceipt(r, resign(r.receipt(), key0,
                rc -> copy(rc, rc.nonce(), "ab".repeat(32))), r.wipe(), r.outputBytes()));
        caught(net, nodes, sgemm(VerificationPolicy.signatureOnly(), 3, 4, 5), Reason.SPEC_HASH_MISMATCH);
    }

    @Test
    void wipeAttestationForAnotherReceipt_subjectMismatch() {
        List<ProviderNode> nodes = nodes();
        AtomicReference<ExecutionResponse> earlier = new AtomicReference<>();
        ScriptedNetwork net = tampering(nodes, r -> {
            if (earlier.compareAndSet(null, r)) {
                return r;
            }
            return withReceipt(r, r.receipt(), earlier.get().wipe(), r.outputBytes());
        });
        DepinClient client = client(net);
        Job job = sgemm(VerificationPolicy.signatureOnly(), 5, 5, 5);
        client.submit(job).result();
        JobResult second = client.submit(job).result();
        assertEquals(Reason.SUBJECT_MISMATCH, second.disputes().get(0).reason());
    }

    @Test
    void alteredPayloadType_wrongPayloadType() {
        List<ProviderNode> nodes = nodes();
        ScriptedNetwork net = tampering(nodes, r -> withReceipt(r, new Envelope("application/json",
                r.receipt().payload(), r.receipt().signatures()), r.wipe(), r.outputBytes()));
        caught(net, nodes, sgemm(VerificationPolicy.signatureOnly(), 2, 2, 2), Reason.WRONG_PAYLOAD_TYPE);
    }

    @Test
    void redundant_majorityOutvotesLiar() {
        List<ProviderNode> nodes = new ArrayList<>(nodes(corruptOneElement()));
        byte[] seed = new byte[32];
        seed[0] = 99;
        nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).region(Region.parse("FR"))
                .price(new Price(MicroUsd.ofMicros(200_000), MicroUsd.ofMicros(1_000))).receiptBatching(0).build());
        DepinClient client = client(new ScriptedNetwork(LocalNetwork.of(nodes)));
        JobResult r = client.submit(sgemm(VerificationPolicy.redundant(3), 8, 8, 8)).result();
        assertEquals(Assurance.Level.REDUNDANT, r.report().assurance().level());
        assertEquals(1, r.disputes().size());
        assertEquals(nodes.get(0).nodeId(), r.disputes().get(0).provider());
        assertEquals(Reason.RESULT_MISMATCH, r.disputes().get(0).reason());
        assertTrue(!r.provider().equals(nodes.get(0).nodeId()));
        // The buyer pays the two agreeing replicas, not the liar.
        assertTrue(r.cost().micros() > 0);
    }

    @Test
    void redundant_replicaWhosePeerWentSilentServesAgain() {
        // Three providers for two replicas: the cheapest refuses every attempt. Round 1 pairs it
        // with provider 1, whose verified answer finds no quorum; round 2 has one untried
        // provider left and asks provider 1 again rather than failing the job.
        List<ProviderNode> nodes = new ArrayList<>(nodes());
        byte[] seed = new byte[32];
        seed[0] = 99;
        nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).region(Region.parse("FR"))
                .price(new Price(MicroUsd.ofMicros(200_000), MicroUsd.ofMicros(1_000))).receiptBatching(0).build());
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes))
                .fault(nodes.get(0).nodeId(), ScriptedNetwork.Fault.REFUSE);
        JobResult r = client(net).submit(sgemm(VerificationPolicy.redundant(2), 6, 5, 4)).result();
        assertEquals(Assurance.Level.REDUNDANT, r.report().assurance().level());
        assertEquals(List.of(1, 2, 1), List.of(net.dispatches(nodes.get(0).nodeId()),
                net.dispatches(nodes.get(1).nodeId()), net.dispatches(nodes.get(2).nodeId())),
                "dispatches to the refusing, the reused and the last provider");
        assertTrue(r.disputes().isEmpty(), r.disputes().toString());
    }

    @Test
    void redundant_replicasThatDisagreeAreNotAskedAgain() {
        // Provider 0 lies, provider 1 is honest: no majority among two, and neither may be paired
        // again (which one lied is unknown), so with one untried provider left the job fails.
        List<ProviderNode> nodes = new ArrayList<>(nodes(corruptOneElement()));
        byte[] seed = new byte[32];
        seed[0] = 99;
        nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).region(Region.parse("FR"))
                .price(new Price(MicroUsd.ofMicros(200_000), MicroUsd.ofMicros(1_000))).receiptBatching(0).build());
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> client(net).submit(sgemm(VerificationPolicy.redundant(2), 6, 5, 4)).result());
        assertEquals(JobState.FAILED, e.finalState());
        assertTrue(e.getMessage().contains("no other provider is left to try"), e.getMessage());
        assertEquals(0, net.dispatches(nodes.get(2).nodeId()));
    }

    @Test
    void redundant_notEnoughProvidersIsRejected() {
        List<ProviderNode> nodes = nodes();
        DepinClient client = client(new ScriptedNetwork(LocalNetwork.of(nodes)));
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> client.submit(sgemm(VerificationPolicy.redundant(3), 2, 2, 2)).result());
        assertEquals(JobState.REJECTED, e.finalState());
        assertTrue(e.getMessage().contains("fewer than the 3 distinct providers that redundant(3) needs fit "
                + "(2 offer(s) considered)"), e.getMessage());
    }

    @Test
    void disputedProviderIsBannedForLaterJobs() {
        List<ProviderNode> nodes = nodes(corruptOneElement());
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net);
        client.submit(sgemm(VerificationPolicy.freivalds(10), 4, 4, 4)).result();
        JobResult later = client.submit(sgemm(VerificationPolicy.freivalds(10), 5, 5, 5)).result();
        assertEquals(nodes.get(1).nodeId(), later.provider());
        assertEquals(1, later.attempt(), "the cheap liar is not tried again");
        assertEquals(1, net.dispatches(nodes.get(0).nodeId()));
        NodeId liar = nodes.get(0).nodeId();
        assertEquals(new ProviderHistory(0, 0, 1, client.reputation(liar)), client.history(liar));
        assertEquals(2, client.history(nodes.get(1).nodeId()).verified());
    }

    @Test
    void verifiedResult_carriesReceiptWipeAndReport() {
        List<ProviderNode> nodes = nodes();
        Job job = sgemm(VerificationPolicy.freivalds(16), 31, 7, 13);
        JobResult r = client(new ScriptedNetwork(LocalNetwork.of(nodes))).submit(job).result();
        assertEquals(Assurance.Level.FREIVALDS, r.report().assurance().level());
        assertEquals(Math.pow(2, -16), r.report().assurance().number(Assurance.FALSE_ACCEPT_BOUND).orElseThrow(),
                1e-12);
        List<String> checked = r.report().checks().stream().map(VerificationReport.Check::name).toList();
        assertTrue(checked.containsAll(List.of("signature", "nonce", "specHash", "outputs", "subject", "buffers",
                "freivalds")), checked.toString());
        // The offline verifier agrees from the envelopes, key and bytes alone.
        ExecutionReceipt receipt = ExecutionReceipt.readUnverified(r.receipt());
        assertEquals(job.spec().hash(), receipt.specHash());
        OfflineVerifier.verifyReceipt(r.receipt(), nodes.get(0).offer().publicKey(), r.outputs(), job.inputs(), null,
                job.spec());
        OfflineVerifier.verifyWipe(r.wipe(), r.receipt(), nodes.get(0).offer().publicKey());
        // An honest result does not uphold a made-up dispute.
        DisputeRecord fake = new DisputeRecord(r.jobId(), r.attempt(), r.provider(), nodes.get(0).offer().publicKey(),
                Reason.RESULT_MISMATCH, "made up", new dev.depin.crypto.Evidence("freivalds", "row 0", "1", "2",
                "11".repeat(32)), r.receipt(), r.wipe(), job.spec().canonicalJson(), java.time.Instant.now(),
                r.outputs());
        assertThrows(DisputeNotUpheldException.class, () -> OfflineVerifier.recheck(fake, job.inputs(), r.outputs()));
        float[] c = r.floats("c");
        assertNotNull(c);
        assertArrayEquals(c, floats(r.outputs().get("c")));
    }

    private static float[] floats(ByteBuffer b) {
        float[] f = new float[b.remaining() / 4];
        b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    /** Adds 1.0 to one float of every output before the provider commits: a signed lie. */
    private static BiConsumer<String, ByteBuffer> corruptOneElement() {
        return CorruptingExecutor.addOneToMiddleElement();
    }
}
