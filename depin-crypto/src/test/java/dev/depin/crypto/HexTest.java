package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HexTest {
    @Test
    void decode_randomBytes_roundTripsInBothCases() {
        Random random = new Random(16);
        System.out.println("HexTest seed 16");
        for (int n : new int[] {0, 1, 31, 32, 33, 64, 255}) {
            byte[] b = new byte[n];
            random.nextBytes(b);
            String hex = Hex.encode(b);
            assertArrayEquals(b, Hex.decode(hex));
            assertArrayEquals(b, Hex.decode(hex.toUpperCase(Locale.ROOT)));
        }
    }

    @Test
    void decode_everyChar_acceptsExactlyWhatCharacterDigitAccepts() {
        // the ASCII table must agree with Character.digit(c, 16), the rule decode had before it,
        // for every char (non-ASCII chars still go through Character.digit)
        for (int c = 0; c <= Character.MAX_VALUE; c++) {
            String s = "0" + (char) c;
            int digit = Character.digit((char) c, 16);
            if (digit < 0) {
                InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> Hex.decode(s), s);
                assertEquals("hex string has a non-hex character near index 0: use only 0-9 and a-f", e.getMessage());
            } else {
                assertArrayEquals(new byte[] {(byte) digit}, Hex.decode(s), "char " + c);
            }
        }
    }

    @Test
    void decode_badInput_saysWhatWasWrong() {
        assertEquals("hex string has an odd length (3): pass two hex digits per byte",
                assertThrows(InvalidArgumentException.class, () -> Hex.decode("abc")).getMessage());
        assertEquals("hex string has a non-hex character near index 2: use only 0-9 and a-f",
                assertThrows(InvalidArgumentException.class, () -> Hex.decode("00g0")).getMessage());
        assertEquals("hex string has a non-hex character near index 0: use only 0-9 and a-f",
                assertThrows(InvalidArgumentException.class, () -> Hex.decode("\u0080a")).getMessage());
    }
}
