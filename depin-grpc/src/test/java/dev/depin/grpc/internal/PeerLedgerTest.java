package dev.depin.grpc.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The per-peer and node-wide budget for output bytes held while their readers have not read them. */
class PeerLedgerTest {
    private static final long TOTAL = 10_000;
    private static final long PER_PEER = 6_000;

    private static PeerLedger ledger() {
        return new PeerLedger(new StreamLimits(1 << 20, 1 << 19, 8, 8, 1000, 1000, 1000, TOTAL, PER_PEER));
    }

    @Test
    void reserveDrain_pastPeersBudget_refusedWithHeldAndLimit() {
        PeerLedger l = ledger();
        NodePublicKey p = NodeKeyPair.generate().publicKey();
        assertNull(l.openStream(p));
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
        assertNull(l.openStream(a));
        assertNull(l.openStream(b));
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
        assertNull(l.openStream(p));
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
        assertNull(l.openStream(p));
        assertNull(l.startJob(p, "j", 100));
        assertNull(l.reserveDrain(p, 3_000));
        l.endJob(p);
        l.closeStream(p);
        assertEquals(1, l.peers(), "still holds unread output bytes");
        l.releaseDrain(p, 3_000);
        assertEquals(0, l.peers());
        assertEquals(0, l.drainBytes());
    }
}
