package dev.depin.money;

import dev.depin.InvalidArgumentException;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * An amount of US dollars in integer micro-units (1 USD = 1,000,000 micro-USD).
 *
 * <p>Money is never a {@code double}: arithmetic is exact and overflow throws. Negative
 * amounts are allowed only where a method says so; constructors of prices and budgets
 * reject them.
 *
 * @param micros the amount in millionths of a dollar
 */
public record MicroUsd(long micros) implements Comparable<MicroUsd> {
    /** Zero dollars. */
    public static final MicroUsd ZERO = new MicroUsd(0);

    private static final BigDecimal MICROS_PER_USD = BigDecimal.valueOf(1_000_000L);

    /**
     * Creates an amount; it must not be negative.
     *
     * @param micros the amount in millionths of a dollar, &ge; 0
     * @throws InvalidArgumentException if {@code micros} is negative
     */
    public MicroUsd {
        if (micros < 0) {
            throw new InvalidArgumentException("amount is " + micros
                    + " micro-USD: money amounts must be zero or positive");
        }
    }

    /**
     * An amount of {@code micros} micro-USD.
     *
     * @param micros the amount in millionths of a dollar, &ge; 0
     * @return the amount
     * @throws InvalidArgumentException if {@code micros} is negative
     */
    public static MicroUsd ofMicros(long micros) {
        return new MicroUsd(micros);
    }

    /**
     * Parses a decimal dollar amount such as {@code "0.25"} exactly.
     *
     * @param usd the amount in dollars, at most six decimal places
     * @return the amount
     * @throws InvalidArgumentException if the text is not a number, is negative, or has
     *                                  more than six decimal places
     */
    public static MicroUsd ofUsd(String usd) {
        if (usd == null) {
            throw new InvalidArgumentException("dollar amount is null: pass a decimal such as \"0.25\"");
        }
        try {
            BigDecimal parsed = new BigDecimal(usd.trim());
            // Reject absurd exponents before any arithmetic: setScale on 1e99999999 would
            // build a hundred-million-digit number first.
            if (parsed.precision() - parsed.scale() > 19 || parsed.scale() > 1000) {
                throw new ArithmeticException("out of range");
            }
            BigDecimal micros = parsed.multiply(MICROS_PER_USD);
            return new MicroUsd(micros.setScale(0, RoundingMode.UNNECESSARY).longValueExact());
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException("'" + usd + "' is not a decimal dollar amount: write it like \"0.25\"");
        } catch (ArithmeticException e) {
            throw new InvalidArgumentException("'" + usd
                    + "' has more than six decimal places or is too large: money is kept in whole micro-USD");
        }
    }

    /**
     * The sum of two amounts.
     *
     * @param other the amount to add
     * @return this plus {@code other}
     * @throws ArithmeticException on overflow
     */
    public MicroUsd plus(MicroUsd other) {
        return new MicroUsd(Math.addExact(micros, other.micros));
    }

    /**
     * This amount multiplied.
     *
     * @param factor the multiplier, &ge; 0
     * @return this times {@code factor}
     * @throws ArithmeticException on overflow
     * @throws InvalidArgumentException if {@code factor} is negative and this is not zero
     */
    public MicroUsd times(long factor) {
        return new MicroUsd(Math.multiplyExact(micros, factor));
    }

    /** @return the amount as an exact dollar decimal */
    public BigDecimal toUsd() {
        return BigDecimal.valueOf(micros).divide(MICROS_PER_USD);
    }

    @Override
    public int compareTo(MicroUsd o) {
        return Long.compare(micros, o.micros);
    }

    /** @return the amount as dollars with six decimals, e.g. {@code $0.012500} */
    @Override
    public String toString() {
        // Integer arithmetic (never negative): the same text as the BigDecimal form, without a
        // BigInteger division per call (two of these went into every small job's events).
        String fraction = Long.toString(micros % 1_000_000L);
        return new StringBuilder(28).append('$').append(micros / 1_000_000L).append('.')
                .append("000000", fraction.length(), 6).append(fraction).toString();
    }
}
