package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.BufferDecl;

/**
 * A named input buffer as the spec commits to it: its size and the RFC 6962 Merkle root
 * (SHA-256, {@link JobSpec#MERKLE_CHUNK_BYTES}-byte chunks) of its bytes.
 *
 * @param name       the kernel's name for the buffer
 * @param bytes      exact size in bytes
 * @param merkleRoot 64 lower-case hex characters
 */
public record InputRef(String name, long bytes, String merkleRoot) {

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
        if (merkleRoot == null) {
            // The message is built only when needed: every spec a node receives makes InputRefs.
            InvalidArgumentException.requireNonNull(merkleRoot, "merkle root of input '" + name + "'");
        }
        if (!dev.depin.crypto.Hex.isLowerHex(merkleRoot, 64)) {
            throw new InvalidArgumentException("merkle root of input '" + name
                    + "' must be 64 lower-case hex characters (a SHA-256)");
        }
    }
}
