package dev.depin.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * What a provider sends a buyer for one job of a batch (made by {@link BatchSigner}, checked
 * by {@link BatchVerifier}): the batch envelope, signed once for the whole batch, and this
 * job's two <em>unsigned</em> in-toto statements — its execution receipt and its wipe
 * attestation, exactly the payloads the single-envelope path would have signed — each with
 * an RFC 6962 inclusion proof of its digest in the batch's signed Merkle root.
 *
 * <p>A statement's digest is SHA-256 of DSSE
 * {@link Dsse#pae(String, byte[]) PAE}({@value Dsse#IN_TOTO_PAYLOAD_TYPE}, statement), the same
 * digest {@link Envelope#digestHex()} gives for a signed envelope; the wipe attestation's
 * subject is the receipt statement's digest.
 *
 * <p>JSON form ({@link #toJsonBytes()}, {@link #parse(byte[], int)}):
 * <pre>
 * {"batch": {DSSE envelope}, "format": "depin.batched-receipt/v1",
 *  "receipt": base64, "receiptProof": {"leafCount": n, "leafIndex": i, "path": [hex, ...]},
 *  "wipe": base64, "wipeProof": {...}}
 * </pre>
 *
 * @param batch        the signed batch envelope (predicate {@value BatchSigner#PREDICATE_TYPE})
 * @param receipt      the receipt statement's exact bytes (copied in and out)
 * @param receiptProof inclusion of the receipt statement's digest in the batch root
 * @param wipe         the wipe attestation statement's exact bytes (copied in and out)
 * @param wipeProof    inclusion of the wipe statement's digest in the batch root
 */
public record BatchedReceipt(Envelope batch, byte[] receipt, InclusionProof receiptProof, byte[] wipe,
                             InclusionProof wipeProof) {
    /** The {@code format} of the JSON form. */
    public static final String FORMAT = "depin.batched-receipt/v1";
    /** Largest JSON form {@link #parse(byte[])} accepts by default: 8 MiB. */
    public static final int DEFAULT_MAX_JSON_BYTES = 8 << 20;

    /**
     * Validates and copies.
     *
     * @param batch        the signed batch envelope (predicate {@value BatchSigner#PREDICATE_TYPE})
     * @param receipt      the receipt statement's exact bytes (copied in and out)
     * @param receiptProof inclusion of the receipt statement's digest in the batch root
     * @param wipe         the wipe attestation statement's exact bytes (copied in and out)
     * @param wipeProof    inclusion of the wipe statement's digest in the batch root
     */
    public BatchedReceipt {
        InvalidArgumentException.requireNonNull(batch, "batch");
        InvalidArgumentException.requireNonNull(receipt, "receipt");
        InvalidArgumentException.requireNonNull(receiptProof, "receiptProof");
        InvalidArgumentException.requireNonNull(wipe, "wipe");
        InvalidArgumentException.requireNonNull(wipeProof, "wipeProof");
        receipt = receipt.clone();
        wipe = wipe.clone();
    }

    /**
     * The receipt statement's bytes.
     *
     * @return a copy
     */
    @Override
    public byte[] receipt() {
        return receipt.clone();
    }

    /**
     * The wipe attestation statement's bytes.
     *
     * @return a copy
     */
    @Override
    public byte[] wipe() {
        return wipe.clone();
    }

    /**
     * Hex SHA-256 of PAE(in-toto, receipt statement): the leaf value the batch commits to
     * and the wipe attestation's subject.
     *
     * @return 64 lower-case hex characters
     */
    public String receiptDigestHex() {
        return Hex.encode(statementDigest(receipt));
    }

    /**
     * Reads the receipt <b>without verifying anything</b> (for display and dispute records).
     * Use {@link BatchVerifier#verify(BatchedReceipt, ReceiptExpectations)} before trusting it.
     *
     * @return the receipt
     * @throws VerificationException if the bytes are not an execution receipt statement
     */
    public ExecutionReceipt readReceiptUnverified() {
        return StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, receipt).receipt();
    }

    static byte[] statementDigest(byte[] statement) {
        return Sha256.digest(Dsse.pae(Dsse.IN_TOTO_PAYLOAD_TYPE, statement));
    }

    /**
     * The JSON form (keys sorted, compact).
     *
     * @return UTF-8 JSON
     */
    public byte[] toJsonBytes() {
        ObjectNode o = CanonicalJson.object();
        o.put("format", FORMAT);
        o.put("receipt", Base64.getEncoder().encodeToString(receipt));
        o.set("receiptProof", proofJson(receiptProof));
        o.put("wipe", Base64.getEncoder().encodeToString(wipe));
        o.set("wipeProof", proofJson(wipeProof));
        // The batch envelope, shared by every job of the batch, is encoded once (its DSSE JSON is
        // already canonical) and spliced in first: "batch" sorts before every other key, so the
        // bytes are exactly what writing the whole tree canonically gives.
        byte[] rest = CanonicalJson.write(o);
        byte[] env = BATCH_JSON.get(batch);
        byte[] json = new byte[BATCH_KEY.length + env.length + rest.length];
        System.arraycopy(BATCH_KEY, 0, json, 0, BATCH_KEY.length);
        System.arraycopy(env, 0, json, BATCH_KEY.length, env.length);
        json[BATCH_KEY.length + env.length] = ',';
        System.arraycopy(rest, 1, json, BATCH_KEY.length + env.length + 1, rest.length - 1);
        return json;
    }

    /** {@code {"batch":} as the canonical writer writes it, before the envelope's own JSON. */
    private static final byte[] BATCH_KEY = "{\"batch\":".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    /** Each batch envelope's JSON, by identity (envelopes are immutable): once per batch, not per job. */
    private static final IdentityMemo<Envelope, byte[]> BATCH_JSON = new IdentityMemo<>(64, Envelope::toJsonBytes);

    private static ObjectNode proofJson(InclusionProof p) {
        ObjectNode o = CanonicalJson.object();
        o.put("leafIndex", p.leafIndex());
        o.put("leafCount", p.leafCount());
        ArrayNode path = o.putArray("path");
        for (byte[] h : p.path()) {
            path.add(Hex.encode(h));
        }
        return o;
    }

    /**
     * Parses the JSON form, accepting at most {@link #DEFAULT_MAX_JSON_BYTES} bytes.
     *
     * @param json UTF-8 JSON
     * @return the batched receipt (nothing verified yet)
     * @throws MalformedEnvelopeException {@code MALFORMED_ENVELOPE} if it is not a well-formed
     *                                    batched receipt
     */
    public static BatchedReceipt parse(byte[] json) {
        return parse(json, DEFAULT_MAX_JSON_BYTES);
    }

    /**
     * Parses the JSON form with an explicit size limit.
     *
     * @param json     UTF-8 JSON
     * @param maxBytes the largest input accepted
     * @return the batched receipt (nothing verified yet)
     * @throws MalformedEnvelopeException {@code MALFORMED_ENVELOPE} if it is oversized, not
     *                                    JSON, or misses or mistypes a field
     */
    public static BatchedReceipt parse(byte[] json, int maxBytes) {
        InvalidArgumentException.requireNonNull(json, "json");
        if (json.length > maxBytes) {
            throw new MalformedEnvelopeException("batched receipt JSON has " + json.length
                    + " bytes, more than the limit of " + maxBytes + ": reject it");
        }
        JsonNode root;
        try {
            root = CanonicalJson.readTree(json);
        } catch (MalformedJsonException e) {
            throw new MalformedEnvelopeException(VerificationException.Reason.MALFORMED_ENVELOPE,
                    "batched receipt is not valid JSON (" + e.getMessage() + "): reject it", e);
        }
        if (!root.isObject() || !FORMAT.equals(root.path("format").asText(null))) {
            throw malformed("it is not a JSON object with format '" + FORMAT + "'", null);
        }
        JsonNode batchNode = root.get("batch");
        if (batchNode == null || !batchNode.isObject()) {
            throw malformed("field 'batch' is missing or not an envelope object", null);
        }
        try {
            Envelope batch = Envelope.fromTree(batchNode); // within maxBytes: part of json
            return new BatchedReceipt(batch, base64(root, "receipt"), proof(root, "receiptProof"),
                    base64(root, "wipe"), proof(root, "wipeProof"));
        } catch (InvalidArgumentException e) {
            throw malformed(e.getMessage(), e);
        }
    }

    private static byte[] base64(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || !v.isTextual()) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not a string"), null);
        }
        try {
            return Base64.getDecoder().decode(v.asText());
        } catch (IllegalArgumentException e) {
            throw malformed("field '" + field + "' is not base64", e);
        }
    }

    private static InclusionProof proof(JsonNode root, String field) {
        JsonNode p = root.get(field);
        if (p == null || !p.isObject()) {
            throw malformed("field '" + field + "' is missing or not an object", null);
        }
        JsonNode index = p.get("leafIndex");
        JsonNode count = p.get("leafCount");
        JsonNode path = p.get("path");
        if (index == null || !index.canConvertToInt() || !index.isIntegralNumber() || count == null
                || !count.isIntegralNumber() || !count.canConvertToInt() || path == null || !path.isArray()) {
            throw malformed("'" + field + "' needs integer leafIndex and leafCount and a path array", null);
        }
        if (path.size() > 64) {
            throw malformed("'" + field + "' has " + path.size() + " path hashes, at most 64 are possible", null);
        }
        List<byte[]> hashes = new ArrayList<>();
        for (JsonNode h : path) {
            if (!h.isTextual() || !Hex.isLowerHex(h.asText(), 2 * Sha256.LENGTH)) {
                throw malformed("'" + field + "' path holds something other than 64 lower-case hex characters", null);
            }
            hashes.add(Hex.decode(h.asText()));
        }
        return new InclusionProof(index.intValue(), count.intValue(), hashes);
    }

    private static MalformedEnvelopeException malformed(String what, Throwable cause) {
        return new MalformedEnvelopeException(VerificationException.Reason.MALFORMED_ENVELOPE,
                "malformed batched receipt: " + what + ": reject it", cause);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BatchedReceipt b && b.batch.equals(batch) && Arrays.equals(b.receipt, receipt)
                && b.receiptProof.equals(receiptProof) && Arrays.equals(b.wipe, wipe) && b.wipeProof.equals(wipeProof);
    }

    @Override
    public int hashCode() {
        return Objects.hash(batch, Arrays.hashCode(receipt), receiptProof, Arrays.hashCode(wipe), wipeProof);
    }

    @Override
    public String toString() {
        return "BatchedReceipt[batch=" + batch.digestHex().substring(0, 16) + ", receipt leaf "
                + receiptProof.leafIndex() + " of " + receiptProof.leafCount() + " (" + receipt.length
                + " bytes), wipe leaf " + wipeProof.leafIndex() + " (" + wipe.length + " bytes)]";
    }
}
