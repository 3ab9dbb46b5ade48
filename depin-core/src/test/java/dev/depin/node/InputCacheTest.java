package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.Hex;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.WipeRecord;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.provider.ProviderRejectedException;
import dev.depin.settlement.SettlementContract.ManualClock;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The node's input cache: limits, LRU eviction, per-peer shares, expiry, and the wipe records of each. */
class InputCacheTest {
    private static final long SEED = 0x15CAC4EL;
    private static final String A = "aa".repeat(32);
    private static final String B = "bb".repeat(32);
    private final SplittableRandom random = new SplittableRandom(SEED);

    InputCacheTest() {
        System.out.println("InputCacheTest seed 0x" + Long.toHexString(SEED));
    }

    private static ManualClock clock() {
        return new ManualClock(Instant.parse("2026-12-05T12:00:00Z"));
    }

    private record Input(InputRef ref, byte[] bytes) {
    }

    private Input input(String name, int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) random.nextInt(256);
        }
        return new Input(new InputRef(name, size, Hex.encode(Merkle.root(b, JobSpec.MERKLE_CHUNK_BYTES))), b);
    }

    private static InputCache cache(InputCache.Limits limits, Clock clock) {
        return new InputCache(limits, clock, Parallelism.callerThread());
    }

    private static void put(InputCache c, String peer, Input in) {
        Optional<InputCache.Lease> l = c.insert(peer, in.ref(), ByteBuffer.wrap(in.bytes()));
        assertTrue(l.isPresent(), "not cached: " + in.ref());
        assertEquals(ByteBuffer.wrap(in.bytes()), l.get().view());
        l.get().close();
    }

    private static WipeRecord zeroed(String label, long bytes) {
        return new WipeRecord(WipeRecord.HOST, label, bytes, bytes, 0, WipeRecord.HOST_READBACK_COMPARE,
                HostWipe.checkDigest(WipeRecord.HOST, label, bytes, 0, 0));
    }

    /**
     * An output the node holds keeps the tree the node built when it committed to it: the first
     * read of its chunks with their proofs hashes nothing again; a tree of other bytes is refused.
     */
    @Test
    void insertHeld_withTheNodesTree_keepsIt_andRefusesAnotherTree() {
        InputCache c = cache(new InputCache.Limits(1 << 20, 10, 1 << 20, 10, Duration.ofMinutes(1)), clock());
        Input out = input("c", 3 * JobSpec.MERKLE_CHUNK_BYTES + 100);
        dev.depin.crypto.MerkleTree tree = dev.depin.crypto.MerkleTree.of(ByteBuffer.wrap(out.bytes()),
                JobSpec.MERKLE_CHUNK_BYTES);
        Input other = input("c", out.bytes().length);
        dev.depin.crypto.MerkleTree otherTree = dev.depin.crypto.MerkleTree.of(ByteBuffer.wrap(other.bytes()),
                JobSpec.MERKLE_CHUNK_BYTES);
        dev.depin.InvalidArgumentException e = assertThrows(dev.depin.InvalidArgumentException.class,
                () -> c.insertHeld("p", out.ref(), ByteBuffer.wrap(out.bytes()), Duration.ofSeconds(5), otherTree));
        assertEquals("the tree given for output 'c' is not the tree of its root and size: build it over the output's "
                + "bytes", e.getMessage());
        dev.depin.crypto.MerkleTree leafTree = dev.depin.crypto.MerkleTree.of(ByteBuffer.wrap(out.bytes()), 1024);
        assertThrows(dev.depin.InvalidArgumentException.class,
                () -> c.insertHeld("p", out.ref(), ByteBuffer.wrap(out.bytes()), Duration.ofSeconds(5), leafTree));
        try (InputCache.Lease l = c.insertHeld("p", out.ref(), ByteBuffer.wrap(out.bytes()), Duration.ofSeconds(5),
                tree).orElseThrow()) {
            assertTrue(l.tree() == tree, "the node's own tree, not a second hash of the bytes");
            assertEquals(out.ref().merkleRoot(), Hex.encode(l.tree().root()));
        }
        // Without a tree, the first read builds it from the held bytes: the same root.
        try (InputCache.Lease l = c.insertHeld("p", other.ref(), ByteBuffer.wrap(other.bytes()), Duration.ofSeconds(5))
                .orElseThrow()) {
            assertEquals(other.ref().merkleRoot(), Hex.encode(l.tree().root()));
        }
        c.close();
    }

    @Test
    void leastRecentlyUsedEntryIsEvictedWipedAndRecordedForItsOwner() {
        InputCache c = cache(new InputCache.Limits(3000, 10, 3000, 10, Duration.ofMinutes(1)), clock());
        Input x = input("x", 1000);
        Input y = input("y", 1000);
        Input z = input("z", 1000);
        put(c, A, x);
        put(c, A, y);
        put(c, A, z);
        c.acquire(A, x.ref()).orElseThrow().close(); // x is now more recent than y
        Input w = input("w", 1000);
        put(c, A, w);
        assertEquals(3000, c.bytes());
        assertEquals(3, c.entries());
        assertFalse(c.holds(A, y.ref()));
        assertTrue(c.holds(A, x.ref()) && c.holds(A, z.ref()) && c.holds(A, w.ref()));
        assertEquals(List.of(zeroed("cache:evicted:" + y.ref().merkleRoot(), 1000)), c.takeWipeRecords(A));
        assertEquals(List.of(), c.takeWipeRecords(A), "records are handed over once");
        assertEquals(1, c.evictions());
    }

    @Test
    void bytesSentAgainForAnEntryHeldUseThatEntry() {
        InputCache c = cache(InputCache.Limits.of(1 << 20, 16), clock());
        Input x = input("x", 5000);
        put(c, A, x);
        InputCache.Lease again = c.insert(A, x.ref(), ByteBuffer.wrap(x.bytes().clone())).orElseThrow();
        assertEquals(ByteBuffer.wrap(x.bytes()), again.view());
        again.close();
        assertEquals(1, c.entries());
        assertEquals(5000, c.bytes());
    }

    @Test
    void entryCountBoundsTheCacheToo() {
        InputCache c = cache(new InputCache.Limits(1 << 20, 2, 1 << 20, 2, Duration.ofMinutes(1)), clock());
        Input x = input("x", 10);
        Input y = input("y", 20);
        Input z = input("z", 30);
        put(c, A, x);
        put(c, A, y);
        put(c, A, z);
        assertEquals(2, c.entries());
        assertEquals(50, c.bytes());
        assertEquals(List.of(zeroed("cache:evicted:" + x.ref().merkleRoot(), 10)), c.takeWipeRecords(A));
    }

    @Test
    void entriesInUseAreNeverEvicted() {
        InputCache c = cache(new InputCache.Limits(2000, 10, 2000, 10, Duration.ofMinutes(1)), clock());
        Input x = input("x", 1000);
        Input y = input("y", 1000);
        put(c, A, x);
        put(c, A, y);
        InputCache.Lease lx = c.acquire(A, x.ref()).orElseThrow();
        InputCache.Lease ly = c.acquire(A, y.ref()).orElseThrow();
        Input z = input("z", 1000);
        assertEquals(Optional.empty(), c.insert(A, z.ref(), ByteBuffer.wrap(z.bytes())));
        assertEquals(ByteBuffer.wrap(x.bytes()), lx.view());
        assertEquals(List.of(), c.takeWipeRecords(A));
        lx.close();
        ly.close();
        put(c, A, z);
        assertEquals(List.of(zeroed("cache:evicted:" + x.ref().merkleRoot(), 1000)), c.takeWipeRecords(A));
    }

    @Test
    void anIdleEntryExpiresAndIsRecordedAsExpired() {
        ManualClock clock = clock();
        InputCache c = cache(new InputCache.Limits(1 << 20, 10, 1 << 20, 10, Duration.ofSeconds(60)), clock);
        Input x = input("x", 4096 + 7);
        Input y = input("y", 100);
        put(c, A, x);
        clock.advance(Duration.ofSeconds(30));
        put(c, A, y);
        clock.advance(Duration.ofSeconds(30));
        assertEquals(1, c.expireIdle());
        assertFalse(c.holds(A, x.ref()));
        assertTrue(c.holds(A, y.ref()));
        assertEquals(List.of(zeroed("cache:expired:" + x.ref().merkleRoot(), 4103)), c.takeWipeRecords(A));
        clock.advance(Duration.ofSeconds(29));
        c.acquire(A, y.ref()).orElseThrow().close(); // used: its idle time starts again
        clock.advance(Duration.ofSeconds(59));
        assertEquals(0, c.expireIdle());
        assertEquals(100, c.bytes());
    }

    @Test
    void aStrangerFillingTheCacheDisplacesAtMostItsShare() {
        InputCache c = cache(new InputCache.Limits(4000, 100, 2000, 50, Duration.ofMinutes(1)), clock());
        Input x = input("x", 1000);
        Input y = input("y", 1000);
        put(c, A, x);
        put(c, A, y);
        List<Input> flood = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Input f = input("f" + i, 1000);
            flood.add(f);
            put(c, B, f);
        }
        assertTrue(c.holds(A, x.ref()) && c.holds(A, y.ref()), "the honest peer's entries were displaced");
        assertEquals(2000, c.bytesOf(B));
        assertEquals(2000, c.bytesOf(A));
        assertEquals(List.of(), c.takeWipeRecords(A));
        List<WipeRecord> expected = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            expected.add(zeroed("cache:evicted:" + flood.get(i).ref().merkleRoot(), 1000));
        }
        assertEquals(expected, c.takeWipeRecords(B));
        // Larger than a peer's share: not cached at all.
        Input big = input("big", 2001);
        assertEquals(Optional.empty(), c.insert(B, big.ref(), ByteBuffer.wrap(big.bytes())));
    }

    @Test
    void entriesBelongToTheirSenderAndToTheirExactSize() {
        InputCache c = cache(InputCache.Limits.of(1 << 20, 16), clock());
        Input x = input("x", 5000);
        put(c, A, x);
        assertEquals(Optional.empty(), c.acquire(B, x.ref()), "a peer that never sent the bytes used them");
        InputRef otherSize = new InputRef("x", 5001, x.ref().merkleRoot());
        assertEquals(Optional.empty(), c.acquire(A, otherSize), "a root with another size matched");
        assertEquals(2, c.misses());
        assertEquals(0, c.hits());
    }

    @Test
    void bytesThatDoNotHashToTheRootAreRefusedAndNotKept() {
        InputCache c = cache(InputCache.Limits.of(1 << 20, 16), clock());
        Input x = input("x", 9000);
        byte[] forged = x.bytes().clone();
        forged[8999] ^= 1;
        String forgedRoot = Hex.encode(Merkle.root(forged, JobSpec.MERKLE_CHUNK_BYTES));
        ProviderRejectedException e = assertThrows(ProviderRejectedException.class,
                () -> c.insert(A, x.ref(), ByteBuffer.wrap(forged)));
        assertEquals("input 'x' hashes to Merkle root " + forgedRoot + " but the spec commits to "
                + x.ref().merkleRoot() + ": the bytes were altered in transit", e.getMessage());
        assertEquals(0, c.bytes());
        assertEquals(0, c.entries());
        assertFalse(c.holds(A, x.ref()));
        // A root claimed with another size: those bytes cannot hash to it either.
        byte[] longer = java.util.Arrays.copyOf(x.bytes(), 9001);
        InputRef collision = new InputRef("x", 9001, x.ref().merkleRoot());
        assertThrows(ProviderRejectedException.class, () -> c.insert(A, collision, ByteBuffer.wrap(longer)));
        assertEquals(0, c.entries());
    }

    @Test
    void closeWipesIdleEntriesAndLeasedOnesWhenLetGo() {
        InputCache c = cache(InputCache.Limits.of(1 << 20, 16), clock());
        Input x = input("x", 3000);
        Input y = input("y", 3000);
        put(c, A, x);
        InputCache.Lease ly = c.insert(A, y.ref(), ByteBuffer.wrap(y.bytes())).orElseThrow();
        c.close();
        assertEquals(0, c.bytes());
        assertEquals(0, c.entries());
        assertEquals(ByteBuffer.wrap(y.bytes()), ly.view(), "an entry in use was wiped under its user");
        ByteBuffer view = ly.view();
        ly.close();
        assertTrue(view.duplicate().equals(ByteBuffer.allocate(3000)), "a released entry of a closed cache is zeroed");
        assertEquals(Optional.empty(), c.acquire(A, x.ref()));
    }
}
