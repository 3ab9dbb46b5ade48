package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class NodeIdTest {
    private static final String ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    @Test
    void constructor_validHex_accepted() {
        NodeId id = new NodeId(ID);
        assertEquals("0123456789ab", id.shortId());
        assertEquals(ID, id.toString());
        assertEquals(32, id.bytes().length);
    }

    @Test
    void constructor_badHex_rejected() {
        assertThrows(InvalidArgumentException.class, () -> new NodeId(ID.toUpperCase()));
        assertThrows(InvalidArgumentException.class, () -> new NodeId(ID.substring(1)));
        assertThrows(InvalidArgumentException.class, () -> new NodeId(ID.substring(1) + "g"));
        assertThrows(InvalidArgumentException.class, () -> new NodeId(null));
    }
}
