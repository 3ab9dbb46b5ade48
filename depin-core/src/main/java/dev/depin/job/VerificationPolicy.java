package dev.depin.job;

import dev.depin.InvalidArgumentException;

/**
 * How the buyer checks a provider's result before accepting it. The buyer picks; the
 * verification report says what was actually checked and with what error bound.
 *
 * <ul>
 *   <li>{@link #signatureOnly()}: the receipt is authentic and bound to this job. Proves
 *       who claims what, not that the arithmetic is right.</li>
 *   <li>{@link #freivalds(int)}: for SGEMM, {@code rounds} random-vector checks
 *       {@code A(Bx) = Cx}; false accept &le; 2^-rounds for errors above tolerance.</li>
 *   <li>{@link #spotCheck(double)}: recompute a random fraction of output chunks on
 *       the CPU reference and compare.</li>
 *   <li>{@link #redundant(int)}: run on {@code replicas} distinct providers and compare;
 *       majority wins.</li>
 * </ul>
 *
 * @param kind     the check
 * @param rounds   Freivalds rounds (1–64), otherwise 0
 * @param fraction spot-check fraction in (0, 1], otherwise 0
 * @param replicas redundant replica count (2–9), otherwise 0
 */
public record VerificationPolicy(Kind kind, int rounds, double fraction, int replicas) {
    /** The kinds of check. */
    public enum Kind {
        /** Receipt signature and bindings only. */
        SIGNATURE_ONLY,
        /** Freivalds' randomized product check (SGEMM only). */
        FREIVALDS,
        /** Recompute a sample of output chunks. */
        SPOT_CHECK,
        /** Compare the outputs of several providers. */
        REDUNDANT
    }

    /** @throws InvalidArgumentException if the numbers do not fit the kind */
    public VerificationPolicy {
        InvalidArgumentException.requireNonNull(kind, "verification kind");
        switch (kind) {
            case SIGNATURE_ONLY -> require(rounds == 0 && fraction == 0 && replicas == 0,
                    "signatureOnly takes no rounds, fraction or replicas");
            case FREIVALDS -> require(rounds >= 1 && rounds <= 64 && fraction == 0 && replicas == 0,
                    "freivalds needs 1 to 64 rounds (got " + rounds + "); 20 gives a false-accept bound of 2^-20");
            case SPOT_CHECK -> require(fraction > 0 && fraction <= 1 && rounds == 0 && replicas == 0,
                    "spotCheck needs a fraction in (0, 1] (got " + fraction + "), e.g. 0.05 for 5% of chunks");
            case REDUNDANT -> require(replicas >= 2 && replicas <= 9 && rounds == 0 && fraction == 0,
                    "redundant needs 2 to 9 replicas (got " + replicas + "); 3 lets a majority outvote one bad provider");
        }
        fraction = fraction + 0.0; // -0.0 becomes 0.0: one policy, one hash
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new InvalidArgumentException(message);
        }
    }

    /** @return a policy that checks the receipt's signature and bindings only */
    public static VerificationPolicy signatureOnly() {
        return new VerificationPolicy(Kind.SIGNATURE_ONLY, 0, 0, 0);
    }

    /** @return a Freivalds check with {@code rounds} random vectors */
    public static VerificationPolicy freivalds(int rounds) {
        return new VerificationPolicy(Kind.FREIVALDS, rounds, 0, 0);
    }

    /** @return a spot check of {@code fraction} of the output chunks */
    public static VerificationPolicy spotCheck(double fraction) {
        return new VerificationPolicy(Kind.SPOT_CHECK, 0, fraction, 0);
    }

    /** @return redundant execution on {@code replicas} distinct providers */
    public static VerificationPolicy redundant(int replicas) {
        return new VerificationPolicy(Kind.REDUNDANT, 0, 0, replicas);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case SIGNATURE_ONLY -> "signatureOnly";
            case FREIVALDS -> "freivalds(" + rounds + ")";
            case SPOT_CHECK -> "spotCheck(" + fraction + ")";
            case REDUNDANT -> "redundant(" + replicas + ")";
        };
    }
}
