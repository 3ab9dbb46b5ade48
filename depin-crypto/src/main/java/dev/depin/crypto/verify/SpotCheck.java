package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.Hex;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.internal.SeededRandom;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;

/**
 * Sampled recomputation: pick ⌈f·N⌉ distinct chunks of an output at random (from a secret
 * seed), prove each against the provider's committed Merkle root, recompute each with a
 * trusted reference ({@link ChunkRecomputer}) and compare. A chunk is a Merkle leaf, or an
 * aligned subtree of {@code 2^h} leaves (jobs sample 64 KiB chunks of 4 KiB leaves), proven
 * with {@link MerkleTree#chunkProof}.
 *
 * <h2>Detection probability</h2>
 * Sampling s distinct chunks out of N, a provider that corrupted q chunks is caught with
 * the hypergeometric probability
 * <pre>P = 1 - C(N-q, s) / C(N, s) = 1 - ∏_{i=0}^{s-1} (N-q-i)/(N-i)</pre>
 * (exact for sampling without replacement; for q = 1 it is s/N). The report gives P for
 * q = 1 chunk ({@code detectionProbability}) and q = ⌈5%·N⌉ ({@code detectionProbability5pct}).
 * It says nothing about chunks that were not sampled.
 *
 * <pre>{@code
 * VerificationReport r = SpotCheck.verify(output, claimedRoot, Merkle.DEFAULT_CHUNK_SIZE, 64 * 1024, 0.05,
 *         Freivalds.newSeed(rng), (i, off, len) -> cpuReference.recompute(off, len),
 *         Comparison.float32(1e-5, 1e-6));
 * }</pre>
 */
public final class SpotCheck {
    /** Domain string of the sampling stream. */
    public static final String DOMAIN = "depin/spotcheck/v1";

    private SpotCheck() {
    }

    /**
     * Spot-checks an output held in full by the verifier, one Merkle leaf per chunk.
     *
     * @param output      the output bytes received (remaining; position unchanged)
     * @param claimedRoot the Merkle root the provider signed
     * @param chunkSize   the Merkle chunk (leaf) size of that root, which is also the sampled unit
     * @param fraction    fraction of chunks to recompute, in (0, 1]
     * @param seed        secret seed, &ge; 16 bytes (drawn after the provider committed)
     * @param recomputer  the trusted reference
     * @param comparison  how a recomputed chunk is compared
     * @return what was checked
     * @throws VerificationException as {@link #verify(ByteBuffer, byte[], int, int, double, byte[], ChunkRecomputer,
     *                               Comparison)}
     */
    public static VerificationReport verify(ByteBuffer output, byte[] claimedRoot, int chunkSize, double fraction,
                                            byte[] seed, ChunkRecomputer recomputer, Comparison comparison) {
        return verify(output, claimedRoot, chunkSize, chunkSize, fraction, seed, recomputer, comparison);
    }

    /**
     * Spot-checks an output held in full by the verifier, sampling aligned chunks of
     * {@code chunkBytes} (a subtree of {@code chunkBytes / leafBytes} leaves each).
     *
     * @param output      the output bytes received (remaining; position unchanged)
     * @param claimedRoot the Merkle root the provider signed
     * @param leafBytes   the Merkle leaf size of that root
     * @param chunkBytes  the sampled unit: {@code leafBytes} times a power of two
     * @param fraction    fraction of chunks to recompute, in (0, 1]
     * @param seed        secret seed, &ge; 16 bytes (drawn after the provider committed)
     * @param recomputer  the trusted reference
     * @param comparison  how a recomputed chunk is compared
     * @return what was checked
     * @throws VerificationException {@code OUTPUT_ROOT_MISMATCH} if the output does not match
     *                               the root, {@code MERKLE_PROOF_INVALID} if a proof fails,
     *                               {@code RESULT_MISMATCH} (with evidence) if a chunk differs
     * @throws InvalidArgumentException if {@code chunkBytes} is not {@code leafBytes} times a power of two
     */
    public static VerificationReport verify(ByteBuffer output, byte[] claimedRoot, int leafBytes, int chunkBytes,
                                            double fraction, byte[] seed, ChunkRecomputer recomputer,
                                            Comparison comparison) {
        InvalidArgumentException.requireNonNull(output, "output");
        checkArguments(claimedRoot, recomputer, comparison, seed, fraction);
        MerkleTree tree = MerkleTree.of(output, leafBytes);
        int chunks = tree.chunkCount(chunkBytes);
        byte[] root = tree.root();
        if (!MessageDigest.isEqual(root, claimedRoot)) {
            throw new VerificationException(VerificationException.Reason.OUTPUT_ROOT_MISMATCH, "the output's Merkle root "
                    + Hex.encode(root) + " is not the claimed " + Hex.encode(claimedRoot)
                    + ": the bytes are not the ones the provider committed to; reject them",
                    new Evidence("spot-check", "whole output", Hex.encode(claimedRoot), Hex.encode(root), Hex.encode(seed)));
        }
        int s = sampleSize(chunks, fraction);
        int[] sample = sample(chunks, s, seed);
        int base = output.position();
        long total = tree.totalBytes();
        recomputer.prepare(sample.clone(), chunkBytes, total);
        for (int idx : sample) {
            long off = (long) idx * chunkBytes;
            int len = (int) Math.min(chunkBytes, total - off);
            ByteBuffer chunk = output.duplicate();
            chunk.limit(base + (int) off + len).position(base + (int) off);
            InclusionProof proof = tree.chunkProof(idx, chunkBytes);
            proof.verifyChunk(chunk, leafBytes, claimedRoot);
            compare(idx, off, len, chunk, seed, recomputer, comparison);
        }
        return report(chunks, s, sample, chunkBytes, leafBytes, fraction, seed, claimedRoot, comparison, "");
    }

