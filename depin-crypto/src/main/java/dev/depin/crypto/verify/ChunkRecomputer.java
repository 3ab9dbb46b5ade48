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

    /**
     * Told which chunks are about to be recomputed, before the first {@link #recompute} of a
     * check, so that a recomputer can compute them together (e.g. every sampled row of a matrix
     * product in one pass over B instead of one pass per chunk). {@link SpotCheck} calls it once
     * per check; {@link #recompute} must still answer any chunk, told or not. Does nothing by
     * default.
     *
     * @param chunkIndices the chunks, strictly increasing (the recomputer may keep the array)
     * @param chunkBytes   the chunk size (the last chunk of the output may be short)
     * @param totalBytes   the output's size
     */
    default void prepare(int[] chunkIndices, int chunkBytes, long totalBytes) {
    }
}
