package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.verify.ChunkRecomputer;
import dev.depin.crypto.verify.Comparison;

/**
 * How to recompute an output chunk of a kernel on the CPU reference, and how closely an
 * honest executor's bytes must agree with the recomputation.
 *
 * @param recomputer recomputes one chunk
 * @param comparison the agreement an honest executor meets (also used between replicas)
 */
public record Recompute(ChunkRecomputer recomputer, Comparison comparison) {
    /**
     * Pairs a recomputer with its tolerance.
     *
     * @param recomputer recomputes one chunk on the CPU reference; not null
     * @param comparison the agreement an honest executor meets; not null
     * @throws InvalidArgumentException on nulls
     */
    public Recompute {
        InvalidArgumentException.requireNonNull(recomputer, "chunk recomputer");
        InvalidArgumentException.requireNonNull(comparison, "comparison");
    }
}
