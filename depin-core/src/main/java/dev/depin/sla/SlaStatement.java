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
 * @param complianceBasisPoints good per 10,000 counted attempts; 10,000 when none counted
 * @param charges               what the buyer paid the provider for jobs dispatched in the period
 * @param creditPercent         the schedule's credit for this compliance, 0 when compliant
 * @param credit                {@code charges × creditPercent / 100}, rounded down to the micro-USD
 */
public record SlaStatement(NodeId provider, Instant periodStart, Instant periodEnd, long good, long late,
                           long lateFirstByte, long failed, long uncovered, int complianceBasisPoints, MicroUsd charges,
                           int creditPercent, MicroUsd credit) {
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
                || creditPercent > 100 || credit.compareTo(charges) > 0) {
            throw new InvalidArgumentException("inconsistent SLA statement for " + provider.shortId() + " from "
                    + periodStart + ": counts, compliance and credit must be in range");
        }
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
                charges, creditPercent, credit);
    }
}
