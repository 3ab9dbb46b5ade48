package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.sla.PresenceStatement.Interval;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A directory's record of renewals as live intervals: renewals before the listing lapses extend
 * one interval, a lapse starts another, windows clip, and the bounds move the history forward
 * (the directory says it does not know) instead of reporting absence.
 */
class PresenceLogTest {
    private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");

    private static Instant t(long s) {
        return T0.plusSeconds(s);
    }

    private static Interval iv(long a, long b) {
        return new Interval(t(a), t(b));
    }

    private static NodeId node(int i) {
        byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
        seed[0] = (byte) i;
        return NodeKeyPair.fromSeed(seed).nodeId();
    }

    @Test
    void renewalsExtend_lapsesSplit_windowsClip() {
        PresenceLog log = new PresenceLog(t(0), 10, 10);
        NodeId p = node(1);
        log.renewed(p, t(0), t(30));
        log.renewed(p, t(20), t(50));   // before the lapse at 30: extends to 50
        log.renewed(p, t(50), t(80));   // exactly at the lapse: still one interval
        log.renewed(p, t(100), t(130)); // lapsed at 80: a new interval
        log.renewed(p, t(90), t(95));   // a clock that went back: ignored, never reordered
        log.renewed(p, t(140), t(140)); // listed for no time: nothing
        assertEquals(new PresenceLog.Window(t(0), List.of(iv(0, 80), iv(100, 130))), log.window(p, t(0), t(200)));
        assertEquals(new PresenceLog.Window(t(0), List.of(iv(10, 80), iv(100, 110))), log.window(p, t(10), t(110)));
        assertEquals(new PresenceLog.Window(t(0), List.of()), log.window(p, t(80), t(100)), "the lapse itself");
        assertEquals(new PresenceLog.Window(t(0), List.of()), log.window(node(2), t(0), t(200)),
                "a provider never seen: absent since the start");
    }

    @Test
    void theIntervalBound_movesTheHistory_notAbsence() {
        PresenceLog log = new PresenceLog(t(0), 10, 3);
        NodeId p = node(1);
        for (int i = 0; i < 5; i++) {
            log.renewed(p, t(100L * i), t(100L * i + 10)); // five lapses: intervals [0,10) … [400,410)
        }
        // The two oldest were dropped: known only from the end of the last dropped one (110).
        assertEquals(new PresenceLog.Window(t(110), List.of(iv(200, 210), iv(300, 310), iv(400, 410))),
                log.window(p, t(0), t(500)));
        assertEquals(new PresenceLog.Window(t(110), List.of(iv(200, 205))), log.window(p, t(0), t(205)));
    }

    @Test
    void theProviderBound_dropsTheLeastRecentlyRenewed_andSaysItNoLongerKnows() {
        PresenceLog log = new PresenceLog(t(0), 2, 10);
        log.renewed(node(1), t(10), t(20));
        log.renewed(node(2), t(15), t(25));
        log.renewed(node(1), t(18), t(30)); // node 1 renewed last: node 2 is the eldest
        log.renewed(node(3), t(40), t(50)); // a third provider: node 2 dropped at 40
        assertEquals(2, log.providers());
        assertEquals(new PresenceLog.Window(t(40), List.of()), log.window(node(2), t(0), t(100)),
                "a dropped provider is known only since the drop");
        assertEquals(new PresenceLog.Window(t(40), List.of()), log.window(node(7), t(0), t(100)),
                "so is any provider not held: it may have been dropped");
        assertEquals(new PresenceLog.Window(t(0), List.of(iv(10, 30))), log.window(node(1), t(0), t(100)));
        assertEquals(new PresenceLog.Window(t(30), List.of()), log.window(node(7), t(0), t(30)),
                "the history never passes the window's end");
        log.renewed(node(2), t(60), t(70)); // back: its new record starts at the drop
        assertEquals(new PresenceLog.Window(t(40), List.of(iv(60, 70))), log.window(node(2), t(0), t(100)));
    }
}
