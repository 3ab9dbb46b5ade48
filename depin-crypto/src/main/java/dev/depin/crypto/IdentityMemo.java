package dev.depin.crypto;

import java.lang.ref.WeakReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * Remembers a value derived from an immutable object, by the object's identity, in a small
 * direct-mapped table: a job's spec hash or a receipt's canonical statement is then encoded
 * once, though the buyer, the provider and the batch signer each ask for it (in one JVM they
 * hold the same object). A miss, or a slot taken by another object, computes the value
 * again, so the table changes cost, never results; it holds its keys weakly, and never more
 * than its slot count of values. Only for keys that are deeply immutable (records whose
 * components are immutable) and functions that depend on nothing else. Thread-safe.
 *
 * <p>Public (not in {@code internal}) because depin-core's {@code JobSpec} remembers its hash
 * with it and no module may reach into another's internal packages ({@code ModuleBoundaryTest}).
 *
 * @param <K> the immutable key type
 * @param <V> the derived value type (immutable, or copied by the caller)
 */
public final class IdentityMemo<K, V> {
    private final AtomicReferenceArray<Entry<K, V>> slots;
    private final int mask;
    private final Function<K, V> compute;

    private record Entry<K, V>(WeakReference<K> key, V value) {
    }

    /**
     * @param slots   table size, a power of two from 1 to 65536
     * @param compute derives the value from a key; never returns null
     * @throws IllegalArgumentException if {@code slots} is not a power of two in range
     */
    public IdentityMemo(int slots, Function<K, V> compute) {
        if (slots < 1 || slots > 65536 || Integer.bitCount(slots) != 1) {
            throw new IllegalArgumentException("slots must be a power of two in 1..65536, got " + slots);
        }
        this.slots = new AtomicReferenceArray<>(slots);
        this.mask = slots - 1;
        this.compute = java.util.Objects.requireNonNull(compute, "compute");
    }

    /**
     * @param key the object (not null)
     * @return the value for {@code key}: remembered if this very object was asked for lately,
     *         else computed now and remembered
     */
    public V get(K key) {
        int h = System.identityHashCode(key);
        int i = (h ^ (h >>> 16)) & mask;
        Entry<K, V> e = slots.get(i);
        if (e != null && e.key.get() == key) {
            return e.value;
        }
        V v = java.util.Objects.requireNonNull(compute.apply(key), "computed value");
        slots.set(i, new Entry<>(new WeakReference<>(key), v));
        return v;
    }
}
