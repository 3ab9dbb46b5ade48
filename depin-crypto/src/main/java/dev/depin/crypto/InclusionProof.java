package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.internal.MerkleHashing;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An RFC 6962 / RFC 9162 §2.1.3 inclusion proof (audit path) of one chunk in a Merkle
 * tree of {@code leafCount} leaves. The chunk is a leaf ({@link MerkleTree#proof}) or an
 * aligned subtree of {@code 2^h} leaves ({@link MerkleTree#chunkProof}); for the latter,
 * {@code leafIndex} and {@code leafCount} count chunks and the path starts above the subtree,
 * whose root the verifier computes from the chunk's bytes ({@link #verifyChunk}).
 *
 * <pre>{@code
 * InclusionProof p = tree.proof(i);
 * p.verify(leafBytes, claimedRoot);    // returns normally or throws VerificationException
 * InclusionProof q = tree.chunkProof(j, 64 * 1024);
 * q.verifyChunk(chunkBytes, tree.chunkSize(), claimedRoot);
 * }</pre>
 *
 * @param leafIndex 0-based index of the chunk, less than {@code leafCount}
 * @param leafCount number of leaves in the tree, at least 1
 * @param path      sibling hashes (32 bytes each) from the leaf level up; copied in and out
 */
public record InclusionProof(int leafIndex, int leafCount, List<byte[]> path) {
    /**
     * Validates the indices and copies the path.
     *
     * @param leafIndex 0-based index of the chunk, less than {@code leafCount}
     * @param leafCount number of leaves in the tree, at least 1
     * @param path      sibling hashes (32 bytes each) from the leaf level up; copied in and out
     */
    public InclusionProof {
        if (leafCount < 1) {
            throw new InvalidArgumentException("leafCount must be >= 1, got " + leafCount);
        }
        if (leafIndex < 0 || leafIndex >= leafCount) {
            throw new InvalidArgumentException("leafIndex " + leafIndex + " is outside [0, " + leafCount + ")");
        }
        InvalidArgumentException.requireNonNull(path, "path");
        if (path.size() > 64) {
            throw new InvalidArgumentException("an audit path has at most 64 hashes, got " + path.size());
        }
        List<byte[]> copy = new ArrayList<>(path.size());
        for (byte[] h : path) {
            copy.add(Merkle.checkHash(h, "path element").clone());
        }
        path = Collections.unmodifiableList(copy);
    }

    /**
     * The sibling hashes, copied.
     *
     * @return a new list of new arrays
     */
    @Override
    public List<byte[]> path() {
        List<byte[]> copy = new ArrayList<>(path.size());
        for (byte[] h : path) {
            copy.add(h.clone());
        }
        return copy;
    }

    /**
     * Checks that {@code chunk} is leaf {@link #leafIndex()} of the tree whose root is
     * {@code expectedRoot}.
     *
     * @param chunk        the chunk's bytes; not {@code null}
     * @param expectedRoot the 32-byte root the chunk must belong to
     * @throws VerificationException with {@code MERKLE_PROOF_INVALID} if it does not
     */
    public void verify(byte[] chunk, byte[] expectedRoot) {
        verifyLeafHash(Merkle.leafHash(InvalidArgumentException.requireNonNull(chunk, "chunk")), expectedRoot);
    }

    /**
     * Checks the remaining bytes of {@code chunk} (position unchanged) like
     * {@link #verify(byte[], byte[])}.
     *
     * @param chunk        the chunk; not {@code null}
     * @param expectedRoot the 32-byte root
     * @throws VerificationException with {@code MERKLE_PROOF_INVALID} on mismatch
     */
    public void verify(ByteBuffer chunk, byte[] expectedRoot) {
        verifyLeafHash(Merkle.leafHash(InvalidArgumentException.requireNonNull(chunk, "chunk")), expectedRoot);
    }

    /**
     * Checks that {@code chunk} (remaining bytes, position unchanged) is the aligned chunk
     * {@link #leafIndex()} of {@link #leafCount()} of the tree whose root is
     * {@code expectedRoot}, where the tree's leaves are {@code leafBytes} long: the chunk's
     * own RFC 6962 root over {@code leafBytes} leaves is the subtree's root, and the path
     * leads from there to the tree's root. A chunk of at most {@code leafBytes} bytes is one
     * leaf, so this is then {@link #verify(ByteBuffer, byte[])}.
     *
     * @param chunk        the chunk's bytes; not {@code null}, not empty
     * @param leafBytes    the tree's leaf size, at least 1
     * @param expectedRoot the 32-byte root
     * @throws VerificationException with {@code MERKLE_PROOF_INVALID} on mismatch or an empty chunk
     */
    public void verifyChunk(ByteBuffer chunk, int leafBytes, byte[] expectedRoot) {
        InvalidArgumentException.requireNonNull(chunk, "chunk");
        Merkle.checkChunkSize(leafBytes);
        if (!chunk.hasRemaining()) {
            throw new VerificationException(VerificationException.Reason.MERKLE_PROOF_INVALID,
                    "chunk " + leafIndex + " of " + leafCount + " is empty: a tree has no empty chunk; request it again",
                    new Evidence("merkle-inclusion", "chunk " + leafIndex + " of " + leafCount,
                            Hex.encode(Merkle.checkHash(expectedRoot, "expectedRoot")), "0 bytes", ""));
        }
        verifyLeafHash(Merkle.root(chunk, leafBytes), expectedRoot);
    }

    /**
     * Checks the bytes of {@code chunk} like {@link #verifyChunk(ByteBuffer, int, byte[])}.
     *
     * @param chunk        the chunk's bytes; not {@code null}, not empty
     * @param leafBytes    the tree's leaf size, at least 1
     * @param expectedRoot the 32-byte root
     * @throws VerificationException with {@code MERKLE_PROOF_INVALID} on mismatch or an empty chunk
     */
    public void verifyChunk(byte[] chunk, int leafBytes, byte[] expectedRoot) {
        verifyChunk(ByteBuffer.wrap(InvalidArgumentException.requireNonNull(chunk, "chunk")), leafBytes, expectedRoot);
    }

    /**
     * Checks a precomputed leaf hash (or, for a chunk proof, the chunk's subtree root)
     * against {@code expectedRoot}.
     *
     * @param leafHash     SHA-256(0x00 || chunk), or a chunk's subtree root, 32 bytes
     * @param expectedRoot the 32-byte root
     * @throws VerificationException with {@code MERKLE_PROOF_INVALID} on mismatch
     */
    public void verifyLeafHash(byte[] leafHash, byte[] expectedRoot) {
        Merkle.checkHash(leafHash, "leafHash");
        Merkle.checkHash(expectedRoot, "expectedRoot");
        byte[] computed = rootFromLeafHash(leafHash);
        if (computed == null) {
            throw new VerificationException(VerificationException.Reason.MERKLE_PROOF_INVALID,
                    "audit path of " + path.size() + " hashes has the wrong length for leaf " + leafIndex
                            + " of " + leafCount + ": the proof was built for another tree size; request a new proof",
                    new Evidence("merkle-inclusion", "leaf " + leafIndex + " of " + leafCount,
                            Hex.encode(expectedRoot), "path length " + path.size(), ""));
        }
        if (!MessageDigest.isEqual(computed, expectedRoot)) {
            throw new VerificationException(VerificationException.Reason.MERKLE_PROOF_INVALID,
                    "chunk " + leafIndex + " of " + leafCount + " does not lead to the expected root: "
                            + "the chunk, the proof or the root was altered; treat the data as untrusted",
                    new Evidence("merkle-inclusion", "leaf " + leafIndex + " of " + leafCount,
                            Hex.encode(expectedRoot), Hex.encode(computed), ""));
        }
    }

    /** RFC 9162 §2.1.3.2; returns null when the path length does not fit (index, size). */
    private byte[] rootFromLeafHash(byte[] leafHash) {
        MessageDigest md = Sha256.newDigest();
        long fn = leafIndex;
        long sn = leafCount - 1L;
        byte[] r = leafHash.clone();
        for (byte[] p : path) {
            if (sn == 0) {
                return null;
            }
            if ((fn & 1) == 1 || fn == sn) {
                r = MerkleHashing.nodeHash(md, p, r);
                if ((fn & 1) == 0) {
                    while ((fn & 1) == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = MerkleHashing.nodeHash(md, r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 ? r : null;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof InclusionProof other) || other.leafIndex != leafIndex || other.leafCount != leafCount
                || other.path.size() != path.size()) {
            return false;
        }
        for (int i = 0; i < path.size(); i++) {
            if (!java.util.Arrays.equals(path.get(i), other.path.get(i))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = 31 * leafIndex + leafCount;
        for (byte[] p : path) {
            h = 31 * h + java.util.Arrays.hashCode(p);
        }
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("InclusionProof[leafIndex=").append(leafIndex)
                .append(", leafCount=").append(leafCount).append(", path=[");
        for (int i = 0; i < path.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(Hex.encode(path.get(i)));
        }
        return sb.append("]]").toString();
    }
}
