package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The batch roots of version-2 {@link HoldCertificate}s whose ledger signature a node has already
 * checked, so that one signature check serves every certificate of a batch. Bounded: it keeps
 * the {@code capacity} roots used last (least recently used goes first); a root it forgot is
 * simply checked again. An entry is the ledger's key and the digest of the whole signed batch
 * statement (ledger, size and root), so a root is taken as signed only for exactly the statement
 * whose signature verified, under exactly that key. Thread-safe.
 *
 * <pre>{@code
 * VerifiedRoots roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
 * certificate.verify(ledgerKey, nodeId, specHash, price, clock.instant(), roots);
 * }</pre>
 */
public final class VerifiedRoots {
    /** The capacity a node uses unless told otherwise: 4,096 roots (about 0.5 MiB). */
    public static final int DEFAULT_CAPACITY = 4096;
    /** The largest capacity accepted. */
    public static final int MAX_CAPACITY = 1_000_000;

    private final int capacity;
    private final Map<String, Boolean> roots;

    /**
     * A cache of at most {@code capacity} roots.
     *
     * @param capacity roots kept, 1 to {@value #MAX_CAPACITY}
     * @throws InvalidArgumentException if {@code capacity} is out of range
     */
    public VerifiedRoots(int capacity) {
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new InvalidArgumentException("a cache of " + capacity + " verified roots: keep 1 to "
                    + MAX_CAPACITY + " (every root it forgets is checked again)");
        }
        this.capacity = capacity;
        this.roots = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > VerifiedRoots.this.capacity;
            }
        };
    }

    /** @return the most roots kept */
    public int capacity() {
        return capacity;
    }

    /** @return the roots kept now, at most {@link #capacity()} */
    public synchronized int size() {
        return roots.size();
    }

    synchronized boolean contains(String key) {
        return roots.get(key) != null;
    }

    synchronized void add(String key) {
        roots.put(key, Boolean.TRUE);
    }

    @Override
    public String toString() {
        return "VerifiedRoots[" + size() + "/" + capacity + "]";
    }
}
