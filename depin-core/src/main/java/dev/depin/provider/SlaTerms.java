package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import java.time.Duration;
import java.util.List;

/**
 * What a provider promises in its offer, and what it pays back when it does not keep it: a
 * service-level agreement with a credit schedule, as the clouds write theirs.
 *
 * <p>The promise is a ratio of good attempts per {@link #period()}: an attempt dispatched to
 * the provider is <em>good</em> when it ends with a verified result within the
 * {@link Objective} of its job's size class (FLOPs), and <em>bad</em> when it fails, is
 * disputed, or is verified too late. Attempts the buyer withdrew (cancelled: a hedge that lost,
 * a job cancelled by its owner) do not count. Compliance is good / (good + bad) in basis
 * points; the {@link CreditTier} with the lowest threshold above it gives the share of the
 * period's charges the provider credits back from its stake ({@code dev.depin.sla.SlaCredits}). A period
 * without eligible attempts is compliant.
 *
 * @param period     the measurement window, 10 seconds to 31 days; periods are aligned to the
 *                   Unix epoch (an hour period runs from :00 to :00)
 * @param objectives time-to-result bound per size class, 1 to 16, in increasing
 *                   {@link Objective#maxFlops()}; a job above the last class is not covered
 * @param credits    the credit schedule, 1 to 8 tiers, thresholds strictly decreasing and credit
 *                   percentages strictly increasing
 * @param firstByteWithin the time-to-first-byte bound, 1 ms to 1 day, or {@code null} when the
 *                   offer promises none: an attempt whose first answer (a result, or a refusal
 *                   with a reason) reaches the buyer later than this after dispatch is bad, whatever
 *                   its size class. An offer without it signs the bytes it always did
 * @param listedVia  the key of the directory whose signed presence statements measure
 *                   availability over time, or {@code null} when the offer promises none (the
 *                   key, not its id, so that a buyer checks the statements from the offer alone): a period's compliance
 *                   is then the lower of its good-attempt ratio and the share of the period the
 *                   provider's listing was live in that directory, as the directory signed it
 *                   ({@code dev.depin.sla.PresenceStatement}; docs/decisions.md, "Availability
 *                   over time: the directory the offer names"). An offer without it signs the
 *                   bytes it always did
 */