    /**
     * Where a spot check of an output the verifier does not hold reads its sampled chunks
     * (e.g. from the provider that keeps it), each proven against the claimed root.
     */
    @FunctionalInterface
    public interface ChunkSource {
        /**
         * Reads sampled chunks, each checked with its inclusion proof against the claimed
         * root before it is returned (the source throws {@link VerificationException} when
         * one does not lead there).
         *
         * @param indices    chunk indices, strictly increasing
         * @param chunkBytes the chunk size
         * @return each chunk's bytes (the last chunk of the output may be short), in the order asked
         */
        List<ByteBuffer> read(int[] indices, int chunkBytes);
    }

    /**
     * Spot-checks an output the verifier does not hold: samples chunks exactly as
     * {@link #verify(ByteBuffer, byte[], int, int, double, byte[], ChunkRecomputer, Comparison)}
     * does (same seed, same chunks), reads only those from {@code source} with their proofs,
     * and recomputes and compares each. The bytes not sampled never travel.
     *
     * @param claimedRoot the Merkle root the provider signed (from its verified receipt)
     * @param totalBytes  the output's size, at least 1
     * @param leafBytes   the Merkle leaf size of that root
     * @param chunkBytes  the sampled unit: {@code leafBytes} times a power of two
     * @param fraction    fraction of chunks to recompute, in (0, 1]
     * @param seed        secret seed, &ge; 16 bytes (drawn after the provider committed)
     * @param source      where the sampled chunks come from, proven
     * @param recomputer  the trusted reference
     * @param comparison  how a recomputed chunk is compared
     * @return what was checked
     * @throws VerificationException {@code RESULT_MISMATCH} (with evidence) if a chunk differs,
     *                               or what the source throws for a chunk that does not prove
     * @throws InvalidArgumentException on a bad argument
     */
    public static VerificationReport verifyFetched(byte[] claimedRoot, long totalBytes, int leafBytes, int chunkBytes,
                                                   double fraction, byte[] seed, ChunkSource source,
                                                   ChunkRecomputer recomputer, Comparison comparison) {
        InvalidArgumentException.requireNonNull(source, "source");
        checkArguments(claimedRoot, recomputer, comparison, seed, fraction);
        if (totalBytes < 1) {
            throw new InvalidArgumentException("an output of " + totalBytes + " bytes has no chunks to check");
        }
        Merkle.checkChunkSize(leafBytes);
        if (chunkBytes < leafBytes || chunkBytes % leafBytes != 0 || Integer.bitCount(chunkBytes / leafBytes) != 1) {
            throw new InvalidArgumentException("a chunk of " + chunkBytes + " bytes is not the " + leafBytes
                    + "-byte leaf times a power of two");
        }
        long count = (totalBytes + chunkBytes - 1) / chunkBytes;
        if (count > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("an output of " + totalBytes + " bytes has too many chunks");
        }
        int chunks = (int) count;
        int s = sampleSize(chunks, fraction);
        int[] sample = sample(chunks, s, seed);
        List<ByteBuffer> read = source.read(sample.clone(), chunkBytes);
        recomputer.prepare(sample.clone(), chunkBytes, totalBytes);
        if (read == null || read.size() != s) {
            throw new IllegalStateException("the ChunkSource returned " + (read == null ? "null" : read.size()
                    + " chunks") + " for " + s + " asked: fix the source");
        }
        for (int k = 0; k < s; k++) {
            int idx = sample[k];
            long off = (long) idx * chunkBytes;
            int len = (int) Math.min(chunkBytes, totalBytes - off);
            ByteBuffer chunk = read.get(k);
            if (chunk.remaining() != len) {
                throw new IllegalStateException("the ChunkSource returned " + chunk.remaining() + " bytes for chunk "
                        + idx + " of " + len + " bytes: fix the source");
            }
            compare(idx, off, len, chunk, seed, recomputer, comparison);
        }
        return report(chunks, s, sample, chunkBytes, leafBytes, fraction, seed, claimedRoot, comparison,
                " (read from the provider with their proofs; the rest not fetched)");
    }

