package dev.depin.crypto;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.depin.crypto.internal.StrictJson;
import dev.depin.crypto.internal.Statements;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of an {@link ExecutionReceipt}'s in-toto statement: what {@link
 * ExecutionReceipt#toPayload} writes and {@link ExecutionReceipt#readUnverified} reads. The bytes are
 * signed, so they never change for a predicate type ({@code StatementWireTest} pins them).
 */
final class ReceiptJson {
    private ReceiptJson() {
    }

    /**
     * The statement a receipt signs: subjects = its outputs, predicate = every field, keys sorted.
     *
     * @param r the receipt
     * @return UTF-8 canonical JSON
     */
    static byte[] payload(ExecutionReceipt r) {
        // Keys in code-point order, as the canonical form requires (ReceiptJsonTest checks the
        // bytes against the sorted tree of the same fields).
        return Statements.encode(r.subjects(), ExecutionReceipt.PREDICATE_TYPE, g -> {
            g.writeFieldName("assurance");
            writeAssurance(g, r.assurance());
            g.writeNumberField("attempt", r.attempt());
            if (r.device() != null) {
                g.writeFieldName("device");
                writeDevice(g, r.device());
            }
            g.writeNumberField("deviceTimeNanos", r.deviceTimeNanos());
            g.writeStringField("endedAt", r.endedAt().toString());
            if (r.energy() != null) {
                g.writeObjectFieldStart("energy");
                g.writeNumberField("millijoules", r.energy().millijoules());
                g.writeStringField("source", r.energy().source().wire());
                g.writeEndObject();
            }
            g.writeStringField("executorKind", r.executorKind());
            g.writeFieldName("inputs");
            writeBuffers(g, r.inputs());
            g.writeStringField("jobId", r.jobId());
            g.writeStringField("kernelHash", r.kernelHash());
            g.writeStringField("kernelId", r.kernelId());
            g.writeNumberField("merkleChunkBytes", r.merkleChunkBytes());
            g.writeStringField("nonce", r.nonce());
            g.writeFieldName("outputs");
            writeBuffers(g, r.outputs());
            g.writeStringField("specHash", r.specHash());
            g.writeStringField("startedAt", r.startedAt().toString());
        });
    }

    /** The device object, keys sorted, shared with the wipe attestation's predicate. */
    static void writeDevice(JsonGenerator g, ReceiptDevice d) throws IOException {
        g.writeStartObject();
        g.writeStringField("cudaVersion", d.cudaVersion());
        g.writeStringField("driver", d.driver());
        g.writeStringField("model", d.model());
        if (d.smCount() == null) {
            g.writeNullField("smCount");
        } else {
            g.writeNumberField("smCount", d.smCount());
        }
        g.writeEndObject();
    }

