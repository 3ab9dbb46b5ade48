package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.internal.Json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A DSSE v1.0 envelope (github.com/secure-systems-lab/dsse): a payload, its type, and
 * one or more Ed25519 signatures over {@link Dsse#pae(String, byte[]) PAE}(payloadType,
 * payload). JSON form:
 * <pre>
 * {"payload": base64, "payloadType": "...", "signatures": [{"keyid": "...", "sig": base64}]}
 * </pre>
 * In depin a signature's {@code keyid} is the signer's {@link NodeId} hex. The key id is
 * only a hint: verification recomputes the id of each trusted key and checks the
 * signature cryptographically.
 *
 * <pre>{@code
 * Envelope env = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, payload, providerKeys);
 * String json = env.toJson();
 * Envelope back = Envelope.parse(json.getBytes(UTF_8));          // MalformedEnvelopeException
 * back.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, providerKeys.publicKey()); // VerificationException
 * }</pre>
 *
 * @param payloadType the payload's media type
 * @param payload     the payload bytes (copied in and out)
 * @param signatures  at least one signature (copied)
 */
public record Envelope(String payloadType, byte[] payload, List<Signature> signatures) {
    /** Largest JSON envelope {@link #parse(byte[])} accepts by default: 4 MiB. */
    public static final int DEFAULT_MAX_JSON_BYTES = 4 << 20;
    /** Most signatures an envelope may carry. */
    public static final int MAX_SIGNATURES = 32;

    /**
     * One signature.
     *
     * @param keyid the signer's key id (depin: {@link NodeId} hex); may be empty, never {@code null}
     * @param sig   the 64-byte Ed25519 signature (copied in and out)
     */
    public record Signature(String keyid, byte[] sig) {
        /**
         * Validates and copies.
         *
         * @param keyid the signer's key id (depin: {@link NodeId} hex); may be empty, never {@code null}
         * @param sig   the 64-byte Ed25519 signature (copied in and out)
         */
        public Signature {
            InvalidArgumentException.requireNonNull(keyid, "keyid");
            InvalidArgumentException.requireNonNull(sig, "sig");
            sig = sig.clone();
        }

        /**
         * The signature bytes.
         *
         * @return a copy
         */
        @Override
        public byte[] sig() {
            return sig.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Signature s && s.keyid.equals(keyid) && Arrays.equals(s.sig, sig);
        }

        @Override
        public int hashCode() {
            return 31 * keyid.hashCode() + Arrays.hashCode(sig);
        }

        @Override
        public String toString() {
            return "Signature[keyid=" + keyid + ", sig=" + Hex.encode(sig) + "]";
        }
    }

    /**
     * Validates and copies.
     *
     * @param payloadType the payload's media type
     * @param payload     the payload bytes (copied in and out)
     * @param signatures  at least one signature (copied)
     */
    public Envelope {
        InvalidArgumentException.requireNonNull(payloadType, "payloadType");
        InvalidArgumentException.requireNonNull(payload, "payload");
        InvalidArgumentException.requireNonNull(signatures, "signatures");
        if (payloadType.isEmpty()) {
            throw new InvalidArgumentException("payloadType must not be empty");
        }
        if (signatures.isEmpty() || signatures.size() > MAX_SIGNATURES) {
            throw new InvalidArgumentException("an envelope carries 1.." + MAX_SIGNATURES + " signatures, got "
                    + signatures.size());
        }
        payload = payload.clone();
        signatures = List.copyOf(signatures);
    }

    /**
     * Signs a payload into a new envelope.
     *
     * @param payloadType the payload's media type
     * @param payload     the payload bytes
     * @param signer      the signing key
     * @return the envelope with one signature (keyid = signer's node id)
     */
    public static Envelope sign(String payloadType, byte[] payload, NodeKeyPair signer) {
        InvalidArgumentException.requireNonNull(signer, "signer");
        byte[] sig = signer.sign(payloadType, payload);
        return new Envelope(payloadType, payload, List.of(new Signature(signer.nodeId().hex(), sig)));
    }

