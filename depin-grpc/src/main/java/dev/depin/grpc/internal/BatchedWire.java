package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.IdentityMemo;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.MalformedEnvelopeException;
import dev.depin.crypto.VerificationException;
import dev.depin.grpc.internal.wire.BatchedParts;
import dev.depin.grpc.internal.wire.ProofParts;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A batched receipt in parts on the wire (Start.batched_parts, Result.batched_parts): the batch
 * envelope's JSON, the two statements as raw bytes and the proofs as numbers and hashes, so
 * that neither side writes or reads the JSON form (the statements base64 inside it) per job.
 * The same bytes are signed and hashed as in the JSON form: a receipt read from either verifies
 * alike, and {@link BatchedReceipt#toJsonBytes()} of it is what a JSON-form node would have sent.
 */
final class BatchedWire {
    /** The batch envelope's JSON, once per batch on the node (envelopes are immutable), wrapped without a copy. */
    private static final IdentityMemo<Envelope, ByteString> BATCH_JSON =
            new IdentityMemo<>(64, e -> UnsafeByteOperations.unsafeWrap(e.toJsonBytes()));
    /** The buyer's batch envelopes parsed lately, by their exact bytes: a batch's jobs share one parse. */
    private static final AtomicReferenceArray<Parsed> PARSED = new AtomicReferenceArray<>(16);
    /** Batch envelopes above this size are parsed each time, never remembered. */
    static final int MEMO_MAX_BYTES = 16 << 10;

    private record Parsed(ByteString json, Envelope envelope) {
    }

    private BatchedWire() {
    }

    /**
     * The parts of a node's batched receipt, for a buyer that set Start.batched_parts.
     *
     * @param r the receipt
     * @return its parts; the statements' fresh copies are wrapped, not copied again
     */
    static BatchedParts parts(BatchedReceipt r) {
        return BatchedParts.newBuilder().setBatch(BATCH_JSON.get(r.batch()))
                .setReceipt(UnsafeByteOperations.unsafeWrap(r.receipt())).setReceiptProof(proof(r.receiptProof()))
                .setWipe(UnsafeByteOperations.unsafeWrap(r.wipe())).setWipeProof(proof(r.wipeProof())).build();
    }

    private static ProofParts proof(InclusionProof p) {
        ProofParts.Builder b = ProofParts.newBuilder().setLeafIndex(p.leafIndex()).setLeafCount(p.leafCount());
        for (byte[] h : p.path()) {
            b.addPath(UnsafeByteOperations.unsafeWrap(h)); // path() hands out fresh copies
        }
        return b.build();
    }

    /**
     * Reads a batched receipt's parts as {@link BatchedReceipt#parse(byte[], int)} reads its JSON
     * form: nothing verified yet, every field checked for presence, type and size.
     *
     * @param p        what the node sent
     * @param maxBytes the most bytes the envelope and the two statements may have together
     * @return the batched receipt
     * @throws MalformedEnvelopeException {@code MALFORMED_ENVELOPE} naming what was wrong
     */
    static BatchedReceipt receipt(BatchedParts p, int maxBytes) {
        long total = (long) p.getBatch().size() + p.getReceipt().size() + p.getWipe().size();
        if (total > maxBytes) {
            throw malformed("its envelope and statements have " + total + " bytes, more than the limit of " + maxBytes);
        }
        if (p.getBatch().isEmpty()) {
            throw malformed("field 'batch' is missing");
        }
        if (p.getReceipt().isEmpty()) {
            throw malformed("field 'receipt' is missing");
        }
        if (p.getWipe().isEmpty()) {
            throw malformed("field 'wipe' is missing");
        }
        InclusionProof receiptProof = proof(p.hasReceiptProof() ? p.getReceiptProof() : null, "receiptProof");
        InclusionProof wipeProof = proof(p.hasWipeProof() ? p.getWipeProof() : null, "wipeProof");
        Envelope batch = batch(p.getBatch(), maxBytes);
        return new BatchedReceipt(batch, p.getReceipt().toByteArray(), receiptProof, p.getWipe().toByteArray(),
                wipeProof);
    }

    private static Envelope batch(ByteString json, int maxBytes) {
        if (json.size() > MEMO_MAX_BYTES) {
            return parseBatch(json, maxBytes);
        }
        int slot = slot(json);
        Parsed seen = PARSED.get(slot);
        if (seen != null && seen.json.equals(json)) {
            return seen.envelope; // the same bytes parse to the same (immutable) envelope
        }
        Envelope e = parseBatch(json, maxBytes);
        PARSED.set(slot, new Parsed(json, e));
        return e;
    }

    /**
     * The memo's slot for a batch envelope's JSON: a hash of its size and its last
     * {@link #SLOT_TAIL_BYTES} bytes (the envelope's signature, which differs between batches),
     * not of every byte, which cost a hash over the whole envelope per job. Only the slot is
     * chosen by it; a hit still needs the whole bytes equal.
     */
    static int slot(ByteString json) {
        int n = json.size();
        int h = json.substring(Math.max(0, n - SLOT_TAIL_BYTES)).hashCode() * 31 + n;
        return (h ^ (h >>> 16)) & (PARSED.length() - 1);
    }

    /** How many of a batch envelope's last bytes choose its memo slot. */
    private static final int SLOT_TAIL_BYTES = 48;

    /** As the JSON form's reader does, the envelope's own message says what is wrong with it. */
    private static Envelope parseBatch(ByteString json, int maxBytes) {
        return Envelope.parse(json.toByteArray(), maxBytes);
    }

    private static InclusionProof proof(ProofParts p, String field) {
        if (p == null) {
            throw malformed("field '" + field + "' is missing");
        }
        if (p.getLeafIndex() < 0 || p.getLeafCount() < 0) { // a uint32 at 2^31 or above reads negative
            throw malformed("'" + field + "' has leafIndex " + Integer.toUnsignedString(p.getLeafIndex())
                    + " and leafCount " + Integer.toUnsignedString(p.getLeafCount()) + ", both must be below 2^31");
        }
        if (p.getPathCount() > 64) {
            throw malformed("'" + field + "' has " + p.getPathCount() + " path hashes, at most 64 are possible");
        }
        List<byte[]> path = new ArrayList<>(p.getPathCount());
        for (ByteString h : p.getPathList()) {
            if (h.size() != 32) {
                throw malformed("'" + field + "' path holds a hash of " + h.size() + " bytes, not 32");
            }
            path.add(h.toByteArray());
        }
        try {
            return new InclusionProof(p.getLeafIndex(), p.getLeafCount(), path);
        } catch (InvalidArgumentException e) {
            throw malformed("'" + field + "': " + e.getMessage());
        }
    }

    private static MalformedEnvelopeException malformed(String what) {
        return new MalformedEnvelopeException(VerificationException.Reason.MALFORMED_ENVELOPE,
                "malformed batched receipt: " + what + ": reject it", null);
    }
}
