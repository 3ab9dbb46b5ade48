package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.internal.MerkleHashing;

import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Merkle commitments over byte buffers: SHA-256 (the JDK's hardware-accelerated
 * {@link MessageDigest}), fixed-size chunks (leaves; default {@value #DEFAULT_CHUNK_SIZE} bytes),
 * RFC 6962 §2.1 hashing:
 * <ul>
 *   <li>leaf hash = SHA-256(0x00 || chunk), one leaf per chunk (the last may be short);</li>
 *   <li>node hash = SHA-256(0x01 || left || right);</li>
 *   <li>for n leaves, the left subtree holds the largest power of two smaller than n;</li>
 *   <li>the root of zero bytes is SHA-256 of the empty string.</li>
 * </ul>
 * Because the leaves and nodes are domain-separated, a chunk can never be passed off
 * as an interior node (second-preimage protection).
 *
 * <p>4 KiB leaves are what a GPU hashes fastest (one thread per leaf needs tens of thousands
 * of leaves to fill the card), while proofs and spot checks work on larger aligned chunks:
 * {@code 2^h} consecutive leaves starting at a multiple of {@code 2^h} are one subtree, whose
 * root is simply {@code Merkle.root(chunk, leafSize)}, so
 * {@link MerkleTree#chunkProof(int, int)} proves a 64 KiB chunk with the audit path above
 * that subtree ({@link InclusionProof#verifyChunk}). The root stays plain RFC 6962 over the
 * leaves, which any implementation of the RFC computes given the leaf size.
 *
 * <pre>{@code
 * byte[] root = Merkle.root(output);                 // position of 'output' unchanged
 * Merkle.Builder b = Merkle.builder();               // streaming, O(log n) memory
 * b.update(part1); b.update(part2);
 * assert Arrays.equals(root, b.root());
 * MerkleTree tree = MerkleTree.of(output, Merkle.DEFAULT_CHUNK_SIZE);
 * tree.proof(3).verify(chunk3, root);                // throws VerificationException
 * }</pre>
 *
 * <p>Hashing runs in the calling thread unless the caller lends threads: buffers of at
 * least 4 MiB given with a {@link Parallelism} of more than one thread are leaf-hashed
 * in parallel on it, one {@code MessageDigest} per task; the result never depends on the
 * number of threads.
 *
 * <pre>{@code
 * try (Parallelism pool = Parallelism.newPool(4)) {
 *     byte[] root = Merkle.root(bigBuffer, Merkle.DEFAULT_CHUNK_SIZE, pool);
 * }
 * }</pre>
 */
public final class Merkle {
    /**
     * Default chunk (leaf) size: 4 KiB, the leaf size of every commitment in a job (see
     * {@code docs/decisions.md}, "Merkle leaves are 4 KiB").
     */
    public static final int DEFAULT_CHUNK_SIZE = 4 * 1024;
    /** Length of every hash and root: 32 bytes. */
    public static final int HASH_LENGTH = Sha256.LENGTH;

    private Merkle() {
    }

    /**
     * Root of the remaining bytes of {@code data} with {@link #DEFAULT_CHUNK_SIZE} chunks.
     * Neither the buffer's content nor its position is changed and no copy is made.
     *
     * @param data the bytes (heap, direct or read-only buffer); not {@code null}
     * @return the 32-byte root
     */
    public static byte[] root(ByteBuffer data) {
        return root(data, DEFAULT_CHUNK_SIZE);
    }

    /**
     * Root of the remaining bytes of {@code data} cut into {@code chunkSize}-byte chunks.
     * Neither the buffer's content nor its position is changed and no copy is made.
     *
     * @param data      the bytes; not {@code null}
     * @param chunkSize bytes per leaf, at least 1 (see {@link #checkChunkSize(int)})
     * @return the 32-byte root
     */
    public static byte[] root(ByteBuffer data, int chunkSize) {
        return root(data, chunkSize, Parallelism.callerThread());
    }

    /**
     * Root of the remaining bytes of {@code data} cut into {@code chunkSize}-byte chunks,
     * leaf-hashing a buffer of at least 4 MiB on {@code parallelism}'s threads as well as
     * the calling one. Neither the buffer's content nor its position is changed and no copy
     * is made; the root is the same for any parallelism.
     *
     * @param data        the bytes; not {@code null}
     * @param chunkSize   bytes per leaf, at least 1
     * @param parallelism where the leaf hashing may run; not {@code null}
     * @return the 32-byte root
     */
    public static byte[] root(ByteBuffer data, int chunkSize, Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(data, "data");
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        checkChunkSize(chunkSize);
        return MerkleHashing.root(data, chunkSize, parallelism);
    }

    /**
     * Root of a byte array with {@link #DEFAULT_CHUNK_SIZE} chunks.
     *
     * @param data the bytes; not {@code null}
     * @return the 32-byte root
     */
    public static byte[] root(byte[] data) {
        return root(ByteBuffer.wrap(InvalidArgumentException.requireNonNull(data, "data")), DEFAULT_CHUNK_SIZE);
    }

    /**
     * Root of a byte array.
     *
     * @param data      the bytes; not {@code null}
     * @param chunkSize bytes per leaf, at least 1
     * @return the 32-byte root
     */
    public static byte[] root(byte[] data, int chunkSize) {
        return root(ByteBuffer.wrap(InvalidArgumentException.requireNonNull(data, "data")), chunkSize);
    }

    /**
     * A streaming builder with {@link #DEFAULT_CHUNK_SIZE} chunks.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder(DEFAULT_CHUNK_SIZE, false);
    }

    /**
     * A streaming builder.
     *
     * @param chunkSize bytes per leaf, at least 1
     * @return a new builder
     */
    public static Builder builder(int chunkSize) {
        return new Builder(chunkSize, false);
    }

    /**
     * Number of leaves (chunks) of {@code bytes} bytes: {@code ceil(bytes / chunkSize)}.
     *
     * @param bytes     total length, at least 0
     * @param chunkSize bytes per leaf, at least 1
     * @return the leaf count (0 for 0 bytes)
     */
    public static long leafCount(long bytes, int chunkSize) {
        if (bytes < 0) {
            throw new InvalidArgumentException("bytes must be >= 0, got " + bytes);
        }
        checkChunkSize(chunkSize);
        return MerkleHashing.leafCount(bytes, chunkSize);
    }

    /**
     * RFC 6962 leaf hash SHA-256(0x00 || chunk) of a chunk's remaining bytes (position unchanged).
     *
     * @param chunk the chunk; not {@code null}
     * @return the 32-byte leaf hash
     */
    public static byte[] leafHash(ByteBuffer chunk) {
        InvalidArgumentException.requireNonNull(chunk, "chunk");
        byte[] out = new byte[HASH_LENGTH];
        MerkleHashing.leafHash(Sha256.newDigest(), chunk, chunk.position(), chunk.remaining(), out, 0);
        return out;
    }

    /**
     * RFC 6962 leaf hash SHA-256(0x00 || chunk).
     *
     * @param chunk the chunk; not {@code null}
     * @return the 32-byte leaf hash
     */
    public static byte[] leafHash(byte[] chunk) {
        return leafHash(ByteBuffer.wrap(InvalidArgumentException.requireNonNull(chunk, "chunk")));
    }

    /**
     * RFC 6962 node hash SHA-256(0x01 || left || right).
     *
     * @param left  32-byte left child
     * @param right 32-byte right child
     * @return the 32-byte node hash
     */
    public static byte[] nodeHash(byte[] left, byte[] right) {
        checkHash(left, "left");
        checkHash(right, "right");
        return MerkleHashing.nodeHash(Sha256.newDigest(), left, right);
    }

    /**
     * The root of zero bytes: SHA-256 of the empty string, as RFC 6962 defines it.
     *
     * @return {@code e3b0c442...b855}
     */
    public static byte[] emptyRoot() {
        return MerkleHashing.emptyRoot();
    }

    /**
     * Validates a chunk size: any value of at least 1 byte is accepted (powers of two of
     * at least 1 KiB are the sensible choice; the default is 4 KiB).
     *
     * @param chunkSize the chunk size
     * @return {@code chunkSize}
     * @throws dev.depin.InvalidArgumentException if {@code chunkSize < 1}
     */
    public static int checkChunkSize(int chunkSize) {
        if (chunkSize < 1) {
            throw new InvalidArgumentException("Merkle chunk size must be >= 1 byte, got " + chunkSize
                    + ": use Merkle.DEFAULT_CHUNK_SIZE (4096) unless you have a reason");
        }
        return chunkSize;
    }

    static byte[] checkHash(byte[] hash, String what) {
        InvalidArgumentException.requireNonNull(hash, what);
        if (hash.length != HASH_LENGTH) {
            throw new InvalidArgumentException(what + " must be a 32-byte SHA-256 hash, got " + hash.length + " bytes");
        }
        return hash;
    }

    /**
     * A {@link Builder} was used in a way its state does not allow: updated after
     * {@link Builder#root()}, or asked for a tree it did not keep the leaves of. The message
     * says which and what to use instead.
     */
    public static final class BuilderStateException extends dev.depin.DepinException {
        private static final long serialVersionUID = 1L;

        /** @param message what was wrong and what to do */
        BuilderStateException(String message) {
            super(message);
        }
    }

    /**
     * Streaming Merkle root: leaves are hashed as the data arrives; the builder keeps
     * O(log n) 32-byte hashes (or, when made by {@link MerkleTree#builder(int)}, every
     * leaf hash), never a copy of the data. Not thread-safe.
     */
    public static final class Builder {
        private final int chunkSize;
        private final boolean keepLeaves;
        private final MessageDigest md = Sha256.newDigest();
        private final MessageDigest nodeMd = Sha256.newDigest();
        private final MerkleHashing.SubtreeStack stack = new MerkleHashing.SubtreeStack();
        private final byte[] leaf = new byte[HASH_LENGTH];
        private byte[] leaves;
        private int leafCount;
        private int inLeaf;
        private long bytes;
        private byte[] root;

        Builder(int chunkSize, boolean keepLeaves) {
            this.chunkSize = checkChunkSize(chunkSize);
            this.keepLeaves = keepLeaves;
            this.leaves = keepLeaves ? new byte[16 * HASH_LENGTH] : null;
        }

        /**
         * Adds the remaining bytes of {@code src} and moves its position to its limit
         * (like {@link MessageDigest#update(ByteBuffer)}).
         *
         * @param src the next bytes; not {@code null}
         * @return this builder
         * @throws BuilderStateException if {@link #root()} was already called
         */
        public Builder update(ByteBuffer src) {
            InvalidArgumentException.requireNonNull(src, "src");
            ensureOpen();
            int pos = src.position();
            int len = src.remaining();
            int off = 0;
            while (off < len) {
                int n = Math.min(len - off, chunkSize - inLeaf);
                if (inLeaf == 0) {
                    md.update(MerkleHashing.LEAF_PREFIX);
                }
                MerkleHashing.update(md, src, pos + off, n);
                off += n;
                advance(n);
            }
            src.position(src.limit());
            return this;
        }

        /**
         * Adds {@code len} bytes of {@code b} from {@code off}.
         *
         * @param b   the bytes; not {@code null}
         * @param off start offset
         * @param len number of bytes
         * @return this builder
         * @throws BuilderStateException if {@link #root()} was already called
         * @throws InvalidArgumentException if {@code off} and {@code len} do not lie within {@code b}
         */
        public Builder update(byte[] b, int off, int len) {
            InvalidArgumentException.requireNonNull(b, "b");
            if (off < 0 || len < 0 || off > b.length - len) {
                throw new InvalidArgumentException("range [" + off + ", " + off + " + " + len + ") is outside the "
                        + b.length + "-byte array: pass an offset and length within it");
            }
            ensureOpen();
            int end = off + len;
            while (off < end) {
                int n = Math.min(end - off, chunkSize - inLeaf);
                if (inLeaf == 0) {
                    md.update(MerkleHashing.LEAF_PREFIX);
                }
                md.update(b, off, n);
                off += n;
                advance(n);
            }
            return this;
        }

        /**
         * Adds all of {@code b}.
         *
         * @param b the bytes; not {@code null}
         * @return this builder
         */
        public Builder update(byte[] b) {
            return update(b, 0, InvalidArgumentException.requireNonNull(b, "b").length);
        }

        private void advance(int n) {
            inLeaf += n;
            bytes += n;
            if (inLeaf == chunkSize) {
                finishLeaf();
            }
        }

        private void finishLeaf() {
            MerkleHashing.digestInto(md, leaf, 0);
            stack.push(nodeMd, leaf);
            if (keepLeaves) {
                if ((leafCount + 1) * HASH_LENGTH > leaves.length) {
                    leaves = java.util.Arrays.copyOf(leaves, leaves.length * 2);
                }
                System.arraycopy(leaf, 0, leaves, leafCount * HASH_LENGTH, HASH_LENGTH);
            }
            leafCount++;
            inLeaf = 0;
        }

        private void ensureOpen() {
            if (root != null) {
                throw new BuilderStateException("this Merkle builder is finished (root() was called): start a new "
                        + "builder for more data");
            }
        }

        /**
         * Finishes the builder (a trailing partial chunk becomes the last leaf) and returns
         * the root. Further calls return the same root; further updates fail.
         *
         * @return the 32-byte root (SHA-256 of the empty string if no byte was added)
         */
        public byte[] root() {
            if (root == null) {
                if (inLeaf > 0) {
                    finishLeaf();
                }
                root = stack.root(nodeMd);
            }
            return root.clone();
        }

        /**
         * Bytes added so far.
         *
         * @return the byte count
         */
        public long bytes() {
            return bytes;
        }

        /**
         * The chunk size.
         *
         * @return bytes per leaf
         */
        public int chunkSize() {
            return chunkSize;
        }

        /**
         * Finishes the builder and returns the whole tree.
         *
         * @return the tree
         * @throws BuilderStateException if this builder does not keep leaf hashes (made by
         *                               {@link Merkle#builder(int)}; use {@link MerkleTree#builder(int)})
         */
        public MerkleTree tree() {
            if (!keepLeaves) {
                throw new BuilderStateException("this builder keeps only O(log n) hashes: "
                        + "create it with MerkleTree.builder(chunkSize) to get a tree");
            }
            root();
            return new MerkleTree(java.util.Arrays.copyOf(leaves, leafCount * HASH_LENGTH), leafCount,
                    chunkSize, bytes);
        }
    }
}