    private static void writeAssurance(JsonGenerator g, Assurance a) throws IOException {
        g.writeStartObject();
        g.writeStringField("level", a.level().name());
        g.writeObjectFieldStart("numbers");
        for (Map.Entry<String, Double> e : a.numbers().entrySet()) { // sorted by Assurance
            g.writeNumberField(e.getKey(), e.getValue().doubleValue());
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void writeBuffers(JsonGenerator g, List<BufferDigest> list) throws IOException {
        g.writeStartArray();
        for (BufferDigest b : list) {
            g.writeStartObject();
            g.writeNumberField("bytes", b.bytes());
            g.writeStringField("merkleRoot", b.merkleRoot());
            g.writeStringField("name", b.name());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /**
     * Reads a receipt's predicate; the statement around it was parsed by {@link Statements#parse}.
     *
     * @param p the predicate
     * @return the receipt, validated
     * @throws VerificationException ({@code MALFORMED_STATEMENT}) on a missing, mistyped or invalid field
     */
    static ExecutionReceipt fromPredicate(StrictJson.Obj p) {
        String jobId = Statements.text(p, "jobId");
        int attempt = Statements.int32(p, "attempt");
        String specHash = Statements.text(p, "specHash");
        String kernelId = Statements.text(p, "kernelId");
        String kernelHash = Statements.text(p, "kernelHash");
        String nonce = Statements.text(p, "nonce");
        List<BufferDigest> inputs = readBuffers(Statements.array(p, "inputs"));
        List<BufferDigest> outputs = readBuffers(Statements.array(p, "outputs"));
        int chunk = Statements.int32(p, "merkleChunkBytes");
        String kind = Statements.text(p, "executorKind");
        Object d = p.get("device");
        ReceiptDevice device = d == null || d == StrictJson.NULL ? null : readDevice(d);
        Instant started = Statements.instant(p, "startedAt");
        Instant ended = Statements.instant(p, "endedAt");
        long deviceNanos = Statements.integer(p, "deviceTimeNanos");
        Assurance assurance = readAssurance(Statements.object(p, "assurance"));
        Object e = p.get("energy");
        ReceiptEnergy energy = e == null ? null : readEnergy(e);
        return Statements.build(() -> new ExecutionReceipt(jobId, attempt, specHash, kernelId, kernelHash, nonce,
                inputs, outputs, chunk, kind, device, started, ended, deviceNanos, assurance, energy));
    }

    /**
     * Reads the optional energy object strictly: exactly {@code millijoules} (an integer) and
     * {@code source} (one of the two words), nothing else; absent means none, JSON null is refused
     * (one encoding of "none").
     */
    private static ReceiptEnergy readEnergy(Object value) {
        if (!(value instanceof StrictJson.Obj e)) {
            throw Statements.malformed("'energy' is not an object", null);
        }
        for (int i = 0; i < e.size(); i++) {
            String f = e.name(i);
            if (!f.equals("millijoules") && !f.equals("source")) {
                throw Statements.malformed("'energy' has an unknown field '" + (f.length() <= 40 ? f
                        : f.substring(0, 40) + "…").replaceAll("\\p{Cntrl}", "?") + "'", null);
            }
        }
        long mj = Statements.integer(e, "millijoules");
        String source = Statements.text(e, "source");
        return Statements.build(() -> new ReceiptEnergy(mj, ReceiptEnergy.Source.of(source)));
    }

    /** Reads a device object, shared with the wipe attestation's predicate. */
    static ReceiptDevice readDevice(Object value) {
        if (!(value instanceof StrictJson.Obj d)) {
            throw Statements.malformed("'device' is not an object", null);
        }
        return Statements.build(() -> new ReceiptDevice(Statements.optText(d, "model"), Statements.optInt32(d, "smCount"),
                Statements.optText(d, "driver"), Statements.optText(d, "cudaVersion")));
    }

    private static Assurance readAssurance(StrictJson.Obj a) {
        String level = Statements.text(a, "level");
        Assurance.Level l;
        try {
            l = Assurance.Level.valueOf(level);
        } catch (IllegalArgumentException e) {
            throw Statements.malformed("unknown assurance level '" + level + "'", e);
        }
        Map<String, Double> numbers = new HashMap<>();
        Object value = a.get("numbers");
        if (value != null && value != StrictJson.NULL) {
            if (!(value instanceof StrictJson.Obj n)) {
                throw Statements.malformed("assurance 'numbers' is not an object", null);
            }
            for (int i = 0; i < n.size(); i++) {
                if (!(n.value(i) instanceof Number x)) {
                    throw Statements.malformed("assurance number '" + n.name(i) + "' is not a number", null);
                }
                numbers.put(n.name(i), x.doubleValue());
            }
        }
        return Statements.build(() -> new Assurance(l, numbers));
    }

    private static List<BufferDigest> readBuffers(List<Object> arr) {
        List<BufferDigest> out = new ArrayList<>(arr.size());
        for (Object item : arr) {
            if (!(item instanceof StrictJson.Obj b)) {
                throw Statements.malformed("a buffer entry is not an object", null);
            }
            String name = Statements.text(b, "name");
            String root = Statements.text(b, "merkleRoot");
            long bytes = Statements.integer(b, "bytes");
            out.add(Statements.build(() -> new BufferDigest(name, root, bytes)));
        }
        return out;
    }
}
