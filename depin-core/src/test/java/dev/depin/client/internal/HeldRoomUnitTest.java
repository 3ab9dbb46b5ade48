package dev.depin.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodeId;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** {@link HeldRoom}: what is counted, until when, and its bound per provider. */
class HeldRoomUnitTest {
    private static final Instant T0 = Instant.parse("2026-12-06T00:00:00Z");
    private final NodeId a = NodeKeyPair.generate().nodeId();
    private final NodeId b = NodeKeyPair.generate().nodeId();

    @Test
    void countsPerProvider_untilEachExpires() {
        HeldRoom room = new HeldRoom();
        room.left(a, new long[] {100, 200}, T0, T0.plusSeconds(60));
        room.left(a, new long[] {50}, T0, T0.plusSeconds(30));
        room.left(b, new long[] {7}, T0, T0.plusSeconds(10));
        assertEquals(new HeldRoom.Held(350, 3, T0.plusSeconds(30)), room.held(a, T0));
        assertEquals(new HeldRoom.Held(7, 1, T0.plusSeconds(10)), room.held(b, T0));
        // Expired exactly at its instant.
        assertEquals(new HeldRoom.Held(300, 2, T0.plusSeconds(60)), room.held(a, T0.plusSeconds(30)));
        assertEquals(HeldRoom.Held.NONE, room.held(b, T0.plusSeconds(10)));
        assertEquals(HeldRoom.Held.NONE, room.held(a, T0.plusSeconds(60)));
        assertEquals(HeldRoom.Held.NONE, room.held(NodeKeyPair.generate().nodeId(), T0));
    }

    @Test
    void pastTheBound_theEarliestToExpireAreForgotten() {
        HeldRoom room = new HeldRoom();
        // One output expiring first, then the bound's worth expiring later: the first is dropped.
        room.left(a, new long[] {1_000}, T0, T0.plusSeconds(5));
        long[] ones = new long[HeldRoom.MAX_PER_PROVIDER];
        java.util.Arrays.fill(ones, 1);
        room.left(a, ones, T0, T0.plusSeconds(100));
        assertEquals(new HeldRoom.Held(HeldRoom.MAX_PER_PROVIDER, HeldRoom.MAX_PER_PROVIDER, T0.plusSeconds(100)),
                room.held(a, T0));
    }

    @Test
    void bytesSaturate_ratherThanOverflow() {
        HeldRoom room = new HeldRoom();
        room.left(a, new long[] {Long.MAX_VALUE - 1, 10}, T0, T0.plusSeconds(5));
        assertEquals(new HeldRoom.Held(Long.MAX_VALUE, 2, T0.plusSeconds(5)), room.held(a, T0));
    }

    @Test
    void pruningManyProviders_dropsOnlyWhatHasExpired() {
        HeldRoom room = new HeldRoom();
        NodeId[] many = new NodeId[1_024];
        for (int i = 0; i < many.length; i++) {
            many[i] = NodeKeyPair.generate().nodeId();
            room.left(many[i], new long[] {10}, T0, T0.plusSeconds(i == 0 ? 5 : 15));
        }
        // Past the provider count every expired output is pruned: only the first provider's.
        room.left(a, new long[] {1}, T0.plusSeconds(10), T0.plusSeconds(20));
        assertEquals(HeldRoom.Held.NONE, room.held(many[0], T0.plusSeconds(10)));
        assertEquals(new HeldRoom.Held(10, 1, T0.plusSeconds(15)), room.held(many[1], T0.plusSeconds(10)));
        assertEquals(new HeldRoom.Held(1, 1, T0.plusSeconds(20)), room.held(a, T0.plusSeconds(10)));
    }
}
