package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bounded table a buyer keeps its providers' routes in: least recently used out, each drop reported once. */
class LruTableTest {
    private static final long SEED = 0x1A0_7AB1EL;
    private final List<String> dropped = new ArrayList<>();

    private LruTable<Integer, String> table(int capacity) {
        return new LruTable<>(capacity, (k, v) -> dropped.add(k + "=" + v));
    }

    @Test
    void pastCapacity_theLeastRecentlyUsedGoes_andGetCountsAsUse() {
        LruTable<Integer, String> t = table(3);
        t.put(1, "a");
        t.put(2, "b");
        t.put(3, "c");
        assertEquals("a", t.get(1)); // 2 is now the least recently used
        t.put(4, "d");
        assertEquals(List.of("2=b"), dropped);
        assertNull(t.get(2));
        assertEquals(3, t.size());
        t.put(3, "c"); // a renewal of the same value is use, not a drop
        t.put(5, "e");
        assertEquals(List.of("2=b", "1=a"), dropped);
        assertEquals("c", t.get(3));
        assertEquals("d", t.get(4));
        assertEquals("e", t.get(5));
    }

    @Test
    void aChangedValue_dropsTheOldOne() {
        LruTable<Integer, String> t = table(2);
        t.put(1, "old");
        t.put(1, "new");
        assertEquals(List.of("1=old"), dropped);
        assertEquals("new", t.get(1));
        assertEquals(1, t.size());
    }

    @Test
    void theCallbackRunsOutsideTheLock_andMayUseTheTable() {
        List<String> seen = new ArrayList<>();
        LruTable<Integer, String>[] self = new LruTable[1];
        self[0] = new LruTable<>(1, (k, v) -> seen.add(v + ":" + self[0].size() + ":" + self[0].get(2)));
        self[0].put(1, "a");
        self[0].put(2, "b");
        assertEquals(List.of("a:1:b"), seen);
    }

    @Test
    void randomUse_matchesAModelOfRecency_andNeverHoldsMoreThanCapacity() {
        System.out.println("LruTableTest seed 0x" + Long.toHexString(SEED));
        SplittableRandom random = new SplittableRandom(SEED);
        int capacity = 37;
        LruTable<Integer, String> t = table(capacity);
        // the model: keys in order of last use, oldest first
        List<Integer> order = new ArrayList<>();
        java.util.Map<Integer, String> values = new java.util.HashMap<>();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            int k = random.nextInt(200);
            if (random.nextBoolean()) {
                String v = "v" + random.nextInt(3);
                t.put(k, v);
                String old = values.put(k, v);
                if (old != null && !old.equals(v)) {
                    expected.add(k + "=" + old);
                }
                order.remove(Integer.valueOf(k));
                order.add(k);
                while (order.size() > capacity) {
                    int gone = order.remove(0);
                    expected.add(gone + "=" + values.remove(gone));
                }
            } else {
                assertEquals(values.get(k), t.get(k), "step " + i + ", key " + k);
                if (values.containsKey(k)) {
                    order.remove(Integer.valueOf(k));
                    order.add(k);
                }
            }
            if (t.size() > capacity) {
                throw new AssertionError("step " + i + ": a table of capacity " + capacity + " holds " + t.size());
            }
        }
        assertEquals(expected, dropped);
        assertEquals(values.size(), t.size());
    }

    @Test
    void badArguments_areRefusedWithTheReason() {
        assertEquals("a table of 0 entries: give at least 1",
                assertThrows(InvalidArgumentException.class, () -> table(0)).getMessage());
        assertThrows(InvalidArgumentException.class, () -> new LruTable<Integer, String>(4, null));
    }
}
