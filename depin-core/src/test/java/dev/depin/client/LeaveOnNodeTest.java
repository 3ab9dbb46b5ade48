package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidJobException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationReport;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.HeldOutput;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.OutputLeftOnNodeException;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.CpuReference;
import dev.depin.money.MicroUsd;
import dev.depin.network.OutputGoneException;
import dev.depin.node.InputCache;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;

/**
 * Outputs left on the node and chains of jobs that consume them by reference, on the in-process
 * network: no intermediate comes back, every step is spot-checked by reading only its sampled
 * chunks (and the rows of its held input they need) with their proofs, and a held input the
 * node no longer has fails the job naming the root and the node.
 */
class LeaveOnNodeTest {
    private static final long SEED = 0x1EAFE5L;
    /** 200 x 96 floats: 76,800 bytes, two 64 KiB chunks (the second short). */
    private static final int M = 200;
    private static final int K = 96;
    private final SplittableRandom random = new SplittableRandom(SEED);

    LeaveOnNodeTest() {
        System.out.println("LeaveOnNodeTest seed 0x" + Long.toHexString(SEED));
    }

    /** The system clock moved on by what a test adds (offers stay valid, held data ages). */
    static final class LaterClock extends Clock {
        private volatile Duration ahead = Duration.ZERO;

        void advance(Duration d) {
            ahead = ahead.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(ahead);
        }
    }

    private float[] floats(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }

    private static ProviderNode node(NodeKeyPair key, DeviceExecutor executor, Clock clock) {
        return ProviderNode.builder(key, executor).receiptBatching(0).clock(clock)
                .inputCache(InputCache.Limits.of(16L << 20, 64)).build();
    }

    private static ProviderNode priced(NodeKeyPair key, DeviceExecutor executor, long microsPerDeviceSecond) {
        return ProviderNode.builder(key, executor).receiptBatching(0)
                .price(new dev.depin.money.Price(MicroUsd.ofMicros(microsPerDeviceSecond), MicroUsd.ofMicros(1_000)))
                .inputCache(InputCache.Limits.of(16L << 20, 64)).build();
    }

