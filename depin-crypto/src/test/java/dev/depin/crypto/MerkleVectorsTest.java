package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The golden vectors in {@code merkle-vectors.txt} (roots written by an independent Python
 * implementation, also checked by the CUDA harness and by {@code verify_receipt.py}), and
 * proofs of aligned chunks (subtrees of 2^h leaves) over them.
 */
class MerkleVectorsTest {
    private static final long SEED = 0x7665_6374L;

    /** One line of the vectors file. */
    record Vector(int bytes, int leafBytes, String root) {
    }

    static List<Vector> vectors() throws IOException {
        List<Vector> out = new ArrayList<>();
        try (InputStream in = MerkleVectorsTest.class.getResourceAsStream("merkle-vectors.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split(" ");
                out.add(new Vector(Integer.parseInt(f[0]), Integer.parseInt(f[1]), f[2]));
            }
        }
        return out;
    }

    /** The first n bytes of SHA-256(le64(0)) || SHA-256(le64(1)) || ... */
    static byte[] stream(int n) {
        byte[] out = new byte[n + Sha256.LENGTH];
        ByteBuffer counter = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (long j = 0; j * Sha256.LENGTH < n; j++) {
            counter.clear();
            counter.putLong(j);
            System.arraycopy(Sha256.digest(counter.array()), 0, out, (int) j * Sha256.LENGTH, Sha256.LENGTH);
        }
        return Arrays.copyOf(out, n);
    }

    @Test
    void everyVector_rootEqualsThePythonReference() throws IOException {
        List<Vector> vs = vectors();
        assertTrue(vs.size() > 20, "vectors read: " + vs.size());
        byte[] data = stream(vs.stream().mapToInt(Vector::bytes).max().orElseThrow());
        SplittableRandom r = new SplittableRandom(SEED);
        System.out.println("MerkleVectorsTest seed " + SEED);
        try (Parallelism pool = Parallelism.newPool(3)) {
            for (Vector v : vs) {
                byte[] d = Arrays.copyOf(data, v.bytes());
                String what = v.bytes() + " bytes, " + v.leafBytes() + "-byte leaves";
                assertEquals(v.root(), Hex.encode(Merkle.root(d, v.leafBytes())), what);
                ByteBuffer direct = ByteBuffer.allocateDirect(d.length).put(d).flip();
                assertEquals(v.root(), Hex.encode(Merkle.root(direct, v.leafBytes(), pool)), what + ", pool");
                assertEquals(v.root(), MerkleTree.of(direct, v.leafBytes(), pool).rootHex(), what + ", tree");
                Merkle.Builder b = Merkle.builder(v.leafBytes());
                for (int off = 0; off < d.length; ) {
                    int n = Math.min(d.length - off, 1 + r.nextInt(3 * v.leafBytes()));
                    b.update(d, off, n);
                    off += n;
                }
                assertEquals(v.root(), Hex.encode(b.root()), what + ", streaming");
            }
        }
    }

    @Test
    void defaultLeaf_is4KiB() throws IOException {
        Vector v = vectors().stream().filter(x -> x.bytes() == 3 * 65536 + 1000 && x.leafBytes() == 4096)
                .findFirst().orElseThrow();
        assertEquals(4096, Merkle.DEFAULT_CHUNK_SIZE);
        assertEquals(v.root(), Hex.encode(Merkle.root(stream(v.bytes()))));
    }

    @Test
    void alignedChunks_ofEveryVector_proveAgainstTheRoot() throws IOException {
        for (Vector v : vectors()) {
            if (v.bytes() == 0 || v.leafBytes() != 4096) {
                continue;
            }
            byte[] d = stream(v.bytes());
            byte[] root = Hex.decode(v.root());
            MerkleTree tree = MerkleTree.of(ByteBuffer.wrap(d), v.leafBytes());
            for (int chunkBytes : new int[] {4096, 16384, 65536, 1 << 20}) {
                int chunks = tree.chunkCount(chunkBytes);
                assertEquals((v.bytes() + chunkBytes - 1) / chunkBytes, chunks);
                for (int i = 0; i < chunks; i++) {
                    byte[] c = Arrays.copyOfRange(d, i * chunkBytes, Math.min(d.length, (i + 1) * chunkBytes));
                    InclusionProof p = tree.chunkProof(i, chunkBytes);
                    assertEquals(i, p.leafIndex());
                    assertEquals(chunks, p.leafCount());
                    p.verifyChunk(c, v.leafBytes(), root);
                    if (chunkBytes == v.leafBytes()) {
                        p.verify(c, root);
                        assertEquals(tree.proof(i), p);
                    }
                    byte[] bad = c.clone();
                    bad[bad.length - 1] ^= 0x40;
                    VerificationException e = assertThrows(VerificationException.class,
                            () -> p.verifyChunk(bad, v.leafBytes(), root));
                    assertEquals(VerificationException.Reason.MERKLE_PROOF_INVALID, e.reason());
                    if (c.length > v.leafBytes()) {
                        // The same bytes hashed as one leaf are not the subtree: domain separation holds.
                        assertThrows(VerificationException.class, () -> p.verify(c, root));
                        assertThrows(VerificationException.class, () -> p.verifyChunk(c, 2 * v.leafBytes(), root));
                    }
                }
            }
        }
    }

    @Test
    void chunkProof_misuse_isRejected() {
        MerkleTree tree = MerkleTree.of(ByteBuffer.wrap(stream(10_000)), 4096);
        for (int bad : new int[] {0, 2048, 4097, 3 * 4096, 12288}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> tree.chunkProof(0, bad));
            assertTrue(e.getMessage().contains("leaf size times a power of two"), e.getMessage());
        }
        assertThrows(InvalidArgumentException.class, () -> tree.chunkProof(1, 16384));
        assertThrows(InvalidArgumentException.class, () -> tree.chunkProof(-1, 4096));
        assertEquals(1, tree.chunkCount(16384));
        MerkleTree empty = MerkleTree.of(ByteBuffer.allocate(0), 4096);
        assertEquals(0, empty.chunkCount(65536));
        assertThrows(InvalidArgumentException.class, () -> empty.chunkProof(0, 65536));
        InclusionProof p = tree.chunkProof(0, 16384);
        VerificationException e = assertThrows(VerificationException.class,
                () -> p.verifyChunk(new byte[0], 4096, tree.root()));
        assertEquals(VerificationException.Reason.MERKLE_PROOF_INVALID, e.reason());
        p.verifyChunk(stream(10_000), 4096, tree.root());
        assertArrayEquals(tree.root(), Merkle.root(stream(10_000), 4096));
    }
}
