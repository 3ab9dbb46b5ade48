package dev.depin.node;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FairQueueTest {
    private static FairQueue<String> queue(int capacity) {
        return new FairQueue<>(capacity, s -> s.substring(0, 1));
    }

    @Test
    void poll_servesTenantsInTurnFifoWithinOne() throws Exception {
        FairQueue<String> q = queue(16);
        for (int i = 1; i <= 5; i++) {
            assertTrue(q.offer("a" + i));
        }
        assertTrue(q.offer("b1"));
        assertTrue(q.offer("c1"));
        assertTrue(q.offer("b2"));
        List<String> order = new ArrayList<>();
        String s;
        while ((s = q.poll(0, TimeUnit.MILLISECONDS)) != null) {
            order.add(s);
        }
        assertEquals(List.of("a1", "b1", "c1", "a2", "b2", "a3", "a4", "a5"), order);
        assertEquals(0, q.size());
    }

    @Test
    void offer_fullQueue_refusedWhateverTheTenant() {
        FairQueue<String> q = queue(3);
        assertTrue(q.offer("a1"));
        assertTrue(q.offer("a2"));
        assertTrue(q.offer("b1"));
        assertFalse(q.offer("c1"));
        assertEquals(0, q.remainingCapacity());
    }

    @Test
    void remove_dropsTheElementAndAnEmptyTenantLeavesTheTurn() {
        FairQueue<String> q = queue(8);
        q.offer("a1");
        q.offer("b1");
        q.offer("a2");
        assertTrue(q.remove("b1"));
        assertFalse(q.remove("b1"));
        List<String> all = new ArrayList<>();
        q.iterator().forEachRemaining(all::add);
        assertEquals(List.of("a1", "a2"), all);
        List<String> drained = new ArrayList<>();
        assertEquals(2, q.drainTo(drained));
        assertEquals(List.of("a1", "a2"), drained);
        assertNull(q.poll());
    }
}
