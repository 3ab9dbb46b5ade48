package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The durable result of an operation: returned when it is applied, and returned again,
 * unchanged, to every identical retry.
 *
 * @param sequence  the ledger's sequence number of the operation (increasing)
 * @param operation the operation
 * @param postings  the legs it wrote (a void or an expiry writes none: the reservation ends)
 * @param at        when the ledger applied it
 * @param certificate for a hold with a spec hash on a ledger that has a key, the ledger's
 *                  signed {@link HoldCertificate}; otherwise empty
 */
public record Applied(long sequence, Operation operation, List<Posting> postings, Instant at,
                      Optional<HoldCertificate> certificate) {
    /**
     * Checks and copies the fields.
     *
     * @param sequence  the ledger's sequence number
     * @param operation the operation
     * @param postings  the legs
     * @param at        when it was applied
     * @param certificate the hold's certificate, or empty
     * @throws InvalidArgumentException if a field is null
     */
    public Applied {
        InvalidArgumentException.requireNonNull(operation, "operation");
        postings = List.copyOf(InvalidArgumentException.requireNonNull(postings, "postings"));
        InvalidArgumentException.requireNonNull(at, "time");
        InvalidArgumentException.requireNonNull(certificate, "certificate (Optional.empty() for none)");
    }

    /**
     * A result without a certificate.
     *
     * @param sequence  the ledger's sequence number
     * @param operation the operation
     * @param postings  the legs
     * @param at        when it was applied
     * @throws InvalidArgumentException if a field is null
     */
    public Applied(long sequence, Operation operation, List<Posting> postings, Instant at) {
        this(sequence, operation, postings, at, Optional.empty());
    }

    /**
     * @param c the hold's certificate
     * @return this result with it
     */
    public Applied withCertificate(HoldCertificate c) {
        return new Applied(sequence, operation, postings, at, Optional.of(c));
    }
}
