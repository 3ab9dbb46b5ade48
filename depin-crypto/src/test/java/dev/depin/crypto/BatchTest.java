package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationException.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Receipt batching: every job verifies by inclusion, and each attack fails with its own reason. */
class BatchTest {
    private static final long SEED = 0xBA7C4_2026L;
    private static final int CHUNK = 64;
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Clock CLOCK = Clock.fixed(T0, ZoneOffset.UTC);

    private final Random random = new Random(SEED);
    private final NodeKeyPair provider = key(random);
    private final NodeKeyPair mallory = key(random);
    private final String specHash = ExecutionReceiptTest.sha("spec");
    private final String kernelHash = ExecutionReceiptTest.sha("kernel");

    BatchTest() {
        System.out.println("BatchTest seed " + SEED);
    }

    private static NodeKeyPair key(Random r) {
        byte[] seed = new byte[32];
        r.nextBytes(seed);
        return NodeKeyPair.fromSeed(seed);
    }

    /** One job as the provider saw it and as the buyer knows it. */
    private final class Job {
        final String id;
        final String nonce;
        final ByteBuffer input;
        final ByteBuffer output;
        final ExecutionReceipt receipt;
        final WipeAttestation wipe;

        Job(int i) {
            id = "job-" + i;
            byte[] n = new byte[32];
            random.nextBytes(n);
            nonce = Hex.encode(n);
            byte[] in = new byte[100 + i % 37];
            byte[] out = new byte[1 + (i * 31) % 300];
            random.nextBytes(in);
            random.nextBytes(out);
            input = ByteBuffer.wrap(in);
            output = ByteBuffer.wrap(out);
            receipt = ExecutionReceipt.builder().jobId(id).attempt(1).specHash(specHash).kernelId("k")
                    .kernelHash(kernelHash).nonce(nonce).input(BufferDigest.of("in", input, CHUNK))
                    .output(BufferDigest.of("out", output, CHUNK)).merkleChunkBytes(CHUNK).executorKind("cpu")
                    .startedAt(T0).endedAt(T0.plusMillis(i)).deviceTimeNanos(i).build();
            wipe = WipeAttestation.builder().receiptDigest(receipt.statementDigestHex())
                    .buffer(HostWipe.wipe("in", new byte[in.length], (byte) 0))
                    .buffer(HostWipe.wipe("out", new byte[out.length], (byte) 0))
                    .startedAt(T0).endedAt(T0.plusMillis(1)).build();
        }

        ReceiptExpectations.Builder expect() {
            return expect(output);
        }

        ReceiptExpectations.Builder expect(ByteBuffer received) {
            return ReceiptExpectations.builder().signer(provider.publicKey()).jobId(id).attempt(1).nonce(nonce)
                    .specHash(specHash).kernelId("k").kernelHash(kernelHash).input(BufferDigest.of("in", input, CHUNK))
                    .merkleChunkBytes(CHUNK).receivedOutput("out", received);
        }
    }

