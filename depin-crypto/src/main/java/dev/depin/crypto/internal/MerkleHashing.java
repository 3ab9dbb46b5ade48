package dev.depin.crypto.internal;

import dev.depin.crypto.Parallelism;
import dev.depin.crypto.Sha256;

import java.nio.ByteBuffer;
import java.security.DigestException;
import java.security.MessageDigest;

/**
 * The RFC 6962 hashing machinery behind {@code dev.depin.crypto.Merkle}: leaf and node
 * hashes, a sequential O(log n) subtree stack, and a leaf pass that runs on a caller's
 * {@link Parallelism} for large buffers.
 *
 * <p>The RFC 6962 split rule (left subtree = largest power of two smaller than n) gives
 * the same tree as pairing nodes level by level and carrying an odd last node up
 * unchanged; both forms are used here and are tested against a naive recursive
 * implementation.
 */
public final class MerkleHashing {
    /** Leaf domain-separation prefix (RFC 6962 §2.1). */
    public static final byte LEAF_PREFIX = 0x00;
    /** Interior node domain-separation prefix (RFC 6962 §2.1). */
    public static final byte NODE_PREFIX = 0x01;
    /** Buffers at least this large are leaf-hashed in parallel (when the caller lends threads). */
    public static final int PARALLEL_THRESHOLD = 4 << 20;
    /** Below this chunk size the parallel path's leaf array would be too large. */
    private static final int PARALLEL_MIN_CHUNK = 512;
    /** A task hashes at least this many bytes. */
    private static final int MIN_TASK_BYTES = 1 << 20;

    private MerkleHashing() {
    }

    /**
     * The empty tree's root: SHA-256 of the empty string (RFC 6962 §2.1).
     *
     * @return a new 32-byte array
     */
    public static byte[] emptyRoot() {
        return Sha256.newDigest().digest();
    }

    /**
     * Feeds {@code len} bytes of {@code buf} starting at absolute index {@code pos} into
     * {@code md}, without copying a heap buffer and without moving {@code buf}'s position.
     *
     * @param md  the digest
     * @param buf the buffer (heap, direct or read-only)
     * @param pos absolute start index
     * @param len number of bytes
     */
    public static void update(MessageDigest md, ByteBuffer buf, int pos, int len) {
        if (len == 0) {
            return;
        }
        if (buf.hasArray()) {
            md.update(buf.array(), buf.arrayOffset() + pos, len);
        } else {
            // Direct or read-only: the JDK reads it through its own small temp buffer.
            ByteBuffer view = buf.duplicate();
            view.limit(pos + len).position(pos);
            md.update(view);
        }
    }

    /**
     * Finishes {@code md} into {@code out} at {@code off} (32 bytes).
     *
     * @param md  the digest
     * @param out destination
     * @param off offset in {@code out}
     */
    public static void digestInto(MessageDigest md, byte[] out, int off) {
        try {
            md.digest(out, off, Sha256.LENGTH);
        } catch (DigestException e) {
            throw new IllegalStateException("SHA-256 digest into a 32-byte slot failed", e);
        }
    }

    /**
     * Leaf hash H(0x00 || bytes) of {@code len} bytes of {@code buf} at absolute {@code pos}.
     *
     * @param md  a SHA-256 digest (reset on return)
     * @param buf the data
     * @param pos absolute start index
     * @param len number of bytes
     * @param out destination of the 32-byte hash
     * @param off offset in {@code out}
     */
    public static void leafHash(MessageDigest md, ByteBuffer buf, int pos, int len, byte[] out, int off) {
        md.update(LEAF_PREFIX);
        update(md, buf, pos, len);
        digestInto(md, out, off);
    }

    /**
     * Node hash H(0x01 || left || right) where left and right are 32-byte slots.
     *
     * @param md   a SHA-256 digest (reset on return)
     * @param l    array holding the left child
     * @param lOff offset of the left child
     * @param r    array holding the right child
     * @param rOff offset of the right child
     * @param out  destination of the 32-byte hash (may overlap a child)
     * @param off  offset in {@code out}
     */
    public static void nodeHash(MessageDigest md, byte[] l, int lOff, byte[] r, int rOff, byte[] out, int off) {
        md.update(NODE_PREFIX);
        md.update(l, lOff, Sha256.LENGTH);
        md.update(r, rOff, Sha256.LENGTH);
        digestInto(md, out, off);
    }

