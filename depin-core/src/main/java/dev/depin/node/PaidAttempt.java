package dev.depin.node;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.HoldCertificate;

/**
 * An attempt a node completed that a hold pays for: the buyer's hold certificate, the node's
 * result with its signed receipt (one by one, or batched), and what the node charges for it at
 * its price. What a claimer claims with if the buyer never posts the hold
 * ({@link ProviderNode.Builder#onPaidAttempt}).
 *
 * @param certificate the hold certificate the attempt was admitted with
 * @param result      the node's result, with the receipt
 * @param charge      the node's price for the device time and bytes the attempt used
 */
public record PaidAttempt(HoldCertificate certificate, NodeResult result, MicroUsd charge) {
    /**
     * Checks the fields.
     *
     * @param certificate the hold certificate
     * @param result      the result
     * @param charge      the charge
     * @throws InvalidArgumentException if a field is null
     */
    public PaidAttempt {
        InvalidArgumentException.requireNonNull(certificate, "hold certificate");
        InvalidArgumentException.requireNonNull(result, "node result");
        InvalidArgumentException.requireNonNull(charge, "charge");
    }

    /** @return what a claim may ask: the charge, at most the held amount */
    public MicroUsd claimable() {
        return MicroUsd.ofMicros(Math.min(charge.micros(), certificate.amount().micros()));
    }
}
