package dev.depin.crypto.verify;

import java.nio.ByteBuffer;

/**
 * Recomputes one chunk of a job's output with a trusted reference (e.g. the CPU
 * executor), for {@link SpotCheck}. The kernel must be element-wise or row-decomposable so
 * that a chunk can be recomputed without the rest of the output.
 */
@FunctionalInterface
public interface ChunkRecomputer {
    /**
     * The expected bytes of one output chunk.
     *
     * @param chunkIndex 0-based chunk index
     * @param byteOffset offset of the chunk in the output
     * @param byteLength length of the chunk (the last chunk may be short)
     * @return exactly {@code byteLength} remaining bytes
     */
    ByteBuffer recompute(int chunkIndex, long byteOffset, int byteLength);
}
