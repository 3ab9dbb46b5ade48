package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * Every misuse of the public Merkle API fails with a {@link DepinException} subclass that
 * says what was wrong (issue 7: these threw IndexOutOfBoundsException and
 * IllegalStateException before).
 */
class MerkleMisuseTest {
    /** 3 chunks of 4 bytes: 10 bytes, the last chunk short. */
    private static final MerkleTree TREE = MerkleTree.of(ByteBuffer.wrap(new byte[10]), 4);

    @Test
    void proof_indexOutOfRange() {
        for (int bad : new int[] {-1, 3, 4, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> TREE.proof(bad));
            assertTrue(e.getMessage().contains("leaf index " + bad + " is outside this tree's 3 chunk(s)"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("[0, 3)"), e.getMessage());
        }
        assertEquals(2, TREE.proof(2).leafIndex());
    }

    @Test
    void chunkOffsetLengthLeafHash_indexOutOfRange() {
        assertThrows(InvalidArgumentException.class, () -> TREE.chunkOffset(-1));
        assertThrows(InvalidArgumentException.class, () -> TREE.chunkOffset(3));
        assertThrows(InvalidArgumentException.class, () -> TREE.chunkLength(3));
        assertThrows(InvalidArgumentException.class, () -> TREE.leafHash(-7));
        assertEquals(8, TREE.chunkOffset(2));
        assertEquals(2, TREE.chunkLength(2));
    }

    @Test
    void proof_emptyTree() {
        MerkleTree empty = MerkleTree.of(ByteBuffer.allocate(0), 4);
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> empty.proof(0));
        assertTrue(e.getMessage().contains("commits to 0 bytes and has no chunks"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> empty.chunkOffset(0));
    }

    @Test
    void builder_updateAfterRoot() {
        Merkle.Builder b = Merkle.builder(4).update(new byte[5]);
        b.root();
        Merkle.BuilderStateException e = assertThrows(Merkle.BuilderStateException.class,
                () -> b.update(new byte[1]));
        assertTrue(e.getMessage().contains("finished (root() was called)"), e.getMessage());
        assertThrows(Merkle.BuilderStateException.class, () -> b.update(ByteBuffer.allocate(1)));
        assertTrue(DepinException.class.isAssignableFrom(Merkle.BuilderStateException.class));
    }

    @Test
    void builder_treeWithoutLeaves() {
        Merkle.BuilderStateException e = assertThrows(Merkle.BuilderStateException.class,
                () -> Merkle.builder(4).tree());
        assertTrue(e.getMessage().contains("MerkleTree.builder(chunkSize)"), e.getMessage());
    }

    @Test
    void builder_rangeOutsideArray() {
        Merkle.Builder b = Merkle.builder(4);
        for (int[] r : new int[][] {{-1, 2}, {0, -1}, {3, 2}, {Integer.MAX_VALUE, 2}}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> b.update(new byte[4], r[0], r[1]));
            assertTrue(e.getMessage().contains("outside the 4-byte array"), e.getMessage());
        }
        assertEquals(0, b.bytes(), "a refused update adds nothing");
    }
}
