/**
 * Offline verification, without the engine: receipts, wipe attestations and dispute
 * records checked from envelopes, keys and data, as an auditor would.
 *
 * <pre>{@code
 * OfflineReport r = OfflineVerifier.receipt(receipt, key).output("c", Path.of("c.bin")).spec(spec).verify();
 * OfflineReport upheld = OfflineVerifier.dispute(record).input("a", a).input("b", b).output("c", c).verify();
 * }</pre>
 */
package dev.depin.verify;
