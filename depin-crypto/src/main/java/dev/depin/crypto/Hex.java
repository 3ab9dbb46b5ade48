package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.util.Arrays;

/**
 * Lower-case hexadecimal encoding, the textual form of every digest and key id in depin.
 *
 * <pre>{@code
 * String h = Hex.encode(digest);          // "9f86d081..."
 * byte[] d = Hex.decode(h);               // throws InvalidArgumentException on bad input
 * }</pre>
 */
public final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {
    }

    /**
     * Encodes bytes as lower-case hex, two characters per byte.
     *
     * @param bytes the bytes; not {@code null}
     * @return the hex string ({@code ""} for an empty array)
     */
    public static String encode(byte[] bytes) {
        InvalidArgumentException.requireNonNull(bytes, "bytes");
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            out[2 * i] = DIGITS[b >>> 4];
            out[2 * i + 1] = DIGITS[b & 0x0f];
        }
        return new String(out);
    }

    /**
     * Decodes a hex string (upper or lower case accepted).
     *
     * @param hex an even number of hex digits; not {@code null}
     * @return the decoded bytes
     * @throws dev.depin.InvalidArgumentException if the length is odd or a character is not a hex digit
     */
    public static byte[] decode(String hex) {
        InvalidArgumentException.requireNonNull(hex, "hex");
        if ((hex.length() & 1) != 0) {
            throw new InvalidArgumentException("hex string has an odd length (" + hex.length()
                    + "): pass two hex digits per byte");
        }
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = digit(hex.charAt(2 * i));
            int lo = digit(hex.charAt(2 * i + 1));
            if (hi < 0 || lo < 0) {
                throw new InvalidArgumentException("hex string has a non-hex character near index "
                        + (2 * i) + ": use only 0-9 and a-f");
            }
            out[i] = (byte) ((hi << 4) | lo);
        }
        return out;
    }

    /** ASCII hex digits' values, -1 elsewhere. */
    private static final byte[] VALUES = new byte[128];

    static {
        Arrays.fill(VALUES, (byte) -1);
        for (int c = 0; c < 128; c++) {
            VALUES[c] = (byte) Character.digit(c, 16);
        }
    }

    /**
     * {@code Character.digit(c, 16)}, by a table for ASCII (every hex string this project reads
     * is ASCII; a settlement client decodes a few hundred bytes of hex per hold certificate).
     */
    private static int digit(char c) {
        return c < 128 ? VALUES[c] : Character.digit(c, 16);
    }

    /**
     * Tells whether {@code s} is exactly {@code length} lower-case hex characters.
     *
     * @param s      the string to test; may be {@code null} (then {@code false})
     * @param length the required number of characters
     * @return {@code true} if {@code s} has that length and only {@code 0-9a-f}
     */
    public static boolean isLowerHex(String s, int length) {
        if (s == null || s.length() != length) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }
}
