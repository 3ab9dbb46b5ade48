package dev.depin.sla;

import dev.depin.provider.SlaTerms;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.Sha256;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.OperationKey;
import java.time.Instant;

/**
 * One provider's SLA account for one period: what was measured, what it implies.
 *
 * @param provider              the provider
 * @param periodStart           the period's first instant
 * @param periodEnd             the instant after its last
 * @param good                  attempts verified within their class's bound
 * @param late                  attempts verified, but after the bound
 * @param lateFirstByte         attempts verified within their class's bound whose first byte
 *                              came after the SLA's first-byte bound (0 without one)
 * @param failed                attempts that failed, were disputed or never answered
 * @param uncovered             attempts of jobs larger than every size class (not counted)
 * @param complianceBasisPoints what the credit schedule is applied to: good per 10,000 counted
 *                              attempts (10,000 when none counted), or the listed share when
 *                              that is lower
 * @param charges               what the buyer paid the provider for jobs dispatched in the period
 * @param creditPercent         the schedule's credit for this compliance, 0 when compliant
 * @param credit                {@code charges × creditPercent / 100}, rounded down to the micro-USD
 * @param listedBasisPoints     the share of the period, per 10,000, that the provider's listing
 *                              was live in the directory its terms name ({@link SlaTerms#listedVia()}),
 *                              as that directory signed it; {@link #LISTED_NOT_PROMISED} when the
 *                              terms name none, {@link #LISTED_PENDING} while the directory's
 *                              statement has not been applied ({@link #withPresence}), and
 *                              {@link #LISTED_UNKNOWN} when the directory had no record of any of
 *                              the period
 */
