package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import java.util.regex.Pattern;

/**
 * A named buffer a kernel reads or writes, with its exact size in bytes.
 *
 * @param name  1–64 characters of letters, digits, '_', '-' or '.'
 * @param bytes size in bytes, 0 &lt; bytes &le; {@link #MAX_BYTES}
 */
public record BufferDecl(String name, long bytes) {
    /** Largest buffer a job may use: 2 GiB - 1, the limit of one Java buffer. */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 8L;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

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
        if (!NAME.matcher(name).matches()) {
            throw new InvalidArgumentException("buffer name '" + name
                    + "' must be 1-64 letters, digits, '_', '-' or '.'");
        }
    }
}
