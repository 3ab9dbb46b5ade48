package dev.depin.crypto;

import dev.depin.InvalidArgumentException;

/**
 * A receipt whose every binding held, with its signer and the report of what was checked.
 *
 * @param receipt the receipt
 * @param signer  the provider key that signed it
 * @param report  the checks performed (assurance {@code SIGNATURE})
 */
public record VerifiedReceipt(ExecutionReceipt receipt, NodeId signer, VerificationReport report) {
    /**
     * Validates.
     *
     * @param receipt the receipt
     * @param signer  the provider key that signed it
     * @param report  the checks performed (assurance {@code SIGNATURE})
     */
    public VerifiedReceipt {
        InvalidArgumentException.requireNonNull(receipt, "receipt");
        InvalidArgumentException.requireNonNull(signer, "signer");
        InvalidArgumentException.requireNonNull(report, "report");
    }
}
