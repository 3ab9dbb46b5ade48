package dev.depin.job;

import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.DepinException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.CanonicalJson;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationException;
import dev.depin.InvalidJobException;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** JSON form of a {@link DisputeRecord}: envelopes and spec embedded as they were received. */
final class DisputeJson {
    private DisputeJson() {
    }

    /** @return pretty, key-sorted JSON of the record */
    static byte[] write(DisputeRecord d) {
        Map<String, Object> m = new TreeMap<>();
        m.put("format", "depin.dispute/v1");
        m.put("jobId", d.jobId());
        m.put("attempt", d.attempt());
        m.put("provider", d.provider().hex());
        m.put("providerKeyPem", KeyPem.publicKeyToPem(d.providerKey()));
        m.put("reason", d.reason().name());
        m.put("message", d.message());
        if (d.evidence() != null) {
            Evidence e = d.evidence();
            m.put("evidence", new TreeMap<>(Map.of("check", e.check(), "location", e.location(),
                    "expected", e.expected(), "actual", e.actual(), "seed", e.seed())));
        }
        m.put("at", d.at().toString());
        try {
            if (d.batched() != null) {
                m.put("batched", CanonicalJson.reader().readTree(d.batched().toJsonBytes()));
            } else {
                m.put("receipt", CanonicalJson.reader().readTree(d.receipt().toJsonBytes()));
                m.put("wipe", CanonicalJson.reader().readTree(d.wipe().toJsonBytes()));
            }
            m.put("spec", CanonicalJson.reader().readTree(d.specJson()));
            return CanonicalJson.writer().withDefaultPrettyPrinter().writeValueAsBytes(m);
        } catch (IOException e) {
            throw new IllegalStateException("a dispute record of validated parts always serializes", e);
        }
    }

    private static final Set<String> FIELDS = Set.of("format", "jobId", "attempt", "provider", "providerKeyPem",
            "reason", "message", "evidence", "at", "receipt", "wipe", "batched", "spec");
    private static final Set<String> EVIDENCE_FIELDS = Set.of("check", "location", "expected", "actual", "seed");

