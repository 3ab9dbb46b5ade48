package dev.depin.node;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.WipeRecord;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.provider.ProviderRejectedException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's copies of inputs it received, by Merkle root, so that a buyer's next job on the
 * same inputs sends only their roots (issue 15: data that stays near the GPU).
 *
 * <h2>Who may use an entry</h2>
 * An entry belongs to the peer (authenticated key) that sent its bytes, and only that peer
 * can use it: its key is (peer, root, size). Knowing a root is not holding the bytes (roots
 * appear in receipts, which travel), so a stranger that names another buyer's root gets a
 * miss and must send the bytes, which are then checked against the root like any input.
 * The same bytes sent by two peers are held twice; deduplication across peers would leak
 * whether another buyer holds some data.
 *
 * <h2>What an entry is</h2>
 * An array owned by the cache, filled by a copy of the received bytes and then hashed
 * (RFC 6962, 4 KiB leaves) on the node's hashing pool: an entry whose root does not match
 * the one the job committed to is wiped and refused, so the cache never holds bytes whose
 * root did not verify. Jobs read entries through read-only views and stage them into the
 * executor's own buffers (a copy), so no kernel can write a cached copy.
 *
 * <h2>Limits and eviction</h2>
 * {@link Limits}: bytes and entries in all and per peer, and an idle time to live. Eviction
 * is least recently used (an entry is used when inserted and each time a job takes it); a
 * peer over its share evicts its own least recently used entries first, so one peer (a
 * stranger filling the cache) displaces other peers' entries only while the cache is full
 * and only up to its share: the others keep at least {@code maxBytes - maxBytesPerPeer}.
 * Entries in use by a job (leased) are never evicted. An entry not used for the idle time
 * to live expires. An output a buyer left on the node ({@link #insertHeld}) is held for the
 * time it asked (at most the idle time to live): never evicted for room before, and expired
 * exactly then; when only held or leased entries remain, a new entry finds no room.
 *
 * <h2>Wipes</h2>
 * Every evicted or expired entry is overwritten with zeros and read back ({@link HostWipe},
 * a compare at memory speed), and its record (label {@code cache:evicted:<root>} or
 * {@code cache:expired:<root>}) waits for its owner: the node lists it in the wipe
 * attestation of the owner's next attempt, signed with that attempt's evidence. At most
 * {@value #PENDING_PER_PEER} records wait per peer (older ones are folded into one record,
 * {@code cache:evicted-earlier}, with their byte total) and for at most
 * {@value #PENDING_PEERS} peers (the oldest peer's are then dropped, and logged). Entries
 * still held when the node closes are wiped too; their records are logged, as no attempt
 * remains to carry them.
 */
public final class InputCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InputCache.class);
    /** Records that wait for one peer's next attempt before older ones are folded together. */
    public static final int PENDING_PER_PEER = 256;
    /** Peers whose records may wait at once. */
    public static final int PENDING_PEERS = 4096;
    /** Label prefix of an entry wiped because another needed its room. */
    public static final String EVICTED = "cache:evicted:";
    /** Label prefix of an entry wiped because it was not used for the idle time to live. */
    public static final String EXPIRED = "cache:expired:";
    /** Label of the record that folds a peer's oldest waiting records together. */
    public static final String EVICTED_EARLIER = "cache:evicted-earlier";

    /**
     * What a node's input cache may hold.
     *
     * @param maxBytes          bytes of cached inputs in all, at least 1
     * @param maxEntries        entries in all, 1 to 1,000,000
     * @param maxBytesPerPeer   bytes one peer's entries may take, 1 to {@code maxBytes}
     * @param maxEntriesPerPeer entries of one peer, 1 to {@code maxEntries}
     * @param idleTtl           how long an unused entry is kept, 1 s to 7 days
     */
    public record Limits(long maxBytes, int maxEntries, long maxBytesPerPeer, int maxEntriesPerPeer,
                         Duration idleTtl) {
        /** Default idle time to live: 10 minutes. */
        public static final Duration DEFAULT_IDLE_TTL = Duration.ofMinutes(10);

        /**
         * Validates.
         *
         * @param maxBytes          bytes of cached inputs in all, at least 1
         * @param maxEntries        entries in all, 1 to 1,000,000
         * @param maxBytesPerPeer   bytes one peer's entries may take, 1 to {@code maxBytes}
         * @param maxEntriesPerPeer entries of one peer, 1 to {@code maxEntries}
         * @param idleTtl           how long an unused entry is kept, 1 s to 7 days
         * @throws InvalidArgumentException on a value out of range
         */
        public Limits {
            InvalidArgumentException.requireNonNull(idleTtl, "idle time to live");
            if (maxBytes < 1 || maxEntries < 1 || maxEntries > 1_000_000 || maxBytesPerPeer < 1
                    || maxBytesPerPeer > maxBytes || maxEntriesPerPeer < 1 || maxEntriesPerPeer > maxEntries) {
                throw new InvalidArgumentException("input cache limits " + maxBytes + " bytes, " + maxEntries
                        + " entries, " + maxBytesPerPeer + " bytes and " + maxEntriesPerPeer + " entries per peer: "
                        + "need 1 <= per peer <= in all, and at most 1,000,000 entries");
            }
            if (idleTtl.compareTo(Duration.ofSeconds(1)) < 0 || idleTtl.compareTo(Duration.ofDays(7)) > 0) {
                throw new InvalidArgumentException("input cache idle time to live " + idleTtl
                        + " must be between 1 s and 7 days");
            }
        }

        /**
         * Limits with the default shares: one peer may take a quarter of the bytes and of the
         * entries (at least one), entries expire after {@link #DEFAULT_IDLE_TTL} unused.
         *
         * @param maxBytes   bytes in all, at least 1
         * @param maxEntries entries in all, 1 to 1,000,000
         * @return the limits
         * @throws InvalidArgumentException on a value out of range
         */
        public static Limits of(long maxBytes, int maxEntries) {
            return new Limits(maxBytes, maxEntries, Math.max(1, maxBytes / 4), Math.max(1, maxEntries / 4),
                    DEFAULT_IDLE_TTL);
        }

        /**
         * @param ttl the idle time to live
         * @return these limits with it
         * @throws InvalidArgumentException if out of range
         */
        public Limits withIdleTtl(Duration ttl) {
            return new Limits(maxBytes, maxEntries, maxBytesPerPeer, maxEntriesPerPeer, ttl);
        }

        /**
         * @param bytes   bytes one peer's entries may take
         * @param entries entries of one peer
         * @return these limits with that share
         * @throws InvalidArgumentException if out of range
         */
        public Limits withPeerShare(long bytes, int entries) {
            return new Limits(maxBytes, maxEntries, bytes, entries, idleTtl);
        }
    }

    private final Limits limits;
    private final Clock clock;
    private final Parallelism hashing;
    /** Entries in least-recently-used order (eldest first). Guarded by this. */
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    /** Bytes and entries per peer. Guarded by this. */
    private final Map<String, long[]> perPeer = new java.util.HashMap<>();
    /** Wipe records waiting for their owner's next attempt, eldest peer first. Guarded by this. */
    private final LinkedHashMap<String, ArrayDeque<WipeRecord>> pending = new LinkedHashMap<>();
    private long bytes;
    private long hits;
    private long misses;
    private long evictions;
    private boolean closed;

    /**
     * @param limits  what it may hold
     * @param clock   the clock for idle expiry
     * @param hashing where entries are hashed on insert
     */
    InputCache(Limits limits, Clock clock, Parallelism hashing) {
        this.limits = InvalidArgumentException.requireNonNull(limits, "input cache limits");
        this.clock = clock;
        this.hashing = hashing;
    }

    private record Key(String peer, String root, long bytes) {
    }

    private static final class Entry {
        final Key key;
        byte[] data; // null while loading
        /** The entry's RFC 6962 tree: the node's own for an output it holds, else built on the first fetch; or null. */
        dev.depin.crypto.MerkleTree tree;
        int leases;
        long lastUsedMillis;
        boolean gone;
        /** Removed for its age rather than for room (the label says which). */
        boolean aged;
        /**
         * An output a buyer left on the node: kept until then (epoch millis), never evicted for
         * room before, and expired then rather than after the idle time; 0 for none.
         */
        long holdUntilMillis;

        Entry(Key key, long now) {
            this.key = key;
            this.lastUsedMillis = now;
        }
    }

    /** A job's use of one entry: the entry is not evicted until the lease is closed. */
    public final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean closed;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        /** @return the entry's bytes, read-only, position 0 */
        public ByteBuffer view() {
            synchronized (InputCache.this) {
                if (closed) {
                    throw new IllegalStateException("lease of " + entry.key.root() + " is closed");
                }
            }
            return ByteBuffer.wrap(entry.data).asReadOnlyBuffer();
        }

        /**
         * The entry's RFC 6962 tree over {@link JobSpec#MERKLE_CHUNK_BYTES} leaves, for inclusion
         * proofs of its chunks (a buyer fetching a kept output). Built from the entry's bytes on
         * the first call, on the node's hashing pool, and kept with the entry (two hashes per
         * 4 KiB leaf, about 1.6 % of its size; dropped when the entry is wiped).
         *
         * @return the tree
         */
        public dev.depin.crypto.MerkleTree tree() {
            dev.depin.crypto.MerkleTree t;
            synchronized (InputCache.this) {
                if (closed) {
                    throw new IllegalStateException("lease of " + entry.key.root() + " is closed");
                }
                t = entry.tree;
            }
            if (t == null) {
                t = dev.depin.crypto.MerkleTree.of(ByteBuffer.wrap(entry.data), JobSpec.MERKLE_CHUNK_BYTES, hashing);
                synchronized (InputCache.this) {
                    if (entry.tree == null && !entry.gone) {
                        entry.tree = t;
                    }
                }
            }
            return t;
        }

        /**
         * @param peer the peer a job runs for
         * @param in   the input it declares
         * @return whether this lease holds exactly that input's bytes for that peer
         */
        public boolean matches(String peer, InputRef in) {
            return entry.key.equals(new Key(peer, in.merkleRoot(), in.bytes()));
        }

        /** @return the cache this lease is of */
        InputCache cache() {
            return InputCache.this;
        }

        /** Lets the entry go (it may be evicted again); idempotent. */
        @Override
        public void close() {
            boolean wipeNow;
            synchronized (InputCache.this) {
                if (closed) {
                    return;
                }
                closed = true;
                entry.leases--;
                entry.lastUsedMillis = clock.millis();
                // Removed while in use (the cache closed): wiped by its last user.
                wipeNow = entry.gone && entry.leases == 0 && entry.data != null;
            }
            if (wipeNow) {
                wipe(List.of(entry));
            }
        }
    }

    /** @return the limits */
    public Limits limits() {
        return limits;
    }

    /** @return bytes held now */
    public synchronized long bytes() {
        return bytes;
    }

    /** @return entries held now (including ones being filled) */
    public synchronized int entries() {
        return entries.size();
    }

    /** @return lookups that found their entry */
    public synchronized long hits() {
        return hits;
    }

    /** @return lookups that did not */
    public synchronized long misses() {
        return misses;
    }

    /** @return entries evicted or expired so far */
    public synchronized long evictions() {
        return evictions;
    }

    /**
     * @param peer the peer
     * @return bytes held now for that peer
     */
    public synchronized long bytesOf(String peer) {
        long[] c = perPeer.get(peer);
        return c == null ? 0 : c[0];
    }

    /**
     * @param peer the peer
     * @param in   an input
     * @return whether the cache holds that input's bytes for that peer now
     */
    public synchronized boolean holds(String peer, InputRef in) {
        Entry e = entries.get(new Key(peer, in.merkleRoot(), in.bytes()));
        return e != null && e.data != null;
    }

    /**
     * Takes the entry for this peer's input, if the cache holds it: the entry is used (moves
     * to the most recently used end) and not evicted until the lease is closed.
     *
     * @param peer who asks (the hex of its authenticated key)
     * @param in   the input, as the job's spec declares it
     * @return the lease, or empty on a miss
     * @throws InvalidArgumentException on null
     */
    public Optional<Lease> acquire(String peer, InputRef in) {
        InvalidArgumentException.requireNonNull(peer, "peer");
        InvalidArgumentException.requireNonNull(in, "input");
        List<Entry> victims = new ArrayList<>();
        Optional<Lease> lease;
        synchronized (this) {
            expireIdle(victims);
            Entry e = closed ? null : entries.get(new Key(peer, in.merkleRoot(), in.bytes()));
            if (e == null || e.data == null) {
                misses++;
                lease = Optional.empty();
            } else {
                hits++;
                e.leases++;
                e.lastUsedMillis = clock.millis();
                lease = Optional.of(new Lease(e));
            }
        }
        wipe(victims);
        return lease;
    }

    /**
     * Copies an input's received bytes into a new entry for this peer and checks them against
     * the input's root; returns a lease on the entry. Makes room first (see the class comment).
     *
     * @param peer who sent the bytes
     * @param in   the input as the job's spec declares it (its root is what is checked)
     * @param data the bytes received (their remaining bytes; not changed)
     * @return a lease on the new entry (or on the entry of that root and size already held for
     *         the peer: its bytes are the same, so {@code data} is not copied), or empty when it
     *         is not cached (larger than a peer's share, the same entry being filled by another
     *         job, or no room beside entries in use); the caller then uses {@code data} as it
     *         would without a cache
     * @throws ProviderRejectedException if the bytes do not hash to the input's root (nothing is kept)
     * @throws InvalidArgumentException  on null, or if {@code data} does not have the declared size
     */
    public Optional<Lease> insert(String peer, InputRef in, ByteBuffer data) {
        return insert(peer, in, data, true);
    }

    /**
     * Copies bytes whose root this node computed itself (a job's output, committed in its
     * receipt) into a new entry for this peer, without hashing them again: the copy is of the
     * very buffer the root was computed over, so a later job may take it as an input by that
     * root. Otherwise as {@link #insert(String, InputRef, ByteBuffer)}.
     *
     * @param peer the buyer the output belongs to
     * @param out  the output as a reference: its name, size and the root the node computed
     * @param data the output's bytes (remaining bytes; not changed)
     * @return a lease on the new entry, or empty when it is not cached
     * @throws InvalidArgumentException on null, or if {@code data} does not have the size
     */
    public Optional<Lease> insertComputed(String peer, InputRef out, ByteBuffer data) {
        return insert(peer, out, data, false, 0, null, null, null);
    }

    /**
     * As {@link #insertComputed(String, InputRef, ByteBuffer)}, for an output the buyer left on
     * the node: the entry is held for {@code holdFor} from now, not evicted for room before that
     * (so room for it comes only from unused entries that are not held), and expires then.
     *
     * @param peer    the buyer the output belongs to
     * @param out     the output as a reference
     * @param data    the output's bytes
     * @param holdFor how long it is held: at least 1 ms and at most {@link Limits#idleTtl()}
     * @return a lease on the entry, or empty when there is no room for it
     * @throws InvalidArgumentException on null, a size mismatch, or a hold out of range
     */
    public Optional<Lease> insertHeld(String peer, InputRef out, ByteBuffer data, Duration holdFor) {
        return insertHeld(peer, out, data, holdFor, null);
    }

    /**
     * As {@link #insertHeld(String, InputRef, ByteBuffer, Duration)}, with the Merkle tree the
     * node built over {@code data} when it committed to the output: kept with the entry, so the
     * first read of its chunks with their proofs ({@link Lease#tree()}) does not hash every byte
     * a second time.
     *
     * @param peer    the buyer the output belongs to
     * @param out     the output as a reference
     * @param data    the output's bytes
     * @param holdFor how long it is held: at least 1 ms and at most {@link Limits#idleTtl()}
     * @param tree    the tree of exactly {@code data} over {@link JobSpec#MERKLE_CHUNK_BYTES}
     *                leaves, or null to build it on the first read
     * @return a lease on the entry, or empty when there is no room for it
     * @throws InvalidArgumentException on null, a size mismatch, a hold out of range, or a tree
     *                                  whose root, size or leaf size is not the output's
     */
    public Optional<Lease> insertHeld(String peer, InputRef out, ByteBuffer data, Duration holdFor,
                                      dev.depin.crypto.MerkleTree tree) {
        checkHold(out, holdFor, tree);
        return insert(peer, out, data, false, holdFor.toMillis(), tree, null, null);
    }

    /** Checks a hold's time and the tree given for an output to hold. */
    private void checkHold(InputRef out, Duration holdFor, dev.depin.crypto.MerkleTree tree) {
        InvalidArgumentException.requireNonNull(holdFor, "hold time");
        if (holdFor.toMillis() < 1 || holdFor.compareTo(limits.idleTtl()) > 0) {
            throw new InvalidArgumentException("this node holds outputs for 1 ms to " + limits.idleTtl() + ", not "
                    + holdFor);
        }
        if (tree != null && (out == null || tree.totalBytes() != out.bytes()
                || tree.chunkSize() != JobSpec.MERKLE_CHUNK_BYTES || !Hex.encode(tree.root()).equals(out.merkleRoot()))) {
            throw new InvalidArgumentException("the tree given for output '" + (out == null ? null : out.name())
                    + "' is not the tree of its root and size: build it over the output's bytes");
        }
    }

    /**
     * A held output's entry, and whether the cache took the caller's array as the entry.
     *
     * @param lease   a lease on the entry
     * @param adopted the caller's array is now the entry (the cache's: wiped when the entry is
     *                evicted or expires); false: the entry already held these bytes, and the
     *                array is still the caller's to wipe
     */
    public record Held(Lease lease, boolean adopted) {
    }

    /**
     * As {@link #insertHeld(String, InputRef, ByteBuffer, Duration, dev.depin.crypto.MerkleTree)},
     * taking {@code owned} itself as the new entry instead of a copy of it: the caller gives up
     * the array (a job's output buffer its executor handed over) and must not write it again.
     * When no new entry is made (the entry already held these bytes, or there is no room) the
     * array stays the caller's.
     *
     * @param peer    the buyer the output belongs to
     * @param out     the output as a reference
     * @param owned   the output's bytes, exactly {@code out.bytes()} of them
     * @param holdFor how long it is held: at least 1 ms and at most {@link Limits#idleTtl()}
     * @param tree    the tree of exactly these bytes, or null to build it on the first read
     * @return the entry and whether the array became it, or empty when there is no room (the
     *         array is then still the caller's)
     * @throws InvalidArgumentException as {@link #insertHeld(String, InputRef, ByteBuffer, Duration,
     *                                  dev.depin.crypto.MerkleTree)}
     */
    public Optional<Held> insertHeldOwned(String peer, InputRef out, byte[] owned, Duration holdFor,
                                          dev.depin.crypto.MerkleTree tree) {
        InvalidArgumentException.requireNonNull(owned, "output bytes");
        checkHold(out, holdFor, tree);
        boolean[] adopted = new boolean[1];
        return insert(peer, out, ByteBuffer.wrap(owned), false, holdFor.toMillis(), tree, owned, adopted)
                .map(l -> new Held(l, adopted[0]));
    }

    /**
     * Whether outputs of these sizes could be held for {@code peer} after its job runs, judged
     * before the job runs (so a node does not compute what it then has no room to keep): room
     * is what neither the peer's nor anyone's held outputs take, since every other entry can be
     * evicted or is in use only for a while. The final word is still {@link #insertHeld}'s, when
     * the bytes exist (another job may take the room meanwhile); an output equal to one already
     * held takes no room there, which this check, not knowing the bytes yet, cannot see.
     *
     * @param peer  the buyer
     * @param sizes the bytes of each output it would leave
     * @return why they would not fit (what is held, until when, what to do), or {@code null}
     * @throws InvalidArgumentException on null
     */
    public String holdRefusal(String peer, long[] sizes) {
        InvalidArgumentException.requireNonNull(peer, "peer");
        InvalidArgumentException.requireNonNull(sizes, "output sizes");
        long asked = 0;
        for (long s : sizes) {
            if (s > limits.maxBytesPerPeer()) {
                return "an output of " + s + " bytes is more than the " + limits.maxBytesPerPeer()
                        + " bytes it holds per buyer";
            }
            asked += s;
        }
        long heldMine = 0;
        int heldMineEntries = 0;
        long heldAll = 0;
        int heldAllEntries = 0;
        long firstFree = Long.MAX_VALUE;
        synchronized (this) {
            long now = clock.millis();
            for (Entry e : entries.values()) {
                if (held(e, now)) {
                    heldAll += e.key.bytes();
                    heldAllEntries++;
                    if (e.key.peer().equals(peer)) {
                        heldMine += e.key.bytes();
                        heldMineEntries++;
                        firstFree = Math.min(firstFree, e.holdUntilMillis);
                    }
                }
            }
        }
        String mine = heldMineEntries == 0 ? "" : "; this buyer's " + heldMineEntries + " held output(s) of "
                + heldMine + " bytes are kept until they expire, the first at "
                + java.time.Instant.ofEpochMilli(firstFree);
        if (heldMine + asked > limits.maxBytesPerPeer() || heldMineEntries + sizes.length > limits.maxEntriesPerPeer()) {
            return "holds " + limits.maxBytesPerPeer() + " bytes in " + limits.maxEntriesPerPeer() + " entries per "
                    + "buyer, and this job would leave " + sizes.length + " more of " + asked + " bytes" + mine;
        }
        if (heldAll + asked > limits.maxBytes() || heldAllEntries + sizes.length > limits.maxEntries()) {
            return "holds " + limits.maxBytes() + " bytes in " + limits.maxEntries() + " entries in all, "
                    + heldAll + " bytes in " + heldAllEntries + " of them held for buyers now, too many to leave "
                    + sizes.length + " more of " + asked + " bytes";
        }
        return null;
    }

    /** Whether an entry is held for its buyer now (never evicted for room). */
    private static boolean held(Entry e, long now) {
        return e.holdUntilMillis > now;
    }

    private Optional<Lease> insert(String peer, InputRef in, ByteBuffer data, boolean verify) {
        return insert(peer, in, data, verify, 0, null, null, null);
    }

    /**
     * Inserts, copying {@code data}; or, with {@code owned} (the array behind {@code data},
     * already checked or computed here), taking that array as the new entry, which
     * {@code adopted[0]} then says.
     */
    private Optional<Lease> insert(String peer, InputRef in, ByteBuffer data, boolean verify, long holdMillis,
                                   dev.depin.crypto.MerkleTree tree, byte[] owned, boolean[] adopted) {
        InvalidArgumentException.requireNonNull(peer, "peer");
        InvalidArgumentException.requireNonNull(in, "input");
        InvalidArgumentException.requireNonNull(data, "data");
        if (data.remaining() != in.bytes()) {
            throw new InvalidArgumentException("input '" + in.name() + "' has " + data.remaining()
                    + " bytes but declares " + in.bytes());
        }
        long n = in.bytes();
        if (n > limits.maxBytesPerPeer() || n > Integer.MAX_VALUE - 8) {
            return Optional.empty();
        }
        Key key = new Key(peer, in.merkleRoot(), n);
        List<Entry> victims = new ArrayList<>();
        Entry entry;
        synchronized (this) {
            expireIdle(victims);
            Entry existing = entries.get(key);
            if (!closed && existing != null && existing.data != null) {
                // Held already (the buyer sent bytes it need not have): the entry's bytes, checked
                // when it was inserted, are the bytes of this root and size; used, not copied twice.
                existing.leases++;
                existing.lastUsedMillis = clock.millis();
                if (existing.tree == null) {
                    existing.tree = tree;
                }
                if (holdMillis > 0) {
                    existing.holdUntilMillis = Math.max(existing.holdUntilMillis, clock.millis() + holdMillis);
                }
                entry = existing;
            } else if (closed || existing != null) {
                // Being filled by a concurrent job of the same peer: not twice.
                entry = null;
            } else {
                long[] mine = perPeer.computeIfAbsent(peer, p -> new long[2]);
                long now = clock.millis();
                for (Iterator<Entry> it = entries.values().iterator(); it.hasNext()
                        && (mine[0] + n > limits.maxBytesPerPeer() || mine[1] + 1 > limits.maxEntriesPerPeer()); ) {
                    Entry e = it.next();
                    if (e.key.peer().equals(peer) && e.leases == 0 && e.data != null && !held(e, now)) {
                        it.remove();
                        victims.add(removed(e));
                    }
                }
                for (Iterator<Entry> it = entries.values().iterator(); it.hasNext()
                        && (bytes + n > limits.maxBytes() || entries.size() + 1 > limits.maxEntries()); ) {
                    Entry e = it.next();
                    if (e.leases == 0 && e.data != null && !held(e, now)) {
                        it.remove();
                        victims.add(removed(e));
                    }
                }
                if (mine[0] + n > limits.maxBytesPerPeer() || mine[1] + 1 > limits.maxEntriesPerPeer()
                        || bytes + n > limits.maxBytes() || entries.size() + 1 > limits.maxEntries()) {
                    entry = null; // the rest is in use by running jobs
                    if (mine[0] == 0 && mine[1] == 0) {
                        perPeer.remove(peer);
                    }
                } else {
                    entry = new Entry(key, now);
                    entry.holdUntilMillis = holdMillis > 0 ? now + holdMillis : 0;
                    entry.leases = 1;
                    entries.put(key, entry);
                    mine[0] += n;
                    mine[1]++;
                    bytes += n;
                }
            }
        }
        // Evicted entries are wiped before the new one is allocated.
        wipe(victims);
        if (entry == null) {
            return Optional.empty();
        }
        synchronized (this) {
            if (entry.data != null) {
                return Optional.of(new Lease(entry)); // the entry that was already held
            }
        }
        byte[] copy;
        if (owned != null && !verify && owned.length == n) {
            copy = owned; // the caller's array becomes the entry: no second copy
        } else {
            try {
                copy = new byte[(int) n];
                data.duplicate().get(copy);
            } catch (RuntimeException | OutOfMemoryError e) {
                drop(entry);
                throw e;
            }
        }
        String root = verify ? Hex.encode(Merkle.root(ByteBuffer.wrap(copy), JobSpec.MERKLE_CHUNK_BYTES, hashing))
                : in.merkleRoot();
        if (!root.equals(in.merkleRoot())) {
            if (copy != owned) {
                java.util.Arrays.fill(copy, (byte) 0);
            }
            drop(entry);
            throw new ProviderRejectedException("input '" + in.name() + "' hashes to Merkle root " + root
                    + " but the spec commits to " + in.merkleRoot() + ": the bytes were altered in transit");
        }
        synchronized (this) {
            if (entry.gone) { // the cache closed meanwhile
                if (copy != owned) {
                    java.util.Arrays.fill(copy, (byte) 0);
                }
                return Optional.empty();
            }
            entry.data = copy;
            if (copy == owned && adopted != null) {
                adopted[0] = true;
            }
            entry.tree = tree;
            entry.lastUsedMillis = clock.millis();
            return Optional.of(new Lease(entry));
        }
    }

    /** Removes an entry that was never filled (its bytes did not verify, or allocation failed). */
    private synchronized void drop(Entry e) {
        if (!e.gone && entries.remove(e.key) == e) {
            uncount(e);
        }
        e.gone = true;
    }

    /** Accounting of an entry just removed from the map; returns it. Under the lock. */
    private Entry removed(Entry e) {
        uncount(e);
        e.gone = true;
        evictions++;
        return e;
    }

    private void uncount(Entry e) {
        bytes -= e.key.bytes();
        long[] c = perPeer.get(e.key.peer());
        if (c != null) {
            c[0] -= e.key.bytes();
            c[1]--;
            if (c[0] == 0 && c[1] == 0) {
                perPeer.remove(e.key.peer());
            }
        }
    }

    /**
     * Expires entries not used for the idle time to live (wiped, their records kept for their
     * owners). The node calls it periodically; lookups and inserts do it too.
     *
     * @return entries expired
     */
    public int expireIdle() {
        List<Entry> victims = new ArrayList<>();
        synchronized (this) {
            expireIdle(victims);
        }
        wipe(victims);
        return victims.size();
    }

    /** Under the lock: removes expired entries into {@code victims}, each marked as expired. */
    private void expireIdle(List<Entry> victims) {
        long now = clock.millis();
        long cutoff = now - limits.idleTtl().toMillis();
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            boolean over = e.holdUntilMillis > 0 ? e.holdUntilMillis <= now : e.lastUsedMillis <= cutoff;
            if (e.leases == 0 && e.data != null && over) {
                it.remove();
                removed(e);
                e.aged = true;
                victims.add(e);
            }
        }
    }

    /** Wipes removed entries outside the lock, then files each record for its owner. */
    private void wipe(List<Entry> victims) {
        for (Entry e : victims) {
            byte[] data;
            synchronized (this) {
                data = e.data;
                e.data = null;
                e.tree = null;
            }
            if (data != null) {
                file(e.key.peer(), HostWipe.wipe((e.aged ? EXPIRED : EVICTED) + e.key.root(), data, (byte) 0));
            }
        }
    }

    private synchronized void file(String peer, WipeRecord r) {
        if (closed) {
            LOG.info("input cache closing: wiped {} ({} bytes) of peer {}", r.label(), r.bytes(), shortPeer(peer));
            return;
        }
        ArrayDeque<WipeRecord> q = pending.get(peer);
        if (q == null) {
            if (pending.size() >= PENDING_PEERS) {
                Iterator<Map.Entry<String, ArrayDeque<WipeRecord>>> it = pending.entrySet().iterator();
                Map.Entry<String, ArrayDeque<WipeRecord>> eldest = it.next();
                LOG.warn("input cache: {} wipe records of peer {} dropped undelivered ({} peers wait for theirs)",
                        eldest.getValue().size(), shortPeer(eldest.getKey()), PENDING_PEERS);
                it.remove();
            }
            q = new ArrayDeque<>();
            pending.put(peer, q);
        }
        if (q.size() >= PENDING_PER_PEER) {
            // Fold the two oldest into one aggregate (both were zero-filled and compared).
            WipeRecord a = q.pollFirst();
            WipeRecord b = q.pollFirst();
            long total = a.bytes() + b.bytes();
            q.addFirst(new WipeRecord(WipeRecord.HOST, EVICTED_EARLIER, total, total, 0,
                    WipeRecord.HOST_READBACK_COMPARE, HostWipe.checkDigest(WipeRecord.HOST, EVICTED_EARLIER, total,
                    0, 0)));
        }
        q.addLast(r);
    }

    private static String shortPeer(String peer) {
        return peer.length() > 12 ? peer.substring(0, 12) : peer;
    }

    /**
     * Hands over the wipe records of this peer's evicted and expired entries, oldest first,
     * for the wipe attestation of the peer's current attempt; they are not returned again.
     *
     * @param peer the peer
     * @return its records, possibly none
     */
    public synchronized List<WipeRecord> takeWipeRecords(String peer) {
        ArrayDeque<WipeRecord> q = pending.remove(peer);
        return q == null ? List.of() : List.copyOf(q);
    }

    /** Wipes every entry not in use; entries leased by running jobs are wiped when their lease closes. */
    @Override
    public void close() {
        List<Entry> victims = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
                Entry e = it.next();
                it.remove();
                removed(e);
                if (e.data != null && e.leases == 0) {
                    victims.add(e);
                }
            }
            closed = true;
            pending.forEach((p, q) -> LOG.info("input cache closing: {} wipe records of peer {} undelivered",
                    q.size(), shortPeer(p)));
            pending.clear();
        }
        wipe(victims);
    }

    @Override
    public synchronized String toString() {
        return "InputCache[" + entries.size() + " entries, " + bytes + " of " + limits.maxBytes() + " bytes]";
    }
}
