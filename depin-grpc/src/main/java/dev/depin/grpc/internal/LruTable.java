package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * A map of at most {@code capacity} entries that forgets the least recently used one when a new
 * key would pass it: what a buyer remembers of where providers serve, which a directory (or a
 * hostile one) could otherwise grow by one entry per fresh key for as long as the buyer runs.
 * {@link #get} and {@link #put} both count as use. Every value that leaves the table, evicted or
 * replaced by a different one, is handed to {@code dropped} once, outside the table's lock (a
 * buyer closes the channel it had opened for it). Thread-safe; one lock, held for a hash lookup.
 *
 * @param <K> key
 * @param <V> value, compared with {@link Object#equals} to tell a renewal from a change
 */
public final class LruTable<K, V> {
    private final int capacity;
    private final BiConsumer<K, V> dropped;
    private final LinkedHashMap<K, V> map;

    /**
     * @param capacity the most entries kept, &ge; 1
     * @param dropped  called with each value that leaves the table; not null
     * @throws InvalidArgumentException on a capacity below 1 or a null callback
     */
    public LruTable(int capacity, BiConsumer<K, V> dropped) {
        if (capacity < 1) {
            throw new InvalidArgumentException("a table of " + capacity + " entries: give at least 1");
        }
        this.capacity = capacity;
        this.dropped = InvalidArgumentException.requireNonNull(dropped, "dropped-value callback");
        this.map = new LinkedHashMap<>(Math.min(capacity, 1024), 0.75f, true);
    }

    /** @return the value for {@code key}, now the most recently used, or null */
    public V get(K key) {
        synchronized (map) {
            return map.get(key);
        }
    }

    /**
     * Puts {@code value} as the most recently used entry; evicts the least recently used ones
     * past the capacity.
     *
     * @param key   not null
     * @param value not null
     */
    public void put(K key, V value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        List<Map.Entry<K, V>> out = null;
        synchronized (map) {
            V old = map.put(key, value);
            if (old != null && !old.equals(value)) {
                out = new ArrayList<>(1);
                out.add(Map.entry(key, old));
            }
            if (map.size() > capacity) {
                Iterator<Map.Entry<K, V>> eldest = map.entrySet().iterator();
                while (map.size() > capacity) {
                    Map.Entry<K, V> e = eldest.next();
                    if (out == null) {
                        out = new ArrayList<>(1);
                    }
                    out.add(Map.entry(e.getKey(), e.getValue()));
                    eldest.remove();
                }
            }
        }
        if (out != null) {
            for (Map.Entry<K, V> e : out) {
                dropped.accept(e.getKey(), e.getValue());
            }
        }
    }

    /** @return the number of entries now */
    public int size() {
        synchronized (map) {
            return map.size();
        }
    }

    /** @return the most entries kept */
    public int capacity() {
        return capacity;
    }
}
