package dev.depin.client;

import dev.depin.provider.HoldTerms;
import java.time.Duration;
import java.util.Optional;

/**
 * No offer can hold a job's outputs ({@code Job.Builder.leaveOutputsOnNode}) as the job asks:
 * each offered provider keeps no data, holds data for less than the time asked, or holds fewer
 * entries or bytes per buyer than the job leaves; for a job whose inputs are held on one
 * provider ({@code Job.Builder.inputFrom}), that provider's offer is the only one considered.
 * The job was sent nowhere and no money moved. The message says what was asked, what the best
 * offer holds, and what to do; the same values are here to read.
 */
public class NoHoldingOfferException extends NoMatchingOfferException {
    private static final long serialVersionUID = 1L;

    /** The time to live the job asked for its outputs. */
    private final Duration askedHold;
    /** How many outputs it leaves. */
    private final int askedEntries;
    /** Their bytes together. */
    private final long askedBytes;
    /** The hold terms of the offer that holds the most, or null; not serialized. */
    private final transient HoldTerms best;

    /**
     * @param message      what was asked, what the best offer holds, and what to do
     * @param askedHold    the time to live the job asks for its outputs
     * @param askedEntries how many outputs it leaves
     * @param askedBytes   their bytes together
     * @param best         the hold terms of the offer that holds the most, or {@code null} when no
     *                     offer states hold terms
     */
    public NoHoldingOfferException(String message, Duration askedHold, int askedEntries, long askedBytes,
                                   HoldTerms best) {
        super(message);
        this.askedHold = askedHold;
        this.askedEntries = askedEntries;
        this.askedBytes = askedBytes;
        this.best = best;
    }

    /** @return the time to live the job asked for its outputs */
    public Duration askedHold() {
        return askedHold;
    }

    /** @return how many outputs the job leaves */
    public int askedEntries() {
        return askedEntries;
    }

    /** @return the bytes of its outputs together */
    public long askedBytes() {
        return askedBytes;
    }

    /** @return the hold terms of the offer that holds the most, if any offer states them */
    public Optional<HoldTerms> bestOffer() {
        return Optional.ofNullable(best);
    }
}
