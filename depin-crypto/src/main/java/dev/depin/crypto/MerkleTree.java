package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.internal.MerkleHashing;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An RFC 6962 Merkle tree whose leaf and interior hashes are kept (about 64 bytes per
 * leaf, i.e. 1.6% of the data at 4 KiB leaves), so that an inclusion proof can be
 * produced for any leaf, or for any aligned chunk of {@code 2^h} leaves (a subtree).
 * Immutable and thread-safe.
 *
 * <pre>{@code
 * MerkleTree tree = MerkleTree.of(output, Merkle.DEFAULT_CHUNK_SIZE);
 * InclusionProof p = tree.proof(5);
 * p.verify(leaf5Bytes, claimedRoot);                        // throws VerificationException on mismatch
 * InclusionProof q = tree.chunkProof(2, 64 * 1024);         // the third 64 KiB chunk: 16 leaves
 * q.verifyChunk(chunk2Bytes, Merkle.DEFAULT_CHUNK_SIZE, claimedRoot);
 * }</pre>
 */
public final class MerkleTree {
    private final int chunkSize;
    private final long totalBytes;
    private final int leafCount;
    private final byte[][] levels;

    MerkleTree(byte[] leafHashes, int leafCount, int chunkSize, long totalBytes) {
        this.chunkSize = chunkSize;
        this.totalBytes = totalBytes;
        this.leafCount = leafCount;
        this.levels = leafCount == 0 ? new byte[0][] : MerkleHashing.levels(Sha256.newDigest(), leafHashes, leafCount);
    }

    /**
     * Builds the tree of the remaining bytes of {@code data} in the calling thread
     * (position unchanged, no copy).
     *
     * @param data      the bytes; not {@code null}
     * @param chunkSize bytes per leaf, at least 1
     * @return the tree
     */
    public static MerkleTree of(ByteBuffer data, int chunkSize) {
        return of(data, chunkSize, Parallelism.callerThread());
    }

    /**
     * Builds the tree of the remaining bytes of {@code data} (position unchanged, no copy),
     * leaf-hashing a buffer of at least 4 MiB on {@code parallelism}'s threads as well as
     * the calling one.
     *
     * @param data        the bytes; not {@code null}
     * @param chunkSize   bytes per leaf, at least 1
     * @param parallelism where the leaf hashing may run; not {@code null}
     * @return the tree
     */
    public static MerkleTree of(ByteBuffer data, int chunkSize, Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(data, "data");
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        Merkle.checkChunkSize(chunkSize);
        int len = data.remaining();
        byte[] leaves = MerkleHashing.leafHashes(data, data.position(), len, chunkSize, parallelism);
        return new MerkleTree(leaves, (int) MerkleHashing.leafCount(len, chunkSize), chunkSize, len);
    }

    /**
     * Builds the tree with {@link Merkle#DEFAULT_CHUNK_SIZE} chunks.
     *
     * @param data the bytes; not {@code null}
     * @return the tree
     */
    public static MerkleTree of(ByteBuffer data) {
        return of(data, Merkle.DEFAULT_CHUNK_SIZE);
    }

    /**
     * A streaming builder that keeps every leaf hash, finished by {@link Merkle.Builder#tree()}.
     *
     * @param chunkSize bytes per leaf, at least 1
     * @return a new builder
     */
    public static Merkle.Builder builder(int chunkSize) {
        return new Merkle.Builder(chunkSize, true);
    }

    /**
     * A tree of {@code data}'s remaining bytes built while they are being written: the writer
     * says which byte ranges are final ({@link Incremental#ready}), each leaf is hashed once all
     * its bytes are final, and {@link Incremental#finish} gives the same tree as
     * {@link #of(ByteBuffer, int)} would of the finished buffer. For an executor whose kernel
     * finishes an output in blocks (the CPU SGEMM's row blocks), so that the output's commitment
     * is ready soon after its last block instead of a whole-output hash later.
     *
     * <pre>{@code
     * MerkleTree.Incremental t = MerkleTree.incremental(out, Merkle.DEFAULT_CHUNK_SIZE);
     * // writer threads, each after finishing bytes [from, to) for good:
     * t.ready(from, to);
     * // a thread with nothing else to do:
     * while (t.hashOne()) { }
     * MerkleTree tree = t.finish(pool);   // every byte ready: hashes the rest on the pool
     * }</pre>
     *
     * @param data      the buffer being written (position unchanged, no copy); its bytes must
     *                  not change once declared ready
     * @param chunkSize bytes per leaf, at least 1
     * @return a new incremental tree with no byte ready
     */
    public static Incremental incremental(ByteBuffer data, int chunkSize) {
        InvalidArgumentException.requireNonNull(data, "data");
        Merkle.checkChunkSize(chunkSize);
        return new Incremental(data.duplicate(), data.position(), data.remaining(), chunkSize);
    }