public record SlaTerms(Duration period, List<Objective> objectives, List<CreditTier> credits,
                       Duration firstByteWithin, dev.depin.crypto.NodePublicKey listedVia) {
    /**
     * The shortest period: a demo or a test can watch one close. Samples that small are the
     * provider's own risk (one failure in ten attempts is a 90 % period); offers usually say an
     * hour or a month.
     */
    public static final Duration MIN_PERIOD = Duration.ofSeconds(10);

    /** Basis points in 100 %. */
    public static final int FULL = 10_000;

    /**
     * Checks the terms.
     *
     * @param period     the measurement window, 10 seconds to 31 days, whole milliseconds
     * @param objectives time-to-result bounds by size class
     * @param credits    the credit schedule
     * @param firstByteWithin the time-to-first-byte bound, or null for none
     * @param listedVia  the key of the directory whose presence statements count, or null for none
     * @throws InvalidArgumentException on a null, an out-of-range value or tiers out of order
     */
    public SlaTerms {
        InvalidArgumentException.requireNonNull(period, "SLA period");
        if (period.compareTo(MIN_PERIOD) < 0 || period.compareTo(Duration.ofDays(31)) > 0
                || period.getNano() % 1_000_000 != 0) {
            throw new InvalidArgumentException("SLA period " + period + " must be whole milliseconds from 10 seconds to "
                    + "31 days, e.g. PT1H or P30D");
        }
        objectives = List.copyOf(InvalidArgumentException.requireNonNull(objectives, "SLA objectives"));
        if (objectives.isEmpty() || objectives.size() > 16) {
            throw new InvalidArgumentException("an SLA needs 1 to 16 objectives (size classes), got " + objectives.size());
        }
        for (int i = 1; i < objectives.size(); i++) {
            if (objectives.get(i).maxFlops() <= objectives.get(i - 1).maxFlops()) {
                throw new InvalidArgumentException("SLA objectives must be in increasing maxFlops: "
                        + objectives.get(i - 1) + " then " + objectives.get(i));
            }
        }
        credits = List.copyOf(InvalidArgumentException.requireNonNull(credits, "SLA credit schedule"));
        if (credits.isEmpty() || credits.size() > 8) {
            throw new InvalidArgumentException("an SLA needs 1 to 8 credit tiers, got " + credits.size());
        }
        for (int i = 1; i < credits.size(); i++) {
            CreditTier a = credits.get(i - 1);
            CreditTier b = credits.get(i);
            if (b.belowBasisPoints() >= a.belowBasisPoints() || b.creditPercent() <= a.creditPercent()) {
                throw new InvalidArgumentException("SLA credit tiers must go down in threshold and up in credit: "
                        + a + " then " + b);
            }
        }
        if (firstByteWithin != null && (firstByteWithin.compareTo(Duration.ofMillis(1)) < 0
                || firstByteWithin.compareTo(Duration.ofDays(1)) > 0 || firstByteWithin.getNano() % 1_000_000 != 0)) {
            throw new InvalidArgumentException("SLA time-to-first-byte bound " + firstByteWithin
                    + " must be whole milliseconds from 1 ms to 1 day");
        }
    }

    /**
     * Terms without a presence objective.
     *
     * @param period     the measurement window
     * @param objectives time-to-result bounds by size class
     * @param credits    the credit schedule
     * @param firstByteWithin the time-to-first-byte bound, or null for none
     * @throws InvalidArgumentException as the canonical constructor
     */
    public SlaTerms(Duration period, List<Objective> objectives, List<CreditTier> credits, Duration firstByteWithin) {
        this(period, objectives, credits, firstByteWithin, null);
    }

    /**
     * Terms without a time-to-first-byte bound.
     *
     * @param period     the measurement window
     * @param objectives time-to-result bounds by size class
     * @param credits    the credit schedule
     * @throws InvalidArgumentException as the canonical constructor
     */
    public SlaTerms(Duration period, List<Objective> objectives, List<CreditTier> credits) {
        this(period, objectives, credits, null, null);
    }

    /**
     * These terms with a time-to-first-byte bound.
     *
     * @param bound the bound, 1 ms to 1 day, or null for none
     * @return the new terms
     * @throws InvalidArgumentException if the bound is out of range
     */
    public SlaTerms withFirstByteWithin(Duration bound) {
        return new SlaTerms(period, objectives, credits, bound, listedVia);
    }

    /**
     * These terms with availability over time measured by a directory's presence statements.
     *
     * @param directory the key of the directory whose statements count, or null for none
     * @return the new terms
     */
    public SlaTerms withListedVia(dev.depin.crypto.NodePublicKey directory) {
        return new SlaTerms(period, objectives, credits, firstByteWithin, directory);
    }

    /**
     * A common schedule: 99.9 % of attempts good, or 10 % back; below 99 %, 25 %; below 95 %, 100 %.
     *
     * @param period     the window
     * @param objectives the size classes
     * @return the terms
     */
    public static SlaTerms standard(Duration period, List<Objective> objectives) {
        return new SlaTerms(period, objectives, List.of(new CreditTier(9_990, 10), new CreditTier(9_900, 25),
                new CreditTier(9_500, 100)));
    }

    /**
     * The objective of a job's size class.
     *
     * @param flops the job's FLOP count
     * @return the smallest class that holds it, or {@code null} when the SLA does not cover it
     */
    public Objective objectiveFor(long flops) {
        for (Objective o : objectives) {
            if (flops <= o.maxFlops()) {
                return o;
            }
        }
        return null;
    }

    /**
     * The credit a period's compliance earns.
     *
     * @param complianceBasisPoints good attempts per 10,000 eligible ones
     * @return the percentage of the period's charges credited back, 0 when compliant
     */
    public int creditPercent(int complianceBasisPoints) {
        int percent = 0;
        for (CreditTier t : credits) {
            if (complianceBasisPoints < t.belowBasisPoints()) {
                percent = t.creditPercent();
            }
        }
        return percent;
    }

    /**
     * The start of the period that holds an instant.
     *
     * @param at an instant
     * @return the period's start, aligned to the epoch
     */
    public java.time.Instant periodStart(java.time.Instant at) {
        long p = period.toMillis();
        return java.time.Instant.ofEpochMilli(Math.floorDiv(at.toEpochMilli(), p) * p);
    }

    /**
     * One size class: a job of at most {@code maxFlops} FLOPs gets a verified result within
     * {@code within} of its dispatch, as the buyer measures it.
     *
     * @param maxFlops the class's largest job, &ge; 1 ({@code Long.MAX_VALUE} for "any size")
     * @param within   the bound, 1 ms to 1 day, whole milliseconds
     */
    public record Objective(long maxFlops, Duration within) {
        /**
         * Checks the class.
         *
         * @param maxFlops the class's largest job
         * @param within   the bound
         * @throws InvalidArgumentException if out of range
         */
        public Objective {
            if (maxFlops < 1) {
                throw new InvalidArgumentException("SLA class maxFlops " + maxFlops + " must be >= 1");
            }
            InvalidArgumentException.requireNonNull(within, "SLA time-to-result bound");
            if (within.compareTo(Duration.ofMillis(1)) < 0 || within.compareTo(Duration.ofDays(1)) > 0
                    || within.getNano() % 1_000_000 != 0) {
                throw new InvalidArgumentException("SLA time-to-result bound " + within
                        + " must be whole milliseconds from 1 ms to 1 day");
            }
        }
    }

    /**
     * One tier of the credit schedule: compliance below the threshold credits a share back.
     *
     * @param belowBasisPoints the threshold, 1 to 10,000 (9,990 = 99.9 %)
     * @param creditPercent    the share of the period's charges credited, 1 to 100
     */
    public record CreditTier(int belowBasisPoints, int creditPercent) {
        /**
         * Checks the tier.
         *
         * @param belowBasisPoints the threshold
         * @param creditPercent    the share credited
         * @throws InvalidArgumentException if out of range
         */
        public CreditTier {
            if (belowBasisPoints < 1 || belowBasisPoints > FULL) {
                throw new InvalidArgumentException("SLA credit threshold " + belowBasisPoints
                        + " must be 1 to 10000 basis points (9990 = 99.9 %)");
            }
            if (creditPercent < 1 || creditPercent > 100) {
                throw new InvalidArgumentException("SLA credit " + creditPercent + " % must be 1 to 100");
            }
        }
    }
}
