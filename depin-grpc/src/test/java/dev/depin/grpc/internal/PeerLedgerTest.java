package dev.depin.grpc.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The per-peer and node-wide budget for output bytes held while their readers have not read them,
 * and what one address holds over all its keys.
 */
class PeerLedgerTest {
    private static final long TOTAL = 10_000;
    private static final long PER_PEER = 6_000;

    private static PeerLedger ledger() {
        return new PeerLedger(new StreamLimits(1 << 20, 1 << 19, 8, 8, 1000, 1000, 1000, TOTAL, PER_PEER, 60_000),
                new AddressLimits(64, 1 << 20, 128));
    }

    @Test
    void reserveDrain_pastPeersBudget_refusedWithHeldAndLimit() {
        PeerLedger l = ledger();
        NodePublicKey p = NodeKeyPair.generate().publicKey();
        assertNull(l.openStream(p, null));
        assertNull(l.reserveDrain(p, 4_000));
        assertEquals("peer " + p.nodeId().shortId() + " has 4000 output bytes here that it has not read; 2001 more "
                + "would pass this node's limit of 6000 per peer: attempt stopped, read the outputs of earlier jobs "
                + "first", l.reserveDrain(p, 2_001));
        assertNull(l.reserveDrain(p, 2_000), "exactly the budget fits");
        assertEquals(6_000, l.drainBytes());
        assertArrayEquals(new long[] {1, 0, 0, 6_000}, l.maxPerPeer());
    }

    @Test
    void reserveDrain_pastNodesBudget_refusedAsBusy() {
        PeerLedger l = ledger();
        NodePublicKey a = NodeKeyPair.generate().publicKey();
        NodePublicKey b = NodeKeyPair.generate().publicKey();
        assertNull(l.openStream(a, null));
        assertNull(l.openStream(b, null));
        assertNull(l.reserveDrain(a, 6_000));
        assertEquals("node is busy holding 6000 output bytes that their readers have not read; 4001 more would pass "
                + "its limit of 10000: attempt stopped, try later or another provider", l.reserveDrain(b, 4_001));
        assertNull(l.reserveDrain(b, 4_000));
        assertEquals(TOTAL, l.drainBytes());
    }

    @Test
    void startJob_unreadOutputs_onlyJobsThatFitBesideThem() {
        PeerLedger l = ledger();
        NodePublicKey p = NodeKeyPair.generate().publicKey();
        assertNull(l.openStream(p, null));
        assertNull(l.startJob(p, "j1", 1L << 40), "a peer holding nothing may start a job of any size");
        l.endJob(p);
        assertNull(l.reserveDrain(p, 5_000));
        assertEquals("peer " + p.nodeId().shortId() + " has 5000 output bytes here that it has not read; job j2 "
                + "declares 1001 more, past this node's limit of 6000 per peer: read the outputs of its earlier jobs "
                + "before sending more", l.startJob(p, "j2", 1_001));
        assertNull(l.startJob(p, "j3", 1_000));
    }

    @Test
    void releaseDrain_afterStreamClosed_peerForgotten() {
        PeerLedger l = ledger();
        NodePublicKey p = NodeKeyPair.generate().publicKey();
        assertNull(l.openStream(p, null));
        assertNull(l.startJob(p, "j", 100));
        assertNull(l.reserveDrain(p, 3_000));
        l.endJob(p);
        l.closeStream(p, null);
        assertEquals(1, l.peers(), "still holds unread output bytes");
        l.releaseDrain(p, 3_000);
        assertEquals(0, l.peers());
        assertEquals(0, l.drainBytes());
    }

    @Test
    void openStream_manyKeysFromOneAddress_refusedPastTheAddressLimit() {
        PeerLedger l = new PeerLedger(new StreamLimits(1 << 20, 1 << 19, 8, 8, 1000, 1000, 1000, TOTAL, PER_PEER, 60_000),
                new AddressLimits(3, 1 << 20, 128));
        for (int i = 0; i < 3; i++) {
            assertNull(l.openStream(NodeKeyPair.generate().publicKey(), "192.0.2.7"));
        }
        NodePublicKey fourth = NodeKeyPair.generate().publicKey();
        assertEquals("address 192.0.2.7 has 3 Execute streams open over all its keys, this node's limit per "
                + "address: finish or cancel some first", l.openStream(fourth, "192.0.2.7"));
        assertEquals(3, l.peers(), "the refused key is not remembered");
        assertNull(l.openStream(fourth, "192.0.2.8"), "another address keeps its own share");
        assertArrayEquals(new long[] {3, 0}, l.maxPerAddress());
        l.closeStream(fourth, "192.0.2.8");
        assertEquals(1, l.addresses());
    }

    @Test
    void reserve_manyKeysFromOneAddress_refusedPastTheAddressBytes() {
        PeerLedger l = new PeerLedger(new StreamLimits(1 << 20, 1 << 19, 8, 8, 1000, 1000, 1000, TOTAL, PER_PEER, 60_000),
                new AddressLimits(64, 5_000, 128));
        NodePublicKey a = NodeKeyPair.generate().publicKey();
        NodePublicKey b = NodeKeyPair.generate().publicKey();
        assertNull(l.openStream(a, "2001:db8:0:1::/64"));
        assertNull(l.openStream(b, "2001:db8:0:1::/64"));
        assertNull(l.reserve(a, "2001:db8:0:1::/64", 3_000));
        assertEquals("address 2001:db8:0:1::/64 holds 3000 input bytes in the streams of all its keys here; 2001 more "
                + "would pass this node's limit of 5000 per address", l.reserve(b, "2001:db8:0:1::/64", 2_001));
        assertNull(l.reserve(b, "2001:db8:0:1::/64", 2_000), "exactly the limit fits");
        assertEquals(5_000, l.bytes());
        l.release(a, "2001:db8:0:1::/64", 3_000);
        l.release(b, "2001:db8:0:1::/64", 2_000);
        l.closeStream(a, "2001:db8:0:1::/64");
        l.closeStream(b, "2001:db8:0:1::/64");
        assertEquals(0, l.addresses());
        assertEquals(0, l.peers());
    }
}
