package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The batch roots of version-2 {@link HoldCertificate}s whose ledger signature a node has already
 * checked, so that one signature check serves every certificate of a batch. Bounded: it keeps
 * the {@code capacity} roots used last (least recently used goes first); a root it forgot is
 * simply checked again. An entry is the ledger's key and the digest of the whole signed batch
 * statement (ledger, size and root), so a root is taken as signed only for exactly the statement
 * whose signature verified, under exactly that key. Thread-safe: when several threads check
 * certificates of the same batch at once (a client reading the answers of several calls whose
 * holds one group commit certified), one checks the root's signature and the others wait for its
 * answer; a root that fails is checked again by each of them, so that each refuses with its own
 * certificate's message.
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
    /** Statements whose signature a thread is checking now: true once it verified, false if it did not. */
    private final Map<String, CompletableFuture<Boolean>> checking = new HashMap<>();
    private final AtomicLong signatureChecks = new AtomicLong();
    /**
     * The statement object found verified last and the key it was verified under: certificates
     * that share one statement object (the holds of one batch in one answer, {@link
     * HoldCertificate#fromProof(Operation.Hold, dev.depin.crypto.NodeId, int, int, java.util.List,
     * byte[], byte[], HoldCertificate)}) are found here without hashing the statement again. The
     * statement is immutable, so the same object is the same signed content.
     */
    private volatile Last last;

    private record Last(Object statement, Object key) {
    }

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

    /** @return how many root signatures were checked through this cache (each one a miss) */
    public long signatureChecks() {
        return signatureChecks.get();
    }

    /**
     * @return whether {@code statement} (by identity) is the statement found verified last under
     *         {@code key} (by equality)
     */
    boolean verifiedLast(Object statement, Object key) {
        Last l = last;
        return l != null && l.statement == statement && l.key.equals(key);
    }

    /**
     * {@link #verifyOnce(String, Runnable)}, then remembers {@code statement} as the one found
     * verified last under {@code signer} ({@link #verifiedLast}).
     */
    void verifyOnce(String key, Runnable check, Object statement, Object signer) {
        verifyOnce(key, check);
        last = new Last(statement, signer);
    }

    /**
     * Returns at once if the statement {@code key} is kept; else runs {@code check} (which throws
     * if the signature does not verify) and keeps the key if it passed. A thread that asks while
     * another checks the same key waits for that answer instead of checking too.
     */
    void verifyOnce(String key, Runnable check) {
        CompletableFuture<Boolean> mine = null;
        CompletableFuture<Boolean> theirs;
        synchronized (this) {
            if (roots.get(key) != null) {
                return;
            }
            theirs = checking.get(key);
            if (theirs == null) {
                mine = new CompletableFuture<>();
                checking.put(key, mine);
            }
        }
        if (mine == null) {
            if (theirs.join()) {
                return;
            }
            // it did not verify there: check here too, so that this certificate is refused with its own message
            signatureChecks.incrementAndGet();
            check.run();
            synchronized (this) {
                roots.put(key, Boolean.TRUE);
            }
            return;
        }
        boolean verified = false;
        try {
            signatureChecks.incrementAndGet();
            check.run();
            verified = true;
        } finally {
            synchronized (this) {
                if (verified) {
                    roots.put(key, Boolean.TRUE);
                }
                checking.remove(key);
            }
            mine.complete(verified);
        }
    }

    @Override
    public String toString() {
        return "VerifiedRoots[" + size() + "/" + capacity + "]";
    }
}
