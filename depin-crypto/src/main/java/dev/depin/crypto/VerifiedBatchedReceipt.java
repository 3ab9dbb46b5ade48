package dev.depin.crypto;

import dev.depin.InvalidArgumentException;

/**
 * One job of a batch whose every check held ({@link BatchVerifier}): the receipt with its
 * report, and the wipe attestation's report. Both reports carry
 * {@link Assurance#batchSignature(int)}: the job was covered by one batch signature over
 * {@code batchStatements} statements, and its own statements by Merkle inclusion.
 *
 * @param receipt         the verified receipt, its signer and the receipt checks
 * @param wipeReport      the wipe attestation checks
 * @param batchDigest     hex SHA-256 of the batch envelope's PAE (the batch's identity)
 * @param batchStatements statements the batch signature covered (two per job)
 */
public record VerifiedBatchedReceipt(VerifiedReceipt receipt, VerificationReport wipeReport, String batchDigest,
                                     int batchStatements) {
    /**
     * Validates.
     *
     * @param receipt         the verified receipt, its signer and the receipt checks
     * @param wipeReport      the wipe attestation checks
     * @param batchDigest     hex SHA-256 of the batch envelope's PAE (the batch's identity)
     * @param batchStatements statements the batch signature covered (two per job)
     */
    public VerifiedBatchedReceipt {
        InvalidArgumentException.requireNonNull(receipt, "receipt");
        InvalidArgumentException.requireNonNull(wipeReport, "wipeReport");
        InvalidArgumentException.requireNonNull(batchDigest, "batchDigest");
        if (batchStatements < 1) {
            throw new InvalidArgumentException("batchStatements must be >= 1, got " + batchStatements);
        }
    }

    /**
     * Receipt and wipe checks in one report.
     *
     * @return {@code receipt().report().and(wipeReport())}
     */
    public VerificationReport report() {
        return receipt.report().and(wipeReport);
    }
}