    /**
     * The chunks a spot check of {@code totalBytes} in {@code chunkBytes} chunks samples with this
     * seed: exactly those {@link #verify} and {@link #verifyFetched} recompute, so a verifier can
     * fetch what recomputing them needs (e.g. the rows of an input held elsewhere) beforehand.
     *
     * @param totalBytes the output's size, &ge; 1
     * @param chunkBytes the sampled unit, &ge; 1
     * @param fraction   fraction of chunks, in (0, 1]
     * @param seed       the secret seed, &ge; 16 bytes
     * @return the sampled chunk indices, sorted
     * @throws InvalidArgumentException on a size, fraction or seed out of range
     */
    public static int[] sampledChunks(long totalBytes, int chunkBytes, double fraction, byte[] seed) {
        InvalidArgumentException.requireNonNull(seed, "seed");
        if (seed.length < 16 || !(fraction > 0 && fraction <= 1) || totalBytes < 1 || chunkBytes < 1) {
            throw new InvalidArgumentException("sampling needs >= 1 byte, a chunk of >= 1 byte, a fraction in (0, 1] and "
                    + "a seed of >= 16 bytes; got " + totalBytes + ", " + chunkBytes + ", " + fraction + ", "
                    + seed.length);
        }
        long count = (totalBytes + chunkBytes - 1) / chunkBytes;
        if (count > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("an output of " + totalBytes + " bytes has too many chunks");
        }
        int chunks = (int) count;
        return sample(chunks, sampleSize(chunks, fraction), seed);
    }

    private static int sampleSize(int chunks, double fraction) {
        return chunks == 0 ? 0 : (int) Math.min(chunks, Math.max(1, (long) Math.ceil(fraction * chunks - 1e-9)));
    }

    private static void checkArguments(byte[] claimedRoot, ChunkRecomputer recomputer, Comparison comparison,
                                       byte[] seed, double fraction) {
        InvalidArgumentException.requireNonNull(claimedRoot, "claimedRoot");
        InvalidArgumentException.requireNonNull(recomputer, "recomputer");
        InvalidArgumentException.requireNonNull(comparison, "comparison");
        InvalidArgumentException.requireNonNull(seed, "seed");
        if (seed.length < 16) {
            throw new InvalidArgumentException("seed must have >= 16 bytes: use Freivalds.newSeed(new SecureRandom())");
        }
        if (!(fraction > 0 && fraction <= 1)) {
            throw new InvalidArgumentException("fraction must be in (0, 1], got " + fraction);
        }
    }

    /** Recomputes one proven chunk and compares it; throws RESULT_MISMATCH with evidence. */
    private static void compare(int idx, long off, int len, ByteBuffer chunk, byte[] seed, ChunkRecomputer recomputer,
                                Comparison comparison) {
        ByteBuffer expected = recomputer.recompute(idx, off, len);
        if (expected == null || expected.remaining() != len) {
            throw new IllegalStateException("the ChunkRecomputer returned " + (expected == null ? "null"
                    : expected.remaining() + " bytes") + " for chunk " + idx + " of " + len + " bytes: fix the recomputer");
        }
        Comparison.Mismatch mm = comparison.firstMismatch(expected, chunk);
        if (mm != null) {
            long at = off + mm.byteOffset();
            throw new VerificationException(VerificationException.Reason.RESULT_MISMATCH,
                    "spot check failed: chunk " + idx + " (bytes " + off + ".." + (off + len) + ") differs from the "
                            + "reference at byte " + at + " (expected " + mm.expected() + ", got " + mm.actual()
                            + ", " + comparison.describe() + "): the output is wrong; reject it and keep the "
                            + "evidence for a dispute",
                    new Evidence("spot-check", "chunk " + idx + " byte " + at, mm.expected(), mm.actual(),
                            Hex.encode(seed)));
        }
    }

