package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.nio.ByteBuffer;

/**
 * A named buffer's commitment: its RFC 6962 Merkle root (hex) and its size.
 *
 * <pre>{@code
 * BufferDigest d = BufferDigest.of("C", outputBuffer, Merkle.DEFAULT_CHUNK_SIZE);
 * }</pre>
 *
 * @param name       the buffer's name in the job (non-empty)
 * @param merkleRoot 64 lower-case hex characters
 * @param bytes      the buffer's length in bytes (&ge; 0)
 */
public record BufferDigest(String name, String merkleRoot, long bytes) {
    /**
     * Validates.
     *
     * @param name       the buffer's name in the job (non-empty)
     * @param merkleRoot 64 lower-case hex characters
     * @param bytes      the buffer's length in bytes (&ge; 0)
     */
    public BufferDigest {
        InvalidArgumentException.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new InvalidArgumentException("a buffer name must not be empty");
        }
        if (!Hex.isLowerHex(merkleRoot, 64)) {
            throw new InvalidArgumentException("merkleRoot of '" + name + "' must be 64 lower-case hex characters, got "
                    + merkleRoot);
        }
        if (bytes < 0) {
            throw new InvalidArgumentException("bytes of '" + name + "' must be >= 0, got " + bytes);
        }
    }

    /**
     * Computes the commitment of the remaining bytes of {@code data} (position unchanged).
     *
     * @param name      the buffer's name
     * @param data      the bytes
     * @param chunkSize the Merkle chunk size
     * @return the commitment
     */
    public static BufferDigest of(String name, ByteBuffer data, int chunkSize) {
        InvalidArgumentException.requireNonNull(data, "data");
        return new BufferDigest(name, Hex.encode(Merkle.root(data, chunkSize)), data.remaining());
    }
}
