package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MerkleTree#incremental}: a tree built from blocks declared final in any order, by
 * several threads, equals {@link Merkle#root} and {@link MerkleTree#of} of the finished buffer,
 * and no leaf is hashed before every one of its bytes is declared.
 */
class MerkleIncrementalTest {
    private static final long SEED = 0x73ee_0001L;

    /** Cuts [0, len) into blocks at random points (so leaves span blocks), in a random order. */
    private static List<long[]> blocks(int len, Random rnd, int most) {
        List<long[]> out = new ArrayList<>();
        for (long at = 0; at < len; ) {
            long to = Math.min(len, at + 1 + rnd.nextInt(most));
            out.add(new long[] {at, to});
            at = to;
        }
        Collections.shuffle(out, rnd);
        return out;
    }

    @Test
    void incremental_anyBlocksAnyOrder_equalsRootOfFinishedBuffer() throws Exception {
        System.out.println("MerkleIncrementalTest seed " + Long.toHexString(SEED));
        Random rnd = new Random(SEED);
        // Awkward sizes: empty, one byte, a leaf less/more one, a row of 1332 bytes that does not
        // divide a 4 KiB leaf, odd leaf counts; and a 7-byte leaf (many leaves per block).
        int[] sizes = {0, 1, 4095, 4096, 4097, 3 * 4096 + 5, 301 * 1332, 17 * 4096, 65 * 4096 + 1};
        for (int chunk : new int[] {4096, 7, 1024}) {
            for (int len : sizes) {
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                ByteBuffer buf = ByteBuffer.wrap(data);
                for (int most : new int[] {1 + rnd.nextInt(5000), 1332 * 7}) {
                    MerkleTree.Incremental t = MerkleTree.incremental(buf, chunk);
                    for (long[] b : blocks(len, rnd, most)) {
                        t.ready(b[0], b[1]);
                        if (rnd.nextBoolean()) {
                            t.hashOne();
                        }
                    }
                    MerkleTree tree = t.finish(Parallelism.callerThread());
                    String what = "len " + len + ", leaf " + chunk + ", blocks up to " + most;
                    assertArrayEquals(Merkle.root(data, chunk), tree.root(), what);
                    MerkleTree full = MerkleTree.of(buf, chunk);
                    assertEquals(full.leafCount(), tree.leafCount(), what);
                    for (int leaf = 0; leaf < tree.leafCount(); leaf += 1 + tree.leafCount() / 5) {
                        assertArrayEquals(full.leafHash(leaf), tree.leafHash(leaf), what + ", leaf " + leaf);
                        tree.proof(leaf).verify(ByteBuffer.wrap(data, (int) tree.chunkOffset(leaf),
                                tree.chunkLength(leaf)), full.root());
                    }
                    assertEquals(tree.leafCount(), t.hashedLeaves(), what);
                    assertSame(tree, t.finish(Parallelism.callerThread()), "a second finish: the same tree");
                }
            }
        }
    }

    @Test
    void incremental_manyThreadsDeclaringAndHashing_equalsRoot() throws Exception {
        Random rnd = new Random(SEED + 1);
        int len = 1000 * 4000 + 12; // rows of 4000 bytes: most leaves span two rows' blocks
        byte[] data = new byte[len];
        rnd.nextBytes(data);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (Parallelism par = Parallelism.using(pool, 3)) {
            for (int round = 0; round < 20; round++) {
                MerkleTree.Incremental t = MerkleTree.incremental(ByteBuffer.wrap(data), 4096);
                List<long[]> blocks = blocks(len, rnd, 40_000);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> fs = new ArrayList<>();
                for (int w = 0; w < 4; w++) {
                    int first = w;
                    fs.add(pool.submit(() -> {
                        go.await();
                        for (int i = first; i < blocks.size(); i += 4) {
                            t.ready(blocks.get(i)[0], blocks.get(i)[1]);
                            t.hashOne();
                        }
                        while (t.hashOne()) {
                            // as a kernel thread with nothing left to compute
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : fs) {
                    f.get();
                }
                assertArrayEquals(Merkle.root(data), t.finish(par).root(), "round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void hashOne_leafNotAllDeclared_isNotHashed() {
        byte[] data = new byte[3 * 4096 + 10];
        new Random(SEED + 2).nextBytes(data);
        MerkleTree.Incremental t = MerkleTree.incremental(ByteBuffer.wrap(data), 4096);
        t.ready(0, 4095);            // leaf 0 but its last byte
        t.ready(4097, 3 * 4096);     // leaves 1 (but its first byte) and 2
        assertTrue(t.hashOne());     // leaf 2 only
        assertFalse(t.hashOne());
        assertEquals(1, t.hashedLeaves());
        IllegalStateException early = assertThrows(IllegalStateException.class,
                () -> t.finish(Parallelism.callerThread()));
        assertTrue(early.getMessage().contains("12286 of 12298 bytes"), early.getMessage());
        t.ready(4095, 4097);         // completes leaves 0 and 1 at once
        t.ready(3 * 4096, data.length);
        assertArrayEquals(Merkle.root(data), t.finish(Parallelism.callerThread()).root());
    }

    @Test
    void ready_byteDeclaredTwice_refused() {
        MerkleTree.Incremental t = MerkleTree.incremental(ByteBuffer.allocate(10_000), 4096);
        t.ready(100, 5000);
        for (long[] r : new long[][] {{100, 5000}, {0, 101}, {4999, 6000}, {200, 300}, {0, 10_000}}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.ready(r[0], r[1]));
            assertTrue(e.getMessage().contains("already declared"), e.getMessage());
        }
        t.ready(0, 100);
        t.ready(5000, 10_000);
        assertEquals(10_000, t.readyBytes());
        assertArrayEquals(Merkle.root(new byte[10_000]), t.finish(Parallelism.callerThread()).root());
    }

    @Test
    void ready_outsideBuffer_refused() {
        MerkleTree.Incremental t = MerkleTree.incremental(ByteBuffer.allocate(100), 4096);
        for (long[] r : new long[][] {{-1, 5}, {5, 4}, {0, 101}, {100, 101}}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> t.ready(r[0], r[1]));
            assertTrue(e.getMessage().contains("outside the 100-byte buffer"), e.getMessage());
        }
        assertThrows(InvalidArgumentException.class, () -> MerkleTree.incremental(ByteBuffer.allocate(1), 0));
        assertThrows(InvalidArgumentException.class, () -> MerkleTree.incremental(null, 4096));
    }

    @Test
    void incremental_positionedBuffer_coversItsRemainingBytes() {
        byte[] data = new byte[9000];
        new Random(SEED + 3).nextBytes(data);
        ByteBuffer buf = ByteBuffer.wrap(data);
        buf.position(1000);
        MerkleTree.Incremental t = MerkleTree.incremental(buf, 4096);
        assertEquals(8000, t.length());
        t.ready(4000, 8000);
        t.ready(0, 4000);
        ByteBuffer rest = ByteBuffer.wrap(data, 1000, 8000).slice();
        assertArrayEquals(Merkle.root(rest), t.finish(Parallelism.callerThread()).root());
        assertEquals(1000, buf.position(), "position unchanged");
    }
}
