package dev.depin.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.internal.Json;
import dev.depin.crypto.internal.Statements;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The statement readers as they were before {@code StrictJson} (main at 45cc116): Jackson's tree
 * ({@code readTree}), then the same checks on {@code JsonNode}s, kept verbatim as the oracle of
 * {@code StrictJsonDifferentialTest}. Not used by any code outside the tests.
 */
final class TreeStatementOracle {
    private TreeStatementOracle() {
    }

    record Parsed(List<Subject> subjects, String predicateType, JsonNode predicate) {
    }

    static MalformedEnvelopeException malformed(String what, Throwable cause) {
        return Statements.malformed(what, cause);
    }

    static <T> T build(java.util.function.Supplier<T> ctor) {
        return Statements.build(ctor);
    }

    static Parsed parseReceipt(byte[] payload) {
        return parse(Dsse.IN_TOTO_PAYLOAD_TYPE, payload, ExecutionReceipt.PREDICATE_TYPE);
    }

    static Parsed parse(String payloadType, byte[] payload, String expectedPredicateType) {
        if (!Dsse.IN_TOTO_PAYLOAD_TYPE.equals(payloadType)) {
            throw new VerificationException(Reason.WRONG_PAYLOAD_TYPE, "payloadType is '" + payloadType
                    + "' but an in-toto statement ('" + Dsse.IN_TOTO_PAYLOAD_TYPE + "') was expected: reject it");
        }
        JsonNode root;
        try {
            root = Json.parse(payload);
        } catch (java.io.IOException | RuntimeException e) {
            throw malformed("the payload is not valid JSON (" + e.getMessage() + ")", e);
        }
        if (!root.isObject()) {
            throw malformed("the payload is not a JSON object", null);
        }
        String type = text(root, "_type");
        if (!Statements.STATEMENT_TYPE.equals(type)) {
            throw malformed("_type is '" + type + "', expected '" + Statements.STATEMENT_TYPE + "'", null);
        }
        String predicateType = text(root, "predicateType");
        if (!predicateType.equals(expectedPredicateType)) {
            throw new VerificationException(Reason.WRONG_PREDICATE_TYPE, "predicateType is '" + predicateType
                    + "' but '" + expectedPredicateType + "' was expected: this statement is another kind of "
                    + "attestation; reject it");
        }
        JsonNode subj = root.get("subject");
        if (subj == null || !subj.isArray()) {
            throw malformed("'subject' is missing or not an array", null);
        }
        List<Subject> subjects = new ArrayList<>();
        for (Iterator<JsonNode> it = subj.elements(); it.hasNext(); ) {
            JsonNode s = it.next();
            if (!s.isObject()) {
                throw malformed("a subject is not an object", null);
            }
            String name = text(s, "name");
            JsonNode d = s.get("digest");
            if (d == null || !d.isObject() || d.isEmpty()) {
                throw malformed("subject '" + name + "' has no digest map", null);
            }
            Map<String, String> digest = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> f = d.fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> e = f.next();
                if (!e.getValue().isTextual()) {
                    throw malformed("digest '" + e.getKey() + "' of subject '" + name + "' is not a string", null);
                }
                digest.put(e.getKey(), e.getValue().asText());
            }
            subjects.add(new Subject(name, digest));
        }
        JsonNode predicate = root.get("predicate");
        if (predicate == null || !predicate.isObject()) {
            throw malformed("'predicate' is missing or not an object", null);
        }
        return new Parsed(subjects, predicateType, predicate);
    }


    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not a string"), null);
        }
        return v.asText();
    }

    static String optText(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw malformed("field '" + field + "' is not a string", null);
        }
        return v.asText();
    }

    static long integer(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not an integer"), null);
        }
        return v.asLong();
    }

    static int int32(JsonNode node, String field) {
        long v = integer(node, field);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw malformed("field '" + field + "' is out of int range", null);
        }
        return (int) v;
    }

    static Integer optInt32(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : int32(node, field);
    }


    static Instant instant(JsonNode node, String field) {
        String s = text(node, field);
        // (main read the common form without a formatter first; it agrees with Instant.parse, StatementsTest)
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw malformed("field '" + field + "' is not an ISO-8601 instant: '" + s + "'", e);
        }
    }


    static JsonNode object(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isObject()) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not an object"), null);
        }
        return v;
    }

    static JsonNode array(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray()) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not an array"), null);
        }
        return v;
    }


    static ExecutionReceipt fromPredicate(JsonNode p) {
        String jobId = text(p, "jobId");
        int attempt = int32(p, "attempt");
        String specHash = text(p, "specHash");
        String kernelId = text(p, "kernelId");
        String kernelHash = text(p, "kernelHash");
        String nonce = text(p, "nonce");
        List<BufferDigest> inputs = readBuffers(array(p, "inputs"));
        List<BufferDigest> outputs = readBuffers(array(p, "outputs"));
        int chunk = int32(p, "merkleChunkBytes");
        String kind = text(p, "executorKind");
        JsonNode d = p.get("device");
        ReceiptDevice device = d == null || d.isNull() ? null : readDevice(d);
        Instant started = instant(p, "startedAt");
        Instant ended = instant(p, "endedAt");
        long deviceNanos = integer(p, "deviceTimeNanos");
        Assurance assurance = readAssurance(object(p, "assurance"));
        JsonNode e = p.get("energy");
        ReceiptEnergy energy = e == null ? null : readEnergy(e);
        return build(() -> new ExecutionReceipt(jobId, attempt, specHash, kernelId, kernelHash, nonce,
                inputs, outputs, chunk, kind, device, started, ended, deviceNanos, assurance, energy));
    }

    static ReceiptEnergy readEnergy(JsonNode e) {
        if (!e.isObject()) {
            throw malformed("'energy' is not an object", null);
        }
        for (Iterator<String> it = e.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("millijoules") && !f.equals("source")) {
                throw malformed("'energy' has an unknown field '" + (f.length() <= 40 ? f
                        : f.substring(0, 40) + "…").replaceAll("\\p{Cntrl}", "?") + "'", null);
            }
        }
        long mj = integer(e, "millijoules");
        String source = text(e, "source");
        return build(() -> new ReceiptEnergy(mj, ReceiptEnergy.Source.of(source)));
    }

    static ReceiptDevice readDevice(JsonNode d) {
        if (!d.isObject()) {
            throw malformed("'device' is not an object", null);
        }
        return build(() -> new ReceiptDevice(optText(d, "model"), optInt32(d, "smCount"),
                optText(d, "driver"), optText(d, "cudaVersion")));
    }

    static Assurance readAssurance(JsonNode a) {
        String level = text(a, "level");
        Assurance.Level l;
        try {
            l = Assurance.Level.valueOf(level);
        } catch (IllegalArgumentException e) {
            throw malformed("unknown assurance level '" + level + "'", e);
        }
        Map<String, Double> numbers = new HashMap<>();
        JsonNode n = a.get("numbers");
        if (n != null && !n.isNull()) {
            if (!n.isObject()) {
                throw malformed("assurance 'numbers' is not an object", null);
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isNumber()) {
                    throw malformed("assurance number '" + e.getKey() + "' is not a number", null);
                }
                numbers.put(e.getKey(), e.getValue().asDouble());
            }
        }
        return build(() -> new Assurance(l, numbers));
    }

    static List<BufferDigest> readBuffers(JsonNode arr) {
        List<BufferDigest> out = new ArrayList<>();
        for (Iterator<JsonNode> it = arr.elements(); it.hasNext(); ) {
            JsonNode b = it.next();
            if (!b.isObject()) {
                throw malformed("a buffer entry is not an object", null);
            }
            String name = text(b, "name");
            String root = text(b, "merkleRoot");
            long bytes = integer(b, "bytes");
            out.add(build(() -> new BufferDigest(name, root, bytes)));
        }
        return out;
    }

    static WipeAttestation fromStatement(Parsed st) {
        if (st.subjects().size() != 1 || !WipeAttestation.SUBJECT_NAME.equals(st.subjects().get(0).name())
                || st.subjects().get(0).digest().get("sha256") == null) {
            throw new VerificationException(Reason.SUBJECT_MISMATCH, "a wipe attestation has exactly one subject named '"
                    + WipeAttestation.SUBJECT_NAME + "' with a sha256 digest: reject it");
        }
        String digest = st.subjects().get(0).digest().get("sha256");
        JsonNode p = st.predicate();
        List<WipeRecord> records = new ArrayList<>();
        for (Iterator<JsonNode> it = array(p, "buffers").elements(); it.hasNext(); ) {
            JsonNode b = it.next();
            if (!b.isObject()) {
                throw malformed("a buffer record is not an object", null);
            }
            String patternHex = text(b, "pattern");
            if (!Hex.isLowerHex(patternHex, 2)) {
                throw malformed("pattern must be two lower-case hex digits, got '" + patternHex + "'", null);
            }
            String location = text(b, "location");
            String label = text(b, "label");
            long bytes = integer(b, "bytes");
            long over = integer(b, "bytesOverwritten");
            String method = text(b, "method");
            String check = text(b, "checkDigest");
            records.add(build(() -> new WipeRecord(location, label, bytes, over,
                    Integer.parseInt(patternHex, 16), method, check)));
        }
        Instant started = instant(p, "startedAt");
        Instant ended = instant(p, "endedAt");
        JsonNode d = p.get("device");
        ReceiptDevice device = d == null || d.isNull() ? null : readDevice(d);
        String tee = optText(p, "teeEvidence");
        byte[] teeBytes;
        try {
            teeBytes = tee == null ? new byte[0] : Base64.getDecoder().decode(tee);
        } catch (IllegalArgumentException e) {
            throw malformed("teeEvidence is not base64", e);
        }
        return build(() -> new WipeAttestation(digest, records, started, ended, device, teeBytes));
    }
}
