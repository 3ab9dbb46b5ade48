package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * A token's price in USD as an oracle reported it, with the time it was observed.
 *
 * @param token            the token's symbol, 1 to 16 characters from {@code [A-Z0-9]}
 * @param microUsdPerToken what one whole token costs, in micro-USD, &gt; 0
 * @param asOf             when the rate was observed
 */
public record TokenRate(String token, long microUsdPerToken, Instant asOf) {
    private static final Pattern SYMBOL = Pattern.compile("[A-Z0-9]{1,16}");

    /**
     * Checks the fields.
     *
     * @param token            the symbol
     * @param microUsdPerToken the price of one token in micro-USD
     * @param asOf             when it was observed
     * @throws InvalidArgumentException if a field is null, the symbol is malformed or the price
     *                                  is not positive
     */
    public TokenRate {
        InvalidArgumentException.requireNonNull(token, "token symbol");
        if (!SYMBOL.matcher(token).matches()) {
            throw new InvalidArgumentException("token symbol '" + token + "' is malformed: use 1 to 16 of A-Z 0-9");
        }
        if (microUsdPerToken <= 0) {
            throw new InvalidArgumentException("rate of " + token + " is " + microUsdPerToken
                    + " micro-USD per token: a rate must be positive");
        }
        InvalidArgumentException.requireNonNull(asOf, "time of the rate");
    }

    /**
     * How far {@code other} is from this rate, in basis points of this rate (rounded up).
     *
     * @param other another rate of the same token
     * @return {@code ceil(|other - this| * 10000 / this)}
     * @throws InvalidArgumentException if {@code other} is null or of another token
     */
    public long basisPointsTo(TokenRate other) {
        InvalidArgumentException.requireNonNull(other, "rate");
        if (!token.equals(other.token)) {
            throw new InvalidArgumentException("cannot compare a rate of " + token + " with one of " + other.token);
        }
        java.math.BigInteger diff = java.math.BigInteger.valueOf(other.microUsdPerToken)
                .subtract(java.math.BigInteger.valueOf(microUsdPerToken)).abs().multiply(java.math.BigInteger.valueOf(10_000));
        java.math.BigInteger[] qr = diff.divideAndRemainder(java.math.BigInteger.valueOf(microUsdPerToken));
        java.math.BigInteger bps = qr[1].signum() == 0 ? qr[0] : qr[0].add(java.math.BigInteger.ONE);
        return bps.min(java.math.BigInteger.valueOf(Long.MAX_VALUE)).longValueExact();
    }

    @Override
    public String toString() {
        return token + " = " + dev.depin.money.MicroUsd.ofMicros(microUsdPerToken) + " as of " + asOf;
    }
}
