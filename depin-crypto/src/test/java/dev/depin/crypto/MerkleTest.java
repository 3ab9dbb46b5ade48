package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MerkleTest {
    private static final long SEED = 0x5eed_0001L;

    /** Naive recursive RFC 6962 §2.1 MTH, independent of the implementation. */
    static byte[] naiveRoot(byte[] data, int chunk) throws Exception {
        int n = data.length == 0 ? 0 : (data.length + chunk - 1) / chunk;
        byte[][] leaves = new byte[n][];
        for (int i = 0; i < n; i++) {
            leaves[i] = Arrays.copyOfRange(data, i * chunk, Math.min(data.length, (i + 1) * chunk));
        }
        return mth(leaves, 0, n);
    }

    private static byte[] mth(byte[][] d, int from, int to) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        int n = to - from;
        if (n == 0) {
            return md.digest();
        }
        if (n == 1) {
            md.update((byte) 0);
            return md.digest(d[from]);
        }
        int k = 1;
        while (k * 2 < n) {
            k *= 2;
        }
        byte[] l = mth(d, from, from + k);
        byte[] r = mth(d, from + k, to);
        md.update((byte) 1);
        md.update(l);
        return md.digest(r);
    }

    private static byte[] random(int len, long seed) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void root_emptyInput_isSha256OfEmptyString() {
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                Hex.encode(Merkle.root(new byte[0])));
        assertEquals(Hex.encode(Merkle.emptyRoot()), Hex.encode(Merkle.builder().root()));
        assertEquals(0, MerkleTree.of(ByteBuffer.allocate(0)).leafCount());
    }

    @Test
    void root_variousSizes_matchesNaiveRecursion() throws Exception {
        System.out.println("MerkleTest seed " + SEED);
        for (int chunk : new int[] {1024, 4096, 1}) {
            int[] sizes = {0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 5 * chunk + 7, 17 * chunk};
            for (int size : sizes) {
                if (size < 0) {
                    continue;
                }
                byte[] data = random(size, SEED + size);
                byte[] expected = naiveRoot(data, chunk);
                assertEquals(Hex.encode(expected), Hex.encode(Merkle.root(data, chunk)), "size " + size + " chunk " + chunk);
                assertEquals(Hex.encode(expected), MerkleTree.of(ByteBuffer.wrap(data), chunk).rootHex());
                ByteBuffer direct = ByteBuffer.allocateDirect(size).put(data).flip();
                assertArrayEquals(expected, Merkle.root(direct, chunk));
                assertArrayEquals(expected, Merkle.root(ByteBuffer.wrap(data).asReadOnlyBuffer(), chunk));
            }
        }
    }

    @Test
    void root_bufferWithPositionAndOffset_hashesRemainingOnlyAndKeepsPosition() throws Exception {
        byte[] data = random(10_000, SEED);
        ByteBuffer buf = ByteBuffer.wrap(data, 100, 5000).slice(); // arrayOffset 100
        buf.position(7);
        byte[] expected = naiveRoot(Arrays.copyOfRange(data, 107, 5100), 1024);
        assertArrayEquals(expected, Merkle.root(buf, 1024));
        assertEquals(7, buf.position());
    }

    @Test
    void root_largeBufferParallel_equalsSequentialAndNaive() throws Exception {
        byte[] data = random(9 << 20, SEED ^ 9);
        byte[] sequential = Merkle.builder().update(data).root();
        assertArrayEquals(naiveRoot(data, Merkle.DEFAULT_CHUNK_SIZE), sequential);
        assertArrayEquals(sequential, Merkle.root(ByteBuffer.wrap(data)));
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
        for (int threads : new int[] {1, 2, 3, 7}) {
            try (Parallelism pool = Parallelism.newPool(threads)) {
                assertArrayEquals(sequential, Merkle.root(ByteBuffer.wrap(data), Merkle.DEFAULT_CHUNK_SIZE, pool),
                        threads + " threads");
                assertArrayEquals(sequential, Merkle.root(direct, Merkle.DEFAULT_CHUNK_SIZE, pool));
                assertArrayEquals(sequential, MerkleTree.of(direct, Merkle.DEFAULT_CHUNK_SIZE, pool).root());
                assertEquals(0, direct.position());
            }
        }
        java.util.concurrent.ExecutorService borrowed = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            Parallelism lent = Parallelism.using(borrowed, 3);
            assertArrayEquals(sequential, Merkle.root(direct, Merkle.DEFAULT_CHUNK_SIZE, lent));
            lent.close();
            assertFalse(borrowed.isShutdown(), "closing a borrowed executor's Parallelism leaves the executor alone");
            assertEquals(1, lent.threads(), "a closed Parallelism runs loops in the calling thread");
            assertArrayEquals(sequential, Merkle.root(direct, Merkle.DEFAULT_CHUNK_SIZE, lent));
        } finally {
            borrowed.shutdownNow();
        }
    }

    @Test
    void builder_oddUpdateSizes_equalsOneShot() {
        Random r = new Random(SEED ^ 77);
        for (int chunk : new int[] {1, 7, 1024, 65536}) {
            byte[] data = random(300_000 + r.nextInt(1000), SEED + chunk);
            Merkle.Builder b = Merkle.builder(chunk);
            Merkle.Builder t = MerkleTree.builder(chunk);
            int off = 0;
            boolean useBuffer = false;
            while (off < data.length) {
                int n = Math.min(data.length - off, r.nextInt(3 * chunk + 5));
                if (useBuffer) {
                    ByteBuffer bb = ByteBuffer.allocateDirect(n).put(data, off, n).flip();
                    b.update(bb);
                    assertEquals(bb.limit(), bb.position());
                    t.update(ByteBuffer.wrap(data, off, n));
                } else {
                    b.update(data, off, n);
                    t.update(data, off, n);
                }
                useBuffer = !useBuffer;
                off += n;
            }
            byte[] expected = Merkle.root(data, chunk);
            assertArrayEquals(expected, b.root());
            assertArrayEquals(expected, b.root(), "root() is idempotent");
            assertEquals(data.length, b.bytes());
            MerkleTree tree = t.tree();
            assertArrayEquals(expected, tree.root());
            assertEquals(Merkle.leafCount(data.length, chunk), tree.leafCount());
            assertThrows(Merkle.BuilderStateException.class, () -> b.update(new byte[1]));
            assertThrows(Merkle.BuilderStateException.class, b::tree);
        }
    }

    @Test
    void proof_everyLeafOfSeveralTrees_verifies() {
        for (int leaves = 1; leaves <= 33; leaves++) {
            int chunk = 16;
            byte[] data = random(leaves * chunk - (leaves % 3), SEED + leaves);
            MerkleTree tree = MerkleTree.of(ByteBuffer.wrap(data), chunk);
            byte[] root = tree.root();
            for (int i = 0; i < tree.leafCount(); i++) {
                byte[] c = Arrays.copyOfRange(data, (int) tree.chunkOffset(i), (int) tree.chunkOffset(i) + tree.chunkLength(i));
                InclusionProof p = tree.proof(i);
                p.verify(c, root);
                p.verify(ByteBuffer.wrap(c), root);
                assertEquals(p, new InclusionProof(p.leafIndex(), p.leafCount(), p.path()));
            }
        }
    }

    @Test
    void proof_tamperedChunkPathOrIndex_fails() {
        byte[] data = random(13 * 64 + 5, SEED);
        MerkleTree tree = MerkleTree.of(ByteBuffer.wrap(data), 64);
        byte[] root = tree.root();
        for (int i = 0; i < tree.leafCount(); i++) {
            byte[] c = Arrays.copyOfRange(data, i * 64, Math.min(data.length, (i + 1) * 64));
            InclusionProof p = tree.proof(i);
            byte[] bad = c.clone();
            bad[bad.length / 2] ^= 1;
            assertReason(() -> p.verify(bad, root));
            List<byte[]> path = p.path();
            path.get(0)[3] ^= (byte) 0x80;
            assertReason(() -> new InclusionProof(p.leafIndex(), p.leafCount(), path).verify(c, root));
            int other = (i + 1) % tree.leafCount();
            assertReason(() -> new InclusionProof(other, p.leafCount(), p.path()).verify(c, root));
            // (a different leafCount with the same path shape still proves the same chunk at the same
            // index under the same root, as in RFC 9162; the size is bound by whoever signs the root)
            assertReason(() -> new InclusionProof(p.leafIndex(), p.leafCount() * 2 + 1, p.path()).verify(c, root));
            List<byte[]> shorter = p.path().subList(0, p.path().size() - 1);
            assertReason(() -> new InclusionProof(p.leafIndex(), p.leafCount(), shorter).verify(c, root));
            byte[] otherRoot = root.clone();
            otherRoot[0] ^= 1;
            assertReason(() -> p.verify(c, otherRoot));
        }
    }

    private static void assertReason(org.junit.jupiter.api.function.Executable e) {
        VerificationException ex = assertThrows(VerificationException.class, e);
        assertEquals(VerificationException.Reason.MERKLE_PROOF_INVALID, ex.reason());
    }

    @Test
    void root_badChunkSize_isRejected() {
        assertThrows(InvalidArgumentException.class, () -> Merkle.root(new byte[1], 0));
        assertThrows(InvalidArgumentException.class, () -> Merkle.builder(-1));
    }

    @Test
    void root_againstPythonHashlib_matches() throws Exception {
        int chunk = 1024;
        byte[] data = random(5 * chunk + 7, SEED);
        String py = "import sys,hashlib\n"
                + "d=sys.stdin.buffer.read();c=" + chunk + "\n"
                + "L=[d[i:i+c] for i in range(0,len(d),c)]\n"
                + "def m(x):\n"
                + "  if len(x)==0: return hashlib.sha256(b'').digest()\n"
                + "  if len(x)==1: return hashlib.sha256(b'\\x00'+x[0]).digest()\n"
                + "  k=1\n"
                + "  while k*2<len(x): k*=2\n"
                + "  return hashlib.sha256(b'\\x01'+m(x[:k])+m(x[k:])).digest()\n"
                + "print(m(L).hex())\n";
        String out;
        try {
            Process p = new ProcessBuilder("python3", "-c", py).redirectErrorStream(true).start();
            try (OutputStream o = p.getOutputStream()) {
                o.write(data);
            }
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (InputStream in = p.getInputStream()) {
                in.transferTo(bo);
            }
            Assumptions.assumeTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "python3 failed: " + bo);
            out = bo.toString(StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            Assumptions.abort("python3 not available: " + e.getMessage());
            return;
        }
        assertEquals(out, Hex.encode(Merkle.root(data, chunk)));
    }
}
