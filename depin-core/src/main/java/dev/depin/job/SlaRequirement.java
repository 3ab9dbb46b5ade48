package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.SlaTerms;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;

/**
 * The least service-level agreement a job accepts: placement passes over every offer whose
 * signed {@link SlaTerms} do not meet it (an offer without an SLA never does), and says why in
 * the job's rejection. A buyer's filter, kept on the {@link Job} and never sent: the node is held
 * to the terms it signed whoever asks, and the spec it hashes and signs stays what it was.
 *
 * <pre>{@code
 * Job job = Job.builder(BuiltinKernel.SGEMM) ...
 *         .requireSla(SlaRequirement.builder().minAvailabilityBasisPoints(9_990)
 *                 .maxTimeToResult(Duration.ofSeconds(30)).build())
 *         .build();
 * }</pre>
 *
 * <p>Each part left at its default accepts any value; an all-default requirement accepts any
 * offer with an SLA that covers the job's size class.
 *
 * @param minAvailabilityBasisPoints the least compliance the offer must promise, 0 to 10,000
 *                                   basis points (9,990 = 99.9 %): its schedule's highest
 *                                   threshold, below which it starts paying credits; 0 = any
 * @param maxPeriod                  the longest measurement window accepted (a month's window
 *                                   hides an hour's outage an hour's window would credit), or
 *                                   {@code null} for any
 * @param maxTimeToResult            the longest time-to-result bound accepted for the job's
 *                                   size class, or {@code null} for any (the class must still
 *                                   be covered)
 * @param maxTimeToFirstByte         the longest time-to-first-byte bound accepted; an offer
 *                                   that promises none does not meet it; {@code null} for any
 * @param minCredits                 credit tiers the offer's schedule must pay at least, at
 *                                   every compliance level; empty for any
 * @param listedIn                   directories the buyer trusts to measure availability over
 *                                   time: the offer's SLA must count its listing in one of them
 *                                   ({@link SlaTerms#listedVia()}); empty for any, including none
 */
