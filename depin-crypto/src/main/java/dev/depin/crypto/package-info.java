/**
 * depin's trust primitives: node identities (Ed25519), Merkle commitments (RFC 6962),
 * DSSE envelopes carrying in-toto statements, execution receipts and wipe attestations.
 *
 * <pre>{@code
 * NodeKeyPair provider = NodeKeyPair.generate(new SecureRandom());
 * byte[] root = Merkle.root(outputBuffer);                  // RFC 6962, 64 KiB chunks
 * byte[] sig = provider.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, payload);
 * provider.publicKey().verify(Dsse.IN_TOTO_PAYLOAD_TYPE, payload, sig); // throws if bad
 * }</pre>
 *
 * <p>Every verification method is {@code void} and throws {@link dev.depin.crypto.VerificationException}
 * (with a {@link dev.depin.crypto.VerificationException.Reason}) when something does not hold.
 */
package dev.depin.crypto;
