package dev.depin.crypto;

import java.util.Objects;

/**
 * A receipt whose every binding held, with its signer and the report of what was checked.
 *
 * @param receipt the receipt
 * @param signer  the provider key that signed it
 * @param report  the checks performed (assurance {@code SIGNATURE})
 */
public record VerifiedReceipt(ExecutionReceipt receipt, NodeId signer, VerificationReport report) {
    /** Validates. */
    public VerifiedReceipt {
        Objects.requireNonNull(receipt, "receipt");
        Objects.requireNonNull(signer, "signer");
        Objects.requireNonNull(report, "report");
    }
}