    /**
     * The tree of a buffer whose bytes become final piece by piece, made by
     * {@link MerkleTree#incremental}. Thread-safe: any number of threads may declare ranges
     * ready and hash ready leaves at once; a leaf is hashed exactly once, by whichever thread
     * claims it first, and only after every one of its bytes was declared ready.
     */
    public static final class Incremental {
        private static final ThreadLocal<MessageDigest> DIGEST =
                ThreadLocal.withInitial(Sha256::newDigest);
        private final ByteBuffer data;
        private final int pos;
        private final int length;
        private final int chunkSize;
        private final int leafCount;
        private final byte[] leaves;
        /** Bytes of each leaf declared ready so far. */
        private final AtomicIntegerArray filled;
        /** Runs of leaves whose bytes are all ready and which are not all claimed yet. */
        private final ConcurrentLinkedQueue<Run> ready =
                new ConcurrentLinkedQueue<>();
        /** The ranges declared ready, {@code from -> to}: refuses a byte declared twice. */
        private final TreeMap<Long, Long> declared = new TreeMap<>();
        private final AtomicLong readyBytes = new AtomicLong();
        private final AtomicInteger hashed =
                new AtomicInteger();
        private volatile MerkleTree tree;

        Incremental(ByteBuffer data, int pos, int length, int chunkSize) {
            this.data = data;
            this.pos = pos;
            this.length = length;
            this.chunkSize = chunkSize;
            this.leafCount = (int) MerkleHashing.leafCount(length, chunkSize);
            this.leaves = new byte[leafCount * Sha256.LENGTH];
            this.filled = new AtomicIntegerArray(leafCount);
        }

        /** Leaves {@code [from, to)}, claimed one at a time through {@code next}. */
        private record Run(int from, int to, AtomicInteger next) {
        }

        /**
         * Declares bytes {@code [from, to)} (relative to the buffer's position when this tree was
         * made) final: they will not change again. Every leaf that this makes complete becomes
         * ready to hash. Each byte is declared once.
         *
         * @param from first byte, {@code 0 <= from <= to}
         * @param to   end (exclusive), at most the length
         * @throws InvalidArgumentException if the range lies outside the buffer
         * @throws IllegalStateException    if a byte of the range was already declared (a
         *                                  writer's bug: the tree would commit to a block twice)
         */
        public void ready(long from, long to) {
            if (from < 0 || to < from || to > length) {
                throw new InvalidArgumentException("bytes [" + from + ", " + to + ") are outside the " + length
                        + "-byte buffer of this tree");
            }
            if (from == to) {
                return;
            }
            synchronized (declared) {
                // Exact: a byte declared twice is refused before any count moves, so a leaf's count
                // reaches its length only when every one of its bytes was declared.
                Map.Entry<Long, Long> below = declared.floorEntry(from);
                Map.Entry<Long, Long> above = declared.ceilingEntry(from);
                if ((below != null && below.getValue() > from) || (above != null && above.getKey() < to)) {
                    throw new IllegalStateException("bytes within [" + from + ", " + to + ") were already declared "
                            + "ready: the writer reported a block more than once");
                }
                declared.put(from, to);
            }
            int first = (int) (from / chunkSize);
            int last = (int) ((to - 1) / chunkSize);
            int runFrom = -1;
            for (int leaf = first; leaf <= last; leaf++) {
                long start = (long) leaf * chunkSize;
                int leafLen = (int) Math.min(chunkSize, length - start);
                int overlap = (int) (Math.min(to, start + leafLen) - Math.max(from, start));
                int now = filled.addAndGet(leaf, overlap);
                if (now == leafLen) {
                    if (runFrom < 0) {
                        runFrom = leaf;
                    }
                } else if (runFrom >= 0) {
                    offer(runFrom, leaf);
                    runFrom = -1;
                }
            }
            if (runFrom >= 0) {
                offer(runFrom, last + 1);
            }
            readyBytes.addAndGet(to - from);
        }

        private void offer(int from, int to) {
            ready.offer(new Run(from, to, new AtomicInteger(from)));
        }

