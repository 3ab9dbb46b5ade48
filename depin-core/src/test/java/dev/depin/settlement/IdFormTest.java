package dev.depin.settlement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link AccountId} and {@link OperationKey} check their form by hand (no regular expression on
 * the ledger's busiest path): they accept exactly what the regular expressions they replaced
 * accepted, on generated strings of every length around the limits, with characters inside and
 * just outside the allowed sets (fixed seed).
 */
class IdFormTest {
    private static final Pattern ACCOUNT = Pattern.compile("[A-Za-z0-9:._-]{1,128}");
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9:._/-]{1,200}");
    /** The allowed characters, their neighbours in ASCII, and a few beyond it. */
    private static final String CHARS = "AZaz09:._-/ @[`{,;\t\n\u00e9\u0100\u4e00\u2028";

    @Test
    void of_acceptsExactlyWhatTheFormerPatternsAccepted() {
        long seed = 1206L;
        Random r = new Random(seed);
        int accepted = 0;
        for (int i = 0; i < 20_000; i++) {
            int length = r.nextInt(8) == 0 ? 120 + r.nextInt(90) : r.nextInt(12);
            StringBuilder sb = new StringBuilder(length);
            boolean clean = r.nextInt(3) > 0;
            for (int j = 0; j < length; j++) {
                sb.append(CHARS.charAt(r.nextInt(clean ? 11 : CHARS.length())));
            }
            String s = sb.toString();
            assertEquals(ACCOUNT.matcher(s).matches(), accepts(() -> AccountId.of(s)), "seed " + seed + ", account '" + s + "'");
            assertEquals(KEY.matcher(s).matches(), accepts(() -> OperationKey.of(s)), "seed " + seed + ", key '" + s + "'");
            accepted += KEY.matcher(s).matches() ? 1 : 0;
        }
        if (accepted < 1_000) {
            throw new AssertionError("the generator produced only " + accepted + " well-formed keys: it tests too little");
        }
    }

    @Test
    void of_malformed_saysWhatIsAllowed() {
        InvalidArgumentException a = assertThrows(InvalidArgumentException.class, () -> AccountId.of("buyer/acme"));
        assertEquals("account id 'buyer/acme' is malformed: use 1 to 128 characters from A-Z a-z 0-9 : . _ -", a.getMessage());
        InvalidArgumentException k = assertThrows(InvalidArgumentException.class, () -> OperationKey.of("k".repeat(201)));
        assertEquals("operation key '" + "k".repeat(201) + "' is malformed: use 1 to 200 characters from A-Z a-z 0-9 : . _ / -",
                k.getMessage());
        assertThrows(InvalidArgumentException.class, () -> AccountId.of(""));
        assertThrows(InvalidArgumentException.class, () -> OperationKey.of(null));
    }

    private static boolean accepts(Runnable r) {
        try {
            r.run();
            return true;
        } catch (InvalidArgumentException e) {
            return false;
        }
    }
}
