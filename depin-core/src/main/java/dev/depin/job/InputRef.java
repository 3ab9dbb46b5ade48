package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.BufferDecl;
import java.util.regex.Pattern;

/**
 * A named input buffer as the spec commits to it: its size and the RFC 6962 Merkle root
 * (SHA-256, {@link JobSpec#MERKLE_CHUNK_BYTES}-byte chunks) of its bytes.
 *
 * @param name       the kernel's name for the buffer
 * @param bytes      exact size in bytes
 * @param merkleRoot 64 lower-case hex characters
 */
public record InputRef(String name, long bytes, String merkleRoot) {
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    /**
     * Creates a reference after checking its fields.
     *
     * @param name       the kernel's name for the buffer; a valid buffer name, as
     *                   {@link BufferDecl} requires
     * @param bytes      exact size in bytes, within the range {@link BufferDecl} allows
     * @param merkleRoot the Merkle root of the bytes: exactly 64 lower-case hex characters
     * @throws InvalidArgumentException on a malformed name, size or root
     */
    public InputRef {
        new BufferDecl(name, bytes);
        InvalidArgumentException.requireNonNull(merkleRoot, "merkle root of input '" + name + "'");
        if (!HEX64.matcher(merkleRoot).matches()) {
            throw new InvalidArgumentException("merkle root of input '" + name
                    + "' must be 64 lower-case hex characters (a SHA-256)");
        }
    }
}
