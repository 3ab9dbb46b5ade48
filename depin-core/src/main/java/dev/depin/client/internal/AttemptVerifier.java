package dev.depin.client.internal;

import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.ReceiptExpectations;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.VerifiedReceipt;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.verify.Freivalds;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.CpuReference;
import dev.depin.network.spi.ArrivalTaps;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.ReceivedOutput;
import dev.depin.provider.ProviderOffer;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The buyer's checks on one attempt, in order: the receipt (signature by the offer's key,
 * job id, attempt, nonce, spec, kernel, input roots, output roots and sizes equal to the
 * roots computed on arrival), the output names and sizes the spec implies, the wipe
 * attestation (signature, subject = this receipt, every buffer of the job overwritten and
 * read back), then the job's policy, which asks the kernel's reference what it can check.
 * Every failure throws {@link VerificationException} with its reason.
 *
 * <p>Random choices (Freivalds vectors, sampled chunks) come from a seed drawn here,
 * after the provider has committed, and the seed is in the report and in any evidence; a
 * Freivalds check {@link #prepareFreivalds prepared} for an attempt draws its seed before the
 * attempt is dispatched and keeps it secret until C is fixed (see docs/decisions.md, "Freivalds
 * prepared before C arrives").
 */
public final class AttemptVerifier {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Name of the report's check that says a Freivalds check ran prepared ({@link #prepareFreivalds}). */
    public static final String PREPARED_CHECK = "freivalds prepared";
    private final CpuReference reference;
    /** Verifies each batch signature once for all of its jobs (bounded cache), shared by the client's jobs. */
    private final dev.depin.crypto.BatchVerifier batches = new dev.depin.crypto.BatchVerifier();

    private final dev.depin.crypto.Parallelism parallelism;

    /**
     * Bytes of sampled chunks that the spot checks drawn at dispatch ({@link #prepare}) of all of
     * the client's attempts hold at once at most: beyond it an attempt's check draws its sample
     * after the receipt, as before.
     */
    static final long AHEAD_BYTES = 64L << 20;
    private final AtomicLong ahead = new AtomicLong();
    private final long aheadLimit;
    /** Where prepared Freivalds checks compute their product side while the provider computes; null: at the check. */
    private final Executor background;
    /** Prepared Freivalds checks of attempts in flight, by challenge nonce (see {@link #prepareFreivalds}). */
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();

    /**
     * One attempt's prepared check: its secret state, the tap that feeds it C, the taps its request
     * carries (detached when the check is wiped), and where A, B and C are.
     */
    private record Pending(Freivalds.Prepared check, Consumer<ByteBuffer> tap, ArrivalTaps taps,
                           dev.depin.kernel.MatrixProduct product) {
    }

    /**
     * @param reference   the CPU reference used to recompute spot-checked chunks
     * @param parallelism threads checks may use for large results (owned by the client)
     */
    public AttemptVerifier(CpuReference reference, dev.depin.crypto.Parallelism parallelism) {
        this(reference, parallelism, AHEAD_BYTES);
    }

    /**
     * @param reference  the CPU reference used to recompute spot-checked chunks
     * @param parallelism threads checks may use for large results (owned by the client)
     * @param aheadBytes bytes of sampled chunks recomputed at dispatch that the client's attempts
     *                   hold at once at most ({@link #prepare}); 0 draws every sample after its receipt
     */
    AttemptVerifier(CpuReference reference, dev.depin.crypto.Parallelism parallelism, long aheadBytes) {
        this(reference, parallelism, aheadBytes, null);
    }

    /**
     * @param reference   the CPU reference used to recompute spot-checked chunks
     * @param parallelism threads checks may use for large results (owned by the client)
     * @param background  where a prepared Freivalds check computes the side that needs only A and
     *                    B while the provider computes ({@link #prepareFreivalds}); null to compute
     *                    it at the check
     */
    public AttemptVerifier(CpuReference reference, dev.depin.crypto.Parallelism parallelism,
                           Executor background) {
        this(reference, parallelism, AHEAD_BYTES, background);
    }

    private AttemptVerifier(CpuReference reference, dev.depin.crypto.Parallelism parallelism, long aheadBytes,
                            Executor background) {
        this.reference = reference;
        this.parallelism = parallelism;
        this.aheadLimit = aheadBytes;
        this.background = background;
    }

    /**
     * Draws the spot check of an attempt that leaves its outputs on the provider now, at
     * dispatch, and recomputes its sampled chunks on {@code executor} while the provider
     * computes: for a job whose policy is a spot check and whose inputs are all the buyer's own.
     * The seed is the attempt's alone (a retry or a hedge draws its own) and stays with the
     * buyer until {@link #verify} has checked the receipt that commits to the outputs' roots;
     * only then do the reads of the sampled chunks reveal it. Pass the result to {@link #verify}
     * and release it ({@link HeldSpotCheck.Prepared#release}) once the attempt is over.
     *
     * @param spec     the job spec
     * @param inputs   the buyer's own input bytes
     * @param request  the attempt's request
     * @param executor where the sampled chunks are recomputed
     * @return the prepared check, or null where none applies or the client's bound
     *     ({@link #AHEAD_BYTES}) has no room
     */
    public HeldSpotCheck.Prepared prepare(JobSpec spec, Map<String, ByteBuffer> inputs, ExecutionRequest request,
                                          Executor executor) {
        if (!request.delivery().leavesOutputs() || !request.delivery().heldInputs().isEmpty()
                || !(spec.verification() instanceof VerificationPolicy.SpotCheck sc)) {
            return null;
        }
        return HeldSpotCheck.prepare(reference, spec, inputs, sc.fraction(), Freivalds.newSeed(RANDOM), executor, ahead,
                aheadLimit);
    }

    /** @return bytes of sampled chunks the client's prepared checks hold now (tests) */
    long aheadBytesHeld() {
        return ahead.get();
    }

    private static String key(ExecutionRequest request) {
        return Hex.encode(request.nonce());
    }

    /**
     * Prepares the Freivalds check of an attempt about to be dispatched, when its job has one and
     * C comes back: draws the attempt's own secret seed now, starts the side of the check that
     * needs only A and B in the background (while the provider computes), and returns the taps
     * that sum yᵀC chunk by chunk right after each chunk of C is hashed, which the request must
     * carry when it is dispatched ({@link ExecutionRequest#withTaps}). {@link #verify} then only
     * compares (the same report as the one-shot check, which it falls back to if C did not pass
     * through the tap: a network that does not feed taps). The seed never leaves this object;
     * every attempt has its own, and the state is wiped, and the taps detached, when the attempt
     * is verified or {@link #discard discarded}. Does nothing for other jobs.
     *
     * @param spec    the job spec
     * @param inputs  the buyer's own input bytes
     * @param request the attempt, before it is dispatched
     * @return the taps to dispatch the attempt with, when a check was prepared (then
     *     {@link #verify} or {@link #discard} wipes it); empty for other jobs
     */
    public Optional<ArrivalTaps> prepareFreivalds(JobSpec spec, Map<String, ByteBuffer> inputs,
                                                            ExecutionRequest request) {
        if (!(spec.verification() instanceof VerificationPolicy.Freivalds f) || request.delivery().leavesOutputs()) {
            return Optional.empty();
        }
        Optional<dev.depin.kernel.MatrixProduct> mp = spec.kernel().reference()
                .flatMap(r -> r.matrixProduct(spec.params()));
        if (mp.isEmpty() || !inputs.containsKey(mp.get().a()) || !inputs.containsKey(mp.get().b())) {
            return Optional.empty();
        }
        dev.depin.kernel.MatrixProduct p = mp.get();
        Freivalds.Prepared check = Freivalds.prepare(p.m(), p.k(), p.n(), Freivalds.Options.rigorous(f.rounds()),
                Freivalds.newSeed(RANDOM));
        Consumer<ByteBuffer> tap = check::acceptC;
        ArrivalTaps taps = ArrivalTaps.of(Map.of(p.c(), tap));
        Pending old = pending.put(key(request), new Pending(check, tap, taps, p));
        if (old != null) {
            old.check().close();
            old.taps().detach();
        }
        if (background != null) {
            FloatBuffer a = dev.depin.kernel.Buffers.floatView(inputs.get(p.a()));
            FloatBuffer b = dev.depin.kernel.Buffers.floatView(inputs.get(p.b()));
            try {
                background.execute(() -> {
                    try {
                        // One thread: it has the provider's whole compute time to finish, and the
                        // buyer's other cores stay free for sending the inputs and receiving C.
                        check.computeProduct(a, b, dev.depin.crypto.Parallelism.callerThread());
                    } catch (RuntimeException e) {
                        // Kept by the check: finish() throws it, as the one-shot check would.
                    }
                });
            } catch (RejectedExecutionException e) {
                // The client is closing: the check computes it at the end, if it ever runs.
            }
        }
        return Optional.of(taps);
    }

    /**
     * Wipes the prepared check of an attempt that will not be verified (it failed, timed out or
     * was cancelled), and detaches its taps if no assembler took them. Idempotent.
     *
     * @param request the attempt
     */
    public void discard(ExecutionRequest request) {
        Pending p = pending.remove(key(request));
        if (p != null) {
            p.check().close();
            p.taps().detach();
        }
    }

    /**
     * Wipes the prepared checks of a job that ended, whatever became of its attempts.
     *
     * @param requests the job's prepared attempts
     */
    public void discardAll(Collection<ExecutionRequest> requests) {
        for (ExecutionRequest r : requests) {
            discard(r);
        }
    }

    /** @return prepared checks not yet verified or discarded (for tests: none once the jobs ended) */
    public int preparedChecks() {
        return pending.size();
    }

    /**
     * Checks one attempt completely.
     *
     * @param spec     the job spec
     * @param specHash its hash, computed once per job
     * @param inputs   the buyer's own input bytes
     * @param offer    the offer the attempt went to
     * @param request  what was sent
     * @param response what came back
     * @return what was checked
     * @throws VerificationException with the first failed check
     */
    public VerificationReport verify(JobSpec spec, String specHash, Map<String, ByteBuffer> inputs,
                                     ProviderOffer offer, ExecutionRequest request, ExecutionResponse response) {
        return verify(spec, specHash, inputs, offer, request, response, null);
    }

    /**
     * Checks one attempt completely, reading through {@code network} what stays on the provider
     * (outputs left there, inputs held there) that a spot check samples. A response whose wipe
     * attestation is still to follow ({@link ExecutionResponse#wipeFollows()}) is checked
     * without it, while the provider wipes: the caller checks the attestation with
     * {@link #verifyWipe} once it came, and the attempt counts only then.
     *
     * @param spec     the job spec
     * @param specHash its hash, computed once per job
     * @param inputs   the buyer's own input bytes (not the held ones)
     * @param offer    the offer the attempt went to
     * @param request  what was sent
     * @param response what came back
     * @param network  where held chunks are read, or null when nothing stays on the provider
     * @return what was checked
     * @throws VerificationException with the first failed check
     */
    public VerificationReport verify(JobSpec spec, String specHash, Map<String, ByteBuffer> inputs,
                                     ProviderOffer offer, ExecutionRequest request, ExecutionResponse response,
                                     dev.depin.network.spi.ComputeNetwork network) {
        return verify(spec, specHash, inputs, offer, request, response, network, null);
    }

    /**
     * As {@link #verify(JobSpec, String, Map, ProviderOffer, ExecutionRequest, ExecutionResponse,
     * dev.depin.network.spi.ComputeNetwork)}, with the spot check drawn at dispatch.
     *
     * @param prepared the attempt's check from {@link #prepare}, or null: taken here once (its
     *                 seed is used by this call only, after the receipt was checked), not released
     */
    public VerificationReport verify(JobSpec spec, String specHash, Map<String, ByteBuffer> inputs,
                                     ProviderOffer offer, ExecutionRequest request, ExecutionResponse response,
                                     dev.depin.network.spi.ComputeNetwork network, HeldSpotCheck.Prepared prepared) {
        // The attempt's prepared Freivalds check, if any, is used (or not) by this call and wiped after it.
        Pending freivalds = pending.remove(key(request));
        try {
            return verify(spec, specHash, inputs, offer, request, response, network, prepared, freivalds);
        } finally {
            if (freivalds != null) {
                freivalds.check().close();
                freivalds.taps().detach();
            }
        }
    }

    private VerificationReport verify(JobSpec spec, String specHash, Map<String, ByteBuffer> inputs,
                                      ProviderOffer offer, ExecutionRequest request, ExecutionResponse response,
                                      dev.depin.network.spi.ComputeNetwork network, HeldSpotCheck.Prepared prepared,
                                      Pending freivalds) {
        boolean leaves = request.delivery().leavesOutputs();
        ReceiptExpectations.Builder ex = ReceiptExpectations.builder()
                .signer(offer.publicKey()).jobId(request.jobId()).attempt(request.attempt())
                .nonce(Hex.encode(request.nonce())).specHash(specHash)
                .kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash())
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES);
        for (InputRef in : spec.inputs()) {
            ex.input(new BufferDigest(in.name(), in.merkleRoot(), in.bytes()));
        }
        if (network == null || !network.providersMayKeepInputs()) {
            ex.inputsInCache(request.delivery().heldInputs());
        }
        for (Map.Entry<String, ReceivedOutput> out : response.outputs().entrySet()) {
            // Roots were computed as the bytes arrived: nothing is hashed twice.
            ex.receivedOutputDigest(new BufferDigest(out.getKey(), out.getValue().merkleRootHex(),
                    out.getValue().bytes()));
        }
        if (leaves) {
            for (BufferDecl d : spec.outputs()) {
                ex.heldOutput(d.name(), d.bytes());
            }
        }
        // The receipt first: it judges the bytes received against what the provider signed.
        VerifiedReceipt receipt;
        VerificationReport wipe;
        if (response.isBatched()) {
            // One signature per batch (cached), then this job's inclusion, then the same bindings.
            dev.depin.crypto.VerifiedBatchedReceipt v = batches.verify(response.batched(), ex.build());
            receipt = v.receipt();
            wipe = v.wipeReport();
            if (!leaves) {
                checkShapes(spec, response);
            }
        } else {
            receipt = ExecutionReceipt.verify(response.receipt(), ex.build());
            if (!leaves) {
                checkShapes(spec, response);
            }
            // An attestation still to follow is the caller's to check, with verifyWipe, once it came.
            wipe = response.wipeFollows() ? null : WipeAttestation.verify(response.wipe(), response.receipt(),
                    offer.publicKey(), WipeAttestation.buffersOf(receipt.receipt()),
                    inCache(request, receipt.receipt(), network != null && network.providersMayKeepInputs()));
        }
        VerificationReport report = wipe == null ? receipt.report() : receipt.report().and(wipe);
        Map<String, byte[]> roots = new LinkedHashMap<>();
        for (BufferDigest d : receipt.receipt().outputs()) {
            roots.put(d.name(), Hex.decode(d.merkleRoot()));
        }
        VerificationPolicy policy = spec.verification();
        if ((leaves || !request.delivery().heldInputs().isEmpty()) && policy instanceof VerificationPolicy.SpotCheck sc) {
            HeldSpotCheck held = new HeldSpotCheck(reference, network, request.delivery().heldInputs(),
                    offer.nodeId());
            // The receipt is checked: the sample drawn at dispatch may be revealed now, and only now.
            byte[] early = prepared == null ? null : prepared.take();
            return report.and(held.check(spec, inputs, receipt.receipt().outputs(), leaves ? null
                    : response.outputBytes(), sc.fraction(), early != null ? early : Freivalds.newSeed(RANDOM),
                    early != null ? prepared : null));
        }
        if (freivalds != null && policy instanceof VerificationPolicy.Freivalds && !leaves) {
            ReceivedOutput c = response.outputs().get(freivalds.product().c());
            // Only if the tap saw exactly these bytes, all of them, as they arrived.
            if (c != null && c.observedBy(freivalds.tap())) {
                dev.depin.kernel.MatrixProduct p = freivalds.product();
                VerificationReport f = freivalds.check().finish(dev.depin.kernel.Buffers.floatView(inputs.get(p.a())),
                        dev.depin.kernel.Buffers.floatView(inputs.get(p.b())),
                        dev.depin.kernel.Buffers.floatView(response.outputBytes().get(p.c())));
                List<VerificationReport.Check> checks = new ArrayList<>(f.checks());
                checks.add(VerificationReport.Check.passed(PREPARED_CHECK, "(y^T A) B computed while the provider "
                        + "computed, y^T C summed as C arrived, compared after its last byte: the one-shot check's "
                        + "sums and tolerance"));
                return report.and(new VerificationReport(f.policy(), checks, f.assurance()));
            }
        }
        return policy.check(new VerificationPolicy.ResultCheck(spec, inputs, response.outputBytes(), roots, reference,
                Freivalds.newSeed(RANDOM), parallelism)).map(report::and).orElse(report);
    }

    /**
     * Checks the wipe attestation that followed an attempt's receipt (which {@link #verify}
     * checked): signed by the offer's key, its subject that receipt, every buffer of the job
     * overwritten and read back.
     *
     * @param offer    the offer the attempt went to
     * @param request  what was sent
     * @param response the response with the attestation that followed ({@link ExecutionResponse#withWipe})
     * @return what was checked
     * @throws VerificationException with the first failed check
     */
    public VerificationReport verifyWipe(ProviderOffer offer, ExecutionRequest request, ExecutionResponse response) {
        return verifyWipe(offer, request, response, null);
    }

    /**
     * As {@link #verifyWipe(ProviderOffer, ExecutionRequest, ExecutionResponse)}, for an attempt
     * sent through {@code network} (which says whether its providers may keep the inputs sent).
     *
     * @param offer    the offer the attempt went to
     * @param request  what was sent
     * @param response the response with the attestation that followed
     * @param network  the network the attempt went through, or null for none that keeps inputs
     * @return what was checked
     * @throws VerificationException with the first failed check
     */
    public VerificationReport verifyWipe(ProviderOffer offer, ExecutionRequest request, ExecutionResponse response,
                                         dev.depin.network.spi.ComputeNetwork network) {
        ExecutionReceipt receipt = ExecutionReceipt.readUnverified(response.receipt());
        return WipeAttestation.verify(response.wipe(), response.receipt(), offer.publicKey(),
                WipeAttestation.buffersOf(receipt), inCache(request, receipt,
                network != null && network.providersMayKeepInputs()));
    }

    /**
     * The buffers whose wipe record may say they are the provider's cache entries: the inputs
     * the provider could hold for this buyer (those the request sends by root, or any input where
     * the network lets providers keep what it sends), and the outputs only where this buyer left
     * them there. Any other buffer was the job's own copy, and its wipe must be attested.
     *
     * @param request  what was sent
     * @param receipt  the attempt's receipt
     * @param anyInput whether the network lets providers keep inputs
     *                 ({@link dev.depin.network.spi.ComputeNetwork#providersMayKeepInputs()})
     * @return buffer name → root, for {@link WipeAttestation#verify(dev.depin.crypto.Envelope,
     *     dev.depin.crypto.Envelope, dev.depin.crypto.NodePublicKey, Map, Map)}
     */
    public static Map<String, String> inCache(ExecutionRequest request, ExecutionReceipt receipt, boolean anyInput) {
        Map<String, String> m = new LinkedHashMap<>();
        for (BufferDigest b : receipt.inputs()) {
            if (anyInput || request.delivery().heldInputs().contains(b.name())) {
                m.put(b.name(), b.merkleRoot());
            }
        }
        if (request.delivery().leavesOutputs()) {
            for (BufferDigest b : receipt.outputs()) {
                m.put(b.name(), b.merkleRoot());
            }
        }
        return m;
    }

    /** The signed outputs must be exactly the spec's names and sizes. */
    private static void checkShapes(JobSpec spec, ExecutionResponse response) {
        Map<String, ReceivedOutput> outs = response.outputs();
        List<BufferDecl> expected = spec.outputs();
        String problem = null;
        if (outs.size() != expected.size()) {
            problem = "outputs " + outs.keySet() + ", expected " + expected.stream().map(BufferDecl::name).toList();
        } else {
            for (BufferDecl d : expected) {
                ReceivedOutput b = outs.get(d.name());
                if (b == null || b.bytes() != d.bytes()) {
                    problem = "output '" + d.name() + "' has " + (b == null ? "no" : b.bytes()) + " bytes, expected "
                            + d.bytes();
                    break;
                }
            }
        }
        if (problem != null) {
            throw new VerificationException(VerificationException.Reason.OUTPUT_SIZE_MISMATCH,
                    "the provider signed outputs that do not fit the spec: " + problem);
        }
    }
}
