package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import java.util.List;

/**
 * What reaching a provider with one attempt's inputs cost, as the buyer's transport counted
 * it: the bytes the job declares against the input bytes it actually put on the wire, and
 * which inputs the provider already held by their Merkle root (its input cache) so that only
 * their roots travelled.
 *
 * @param declaredBytes input bytes the job's spec declares
 * @param sentBytes     input bytes the transport sent for this attempt (inputs that went by
 *                      root and were held by the provider cost none)
 * @param fromCache     inputs sent by root only and served from the provider's cache
 * @param resent        inputs sent by root that the provider no longer held (evicted, expired,
 *                      or the provider restarted): it asked for them, and their bytes were sent
 *                      on the same stream — counted in {@code sentBytes}, not as a failure
 * @param kept          inputs the provider says it holds for this buyer after the attempt, by
 *                      root: the buyer's next job on them may send only their roots
 * @param keptOutputs   outputs the provider says it holds for this buyer, by the roots its
 *                      receipt commits to: a following job may take them as inputs by root
 */
public record InputTransfer(long declaredBytes, long sentBytes, List<String> fromCache, List<String> resent,
                            List<String> kept, List<String> keptOutputs) {
    /**
     * Validates.
     *
     * @param declaredBytes input bytes the job declares, &ge; 0
     * @param sentBytes     input bytes sent, &ge; 0
     * @param fromCache     inputs served from the provider's cache
     * @param resent        inputs sent by root, then with their bytes
     * @param kept          inputs the provider holds after the attempt
     * @param keptOutputs   outputs the provider holds after the attempt
     * @throws InvalidArgumentException on null or a negative count
     */
    public InputTransfer {
        if (declaredBytes < 0 || sentBytes < 0) {
            throw new InvalidArgumentException("input transfer of " + sentBytes + " of " + declaredBytes
                    + " bytes: counts are >= 0");
        }
        fromCache = List.copyOf(InvalidArgumentException.requireNonNull(fromCache, "inputs from cache"));
        resent = List.copyOf(InvalidArgumentException.requireNonNull(resent, "inputs resent"));
        kept = List.copyOf(InvalidArgumentException.requireNonNull(kept, "inputs kept"));
        keptOutputs = List.copyOf(InvalidArgumentException.requireNonNull(keptOutputs, "outputs kept"));
    }

    /**
     * A transfer that kept no outputs.
     *
     * @param declaredBytes input bytes the job declares, &ge; 0
     * @param sentBytes     input bytes sent, &ge; 0
     * @param fromCache     inputs served from the provider's cache
     * @param resent        inputs sent by root, then with their bytes
     * @param kept          inputs the provider holds after the attempt
     * @throws InvalidArgumentException on null or a negative count
     */
    public InputTransfer(long declaredBytes, long sentBytes, List<String> fromCache, List<String> resent,
                         List<String> kept) {
        this(declaredBytes, sentBytes, fromCache, resent, kept, List.of());
    }

    /**
     * Every declared byte sent, nothing cached.
     *
     * @param declaredBytes the job's input bytes
     * @return the transfer
     */
    public static InputTransfer allSent(long declaredBytes) {
        return new InputTransfer(declaredBytes, declaredBytes, List.of(), List.of(), List.of(), List.of());
    }

    /** @return e.g. {@code "inputs: 4096 of 8392704 bytes sent; from the provider's cache: [a]; kept: [a, b]"} */
    public String summary() {
        return "inputs: " + sentBytes + " of " + declaredBytes + " bytes sent"
                + (fromCache.isEmpty() ? "" : "; from the provider's cache: " + fromCache)
                + (resent.isEmpty() ? "" : "; resent after a cache miss: " + resent)
                + (kept.isEmpty() ? "" : "; kept by the provider: " + kept)
                + (keptOutputs.isEmpty() ? "" : "; outputs kept by the provider: " + keptOutputs);
    }
}