    /**
     * Node hash of two 32-byte arrays, as a new array.
     *
     * @param md a SHA-256 digest (reset on return)
     * @param l  the left child
     * @param r  the right child
     * @return the 32-byte node hash
     */
    public static byte[] nodeHash(MessageDigest md, byte[] l, byte[] r) {
        byte[] out = new byte[Sha256.LENGTH];
        nodeHash(md, l, 0, r, 0, out, 0);
        return out;
    }

    /**
     * Number of leaves for {@code bytes} bytes cut into {@code chunkSize} chunks.
     *
     * @param bytes     total length, &ge; 0
     * @param chunkSize bytes per leaf, &ge; 1
     * @return {@code ceil(bytes / chunkSize)}
     */
    public static long leafCount(long bytes, int chunkSize) {
        return bytes == 0 ? 0 : (bytes - 1) / chunkSize + 1;
    }

    /**
     * Root of the remaining bytes of {@code data}, picking the parallel path for large
     * buffers when {@code parallelism} lends more than one thread.
     *
     * @param data        the bytes (position unchanged)
     * @param chunkSize   bytes per leaf
     * @param parallelism where leaf hashing may run
     * @return the 32-byte root
     */
    public static byte[] root(ByteBuffer data, int chunkSize, Parallelism parallelism) {
        int pos = data.position();
        int len = data.remaining();
        if (len == 0) {
            return emptyRoot();
        }
        if (len >= PARALLEL_THRESHOLD && chunkSize >= PARALLEL_MIN_CHUNK && parallelism.threads() > 1) {
            int n = (int) leafCount(len, chunkSize);
            byte[] leaves = leafHashes(data, pos, len, chunkSize, parallelism);
            return reduceInPlace(Sha256.newDigest(), leaves, n);
        }
        MessageDigest md = Sha256.newDigest();
        SubtreeStack stack = new SubtreeStack();
        byte[] leaf = new byte[Sha256.LENGTH];
        for (int off = 0; off < len; off += chunkSize) {
            int l = Math.min(chunkSize, len - off);
            leafHash(md, data, pos + off, l, leaf, 0);
            stack.push(md, leaf);
        }
        return stack.root(md);
    }

    /**
     * All leaf hashes of {@code len} bytes at absolute {@code pos}, concatenated (32 bytes
     * each); buffers of at least {@link #PARALLEL_THRESHOLD} bytes are hashed on
     * {@code parallelism}.
     *
     * @param data        the bytes
     * @param pos         absolute start index
     * @param len         number of bytes
     * @param chunkSize   bytes per leaf
     * @param parallelism where leaf hashing may run
     * @return {@code 32 * leafCount} bytes
     */
    public static byte[] leafHashes(ByteBuffer data, int pos, int len, int chunkSize, Parallelism parallelism) {
        int n = (int) leafCount(len, chunkSize);
        byte[] out = new byte[n * Sha256.LENGTH];
        if (n == 0) {
            return out;
        }
        if (len >= PARALLEL_THRESHOLD && parallelism.threads() > 1) {
            // Contiguous ranges of whole leaves; each task has its own MessageDigest and
            // writes only its own slots, so the result never depends on the thread count.
            int leavesPerTask = Math.max(1, MIN_TASK_BYTES / chunkSize);
            parallelism.forRange(n, leavesPerTask, (from, to) ->
                    hashLeafRange(Sha256.newDigest(), data, pos, len, chunkSize, out, from, to));
        } else {
            hashLeafRange(Sha256.newDigest(), data, pos, len, chunkSize, out, 0, n);
        }
        return out;
    }

    static void hashLeafRange(MessageDigest md, ByteBuffer data, int pos, int len, int chunkSize,
                              byte[] out, int from, int to) {
        for (int i = from; i < to; i++) {
            long off = (long) i * chunkSize;
            int l = (int) Math.min(chunkSize, len - off);
            leafHash(md, data, pos + (int) off, l, out, i * Sha256.LENGTH);
        }
    }