        /**
         * Hashes one ready leaf that no other thread has claimed, on the calling thread.
         *
         * @return whether a leaf was hashed (false: none is ready and unclaimed now)
         */
        public boolean hashOne() {
            for (Run r = ready.peek(); r != null; r = ready.peek()) {
                int leaf = r.next.getAndIncrement();
                if (leaf >= r.to) {
                    ready.remove(r);
                    continue;
                }
                long start = (long) leaf * chunkSize;
                int leafLen = (int) Math.min(chunkSize, length - start);
                MerkleHashing.leafHash(DIGEST.get(), data, pos + (int) start, leafLen, leaves, leaf * Sha256.LENGTH);
                hashed.incrementAndGet();
                return true;
            }
            return false;
        }

        /** @return the buffer's length: the bytes this tree commits to */
        public long length() {
            return length;
        }

        /** @return bytes declared ready so far */
        public long readyBytes() {
            return readyBytes.get();
        }

        /** @return leaves hashed so far */
        public int hashedLeaves() {
            return hashed.get();
        }

        /**
         * Hashes every leaf not hashed yet, on {@code parallelism}'s threads and the calling one,
         * waits for leaves other threads are hashing, and returns the tree: the same as
         * {@link MerkleTree#of(ByteBuffer, int)} of the buffer. A second call returns the same tree.
         *
         * @param parallelism where the remaining leaves may be hashed; not {@code null}
         * @return the tree
         * @throws IllegalStateException if some byte was never declared ready (the tree would
         *                               commit to bytes that may still change)
         */
        public MerkleTree finish(Parallelism parallelism) {
            InvalidArgumentException.requireNonNull(parallelism, "parallelism");
            MerkleTree t = tree;
            if (t != null) {
                return t;
            }
            synchronized (this) {
                if (tree != null) {
                    return tree;
                }
                if (readyBytes.get() != length) {
                    throw new IllegalStateException("only " + readyBytes.get() + " of " + length + " bytes were "
                            + "declared ready: the tree cannot be finished before every byte is final");
                }
                int left = leafCount - hashed.get();
                // Each task claims leaves as hashOne does, so no leaf is hashed twice; a task per
                // 256 KiB left at least (about 0.2 ms of hashing, well above a thread's hand-over).
                int tasks = (int) Math.max(1, Math.min(parallelism.threads(), (long) left * chunkSize / (256 << 10)));
                parallelism.forRange(tasks, 1, (a, b) -> {
                    for (int i = a; i < b; i++) {
                        while (hashOne()) {
                            // claims the next ready leaf
                        }
                    }
                });
                // A leaf another thread claimed just before is still being hashed: wait for it.
                while (hashed.get() < leafCount) {
                    Thread.onSpinWait();
                    Thread.yield();
                }
                tree = new MerkleTree(leaves, leafCount, chunkSize, length);
                return tree;
            }
        }
    }

    /**
     * The root.
     *
     * @return the 32-byte root (SHA-256 of the empty string for an empty tree)
     */
    public byte[] root() {
        if (leafCount == 0) {
            return Merkle.emptyRoot();
        }
        byte[] top = levels[levels.length - 1];
        return Arrays.copyOf(top, Sha256.LENGTH);
    }

    /**
     * Hex of the root.
     *
     * @return 64 lower-case hex characters
     */
    public String rootHex() {
        return Hex.encode(root());
    }

    /**
     * Number of leaves (chunks).
     *
     * @return the leaf count
     */
    public int leafCount() {
        return leafCount;
    }

    /**
     * Bytes per chunk.
     *
     * @return the chunk size
     */
    public int chunkSize() {
        return chunkSize;
    }

    /**
     * Total bytes committed.
     *
     * @return the byte count
     */
    public long totalBytes() {
        return totalBytes;
    }

    /**
     * Byte offset of chunk {@code leafIndex} in the data.
     *
     * @param leafIndex 0-based leaf index
     * @return the offset
     * @throws InvalidArgumentException if there is no such leaf
     */
    public long chunkOffset(int leafIndex) {
        checkLeafIndex(leafIndex);
        return (long) leafIndex * chunkSize;
    }

    /**
     * Length of chunk {@code leafIndex} (the last chunk may be short).
     *
     * @param leafIndex 0-based leaf index
     * @return the length in bytes
     * @throws InvalidArgumentException if there is no such leaf
     */
    public int chunkLength(int leafIndex) {
        return (int) Math.min(chunkSize, totalBytes - chunkOffset(leafIndex));
    }

    /**
     * The leaf hash of chunk {@code leafIndex}.
     *
     * @param leafIndex 0-based leaf index
     * @return a copy of the 32-byte leaf hash
     * @throws InvalidArgumentException if there is no such leaf
     */
    public byte[] leafHash(int leafIndex) {
        checkLeafIndex(leafIndex);
        int off = leafIndex * Sha256.LENGTH;
        return Arrays.copyOfRange(levels[0], off, off + Sha256.LENGTH);
    }

