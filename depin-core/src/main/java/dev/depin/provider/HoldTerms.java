package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import java.time.Duration;

/**
 * How long and how much a provider holds for a buyer between jobs, as its signed offer states
 * it: the longest it keeps an output left on it ({@code Job.Builder.leaveOutputsOnNode}) or an
 * input it received and nobody used since, and the entries and bytes it keeps in all and for
 * one buyer. The bytes in all are the offer's {@link OfferTerms#inputCacheBytes()}. A buyer's
 * planner places a job that leaves its outputs only where these terms can hold them; a node
 * refuses at admission a hold longer than {@link #maxHold()}.
 *
 * @param maxHold            the longest time data is held, 1 ms to {@link #MAX_HOLD}: the longest
 *                           {@code leaveOutputsOnNode(ttl)} the provider accepts, and how long an
 *                           unused input stays
 * @param maxEntries         entries (inputs and held outputs) in all, &ge; 1
 * @param maxBytesPerBuyer   bytes one buyer's entries may take, &ge; 1; no single held item is
 *                           larger
 * @param maxEntriesPerBuyer entries of one buyer, 1 to {@code maxEntries}
 */
public record HoldTerms(Duration maxHold, int maxEntries, long maxBytesPerBuyer, int maxEntriesPerBuyer) {
    /** The longest hold an offer may state: 7 days, as long as a buyer may ask. */
    public static final Duration MAX_HOLD = Duration.ofDays(7);

    /**
     * Validates.
     *
     * @param maxHold            the longest time data is held, 1 ms to {@link #MAX_HOLD}
     * @param maxEntries         entries in all, &ge; 1
     * @param maxBytesPerBuyer   bytes of one buyer, &ge; 1
     * @param maxEntriesPerBuyer entries of one buyer, 1 to {@code maxEntries}
     * @throws InvalidArgumentException on a null or out-of-range field
     */
    public HoldTerms {
        InvalidArgumentException.requireNonNull(maxHold, "longest hold");
        if (maxHold.compareTo(Duration.ofMillis(1)) < 0 || maxHold.compareTo(MAX_HOLD) > 0) {
            throw new InvalidArgumentException("hold terms state a longest hold of " + maxHold + ": give 1 ms to "
                    + MAX_HOLD);
        }
        maxHold = Duration.ofMillis(maxHold.toMillis()); // whole milliseconds, as the offer's JSON carries it
        if (maxEntries < 1 || maxBytesPerBuyer < 1 || maxEntriesPerBuyer < 1 || maxEntriesPerBuyer > maxEntries) {
            throw new InvalidArgumentException("hold terms of " + maxEntries + " entries in all, " + maxBytesPerBuyer
                    + " bytes and " + maxEntriesPerBuyer + " entries per buyer: give >= 1 each, and entries per "
                    + "buyer <= entries in all");
        }
    }

    /**
     * Why these terms cannot hold a job's outputs: too long a hold, too many outputs, or too
     * many bytes for one buyer. Data the buyer already holds on the provider is not counted,
     * so a node may still refuse for room; it never refuses for these reasons.
     *
     * @param hold    how long the job asks its outputs to be held
     * @param entries how many outputs it leaves
     * @param bytes   their bytes together (saturated at {@code Long.MAX_VALUE})
     * @return the reason, such as {@code "holds data for at most PT10M, this job asks PT1H"}, or
     *         {@code null} when the outputs fit
     * @throws InvalidArgumentException if {@code hold} is null
     */
    public String refusal(Duration hold, int entries, long bytes) {
        InvalidArgumentException.requireNonNull(hold, "hold asked");
        if (hold.compareTo(maxHold) > 0) {
            return "holds data for at most " + maxHold + ", this job asks " + hold;
        }
        if (entries > maxEntriesPerBuyer) {
            return "holds at most " + maxEntriesPerBuyer + " entries per buyer, this job leaves " + entries;
        }
        if (bytes > maxBytesPerBuyer) {
            return "holds at most " + maxBytesPerBuyer + " bytes per buyer, this job leaves " + bytes;
        }
        return null;
    }

    /** @return e.g. {@code "up to PT10M, 64 entries (16 per buyer), 4194304 bytes per buyer"} */
    public String describe() {
        return "up to " + maxHold + ", " + maxEntries + " entries (" + maxEntriesPerBuyer + " per buyer), "
                + maxBytesPerBuyer + " bytes per buyer";
    }
}
