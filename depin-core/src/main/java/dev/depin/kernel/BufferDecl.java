package dev.depin.kernel;

import dev.depin.InvalidArgumentException;

/**
 * A named buffer a kernel reads or writes, with its exact size in bytes.
 *
 * @param name  1–64 characters of letters, digits, '_', '-' or '.'
 * @param bytes size in bytes, 0 &lt; bytes &le; {@link #MAX_BYTES}
 */
public record BufferDecl(String name, long bytes) {
    /** Largest buffer a job may use: 2 GiB - 1, the limit of one Java buffer. */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 8L;


    /**
     * Checks the name and the size.
     *
     * @param name  1–64 characters of letters, digits, '_', '-' or '.'
     * @param bytes size in bytes, 0 &lt; bytes &le; {@link #MAX_BYTES}
     * @throws InvalidArgumentException if the name is malformed or the size out of range
     */
    public BufferDecl {
        checkName(name);
        if (bytes <= 0 || bytes > MAX_BYTES) {
            throw new ShapeMismatchException("buffer '" + name + "' would have " + bytes
                    + " bytes: sizes must be between 1 and " + MAX_BYTES + " bytes; split the job");
        }
    }

    /** Validates a buffer name. */
    static void checkName(String name) {
        InvalidArgumentException.requireNonNull(name, "buffer name");
        if (!validName(name)) {
            throw new InvalidArgumentException("buffer name '" + name
                    + "' must be 1-64 letters, digits, '_', '-' or '.'");
        }
    }

    /**
     * {@code [A-Za-z0-9_.-]{1,64}}, checked by hand: every spec a node receives names its buffers,
     * and a regex match per name was a visible share of a small job's parse.
     */
    private static boolean validName(String name) {
        int n = name.length();
        if (n < 1 || n > 64) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
                    || c == '-')) {
                return false;
            }
        }
        return true;
    }
}