    /**
     * Reads a record written by {@link #write}, strictly: at most
     * {@link DisputeRecord#MAX_JSON_BYTES}, every field present with its type, no unknown field.
     *
     * @throws InvalidJobException if the JSON is malformed, oversized or inconsistent
     */
    static DisputeRecord read(byte[] json) {
        if (json == null) {
            throw new InvalidJobException("dispute record JSON is null: pass the bytes of a record");
        }
        if (json.length > DisputeRecord.MAX_JSON_BYTES) {
            throw new InvalidJobException("dispute record has " + json.length + " bytes, more than the "
                    + DisputeRecord.MAX_JSON_BYTES + " a genuine one can have: reject it");
        }
        JsonNode n;
        try {
            n = CanonicalJson.reader().readTree(json);
        } catch (IOException e) {
            throw malformed("it is not valid JSON (" + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()) + ")");
        }
        if (n == null || !n.isObject()) {
            throw malformed("it is not a JSON object");
        }
        if (!"depin.dispute/v1".equals(n.path("format").asText(null))) {
            throw new InvalidJobException("not a depin dispute record: field 'format' must be \"depin.dispute/v1\"");
        }
        onlyKnown(n, FIELDS, "");
        try {
            JsonNode e = n.get("evidence");
            Evidence ev = null;
            if (e != null && !e.isNull()) {
                if (!e.isObject()) {
                    throw malformed("field 'evidence' must be an object");
                }
                onlyKnown(e, EVIDENCE_FIELDS, "evidence.");
                ev = new Evidence(text(e, "check", "evidence."), text(e, "location", "evidence."),
                        text(e, "expected", "evidence."), text(e, "actual", "evidence."), text(e, "seed", "evidence."));
            }
            JsonNode a = n.get("attempt");
            if (a == null || !a.isIntegralNumber() || !a.canConvertToInt() || a.intValue() < 1) {
                throw malformed("field 'attempt' must be an integer >= 1, got " + abbreviate(String.valueOf(a)));
            }
            String reasonText = text(n, "reason", "");
            VerificationException.Reason reason;
            try {
                reason = VerificationException.Reason.valueOf(reasonText);
            } catch (IllegalArgumentException x) {
                throw malformed("field 'reason' is '" + abbreviate(reasonText) + "', not one of "
                        + java.util.Arrays.toString(VerificationException.Reason.values()));
            }
            String atText = text(n, "at", "");
            Instant at;
            try {
                at = Instant.parse(atText);
            } catch (DateTimeParseException x) {
                throw malformed("field 'at' is '" + abbreviate(atText) + "', not an ISO-8601 instant such as "
                        + "2026-01-31T12:00:00Z");
            }
            BatchedReceipt batched = null;
            Envelope receipt = null;
            Envelope wipe = null;
            if (n.has("batched")) {
                if (n.has("receipt") || n.has("wipe")) {
                    throw malformed("it carries both a batched receipt and signed envelopes: a record has one or the "
                            + "other");
                }
                batched = batched(n);
            } else {
                receipt = envelope(n, "receipt");
                wipe = envelope(n, "wipe");
            }
            return new DisputeRecord(text(n, "jobId", ""), a.intValue(), NodeId.parse(text(n, "provider", "")),
                    KeyPem.readPublicKey(text(n, "providerKeyPem", "")), reason, text(n, "message", ""), ev,
                    receipt, wipe, spec(n), at, Map.of(), batched);
        } catch (InvalidJobException x) {
            throw x;
        } catch (DepinException x) {
            throw malformed(x.getMessage());
        }
    }

    private static Envelope envelope(JsonNode n, String name) {
        JsonNode v = n.get(name);
        if (v == null || !v.isObject()) {
            throw malformed("field '" + name + "' must be a DSSE envelope object");
        }
        try {
            return Envelope.parse(CanonicalJson.writer().writeValueAsBytes(v));
        } catch (IOException e) {
            throw malformed("field '" + name + "' cannot be re-encoded (" + e.getMessage() + ")");
        } catch (DepinException e) {
            throw malformed("field '" + name + "' is not a DSSE envelope: " + e.getMessage());
        }
    }

    private static BatchedReceipt batched(JsonNode n) {
        JsonNode v = n.get("batched");
        if (v == null || !v.isObject()) {
            throw malformed("field 'batched' must be a batched receipt object");
        }
        try {
            return BatchedReceipt.parse(CanonicalJson.writer().writeValueAsBytes(v));
        } catch (IOException e) {
            throw malformed("field 'batched' cannot be re-encoded (" + e.getMessage() + ")");
        } catch (DepinException e) {
            throw malformed("field 'batched' is not a batched receipt: " + e.getMessage());
        }
    }

    private static byte[] spec(JsonNode n) {
        JsonNode v = n.get("spec");
        if (v == null || !v.isObject()) {
            throw malformed("field 'spec' must be a job spec object");
        }
        try {
            return CanonicalJson.writer().writeValueAsBytes(v);
        } catch (IOException e) {
            throw malformed("field 'spec' cannot be re-encoded (" + e.getMessage() + ")");
        }
    }

    private static String text(JsonNode n, String name, String prefix) {
        JsonNode v = n.get(name);
        if (v == null || !v.isTextual()) {
            throw malformed("field '" + prefix + name + "' must be a string, got "
                    + (v == null ? "nothing" : abbreviate(v.toString())));
        }
        return v.asText();
    }

    private static void onlyKnown(JsonNode n, Set<String> known, String prefix) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw malformed("unknown field '" + prefix + abbreviate(f) + "': a record has only " + new TreeSet<>(known));
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "... (" + s.length() + " characters)";
    }

    private static InvalidJobException malformed(String why) {
        return new InvalidJobException("dispute record is malformed: " + why + "; it cannot be re-checked");
    }
}
