package dev.depin.grpc.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Refused Starts counted per key, and per address in the server's {@link AddressRefusals}. */
class RefusedStartsTest {
    private static final long S = 1_000_000_000L;

    @Test
    void check_freshKeysFromOneAddress_refusedPastTheAddressThresholdForItsTime() {
        AtomicLong now = new AtomicLong(S);
        AddressRefusals addresses = new AddressRefusals(5, RefusedStarts.WINDOW_NANOS, 30 * S, 16, now::get);
        RefusedStarts r = new RefusedStarts(addresses);
        for (int i = 0; i < 5; i++) {
            NodePublicKey k = NodeKeyPair.generate().publicKey();
            assertNull(r.check(k, "192.0.2.7", now.get()));
            r.refused(k, "192.0.2.7", now.get());
        }
        NodePublicKey fresh = NodeKeyPair.generate().publicKey();
        now.addAndGet(6 * S);
        assertEquals("address 192.0.2.7 sent 5 Start messages this node refused over all its keys (jobs it never "
                + "takes, or malformed) within 10000 ms: its calls and connections are refused for 24000 ms more; fix "
                + "what was refused before sending again", r.check(fresh, "192.0.2.7", now.get()));
        assertNull(r.check(fresh, "192.0.2.8", now.get()), "another address is not refused");
        now.addAndGet(24 * S);
        assertNull(r.check(fresh, "192.0.2.7", now.get()), "its time ended");
    }

    @Test
    void check_oneKey_refusedAtItsOwnThresholdWithoutAnAddress() {
        RefusedStarts r = new RefusedStarts(new AddressRefusals(1_000, RefusedStarts.WINDOW_NANOS, 30 * S, 16,
                () -> 0));
        NodePublicKey k = NodeKeyPair.generate().publicKey();
        for (int i = 0; i < RefusedStarts.MAX_REFUSED; i++) {
            r.refused(k, null, 0);
        }
        assertEquals("peer " + k.nodeId().shortId() + " sent 32 Start messages this node refused in the last 10 s "
                + "(jobs it never takes, or malformed): its Execute streams are refused for 10000 ms more; fix the "
                + "job before sending it again", r.check(k, null, 0));
    }
}