    /**
     * Reduces {@code n} concatenated leaf hashes to the root, level by level, in place
     * (the array is overwritten).
     *
     * @param md     a SHA-256 digest
     * @param hashes {@code n} concatenated 32-byte hashes; overwritten
     * @param n      number of hashes
     * @return the 32-byte root (SHA-256 of the empty string if {@code n == 0})
     */
    public static byte[] reduceInPlace(MessageDigest md, byte[] hashes, int n) {
        if (n == 0) {
            return emptyRoot();
        }
        final int h = Sha256.LENGTH;
        while (n > 1) {
            int pairs = n / 2;
            for (int i = 0; i < pairs; i++) {
                // writes slot i after reading slots 2i and 2i+1 (both >= i): safe in place.
                nodeHash(md, hashes, 2 * i * h, hashes, (2 * i + 1) * h, hashes, i * h);
            }
            if ((n & 1) != 0) {
                System.arraycopy(hashes, (n - 1) * h, hashes, pairs * h, h);
            }
            n = pairs + (n & 1);
        }
        byte[] root = new byte[h];
        System.arraycopy(hashes, 0, root, 0, h);
        return root;
    }

    /**
     * Builds every level of the tree from the leaf hashes: {@code levels[0]} = leaves,
     * the last level holds the root. An odd last node is carried up unchanged.
     *
     * @param md     a SHA-256 digest
     * @param leaves {@code n} concatenated 32-byte leaf hashes (kept as level 0)
     * @param n      number of leaves, &ge; 1
     * @return the levels, leaves first
     */
    public static byte[][] levels(MessageDigest md, byte[] leaves, int n) {
        final int h = Sha256.LENGTH;
        int depth = 1;
        for (int m = n; m > 1; m = (m + 1) / 2) {
            depth++;
        }
        byte[][] levels = new byte[depth][];
        levels[0] = leaves;
        int m = n;
        for (int d = 1; d < depth; d++) {
            byte[] prev = levels[d - 1];
            int next = (m + 1) / 2;
            byte[] cur = new byte[next * h];
            for (int i = 0; i < m / 2; i++) {
                nodeHash(md, prev, 2 * i * h, prev, (2 * i + 1) * h, cur, i * h);
            }
            if ((m & 1) != 0) {
                System.arraycopy(prev, (m - 1) * h, cur, (next - 1) * h, h);
            }
            levels[d] = cur;
            m = next;
        }
        return levels;
    }

    /**
     * Streaming RFC 6962 root in O(log n) memory: complete subtrees of sizes 2^k, merged
     * like a binary counter as leaves arrive; at the end the remaining subtrees (largest
     * first) are folded right to left, which is exactly the split rule.
     */
    public static final class SubtreeStack {
        private final byte[][] hashes = new byte[64][];
        private final int[] heights = new int[64];
        private int size;
        private long leaves;

        /**
         * Adds the next leaf hash (copied).
         *
         * @param md       a SHA-256 digest
         * @param leafHash the 32-byte leaf hash
         */
        public void push(MessageDigest md, byte[] leafHash) {
            byte[] h = leafHash.clone();
            int height = 0;
            while (size > 0 && heights[size - 1] == height) {
                h = nodeHash(md, hashes[size - 1], h);
                size--;
                height++;
            }
            hashes[size] = h;
            heights[size] = height;
            size++;
            leaves++;
        }

        /**
         * Number of leaves pushed so far.
         *
         * @return the count
         */
        public long leaves() {
            return leaves;
        }

        /**
         * The root of all leaves pushed so far (does not change the stack).
         *
         * @param md a SHA-256 digest
         * @return the 32-byte root
         */
        public byte[] root(MessageDigest md) {
            if (size == 0) {
                return emptyRoot();
            }
            byte[] r = hashes[size - 1];
            for (int i = size - 2; i >= 0; i--) {
                r = nodeHash(md, hashes[i], r);
            }
            return r.clone();
        }
    }
}
