package dev.depin.node;

import dev.depin.InvalidArgumentException;
import java.util.Map;

/**
 * How one attempt uses the node's {@link InputCache}: whether the buyer lets the node keep
 * the inputs it sends, and which inputs come from the cache instead of the transport (the
 * buyer sent only their roots). The node takes ownership of the leases: it closes them once
 * the inputs are staged (a lease whose entry the kernel reads in place, once the attempt
 * ends), or when the attempt ends without running.
 *
 * @param keep   the buyer agrees that the node keeps copies of the inputs it sends, by root,
 *               for the buyer's later jobs (wiped on eviction and attested then)
 * @param cached inputs by name taken from the cache for this attempt (none of their bytes
 *               came with it)
 * @param keepOutputs the buyer agrees that the node also keeps this attempt's outputs, by the
 *               roots its receipt commits to, so that a following job (a chain) may take them
 *               as inputs by root instead of sending them back
 */
public record InputCaching(boolean keep, Map<String, InputCache.Lease> cached, boolean keepOutputs,
                           boolean inPlace) {
    /** No cache: every input comes with the attempt and nothing is kept. */
    public static final InputCaching NONE = new InputCaching(false, Map.of(), false);

    /**
     * Validates.
     *
     * @param keep   whether the node may keep the inputs sent
     * @param cached inputs taken from the cache, by name
     * @param keepOutputs whether the node may keep the outputs too
     * @param inPlace the buyer takes a wipe attestation in which a cached input the kernel
     *               read in place (an executor that can, {@link
     *               dev.depin.executor.spi.ExecutionContext#readInPlace}) is stated by a
     *               {@link dev.depin.crypto.WipeRecord#CACHE_IN_PLACE} record instead of a
     *               wiped copy; false: every cached input is copied into the job's buffers and
     *               wiped with them, as an older buyer's verifier requires
     * @throws InvalidArgumentException on null
     */
    public InputCaching {
        InvalidArgumentException.requireNonNull(cached, "cached inputs");
        cached = Map.copyOf(cached);
    }

    /**
     * Cached inputs copied into the job's buffers (not read in place).
     *
     * @param keep   whether the node may keep the inputs sent
     * @param cached inputs taken from the cache, by name
     * @param keepOutputs whether the node may keep the outputs too
     * @throws InvalidArgumentException on null
     */
    public InputCaching(boolean keep, Map<String, InputCache.Lease> cached, boolean keepOutputs) {
        this(keep, cached, keepOutputs, false);
    }

    /**
     * Inputs only: outputs are not kept.
     *
     * @param keep   whether the node may keep the inputs sent
     * @param cached inputs taken from the cache, by name
     * @throws InvalidArgumentException on null
     */
    public InputCaching(boolean keep, Map<String, InputCache.Lease> cached) {
        this(keep, cached, false);
    }

    /** Closes every lease (idempotent). */
    void release() {
        cached.values().forEach(InputCache.Lease::close);
    }
}