    private static VerificationReport report(int chunks, int s, int[] sample, int chunkBytes, int leafBytes,
                                             double fraction, byte[] seed, byte[] claimedRoot, Comparison comparison,
                                             String how) {
        double pOne = detectionProbability(chunks, s, Math.min(1, chunks));
        double p5 = detectionProbability(chunks, s, (long) Math.ceil(0.05 * chunks));
        // Built without Formatter, and only when read: a small job's verification spent a tenth of
        // its time formatting this line, which a buyer that reads the summary never sees. The
        // caller's arrays are copied: the line must say what was checked, whatever they hold later.
        byte[] seedCopy = seed.clone();
        byte[] rootCopy = claimedRoot.clone();
        java.util.function.Supplier<String> detail = () -> s + " of " + chunks + " chunk(s) of " + chunkBytes
                + " bytes (" + leafBytes + "-byte leaves; fraction " + fixed4(chunks == 0 ? 0.0 : (double) s / chunks)
                + ", seed " + Hex.encode(seedCopy) + ") proven against root " + Hex.encode(rootCopy)
                + " and recomputed (" + comparison.describe() + ")" + how + ": all equal; detection probability "
                + fixed4(pOne) + " for 1 corrupted chunk, " + fixed4(p5) + " for 5% corrupted chunks "
                + "(hypergeometric); chunks " + abbreviate(sample);
        return new VerificationReport("spotCheck(" + fraction + ")",
                List.of(VerificationReport.Check.passed("spot-check", detail)),
                Assurance.sampled(chunks == 0 ? 0 : (double) s / chunks, s, pOne, p5));
    }

    /**
     * Probability of sampling at least one of {@code corrupted} bad chunks when drawing
     * {@code sampled} distinct chunks out of {@code chunks} (hypergeometric).
     *
     * @param chunks    N
     * @param sampled   s
     * @param corrupted q
     * @return 1 - C(N-q, s)/C(N, s)
     */
    public static double detectionProbability(long chunks, long sampled, long corrupted) {
        if (chunks < 0 || sampled < 0 || corrupted < 0 || sampled > chunks || corrupted > chunks) {
            throw new InvalidArgumentException("need 0 <= sampled, corrupted <= chunks");
        }
        if (corrupted == 0 || sampled == 0) {
            return 0;
        }
        if (sampled > chunks - corrupted) {
            return 1;
        }
        double logMiss = 0;
        for (long i = 0; i < sampled; i++) {
            logMiss += Math.log((double) (chunks - corrupted - i) / (chunks - i));
        }
        return -Math.expm1(logMiss);
    }

    /** s distinct indices of [0, n), sorted, by a partial Fisher–Yates shuffle over the seeded stream. */
    static int[] sample(int n, int s, byte[] seed) {
        SeededRandom rnd = new SeededRandom(DOMAIN, seed);
        int[] out = new int[s];
        if (s * 4L < n) {
            java.util.HashMap<Integer, Integer> swapped = new java.util.HashMap<>();
            for (int i = 0; i < s; i++) {
                int j = i + (int) rnd.nextLong(n - i);
                int vj = swapped.getOrDefault(j, j);
                int vi = swapped.getOrDefault(i, i);
                swapped.put(j, vi);
                out[i] = vj;
            }
        } else {
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) {
                perm[i] = i;
            }
            for (int i = 0; i < s; i++) {
                int j = i + (int) rnd.nextLong(n - i);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                out[i] = perm[i];
            }
        }
        Arrays.sort(out);
        return out;
    }

    /**
     * {@code String.format(Locale.ROOT, "%.4f", x)} for a finite {@code x}: the same shortest
     * decimal digits rounded half up to 4 places.
     */
    static String fixed4(double x) {
        return java.math.BigDecimal.valueOf(x).setScale(4, java.math.RoundingMode.HALF_UP).toPlainString();
    }

    private static String abbreviate(int[] a) {
        if (a.length <= 16) {
            return Arrays.toString(a);
        }
        return Arrays.toString(Arrays.copyOf(a, 16)).replace("]", ", ... (" + a.length + " total)]");
    }
}
