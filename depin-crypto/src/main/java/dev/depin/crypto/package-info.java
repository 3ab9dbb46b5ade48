/**
 * depin's trust primitives: node identities (Ed25519), SHA-256 and RFC 6962 Merkle
 * commitments, canonical JSON, DSSE envelopes carrying in-toto statements, execution
 * receipts and wipe attestations.
 *
 * <pre>{@code
 * NodeKeyPair provider = NodeKeyPair.generate(new SecureRandom());
 * byte[] root = Merkle.root(outputBuffer);                          // RFC 6962, 64 KiB chunks
 * Envelope env = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, statement, provider);   // typed signing only
 * env.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, provider.publicKey());      // throws if it does not hold
 * try (Parallelism pool = Parallelism.newPool(4)) {                 // threads only where lent
 *     byte[] big = Merkle.root(hugeBuffer, Merkle.DEFAULT_CHUNK_SIZE, pool);
 * }
 * }</pre>
 *
 * <p>Every verification method returns normally or throws
 * {@link dev.depin.crypto.VerificationException} (with a
 * {@link dev.depin.crypto.VerificationException.Reason}) when something does not hold; none
 * returns a boolean that could be ignored. Signing happens only through typed operations
 * over DSSE PAE bytes, so one message type's signature never passes as another's.
 */
package dev.depin.crypto;