    /**
     * This envelope with one more signature (e.g. a co-signer).
     *
     * @param signer the additional signing key
     * @return a new envelope
     */
    public Envelope addSignature(NodeKeyPair signer) {
        InvalidArgumentException.requireNonNull(signer, "signer");
        List<Signature> all = new ArrayList<>(signatures);
        all.add(new Signature(signer.nodeId().hex(), signer.sign(payloadType, payload)));
        return new Envelope(payloadType, payload, all);
    }

    /**
     * The payload bytes.
     *
     * @return a copy
     */
    @Override
    public byte[] payload() {
        return payload.clone();
    }

    /**
     * The payload's length, without copying it.
     *
     * @return bytes
     */
    public int payloadLength() {
        return payload.length;
    }

    /**
     * The signed bytes: PAE(payloadType, payload).
     *
     * @return a new array
     */
    public byte[] pae() {
        return Dsse.pae(payloadType, payload);
    }

    /**
     * This envelope's digest: SHA-256 over its PAE bytes. It identifies the signed content
     * (type and payload) independently of JSON formatting and of which signatures are
     * attached; a wipe attestation names its receipt by this digest.
     *
     * @return 64 lower-case hex characters
     */
    public String digestHex() {
        return Hex.encode(Sha256.digest(pae()));
    }

    /**
     * Verifies that {@code expectedSigner} signed this envelope and that its type is the
     * one expected.
     *
     * @param expectedPayloadType the type the caller expects
     * @param expectedSigner      the one key that must have signed
     * @throws VerificationException {@code WRONG_PAYLOAD_TYPE}; {@code BAD_SIGNATURE} if a
     *                               signature names this key but does not verify;
     *                               {@code KEY_MISMATCH} if no signature names this key
     */
    public void verify(String expectedPayloadType, NodePublicKey expectedSigner) {
        InvalidArgumentException.requireNonNull(expectedSigner, "expectedSigner");
        checkType(expectedPayloadType);
        String id = expectedSigner.nodeId().hex();
        for (Signature s : signatures) {
            boolean named = s.keyid.equals(id);
            if (named || s.keyid.isEmpty()) {
                try {
                    expectedSigner.verify(payloadType, payload, s.sig);
                    return;
                } catch (BadSignatureException e) {
                    if (named) {
                        throw new BadSignatureException("the envelope's signature by " + expectedSigner.nodeId().shortId()
                                + " does not verify: the payload, its type or the signature was altered; reject it");
                    }
                    // an unnamed signature that is not by this key: keep looking
                }
            }
        }
        String others = signatures.stream().map(s -> s.keyid.isEmpty() ? "(no keyid)" : shortKeyId(s.keyid))
                .collect(Collectors.joining(", "));
        throw new VerificationException(VerificationException.Reason.KEY_MISMATCH,
                "the envelope is not signed by the expected key " + expectedSigner.nodeId().shortId()
                        + " (signatures by: " + others + "): only accept it from the key named in the offer");
    }

