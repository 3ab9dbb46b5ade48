package dev.depin.crypto;

import dev.depin.crypto.internal.StrictJson;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.internal.Statements;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of a {@link WipeAttestation}'s in-toto statement: what {@link
 * WipeAttestation#toPayload} writes and {@link WipeAttestation#readUnverified} reads. The bytes are
 * signed, so they never change for a predicate type ({@code StatementWireTest} pins them).
 */
final class WipeJson {
    private WipeJson() {
    }

    /**
     * The statement an attestation signs: one subject, the receipt's digest; the records, times,
     * device and TEE evidence in the predicate, keys sorted.
     *
     * @param w the attestation
     * @return UTF-8 canonical JSON
     */
    static byte[] payload(WipeAttestation w) {
        List<Subject> subject = List.of(new Subject(WipeAttestation.SUBJECT_NAME, Map.of("sha256", w.receiptDigest())));
        // Keys in code-point order, as the canonical form requires (checked against the tree form).
        return Statements.encode(subject, WipeAttestation.PREDICATE_TYPE, g -> {
            g.writeArrayFieldStart("buffers");
            for (WipeRecord r : w.buffers()) {
                g.writeStartObject();
                g.writeNumberField("bytes", r.bytes());
                g.writeNumberField("bytesOverwritten", r.bytesOverwritten());
                g.writeStringField("checkDigest", r.checkDigest());
                g.writeStringField("label", r.label());
                g.writeStringField("location", r.location());
                g.writeStringField("method", r.method());
                g.writeStringField("pattern", r.patternHex());
                g.writeEndObject();
            }
            g.writeEndArray();
            if (w.device() != null) {
                g.writeFieldName("device");
                ReceiptJson.writeDevice(g, w.device());
            }
            g.writeStringField("endedAt", w.endedAt().toString());
            g.writeStringField("startedAt", w.startedAt().toString());
            byte[] tee = w.teeEvidence();
            if (tee.length > 0) {
                g.writeStringField("teeEvidence", Base64.getEncoder().encodeToString(tee));
            }
        });
    }

    /**
     * Reads an attestation from its statement, parsed by {@link Statements#parse}.
     *
     * @param st the statement
     * @return the attestation, validated
     * @throws VerificationException ({@code SUBJECT_MISMATCH}, {@code MALFORMED_STATEMENT}) on a
     *                               subject other than one receipt digest, or a bad field
     */
    static WipeAttestation fromStatement(Statements.Parsed st) {
        if (st.subjects().size() != 1 || !WipeAttestation.SUBJECT_NAME.equals(st.subjects().get(0).name())
                || st.subjects().get(0).digest().get("sha256") == null) {
            throw new VerificationException(Reason.SUBJECT_MISMATCH, "a wipe attestation has exactly one subject named '"
                    + WipeAttestation.SUBJECT_NAME + "' with a sha256 digest: reject it");
        }
        String digest = st.subjects().get(0).digest().get("sha256");
        StrictJson.Obj p = st.predicate();
        List<WipeRecord> records = new ArrayList<>();
        for (Object item : Statements.array(p, "buffers")) {
            if (!(item instanceof StrictJson.Obj b)) {
                throw Statements.malformed("a buffer record is not an object", null);
            }
            String patternHex = Statements.text(b, "pattern");
            if (!Hex.isLowerHex(patternHex, 2)) {
                throw Statements.malformed("pattern must be two lower-case hex digits, got '" + patternHex + "'", null);
            }
            String location = Statements.text(b, "location");
            String label = Statements.text(b, "label");
            long bytes = Statements.integer(b, "bytes");
            long over = Statements.integer(b, "bytesOverwritten");
            String method = Statements.text(b, "method");
            String check = Statements.text(b, "checkDigest");
            records.add(Statements.build(() -> new WipeRecord(location, label, bytes, over,
                    Integer.parseInt(patternHex, 16), method, check)));
        }
        Instant started = Statements.instant(p, "startedAt");
        Instant ended = Statements.instant(p, "endedAt");
        Object d = p.get("device");
        ReceiptDevice device = d == null || d == StrictJson.NULL ? null : ReceiptJson.readDevice(d);
        String tee = Statements.optText(p, "teeEvidence");
        byte[] teeBytes;
        try {
            teeBytes = tee == null ? new byte[0] : Base64.getDecoder().decode(tee);
        } catch (IllegalArgumentException e) {
            throw Statements.malformed("teeEvidence is not base64", e);
        }
        return Statements.build(() -> new WipeAttestation(digest, records, started, ended, device, teeBytes));
    }
}
