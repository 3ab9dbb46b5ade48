package dev.depin.job;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.DepinException;
import dev.depin.crypto.CanonicalJson;
import dev.depin.InvalidJobException;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import dev.depin.money.MicroUsd;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.Region;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Canonical JSON for {@link JobSpec}: every object has its keys in
 * code-point order, sets are written sorted, integers as JSON integers, and every
 * non-integer number as a JSON string holding its hexadecimal floating-point literal
 * ({@link Float#toHexString} / {@link Double#toHexString}, e.g. {@code "0x1.99999ap-4"}).
 * Hex literals are exact and specified to the character, whereas the decimal
 * {@code Float.toString} of JDK 17 is not always the shortest round-tripping form and
 * changed in JDK 19: decimal output would let two JDKs hash one spec differently.
 * Parsing is strict: unknown fields, wrong types, fractional or out-of-range integers,
 * and trailing content are rejected, never coerced or ignored.
 */
final class SpecJson {
    private SpecJson() {
    }

    /**
     * Canonical JSON of {@code spec}, written straight to a generator with every object's keys
     * in code-point order (the fields below are listed in that order), no intermediate maps:
     * the same bytes as writing sorted maps of the same values ({@code SpecJsonTest} checks
     * them against that form), at a fraction of the cost on the submitting thread.
     *
     * @return canonical JSON of {@code spec}
     */
    static byte[] write(JobSpec spec) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(512);
        try (JsonGenerator g = CanonicalJson.writer().createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("deadlineEpochMillis", spec.deadline().toEpochMilli());
            g.writeStringField("format", JobSpec.FORMAT);
            g.writeArrayFieldStart("inputs");
            for (InputRef in : spec.inputs()) {
                g.writeStartObject();
                g.writeNumberField("bytes", in.bytes());
                g.writeStringField("merkleRoot", in.merkleRoot());
                g.writeStringField("name", in.name());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeFieldName("kernel");
            kernel(g, spec.kernel());
            g.writeNumberField("maxPriceMicroUsd", spec.maxPrice().micros());
            g.writeObjectFieldStart("params");
            params(g, spec.params());
            g.writeEndObject();
            Requirements r = spec.requirements();
            g.writeObjectFieldStart("requirements");
            g.writeFieldName("deviceKinds");
            strings(g, sortedStrings(r.deviceKinds()));
            g.writeNumberField("minDeviceMemoryBytes", r.minDeviceMemoryBytes());
            g.writeStringField("minReputation", HexFloats.of(r.minReputation()));
            g.writeFieldName("models");
            strings(g, new TreeSet<>(r.models()));
            g.writeFieldName("regions");
            strings(g, sortedStrings(r.regions()));
            g.writeEndObject();
            VerificationPolicy v = spec.verification();
            g.writeObjectFieldStart("verification");
            g.writeStringField("fraction", HexFloats.of(v.fraction()));
            g.writeStringField("kind", v.kind());
            g.writeNumberField("replicas", v.replicas());
            g.writeNumberField("rounds", v.rounds());
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("canonical JSON of a validated spec cannot fail", e);
        }
        return out.toByteArray();
    }

    /** Integer parameters as JSON integers, float ones as hex literals, all keys in order. */
    private static void params(JsonGenerator g, LaunchParams p) throws IOException {
        java.util.Iterator<Map.Entry<String, Long>> li = p.longs().entrySet().iterator();
        java.util.Iterator<Map.Entry<String, Float>> fi = p.floats().entrySet().iterator();
        Map.Entry<String, Long> l = li.hasNext() ? li.next() : null;
        Map.Entry<String, Float> f = fi.hasNext() ? fi.next() : null;
        // Two sorted maps with distinct keys (LaunchParams refuses a name in both), merged.
        while (l != null || f != null) {
            if (f == null || (l != null && l.getKey().compareTo(f.getKey()) < 0)) {
                g.writeNumberField(l.getKey(), l.getValue());
                l = li.hasNext() ? li.next() : null;
            } else {
                g.writeStringField(f.getKey(), HexFloats.of(f.getValue()));
                f = fi.hasNext() ? fi.next() : null;
            }
        }
    }

    private static void kernel(JsonGenerator g, Kernel k) throws IOException {
        g.writeStartObject();
        if (k instanceof PtxKernel ptx) {
            g.writeStringField("entry", ptx.entry());
            g.writeStringField("hash", k.codeHash());
            g.writeStringField("id", k.id());
            g.writeArrayFieldStart("params");
            for (PtxKernel.Param p : ptx.params()) {
                g.writeStartObject();
                g.writeStringField("kind", p.kind().name());
                g.writeStringField("name", p.name());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeStringField("ptx", ptx.ptx());
        } else {
            g.writeStringField("hash", k.codeHash());
            g.writeStringField("id", k.id());
        }
        g.writeEndObject();
    }

    private static void strings(JsonGenerator g, Iterable<String> values) throws IOException {
        g.writeStartArray();
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    private static List<String> sortedStrings(Set<?> values) {
        TreeSet<String> s = new TreeSet<>();
        values.forEach(v -> s.add(v.toString()));
        return new ArrayList<>(s);
    }

    // The fields each object of the format may have (built once, not per spec read).
    private static final Set<String> ROOT_FIELDS = Set.of("format", "kernel", "params", "inputs", "requirements",
            "verification", "deadlineEpochMillis", "maxPriceMicroUsd");
    private static final Set<String> PTX_KERNEL_FIELDS = Set.of("id", "hash", "entry", "ptx", "params");
    private static final Set<String> PTX_PARAM_FIELDS = Set.of("kind", "name");
    private static final Set<String> BUILTIN_KERNEL_FIELDS = Set.of("id", "hash");
    private static final Set<String> INPUT_FIELDS = Set.of("name", "bytes", "merkleRoot");
    private static final Set<String> REQUIREMENT_FIELDS = Set.of("minDeviceMemoryBytes", "models", "regions",
            "deviceKinds", "minReputation");
    private static final Set<String> VERIFICATION_FIELDS = Set.of("kind", "rounds", "fraction", "replicas");

    /** Reads and validates a spec. */
    static JobSpec read(byte[] json) {
        if (json == null) {
            throw new InvalidJobException("job spec JSON is null: pass the bytes of a spec");
        }
        try {
            JsonNode root = CanonicalJson.reader().readTree(json);
            if (root == null || !root.isObject()) {
                throw new InvalidJobException("job spec JSON is not an object");
            }
            if (!JobSpec.FORMAT.equals(text(root, "format"))) {
                throw new InvalidJobException("job spec format is '" + root.path("format").asText()
                        + "', expected '" + JobSpec.FORMAT + "': upgrade the client that wrote it");
            }
            only(root, "", ROOT_FIELDS);
            JsonNode k = object(root, "kernel");
            Kernel kernel;
            String id = text(k, "id");
            if (id.startsWith("ptx:")) {
                only(k, "kernel.", PTX_KERNEL_FIELDS);
                List<PtxKernel.Param> ps = new ArrayList<>();
                for (JsonNode p : array(k, "params")) {
                    requireObject(p, "kernel.params[]");
                    only(p, "kernel.params[].", PTX_PARAM_FIELDS);
                    ps.add(new PtxKernel.Param(PtxKernel.ParamKind.valueOf(text(p, "kind")), text(p, "name")));
                }
                kernel = new PtxKernel(text(k, "entry"), text(k, "ptx"), ps);
            } else {
                only(k, "kernel.", BUILTIN_KERNEL_FIELDS);
                kernel = BuiltinKernel.byId(id);
            }
            if (!kernel.codeHash().equals(text(k, "hash"))) {
                throw new InvalidJobException("kernel " + id + " has hash " + text(k, "hash")
                        + " but its code hashes to " + kernel.codeHash() + ": the spec was altered or is stale");
            }
            LaunchParams.Builder params = LaunchParams.builder();
            object(root, "params").fields().forEachRemaining(e -> {
                if (e.getValue().isIntegralNumber()) {
                    params.put(e.getKey(), longValue(e.getValue(), e.getKey()));
                } else if (e.getValue().isTextual()) {
                    params.put(e.getKey(), hexFloat(e.getValue().asText(), e.getKey()));
                } else {
                    throw new InvalidJobException("launch parameter '" + e.getKey()
                            + "' must be an integer or a float written as a string");
                }
            });
            List<InputRef> inputs = new ArrayList<>();
            for (JsonNode in : array(root, "inputs")) {
                requireObject(in, "inputs[]");
                only(in, "inputs[].", INPUT_FIELDS);
                inputs.add(new InputRef(text(in, "name"), longField(in, "bytes"), text(in, "merkleRoot")));
            }
            JsonNode r = object(root, "requirements");
            only(r, "requirements.", REQUIREMENT_FIELDS);
            Set<String> models = new HashSet<>();
            strings(r, "models").forEach(models::add);
            Set<Region> regions = new HashSet<>();
            strings(r, "regions").forEach(t -> regions.add(Region.parse(t)));
            Set<DeviceKind> kinds = new HashSet<>();
            strings(r, "deviceKinds").forEach(t -> kinds.add(DeviceKind.valueOf(t)));
            Requirements req = new Requirements(longField(r, "minDeviceMemoryBytes"), models, regions, kinds,
                    hexDouble(text(r, "minReputation"), "minReputation"));
            JsonNode v = object(root, "verification");
            only(v, "verification.", VERIFICATION_FIELDS);
            VerificationPolicy policy = VerificationPolicy.of(text(v, "kind"),
                    intField(v, "rounds"), hexDouble(text(v, "fraction"), "fraction"), intField(v, "replicas"));
            return new JobSpec(kernel, params.build(), inputs, req, policy,
                    Instant.ofEpochMilli(longField(root, "deadlineEpochMillis")),
                    MicroUsd.ofMicros(longField(root, "maxPriceMicroUsd")));
        } catch (DepinException e) {
            throw e instanceof InvalidJobException ije ? ije : new InvalidJobException("job spec is invalid: "
                    + e.getMessage());
        } catch (IOException | IllegalArgumentException e) {
            throw new InvalidJobException("job spec JSON is malformed: " + e.getMessage());
        }
    }

    /** Strict parsing: a field the format does not define is an error, never ignored. */
    private static void only(JsonNode node, String where, Set<String> known) {
        for (java.util.Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                String shown = f.length() <= 64 ? f : f.substring(0, 64) + "...";
                throw new InvalidJobException("job spec JSON has unknown field '" + where + shown + "' (allowed: "
                        + new TreeSet<>(known) + "): it was not written by depin or was altered");
            }
        }
    }

    private static JsonNode object(JsonNode node, String name) {
        JsonNode v = field(node, name);
        requireObject(v, name);
        return v;
    }

    private static void requireObject(JsonNode v, String name) {
        if (!v.isObject()) {
            throw new InvalidJobException("job spec field '" + name + "' must be an object");
        }
    }

    private static JsonNode array(JsonNode node, String name) {
        JsonNode v = field(node, name);
        if (!v.isArray()) {
            throw new InvalidJobException("job spec field '" + name + "' must be an array");
        }
        return v;
    }

    private static List<String> strings(JsonNode node, String name) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : array(node, name)) {
            if (!e.isTextual()) {
                throw new InvalidJobException("job spec field '" + name + "' must hold strings only");
            }
            out.add(e.asText());
        }
        return out;
    }

    private static JsonNode field(JsonNode node, String name) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            throw new InvalidJobException("job spec JSON lacks field '" + name + "'");
        }
        return v;
    }

    private static String text(JsonNode node, String name) {
        JsonNode v = field(node, name);
        if (!v.isTextual()) {
            throw new InvalidJobException("job spec field '" + name + "' must be a string");
        }
        return v.asText();
    }

    private static long longField(JsonNode node, String name) {
        return longValue(field(node, name), name);
    }

    private static int intField(JsonNode node, String name) {
        JsonNode v = field(node, name);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidJobException("job spec field '" + name + "' must be a 32-bit integer, got " + v);
        }
        return v.intValue();
    }

    private static long longValue(JsonNode v, String name) {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new InvalidJobException("job spec field '" + name + "' must be a 64-bit integer, got " + v);
        }
        return v.longValue();
    }

    /**
     * A float parameter: a text is accepted exactly when it is {@link Float#toHexString} of a
     * finite float. First a cheap candidate ({@link #hexCandidate}) is checked against that
     * rule; only a text it does not settle goes through {@code Float.parseFloat}, whose hex
     * path (a regular expression and substrings) was the largest allocation of a small job's
     * spec parse, and that path gives the error messages.
     */
    private static float hexFloat(String text, String name) {
        double candidate = hexCandidate(text);
        if (!Double.isNaN(candidate)) {
            float f = (float) candidate;
            if (HexFloats.of(f).equals(text)) {
                return f; // canonical by the definition below; parseFloat(text) would give f
            }
        }
        checkHexSyntax(text, name);
        float f = Float.parseFloat(text);
        if (!HexFloats.of(f).equals(text)) {
            throw new InvalidJobException("float '" + name + "' = '" + text + "' is not the canonical hex form of a "
                    + "float (" + HexFloats.of(f) + ")");
        }
        return f;
    }

    /** As {@link #hexFloat}, for a double. */
    private static double hexDouble(String text, String name) {
        double candidate = hexCandidate(text);
        if (!Double.isNaN(candidate) && HexFloats.of(candidate).equals(text)) {
            return candidate;
        }
        checkHexSyntax(text, name);
        double d = Double.parseDouble(text);
        if (!HexFloats.of(d).equals(text)) {
            throw new InvalidJobException("number '" + name + "' = '" + text + "' is not in canonical hex form ("
                    + HexFloats.of(d) + ")");
        }
        return d;
    }

    /**
     * The value a text of the form {@code -?0x[01].<1-13 hex digits>p-?<1-5 digits>} stands for,
     * computed exactly in a double ({@code Math.scalb} of a significand of at most 53 bits), or
     * NaN for any other text. Only a candidate: the callers accept it only when the float's or
     * double's own hex string is the text, so a wrong candidate can only send a text down the
     * slow path, never let one through.
     */
    private static double hexCandidate(String t) {
        int n = t.length();
        int i = n > 0 && t.charAt(0) == '-' ? 1 : 0;
        if (n < i + 7 || t.charAt(i) != '0' || t.charAt(i + 1) != 'x' || t.charAt(i + 3) != '.') {
            return Double.NaN;
        }
        char lead = t.charAt(i + 2);
        if (lead != '0' && lead != '1') {
            return Double.NaN;
        }
        long m = 0;
        int j = i + 4;
        for (; j < n && t.charAt(j) != 'p'; j++) {
            char c = t.charAt(j);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0 || j - (i + 4) >= 13) {
                return Double.NaN;
            }
            m = m << 4 | d;
        }
        int digits = j - (i + 4);
        if (digits == 0 || j >= n) {
            return Double.NaN;
        }
        int k = j + 1;
        boolean negExp = k < n && t.charAt(k) == '-';
        k += negExp ? 1 : 0;
        if (k >= n || n - k > 5) {
            return Double.NaN;
        }
        int exp = 0;
        for (; k < n; k++) {
            char c = t.charAt(k);
            if (c < '0' || c > '9') {
                return Double.NaN;
            }
            exp = exp * 10 + (c - '0');
        }
        double v = Math.scalb((lead - '0') + Math.scalb((double) m, -4 * digits), negExp ? -exp : exp);
        return i == 1 ? -v : v;
    }

    /** Compiled once: {@code String.matches} compiled it for every number of every spec received. */
    private static final java.util.regex.Pattern HEX_LITERAL =
            java.util.regex.Pattern.compile("-?0x[01]\\.[0-9a-f]+p-?[0-9]+|-?0x0\\.0p0");

    private static void checkHexSyntax(String text, String name) {
        if (!HEX_LITERAL.matcher(text).matches()) {
            throw new InvalidJobException("number '" + name + "' = '" + text
                    + "' must be a hexadecimal floating-point literal such as 0x1.8p1");
        }
    }
}
