package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * The energy a provider states an attempt used, signed in its receipt (the predicate's optional
 * {@code energy} object, {@code {"millijoules": n, "source": "measured"}}): whole millijoules, so
 * the signed bytes never depend on how a double is printed. It is the provider's <b>claim</b>,
 * not a proof: a node can state any number within the bounds below (docs/decisions.md, "Energy in
 * the receipt").
 *
 * @param millijoules the energy in millijoules, 0 to {@value #MAX_MILLIJOULES}
 * @param source      how the provider knows it
 */
public record ReceiptEnergy(long millijoules, Source source) {
    /** Most energy one receipt may state: 1 MWh, 100 kW for 10 hours. */
    public static final long MAX_MILLIJOULES = 3_600_000_000_000L;
    /**
     * Highest average power a receipt may imply over its execution: 100 kW (the most
     * {@code depin node --watts} takes; a whole 8-GPU server draws about a tenth of it).
     */
    public static final long MAX_WATTS = 100_000;
    /** Time every receipt is allowed beyond its own times when its energy is bounded by power. */
    public static final Duration GRACE = Duration.ofSeconds(1);

    /** How the provider knows the energy it states. */
    public enum Source {
        /** Integrated from power readings the device gave during the attempt's execution. */
        MEASURED("measured"),
        /** A stated board power times the attempt's device time. */
        ESTIMATED("estimated");

        private final String wire;

        Source(String wire) {
            this.wire = wire;
        }

        /**
         * The word in the signed statement.
         *
         * @return {@code measured} or {@code estimated}
         */
        public String wire() {
            return wire;
        }

        /**
         * Reads the word in a statement.
         *
         * @param word the word, exactly {@code measured} or {@code estimated}
         * @return the source
         * @throws InvalidArgumentException on any other word
         */
        public static Source of(String word) {
            for (Source s : values()) {
                if (s.wire.equals(word)) {
                    return s;
                }
            }
            throw new InvalidArgumentException("energy source '" + shorten(word)
                    + "' is neither 'measured' nor 'estimated'");
        }
    }

    /**
     * Validates.
     *
     * @param millijoules the energy in millijoules, 0 to {@value #MAX_MILLIJOULES}
     * @param source      how the provider knows it
     */
    public ReceiptEnergy {
        InvalidArgumentException.requireNonNull(source, "energy source");
        if (millijoules < 0 || millijoules > MAX_MILLIJOULES) {
            throw new InvalidArgumentException("energy " + millijoules + " mJ is out of range: it must be 0 to "
                    + MAX_MILLIJOULES + " mJ (1 MWh)");
        }
    }

    /**
     * Energy from joules, rounded to the nearest millijoule.
     *
     * @param joules the energy, finite and &ge; 0
     * @param source how the provider knows it
     * @return the energy
     * @throws InvalidArgumentException on a value that is not finite, is negative or is above 1 MWh
     */
    public static ReceiptEnergy ofJoules(double joules, Source source) {
        if (!Double.isFinite(joules) || joules < 0 || joules * 1e3 > MAX_MILLIJOULES) {
            throw new InvalidArgumentException("energy " + joules + " J is not a finite amount from 0 to 1 MWh");
        }
        return new ReceiptEnergy(Math.round(joules * 1e3), source);
    }

    /**
     * The energy in joules.
     *
     * @return {@code millijoules / 1000}
     */
    public double joules() {
        return millijoules / 1e3;
    }

    /**
     * Whether this energy is possible for an execution with these times: at most
     * {@value #MAX_WATTS} W over the longer of its device time and its wall time, plus
     * {@link #GRACE} (a node measures around the kernel, a little wider than the timestamps).
     *
     * @param deviceTimeNanos the receipt's device time
     * @param startedAt       the receipt's start
     * @param endedAt         the receipt's end
     * @return null when it is, else why not
     */
    public String implausibility(long deviceTimeNanos, Instant startedAt, Instant endedAt) {
        long wall;
        try {
            wall = Duration.between(startedAt, endedAt).toNanos();
        } catch (ArithmeticException e) {
            wall = Long.MAX_VALUE;
        }
        long span = Math.max(Math.max(deviceTimeNanos, wall), 0);
        // mJ = W * ns / 1e6; with 100 kW that is ns / 10.
        long bound = span >= Long.MAX_VALUE - GRACE.toNanos() ? Long.MAX_VALUE
                : (span + GRACE.toNanos()) / (1_000_000 / MAX_WATTS);
        if (millijoules <= bound) {
            return null;
        }
        return String.format(Locale.ROOT, "energy %.3f J over %.6f s of execution (and %s of grace) is more than "
                + "%d W could draw", joules(), span / 1e9, GRACE, MAX_WATTS);
    }

    /**
     * What a verifier reports when it has read this energy from a signed receipt: the number, its
     * source, and that it is the provider's claim.
     *
     * @return e.g. {@code 12.345 J measured, signed by the provider (its claim; at most 100000 W over the execution)}
     */
    public String asChecked() {
        return this + ", signed by the provider (its claim; at most " + MAX_WATTS + " W over the execution)";
    }

    /**
     * For reports: {@code 12.345 J measured}.
     *
     * @return the energy and its source
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%.3f J %s", joules(), source.wire());
    }

    private static String shorten(String s) {
        if (s == null) {
            return "null";
        }
        String t = s.length() <= 40 ? s : s.substring(0, 40) + "…";
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
