package dev.depin.client.internal;

import dev.depin.DepinException;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.Hex;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.verify.ChunkRecomputer;
import dev.depin.crypto.verify.SpotCheck;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.KernelReference;
import dev.depin.kernel.Recompute;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.HeldChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A spot check of a job whose bytes stay on the provider: outputs left there are read only in
 * their sampled 64 KiB chunks, and of inputs held there only the ranges the kernel says the
 * sampled chunks need ({@link KernelReference#inputsRead}), each chunk with its audit path to
 * the root the receipt (outputs) or the spec (inputs) commits to, checked here before use.
 * The sample is drawn from a seed made after the receipt arrived, as for a returned output, or,
 * for an output left on the provider that needs none of its inputs, from a seed drawn at dispatch
 * ({@link #prepare}): its chunks are then recomputed while the provider computes, and the sample
 * is revealed to the provider (by the reads) only after its receipt, which commits to the
 * output's root, was checked.
 */
public final class HeldSpotCheck {
    /** Bytes of sampled chunks recomputed ahead of their arrival at most (the rest when compared). */
    private static final long PRECOMPUTE_BYTES = 64L << 20;
    private final CpuReference cpu;
    private final ComputeNetwork network;
    private final Set<String> heldInputs;
    private final NodeId provider;
    private long inputBytesRead;
    private int inputChunksRead;
    private long outputBytesRead;

    HeldSpotCheck(CpuReference cpu, ComputeNetwork network, Set<String> heldInputs, NodeId provider) {
        this.cpu = cpu;
        this.network = network;
        this.heldInputs = heldInputs;
        this.provider = provider;
    }

    /**
     * @param spec     the job's spec (its kernel has a reference: the builder made sure)
     * @param own      the inputs the buyer has
     * @param outputs  the outputs as the verified receipt commits to them
     * @param returned the outputs' bytes when they came back, or null when they stay on the provider
     * @param fraction the share of chunks to recompute
     * @param seed     drawn after the receipt arrived
     * @return what was checked, with what was read from the provider
     */
    VerificationReport check(JobSpec spec, Map<String, ByteBuffer> own, List<BufferDigest> outputs,
                             Map<String, ByteBuffer> returned, double fraction, byte[] seed) {
        return check(spec, own, outputs, returned, fraction, seed, null);
    }

    /**
     * As {@link #check(JobSpec, Map, List, Map, double, byte[])}, with the sample drawn and
     * recomputed at dispatch where {@code ahead} has it.
     *
     * @param ahead the check prepared at dispatch ({@link #prepare}), taken by this check, whose
     *              seed is {@code seed}; or null
     */
    VerificationReport check(JobSpec spec, Map<String, ByteBuffer> own, List<BufferDigest> outputs,
                             Map<String, ByteBuffer> returned, double fraction, byte[] seed, Prepared ahead) {
        if (ahead != null && (ahead.seed != seed || ahead.fraction != fraction || returned != null
                || !heldInputs.isEmpty())) {
            throw new IllegalStateException("a spot check prepared at dispatch used with another seed, fraction, "
                    + "returned outputs or held inputs: engine bug, report it");
        }
        int aheadUsed = 0;
        if (network == null) {
            throw new IllegalStateException("a held spot check needs the network: engine bug, report it");
        }
        KernelReference ref = spec.kernel().reference().orElseThrow(() -> new IllegalStateException(
                "spot check of kernel " + spec.kernel().id() + " without a reference: Job.build should have refused"));
        int chunk = JobSpec.PROOF_CHUNK_BYTES;
        VerificationReport report = null;
        for (BufferDigest out : outputs) {
            // The receipt's sizes were checked against the spec's, from which the sample was drawn.
            Ahead early = ahead == null ? null : ahead.outputs.get(out.name());
            if (early != null && early.bytes() != out.bytes()) {
                throw new IllegalStateException("output '" + out.name() + "' of " + out.bytes() + " bytes, prepared "
                        + "for " + early.bytes() + ": engine bug, report it");
            }
            int[] sample = early != null ? early.sample() : SpotCheck.sampledChunks(out.bytes(), chunk, fraction, seed);
            Recompute rc;
            if (early != null) {
                rc = early.recompute();
            } else {
                Map<String, ByteBuffer> inputs = new LinkedHashMap<>(own);
                for (InputRef in : spec.inputs()) {
                    if (heldInputs.contains(in.name())) {
                        inputs.put(in.name(), partial(ref, spec, in, out, sample, chunk));
                    }
                }
                rc = ref.recompute(cpu, spec.params(), inputs);
            }
            byte[] root = Hex.decode(out.merkleRoot());
            VerificationReport one;
            if (returned != null) {
                one = SpotCheck.verify(returned.get(out.name()), root, JobSpec.MERKLE_CHUNK_BYTES, chunk, fraction, seed,
                        rc.recomputer(), rc.comparison());
            } else {
                // The sampled chunks are asked for first: the provider serves them while their rows
                // are recomputed here, and each is still proven before it is compared.
                Reads reads = begin(network, provider, out.merkleRoot(), out.bytes(), chunk, sample.clone());
                Map<Integer, ByteBuffer> expected;
                try {
                    Map<Integer, ByteBuffer> computed = early == null ? null : early.await();
                    if (computed != null) {
                        aheadUsed++;
                    }
                    expected = computed != null ? computed : precompute(rc.recomputer(), sample, chunk, out.bytes());
                } catch (RuntimeException | Error e) {
                    reads.cancel();
                    throw e;
                }
                one = SpotCheck.verifyFetched(root, out.bytes(), JobSpec.MERKLE_CHUNK_BYTES, chunk, fraction, seed,
                        (indices, chunkBytes) -> {
                            if (chunkBytes != chunk || !java.util.Arrays.equals(indices, sample)) {
                                throw new IllegalStateException("the spot check sampled other chunks than "
                                        + "SpotCheck.sampledChunks: engine bug, report it");
                            }
                            List<ByteBuffer> got = reads.finish("output '" + out.name() + "'");
                            got.forEach(b -> outputBytesRead += b.remaining());
                            return got;
                        }, new ChunkRecomputer() {
                            @Override
                            public ByteBuffer recompute(int chunkIndex, long byteOffset, int byteLength) {
                                ByteBuffer e = expected.remove(chunkIndex);
                                return e != null ? e : rc.recomputer().recompute(chunkIndex, byteOffset, byteLength);
                            }

                            @Override
                            public void prepare(int[] chunkIndices, int chunkBytes, long totalBytes) {
                                rc.recomputer().prepare(chunkIndices, chunkBytes, totalBytes);
                            }
                        }, rc.comparison());
            }
            report = report == null ? one : report.and(one);
        }
        List<VerificationReport.Check> checks = new ArrayList<>();
        if (returned == null) {
            checks.add(VerificationReport.Check.passed("held-outputs", "outputs left on provider " + provider.shortId()
                    + ": only the sampled chunks read (" + outputBytesRead + " bytes), each proven against the "
                    + "receipt's root" + (aheadUsed == 0 ? "" : "; " + SAMPLED_AT_DISPATCH)));
        }
        if (!heldInputs.isEmpty()) {
            checks.add(VerificationReport.Check.passed("held-inputs", "inputs " + new TreeSet<>(heldInputs)
                    + " held on provider " + provider.shortId() + ": " + inputChunksRead + " chunk(s) of " + chunk
                    + " bytes (" + inputBytesRead + " bytes) read for the sampled chunks, each proven against the "
                    + "spec's root"));
        }
        List<VerificationReport.Check> all = new ArrayList<>(report.checks());
        all.addAll(checks);
        return new VerificationReport(report.policy(), all, report.assurance());
    }

    /** What a check's report says when its sample was drawn at dispatch ({@link #prepare}). */
    static final String SAMPLED_AT_DISPATCH = "the sample was drawn at dispatch and recomputed while the provider "
            + "computed, revealed to it only by these reads, after its receipt was checked";

    /**
     * A spot check drawn at dispatch: its seed, and for each output its sample and the sampled
     * chunks being recomputed from the buyer's own inputs meanwhile. The seed stays here until
     * the check reads the sampled chunks, after the receipt that commits to the outputs' roots
     * was checked. Taken by one check at most ({@link #take}); {@link #release} gives its bytes
     * back to the client's bound, and stops a recompute that has not started.
     */
    public static final class Prepared {
        private final byte[] seed;
        private final double fraction;
        private final Map<String, Ahead> outputs;
        private final java.util.concurrent.atomic.AtomicLong bound;
        private final long reserved;
        private final java.util.concurrent.atomic.AtomicBoolean taken = new java.util.concurrent.atomic.AtomicBoolean();
        private final java.util.concurrent.atomic.AtomicBoolean released =
                new java.util.concurrent.atomic.AtomicBoolean();

        private Prepared(byte[] seed, double fraction, Map<String, Ahead> outputs,
                         java.util.concurrent.atomic.AtomicLong bound, long reserved) {
            this.seed = seed;
            this.fraction = fraction;
            this.outputs = outputs;
            this.bound = bound;
            this.reserved = reserved;
        }

        /** @return the seed, for the one check that takes it first; null once taken (a second check draws its own) */
        byte[] take() {
            return taken.compareAndSet(false, true) ? seed : null;
        }

        /**
         * @param output an output's name
         * @return its sampled chunks (tests)
         */
        int[] sample(String output) {
            return outputs.get(output).sample().clone();
        }

        /**
         * Waits for an output's sampled chunks recomputed ahead.
         *
         * @param output an output's name
         * @return chunk index → expected bytes; null when the recompute was stopped (tests)
         */
        Map<Integer, ByteBuffer> recomputed(String output) {
            return outputs.get(output).await();
        }

        /** Gives the reserved bytes back (once) and stops recomputes that have not started. */
        public void release() {
            if (released.compareAndSet(false, true)) {
                bound.addAndGet(-reserved);
                if (!taken.get()) {
                    outputs.values().forEach(Ahead::stop);
                }
            }
        }
    }

    /**
     * One output's part of a {@link Prepared} check: its sample, and their recompute, run once by
     * the executor or by the check that needs it first (a check waiting on the client's
     * scheduler never waits for a task queued behind it on the same threads).
     */
    private static final class Ahead {
        private static final int QUEUED = 0;
        private static final int CLAIMED = 1;
        private static final int STOPPED = 2;
        private final long bytes;
        private final int[] sample;
        private final Recompute recompute;
        private final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger();
        private final CompletableFuture<Map<Integer, ByteBuffer>> expected = new CompletableFuture<>();

        Ahead(long bytes, int[] sample, Recompute recompute) {
            this.bytes = bytes;
            this.sample = sample;
            this.recompute = recompute;
        }

        long bytes() {
            return bytes;
        }

        int[] sample() {
            return sample;
        }

        Recompute recompute() {
            return recompute;
        }

        /** Recomputes the sampled chunks, unless another thread does or it was stopped. */
        void run() {
            if (state.compareAndSet(QUEUED, CLAIMED)) {
                try {
                    expected.complete(precompute(recompute.recomputer(), sample, JobSpec.PROOF_CHUNK_BYTES, bytes));
                } catch (RuntimeException | Error e) {
                    expected.completeExceptionally(e);
                }
            }
        }

        /** Stops the recompute if it has not started. */
        void stop() {
            if (state.compareAndSet(QUEUED, STOPPED)) {
                expected.cancel(false);
            }
        }

        /** @return the recomputed chunks (a copy the check may take from); null when the recompute was stopped */
        Map<Integer, ByteBuffer> await() {
            run(); // not started yet: this thread does it
            try {
                return new java.util.HashMap<>(expected.join());
            } catch (java.util.concurrent.CancellationException e) {
                return null;
            } catch (CompletionException e) {
                Throwable c = e.getCause() == null ? e : e.getCause();
                if (c instanceof RuntimeException r) {
                    throw r;
                }
                if (c instanceof Error r) {
                    throw r;
                }
                throw e;
            }
        }
    }

    /**
     * Draws a spot check's sample now, before the job runs, and starts recomputing the sampled
     * chunks of every output on {@code executor}: for a job that leaves its outputs on the
     * provider and whose inputs are all the buyer's own (a held input's chunks would have to be
     * read for the sample, which would reveal it). The seed is revealed only by the reads of the
     * check that takes it, after the receipt was checked (docs/decisions.md, "The spot check's
     * sample drawn at dispatch").
     *
     * @param cpu      the reference
     * @param spec     the job's spec
     * @param own      the buyer's inputs (every input of the spec)
     * @param fraction the share of chunks to recompute
     * @param seed     the check's secret seed, drawn now
     * @param executor where the recompute runs
     * @param bound    bytes of recomputed chunks the client's prepared checks hold together
     * @param limit    the most {@code bound} may reach
     * @return the prepared check, or null when the kernel has no reference, an input is not the
     *     buyer's, the bound has no room or the executor refused (the check then draws its
     *     sample after the receipt, as before)
     */
    static Prepared prepare(CpuReference cpu, JobSpec spec, Map<String, ByteBuffer> own, double fraction, byte[] seed,
                            java.util.concurrent.Executor executor, java.util.concurrent.atomic.AtomicLong bound,
                            long limit) {
        Optional<KernelReference> ref = spec.kernel().reference();
        if (ref.isEmpty() || spec.inputs().stream().anyMatch(in -> !own.containsKey(in.name()))) {
            return null;
        }
        int chunk = JobSpec.PROOF_CHUNK_BYTES;
        Map<String, int[]> samples = new LinkedHashMap<>();
        long reserve = 0;
        for (dev.depin.kernel.BufferDecl d : spec.outputs()) {
            int[] sample = SpotCheck.sampledChunks(d.bytes(), chunk, fraction, seed);
            samples.put(d.name(), sample);
            reserve += Math.min(PRECOMPUTE_BYTES, sampledBytes(sample, chunk, d.bytes()));
        }
        if (bound.addAndGet(reserve) > limit) {
            bound.addAndGet(-reserve);
            return null;
        }
        Map<String, Ahead> outputs = new LinkedHashMap<>();
        Prepared p = new Prepared(seed, fraction, outputs, bound, reserve);
        try {
            for (dev.depin.kernel.BufferDecl d : spec.outputs()) {
                Ahead a = new Ahead(d.bytes(), samples.get(d.name()), ref.get().recompute(cpu, spec.params(), own));
                outputs.put(d.name(), a);
                executor.execute(a::run);
            }
        } catch (java.util.concurrent.RejectedExecutionException e) {
            p.release();
            return null;
        } catch (RuntimeException | Error e) {
            p.release();
            throw e;
        }
        return p;
    }

    private static long sampledBytes(int[] sample, int chunk, long total) {
        long sum = 0;
        for (int idx : sample) {
            sum += Math.min(chunk, total - (long) idx * chunk);
        }
        return sum;
    }

    /**
     * The sampled chunks recomputed ahead of the comparison, while their reads are under way: up
     * to {@link #PRECOMPUTE_BYTES} of them (the rest are recomputed when compared).
     */
    private static Map<Integer, ByteBuffer> precompute(ChunkRecomputer r, int[] sample, int chunk, long total) {
        r.prepare(sample.clone(), chunk, total);
        Map<Integer, ByteBuffer> expected = new java.util.HashMap<>();
        long kept = 0;
        for (int idx : sample) {
            long off = (long) idx * chunk;
            int len = (int) Math.min(chunk, total - off);
            if (kept + len > PRECOMPUTE_BYTES) {
                break;
            }
            expected.put(idx, r.recompute(idx, off, len));
            kept += len;
        }
        return expected;
    }

    /** The held input as a buffer of its size holding only the ranges the sample needs (zeros elsewhere). */
    private ByteBuffer partial(KernelReference ref, JobSpec spec, InputRef in, BufferDigest out, int[] sample,
                               int chunk) {
        if (in.bytes() > Integer.MAX_VALUE - 8) {
            throw new NetworkException("input '" + in.name() + "' of " + in.bytes() + " bytes is too large to spot-check "
                    + "from its provider: return the outputs, or verify by signature");
        }
        TreeSet<Integer> needed = new TreeSet<>();
        for (int s : sample) {
            long off = (long) s * chunk;
            int len = (int) Math.min(chunk, out.bytes() - off);
            Optional<Map<String, long[]>> reads = ref.inputsRead(spec.params(), out.name(), off, len);
            long[] range = reads.isEmpty() ? new long[] {0, in.bytes()} : reads.get().get(in.name());
            if (range == null || range[1] <= range[0]) {
                continue;
            }
            for (long c = range[0] / chunk; c <= (Math.min(range[1], in.bytes()) - 1) / chunk; c++) {
                needed.add((int) c);
            }
        }
        ByteBuffer buf = ByteBuffer.allocate((int) in.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        if (!needed.isEmpty()) {
            int[] idx = needed.stream().mapToInt(Integer::intValue).toArray();
            List<ByteBuffer> got = read(in.merkleRoot(), in.bytes(), chunk, idx, "input '" + in.name() + "'");
            for (int k = 0; k < idx.length; k++) {
                ByteBuffer b = got.get(k);
                inputBytesRead += b.remaining();
                buf.put((int) ((long) idx[k] * chunk), b, b.position(), b.remaining());
            }
            inputChunksRead += idx.length;
        }
        return buf.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private List<ByteBuffer> read(String root, long bytes, int chunkBytes, int[] indices, String what) {
        return read(network, provider, root, bytes, chunkBytes, indices, what);
    }

    /**
     * Reads chunks of data a provider holds, in reads within the SPI's bounds, all at once, and
     * checks each against {@code root} before returning any. Blocks until done.
     *
     * @param network    where to read
     * @param provider   the provider holding it
     * @param root       the root the receipt or spec commits to (hex)
     * @param bytes      the data's size
     * @param chunkBytes the chunk size
     * @param indices    chunk indices, strictly increasing
     * @param what       what it is, for messages
     * @return the chunks, read-only, in the order asked
     * @throws VerificationException {@code MERKLE_PROOF_INVALID} when a chunk does not lead to the root
     * @throws dev.depin.network.OutputGoneException when the provider no longer holds it
     * @throws NetworkException when the read fails otherwise
     */
    public static List<ByteBuffer> read(ComputeNetwork network, NodeId provider, String root, long bytes,
                                        int chunkBytes, int[] indices, String what) {
        return begin(network, provider, root, bytes, chunkBytes, indices).finish(what);
    }

    /** Reads under way: the network's futures, one per read within the SPI's bounds. */
    private record Reads(ComputeNetwork network, NodeId provider, String root, long bytes, int chunkBytes,
                         List<int[]> parts, List<CompletableFuture<List<HeldChunk>>> reads) {
        void cancel() {
            reads.forEach(f -> f.cancel(false));
        }

        /** Waits for every read and checks each chunk against the root before returning any. */
        List<ByteBuffer> finish(String what) {
            return HeldSpotCheck.finish(this, what);
        }
    }

    /** Asks for the chunks, in reads within the SPI's bounds, all at once; returns without waiting. */
    private static Reads begin(ComputeNetwork network, NodeId provider, String root, long bytes, int chunkBytes,
                               int[] indices) {
        int perRead = Math.max(1, Math.min(HeldChunk.MAX_CHUNKS, HeldChunk.MAX_BYTES / chunkBytes));
        List<int[]> parts = new ArrayList<>();
        List<CompletableFuture<List<HeldChunk>>> reads = new ArrayList<>();
        for (int from = 0; from < indices.length; from += perRead) {
            int[] part = java.util.Arrays.copyOfRange(indices, from, Math.min(indices.length, from + perRead));
            parts.add(part);
            CompletableFuture<List<HeldChunk>> f;
            try {
                f = network.fetchHeld(provider, root, bytes, chunkBytes, part);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            reads.add(f == null ? CompletableFuture.failedFuture(new NetworkException("network " + network.name()
                    + " returned no future for a read of held chunks")) : f);
        }
        return new Reads(network, provider, root, bytes, chunkBytes, parts, reads);
    }

    private static List<ByteBuffer> finish(Reads r, String what) {
        NodeId provider = r.provider();
        String root = r.root();
        long bytes = r.bytes();
        int chunkBytes = r.chunkBytes();
        List<int[]> parts = r.parts();
        List<CompletableFuture<List<HeldChunk>>> reads = r.reads();
        byte[] expected = Hex.decode(root);
        int count = (int) ((bytes + chunkBytes - 1) / chunkBytes);
        List<ByteBuffer> all = new ArrayList<>();
        for (int p = 0; p < reads.size(); p++) {
            List<HeldChunk> got;
            try {
                got = reads.get(p).join();
            } catch (CompletionException e) {
                reads.forEach(f -> f.cancel(false));
                Throwable c = e.getCause() == null ? e : e.getCause();
                throw c instanceof DepinException d ? d : new NetworkException("reading " + what + " from provider "
                        + provider.shortId() + " failed: " + c, c);
            }
            int[] part = parts.get(p);
            if (got == null || got.size() != part.length) {
                throw refused(provider, root, what, "sent " + (got == null ? 0 : got.size()) + " chunk(s) for " + part.length
                        + " asked", null);
            }
            for (int k = 0; k < part.length; k++) {
                HeldChunk c = got.get(k);
                int length = (int) Math.min(chunkBytes, bytes - (long) part[k] * chunkBytes);
                ByteBuffer data = c.data();
                if (c.index() != part[k] || data.remaining() != length) {
                    throw refused(provider, root, what, "sent chunk " + c.index() + " of " + data.remaining() + " bytes where chunk "
                            + part[k] + " of " + length + " bytes was asked", null);
                }
                for (byte[] h : c.path()) {
                    if (h.length != Merkle.HASH_LENGTH) {
                        throw refused(provider, root, what, "sent a path hash of " + h.length + " bytes", null);
                    }
                }
                try {
                    new InclusionProof(part[k], count, c.path()).verifyChunk(data.duplicate(), JobSpec.MERKLE_CHUNK_BYTES,
                            expected);
                } catch (VerificationException e) {
                    throw refused(provider, root, what, "sent chunk " + part[k] + " of " + count + " that does not lead to the "
                            + "committed root", e);
                }
                all.add(data);
            }
        }
        return all;
    }

    private static VerificationException refused(NodeId provider, String root, String what, String why,
                                                  VerificationException cause) {
        return new VerificationException(VerificationException.Reason.MERKLE_PROOF_INVALID, "provider "
                + provider.shortId() + " " + why + " of " + what + " (root " + root + "): it does not hold the bytes "
                + "it committed to; reject its result", cause == null ? new Evidence("merkle-inclusion", what, root, why,
                "") : cause.evidence().orElse(null), cause);
    }
}