    /**
     * The RFC 9162 §2.1.3 audit path of chunk {@code leafIndex}: sibling hashes from the
     * leaf up to the root.
     *
     * @param leafIndex 0-based leaf index, less than {@link #leafCount()}
     * @return the proof
     * @throws InvalidArgumentException if there is no such leaf
     */
    public InclusionProof proof(int leafIndex) {
        checkLeafIndex(leafIndex);
        return path(0, leafIndex, leafCount);
    }

    /**
     * Number of aligned chunks of {@code chunkBytes} bytes (the last may be short).
     *
     * @param chunkBytes {@link #chunkSize()} times a power of two
     * @return {@code ceil(totalBytes / chunkBytes)}
     * @throws InvalidArgumentException if {@code chunkBytes} is not the leaf size times a power of two
     */
    public int chunkCount(int chunkBytes) {
        subtreeHeight(chunkBytes);
        return (int) MerkleHashing.leafCount(totalBytes, chunkBytes);
    }

    /**
     * The audit path of an aligned chunk: chunk {@code chunkIndex} of {@code chunkBytes}
     * bytes is the subtree of leaves {@code [chunkIndex·2^h, (chunkIndex+1)·2^h)}, where
     * {@code chunkBytes = chunkSize()·2^h}, so its root is {@code Merkle.root(chunk, chunkSize())}
     * and the path is RFC 9162's for index {@code chunkIndex} among {@link #chunkCount}
     * chunks. With {@code chunkBytes == chunkSize()} this is {@link #proof(int)}.
     *
     * @param chunkIndex 0-based chunk index, less than {@link #chunkCount(int)}
     * @param chunkBytes {@link #chunkSize()} times a power of two
     * @return the proof, whose {@code leafIndex} and {@code leafCount} count chunks;
     *         check it with {@link InclusionProof#verifyChunk}
     * @throws InvalidArgumentException if there is no such chunk or the chunk size is not aligned
     */
    public InclusionProof chunkProof(int chunkIndex, int chunkBytes) {
        int height = Math.min(subtreeHeight(chunkBytes), levels.length - 1);
        int chunks = chunkCount(chunkBytes);
        if (chunkIndex < 0 || chunkIndex >= chunks) {
            throw new InvalidArgumentException("chunk index " + chunkIndex + " is outside this tree's " + chunks
                    + " chunk(s) of " + chunkBytes + " bytes (" + totalBytes + " bytes in all): pass an index in [0, "
                    + chunks + ")");
        }
        return path(height, chunkIndex, chunks);
    }

    private int subtreeHeight(int chunkBytes) {
        if (chunkBytes < chunkSize || chunkBytes % chunkSize != 0 || Integer.bitCount(chunkBytes / chunkSize) != 1) {
            throw new InvalidArgumentException("a chunk of " + chunkBytes + " bytes is not an aligned subtree of this "
                    + "tree's " + chunkSize + "-byte leaves: use the leaf size times a power of two");
        }
        return Integer.numberOfTrailingZeros(chunkBytes / chunkSize);
    }

    private InclusionProof path(int level, int index, int count) {
        List<byte[]> path = new ArrayList<>();
        int i = index;
        int m = count;
        for (int d = level; d < levels.length - 1; d++) {
            int sibling = i ^ 1;
            if (sibling < m) {
                int off = sibling * Sha256.LENGTH;
                path.add(Arrays.copyOfRange(levels[d], off, off + Sha256.LENGTH));
            }
            // else: an odd last node is carried up unchanged; no path element at this level
            i >>= 1;
            m = (m + 1) / 2;
        }
        return new InclusionProof(index, count, path);
    }

    private void checkLeafIndex(int leafIndex) {
        if (leafCount == 0) {
            throw new InvalidArgumentException("leaf index " + leafIndex + " does not exist: this tree commits to "
                    + "0 bytes and has no chunks, so there is nothing to prove or locate");
        }
        if (leafIndex < 0 || leafIndex >= leafCount) {
            throw new InvalidArgumentException("leaf index " + leafIndex + " is outside this tree's " + leafCount
                    + " chunk(s) (" + totalBytes + " bytes in " + chunkSize + "-byte chunks): pass an index in [0, "
                    + leafCount + ")");
        }
    }

    @Override
    public String toString() {
        return "MerkleTree[root=" + rootHex() + ", leaves=" + leafCount + ", chunkSize=" + chunkSize
                + ", bytes=" + totalBytes + "]";
    }
}
