package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.util.List;

/**
 * What a job's money did: every ledger operation the job applied, in order, at the rate it
 * locked. Part of a settled {@link dev.depin.job.JobResult}.
 *
 * @param quote      the rate the job's holds and posts used (the last one locked)
 * @param operations every hold, post, void and slash of the job, as the ledger applied them
 * @param paid       what the providers were paid (the sum of the posts)
 * @param refunded   what returned to the buyer: voided holds and what posts left of their holds
 * @param slashed    what was taken from disputed providers' stakes (to the buyer and burned)
 * @param notes      what the engine could not do and why, such as a slash skipped because the
 *                   provider has no stake; empty when everything applied
 */
public record JobSettlement(Quote quote, List<Applied> operations, MicroUsd paid, MicroUsd refunded,
                            MicroUsd slashed, List<String> notes) {
    /**
     * Checks and copies the fields.
     *
     * @param quote      the rate
     * @param operations the operations
     * @param paid       paid to providers
     * @param refunded   returned to the buyer
     * @param slashed    taken from stakes
     * @param notes      what was not done
     * @throws InvalidArgumentException if a field is null
     */
    public JobSettlement {
        InvalidArgumentException.requireNonNull(quote, "quote");
        operations = List.copyOf(InvalidArgumentException.requireNonNull(operations, "operations"));
        InvalidArgumentException.requireNonNull(paid, "paid");
        InvalidArgumentException.requireNonNull(refunded, "refunded");
        InvalidArgumentException.requireNonNull(slashed, "slashed");
        notes = List.copyOf(InvalidArgumentException.requireNonNull(notes, "notes"));
    }

    /** @return what the providers were paid, in micro-tokens at the quote's rate */
    public long paidMicroTokens() {
        return quote.microTokens(paid);
    }
}