public record SlaStatement(NodeId provider, Instant periodStart, Instant periodEnd, long good, long late,
                           long lateFirstByte, long failed, long uncovered, int complianceBasisPoints, MicroUsd charges,
                           int creditPercent, MicroUsd credit, int listedBasisPoints) {
    /** {@link #listedBasisPoints()} of terms without a presence objective. */
    public static final int LISTED_NOT_PROMISED = -1;
    /** {@link #listedBasisPoints()} of a statement whose directory statement is still to be applied. */
    public static final int LISTED_PENDING = -2;
    /** {@link #listedBasisPoints()} when the named directory knew nothing of the period. */
    public static final int LISTED_UNKNOWN = -3;

    /**
     * Checks the fields.
     *
     * @param provider              the provider
     * @param periodStart           the period's first instant
     * @param periodEnd             the instant after its last
     * @param good                  good attempts
     * @param late                  late attempts
     * @param lateFirstByte         attempts whose first byte was late
     * @param failed                failed attempts
     * @param uncovered             attempts outside every class
     * @param complianceBasisPoints compliance
     * @param charges               the period's charges
     * @param creditPercent         the credit share
     * @param credit                the credit
     * @param listedBasisPoints     the listed share, or one of the {@code LISTED_} values
     * @throws InvalidArgumentException on nulls or inconsistent numbers
     */
    public SlaStatement {
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(periodStart, "period start");
        InvalidArgumentException.requireNonNull(periodEnd, "period end");
        InvalidArgumentException.requireNonNull(charges, "charges");
        InvalidArgumentException.requireNonNull(credit, "credit");
        if (!periodEnd.isAfter(periodStart) || good < 0 || late < 0 || lateFirstByte < 0 || failed < 0 || uncovered < 0
                || complianceBasisPoints < 0 || complianceBasisPoints > SlaTerms.FULL || creditPercent < 0
                || creditPercent > 100 || credit.compareTo(charges) > 0 || listedBasisPoints < LISTED_UNKNOWN
                || listedBasisPoints > SlaTerms.FULL
                || (listedBasisPoints >= 0 && complianceBasisPoints > listedBasisPoints)) {
            throw new InvalidArgumentException("inconsistent SLA statement for " + provider.shortId() + " from "
                    + periodStart + ": counts, compliance and credit must be in range");
        }
    }

    /**
     * A statement of an SLA without a presence objective.
     *
     * @param provider              the provider
     * @param periodStart           the period's first instant
     * @param periodEnd             the instant after its last
     * @param good                  good attempts
     * @param late                  late attempts
     * @param lateFirstByte         attempts whose first byte was late
     * @param failed                failed attempts
     * @param uncovered             attempts outside every class
     * @param complianceBasisPoints compliance
     * @param charges               the period's charges
     * @param creditPercent         the credit share
     * @param credit                the credit
     * @throws InvalidArgumentException on nulls or inconsistent numbers
     */
    public SlaStatement(NodeId provider, Instant periodStart, Instant periodEnd, long good, long late,
                        long lateFirstByte, long failed, long uncovered, int complianceBasisPoints, MicroUsd charges,
                        int creditPercent, MicroUsd credit) {
        this(provider, periodStart, periodEnd, good, late, lateFirstByte, failed, uncovered, complianceBasisPoints,
                charges, creditPercent, credit, LISTED_NOT_PROMISED);
    }

    /**
     * A statement of an SLA without a first-byte bound.
     *
     * @param provider              the provider
     * @param periodStart           the period's first instant
     * @param periodEnd             the instant after its last
     * @param good                  good attempts
     * @param late                  late attempts
     * @param failed                failed attempts
     * @param uncovered             attempts outside every class
     * @param complianceBasisPoints compliance
     * @param charges               the period's charges
     * @param creditPercent         the credit share
     * @param credit                the credit
     * @throws InvalidArgumentException on nulls or inconsistent numbers
     */
    public SlaStatement(NodeId provider, Instant periodStart, Instant periodEnd, long good, long late, long failed,
                        long uncovered, int complianceBasisPoints, MicroUsd charges, int creditPercent,
                        MicroUsd credit) {
        this(provider, periodStart, periodEnd, good, late, 0, failed, uncovered, complianceBasisPoints, charges,
                creditPercent, credit);
    }

    /**
     * The credit of a share of charges, rounded down to the micro-USD.
     *
     * @param charges the period's charges
     * @param percent the share, 0 to 100
     * @return {@code charges × percent / 100}
     */
    static MicroUsd credit(MicroUsd charges, int percent) {
        return MicroUsd.ofMicros(java.math.BigInteger.valueOf(charges.micros())
                .multiply(java.math.BigInteger.valueOf(percent)).divide(java.math.BigInteger.valueOf(100))
                .longValueExact());
    }

    /** @return good attempts per 10,000 counted, 10,000 when none counted */
    public int attemptsBasisPoints() {
        long counted = counted();
        return counted == 0 ? SlaTerms.FULL : (int) (good * SlaTerms.FULL / counted);
    }

    /**
     * This statement with the listed share that a directory signed for the period: the terms'
     * schedule applied to the lower of the good-attempt ratio and that share. The statement must
     * verify against the directory key the terms name, be about this provider and cover exactly
     * this period.
     *
     * @param terms    the terms this statement was measured under (naming the directory's key)
     * @param presence the directory's statement for {@code [periodStart, periodEnd)}
     * @return the statement with {@link #listedBasisPoints()} set and the credit recomputed
     * @throws InvalidArgumentException on nulls, terms without a presence objective, a statement
     *                                  already completed, or a window other than the period
     * @throws dev.depin.crypto.VerificationException if the presence statement is not signed by
     *                                  the named directory or is about another provider
     */
    SlaStatement withPresence(SlaTerms terms, PresenceStatement presence) {
        InvalidArgumentException.requireNonNull(terms, "SLA terms");
        InvalidArgumentException.requireNonNull(presence, "presence statement");
        if (terms.listedVia() == null || listedBasisPoints != LISTED_PENDING) {
            throw new InvalidArgumentException("the SLA statement of " + provider.shortId() + " from " + periodStart
                    + (terms.listedVia() == null ? " is under terms that name no directory: it has no listed share to add"
                    : " already has its listed share: apply a directory's statement once"));
        }
        presence.verify(terms.listedVia(), provider);
        if (!presence.from().equals(periodStart) || !presence.to().equals(periodEnd)) {
            throw new InvalidArgumentException("the presence statement covers " + presence.from() + ".." + presence.to()
                    + ", not the SLA period " + periodStart + ".." + periodEnd
                    + ": ask the directory for exactly the period, once it has ended");
        }
        long known = presence.knownMillis();
        int listed = known == 0 ? LISTED_UNKNOWN : (int) (presence.liveMillis() * SlaTerms.FULL / known);
        int compliance = listed >= 0 ? Math.min(attemptsBasisPoints(), listed) : attemptsBasisPoints();
        int percent = terms.creditPercent(compliance);
        return new SlaStatement(provider, periodStart, periodEnd, good, late, lateFirstByte, failed, uncovered,
                compliance, charges, percent, credit(charges, percent), listed);
    }

    /** @return the attempts the SLA counts: good + late + lateFirstByte + failed */
    public long counted() {
        return good + late + lateFirstByte + failed;
    }

    /** @return whether the period met the promise (no credit owed) */
    public boolean compliant() {
        return creditPercent == 0;
    }

    /**
     * The idempotency key of this statement's credit from one buyer: one credit per provider,
     * period and buyer, whoever computes it and however often.
     *
     * @param buyer the buyer's account
     * @return {@code sla/<provider>/<period start millis>/<buyer>} (the buyer's SHA-256 when
     *         the whole key would exceed 200 characters)
     */
    public OperationKey creditKey(AccountId buyer) {
        InvalidArgumentException.requireNonNull(buyer, "buyer account");
        String head = "sla/" + provider.hex() + "/" + periodStart.toEpochMilli() + "/";
        String tail = buyer.value();
        if (head.length() + tail.length() > 200) {
            tail = Sha256.hex(tail.getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 32);
        }
        return OperationKey.of(head + tail);
    }

    /** @return one line: provider, period, counts, compliance, charges and credit */
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s %s..%s good %d late %d%s failed %d (uncovered %d) "
                        + "compliance %d.%02d %% charges %s credit %d %% = %s", provider.shortId(), periodStart,
                periodEnd, good, late, lateFirstByte == 0 ? "" : " late first byte " + lateFirstByte, failed, uncovered, complianceBasisPoints / 100, complianceBasisPoints % 100,
                charges, creditPercent, credit) + switch (listedBasisPoints) {
                    case LISTED_NOT_PROMISED -> "";
                    case LISTED_PENDING -> " listed: pending the directory's statement";
                    case LISTED_UNKNOWN -> " listed: unknown to the directory";
                    default -> String.format(java.util.Locale.ROOT, " listed %d.%02d %%", listedBasisPoints / 100,
                            listedBasisPoints % 100);
                };
    }
}
