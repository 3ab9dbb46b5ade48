/**
 * Offline verification, without the engine: receipts, wipe attestations and dispute
 * records checked from envelopes, keys and data, as an auditor would.
 *
 * <pre>{@code
 * VerificationReport r = OfflineVerifier.verifyReceipt(receipt, key, Map.of("c", c), Map.of(), null, null);
 * VerificationReport upheld = OfflineVerifier.recheck(dispute, inputs, outputs);
 * }</pre>
 */
package dev.depin.verify;
