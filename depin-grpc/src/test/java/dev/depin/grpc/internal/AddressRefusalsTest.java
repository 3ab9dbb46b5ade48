package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AddressRefusalsTest {
    private static final long S = 1_000_000_000L;

    @Test
    void refused_atTheMaximumWithinTheWindow_addressRefusedForItsTimeThenFresh() {
        AtomicLong now = new AtomicLong(-5 * S); // nanoTime may be negative
        AddressRefusals r = new AddressRefusals(3, 10 * S, 30 * S, 16, now::get);
        r.refused("192.0.2.7");
        r.refused("192.0.2.7");
        assertEquals(0, r.refusedFor("192.0.2.7"), "two of three");
        now.addAndGet(9 * S);
        r.refused("192.0.2.7");
        assertEquals(30 * S, r.refusedFor("192.0.2.7"), "the third within 10 s");
        assertEquals(0, r.refusedFor("192.0.2.8"), "another address is not refused");
        assertEquals("address 192.0.2.7 sent 3 renewals refused within 10000 ms: its calls and connections are "
                + "refused for 30000 ms more; fix what was refused before sending again",
                r.message("192.0.2.7", "renewals refused"));
        // Refusals counted while it is refused do not lengthen the time.
        now.addAndGet(29 * S);
        for (int i = 0; i < 100; i++) {
            r.refused("192.0.2.7");
        }
        assertEquals(S, r.refusedFor("192.0.2.7"));
        now.addAndGet(S);
        assertEquals(0, r.refusedFor("192.0.2.7"), "its time ended");
        r.refused("192.0.2.7");
        r.refused("192.0.2.7");
        assertEquals(0, r.refusedFor("192.0.2.7"), "a fresh window: two of three again");
    }

    @Test
    void refused_spreadOverWindows_neverRefused() {
        AtomicLong now = new AtomicLong();
        AddressRefusals r = new AddressRefusals(3, 10 * S, 30 * S, 16, now::get);
        for (int i = 0; i < 10; i++) {
            r.refused("2001:db8:0:1::/64");
            r.refused("2001:db8:0:1::/64");
            now.addAndGet(10 * S); // the window ends before the third
        }
        assertEquals(0, r.refusedFor("2001:db8:0:1::/64"));
    }

    @Test
    void refused_maximumOne_refusedAtTheFirst() {
        AddressRefusals r = new AddressRefusals(1, 10 * S, 5 * S, 16, () -> 7);
        r.refused("192.0.2.7");
        assertEquals(5 * S, r.refusedFor("192.0.2.7"));
    }

    @Test
    void refusedFor_overlappingAndEndedRefusals_eachAddressItsOwnTime() {
        AtomicLong now = new AtomicLong(Long.MAX_VALUE - 20 * S); // the clock wraps within the test
        AddressRefusals r = new AddressRefusals(1, 10 * S, 30 * S, 16, now::get);
        assertEquals(0, r.refusedFor("192.0.2.1"), "none refused yet");
        assertEquals(0, r.refusedNow());
        r.refused("192.0.2.1");
        now.addAndGet(10 * S);
        r.refused("192.0.2.2");
        assertEquals(20 * S, r.refusedFor("192.0.2.1"));
        assertEquals(30 * S, r.refusedFor("192.0.2.2"));
        assertEquals(2, r.refusedNow());
        now.addAndGet(25 * S);
        assertEquals(0, r.refusedFor("192.0.2.1"), "its time ended");
        assertEquals(5 * S, r.refusedFor("192.0.2.2"), "the later one's has not");
        assertEquals(1, r.refusedNow());
        now.addAndGet(5 * S);
        assertEquals(0, r.refusedFor("192.0.2.2"));
        assertEquals(0, r.refusedNow());
        r.refused("192.0.2.1"); // a fresh window, refused again at its first (maximum 1)
        assertEquals(30 * S, r.refusedFor("192.0.2.1"));
        assertEquals(0, r.refusedFor("192.0.2.2"));
    }

    @Test
    void refused_nullAddress_neverCountedNorRefused() {
        AddressRefusals r = new AddressRefusals(1, 10 * S, 5 * S, 16, () -> 0);
        r.refused(null);
        assertEquals(0, r.refusedFor(null));
        assertEquals(0, r.size());
    }

    @Test
    void refused_manyAddresses_tableBoundedLeastRecentForgotten() {
        AtomicLong now = new AtomicLong();
        AddressRefusals r = new AddressRefusals(2, 10 * S, 30 * S, 4, now::get);
        r.refused("10.0.0.1");
        r.refused("10.0.0.1"); // refused
        for (int i = 0; i < 20_000; i++) { // an attacker's fresh addresses
            r.refused("10.1." + (i >> 8) + "." + (i & 0xff));
            assertEquals(30 * S, r.refusedFor("10.0.0.1"), "checked after each, so kept as recently used");
            assertEquals(Math.min(i + 2, 4), r.size(), "after " + i);
        }
        assertEquals(4, r.size());
        // Not checked for 3 fresh addresses: forgotten, the table's bound before its memory.
        r.refused("10.2.0.1");
        r.refused("10.2.0.2");
        r.refused("10.2.0.3");
        r.refused("10.2.0.4");
        assertEquals(0, r.refusedFor("10.0.0.1"));
        assertEquals(4, r.size());
    }

    @Test
    void new_nonPositiveBound_refusedWithEachBound() {
        assertEquals("per-address refusals: 0 refusals per 1 ns, refused for 1 ns, 1 addresses: each must be positive",
                assertThrows(InvalidArgumentException.class, () -> new AddressRefusals(0, 1, 1, 1, () -> 0))
                        .getMessage());
        assertThrows(InvalidArgumentException.class, () -> new AddressRefusals(1, 0, 1, 1, () -> 0));
        assertThrows(InvalidArgumentException.class, () -> new AddressRefusals(1, 1, 0, 1, () -> 0));
        assertThrows(InvalidArgumentException.class, () -> new AddressRefusals(1, 1, 1, 0, () -> 0));
    }
}