    private List<Job> jobs(int n) {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            jobs.add(new Job(i));
        }
        return jobs;
    }

    /** Seals {@code jobs} into one batch signed by {@code key}. */
    private static List<BatchedReceipt> batch(NodeKeyPair key, List<Job> jobs) {
        List<CompletableFuture<BatchedReceipt>> futures = new ArrayList<>();
        try (BatchSigner signer = new BatchSigner(key, jobs.size(), CLOCK)) {
            for (Job j : jobs) {
                futures.add(signer.add(j.receipt, j.wipe));
            }
            assertEquals(0, signer.pending(), "the batch sealed itself when full");
        }
        List<BatchedReceipt> out = new ArrayList<>();
        for (CompletableFuture<BatchedReceipt> f : futures) {
            assertTrue(f.isDone());
            out.add(f.join());
        }
        return out;
    }

    private static void assertReason(Reason expected, Executable e) {
        VerificationException ex = assertThrows(VerificationException.class, e);
        assertEquals(expected, ex.reason(), ex.getMessage());
        assertFalse(ex.getMessage().indexOf(expected.name()) != ex.getMessage().lastIndexOf(expected.name()),
                "the reason appears once: " + ex.getMessage());
    }

    @Test
    void verify_everyJobOfBatchesOfAwkwardSizes_passesWithOneSignaturePerBatch() {
        for (int n : new int[] {1, 2, 3, 7, 256, 1000}) {
            List<Job> jobs = jobs(n);
            List<BatchedReceipt> batched = batch(provider, jobs);
            BatchVerifier verifier = new BatchVerifier();
            for (int i = 0; i < n; i++) {
                BatchedReceipt b = i % 97 == 0 ? BatchedReceipt.parse(batched.get(i).toJsonBytes()) : batched.get(i);
                assertEquals(batched.get(i), b, "JSON round trip");
                VerifiedBatchedReceipt v = verifier.verify(b, jobs.get(i).expect().build());
                assertEquals(jobs.get(i).receipt, v.receipt().receipt());
                assertEquals(provider.nodeId(), v.receipt().signer());
                assertEquals(2 * n, v.batchStatements());
                assertEquals(Assurance.batchSignature(2 * n), v.receipt().report().assurance());
                assertEquals(Assurance.batchSignature(2 * n), v.wipeReport().assurance());
                assertEquals(BatchVerifier.POLICY, v.receipt().report().policy());
                assertTrue(v.report().allPassed());
                assertTrue(v.report().summary().endsWith("SIGNATURE batchStatements=" + 2 * n), v.report().summary());
                String sig = v.receipt().report().checks().get(0).detail();
                assertEquals(i > 0, sig.contains("taken from the cache"), sig);
                assertEquals(2 * i, b.receiptProof().leafIndex());
                assertEquals(2 * i + 1, b.wipeProof().leafIndex());
            }
            assertEquals(1, verifier.cachedBatches());
            assertEquals(1, batched.stream().map(BatchedReceipt::batch).distinct().count());
        }
    }

    @Test
    void seal_byCountOnDemandAndOnClose_everyFutureCompletes() {
        List<Job> jobs = jobs(8);
        BatchSigner signer = new BatchSigner(provider, 3, CLOCK);
        List<CompletableFuture<BatchedReceipt>> futures = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            futures.add(signer.add(jobs.get(i).receipt, jobs.get(i).wipe));
        }
        assertEquals(1, signer.pending());
        assertTrue(futures.get(5).isDone());
        assertFalse(futures.get(6).isDone());
        assertEquals(1, signer.seal());
        assertEquals(0, signer.seal());
        CompletableFuture<BatchedReceipt> last = signer.add(jobs.get(7).receipt, jobs.get(7).wipe);
        assertFalse(last.isDone());
        signer.close();
        signer.close();
        assertTrue(last.isDone());
        futures.add(last);
        assertThrows(IllegalStateException.class, () -> signer.add(jobs.get(0).receipt, jobs.get(0).wipe));
        BatchVerifier verifier = new BatchVerifier();
        Set<String> batches = new HashSet<>();
        int[] expectedStatements = {6, 6, 6, 6, 6, 6, 2, 2};
        for (int i = 0; i < 8; i++) {
            VerifiedBatchedReceipt v = verifier.verify(futures.get(i).join(), jobs.get(i).expect().build());
            assertEquals(expectedStatements[i], v.batchStatements(), "job " + i);
            batches.add(v.batchDigest());
        }
        assertEquals(4, batches.size());
        assertEquals(4, verifier.cachedBatches());
    }

    @Test
    void add_concurrentThreads_everyJobSealedOnceAndVerifies() throws Exception {
        List<Job> jobs = jobs(400);
        BatchSigner signer = new BatchSigner(provider, 7, CLOCK);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<CompletableFuture<BatchedReceipt>>>> parts = new ArrayList<>();
        try {
            for (int t = 0; t < 4; t++) {
                int from = t * 100;
                parts.add(pool.submit(() -> {
                    start.await();
                    List<CompletableFuture<BatchedReceipt>> mine = new ArrayList<>();
                    for (int i = from; i < from + 100; i++) {
                        mine.add(signer.add(jobs.get(i).receipt, jobs.get(i).wipe));
                        if (i % 50 == 0) {
                            signer.seal();
                        }
                    }
                    return mine;
                }));
            }
            start.countDown();
            List<CompletableFuture<BatchedReceipt>> all = new ArrayList<>();
            for (Future<List<CompletableFuture<BatchedReceipt>>> p : parts) {
                all.addAll(p.get(60, TimeUnit.SECONDS));
            }
            signer.close();
            BatchVerifier verifier = new BatchVerifier();
            Map<String, Integer> jobsPerBatch = new java.util.HashMap<>();
            for (int i = 0; i < 400; i++) {
                assertTrue(all.get(i).isDone(), "job " + i);
                VerifiedBatchedReceipt v = verifier.verify(all.get(i).join(), jobs.get(i).expect().build());
                jobsPerBatch.merge(v.batchDigest(), 1, Integer::sum);
                assertTrue(v.batchStatements() <= 14);
            }
            assertEquals(400, jobsPerBatch.values().stream().mapToInt(Integer::intValue).sum());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void verify_jobsOfOneBatchOnManyThreadsAtOnce_batchCheckedOnce() throws Exception {
        for (int round = 0; round < 20; round++) {
            List<Job> jobs = jobs(16);
            List<BatchedReceipt> batched = batch(provider, jobs);
            BatchVerifier verifier = new BatchVerifier();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<VerifiedBatchedReceipt>> results = new ArrayList<>();
            try {
                for (int i = 0; i < 16; i++) {
                    int job = i;
                    results.add(pool.submit(() -> {
                        start.await();
                        return verifier.verify(batched.get(job), jobs.get(job).expect().build());
                    }));
                }
                start.countDown();
                int verifiedHere = 0;
                for (int i = 0; i < 16; i++) {
                    VerifiedBatchedReceipt v = results.get(i).get(60, TimeUnit.SECONDS);
                    assertEquals(jobs.get(i).receipt, v.receipt().receipt());
                    assertTrue(v.report().allPassed());
                    verifiedHere += v.receipt().report().checks().get(0).detail().contains("taken from the cache")
                            ? 0 : 1;
                }
                assertEquals(1, verifier.signatureChecks(), "one check for the batch, whichever thread made it");
                assertEquals(1, verifiedHere, "one report says it checked the signature, the others that they "
                        + "took that check");
            } finally {
                pool.shutdownNow();
            }
        }
        // A forged batch is still refused on every thread that asks, each with its own exception.
        List<Job> jobs = jobs(4);
        List<BatchedReceipt> forged = batch(mallory, jobs);
        BatchVerifier verifier = new BatchVerifier();
        for (int i = 0; i < 4; i++) {
            int job = i;
            assertReason(Reason.KEY_MISMATCH, () -> verifier.verify(forged.get(job), jobs.get(job).expect().build()));
        }
        assertEquals(4, verifier.signatureChecks());
        assertEquals(0, verifier.cachedBatches());
    }

    /**
     * A batched job's input stated as the provider's cache entry (read in place): accepted where
     * the expectations allow that input (or say nothing, as an offline verifier), refused with
     * WIPE_INCOMPLETE where the buyer sent it with its bytes and did not let the provider keep it.
     */
    @Test
    void verify_inputStatedAsCacheEntry_onlyWhereTheBuyerAllowsIt() {
        Job j = new Job(7);
        WipeAttestation inPlace = WipeAttestation.builder().receiptDigest(j.receipt.statementDigestHex())
                .buffer(new WipeRecord(WipeRecord.HOST, "in", j.input.capacity(), 0, 0, WipeRecord.CACHE_IN_PLACE,
                        BufferDigest.of("in", j.input.duplicate(), CHUNK).merkleRoot()))
                .buffer(HostWipe.wipe("out", new byte[j.output.capacity()], (byte) 0))
                .startedAt(T0).endedAt(T0.plusMillis(1)).build();
        BatchedReceipt b;
        try (BatchSigner signer = new BatchSigner(provider, 1, CLOCK)) {
            b = signer.add(j.receipt, inPlace).join();
        }
        BatchVerifier verifier = new BatchVerifier();
        assertTrue(verifier.verify(b, j.expect().build()).wipeReport().allPassed());
        assertTrue(verifier.verify(b, j.expect().inputsInCache(java.util.Set.of("in")).build()).wipeReport()
                .allPassed());
        assertReason(Reason.WIPE_INCOMPLETE, () -> verifier.verify(b, j.expect().inputsInCache(java.util.Set.of())
                .build()));
    }

    @Test
    void verify_receiptReplayedIntoAnotherJob_jobIdOrNonceMismatch() {
        List<Job> jobs = jobs(3);
        List<BatchedReceipt> batched = batch(provider, jobs);
        BatchVerifier verifier = new BatchVerifier();
        assertReason(Reason.JOB_ID_MISMATCH, () -> verifier.verify(batched.get(0), jobs.get(1).expect().build()));
        byte[] otherNonce = new byte[32];
        random.nextBytes(otherNonce);
        assertReason(Reason.NONCE_MISMATCH, () -> verifier.verify(batched.get(0),
                jobs.get(0).expect().nonce(Hex.encode(otherNonce)).build()));
        assertReason(Reason.ATTEMPT_MISMATCH, () -> verifier.verify(batched.get(0),
                jobs.get(0).expect().attempt(2).build()));
        ByteBuffer flipped = ByteBuffer.wrap(jobs.get(0).output.array().clone());
        flipped.put(0, (byte) (flipped.get(0) ^ 1));
        assertReason(Reason.OUTPUT_ROOT_MISMATCH, () -> verifier.verify(batched.get(0),
                jobs.get(0).expect(flipped).build()));
        // A job of one batch cannot be verified with another batch's envelope either.
        List<BatchedReceipt> other = batch(provider, jobs(2));
        BatchedReceipt mixed = new BatchedReceipt(other.get(0).batch(), batched.get(0).receipt(),
                batched.get(0).receiptProof(), batched.get(0).wipe(), batched.get(0).wipeProof());
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(mixed, jobs.get(0).expect().build()));
    }

    @Test
    void verify_proofOrStatementOfAnotherIndex_merkleProofInvalid() {
        List<Job> jobs = jobs(7);
        List<BatchedReceipt> batched = batch(provider, jobs);
        BatchVerifier verifier = new BatchVerifier();
        BatchedReceipt b2 = batched.get(2);
        BatchedReceipt b5 = batched.get(5);
        ReceiptExpectations e2 = jobs.get(2).expect().build();
        verifier.verify(b2, e2);
        // job 2's statement with job 5's proof
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(new BatchedReceipt(b2.batch(), b2.receipt(),
                b5.receiptProof(), b2.wipe(), b2.wipeProof()), e2));
        // job 2's path claimed for index 10
        InclusionProof moved = new InclusionProof(10, b2.receiptProof().leafCount(), b2.receiptProof().path());
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(new BatchedReceipt(b2.batch(), b2.receipt(),
                moved, b2.wipe(), b2.wipeProof()), e2));
        // a proof for a tree of another size
        InclusionProof resized = new InclusionProof(4, 16, b2.receiptProof().path());
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(new BatchedReceipt(b2.batch(), b2.receipt(),
                resized, b2.wipe(), b2.wipeProof()), e2));
        // one byte of the receipt statement altered
        byte[] altered = b2.receipt();
        altered[altered.length / 2] ^= 0x01;
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(new BatchedReceipt(b2.batch(), altered,
                b2.receiptProof(), b2.wipe(), b2.wipeProof()), e2));
        // job 5's wipe with job 2's wipe proof
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(new BatchedReceipt(b2.batch(), b2.receipt(),
                b2.receiptProof(), b5.wipe(), b2.wipeProof()), e2));
        // job 5's wipe with its own valid proof: included, but it names another receipt
        assertReason(Reason.SUBJECT_MISMATCH, () -> verifier.verify(new BatchedReceipt(b2.batch(), b2.receipt(),
                b2.receiptProof(), b5.wipe(), b5.wipeProof()), e2));
    }

    @Test
    void verify_oneTamperedMember_failsThatMemberOnly() {
        List<Job> jobs = jobs(9);
        List<BatchedReceipt> batched = batch(provider, jobs);
        for (int victim : new int[] {0, 4, 8}) {
            BatchVerifier verifier = new BatchVerifier();
            BatchedReceipt b = batched.get(victim);
            byte[] receipt = b.receipt();
            receipt[receipt.length / 3] ^= 0x20;
            BatchedReceipt tamperedReceipt = new BatchedReceipt(b.batch(), receipt, b.receiptProof(), b.wipe(),
                    b.wipeProof());
            byte[] wipe = b.wipe();
            wipe[wipe.length / 2] ^= 0x01;
            BatchedReceipt tamperedWipe = new BatchedReceipt(b.batch(), b.receipt(), b.receiptProof(), wipe,
                    b.wipeProof());
            assertReason(Reason.MERKLE_PROOF_INVALID,
                    () -> verifier.verify(tamperedReceipt, jobs.get(victim).expect().build()));
            assertReason(Reason.MERKLE_PROOF_INVALID,
                    () -> verifier.verify(tamperedWipe, jobs.get(victim).expect().build()));
            // Every other member of the same signed batch still verifies, with the same verifier
            // (the batch signature is valid and cached), and so does the untampered victim.
            for (int i = 0; i < jobs.size(); i++) {
                assertTrue(verifier.verify(batched.get(i), jobs.get(i).expect().build()).report().allPassed(),
                        "member " + i + " with member " + victim + " tampered");
            }
        }
    }

    @Test
    void verify_batchSignedByAnotherKey_rejected() {
        List<Job> jobs = jobs(3);
        BatchVerifier verifier = new BatchVerifier();
        List<BatchedReceipt> byMallory = batch(mallory, jobs);
        assertReason(Reason.KEY_MISMATCH, () -> verifier.verify(byMallory.get(0), jobs.get(0).expect().build()));
        // mallory's signature under the provider's key id
        Envelope m = byMallory.get(0).batch();
        Envelope relabelled = new Envelope(m.payloadType(), m.payload(),
                List.of(new Envelope.Signature(provider.nodeId().hex(), m.signatures().get(0).sig())));
        assertReason(Reason.BAD_SIGNATURE, () -> verifier.verify(withBatch(byMallory.get(0), relabelled),
                jobs.get(0).expect().build()));
        // the provider's batch, altered after signing (claims another root)
        List<BatchedReceipt> honest = batch(provider, jobs);
        Envelope h = honest.get(0).batch();
        String forgedPayload = new String(h.payload(), StandardCharsets.UTF_8)
                .replace("\"statements\":6", "\"statements\":8");
        assertNotEquals(new String(h.payload(), StandardCharsets.UTF_8), forgedPayload);
        Envelope forged = new Envelope(h.payloadType(), forgedPayload.getBytes(StandardCharsets.UTF_8), h.signatures());
        assertReason(Reason.BAD_SIGNATURE, () -> verifier.verify(withBatch(honest.get(0), forged),
                jobs.get(0).expect().build()));
        // a batch cached as the provider's is not accepted when another key is expected
        verifier.verify(honest.get(0), jobs.get(0).expect().build());
        assertReason(Reason.KEY_MISMATCH, () -> verifier.verify(honest.get(1),
                jobs.get(1).expect().signer(mallory.publicKey()).build()));
        // the cached batch's payload with its signature altered is verified again, and fails
        Envelope garbled = new Envelope(h.payloadType(), h.payload(), List.of(new Envelope.Signature(
                provider.nodeId().hex(), new byte[64])));
        assertReason(Reason.BAD_SIGNATURE, () -> verifier.verify(withBatch(honest.get(1), garbled),
                jobs.get(1).expect().build()));
        BatchVerifier uncached = new BatchVerifier(0);
        uncached.verify(honest.get(2), jobs.get(2).expect().build());
        assertEquals(0, uncached.cachedBatches());
    }

    private static BatchedReceipt withBatch(BatchedReceipt b, Envelope batch) {
        return new BatchedReceipt(batch, b.receipt(), b.receiptProof(), b.wipe(), b.wipeProof());
    }

    @Test
    void domainSeparation_batchNeverPassesAsReceiptOrWipe_norTheyAsBatch() {
        List<Job> jobs = jobs(2);
        Job j = jobs.get(0);
        List<BatchedReceipt> batched = batch(provider, jobs);
        Envelope batchEnv = batched.get(0).batch();
        Envelope receiptEnv = j.receipt.sign(provider);
        Envelope wipeEnv = j.wipe.sign(provider);
        assertEquals(receiptEnv.digestHex(), j.receipt.statementDigestHex());
        assertEquals(batched.get(0).receiptDigestHex(), j.receipt.statementDigestHex());
        ReceiptExpectations e = j.expect().build();
        Map<String, Long> buffers = WipeAttestation.buffersOf(j.receipt);
        // the single-envelope path is unchanged
        ExecutionReceipt.verify(receiptEnv, e);
        WipeAttestation.verify(wipeEnv, receiptEnv, provider.publicKey(), buffers);
        // a batch envelope is neither a receipt nor a wipe
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> ExecutionReceipt.verify(batchEnv, e));
        assertReason(Reason.WRONG_PREDICATE_TYPE,
                () -> WipeAttestation.verify(batchEnv, receiptEnv, provider.publicKey(), buffers));
        // a signed receipt or wipe is not a batch
        BatchVerifier verifier = new BatchVerifier();
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> verifier.verify(withBatch(batched.get(0), receiptEnv), e));
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> verifier.verify(withBatch(batched.get(0), wipeEnv), e));
        // the batch statement is no leaf of itself
        BatchedReceipt b = batched.get(0);
        assertReason(Reason.MERKLE_PROOF_INVALID, () -> verifier.verify(new BatchedReceipt(b.batch(),
                batchEnv.payload(), b.receiptProof(), b.wipe(), b.wipeProof()), e));
        // the receipt statement, included, does not pass as the wipe
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> verifier.verify(new BatchedReceipt(b.batch(), b.receipt(),
                b.receiptProof(), b.receipt(), b.receiptProof()), e));
        // the wipe statement, included, does not pass as the receipt
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> verifier.verify(new BatchedReceipt(b.batch(), b.wipe(),
                b.wipeProof(), b.wipe(), b.wipeProof()), e));
        // another payload type
        Envelope retyped = new Envelope("application/vnd.depin.batch+json", batchEnv.payload(), batchEnv.signatures());
        assertReason(Reason.WRONG_PAYLOAD_TYPE, () -> verifier.verify(withBatch(b, retyped), e));
    }

    @Test
    void add_wipeForAnotherReceiptOrNulls_rejected() {
        List<Job> jobs = jobs(2);
        try (BatchSigner signer = new BatchSigner(provider, 4, CLOCK)) {
            InvalidArgumentException ex = assertThrows(InvalidArgumentException.class,
                    () -> signer.add(jobs.get(0).receipt, jobs.get(1).wipe));
            assertTrue(ex.getMessage().contains("statementDigestHex"), ex.getMessage());
            assertThrows(InvalidArgumentException.class, () -> signer.add(null, jobs.get(0).wipe));
            assertThrows(InvalidArgumentException.class, () -> signer.add(jobs.get(0).receipt, null));
            assertEquals(0, signer.pending());
        }
        assertThrows(InvalidArgumentException.class, () -> new BatchSigner(provider, 0));
        assertThrows(InvalidArgumentException.class, () -> new BatchSigner(provider, BatchSigner.MAX_JOBS + 1));
        assertThrows(InvalidArgumentException.class, () -> new BatchSigner(null, 1));
        assertThrows(InvalidArgumentException.class, () -> new BatchVerifier(-1));
    }

    /**
     * The batch envelope's JSON is encoded once per batch and spliced in: every job's bytes are
     * still the canonical form of its whole tree (the one form a tree has, which is what writing
     * the tree gave before) and parse back to the same job, on the first call and the remembered ones.
     */
    @Test
    void toJsonBytes_envelopeSplicedOnce_isTheCanonicalFormOfEveryJob() {
        for (int n : new int[] {1, 2, 3, 7, 16}) {
            List<BatchedReceipt> batched = batch(provider, jobs(n));
            for (BatchedReceipt b : batched) {
                byte[] json = b.toJsonBytes();
                assertArrayEquals(CanonicalJson.write(CanonicalJson.readTree(json)), json, "batch of " + n);
                assertEquals(b, BatchedReceipt.parse(json));
                assertArrayEquals(json, b.toJsonBytes(), "the remembered envelope gives the same bytes");
                json[json.length / 2] ^= 1; // a caller writing its array changes nothing kept
                assertEquals(b, BatchedReceipt.parse(b.toJsonBytes()));
            }
        }
    }

    @Test
    void parse_malformedOrOversized_malformedEnvelope() {
        BatchedReceipt b = batch(provider, jobs(1)).get(0);
        byte[] json = b.toJsonBytes();
        assertEquals(b, BatchedReceipt.parse(json));
        String s = new String(json, StandardCharsets.UTF_8);
        for (String bad : new String[] {"", "[]", "{}", s.replace("depin.batched-receipt/v1", "v0"),
                s.replace("\"receipt\":\"", "\"receipt\":\"!"), s.replace("\"leafIndex\":0", "\"leafIndex\":\"0\""),
                s.replace("\"leafIndex\":0", "\"leafIndex\":5"), s.replace("\"batch\":{", "\"batch\":{\"x\":1,\"x\":2,"),
                s + " {}"}) {
            assertReason(Reason.MALFORMED_ENVELOPE, () -> BatchedReceipt.parse(bad.getBytes(StandardCharsets.UTF_8)));
        }
        assertReason(Reason.MALFORMED_ENVELOPE, () -> BatchedReceipt.parse(json, json.length - 1));
        assertTrue(b.toString().contains("receipt leaf 0 of 2"), b.toString());
    }

    @Test
    void batchVerifier_cacheIsBounded() {
        BatchVerifier verifier = new BatchVerifier(2);
        for (int i = 0; i < 4; i++) {
            List<Job> jobs = jobs(1);
            verifier.verify(batch(provider, jobs).get(0), jobs.get(0).expect().build());
            assertEquals(Math.min(i + 1, 2), verifier.cachedBatches());
        }
    }
}
