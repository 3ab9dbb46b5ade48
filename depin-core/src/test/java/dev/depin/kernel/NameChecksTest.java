package dev.depin.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.job.InputRef;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The buffer-name, parameter-name and Merkle-root checks are hand-written loops (they run for
 * every spec a node receives); each must accept exactly what the regular expression it replaced
 * accepted. Random strings over an alphabet of allowed characters and their neighbours in
 * ASCII, non-ASCII letters and a surrogate pair, at every length around the limits.
 */
class NameChecksTest {
    /** Fixed seed for the random names. Printed so a failure can be replayed. */
    private static final long SEED = 20261207L;
    private static final Pattern BUFFER_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern PARAM_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.]{0,31}");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    /** The first 12 are allowed in buffer names; the rest are their neighbours and non-ASCII. */
    private static final String[] ALPHABET = {"a", "z", "A", "Z", "0", "9", "_", ".", "-", "m", "Q", "5",
        "/", ":", "@", "[", "`", "{", " ", "\u0000", "\u00e9", "\u0130", "\ud83d\ude00", "+", ",", "^"};
    /** The first 6 are lower-case hex digits. */
    private static final String[] HEX_ALPHABET = {"0", "9", "a", "f", "3", "c", "g", "A", "F", "/", ":", "`"};

    @BeforeAll
    static void printSeed() {
        System.out.println("NameChecksTest seed=" + SEED);
    }

    /** A random string of 0..maxLength characters, nine in ten of them drawn from the allowed ones. */
    private static String name(SplittableRandom rnd, int maxLength) {
        int len = rnd.nextInt(maxLength + 1);
        StringBuilder b = new StringBuilder();
        for (int j = 0; j < len; j++) {
            b.append(ALPHABET[rnd.nextInt(10) > 0 ? rnd.nextInt(12) : rnd.nextInt(ALPHABET.length)]);
        }
        return b.toString();
    }

    private static boolean accepted(Runnable r) {
        try {
            r.run();
            return true;
        } catch (InvalidArgumentException e) {
            return false;
        }
    }

    @Test
    void bufferName_acceptsExactlyWhatTheRegexAccepted() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        int valid = 0;
        for (int i = 0; i < 20_000; i++) {
            String name = name(rnd, 70);
            boolean expected = BUFFER_NAME.matcher(name).matches();
            assertEquals(expected, accepted(() -> BufferDecl.checkName(name)), "buffer name '" + name + "'");
            valid += expected ? 1 : 0;
        }
        assertTrue(valid > 1000, "too few valid names drawn: " + valid);
        assertTrue(accepted(() -> BufferDecl.checkName("a".repeat(64))));
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> BufferDecl.checkName("a".repeat(65)));
        assertTrue(e.getMessage().contains("must be 1-64 letters, digits, '_', '-' or '.'"), e.getMessage());
        assertThrowsExactly(InvalidArgumentException.class, () -> BufferDecl.checkName(""));
    }

    @Test
    void paramName_acceptsExactlyWhatTheRegexAccepted() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int valid = 0;
        for (int i = 0; i < 20_000; i++) {
            String name = name(rnd, 36);
            boolean expected = PARAM_NAME.matcher(name).matches();
            assertEquals(expected, accepted(() -> LaunchParams.builder().put(name, 1).build()),
                    "parameter name '" + name + "'");
            valid += expected ? 1 : 0;
        }
        assertTrue(valid > 500, "too few valid names drawn: " + valid);
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> LaunchParams.builder().put("_n", 1).build());
        assertTrue(e.getMessage().contains("must start with a letter"), e.getMessage());
    }

    @Test
    void inputRoot_acceptsExactlyWhatTheRegexAccepted() {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        int valid = 0;
        for (int i = 0; i < 20_000; i++) {
            // A valid root, then three in four of them changed at one place or cut to 63/65 characters.
            StringBuilder b = new StringBuilder();
            for (int j = 0; j < 64; j++) {
                b.append(HEX_ALPHABET[rnd.nextInt(6)]);
            }
            switch (rnd.nextInt(4)) {
                case 0 -> b.setCharAt(rnd.nextInt(64), HEX_ALPHABET[rnd.nextInt(HEX_ALPHABET.length)].charAt(0));
                case 1 -> b.setLength(63);
                case 2 -> b.append(HEX_ALPHABET[rnd.nextInt(HEX_ALPHABET.length)]);
                default -> {
                }
            }
            String r = b.toString();
            boolean expected = HEX64.matcher(r).matches();
            assertEquals(expected, accepted(() -> new InputRef("x", 4, r)), "root '" + r + "'");
            valid += expected ? 1 : 0;
        }
        assertTrue(valid > 4000, "too few valid roots drawn: " + valid);
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new InputRef("x", 4, "A".repeat(64)));
        assertTrue(e.getMessage().contains("merkle root of input 'x' must be 64 lower-case hex"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> new InputRef("x", 4, null));
        assertEquals("merkle root of input 'x' is null: pass a value", e.getMessage());
    }
}
