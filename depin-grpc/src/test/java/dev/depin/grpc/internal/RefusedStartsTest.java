package dev.depin.grpc.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Refused Starts counted per key and per address, each with its own threshold and window. */
class RefusedStartsTest {
    @Test
    void check_freshKeysFromOneAddress_refusedPastTheAddressThreshold() {
        RefusedStarts r = new RefusedStarts(5);
        long t = 1_000_000_000L;
        for (int i = 0; i < 5; i++) {
            NodePublicKey k = NodeKeyPair.generate().publicKey();
            assertNull(r.check(k, "192.0.2.7", t));
            r.refused(k, "192.0.2.7", t);
        }
        NodePublicKey fresh = NodeKeyPair.generate().publicKey();
        assertEquals("address 192.0.2.7 sent 5 Start messages this node refused in the last 10 s over all its keys "
                + "(jobs it never takes, or malformed): Execute streams from it are refused for 4000 ms more; fix the "
                + "job before sending it again", r.check(fresh, "192.0.2.7", t + 6_000_000_000L));
        assertNull(r.check(fresh, "192.0.2.8", t), "another address is not refused");
        assertNull(r.check(fresh, "192.0.2.7", t + RefusedStarts.WINDOW_NANOS), "the window ended");
    }

    @Test
    void check_oneKey_refusedAtItsOwnThresholdWithoutAnAddress() {
        RefusedStarts r = new RefusedStarts(1_000);
        NodePublicKey k = NodeKeyPair.generate().publicKey();
        for (int i = 0; i < RefusedStarts.MAX_REFUSED; i++) {
            r.refused(k, null, 0);
        }
        assertEquals("peer " + k.nodeId().shortId() + " sent 32 Start messages this node refused in the last 10 s "
                + "(jobs it never takes, or malformed): its Execute streams are refused for 10000 ms more; fix the "
                + "job before sending it again", r.check(k, null, 0));
    }
}
