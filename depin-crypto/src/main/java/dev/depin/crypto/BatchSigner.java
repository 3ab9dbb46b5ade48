package dev.depin.crypto;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.internal.Statements;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Provider side of receipt batching (DESIGN §4 "Batching"): collects the receipt and wipe
 * statements of many jobs and signs them all with <b>one</b> Ed25519 signature, so a
 * provider serving many small jobs pays one signature per batch instead of two per job.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>{@link #add(ExecutionReceipt, WipeAttestation)} queues one job: its receipt
 *       statement and its wipe attestation statement, whose subject must be the receipt
 *       statement's digest ({@link ExecutionReceipt#statementDigestHex()}). It returns a
 *       future that completes with the job's {@link BatchedReceipt} — what the provider must
 *       send the buyer — when the batch holding the job is sealed.</li>
 *   <li>A batch is sealed when it holds {@code maxJobs} jobs (by the thread whose
 *       {@code add} filled it), when {@link #seal()} is called (e.g. by the engine's timer,
 *       so that a job never waits longer than the caller's latency budget), or on
 *       {@link #close()}. Sealing builds the RFC 6962 tree over the 2N statement digests
 *       (leaf 2i = job i's receipt, 2i+1 = its wipe), signs the batch statement and
 *       completes the N futures, all outside the signer's lock.</li>
 *   <li>The signed batch is an in-toto Statement v1 in a DSSE envelope
 *       ({@value Dsse#IN_TOTO_PAYLOAD_TYPE}) with predicate type {@value #PREDICATE_TYPE},
 *       one subject {@code "statements"} whose {@code merkle-sha256} digest is the root, and
 *       a predicate with the statement count, the leaf rule, a random batch id and the seal
 *       time. Its predicate type separates it from receipts and wipes: a batch envelope
 *       never verifies as either, nor they as a batch.</li>
 *   <li>Futures complete on the sealing thread: run slow continuations with
 *       {@code ...Async}. If sealing fails, every future of that batch completes
 *       exceptionally with the cause.</li>
 *   <li>Thread-safe. After {@link #close()}, {@code add} throws {@link IllegalStateException}.</li>
 * </ul>
 *
 * <pre>{@code
 * try (BatchSigner batches = new BatchSigner(providerKeys, 256)) {
 *     ExecutionReceipt r = ...;                                     // as for a single receipt
 *     WipeAttestation w = WipeAttestation.builder().receiptDigest(r.statementDigestHex())
 *             .buffer(...).startedAt(t0).endedAt(t1).build();
 *     CompletableFuture<BatchedReceipt> out = batches.add(r, w);
 *     batches.seal();                                               // or let 256 jobs fill it
 *     sendToBuyer(out.join().toJsonBytes());
 * }
 * }</pre>
 */
public final class BatchSigner implements AutoCloseable {
    /** The predicate type of a batch statement. */
    public static final String PREDICATE_TYPE = "https://depin.dev/batch/v1";
    /** The batch statement's one subject name. */
    public static final String SUBJECT_NAME = "statements";
    /** The leaf rule, recorded in every batch predicate as {@code leaf}. */
    public static final String LEAF_RULE = "rfc6962-leaf(sha256(DSSEv1-PAE(" + Dsse.IN_TOTO_PAYLOAD_TYPE
            + ", statement)))";
    /** Most jobs one batch may hold (2 statements each). */
    public static final int MAX_JOBS = 1 << 20;

    private final NodeKeyPair key;
    private final int maxJobs;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Object lock = new Object();
    private List<Job> pending = new ArrayList<>();
    private boolean closed;

    /** One job's statements and their digests (the batch's two leaves), computed by {@link #add}'s caller. */
    private record Job(byte[] receipt, byte[] receiptDigest, byte[] wipe, byte[] wipeDigest,
                       CompletableFuture<BatchedReceipt> future) {
    }

    /**
     * A signer that seals a batch whenever it holds {@code maxJobs} jobs.
     *
     * @param key     the provider's key (the one named in its offer)
     * @param maxJobs jobs per batch before it seals itself, 1..{@value #MAX_JOBS}
     * @throws dev.depin.InvalidArgumentException if {@code key} is null or {@code maxJobs}
     *                                            is out of range
     */
    public BatchSigner(NodeKeyPair key, int maxJobs) {
        this(key, maxJobs, Clock.systemUTC());
    }

    /**
     * A signer with an explicit clock for the batch's {@code sealedAt} time.
     *
     * @param key     the provider's key
     * @param maxJobs jobs per batch before it seals itself, 1..{@value #MAX_JOBS}
     * @param clock   the clock; not {@code null}
     */
    public BatchSigner(NodeKeyPair key, int maxJobs, Clock clock) {
        this.key = InvalidArgumentException.requireNonNull(key, "key");
        if (maxJobs < 1 || maxJobs > MAX_JOBS) {
            throw new InvalidArgumentException("maxJobs must be in 1.." + MAX_JOBS + ", got " + maxJobs);
        }
        this.maxJobs = maxJobs;
        this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
    }

    /**
     * The key that signs every batch.
     *
     * @return the signer's node id
     */
    public NodeId signer() {
        return key.nodeId();
    }

    /**
     * Queues one job's receipt and wipe attestation. The statements are encoded here, in the
     * calling thread; if this job fills the batch, the batch is sealed here too.
     *
     * @param receipt the job's execution receipt
     * @param wipe    the job's wipe attestation, whose subject is
     *                {@code receipt.statementDigestHex()}
     * @return completes with what to send the buyer once the batch is sealed
     * @throws dev.depin.InvalidArgumentException if an argument is null or the wipe names
     *                                            another receipt
     * @throws IllegalStateException              if this signer is closed
     */
    public CompletableFuture<BatchedReceipt> add(ExecutionReceipt receipt, WipeAttestation wipe) {
        InvalidArgumentException.requireNonNull(receipt, "receipt");
        InvalidArgumentException.requireNonNull(wipe, "wipe");
        byte[] r = receipt.toPayload();
        // Encoded and hashed once per receipt (remembered by identity): the wipe's subject was taken from it.
        String digest = receipt.statementDigestHex();
        if (!digest.equals(wipe.receiptDigest())) {
            throw new InvalidArgumentException("the wipe attestation names receipt " + wipe.receiptDigest()
                    + " but this receipt statement's digest is " + digest
                    + ": build the wipe with receiptDigest(receipt.statementDigestHex())");
        }
        byte[] w = wipe.toPayload();
        Job job = new Job(r, Hex.decode(digest), w, BatchedReceipt.statementDigest(w), new CompletableFuture<>());
        List<Job> full = null;
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("this BatchSigner is closed: create a new one");
            }
            pending.add(job);
            if (pending.size() >= maxJobs) {
                full = pending;
                pending = new ArrayList<>();
            }
        }
        if (full != null) {
            seal(full);
        }
        return job.future;
    }

    /**
     * Seals the jobs queued now into one batch, in the calling thread, and completes their
     * futures. Nothing happens if none is queued.
     *
     * @return the number of jobs sealed
     */
    public int seal() {
        List<Job> jobs;
        synchronized (lock) {
            jobs = pending;
            pending = new ArrayList<>();
        }
        return seal(jobs);
    }

    /**
     * Jobs queued and not yet sealed.
     *
     * @return the count
     */
    public int pending() {
        synchronized (lock) {
            return pending.size();
        }
    }

    /** Seals what is queued (so every future completes) and refuses further jobs. Idempotent. */
    @Override
    public void close() {
        List<Job> jobs;
        synchronized (lock) {
            closed = true;
            jobs = pending;
            pending = new ArrayList<>();
        }
        seal(jobs);
    }

    private int seal(List<Job> jobs) {
        if (jobs.isEmpty()) {
            return 0;
        }
        try {
            int n = jobs.size();
            byte[] leaves = new byte[2 * n * Sha256.LENGTH];
            for (int i = 0; i < n; i++) {
                System.arraycopy(jobs.get(i).receiptDigest, 0, leaves, 2 * i * Sha256.LENGTH, Sha256.LENGTH);
                System.arraycopy(jobs.get(i).wipeDigest, 0, leaves,
                        (2 * i + 1) * Sha256.LENGTH, Sha256.LENGTH);
            }
            MerkleTree tree = MerkleTree.of(ByteBuffer.wrap(leaves), Sha256.LENGTH);
            byte[] id = new byte[16];
            random.nextBytes(id);
            ObjectNode p = CanonicalJson.object();
            p.put("batchId", Hex.encode(id));
            p.put("statements", 2 * n);
            p.put("leaf", LEAF_RULE);
            p.put("sealedAt", clock.instant().toString());
            byte[] statement = Statements.encode(List.of(new Subject(SUBJECT_NAME,
                    Map.of(ExecutionReceipt.SUBJECT_DIGEST, tree.rootHex()))), PREDICATE_TYPE, p);
            Envelope batch = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, statement, key);
            for (int i = 0; i < n; i++) {
                Job j = jobs.get(i);
                j.future.complete(new BatchedReceipt(batch, j.receipt, tree.proof(2 * i), j.wipe, tree.proof(2 * i + 1)));
            }
        } catch (RuntimeException | Error e) {
            for (Job j : jobs) {
                j.future.completeExceptionally(e);
            }
            throw e;
        }
        return jobs.size();
    }

    @Override
    public String toString() {
        return "BatchSigner[" + key.nodeId().shortId() + ", maxJobs=" + maxJobs + ", pending=" + pending() + "]";
    }
}