    /**
     * Verifies that at least one trusted key signed this envelope, and that every signature
     * that names a trusted key verifies.
     *
     * @param expectedPayloadType the type the caller expects
     * @param trusted             the trusted keys
     * @return the ids of the trusted keys whose signatures verified (never empty)
     * @throws VerificationException {@code WRONG_PAYLOAD_TYPE}, {@code BAD_SIGNATURE} or
     *                               {@code UNKNOWN_KEY}
     */
    public Set<NodeId> verify(String expectedPayloadType, Collection<NodePublicKey> trusted) {
        InvalidArgumentException.requireNonNull(trusted, "trusted");
        checkType(expectedPayloadType);
        Map<String, NodePublicKey> byId = trusted.stream()
                .collect(Collectors.toMap(k -> k.nodeId().hex(), Function.identity(), (a, b) -> a));
        Set<NodeId> ok = new LinkedHashSet<>();
        for (Signature s : signatures) {
            NodePublicKey k = byId.get(s.keyid);
            if (k != null) {
                try {
                    k.verify(payloadType, payload, s.sig);
                } catch (BadSignatureException e) {
                    throw new BadSignatureException("the signature by trusted key " + k.nodeId().shortId()
                            + " does not verify: the payload, its type or the signature was altered; reject it");
                }
                ok.add(k.nodeId());
            } else if (s.keyid.isEmpty()) {
                for (NodePublicKey t : trusted) {
                    try {
                        t.verify(payloadType, payload, s.sig);
                        ok.add(t.nodeId());
                        break;
                    } catch (BadSignatureException ignored) {
                        // not this key; an unnamed signature by no trusted key counts as unknown
                    }
                }
            }
        }
        if (ok.isEmpty()) {
            throw new VerificationException(VerificationException.Reason.UNKNOWN_KEY,
                    "none of the envelope's " + signatures.size() + " signature(s) is by a trusted key (keyids: "
                            + signatures.stream().map(s -> shortKeyId(s.keyid)).collect(Collectors.joining(", "))
                            + "): add the signer's public key to the trusted set only if you trust it");
        }
        return Collections.unmodifiableSet(ok);
    }

    private void checkType(String expectedPayloadType) {
        InvalidArgumentException.requireNonNull(expectedPayloadType, "expectedPayloadType");
        if (!payloadType.equals(expectedPayloadType)) {
            throw new VerificationException(VerificationException.Reason.WRONG_PAYLOAD_TYPE,
                    "payloadType is '" + abbreviate(payloadType) + "' but '" + expectedPayloadType
                            + "' was expected: this envelope carries another kind of message; reject it");
        }
    }

    private static String shortKeyId(String keyid) {
        return keyid.length() > NodeId.SHORT_LENGTH ? keyid.substring(0, NodeId.SHORT_LENGTH) : abbreviate(keyid);
    }

    private static String abbreviate(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }

    /**
     * The DSSE JSON form (keys sorted, compact, standard base64).
     *
     * @return the JSON text
     */
    public String toJson() {
        return new String(toJsonBytes(), StandardCharsets.UTF_8);
    }

    /**
     * The DSSE JSON form as UTF-8 bytes.
     *
     * @return the JSON bytes
     */
    public byte[] toJsonBytes() {
        ObjectNode o = Json.object();
        o.put("payload", Base64.getEncoder().encodeToString(payload));
        o.put("payloadType", payloadType);
        ArrayNode sigs = o.putArray("signatures");
        for (Signature s : signatures) {
            ObjectNode so = sigs.addObject();
            so.put("keyid", s.keyid);
            so.put("sig", Base64.getEncoder().encodeToString(s.sig));
        }
        return Json.canonicalBytes(o);
    }

    /**
     * Parses the DSSE JSON form, accepting at most {@link #DEFAULT_MAX_JSON_BYTES} bytes.
     *
     * @param json UTF-8 JSON
     * @return the envelope (signatures not yet verified)
     * @throws MalformedEnvelopeException if it is not a well-formed envelope
     */
    public static Envelope parse(byte[] json) {
        return parse(json, DEFAULT_MAX_JSON_BYTES);
    }

