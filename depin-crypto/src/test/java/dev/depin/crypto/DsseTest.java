package dev.depin.crypto;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DsseTest {
    @Test
    void pae_specExample_matches() {
        byte[] pae = Dsse.pae("http://example.com/HelloWorld", "hello world".getBytes(StandardCharsets.UTF_8));
        assertEquals("DSSEv1 29 http://example.com/HelloWorld 11 hello world", new String(pae, StandardCharsets.UTF_8));
    }

    @Test
    void pae_emptyAndMultibyte_countBytesNotChars() {
        assertEquals("DSSEv1 1 t 0 ", new String(Dsse.pae("t", new byte[0]), StandardCharsets.UTF_8));
        byte[] pae = Dsse.pae("tÿpe", "é".getBytes(StandardCharsets.UTF_8));
        assertEquals("DSSEv1 5 tÿpe 2 é", new String(pae, StandardCharsets.UTF_8));
    }
}
