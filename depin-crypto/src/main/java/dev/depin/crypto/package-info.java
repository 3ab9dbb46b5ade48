/**
 * depin's trust primitives: node identities (Ed25519), SHA-256 and RFC 6962 Merkle
 * commitments, canonical JSON, DSSE envelopes carrying in-toto statements, execution
 * receipts and wipe attestations.
 *
 * <pre>{@code
 * NodeKeyPair provider = NodeKeyPair.generate(new SecureRandom());
 * byte[] root = Merkle.root(outputBuffer);                          // RFC 6962, 4 KiB leaves
 * Envelope env = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, statement, provider);   // typed signing only
 * env.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, provider.publicKey());      // throws if it does not hold
 * try (Parallelism pool = Parallelism.newPool(4)) {                 // threads only where lent
 *     byte[] big = Merkle.root(hugeBuffer, Merkle.DEFAULT_CHUNK_SIZE, pool);
 * }
 * }</pre>
 *
 * <p><b>Receipt batching</b> (one signature for many small jobs): the provider queues each
 * job's receipt and wipe statements in a {@link dev.depin.crypto.BatchSigner}, which signs
 * one batch statement ({@value dev.depin.crypto.BatchSigner#PREDICATE_TYPE}) over the RFC 6962
 * root of their digests and hands back, per job, a {@link dev.depin.crypto.BatchedReceipt}
 * (the batch envelope, the job's unsigned statements and their inclusion proofs). The buyer's
 * {@link dev.depin.crypto.BatchVerifier} verifies the batch signature once per batch (cached),
 * then the job's inclusion, then every binding of the single-envelope path.
 *
 * <pre>{@code
 * // provider
 * BatchSigner batches = new BatchSigner(providerKeys, 256);            // seals at 256 jobs
 * WipeAttestation wipe = WipeAttestation.builder().receiptDigest(receipt.statementDigestHex())
 *         .buffer(HostWipe.wipe("a", a, (byte) 0)).startedAt(t0).endedAt(t1).build();
 * CompletableFuture<BatchedReceipt> reply = batches.add(receipt, wipe);
 * batches.seal();                                                     // or on a timer / close()
 * byte[] wire = reply.join().toJsonBytes();
 * // buyer
 * BatchVerifier verifier = new BatchVerifier();                       // shared, thread-safe
 * VerifiedBatchedReceipt ok = verifier.verify(BatchedReceipt.parse(wire), expectations);
 * ok.report().assurance();            // SIGNATURE batchStatements=512
 * }</pre>
 *
 * <p>Every verification method returns normally or throws
 * {@link dev.depin.crypto.VerificationException} (with a
 * {@link dev.depin.crypto.VerificationException.Reason}) when something does not hold; none
 * returns a boolean that could be ignored. Signing happens only through typed operations
 * over DSSE PAE bytes, so one message type's signature never passes as another's.
 */
package dev.depin.crypto;