    private static Job.Builder step(float[] b) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", K).input("b", b)
                .maxPrice(MicroUsd.ofMicros(50_000)).timeout(Duration.ofSeconds(60))
                .leaveOutputsOnNode(Duration.ofMinutes(5));
    }

    private static float[] product(CpuReference cpu, float[] a, float[] b) {
        float[] c = new float[M * K];
        cpu.sgemm(M, K, K, a, b, c);
        return c;
    }

    private static List<JobEvent> returned(JobResult r) {
        return r.history().stream().filter(e -> e.attemptState() == AttemptState.RETURNED).toList();
    }

    @Test
    void chain_ofFourSteps_returnsNoIntermediate_andSpotChecksEach() {
        NodeKeyPair key = NodeKeyPair.generate();
        LaterClock clock = new LaterClock();
        // A second node that keeps nothing: the chain must never go there.
        try (LocalNetwork net = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), clock),
                ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1)).receiptBatching(0).build()));
             DepinClient client = DepinClient.builder(net).maxAttempts(2).build();
             CpuReference cpu = new CpuReference(1)) {
            float[] a = floats(M * K);
            float[] expected = a;
            JobResult previous = null;
            for (int i = 0; i < 4; i++) {
                float[] b = floats(K * K);
                expected = product(cpu, expected, b);
                Job.Builder j = step(b);
                Job job = (i == 0 ? j.input("a", a) : j.inputFrom("a", previous, "c")).build();
                previous = client.submit(job).result();
                assertEquals(key.nodeId(), previous.provider(), "step " + i);
                HeldOutput held = previous.heldOutputs().get("c");
                assertEquals(M * K * 4L, held.bytes());
                assertEquals(key.nodeId(), held.provider());
                List<JobEvent> back = returned(previous);
                assertEquals(1, back.size());
                assertTrue(back.get(0).detail().startsWith("outputs received: 0 bytes; left on the provider: [c]"),
                        back.get(0).detail());
                VerificationReport report = previous.report();
                assertEquals("spotCheck(0.05)", previous.history().get(0).detail().replaceAll(".*, ", ""));
                assertTrue(report.checks().stream().anyMatch(c -> c.name().equals("outputs-held")), report.summary());
                String reads = report.checks().stream().filter(c -> c.name().equals("held-outputs")).findFirst()
                        .orElseThrow().detail();
                assertTrue(reads.startsWith("outputs left on provider " + key.nodeId().shortId()
                        + ": only the sampled chunks read (65536 bytes)")
                        || reads.startsWith("outputs left on provider " + key.nodeId().shortId()
                        + ": only the sampled chunks read (11264 bytes)"), reads);
                if (i > 0) {
                    String in = report.checks().stream().filter(c -> c.name().equals("held-inputs")).findFirst()
                            .orElseThrow().detail();
                    assertTrue(in.startsWith("inputs [a] held on provider " + key.nodeId().shortId() + ": "), in);
                }
            }
            // Every step sent no output bytes back: only the 4 spot checks' sampled chunks and the
            // rows of A their recomputation read crossed.
            long spotChecked = net.outputBytesReturned();
            assertTrue(spotChecked < 4L * 2 * 76_800, "read " + spotChecked);
            JobResult last = previous;
            OutputLeftOnNodeException e = assertThrows(OutputLeftOnNodeException.class, last::outputs);
            assertEquals("job " + last.jobId() + " left " + last.heldOutputs().get("c").describe() + " instead of "
                    + "returning its bytes: fetch them with client.fetchHeld(result, \"c\") (each chunk proven), or "
                    + "pass it to the next job with Job.builder(...).inputFrom(name, result, \"c\")", e.getMessage());
            assertThrows(OutputLeftOnNodeException.class, () -> last.floats("c"));
            // The end of the chain, fetched once with its proofs, is the CPU reference's product.
            ByteBuffer c = client.fetchHeld(last, "c");
            assertEquals(spotChecked + M * K * 4L, net.outputBytesReturned());
            float[] got = new float[M * K];
            c.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected[i], got[i], 1e-3f * Math.max(1, Math.abs(expected[i])), "element " + i);
            }
        }
    }

    /** The chain's last step takes A by reference and returns its output: spot-checked with the held rows of A. */
    @Test
    void lastStep_returningItsOutput_isSpotCheckedWithTheHeldInputsRows() {
        NodeKeyPair key = NodeKeyPair.generate();
        try (LocalNetwork net = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).build();
             CpuReference cpu = new CpuReference(1)) {
            float[] a = floats(M * K);
            float[] b0 = floats(K * K);
            float[] b1 = floats(K * K);
            JobResult first = client.submit(step(b0).input("a", a).build()).result();
            JobResult last = client.submit(Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", K)
                    .inputFrom("a", first, "c").input("b", b1).build()).result();
            assertTrue(last.heldOutputs().isEmpty());
            // The default when not every byte is at the buyer: Freivalds would need all of A.
            assertEquals("spotCheck(0.05)", last.history().get(0).detail().replaceAll(".*, ", ""));
            String in = last.report().checks().stream().filter(c -> c.name().equals("held-inputs")).findFirst()
                    .orElseThrow(() -> new AssertionError(last.report().summary())).detail();
            // One sampled 64 KiB chunk of C is 170 rows of A at most: two 64 KiB chunks of A, with their proofs.
            assertTrue(in.matches("inputs \\[a\\] held on provider " + key.nodeId().shortId() + ": [12] chunk\\(s\\) "
                    + "of 65536 bytes \\(\\d+ bytes\\) read for the sampled chunks, each proven against the spec's root"), in);
            float[] expected = product(cpu, product(cpu, a, b0), b1);
            float[] got = last.floats("c");
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected[i], got[i], 1e-3f * Math.max(1, Math.abs(expected[i])), "element " + i);
            }
        }
    }

    /** The holder is gone from the network (dead, not listed): rejected before any money or attempt. */
    @Test
    void inputFrom_aProviderNoLongerOffered_isRejectedNamingTheOutput() {
        NodeKeyPair key = NodeKeyPair.generate();
        JobResult first;
        try (LocalNetwork gone = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), Clock.systemUTC())));
             DepinClient client = DepinClient.builder(gone).build()) {
            first = client.submit(step(floats(K * K)).input("a", floats(M * K)).build()).result();
        }
        NodeKeyPair other = NodeKeyPair.generate();
        try (LocalNetwork net = LocalNetwork.of(List.of(node(other, new CpuExecutor(1), Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).build()) {
            JobHandle h = client.submit(step(floats(K * K)).inputFrom("a", first, "c").build());
            JobFailedException e = assertThrows(JobFailedException.class, h::result);
            assertEquals(JobState.REJECTED, e.finalState());
            assertTrue(e.getMessage().contains(other.nodeId().shortId() + ": does not hold inputs [a]; provider "
                    + key.nodeId().shortId() + ", which holds " + first.heldOutputs().get("c").describe() + ", is not "
                    + "offered (gone, or not listed any more): run the job that produced it again"), e.getMessage());
            assertEquals(0, h.events().stream().filter(ev -> ev.attemptState() == AttemptState.DISPATCHED).count());
        }
    }

    @Test
    void inputFrom_afterItsTimeToLive_failsNamingRootAndNode() {
        NodeKeyPair key = NodeKeyPair.generate();
        LaterClock clock = new LaterClock();
        try (LocalNetwork net = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), clock)));
             DepinClient client = DepinClient.builder(net).maxAttempts(3).build()) {
            JobResult first = client.submit(step(floats(K * K)).input("a", floats(M * K))
                    .leaveOutputsOnNode(Duration.ofSeconds(30)).build()).result();
            HeldOutput c = first.heldOutputs().get("c");
            clock.advance(Duration.ofSeconds(31));
            JobHandle h = client.submit(step(floats(K * K)).inputFrom("a", first, "c").build());
            JobFailedException e = assertThrows(JobFailedException.class, h::result);
            assertEquals(JobState.FAILED, e.finalState());
            assertTrue(e.getMessage().contains(": provider " + key.nodeId().shortId() + " no longer holds root "
                    + c.merkleRoot() + " (76800 bytes, input 'a'), an output an earlier job left there (its time to "
                    + "live ended, it was evicted, or the node restarted): run the job that produced it again; no "
                    + "money moved for this attempt"), e.getMessage());
            // One attempt: the pinned provider was tried, and no other provider was.
            assertEquals(1, h.events().stream().filter(ev -> ev.attemptState() == AttemptState.DISPATCHED).count());
            OutputGoneException gone = assertThrows(OutputGoneException.class, () -> client.fetchHeld(first, "c"));
            assertEquals("provider " + key.nodeId().shortId() + " no longer holds output " + c.merkleRoot()
                    + " (76800 bytes): its time to live ended, it was evicted, or the node restarted; run the job that "
                    + "produced it again (no money moved for this fetch)", gone.getMessage());
        }
    }

    @Test
    void build_policiesThatNeedEveryByte_areRefused() {
        InvalidJobException freivalds = assertThrows(InvalidJobException.class, () -> step(floats(K * K))
                .input("a", floats(M * K)).verification(VerificationPolicy.freivalds(20)).build());
        assertEquals("verification freivalds(20) needs every byte of the inputs and outputs, but its outputs stay on "
                + "the provider: use VerificationPolicy.spotCheck(fraction), which fetches only the sampled chunks "
                + "with their proofs, or return the outputs", freivalds.getMessage());
        InvalidJobException redundant = assertThrows(InvalidJobException.class, () -> step(floats(K * K))
                .input("a", floats(M * K)).verification(VerificationPolicy.redundant(2)).build());
        assertEquals("verification redundant(2) needs several providers, but its outputs stay on the provider: use "
                + "VerificationPolicy.spotCheck(fraction), or return the outputs", redundant.getMessage());
        // Signature only stays possible, and says so.
        Job sig = step(floats(K * K)).input("a", floats(M * K)).verification(VerificationPolicy.signatureOnly())
                .build();
        assertEquals(VerificationPolicy.signatureOnly(), sig.spec().verification());
        dev.depin.InvalidArgumentException badTtl = assertThrows(dev.depin.InvalidArgumentException.class,
                () -> step(floats(K * K)).leaveOutputsOnNode(Duration.ofDays(8)));
        assertEquals("outputs can be left on a node for 1 ms to PT168H, not PT192H", badTtl.getMessage());
    }

    /** A node whose executor changed one element and signed a receipt over it is caught by the sampled chunk. */
    @Test
    void spotCheck_ofAnOutputLeftOnALyingNode_catchesTheLie() {
        NodeKeyPair key = NodeKeyPair.generate();
        DeviceExecutor liar = new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement());
        try (LocalNetwork net = LocalNetwork.of(List.of(node(key, liar, Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            JobHandle h = client.submit(step(floats(K * K)).input("a", floats(M * K))
                    .verification(VerificationPolicy.spotCheck(1.0)).build());
            JobFailedException e = assertThrows(JobFailedException.class, h::result);
            JobEvent disputed = h.events().stream().filter(ev -> ev.attemptState() == AttemptState.DISPUTED)
                    .findFirst().orElseThrow(() -> new AssertionError(h.events().toString()));
            assertTrue(disputed.detail().contains("chunk"), disputed.detail());
            assertTrue(e.getMessage().contains(disputed.detail()), e.getMessage());
        }
    }

    /**
     * A node whose held bytes are not the ones its receipt signed (it serves other chunks under
     * the root): the proof of the first sampled chunk fails, the attempt is disputed, nothing is
     * accepted.
     */
    @Test
    void spotCheck_ofANodeServingOtherBytesThanItSigned_failsTheProof() {
        NodeKeyPair key = NodeKeyPair.generate();
        try (LocalNetwork local = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), Clock.systemUTC())));
             ComputeNetworkTampering net = new ComputeNetworkTampering(local);
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            JobHandle h = client.submit(step(floats(K * K)).input("a", floats(M * K))
                    .verification(VerificationPolicy.spotCheck(1.0)).build());
            assertThrows(JobFailedException.class, h::result);
            JobEvent disputed = h.events().stream().filter(ev -> ev.attemptState() == AttemptState.DISPUTED)
                    .findFirst().orElseThrow(() -> new AssertionError(h.events().toString()));
            assertTrue(disputed.detail().startsWith("MERKLE_PROOF_INVALID: provider " + key.nodeId().shortId()
                    + " sent chunk 0 of 2 that does not lead to the committed root of output 'c' (root "),
                    disputed.detail());
            assertTrue(net.tampered > 0);
        }
    }

    /**
     * The buyer's spot check of an output left on the node, exact: a sampled chunk the executor
     * changed fails the bitwise comparison naming its chunk, byte and both bytes; a chunk served
     * with a wrong audit path, and the chunk of another output the node holds (with that output's
     * valid proof), each fail their proof against the receipt's root.
     */
    @Test
    void spotCheck_ofALeftOutput_catchesACorruptChunkAWrongProofAndAnotherRootsChunk() {
        float[] a = floats(M * K);
        float[] b = floats(K * K);
        byte[] honest;
        float[] c;
        try (CpuReference cpu = new CpuReference(1)) {
            c = product(cpu, a, b);
            honest = dev.depin.kernel.Buffers.littleEndian(c).array();
        }
        String root = dev.depin.crypto.Hex.encode(dev.depin.crypto.Merkle.root(ByteBuffer.wrap(honest),
                dev.depin.job.JobSpec.MERKLE_CHUNK_BYTES));
        // The middle element plus one, as CorruptingExecutor writes it: its first differing byte.
        int element = M * K / 2;
        byte[] lied = dev.depin.kernel.Buffers.littleEndian(new float[] {c[element] + 1.0f}).array();
        int at = 0;
        while (lied[at] == honest[4 * element + at]) {
            at++;
        }
        NodeKeyPair liarKey = NodeKeyPair.generate();
        DeviceExecutor liar = new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement());
        try (LocalNetwork net = LocalNetwork.of(List.of(node(liarKey, liar, Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            JobHandle h = client.submit(step(b).input("a", a).verification(VerificationPolicy.spotCheck(1.0)).build());
            assertThrows(JobFailedException.class, h::result);
            String s = String.format("0x%02x", honest[4 * element + at] & 0xff);
            String l = String.format("0x%02x", lied[at] & 0xff);
            assertEquals("RESULT_MISMATCH: spot check failed: chunk 0 (bytes 0..65536) differs from the reference at "
                    + "byte " + (4 * element + at) + " (expected " + s + ", got " + l + ", bitwise): the output is wrong; "
                    + "reject it and keep the evidence for a dispute", disputed(h).detail());
        }
        NodeKeyPair key = NodeKeyPair.generate();
        String wrongProof = "MERKLE_PROOF_INVALID: provider " + key.nodeId().shortId() + " sent chunk 0 of 2 that "
                + "does not lead to the committed root of output 'c' (root " + root + "): it does not hold the bytes "
                + "it committed to; reject its result";
        for (Tamper how : new Tamper[] {Tamper.PATH, Tamper.OTHER_ROOT}) {
            try (LocalNetwork local = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), Clock.systemUTC())));
                 ComputeNetworkTampering net = new ComputeNetworkTampering(local, Tamper.NONE);
                 DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
                // Another output of the same buyer on the node, honestly checked: its root is the other root.
                JobResult other = client.submit(step(floats(K * K)).input("a", a)
                        .verification(VerificationPolicy.spotCheck(1.0)).build()).result();
                net.otherRoot = other.heldOutputs().get("c").merkleRoot();
                net.how = how;
                JobHandle h = client.submit(step(b).input("a", a).verification(VerificationPolicy.spotCheck(1.0))
                        .build());
                assertThrows(JobFailedException.class, h::result);
                assertEquals(wrongProof, disputed(h).detail(), how.toString());
                assertTrue(net.tampered > 0, how.toString());
            }
        }
    }

    /**
     * The sample of a left output's spot check is drawn at dispatch and recomputed while the node
     * computes, but the node learns it only after it committed: every read of the sampled chunks
     * comes after the attempt's response (its receipt) arrived, reads exactly the chunks the
     * report's seed samples, and each job (each attempt) draws its own seed.
     */
    @Test
    void spotCheck_drawnAtDispatch_isReadOnlyAfterTheReceipt_andEachAttemptDrawsItsOwn() {
        NodeKeyPair key = NodeKeyPair.generate();
        try (LocalNetwork local = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), Clock.systemUTC())));
             Watching net = new Watching(local);
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            float[] b = floats(K * K);
            java.util.Set<String> seeds = new java.util.HashSet<>();
            for (int i = 0; i < 6; i++) {
                JobResult r = client.submit(step(b).input("a", floats(M * K))
                        .verification(VerificationPolicy.spotCheck(0.25)).build()).result();
                String held = r.report().checks().stream().filter(c -> c.name().equals("held-outputs")).findFirst()
                        .orElseThrow().detail();
                assertTrue(held.endsWith("; the sample was drawn at dispatch and recomputed while the provider "
                        + "computed, revealed to it only by these reads, after its receipt was checked"), held);
                String seed = spotCheckSeed(r);
                assertTrue(seeds.add(seed), "seed drawn twice: " + seed);
                int[] sample = dev.depin.crypto.verify.SpotCheck.sampledChunks(M * K * 4L,
                        dev.depin.job.JobSpec.PROOF_CHUNK_BYTES, 0.25, dev.depin.crypto.Hex.decode(seed));
                assertEquals(1, net.reads.size(), "job " + i + ": " + net.reads);
                Watching.Read read = net.reads.remove(0);
                assertTrue(read.afterResponse(), "job " + i + ": the sampled chunks were read before the receipt came");
                assertArrayEquals(sample, read.chunks(), "job " + i);
            }
        }
    }

    /**
     * A retry draws a new sample: a lying node's attempt is disputed with the evidence of its
     * corrupt chunk and the seed drawn at its dispatch; the honest node that takes the job next
     * is checked with another seed, drawn at its own dispatch; each read comes after the
     * attempt's receipt.
     */
    @Test
    void spotCheck_drawnAtDispatch_aRetryDrawsAnotherSeed() {
        NodeKeyPair liarKey = NodeKeyPair.generate();
        NodeKeyPair key = NodeKeyPair.generate();
        DeviceExecutor liar = new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement());
        // The liar is the cheaper: the first attempt goes there.
        try (LocalNetwork local = LocalNetwork.of(List.of(priced(liarKey, liar, 1_000),
                priced(key, new CpuExecutor(1), 100_000)));
             Watching net = new Watching(local);
             DepinClient client = DepinClient.builder(net).maxAttempts(2).build()) {
            float[] b = floats(K * K);
            for (int i = 0; i < 8; i++) {
                net.reads.clear();
                // The estimate prices the FLOPs at the rate CpuExecutor measured on its first start in
                // this JVM (wall-clock, at most 1.5 s of 192^3 products): on a loaded machine that rate
                // can be a thousandth of the real one, which put the honest node's estimate above
                // step()'s $0.05 and left the job nowhere to go after the liar. The order of the two
                // prices does not depend on the rate (both share it); the cap must not either.
                JobResult r = client.submit(step(b).input("a", floats(M * K)).maxPrice(MicroUsd.ofUsd("100"))
                        .verification(VerificationPolicy.spotCheck(1.0)).build()).result();
                assertEquals(key.nodeId(), r.provider(), "job " + i);
                assertTrue(net.reads.stream().allMatch(Watching.Read::afterResponse), "job " + i + ": " + net.reads);
                if (r.disputes().isEmpty()) {
                    continue;
                }
                dev.depin.job.DisputeRecord d = r.disputes().get(0);
                assertEquals(liarKey.nodeId(), d.provider());
                assertEquals(dev.depin.crypto.VerificationException.Reason.RESULT_MISMATCH, d.reason());
                String lied = d.evidence().seed();
                assertEquals(64, lied.length(), lied);
                assertTrue(!lied.equals(spotCheckSeed(r)), "the retry reused the disputed attempt's seed " + lied);
                assertEquals(2, net.reads.size(), net.reads.toString());
                return;
            }
            throw new AssertionError("no job met the lying node first in 8 jobs");
        }
    }

    /** The in-process network, recording each read of held chunks and whether every response had come by then. */
    private static final class Watching extends ComputeNetworkTampering {
        record Read(int[] chunks, boolean afterResponse) {
        }

        private final List<java.util.concurrent.CompletableFuture<?>> responses =
                new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<Read> reads = new java.util.concurrent.CopyOnWriteArrayList<>();

        Watching(LocalNetwork inner) {
            super(inner, Tamper.NONE);
        }

        @Override
        public dev.depin.network.spi.Dispatch dispatch(dev.depin.provider.ProviderOffer offer,
                                                       dev.depin.network.spi.ExecutionRequest request,
                                                       java.util.function.Consumer<Progress> progress) {
            dev.depin.network.spi.Dispatch d = super.dispatch(offer, request, progress);
            responses.add(d.response());
            return d;
        }

        @Override
        public java.util.concurrent.CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchHeld(
                dev.depin.crypto.NodeId provider, String root, long bytes, int chunkBytes, int[] chunks) {
            reads.add(new Read(chunks.clone(), responses.stream().allMatch(java.util.concurrent.CompletableFuture::isDone)));
            return super.fetchHeld(provider, root, bytes, chunkBytes, chunks);
        }
    }

    /** The seed of a verified result's spot check, as its report states it (hex). */
    private static String spotCheckSeed(JobResult r) {
        String spot = r.report().checks().stream().filter(c -> c.name().equals("spot-check")).findFirst()
                .orElseThrow().detail();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("seed ([0-9a-f]+)\\)").matcher(spot);
        assertTrue(m.find(), spot);
        return m.group(1);
    }

    private static JobEvent disputed(JobHandle h) {
        return h.events().stream().filter(ev -> ev.attemptState() == AttemptState.DISPUTED).findFirst()
                .orElseThrow(() -> new AssertionError(h.events().toString()));
    }

    /** What {@link ComputeNetworkTampering} does to the held chunks a buyer reads. */
    private enum Tamper {
        /** Nothing. */
        NONE,
        /** Each chunk's first byte changed, its path left. */
        BYTES,
        /** Each chunk's bytes left, the first hash of its path changed. */
        PATH,
        /** The same chunks of another root the node holds, with their own valid paths. */
        OTHER_ROOT
    }

    /** The in-process network, with the held chunks it reads tampered with ({@link Tamper}). */
    private static class ComputeNetworkTampering implements dev.depin.network.spi.ComputeNetwork {
        private final LocalNetwork inner;
        private volatile Tamper how;
        private volatile String otherRoot;
        private volatile int tampered;

        ComputeNetworkTampering(LocalNetwork inner) {
            this(inner, Tamper.BYTES);
        }

        ComputeNetworkTampering(LocalNetwork inner, Tamper how) {
            this.inner = inner;
            this.how = how;
        }

        @Override
        public String name() {
            return "tampering";
        }

        @Override
        public java.util.concurrent.CompletableFuture<List<dev.depin.provider.ProviderOffer>> offers(
                dev.depin.network.spi.OfferQuery query) {
            return inner.offers(query);
        }

        @Override
        public dev.depin.network.spi.Dispatch dispatch(dev.depin.provider.ProviderOffer offer,
                                                       dev.depin.network.spi.ExecutionRequest request,
                                                       java.util.function.Consumer<Progress> progress) {
            return inner.dispatch(offer, request, progress);
        }

        @Override
        public java.util.concurrent.CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchHeld(
                dev.depin.crypto.NodeId provider, String root, long bytes, int chunkBytes, int[] chunks) {
            Tamper t = how;
            String from = t == Tamper.OTHER_ROOT && !root.equals(otherRoot) ? otherRoot : root;
            return inner.fetchHeld(provider, from, bytes, chunkBytes, chunks).thenApply(list -> list.stream()
                    .map(c -> {
                        if (t == Tamper.NONE) {
                            return c;
                        }
                        tampered++;
                        if (t == Tamper.OTHER_ROOT) {
                            return c;
                        }
                        if (t == Tamper.PATH) {
                            List<byte[]> path = new java.util.ArrayList<>(c.path());
                            byte[] first = path.get(0).clone();
                            first[0] ^= 1;
                            path.set(0, first);
                            return new dev.depin.network.spi.HeldChunk(c.index(), c.data(), path);
                        }
                        ByteBuffer d = ByteBuffer.allocate(c.data().remaining()).put(c.data()).flip();
                        d.put(0, (byte) (d.get(0) ^ 1));
                        return new dev.depin.network.spi.HeldChunk(c.index(), d, c.path());
                    }).toList());
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void cancel_midChain_stopsTheStep_andTheHeldOutputStaysUsable() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        BlockingExecutor gate = new BlockingExecutor(new CpuExecutor(1));
        try (LocalNetwork net = LocalNetwork.of(List.of(node(key, gate, Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            gate.release(1);
            JobResult first = client.submit(step(floats(K * K)).input("a", floats(M * K)).build()).result();
            JobHandle second = client.submit(step(floats(K * K)).inputFrom("a", first, "c").build());
            long until = System.nanoTime() + 20_000_000_000L;
            while (gate.log.stream().filter("run"::equals).count() < 2 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(2, gate.log.stream().filter("run"::equals).count(), gate.log.toString());
            assertTrue(second.cancelAsync().get());
            assertThrows(CancellationException.class, second::result);
            assertEquals(JobState.CANCELLED, second.state());
            until = System.nanoTime() + 20_000_000_000L;
            while (gate.log.stream().filter("context-closed"::equals).count() < 2 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertTrue(gate.log.contains("cancel"), gate.log.toString());
            // The cancelled step held no lease: the first step's output is still there for a retry.
            gate.release(1);
            JobResult again = client.submit(step(floats(K * K)).inputFrom("a", first, "c").build()).result();
            assertEquals(M * K * 4L, again.heldOutputs().get("c").bytes());
        }
    }

    @Test
    void inputFrom_aResultThatReturnedItsOutputs_isRefusedWithWhatToDo() {
        try (LocalNetwork net = LocalNetwork.of(List.of(node(NodeKeyPair.generate(), new CpuExecutor(1),
                Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).build()) {
            JobResult returned = client.submit(Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K)
                    .param("n", K).input("a", floats(M * K)).input("b", floats(K * K)).build()).result();
            assertEquals(M * K * 4, returned.outputs().get("c").remaining());
            dev.depin.InvalidArgumentException e = assertThrows(dev.depin.InvalidArgumentException.class,
                    () -> step(floats(K * K)).inputFrom("a", returned, "c"));
            assertEquals("job " + returned.jobId() + " left no output 'c' on its provider (held: []): build that job "
                    + "with leaveOutputsOnNode(ttl), or pass the bytes with input(\"a\", ...)", e.getMessage());
        }
    }

    @Test
    void heldOutput_bytesRead_equalTheOutputReturnedByTheSameJob() {
        // The same SAXPY job, once returned and once left: the fetched bytes are the returned ones.
        NodeKeyPair key = NodeKeyPair.generate();
        try (LocalNetwork net = LocalNetwork.of(List.of(node(key, new CpuExecutor(1), Clock.systemUTC())));
             DepinClient client = DepinClient.builder(net).build()) {
            int n = 100_003;
            float[] x = floats(n);
            float[] y = floats(n);
            Job.Builder b = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x)
                    .input("y", y);
            JobResult back = client.submit(b.build()).result();
            JobResult left = client.submit(b.leaveOutputsOnNode(Duration.ofMinutes(1)).build()).result();
            byte[] want = new byte[n * 4];
            back.outputs().get("out").get(want);
            byte[] got = new byte[n * 4];
            client.fetchHeld(left, "out").get(got);
            assertArrayEquals(want, got);
            assertInstanceOf(HeldOutput.class, left.heldOutputs().get("out"));
        }
    }
}
