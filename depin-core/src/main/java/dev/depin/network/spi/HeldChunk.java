package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.job.JobSpec;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One chunk of data a provider holds for the buyer (an output a job left there), as a network
 * read it, with the RFC 9162 audit path from the chunk's own subtree root (its bytes over
 * {@link JobSpec#MERKLE_CHUNK_BYTES}-byte leaves) up to the output's root. The network does
 * not vouch for it: the client checks every chunk against the root its verified receipt
 * signed before it uses any.
 *
 * @param index the chunk's index
 * @param data  the chunk's bytes (read-only)
 * @param path  the audit path, 32 bytes per hash
 */
public record HeldChunk(int index, ByteBuffer data, List<byte[]> path) {
    /** Chunks one read may ask for. */
    public static final int MAX_CHUNKS = 64;
    /** Chunk bytes one read may return in all. */
    public static final int MAX_BYTES = 2 << 20;
    /** The largest chunk: 1 MiB. */
    public static final int MAX_CHUNK_BYTES = 1 << 20;
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    /**
     * Validates and copies the path.
     *
     * @param index the chunk's index, &ge; 0
     * @param data  its bytes; not null
     * @param path  its audit path; not null
     * @throws InvalidArgumentException on null or a negative index
     */
    public HeldChunk {
        if (index < 0) {
            throw new InvalidArgumentException("chunk index " + index + " must be >= 0");
        }
        data = InvalidArgumentException.requireNonNull(data, "chunk data").asReadOnlyBuffer();
        path = List.copyOf(InvalidArgumentException.requireNonNull(path, "audit path")).stream()
                .map(byte[]::clone).toList();
    }

    /** @return the audit path, copied */
    @Override
    public List<byte[]> path() {
        return path.stream().map(byte[]::clone).toList();
    }

    /** @return a fresh read-only view of the bytes */
    @Override
    public ByteBuffer data() {
        return data.duplicate();
    }

    /**
     * Checks one read's request: a well-formed root, a chunk size of 4 KiB times a power of two
     * up to 1 MiB, 1 to {@value #MAX_CHUNKS} strictly increasing indices inside the data, and at
     * most {@value #MAX_BYTES} bytes in all.
     *
     * @param root       the data's root, hex
     * @param bytes      its size
     * @param chunkBytes the chunk size
     * @param chunks     the indices
     * @throws InvalidArgumentException on the first thing out of bounds
     */
    public static void checkRequest(String root, long bytes, int chunkBytes, int[] chunks) {
        InvalidArgumentException.requireNonNull(chunks, "chunk indices");
        String bad = null;
        if (root == null || !HEX64.matcher(root).matches()) {
            bad = "the root must be 64 lower-case hex characters";
        } else if (bytes < 1) {
            bad = "data of " + bytes + " bytes has no chunks";
        } else if (chunkBytes < JobSpec.MERKLE_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES
                || chunkBytes % JobSpec.MERKLE_CHUNK_BYTES != 0
                || Integer.bitCount(chunkBytes / JobSpec.MERKLE_CHUNK_BYTES) != 1) {
            bad = "a chunk of " + chunkBytes + " bytes is not " + JobSpec.MERKLE_CHUNK_BYTES
                    + " bytes times a power of two, at most " + MAX_CHUNK_BYTES;
        } else if (chunks.length < 1 || chunks.length > MAX_CHUNKS) {
            bad = "ask for 1 to " + MAX_CHUNKS + " chunks per read, not " + chunks.length;
        } else {
            long count = (bytes + chunkBytes - 1) / chunkBytes;
            long total = 0;
            long previous = -1;
            for (int c : chunks) {
                if (c <= previous || c >= count) {
                    bad = "chunk indices must be strictly increasing and below the " + count + " chunk(s) of "
                            + chunkBytes + " bytes; got " + c + " after " + previous;
                    break;
                }
                previous = c;
                total += Math.min(chunkBytes, bytes - (long) c * chunkBytes);
            }
            if (bad == null && total > MAX_BYTES) {
                bad = total + " bytes of chunks in one read: at most " + MAX_BYTES;
            }
        }
        if (bad != null) {
            throw new InvalidArgumentException("cannot read chunks of " + root + " (" + bytes + " bytes): " + bad);
        }
    }
}
