package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.BatchVerifier;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.MalformedEnvelopeException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.grpc.internal.wire.BatchedParts;
import dev.depin.grpc.internal.wire.ProofParts;
import dev.depin.network.spi.SealedBatches;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A batched receipt in parts (Result.batched_parts) carries exactly what its JSON form carries:
 * read back it equals the receipt the node sealed, its JSON form is byte for byte the node's, and
 * it authenticates against the node's key; every hostile variant of the parts is refused with
 * its own message before anything is verified.
 */
class BatchedWireTest {
    private static final long SEED = 0xBA7C4ED5L;
    private static final Instant T0 = Instant.parse("2026-12-07T19:00:00Z");

    /** Seals {@code jobs} jobs (awkward sizes, from the seed) into one batch signed by {@code key}. */
    static List<BatchedReceipt> batch(NodeKeyPair key, SplittableRandom rnd, int jobs) {
        List<BatchedReceipt> out = new ArrayList<>();
        try {
            SealedBatches.seal(key, rnd, jobs, "job", 5000, 300, T0, Clock.fixed(T0, ZoneOffset.UTC))
                    .forEach(s -> out.add(s.receipt()));
        } catch (Exception e) {
            throw new AssertionError("the batch of " + jobs + " did not seal", e);
        }
        return out;
    }

    @Test
    void parts_readBackAsTheSealedReceipt_sameJson_andAuthenticate() throws Exception {
        System.out.println("BatchedWireTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        for (int jobs : new int[] {1, 2, 3, 7, 64}) {
            List<BatchedReceipt> sealed = batch(key, rnd, jobs);
            dev.depin.crypto.Envelope first = null;
            for (BatchedReceipt r : sealed) {
                BatchedParts p = BatchedParts.parseFrom(BatchedWire.parts(r).toByteString());
                BatchedReceipt read = BatchedWire.receipt(p, Wire.MAX_PROOF_BYTES);
                assertEquals(r, read, jobs + " jobs");
                assertArrayEquals(r.toJsonBytes(), read.toJsonBytes(), "the JSON form a JSON-form node sends");
                assertEquals(r, BatchedReceipt.parse(read.toJsonBytes()));
                assertArrayEquals(r.receipt(), p.getReceipt().toByteArray(), "the statement's raw bytes");
                assertEquals(r.receiptProof().leafCount(), p.getReceiptProof().getLeafCount());
                new BatchVerifier(0).authenticateReceipt(read, key.publicKey());
                if (first == null) {
                    first = read.batch();
                } else {
                    assertSame(first, read.batch(), "a batch's jobs share one parse of its envelope");
                }
            }
        }
    }

