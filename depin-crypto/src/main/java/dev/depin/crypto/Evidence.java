package dev.depin.crypto;

import dev.depin.InvalidArgumentException;

/**
 * What a failed check found, in a form that anyone can re-check offline: the check's
 * name, where the discrepancy is (a row, a chunk, a provider), what was expected, what
 * was received, and the seed that drove any random choice (so the same vectors or the
 * same sample can be drawn again).
 *
 * <p>Together with the signed receipt it forms a dispute record.
 *
 * @param check    the check that failed, e.g. {@code "freivalds"}, {@code "spot-check"}
 * @param location where, e.g. {@code "row 17"}, {@code "chunk 3 (bytes 196608..262144)"}
 * @param expected the value the verifier computed (text; hex for digests)
 * @param actual   the value the provider delivered
 * @param seed     hex of the seed used for random choices, or {@code ""} if none
 */
public record Evidence(String check, String location, String expected, String actual, String seed) {
    /**
     * Validates that every field is present ({@code seed} may be empty).
     *
     * @param check    the check that failed, e.g. {@code "freivalds"}, {@code "spot-check"}
     * @param location where, e.g. {@code "row 17"}, {@code "chunk 3 (bytes 196608..262144)"}
     * @param expected the value the verifier computed (text; hex for digests)
     * @param actual   the value the provider delivered
     * @param seed     hex of the seed used for random choices, or {@code ""} if none
     */
    public Evidence {
        InvalidArgumentException.requireNonNull(check, "check");
        InvalidArgumentException.requireNonNull(location, "location");
        InvalidArgumentException.requireNonNull(expected, "expected");
        InvalidArgumentException.requireNonNull(actual, "actual");
        seed = seed == null ? "" : seed;
    }
}
