/**
 * Offline verification, without the engine: receipts, wipe attestations and dispute
 * records checked from envelopes, keys and data, as an auditor would. A check that could
 * not be made for lack of data is listed in {@link dev.depin.verify.OfflineReport#notChecked()},
 * never reported as passed; small evidence files are read with a bound by
 * {@link dev.depin.verify.EvidenceFiles}, outputs and inputs are streamed or mapped.
 *
 * <pre>{@code
 * OfflineReport r = OfflineVerifier.receipt(receipt, key).output("c", Path.of("c.bin")).spec(spec).verify();
 * OfflineReport upheld = OfflineVerifier.dispute(record).input("a", a).input("b", b).output("c", c).verify();
 * }</pre>
 */
package dev.depin.verify;
