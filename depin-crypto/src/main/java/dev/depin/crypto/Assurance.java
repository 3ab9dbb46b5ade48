package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.util.Collections;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;

/**
 * An assurance level with the numbers that qualify it (rounds, tolerance, error bound,
 * sampled fraction, detection probability, replicas). It says what was checked and the
 * error bound, never more.
 *
 * <pre>{@code
 * Assurance a = Assurance.freivalds(2, 1.2e-4, 0.25);
 * a.number(Assurance.FALSE_ACCEPT_BOUND);   // OptionalDouble[0.25]
 * }</pre>
 *
 * @param level   the kind of assurance
 * @param numbers named finite numbers (keys sorted; copied)
 */
public record Assurance(Level level, Map<String, Double> numbers) {
    /** Number of independent random rounds (Freivalds) or sampling rounds. */
    public static final String ROUNDS = "rounds";
    /** The tolerance used by a float comparison (meaning documented by the check). */
    public static final String TOLERANCE = "tolerance";
    /** Upper bound on the probability that a wrong result above the tolerance passes. */
    public static final String FALSE_ACCEPT_BOUND = "falseAcceptBound";
    /** Fraction of chunks recomputed. */
    public static final String SAMPLED_FRACTION = "sampledFraction";
    /** Number of chunks recomputed. */
    public static final String SAMPLED_CHUNKS = "sampledChunks";
    /** Probability of catching a provider that corrupted exactly one chunk. */
    public static final String DETECTION_PROBABILITY = "detectionProbability";
    /** Probability of catching a provider that corrupted 5% of the chunks. */
    public static final String DETECTION_PROBABILITY_5PCT = "detectionProbability5pct";
    /** Number of providers that ran the job. */
    public static final String REPLICAS = "replicas";
    /** Number of providers in the winning majority. */
    public static final String AGREEING = "agreeing";
    /** Number of statements one batch signature covered (see {@link BatchVerifier}). */
    public static final String BATCH_STATEMENTS = "batchStatements";

    /** Kinds of assurance, weakest first. */
    public enum Level {
        /** Nothing was checked. */
        NONE,
        /** The receipt is authentic and bound to this job; the math is not checked. */
        SIGNATURE,
        /** A random sample of output chunks was recomputed. */
        SAMPLED,
        /** Freivalds' randomized check of a matrix product. */
        FREIVALDS,
        /** Several independent providers agreed. */
        REDUNDANT,
        /** Hardware (TEE) evidence was checked. */
        TEE
    }

    /**
     * Validates and copies.
     *
     * @param level   the kind of assurance
     * @param numbers named finite numbers (keys sorted; copied)
     */
    public Assurance {
        InvalidArgumentException.requireNonNull(level, "level");
        InvalidArgumentException.requireNonNull(numbers, "numbers");
        TreeMap<String, Double> copy = new TreeMap<>();
        numbers.forEach((k, v) -> {
            InvalidArgumentException.requireNonNull(k, "number name");
            if (v == null || !Double.isFinite(v)) {
                throw new InvalidArgumentException("assurance number '" + k + "' must be finite, got " + v);
            }
            copy.put(k, v);
        });
        numbers = Collections.unmodifiableMap(copy);
    }

    /**
     * No assurance.
     *
     * @return {@code NONE}
     */
    public static Assurance none() {
        return new Assurance(Level.NONE, Map.of());
    }

    /**
     * Signature only.
     *
     * @return {@code SIGNATURE}
     */
    public static Assurance signature() {
        return new Assurance(Level.SIGNATURE, Map.of());
    }

    /**
     * Signature only, where the signature was one batch signature over {@code statements}
     * statements and this job's statements were checked by Merkle inclusion in it.
     *
     * @param statements statements the batch signature covered, at least 1
     * @return {@code SIGNATURE} with {@link #BATCH_STATEMENTS}
     */
    public static Assurance batchSignature(int statements) {
        if (statements < 1) {
            throw new InvalidArgumentException("a batch covers at least 1 statement, got " + statements);
        }
        return new Assurance(Level.SIGNATURE, Map.of(BATCH_STATEMENTS, (double) statements));
    }

    /**
     * Freivalds' check.
     *
     * @param rounds           random vectors used
     * @param tolerance        the tolerance (as documented by the verifier)
     * @param falseAcceptBound the bound on accepting a wrong product, e.g. {@code 2^-rounds}
     * @return {@code FREIVALDS}
     */
    public static Assurance freivalds(int rounds, double tolerance, double falseAcceptBound) {
        return new Assurance(Level.FREIVALDS, Map.of(ROUNDS, (double) rounds, TOLERANCE, tolerance,
                FALSE_ACCEPT_BOUND, falseAcceptBound));
    }

    /**
     * Sampled recomputation.
     *
     * @param fraction        fraction of chunks recomputed
     * @param chunks          chunks recomputed
     * @param detectOneChunk  probability of catching one corrupted chunk
     * @param detect5Percent  probability of catching 5% corrupted chunks
     * @return {@code SAMPLED}
     */
    public static Assurance sampled(double fraction, int chunks, double detectOneChunk, double detect5Percent) {
        return new Assurance(Level.SAMPLED, Map.of(SAMPLED_FRACTION, fraction, SAMPLED_CHUNKS, (double) chunks,
                DETECTION_PROBABILITY, detectOneChunk, DETECTION_PROBABILITY_5PCT, detect5Percent));
    }

    /**
     * Redundant execution.
     *
     * @param replicas providers compared
     * @param agreeing providers in the majority
     * @return {@code REDUNDANT}
     */
    public static Assurance redundant(int replicas, int agreeing) {
        return new Assurance(Level.REDUNDANT, Map.of(REPLICAS, (double) replicas, AGREEING, (double) agreeing));
    }

    /**
     * A named number.
     *
     * @param name e.g. {@link #ROUNDS}
     * @return the number, or empty
     */
    public OptionalDouble number(String name) {
        Double d = numbers.get(name);
        return d == null ? OptionalDouble.empty() : OptionalDouble.of(d);
    }

    /**
     * One line, e.g. {@code FREIVALDS falseAcceptBound=0.25 rounds=2 tolerance=1.2e-04}.
     *
     * @return the text
     */
    public String summary() {
        StringBuilder sb = new StringBuilder(level.name());
        numbers.forEach((k, v) -> sb.append(' ').append(k).append('=').append(format(v)));
        return sb.toString();
    }

    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(java.util.Locale.ROOT, "%.4g", v);
    }
}
