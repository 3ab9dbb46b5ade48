package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.job.Requirements;

/**
 * What a buyer looks for: a network with a directory answers with offers that run the
 * kernel and meet the requirements (it may return more; the buyer checks every offer
 * itself), at most {@code limit} of them.
 *
 * @param kernelId     the kernel the job runs ({@code "sgemm"}, or {@code "ptx"} for user PTX)
 * @param requirements what the provider must have
 * @param limit        the most offers wanted, 1 to 100,000
 */
public record OfferQuery(String kernelId, Requirements requirements, int limit) {
    /**
     * Creates a query after checking it.
     *
     * @param kernelId     the kernel the job runs ({@code "sgemm"}, or {@code "ptx"} for user
     *                     PTX); not null
     * @param requirements what the provider must have; not null ({@link Requirements#ANY}
     *                     for anything)
     * @param limit        the most offers wanted, 1 to 100,000
     * @throws InvalidArgumentException on nulls or a limit out of range
     */
    public OfferQuery {
        InvalidArgumentException.requireNonNull(kernelId, "kernel id");
        InvalidArgumentException.requireNonNull(requirements, "requirements");
        if (limit < 1 || limit > 100_000) {
            throw new InvalidArgumentException("offer query limit " + limit + " must be 1 to 100000");
        }
    }
}
