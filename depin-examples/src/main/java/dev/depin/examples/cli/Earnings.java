package dev.depin.examples.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.OptionalLong;

/**
 * The arithmetic behind {@code depin earnings}: what a GPU owner keeps of a day's gross
 * revenue after energy and depreciation.
 *
 * <p>All inputs are exact decimals ({@link BigDecimal}); every result is a whole number of
 * micro-USD, rounded once, half up, from the exact value. Net figures are the rounded gross
 * minus the rounded costs, so a printed row adds up. A month is {@value #DAYS_PER_MONTH} days.
 * Energy is the card's board power for every hour under load (utilization x 24 h): an upper
 * bound, since a card rarely draws its full board power, and idle draw is not counted.
 */
final class Earnings {

    /** Days in the month used for monthly figures and for the life in months. */
    static final int DAYS_PER_MONTH = 30;

    private static final BigDecimal MICROS = BigDecimal.valueOf(1_000_000);
    private static final BigDecimal HOURS_PER_DAY = BigDecimal.valueOf(24);
    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);
    private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);

    private Earnings() {
    }

    /**
     * A card and its owner's assumptions.
     *
     * @param watts          board power in watts, 1 to 100,000
     * @param utilization    percent of the day under load, 0 to 100
     * @param kwhPrice       USD per kWh, 0 to 100
     * @param purchasePrice  USD paid for the card, 0 to 10,000,000
     * @param lifeMonths     months over which it is written off, 1 to 600
     */
    record Card(int watts, BigDecimal utilization, BigDecimal kwhPrice, BigDecimal purchasePrice, int lifeMonths) {
        Card {
            if (watts < 1 || watts > 100_000) {
                throw new IllegalArgumentException("power " + watts + " W is out of range: use 1 to 100000 W");
            }
            check(utilization, "utilization", BigDecimal.ZERO, HUNDRED, "%");
            check(kwhPrice, "electricity price", BigDecimal.ZERO, HUNDRED, " USD/kWh");
            check(purchasePrice, "purchase price", BigDecimal.ZERO, BigDecimal.valueOf(10_000_000), " USD");
            if (lifeMonths < 1 || lifeMonths > 600) {
                throw new IllegalArgumentException("life of " + lifeMonths + " months is out of range: use 1 to 600");
            }
        }

        /** @return hours under load per day, exact: utilization / 100 x 24 */
        BigDecimal hoursPerDay() {
            return utilization.multiply(HOURS_PER_DAY).divide(HUNDRED);
        }
    }

    /**
     * One day's and one month's figures, in micro-USD.
     *
     * @param grossDay        gross revenue per day
     * @param energyDay       energy cost per day
     * @param depreciationDay depreciation per day
     * @param grossMonth      gross revenue per month
     * @param energyMonth     energy cost per month
     * @param depreciationMonth depreciation per month
     */
    record Result(long grossDay, long energyDay, long depreciationDay,
                  long grossMonth, long energyMonth, long depreciationMonth) {
        /** @return gross minus energy minus depreciation, per day */
        long netDay() {
            return grossDay - energyDay - depreciationDay;
        }

        /** @return gross minus energy minus depreciation, per month */
        long netMonth() {
            return grossMonth - energyMonth - depreciationMonth;
        }
    }

    /**
     * The figures for a gross revenue per day.
     *
     * @param card          the card and assumptions
     * @param grossPerDay   USD earned per day, 0 to 1,000,000
     * @return the figures
     */
    static Result compute(Card card, BigDecimal grossPerDay) {
        check(grossPerDay, "gross per day", BigDecimal.ZERO, BigDecimal.valueOf(1_000_000), " USD");
        BigDecimal days = BigDecimal.valueOf(DAYS_PER_MONTH);
        // kWh per day = W x h / 1000; the product with the price is exact (finite decimals).
        BigDecimal energy = BigDecimal.valueOf(card.watts()).multiply(card.hoursPerDay())
                .multiply(card.kwhPrice()).divide(THOUSAND);
        BigDecimal lifeDays = BigDecimal.valueOf((long) card.lifeMonths() * DAYS_PER_MONTH);
        return new Result(
                micros(grossPerDay), micros(energy), divideToMicros(card.purchasePrice(), lifeDays),
                micros(grossPerDay.multiply(days)), micros(energy.multiply(days)),
                divideToMicros(card.purchasePrice(), BigDecimal.valueOf(card.lifeMonths())));
    }

    /**
     * Gross revenue per day at a price per GPU-hour: price x utilization / 100 x 24 h.
     *
     * @param card         the card (for its utilization)
     * @param pricePerHour USD per GPU-hour, 0 to 10,000
     * @return the exact gross per day in USD
     */
    static BigDecimal grossPerDay(Card card, BigDecimal pricePerHour) {
        check(pricePerHour, "price per GPU-hour", BigDecimal.ZERO, BigDecimal.valueOf(10_000), " USD");
        return pricePerHour.multiply(card.hoursPerDay());
    }

    /**
     * The price per GPU-hour at which net is zero: (energy + depreciation per day) / hours
     * under load per day, in micro-USD, rounded once from the exact quotient.
     *
     * @param card the card and assumptions
     * @return the price, or empty at zero utilization (no hours to sell)
     */
    static OptionalLong breakEvenPerHour(Card card) {
        BigDecimal hours = card.hoursPerDay();
        if (hours.signum() == 0) {
            return OptionalLong.empty();
        }
        // (W/1000 x kwhPrice x h + purchase / lifeDays) / h
        //   = (W x kwhPrice x h x lifeDays + 1000 x purchase) / (1000 x lifeDays x h)
        BigDecimal lifeDays = BigDecimal.valueOf((long) card.lifeMonths() * DAYS_PER_MONTH);
        BigDecimal num = BigDecimal.valueOf(card.watts()).multiply(card.kwhPrice()).multiply(hours)
                .multiply(lifeDays).add(THOUSAND.multiply(card.purchasePrice()));
        BigDecimal den = THOUSAND.multiply(lifeDays).multiply(hours);
        return OptionalLong.of(num.multiply(MICROS).divide(den, 0, RoundingMode.HALF_UP).longValueExact());
    }

    /**
     * A dollar amount for display: micro-USD with at least two and at most six decimals,
     * trailing zeros dropped, never rounded again.
     *
     * @param micros the amount in micro-USD
     * @return such as {@code $1.44} or {@code -$0.043333}
     */
    static String usd(long micros) {
        BigDecimal d = BigDecimal.valueOf(micros).movePointLeft(6).stripTrailingZeros();
        if (d.scale() < 2) {
            d = d.setScale(2, RoundingMode.UNNECESSARY);
        }
        return (d.signum() < 0 ? "-$" + d.negate().toPlainString() : "$" + d.toPlainString());
    }

    /**
     * Parses a decimal argument.
     *
     * @param text the text
     * @param what what it is, for the message
     * @return the number
     * @throws IllegalArgumentException naming the argument if it is not a plain decimal
     */
    static BigDecimal decimal(String text, String what) {
        if (text == null || !text.trim().matches("[+-]?[0-9]{1,12}(\\.[0-9]{1,12})?|[+-]?\\.[0-9]{1,12}")) {
            throw new IllegalArgumentException(what + " '" + text
                    + "' is not a plain decimal number: write it like 0.25 (no exponent, no units)");
        }
        return new BigDecimal(text.trim());
    }

    private static long micros(BigDecimal usd) {
        return usd.multiply(MICROS).setScale(0, RoundingMode.HALF_UP).longValueExact();
    }

    private static long divideToMicros(BigDecimal usd, BigDecimal by) {
        return usd.multiply(MICROS).divide(by, 0, RoundingMode.HALF_UP).longValueExact();
    }

    private static void check(BigDecimal v, String what, BigDecimal min, BigDecimal max, String unit) {
        if (v == null) {
            throw new IllegalArgumentException(what + " is missing");
        }
        if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
            throw new IllegalArgumentException(what + " " + v.toPlainString() + unit + " is out of range: use "
                    + min.toPlainString() + " to " + max.toPlainString() + unit);
        }
    }
}
