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
                addresses.put(address, new long[] {now, 1, maxRefused == 1 ? now + blockNanos : 0});
            } else if (++w[1] >= maxRefused) {
                w[2] = now + blockNanos;
                if (w[2] == 0) {
                    w[2] = 1; // 0 means "not refused"
                }
            }
        }
    }

    /**
     * @param address an {@link AddressGroup}, or null
     * @return nanoseconds the address stays refused, 0 when it is not
     */
    public long refusedFor(String address) {
        if (address == null) {
            return 0;
        }
        long now = nanoClock.getAsLong();
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
