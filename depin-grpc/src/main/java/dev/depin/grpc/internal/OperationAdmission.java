package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.LedgerRefusals.Reason;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.util.HashMap;

/**
 * How many ledger operations the settlement service holds for its peers at once: taken when a
 * call is read (each operation of a batch counts) and let go when it is answered. Bounded per
 * client key, per remote address over all its keys ({@link AddressGroup}: keys are free,
 * addresses are not) and in total, so that what a peer within its call limits can make the
 * writer hold, and queue ahead of everyone else, is bounded. Fair between peers: the last
 * quarter of the total is kept for <em>light</em> addresses, those holding fewer operations
 * than one key may ({@code perKey}), so that peers sending big batches fill at most three
 * quarters and a peer sending single operations is admitted even then. A call asking for more
 * than is free gets what is free, the rest refused RESOURCE_EXHAUSTED with the bound's name,
 * the flag that raises it, and what to do (retry after answers: {@code RemoteSettlement} does),
 * and counted in {@link LedgerRefusals} by reason.
 *
 * <p>One lock: a call takes its slots once and gives them back once, so the lock is taken twice
 * per call, not per operation.
 */
public final class OperationAdmission {
    private final Limits limits;
    private final int reserve;
    private final LedgerRefusals refusals;
    private final HashMap<Object, int[]> held = new HashMap<>();
    private int total;

    /**
     * Bounds on operations in flight.
     *
     * @param perKey     per client key, over all its connections
     * @param perAddress per remote address, over all its keys
     * @param total      over all peers
     */
    public record Limits(int perKey, int perAddress, int total) {
        /** The most any bound may be. */
        public static final int MAX = 10_000_000;

        /**
         * @throws InvalidArgumentException unless 1 &le; perKey &le; perAddress &le; total &le; {@value #MAX}
         */
        public Limits {
            if (perKey < 1 || perAddress < perKey || total < perAddress || total > MAX) {
                throw new InvalidArgumentException("operations in flight of " + perKey + " per key, " + perAddress
                        + " per address and " + total + " in total: give 1 <= per key <= per address <= total <= "
                        + MAX);
            }
        }
    }

    /**
     * What a call got.
     *
     * @param taken   how many of its operations were admitted (the first {@code taken})
     * @param refusal what the others are answered, or null when all were admitted
     */
    public record Grant(int taken, StatusRuntimeException refusal) {
    }

    /**
     * @param limits   the bounds
     * @param refusals where refusals are counted
     */
    public OperationAdmission(Limits limits, LedgerRefusals refusals) {
        this.limits = limits;
        this.refusals = refusals;
        this.reserve = limits.total() / 4;
    }

    /** @return the bounds */
    public Limits limits() {
        return limits;
    }

    /** @return operations in flight over all peers */
    public synchronized int total() {
        return total;
    }

    /**
     * @param who a key, or an address group's text
     * @return its operations in flight
     */
    public synchronized int held(Object who) {
        int[] n = held.get(who);
        return n == null ? 0 : n[0];
    }

    /**
     * Takes up to {@code wanted} slots for one call, as many as its key, its address, the total
     * and the light peers' share leave free.
     *
     * @param key     the caller's key
     * @param address its address group, or null when it has none (counted under its key only)
     * @param wanted  operations the call carries (1 or more)
     * @return what it got
     */
    public Grant take(NodePublicKey key, String address, int wanted) {
        int got;
        Reason why = null;
        int byKey;
        int byAddress;
        int all;
        synchronized (this) {
            byKey = held(key);
            byAddress = address == null ? byKey : held(address);
            all = total;
            int free = wanted;
            if (limits.perKey() - byKey < free) {
                free = limits.perKey() - byKey;
                why = Reason.OPERATIONS_PER_KEY;
            }
            if (address != null && limits.perAddress() - byAddress < free) {
                free = limits.perAddress() - byAddress;
                why = Reason.OPERATIONS_PER_ADDRESS;
            }
            // A heavy address stays out of the reserve; a light one may use it until it holds one key's share.
            int bulk = limits.total() - reserve - all;
            int share = byAddress < limits.perKey() ? Math.max(bulk, limits.perKey() - byAddress) : bulk;
            if (share < free) {
                free = share;
                why = Reason.OPERATIONS_FAIR_SHARE;
            }
            if (limits.total() - all < free) {
                free = limits.total() - all;
                why = Reason.OPERATIONS_TOTAL;
            }
            got = Math.max(0, free);
            if (got > 0) {
                add(key, got);
                if (address != null) {
                    add(address, got);
                }
                total += got;
            }
        }
        if (got == wanted) {
            return new Grant(got, null);
        }
        refusals.add(why, wanted - got);
        return new Grant(got, refusal(why, key, address, wanted, byKey, byAddress, all));
    }

    /**
     * Gives back slots a call took.
     *
     * @param key     as taken
     * @param address as taken
     * @param n       how many
     */
    public void release(NodePublicKey key, String address, int n) {
        if (n <= 0) {
            return;
        }
        synchronized (this) {
            sub(key, n);
            if (address != null) {
                sub(address, n);
            }
            total -= n;
        }
    }

    private void add(Object who, int n) {
        held.computeIfAbsent(who, k -> new int[1])[0] += n;
    }

    private void sub(Object who, int n) {
        int[] c = held.get(who);
        if (c != null && (c[0] -= n) <= 0) {
            held.remove(who);
        }
    }

    private StatusRuntimeException refusal(Reason why, NodePublicKey key, String address, int wanted, int byKey,
                                           int byAddress, int all) {
        String k = "key " + key.nodeId().shortId();
        String asked = " when this call brought " + wanted + " more";
        String message = switch (why) {
            case OPERATIONS_PER_KEY -> k + " may have " + limits.perKey() + " operations in flight (depin ledger serve "
                    + "--max-in-flight) and had " + byKey + asked + ": wait for answers before sending more";
            case OPERATIONS_PER_ADDRESS -> "address " + address + " may have " + limits.perAddress() + " operations in "
                    + "flight over all its keys (depin ledger serve --max-in-flight-per-address; clients behind one NAT "
                    + "share it) and had " + byAddress + asked + ": wait for answers before sending more";
            case OPERATIONS_FAIR_SHARE -> "the service had " + all + " of its " + limits.total() + " operations in "
                    + "flight taken and keeps the last " + reserve + " for addresses holding fewer than "
                    + limits.perKey() + "; address " + address + " had " + byAddress + asked + ": wait for answers "
                    + "and retry (depin ledger serve --max-in-flight-total raises the total)";
            default -> "the service had " + all + " of its " + limits.total() + " operations in flight taken (depin "
                    + "ledger serve --max-in-flight-total), " + k + " " + byKey + asked + ": wait for answers and "
                    + "retry";
        };
        return Status.RESOURCE_EXHAUSTED.withDescription(message).asRuntimeException();
    }
}