public record SlaRequirement(int minAvailabilityBasisPoints, Duration maxPeriod, Duration maxTimeToResult,
                             Duration maxTimeToFirstByte, List<SlaTerms.CreditTier> minCredits,
                             java.util.Set<dev.depin.crypto.NodePublicKey> listedIn) {
    /** Any SLA that covers the job. */
    public static final SlaRequirement ANY = new SlaRequirement(0, null, null, null, List.of(), java.util.Set.of());

    /**
     * Checks the requirement.
     *
     * @param minAvailabilityBasisPoints 0 to 10,000
     * @param maxPeriod                  positive, or null
     * @param maxTimeToResult            positive, or null
     * @param maxTimeToFirstByte         positive, or null
     * @param minCredits                 not null, no nulls, ordered as {@link SlaTerms}' schedule
     *                                   (thresholds down, credits up), at most 8
     * @param listedIn                   not null, no nulls, at most 16 directory keys
     * @throws InvalidArgumentException on a value out of range or tiers out of order
     */
    public SlaRequirement {
        if (minAvailabilityBasisPoints < 0 || minAvailabilityBasisPoints > SlaTerms.FULL) {
            throw new InvalidArgumentException("required SLA availability " + minAvailabilityBasisPoints
                    + " must be 0 to 10000 basis points (9990 = 99.9 %)");
        }
        positive(maxPeriod, "required SLA period");
        positive(maxTimeToResult, "required SLA time to result");
        positive(maxTimeToFirstByte, "required SLA time to first byte");
        minCredits = List.copyOf(InvalidArgumentException.requireNonNull(minCredits, "required SLA credits"));
        if (minCredits.size() > 8) {
            throw new InvalidArgumentException("required SLA credits: at most 8 tiers, got " + minCredits.size());
        }
        listedIn = java.util.Set.copyOf(InvalidArgumentException.requireNonNull(listedIn, "required SLA directories"));
        if (listedIn.size() > 16) {
            throw new InvalidArgumentException("required SLA directories: at most 16 keys, got " + listedIn.size());
        }
        for (int i = 1; i < minCredits.size(); i++) {
            SlaTerms.CreditTier a = minCredits.get(i - 1);
            SlaTerms.CreditTier b = minCredits.get(i);
            if (b.belowBasisPoints() >= a.belowBasisPoints() || b.creditPercent() <= a.creditPercent()) {
                throw new InvalidArgumentException("required SLA credit tiers must go down in threshold and up in "
                        + "credit: " + a + " then " + b);
            }
        }
    }

    private static void positive(Duration d, String what) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new InvalidArgumentException(what + " " + d + " must be positive");
        }
    }

    /**
     * Why an offer's SLA does not meet this requirement for a job of {@code flops} FLOPs.
     *
     * @param offer the offer; not null
     * @param flops the job's FLOP count (its size class)
     * @return {@code null} when it meets it, else a one-line reason naming the first part it
     *         falls short in
     */
    public String mismatch(ProviderOffer offer, long flops) {
        SlaTerms sla = offer.terms().sla();
        if (sla == null) {
            return "offers no SLA, and the job requires one";
        }
        SlaTerms.Objective objective = sla.objectiveFor(flops);
        if (objective == null) {
            return "SLA does not cover a job of " + flops + " FLOPs (its largest class is "
                    + sla.objectives().get(sla.objectives().size() - 1).maxFlops() + ")";
        }
        if (maxTimeToResult != null && objective.within().compareTo(maxTimeToResult) > 0) {
            return "SLA time to result " + objective.within() + " for a job of " + flops
                    + " FLOPs, above the required " + maxTimeToResult;
        }
        if (maxTimeToFirstByte != null) {
            if (sla.firstByteWithin() == null) {
                return "SLA promises no time to first byte, and the job requires " + maxTimeToFirstByte;
            }
            if (sla.firstByteWithin().compareTo(maxTimeToFirstByte) > 0) {
                return "SLA time to first byte " + sla.firstByteWithin() + ", above the required " + maxTimeToFirstByte;
            }
        }
        int promised = sla.credits().get(0).belowBasisPoints();
        if (promised < minAvailabilityBasisPoints) {
            return "SLA availability " + percent(promised) + " %, below the required "
                    + percent(minAvailabilityBasisPoints) + " %";
        }
        if (maxPeriod != null && sla.period().compareTo(maxPeriod) > 0) {
            return "SLA period " + sla.period() + ", longer than the required " + maxPeriod;
        }
        if (!listedIn.isEmpty() && (sla.listedVia() == null || !listedIn.contains(sla.listedVia()))) {
            return sla.listedVia() == null ? "SLA does not count availability over time, and the job requires it "
                    + "counted in a directory it trusts" : "SLA counts its listing in directory "
                    + sla.listedVia().nodeId().shortId() + ", not one the job trusts";
        }
        for (SlaTerms.CreditTier t : minCredits) {
            // The offer's credit only grows as compliance falls: its least over this tier's
            // range is just below the tier's threshold.
            int paid = sla.creditPercent(t.belowBasisPoints() - 1);
            if (paid < t.creditPercent()) {
                return "SLA credits " + paid + " % below " + percent(t.belowBasisPoints())
                        + " % compliance, less than the required " + t.creditPercent() + " %";
            }
        }
        return null;
    }

    private static String percent(int basisPoints) {
        return BigDecimal.valueOf(basisPoints, 2).stripTrailingZeros().toPlainString();
    }

    /** @return a builder starting from {@link #ANY} */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds an {@link SlaRequirement}; {@link #build()} checks it. */
    public static final class Builder {
        private int minAvailability;
        private Duration maxPeriod;
        private Duration maxTimeToResult;
        private Duration maxTimeToFirstByte;
        private List<SlaTerms.CreditTier> minCredits = List.of();
        private java.util.Set<dev.depin.crypto.NodePublicKey> listedIn = java.util.Set.of();

        private Builder() {
        }

        /**
         * @param basisPoints the least compliance the offer must promise (9,990 = 99.9 %); default 0
         * @return this builder
         */
        public Builder minAvailabilityBasisPoints(int basisPoints) {
            this.minAvailability = basisPoints;
            return this;
        }

        /**
         * @param period the longest measurement window accepted; default any
         * @return this builder
         */
        public Builder maxPeriod(Duration period) {
            this.maxPeriod = period;
            return this;
        }

        /**
         * @param bound the longest time-to-result bound accepted for the job's size class; default any
         * @return this builder
         */
        public Builder maxTimeToResult(Duration bound) {
            this.maxTimeToResult = bound;
            return this;
        }

        /**
         * @param bound the longest time-to-first-byte bound accepted; default any (none required)
         * @return this builder
         */
        public Builder maxTimeToFirstByte(Duration bound) {
            this.maxTimeToFirstByte = bound;
            return this;
        }

        /**
         * @param tiers what the offer's credit schedule must pay at least; default none
         * @return this builder
         * @throws InvalidArgumentException if the array is null
         */
        public Builder minCredits(SlaTerms.CreditTier... tiers) {
            InvalidArgumentException.requireNonNull(tiers, "required SLA credits");
            this.minCredits = java.util.Arrays.asList(tiers);
            return this;
        }

        /**
         * @param directories the keys of the directories whose presence statements the buyer
         *                    accepts as the measure of availability over time; the offer's SLA
         *                    must name one of them; default any (none required)
         * @return this builder
         * @throws InvalidArgumentException if the array is null
         */
        public Builder listedIn(dev.depin.crypto.NodePublicKey... directories) {
            InvalidArgumentException.requireNonNull(directories, "required SLA directories");
            java.util.Set<dev.depin.crypto.NodePublicKey> set = new java.util.HashSet<>();
            for (dev.depin.crypto.NodePublicKey d : directories) {
                set.add(InvalidArgumentException.requireNonNull(d, "required SLA directory"));
            }
            this.listedIn = set;
            return this;
        }

        /**
         * @return the requirement
         * @throws InvalidArgumentException if it does not check
         */
        public SlaRequirement build() {
            return new SlaRequirement(minAvailability, maxPeriod, maxTimeToResult, maxTimeToFirstByte, minCredits,
                    listedIn);
        }
    }
}
