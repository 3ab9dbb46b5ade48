package dev.depin.settlement;

import dev.depin.InvalidArgumentException;

/**
 * How much of a provider's stake a proven dispute costs it, and where that goes.
 *
 * <p>A disputed attempt takes {@code holdMultiple} times the attempt's hold from the
 * provider's stake account ({@code stake:<node id>}), or what the stake has if that is
 * less; {@code toBuyerPercent} of it goes to the buyer, the rest is burned. A provider that
 * has no stake account or an empty one loses nothing but its reputation, and the job's
 * settlement record says so.
 *
 * @param holdMultiple   the penalty as a multiple of the attempt's hold, 1 to 1000
 * @param toBuyerPercent the buyer's share of the penalty, 0 to 100
 */
public record SlashPolicy(int holdMultiple, int toBuyerPercent) {
    /** Ten times the hold; half to the buyer, half burned. */
    public static final SlashPolicy DEFAULT = new SlashPolicy(10, 50);

    /**
     * Checks the fields.
     *
     * @param holdMultiple   the penalty as a multiple of the hold
     * @param toBuyerPercent the buyer's share in percent
     * @throws InvalidArgumentException if a field is out of range
     */
    public SlashPolicy {
        if (holdMultiple < 1 || holdMultiple > 1000) {
            throw new InvalidArgumentException("slash multiple is " + holdMultiple + ": give 1 to 1000 times the hold");
        }
        if (toBuyerPercent < 0 || toBuyerPercent > 100) {
            throw new InvalidArgumentException("buyer's share of a slash is " + toBuyerPercent + "%: give 0 to 100");
        }
    }
}