    /**
     * Parses the DSSE JSON form.
     *
     * @param json UTF-8 JSON
     * @return the envelope (signatures not yet verified)
     * @throws MalformedEnvelopeException if it is not a well-formed envelope
     */
    public static Envelope parse(String json) {
        return parse(InvalidArgumentException.requireNonNull(json, "json").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Parses the DSSE JSON form with an explicit size limit. Standard and URL-safe base64
     * are both accepted, as DSSE allows. Unknown fields are ignored.
     *
     * @param json     UTF-8 JSON
     * @param maxBytes the largest input accepted
     * @return the envelope (signatures not yet verified)
     * @throws MalformedEnvelopeException if it is oversized, not JSON, or misses or mistypes
     *                                    a field, or has no signature
     */
    public static Envelope parse(byte[] json, int maxBytes) {
        InvalidArgumentException.requireNonNull(json, "json");
        if (json.length > maxBytes) {
            throw new MalformedEnvelopeException("envelope JSON has " + json.length + " bytes, more than the limit of "
                    + maxBytes + ": reject it (or raise the limit if such payloads are expected)");
        }
        JsonNode root;
        try {
            root = Json.parse(json);
        } catch (java.io.IOException | RuntimeException e) {
            throw new MalformedEnvelopeException(VerificationException.Reason.MALFORMED_ENVELOPE,
                    "envelope is not valid JSON (" + firstLine(e.getMessage()) + "): reject it", e);
        }
        return fromTree(root);
    }

    /**
     * The envelope of a tree already read by {@link CanonicalJson}'s strict reader (a batched
     * receipt's {@code batch} field), checked as {@link #parse(byte[], int)} checks one: reading
     * it again from bytes would cost a write and a second parse per receipt.
     *
     * @param root the envelope object
     * @return the envelope (signatures not yet verified)
     * @throws MalformedEnvelopeException if it misses or mistypes a field, or has no signature
     */
    static Envelope fromTree(JsonNode root) {
        if (!root.isObject()) {
            throw new MalformedEnvelopeException("envelope JSON must be an object with payload, payloadType and "
                    + "signatures: reject it");
        }
        String payloadType = text(root, "payloadType", "envelope");
        byte[] payload = base64(text(root, "payload", "envelope"), "payload");
        JsonNode sigs = root.get("signatures");
        if (sigs == null || !sigs.isArray()) {
            throw new MalformedEnvelopeException("envelope has no 'signatures' array: reject it");
        }
        if (sigs.isEmpty()) {
            throw new MalformedEnvelopeException("envelope has no signatures: an unsigned envelope proves nothing; "
                    + "reject it");
        }
        if (sigs.size() > MAX_SIGNATURES) {
            throw new MalformedEnvelopeException("envelope has " + sigs.size() + " signatures, more than "
                    + MAX_SIGNATURES + ": reject it");
        }
        if (payloadType.isEmpty()) {
            throw new MalformedEnvelopeException("envelope has an empty payloadType: reject it");
        }
        List<Signature> list = new ArrayList<>();
        for (Iterator<JsonNode> it = sigs.elements(); it.hasNext(); ) {
            JsonNode s = it.next();
            if (!s.isObject()) {
                throw new MalformedEnvelopeException("a signature entry is not an object: reject the envelope");
            }
            JsonNode keyid = s.get("keyid");
            if (keyid != null && !keyid.isTextual() && !keyid.isNull()) {
                throw new MalformedEnvelopeException("a signature's 'keyid' is not a string: reject the envelope");
            }
            String kid = keyid == null || keyid.isNull() ? "" : keyid.asText();
            list.add(new Signature(kid, base64(text(s, "sig", "signature"), "sig")));
        }
        return new Envelope(payloadType, payload, list);
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new MalformedEnvelopeException(where + " field '" + field + "' is "
                    + (v == null ? "missing" : "not a string") + ": reject the envelope");
        }
        return v.asText();
    }

    private static byte[] base64(String s, String field) {
        try {
            return (s.indexOf('-') >= 0 || s.indexOf('_') >= 0 ? Base64.getUrlDecoder() : Base64.getDecoder()).decode(s);
        } catch (IllegalArgumentException e) {
            throw new MalformedEnvelopeException(VerificationException.Reason.MALFORMED_ENVELOPE,
                    "field '" + field + "' is not valid base64 (" + e.getMessage() + "): reject the envelope", e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "no detail";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Envelope e && e.payloadType.equals(payloadType) && Arrays.equals(e.payload, payload)
                && e.signatures.equals(signatures);
    }

    @Override
    public int hashCode() {
        return Objects.hash(payloadType, Arrays.hashCode(payload), signatures);
    }

    @Override
    public String toString() {
        return "Envelope[payloadType=" + payloadType + ", payload=" + payload.length + " bytes, keyids="
                + signatures.stream().map(s -> shortKeyId(s.keyid)).collect(Collectors.toList()) + "]";
    }
}
