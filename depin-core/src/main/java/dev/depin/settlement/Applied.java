package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.time.Instant;
import java.util.List;

/**
 * The durable result of an operation: returned when it is applied, and returned again,
 * unchanged, to every identical retry.
 *
 * @param sequence  the ledger's sequence number of the operation (increasing)
 * @param operation the operation
 * @param postings  the legs it wrote (a void or an expiry writes none: the reservation ends)
 * @param at        when the ledger applied it
 */
public record Applied(long sequence, Operation operation, List<Posting> postings, Instant at) {
    /**
     * Checks and copies the fields.
     *
     * @param sequence  the ledger's sequence number
     * @param operation the operation
     * @param postings  the legs
     * @param at        when it was applied
     * @throws InvalidArgumentException if a field is null
     */
    public Applied {
        InvalidArgumentException.requireNonNull(operation, "operation");
        postings = List.copyOf(InvalidArgumentException.requireNonNull(postings, "postings"));
        InvalidArgumentException.requireNonNull(at, "time");
    }
}
