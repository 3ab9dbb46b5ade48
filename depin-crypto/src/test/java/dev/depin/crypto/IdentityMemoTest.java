package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class IdentityMemoTest {
    private record Key(int v) {
    }

    @Test
    void get_sameObject_computesOnce() {
        AtomicInteger calls = new AtomicInteger();
        IdentityMemo<Key, String> memo = new IdentityMemo<>(16, k -> {
            calls.incrementAndGet();
            return "v" + k.v();
        });
        Key k = new Key(7);
        String first = memo.get(k);
        assertSame(first, memo.get(k));
        assertEquals(1, calls.get());
    }

    @Test
    void get_equalButDistinctObjects_eachComputedAndAlwaysRight() {
        AtomicInteger calls = new AtomicInteger();
        // One slot: every other key evicts, so values are recomputed, never mixed up.
        IdentityMemo<Key, String> memo = new IdentityMemo<>(1, k -> {
            calls.incrementAndGet();
            return "v" + k.v();
        });
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            keys.add(new Key(i % 3));
        }
        for (int round = 0; round < 3; round++) {
            for (Key k : keys) {
                assertEquals("v" + k.v(), memo.get(k));
            }
        }
        assertEquals(300, calls.get(), "distinct objects with equal values are keyed by identity");
    }

    @Test
    void new_badSlots_refused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IdentityMemo<Key, String>(3, k -> ""));
        assertEquals("slots must be a power of two in 1..65536, got 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new IdentityMemo<Key, String>(0, k -> ""));
        assertThrows(IllegalArgumentException.class, () -> new IdentityMemo<Key, String>(1 << 17, k -> ""));
    }

    @Test
    void get_nullValue_refused() {
        IdentityMemo<Key, String> memo = new IdentityMemo<>(4, k -> null);
        NullPointerException e = assertThrows(NullPointerException.class, () -> memo.get(new Key(1)));
        assertEquals("computed value", e.getMessage());
    }
}
