package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Remote addresses ({@link AddressGroup}) whose requests a server keeps refusing, and which it
 * therefore refuses whole for a while. Each address counts its refusals in a window of
 * {@code windowNanos} from its first; the refusal that reaches {@code maxRefused} in one window
 * has the address refused for {@code blockNanos} from then on. A refusal counted while the
 * address is refused does not lengthen that time: it ends when it was set to, and the address
 * starts a fresh window.
 *
 * <p>Keys are free and addresses are not, so this is what keeps a flood of fresh keys from one
 * address from costing the server a stream, a parse and an answer per request: once the address
 * is refused, the server closes its connections and closes new ones before their TLS handshake.
 *
 * <p>Bounded: at most {@code maxAddresses} addresses are remembered, the least recently counted
 * or checked forgotten first, so an attacker with many addresses cannot grow the table; the worst
 * it can do is have its oldest addresses forgotten early. Time is read from {@code nanoClock}
 * (injectable for tests). Thread-safe; one lock, held for a map look-up.
 */
public final class AddressRefusals {
    private final int maxRefused;
    private final long windowNanos;
    private final long blockNanos;
    private final LongSupplier nanoClock;
    /** Whether any address was ever refused: until then a check reads no clock and takes no lock. */
    private volatile boolean any;
    /** The latest time any address is refused until: past it, a check takes no lock. */
    private volatile long latestEnd;
    /** Per address: {window start, refusals in it, refused until (0: not refused)}. */
    private final LinkedHashMap<String, long[]> addresses;

    /**
     * @param maxRefused   refusals in one window that have an address refused
     * @param windowNanos  the window refusals are counted in
     * @param blockNanos   how long an address stays refused once it reached {@code maxRefused}
     * @param maxAddresses addresses remembered at most
     * @param nanoClock    monotonic time in nanoseconds ({@code System::nanoTime})
     * @throws InvalidArgumentException unless every bound is positive
     */
    public AddressRefusals(int maxRefused, long windowNanos, long blockNanos, int maxAddresses,
                           LongSupplier nanoClock) {
        if (maxRefused < 1 || windowNanos < 1 || blockNanos < 1 || maxAddresses < 1) {
            throw new InvalidArgumentException("per-address refusals: " + maxRefused + " refusals per " + windowNanos
                    + " ns, refused for " + blockNanos + " ns, " + maxAddresses + " addresses: each must be positive");
        }
        this.maxRefused = maxRefused;
        this.windowNanos = windowNanos;
        this.blockNanos = blockNanos;
        this.nanoClock = InvalidArgumentException.requireNonNull(nanoClock, "clock");
        this.addresses = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
                return size() > maxAddresses;
            }
        };
    }

    /**
     * Checks a server builder's per-address settings: {@code max} refusals 1 to {@code most}, and
     * the time an address stays refused 1 s to 1 h.
     *
     * @param what       what is counted, for the message ("refused renewals")
     * @param max        refusals one address may send in a window
     * @param most       the largest {@code max} allowed
     * @param refusedFor how long an address stays refused
     * @throws InvalidArgumentException outside those ranges, or on a null time
     */
    public static void checkSettings(String what, int max, int most, java.time.Duration refusedFor) {
        InvalidArgumentException.requireNonNull(refusedFor, "time an address stays refused");
        if (max < 1 || max > most || refusedFor.compareTo(java.time.Duration.ofSeconds(1)) < 0
                || refusedFor.compareTo(java.time.Duration.ofHours(1)) > 0) {
            throw new InvalidArgumentException(what + " per address " + max + " must be 1 to " + most + " and the time "
                    + "an address stays refused " + refusedFor + " 1 s to 1 h");
        }
    }

    /**
     * Counts one refusal of a request from {@code address}.
     *
     * @param address an {@link AddressGroup}, or null (not counted: not an IP connection)
     */
    public void refused(String address) {
        if (address == null) {
            return;
        }
        long now = nanoClock.getAsLong();
        synchronized (addresses) {
            long[] w = addresses.get(address);
            if (w != null && w[2] != 0) {
                if (now - w[2] < 0) {
                    return; // refused already, until when it was set to
                }
                w = null; // its time ended: a fresh window
            }
            if (w == null || now - w[0] >= windowNanos) {
                w = new long[] {now, 0, 0};
                addresses.put(address, w);
            }
            if (++w[1] >= maxRefused) {
                long until = now + blockNanos;
                w[2] = until == 0 ? 1 : until; // 0 means "not refused"
                if (!any || w[2] - latestEnd > 0) {
                    latestEnd = w[2];
                }
                any = true;
            }
        }
    }

    /**
     * @param address an {@link AddressGroup}, or null
     * @return nanoseconds the address stays refused, 0 when it is not
     */
    public long refusedFor(String address) {
        if (address == null || !any) {
            return 0; // the path of every call while no address is refused
        }
        long now = nanoClock.getAsLong();
        if (now - latestEnd >= 0) {
            return 0;
        }
        synchronized (addresses) {
            long[] w = addresses.get(address);
            if (w == null || w[2] == 0) {
                return 0;
            }
            long left = w[2] - now;
            if (left <= 0) {
                addresses.remove(address);
                return 0;
            }
            return left;
        }
    }

    /**
     * @param address an {@link AddressGroup} now refused
     * @param what    what was refused, e.g. "renewals this directory refused"
     * @return why a request from it is refused: its refusals, the window, and how long it stays refused
     */
    public String message(String address, String what) {
        long left = refusedFor(address);
        return "address " + address + " sent " + maxRefused + " " + what + " within " + windowNanos / 1_000_000 + " ms: "
                + "its calls and connections are refused for " + (left + 999_999) / 1_000_000 + " ms more; fix what was "
                + "refused before sending again";
    }

    /** @return addresses refused now (a walk over those remembered, at most {@code maxAddresses}) */
    public int refusedNow() {
        long now = nanoClock.getAsLong();
        int n = 0;
        synchronized (addresses) {
            for (long[] w : addresses.values()) {
                if (w[2] != 0 && w[2] - now > 0) {
                    n++;
                }
            }
        }
        return n;
    }

    /** @return addresses remembered now */
    public int size() {
        synchronized (addresses) {
            return addresses.size();
        }
    }
}
