package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.math.BigInteger;
import java.time.Instant;

/**
 * A token/USD rate locked for a time: a job priced in USD holds and settles at this rate,
 * so the provider knows how many tokens a payout is worth and the buyer knows its bound.
 *
 * @param rate      the locked rate
 * @param lockedAt  when it was locked
 * @param expiresAt until when it may be used
 */
public record Quote(TokenRate rate, Instant lockedAt, Instant expiresAt) {
    /**
     * Checks the fields.
     *
     * @param rate      the rate
     * @param lockedAt  when it was locked
     * @param expiresAt until when it holds
     * @throws InvalidArgumentException if a field is null or the quote expires before it is locked
     */
    public Quote {
        InvalidArgumentException.requireNonNull(rate, "rate");
        InvalidArgumentException.requireNonNull(lockedAt, "time the quote was locked");
        InvalidArgumentException.requireNonNull(expiresAt, "quote expiry");
        if (!expiresAt.isAfter(lockedAt)) {
            throw new InvalidArgumentException("quote expires at " + expiresAt + ", not after it was locked at "
                    + lockedAt + ": give it a positive time-to-live");
        }
    }

    /**
     * @param now the current time
     * @return whether the quote may still be used at {@code now}
     */
    public boolean validAt(Instant now) {
        return now.isBefore(expiresAt);
    }

    /**
     * What an amount in USD is worth in the token at this rate, in micro-tokens (a millionth
     * of a token), rounded down.
     *
     * @param usd the amount
     * @return micro-tokens
     * @throws InvalidArgumentException if {@code usd} is null
     */
    public long microTokens(MicroUsd usd) {
        InvalidArgumentException.requireNonNull(usd, "amount");
        return BigInteger.valueOf(usd.micros()).multiply(BigInteger.valueOf(1_000_000))
                .divide(BigInteger.valueOf(rate.microUsdPerToken())).min(BigInteger.valueOf(Long.MAX_VALUE))
                .longValueExact();
    }

    @Override
    public String toString() {
        return rate + ", locked " + lockedAt + " until " + expiresAt;
    }
}
