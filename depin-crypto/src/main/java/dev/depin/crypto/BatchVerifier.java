package dev.depin.crypto;

import dev.depin.crypto.internal.StrictJson;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.internal.Statements;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Buyer side of receipt batching: verifies one job's {@link BatchedReceipt} against what the
 * buyer knows independently, with the batch signature verified once per batch.
 *
 * <h2>What {@link #verify(BatchedReceipt, ReceiptExpectations)} checks, in order</h2>
 * <ol>
 *   <li>The batch envelope: payload type, Ed25519 signature by the expected provider key
 *       ({@code WRONG_PAYLOAD_TYPE}, {@code BAD_SIGNATURE}, {@code KEY_MISMATCH}), a
 *       well-formed statement ({@code MALFORMED_STATEMENT}) with predicate type
 *       {@value BatchSigner#PREDICATE_TYPE} ({@code WRONG_PREDICATE_TYPE}) committing to a
 *       root over N statements. A batch verified before for the same key is taken from a
 *       small bounded (LRU) cache keyed by the batch's digest (SHA-256 of its PAE), the key
 *       and the signatures as received, so N jobs of one batch cost one Ed25519
 *       verification, and an envelope whose signatures were altered is verified again.</li>
 *   <li>Inclusion: the receipt statement's digest is leaf {@code receiptProof.leafIndex()} of
 *       the signed root, with the signed leaf count ({@code MERKLE_PROOF_INVALID}); then the
 *       same for the wipe statement.</li>
 *   <li>Every binding of the single-envelope path, with the same reasons:
 *       {@link ExecutionReceipt#verify(Envelope, ReceiptExpectations)} after its signature
 *       (predicate type, job id, attempt, nonce, spec, kernel, inputs, chunk size, outputs =
 *       the bytes received, subjects) and
 *       {@link WipeAttestation#verify(Envelope, Envelope, NodePublicKey, Map)} after its
 *       signature (subject = this receipt statement, every record complete, read-backs,
 *       every buffer covered).</li>
 * </ol>
 * A receipt from another job still fails on its job id or nonce, a proof for another leaf
 * fails the inclusion, and a batch signed by another key fails the signature. The reports
 * say the job was covered by one batch signature over N statements
 * ({@link Assurance#batchSignature(int)}). Thread-safe.
 *
 * <pre>{@code
 * BatchVerifier verifier = new BatchVerifier();                       // one per buyer, shared
 * BatchedReceipt job = BatchedReceipt.parse(bytesFromProvider);
 * VerifiedBatchedReceipt ok = verifier.verify(job, expectations);     // throws on any mismatch
 * ok.receipt().report().summary();   // "batchSignature: 14/14 checks passed; SIGNATURE batchStatements=512"
 * }</pre>
 */
public final class BatchVerifier {
    /** Batches remembered by {@link #BatchVerifier()}. */
    public static final int DEFAULT_CACHE_SIZE = 1024;
    /** Report policy name of a batched receipt's checks. */
    public static final String POLICY = "batchSignature";

    /**
     * Each batch envelope's digest, by identity (envelopes are immutable): a buyer that reads a
     * batch's envelope once for all its jobs (over gRPC, {@code Result.batched_parts}) hashes it
     * once, not once per job.
     */
    private static final IdentityMemo<Envelope, String> BATCH_DIGESTS = new IdentityMemo<>(64, Envelope::digestHex);
    private final int cacheSize;
    private final Map<String, SignedBatch> cache;
    /**
     * Batches being verified now, by cache key: a job of a batch that another thread is
     * verifying waits for that verification instead of repeating it (the jobs of one batch
     * complete together and reach the client's threads together). Guarded by {@link #cache}.
     */
    private final Map<String, CompletableFuture<SignedBatch>> verifying = new HashMap<>();
    private final AtomicLong signatureChecks = new AtomicLong();

    /** What a verified batch envelope commits to. */
    private record SignedBatch(byte[] root, String rootHex, int statements, String batchId) {
    }

    /** A verified batch, and whether this thread checked its signature (or took another's check). */
    private record Got(SignedBatch batch, boolean verifiedHere) {
    }

    /** A verifier that remembers the last {@value #DEFAULT_CACHE_SIZE} verified batches. */
    public BatchVerifier() {
        this(DEFAULT_CACHE_SIZE);
    }

    /**
     * A verifier that remembers the last {@code cacheSize} verified batches (least recently
     * used dropped first).
     *
     * @param cacheSize batches remembered, 0..1,000,000 (0: verify every batch signature)
     * @throws dev.depin.InvalidArgumentException if out of range
     */
    public BatchVerifier(int cacheSize) {
        if (cacheSize < 0 || cacheSize > 1_000_000) {
            throw new InvalidArgumentException("cacheSize must be in 0..1000000, got " + cacheSize);
        }
        this.cacheSize = cacheSize;
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, SignedBatch> eldest) {
                return size() > BatchVerifier.this.cacheSize;
            }
        };
    }

    /**
     * Verifies one job of a batch; the wipe attestation must cover every buffer the receipt
     * names ({@link WipeAttestation#buffersOf(ExecutionReceipt)}).
     *
     * @param job          what the provider sent for this job
     * @param expectations what the buyer knows independently (signer = the offer's key)
     * @return the verified receipt and the wipe report
     * @throws VerificationException on the first check that does not hold (see the class
     *                               documentation for the order and reasons)
     */
    public VerifiedBatchedReceipt verify(BatchedReceipt job, ReceiptExpectations expectations) {
        return verify(job, expectations, null);
    }

    /**
     * Verifies one job of a batch with an explicit set of buffers the wipe must cover.
     *
     * @param job             what the provider sent for this job
     * @param expectations    what the buyer knows independently (signer = the offer's key)
     * @param expectedBuffers label → bytes of every buffer that must have been wiped, or
     *                        {@code null} for {@link WipeAttestation#buffersOf(ExecutionReceipt)}
     * @return the verified receipt and the wipe report
     * @throws VerificationException on the first check that does not hold
     */
    public VerifiedBatchedReceipt verify(BatchedReceipt job, ReceiptExpectations expectations,
                                         Map<String, Long> expectedBuffers) {
        InvalidArgumentException.requireNonNull(job, "job");
        InvalidArgumentException.requireNonNull(expectations, "expectations");
        NodePublicKey key = expectations.signer();
        Envelope batchEnv = job.batch();
        String batchDigest = BATCH_DIGESTS.get(batchEnv);
        String cacheKey = cacheKey(batchEnv, batchDigest, key);
        SignedBatch batch = cached(cacheKey);
        boolean fromCache = batch != null;
        if (batch == null) {
            Got got = verifyOnce(cacheKey, batchEnv, key);
            batch = got.batch;
            fromCache = !got.verifiedHere;
        }
        SignedBatch signed = batch;
        boolean cached = fromCache;
        VerificationReport.Check signature = VerificationReport.Check.passed("batchSignature",
                () -> "Ed25519 over DSSE PAE of batch " + signed.batchId + " (sha256 " + batchDigest + ") by "
                        + key.nodeId().hex() + ", predicateType " + BatchSigner.PREDICATE_TYPE + ", committing to "
                        + signed.statements + " statement(s)"
                        + (cached ? "; verified earlier, taken from the cache by batch digest and key" : ""));
        Assurance assurance = Assurance.batchSignature(batch.statements);
        String policy = POLICY;

        byte[] receipt = job.receipt();
        byte[] receiptDigest = BatchedReceipt.statementDigest(receipt);
        List<VerificationReport.Check> receiptChecks = new ArrayList<>();
        receiptChecks.add(signature);
        receiptChecks.add(inclusion("receipt", job.receiptProof(), receiptDigest, batch));
        VerifiedReceipt verified = ReceiptBindings.verify(StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, receipt),
                expectations, receiptChecks, policy, assurance);

        byte[] wipe = job.wipe();
        List<VerificationReport.Check> wipeChecks = new ArrayList<>();
        wipeChecks.add(signature);
        wipeChecks.add(inclusion("wipe", job.wipeProof(), BatchedReceipt.statementDigest(wipe), batch));
        VerificationReport wipeReport = WipeAttestation.verifyBindings(
                StatementReader.wipe(Dsse.IN_TOTO_PAYLOAD_TYPE, wipe),
                Hex.encode(receiptDigest),
                expectedBuffers != null ? expectedBuffers : WipeAttestation.buffersOf(verified.receipt()),
                inCache(verified.receipt(), expectations), wipeChecks, "wipeAttestation(" + policy + ")", assurance);
        return new VerifiedBatchedReceipt(verified, wipeReport, batchDigest, batch.statements);
    }

    /**
     * The buffers that may be the node's cache entries: the inputs the expectations allow
     * ({@link ReceiptExpectations.Builder#inputsInCache}), and the outputs the buyer left there.
     */
    private static Map<String, String> inCache(ExecutionReceipt receipt, ReceiptExpectations expectations) {
        Map<String, String> m = WipeAttestation.inputRootsOf(receipt);
        m.keySet().removeIf(name -> !expectations.inputMayBeInCache(name));
        for (BufferDigest b : receipt.outputs()) {
            if (expectations.heldOutputs().containsKey(b.name())) {
                m.put(b.name(), b.merkleRoot());
            }
        }
        return m;
    }

    /**
     * Checks only the batch envelope of a job: payload type, Ed25519 signature by {@code key}
     * and a well-formed batch statement; the job's own statements are not looked at. For a
     * verifier that must authenticate before it reads any claim (an offline check reads the
     * receipt's claims to build its expectations, then calls {@link #verify}).
     *
     * @param job what the provider sent for one job
     * @param key the provider's key
     * @return the number of statements the batch signature covers
     * @throws VerificationException if the batch envelope does not verify
     */
    public int verifyBatchSignature(BatchedReceipt job, NodePublicKey key) {
        return signedBatch(job, key).statements;
    }

    /**
     * Authenticates one job's receipt statement without checking what it says against any data:
     * the batch envelope's signature by {@code key} and the receipt statement's inclusion in the
     * batch's signed root. What a settlement service checks before it takes a receipt as a
     * provider's claim to be paid (its job, attempt and spec hash are then the provider's signed
     * word; the outputs were the buyer's to check).
     *
     * @param job what the provider sent for one job
     * @param key the provider's key
     * @return the receipt, signed by {@code key}
     * @throws VerificationException if the batch envelope does not verify or the receipt is not
     *                               in the batch
     */
    public ExecutionReceipt authenticateReceipt(BatchedReceipt job, NodePublicKey key) {
        SignedBatch batch = signedBatch(job, key);
        inclusion("receipt", job.receiptProof(), BatchedReceipt.statementDigest(job.receipt()), batch);
        return job.readReceiptUnverified();
    }

    private SignedBatch signedBatch(BatchedReceipt job, NodePublicKey key) {
        InvalidArgumentException.requireNonNull(job, "job");
        InvalidArgumentException.requireNonNull(key, "key");
        String digest = BATCH_DIGESTS.get(job.batch());
        String cacheKey = cacheKey(job.batch(), digest, key);
        SignedBatch batch = cached(cacheKey);
        if (batch == null) {
            batch = verifyOnce(cacheKey, job.batch(), key).batch;
        }
        return batch;
    }

    /**
     * Verifies a batch envelope that was not in the cache, once for all the threads that ask at
     * the same time: the first verifies and remembers it, the others wait for its answer. A
     * batch that fails is verified again by each waiting thread, so each throws its own
     * exception (a forged batch costs what it cost before).
     */
    private Got verifyOnce(String cacheKey, Envelope env, NodePublicKey key) {
        if (cacheSize == 0) {
            return new Got(verifyBatch(env, key), true);
        }
        CompletableFuture<SignedBatch> mine = new CompletableFuture<>();
        CompletableFuture<SignedBatch> theirs;
        synchronized (cache) {
            SignedBatch done = cache.get(cacheKey);
            if (done != null) {
                return new Got(done, false);
            }
            theirs = verifying.putIfAbsent(cacheKey, mine);
        }
        if (theirs != null) {
            try {
                return new Got(theirs.join(), false);
            } catch (CompletionException | CancellationException e) {
                return new Got(verifyBatch(env, key), true);
            }
        }
        try {
            SignedBatch batch = verifyBatch(env, key);
            synchronized (cache) {
                cache.put(cacheKey, batch);
                verifying.remove(cacheKey);
            }
            mine.complete(batch);
            return new Got(batch, true);
        } catch (RuntimeException | Error e) {
            synchronized (cache) {
                verifying.remove(cacheKey);
            }
            mine.completeExceptionally(e);
            throw e;
        }
    }

    /**
     * How many batch envelopes this verifier has checked (signature and statement); a batch
     * taken from the cache, or from another thread that was checking it at the same time, is
     * not counted again.
     *
     * @return batch envelope checks so far
     */
    public long signatureChecks() {
        return signatureChecks.get();
    }

    /**
     * Number of verified batches currently remembered.
     *
     * @return at most the cache size
     */
    public int cachedBatches() {
        synchronized (cache) {
            return cache.size();
        }
    }

    /**
     * The batch's digest, the expected key, and every signature as received: a hit means this
     * very envelope (not merely its payload) verified under this key before, so an envelope
     * whose signatures were altered is verified again and fails, and what the buyer keeps as
     * evidence always verifies offline.
     */
    private static String cacheKey(Envelope env, String batchDigest, NodePublicKey key) {
        StringBuilder sb = new StringBuilder(batchDigest.length() + 80 + 160 * env.signatures().size());
        sb.append(batchDigest).append('|').append(key.nodeId().hex());
        for (Envelope.Signature sig : env.signatures()) {
            sb.append('|').append(sig.keyid()).append(':').append(Hex.encode(sig.sig()));
        }
        return sb.toString();
    }

    private SignedBatch cached(String cacheKey) {
        if (cacheSize == 0) {
            return null;
        }
        synchronized (cache) {
            return cache.get(cacheKey);
        }
    }

    private SignedBatch verifyBatch(Envelope env, NodePublicKey key) {
        signatureChecks.incrementAndGet();
        env.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, key);
        Statements.Parsed st = Statements.parse(env, BatchSigner.PREDICATE_TYPE);
        if (st.subjects().size() != 1 || !BatchSigner.SUBJECT_NAME.equals(st.subjects().get(0).name())) {
            throw Statements.malformed("a batch statement has exactly one subject named '"
                    + BatchSigner.SUBJECT_NAME + "'", null);
        }
        String root = st.subjects().get(0).digest().get(ExecutionReceipt.SUBJECT_DIGEST);
        if (!Hex.isLowerHex(root, 2 * Sha256.LENGTH)) {
            throw Statements.malformed("the batch subject has no " + ExecutionReceipt.SUBJECT_DIGEST
                    + " digest of 64 lower-case hex characters", null);
        }
        StrictJson.Obj p = st.predicate();
        int statements = Statements.int32(p, "statements");
        if (statements < 1) {
            throw Statements.malformed("a batch commits to at least 1 statement, not " + statements, null);
        }
        String leaf = Statements.text(p, "leaf");
        if (!BatchSigner.LEAF_RULE.equals(leaf)) {
            throw Statements.malformed("leaf rule '" + leaf + "' is not '" + BatchSigner.LEAF_RULE + "'", null);
        }
        String batchId = Statements.text(p, "batchId");
        Statements.instant(p, "sealedAt");
        return new SignedBatch(Hex.decode(root), root, statements, batchId);
    }

    private static VerificationReport.Check inclusion(String what, InclusionProof proof, byte[] statementDigest,
                                                      SignedBatch batch) {
        if (proof.leafCount() != batch.statements) {
            throw new VerificationException(Reason.MERKLE_PROOF_INVALID, "the " + what + " statement's inclusion "
                    + "proof is for a tree of " + proof.leafCount() + " leaves but the signed batch " + batch.batchId
                    + " commits to " + batch.statements + " statements: it belongs to another batch; reject it",
                    new Evidence("batch-inclusion", what + " leaf " + proof.leafIndex(),
                            Integer.toString(batch.statements), Integer.toString(proof.leafCount()), ""));
        }
        try {
            proof.verify(statementDigest, batch.root);
        } catch (VerificationException e) {
            throw new VerificationException(Reason.MERKLE_PROOF_INVALID, "the " + what + " statement (sha256 "
                    + Hex.encode(statementDigest) + ") is not leaf " + proof.leafIndex() + " of the " + batch.statements
                    + " statements signed in batch " + batch.batchId + ": the statement or its proof was altered or "
                    + "belongs elsewhere; reject it", e.evidence().orElse(null));
        }
        // Built when read; the digest is this verifier's own array, never written after this.
        int leaf = proof.leafIndex();
        return VerificationReport.Check.passed(what + "Inclusion", () -> what + " statement sha256 "
                + Hex.encode(statementDigest) + " is leaf " + leaf + " of " + batch.statements
                + " under the signed RFC 6962 root " + batch.rootHex);
    }

    @Override
    public String toString() {
        return "BatchVerifier[cache " + cachedBatches() + "/" + cacheSize + "]";
    }
}
