package dev.depin.crypto.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.VerificationException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RedundantTest {
    private static ByteBuffer floats(float... f) {
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : f) {
            b.putFloat(v);
        }
        return b.flip();
    }

    @Test
    void compare_oneBitwiseDissenter_majorityWins() {
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        m.put("p1", floats(1, 2, 3));
        m.put("p2", floats(1, 2, 4));
        m.put("p3", floats(1, 2, 3));
        Redundant.Outcome o = Redundant.compare(m, Comparison.bitwise());
        assertEquals("p1", o.winner());
        assertEquals(List.of("p1", "p3"), o.agreeing());
        assertEquals(List.of("p2"), o.dissenting());
        assertEquals("provider p2 byte 10", o.evidence().get("p2").location());
        assertEquals(2, o.report().assurance().number(Assurance.AGREEING).orElseThrow());
        assertFalse(o.report().allPassed());
    }

    @Test
    void compare_floatTolerance_smallDifferencesAgree() {
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        m.put("a", floats(1f, 2f, 3f));
        m.put("b", floats(1.0000001f, 2f, 3f));
        m.put("c", floats(1f, 2.5f, 3f));
        Redundant.Outcome o = Redundant.compare(m, Comparison.float32(1e-5, 0));
        assertEquals(List.of("a", "b"), o.agreeing());
        assertEquals(List.of("c"), o.dissenting());
        assertEquals("2.0", o.evidence().get("c").expected());
        assertEquals("2.5", o.evidence().get("c").actual());
    }

    @Test
    void compare_noMajority_throwsNoMajority() {
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        m.put("a", floats(1));
        m.put("b", floats(2));
        assertEquals(VerificationException.Reason.NO_MAJORITY,
                assertThrows(VerificationException.class, () -> Redundant.compare(m, Comparison.bitwise())).reason());
        m.put("c", floats(3));
        m.put("d", floats(1));
        assertEquals(VerificationException.Reason.NO_MAJORITY,
                assertThrows(VerificationException.class, () -> Redundant.compare(m, Comparison.bitwise())).reason());
        assertThrows(InvalidArgumentException.class, () -> Redundant.compare(Map.of("x", floats(1)), Comparison.bitwise()));
    }

    @Test
    void compare_differentLengths_disagree() {
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        m.put("a", floats(1, 2));
        m.put("b", floats(1, 2));
        m.put("c", floats(1));
        Redundant.Outcome o = Redundant.compare(m, Comparison.float32(0.1, 0));
        assertEquals(List.of("c"), o.dissenting());
    }
}