    @Test
    void batchesOfOneSizeAndTail_shareAMemoSlot_butNeverAParse() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        NodeKeyPair key = NodeKeyPair.generate();
        BatchedReceipt r = batch(key, rnd, 3).get(0);
        BatchedParts p = BatchedWire.parts(r);
        dev.depin.crypto.Envelope original = BatchedWire.receipt(p, Wire.MAX_PROOF_BYTES).batch();
        // One character of the payload's base64 changed: same size and same tail (the signature), so the same slot.
        byte[] json = p.getBatch().toByteArray();
        String text = new String(json, java.nio.charset.StandardCharsets.UTF_8);
        int at = text.indexOf("\"payload\":\"") + "\"payload\":\"".length() + 8;
        json[at] = (byte) (json[at] == 'A' ? 'B' : 'A');
        ByteString changed = ByteString.copyFrom(json);
        assertEquals(BatchedWire.slot(p.getBatch()), BatchedWire.slot(changed));
        BatchedReceipt read = BatchedWire.receipt(p.toBuilder().setBatch(changed).build(), Wire.MAX_PROOF_BYTES);
        assertNotSame(original, read.batch(), "other bytes in the same slot are parsed, not taken from the memo");
        assertArrayEquals(json, read.batch().toJsonBytes());
        assertThrows(VerificationException.class, () -> new BatchVerifier(0).authenticateReceipt(read,
                key.publicKey()));
        // And the original bytes again: parsed anew (their slot now holds the changed ones), still authentic.
        BatchedReceipt again = BatchedWire.receipt(p, Wire.MAX_PROOF_BYTES);
        assertArrayEquals(p.getBatch().toByteArray(), again.batch().toJsonBytes());
        new BatchVerifier(0).authenticateReceipt(again, key.publicKey());
    }

    /** Parts of one sealed receipt changed by {@code change}, then read with a 1 MiB limit. */
    private static String refused(BatchedReceipt r, UnaryOperator<BatchedParts.Builder> change) {
        BatchedParts p = change.apply(BatchedWire.parts(r).toBuilder()).build();
        MalformedEnvelopeException e = assertThrows(MalformedEnvelopeException.class,
                () -> BatchedWire.receipt(p, Wire.MAX_PROOF_BYTES));
        assertEquals(VerificationException.Reason.MALFORMED_ENVELOPE, e.reason());
        return e.getMessage();
    }

    private static ProofParts.Builder proof(BatchedParts.Builder b) {
        return b.getReceiptProofBuilder();
    }

    @Test
    void hostileParts_eachRefusedWithItsOwnMessage() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        NodeKeyPair key = NodeKeyPair.generate();
        BatchedReceipt r = batch(key, rnd, 3).get(1);
        String pre = "MALFORMED_ENVELOPE: malformed batched receipt: ";
        int count = r.receiptProof().leafCount();
        assertEquals(6, count, "three jobs, two statements each");
        assertEquals(pre + "field 'batch' is missing: reject it", refused(r, b -> b.clearBatch()));
        assertEquals(pre + "field 'receipt' is missing: reject it", refused(r, b -> b.clearReceipt()));
        assertEquals(pre + "field 'wipe' is missing: reject it", refused(r, b -> b.clearWipe()));
        assertEquals(pre + "field 'receiptProof' is missing: reject it", refused(r, b -> b.clearReceiptProof()));
        assertEquals(pre + "field 'wipeProof' is missing: reject it", refused(r, b -> b.clearWipeProof()));
        assertEquals(pre + "its envelope and statements have " + (Wire.MAX_PROOF_BYTES + 1L + r.wipe().length
                        + r.batch().toJsonBytes().length) + " bytes, more than the limit of " + Wire.MAX_PROOF_BYTES
                        + ": reject it",
                refused(r, b -> b.setReceipt(ByteString.copyFrom(new byte[Wire.MAX_PROOF_BYTES + 1]))));
        assertEquals(pre + "'receiptProof' has leafIndex 4294967295 and leafCount " + count
                + ", both must be below 2^31: reject it", refused(r, b -> {
                    proof(b).setLeafIndex(-1);
                    return b;
                }));
        assertEquals(pre + "'receiptProof' has leafIndex " + r.receiptProof().leafIndex()
                + " and leafCount 2147483648, both must be below 2^31: reject it", refused(r, b -> {
                    proof(b).setLeafCount(Integer.MIN_VALUE);
                    return b;
                }));
        assertEquals(pre + "'receiptProof': leafIndex " + count + " is outside [0, " + count + "): reject it",
                refused(r, b -> {
                    proof(b).setLeafIndex(count);
                    return b;
                }));
        assertEquals(pre + "'receiptProof': leafCount must be >= 1, got 0: reject it", refused(r, b -> {
            proof(b).setLeafIndex(0).setLeafCount(0);
            return b;
        }));
        assertEquals(pre + "'wipeProof' has 65 path hashes, at most 64 are possible: reject it", refused(r, b -> {
            b.getWipeProofBuilder().clearPath();
            for (int i = 0; i < 65; i++) {
                b.getWipeProofBuilder().addPath(ByteString.copyFrom(new byte[32]));
            }
            return b;
        }));
        for (int size : new int[] {0, 31, 33}) {
            assertEquals(pre + "'wipeProof' path holds a hash of " + size + " bytes, not 32: reject it",
                    refused(r, b -> {
                        b.getWipeProofBuilder().setPath(0, ByteString.copyFrom(new byte[size]));
                        return b;
                    }));
        }
        String notJson = refused(r, b -> b.setBatch(ByteString.copyFromUtf8("{\"payload\":")));
        assertTrue(notJson.startsWith("MALFORMED_ENVELOPE: envelope is not valid JSON ("), notJson);
        assertEquals("MALFORMED_ENVELOPE: envelope has no signatures: an unsigned envelope proves nothing; "
                + "reject it", refused(r, b -> b.setBatch(ByteString.copyFromUtf8(
                "{\"payload\":\"e30=\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[]}"))));
    }

    @Test
    void partsThatParse_butWereChanged_failAuthentication() {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        NodeKeyPair key = NodeKeyPair.generate();
        BatchedReceipt r = batch(key, rnd, 5).get(3);
        BatchVerifier verifier = new BatchVerifier(0);
        // One byte of the statement changed: its digest is no longer the leaf the batch signed.
        byte[] statement = r.receipt();
        statement[statement.length / 2] ^= 1;
        BatchedReceipt changed = BatchedWire.receipt(BatchedWire.parts(r).toBuilder()
                .setReceipt(ByteString.copyFrom(statement)).build(), Wire.MAX_PROOF_BYTES);
        VerificationException e = assertThrows(VerificationException.class,
                () -> verifier.authenticateReceipt(changed, key.publicKey()));
        assertEquals(VerificationException.Reason.MERKLE_PROOF_INVALID, e.reason(), e.getMessage());
        // Leaf 3 with the proof of leaf 2 of another batch: the path does not lead to this batch's signed root.
        BatchedReceipt other = batch(key, rnd, 5).get(2);
        BatchedReceipt moved = BatchedWire.receipt(BatchedWire.parts(r).toBuilder()
                .setReceiptProof(BatchedWire.parts(other).getReceiptProof()).build(), Wire.MAX_PROOF_BYTES);
        e = assertThrows(VerificationException.class, () -> verifier.authenticateReceipt(moved, key.publicKey()));
        assertEquals(VerificationException.Reason.MERKLE_PROOF_INVALID, e.reason(), e.getMessage());
        // Signed by another key.
        BatchedReceipt theirs = batch(NodeKeyPair.generate(), rnd, 2).get(0);
        BatchedReceipt read = BatchedWire.receipt(BatchedWire.parts(theirs), Wire.MAX_PROOF_BYTES);
        e = assertThrows(VerificationException.class, () -> verifier.authenticateReceipt(read, key.publicKey()));
        assertEquals(VerificationException.Reason.KEY_MISMATCH, e.reason(), e.getMessage());
    }
}
