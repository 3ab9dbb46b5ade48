package dev.depin.crypto;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.depin.crypto.internal.Statements;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads receipt and wipe statements straight from their bytes, in one pass of Jackson's
 * streaming parser (the same factory as {@link CanonicalJson#reader()}: duplicate keys,
 * trailing tokens, nesting depth and number and string lengths are refused exactly as there),
 * into the records, with no tree: a small job's buyer reads two statements per job, and
 * building them as {@code JsonNode} trees was the largest part of its verification after
 * Ed25519. Duplicate keys are found here by the fields each object may have (a bit per known
 * field, a map for digests and numbers), not by the parser's per-object hash set (a sixth of
 * this pass): a repeated key, or any field a statement does not have, goes to the reference.
 *
 * <p>The tree path ({@link Statements#parse} with {@link ReceiptJson#fromPredicate} and
 * {@link WipeJson#fromStatement}) stays the reference that defines every refusal: this reader
 * accepts only a statement that the reference accepts, with the same result, and hands
 * anything else (a missing, mistyped or invalid field, bad JSON, another predicate type) to the
 * reference, which then throws its own exception with its own message, in its own order.
 * {@code StatementReaderTest} checks both agree on valid statements and on thousands of
 * mutated ones.
 */
final class StatementReader {
    /** Thrown inside this reader where the reference path must decide; never escapes. */
    private static final RuntimeException REFERENCE = new RuntimeException("left to the reference path", null,
            false, false) {
        private static final long serialVersionUID = 1L;
    };

    private StatementReader() {
    }

    /**
     * A receipt statement's subjects and predicate.
     *
     * @param subjects the statement's subjects, in order
     * @param receipt  the predicate, validated
     */
    record Receipt(List<Subject> subjects, ExecutionReceipt receipt) {
    }

    /** Reads one predicate object; the parser is on its START_OBJECT and ends on its END_OBJECT. */
    @FunctionalInterface
    private interface Predicate<T> {
        T read(JsonParser p) throws IOException;
    }

    /**
     * Reads a receipt statement.
     *
     * @param payloadType the DSSE payload type
     * @param payload     the statement's exact bytes
     * @return its subjects and receipt
     * @throws VerificationException as {@link Statements#parse} and {@link ReceiptJson#fromPredicate} throw
     */
    static Receipt receipt(String payloadType, byte[] payload) {
        if (Dsse.IN_TOTO_PAYLOAD_TYPE.equals(payloadType)) {
            Receipt r = receiptOrNull(payload);
            if (r != null) {
                return r;
            }
        }
        Statements.Parsed st = Statements.parse(payloadType, payload, ExecutionReceipt.PREDICATE_TYPE);
        return new Receipt(st.subjects(), ReceiptJson.fromPredicate(st.predicate()));
    }

    /**
     * Reads a wipe attestation statement.
     *
     * @param payloadType the DSSE payload type
     * @param payload     the statement's exact bytes
     * @return the attestation
     * @throws VerificationException as {@link Statements#parse} and {@link WipeJson#fromStatement} throw
     */
    static WipeAttestation wipe(String payloadType, byte[] payload) {
        if (Dsse.IN_TOTO_PAYLOAD_TYPE.equals(payloadType)) {
            WipeAttestation w = wipeOrNull(payload);
            if (w != null) {
                return w;
            }
        }
        return WipeJson.fromStatement(Statements.parse(payloadType, payload, WipeAttestation.PREDICATE_TYPE));
    }

    /**
     * The streaming pass alone over a receipt statement (payload type {@value Dsse#IN_TOTO_PAYLOAD_TYPE}).
     *
     * @param payload the statement's exact bytes
     * @return its subjects and receipt, or null where the reference path must decide
     */
    static Receipt receiptOrNull(byte[] payload) {
        List<Subject> subjects = new ArrayList<>(1);
        ExecutionReceipt r = fast(payload, ExecutionReceipt.PREDICATE_TYPE, StatementReader::receiptPredicate,
                subjects);
        return r == null ? null : new Receipt(subjects, r);
    }

    /**
     * The streaming pass alone over a wipe statement (payload type {@value Dsse#IN_TOTO_PAYLOAD_TYPE}).
     *
     * @param payload the statement's exact bytes
     * @return the attestation, or null where the reference path must decide
     */
    static WipeAttestation wipeOrNull(byte[] payload) {
        List<Subject> subjects = new ArrayList<>(1);
        WipeRecordsAndTimes w = fast(payload, WipeAttestation.PREDICATE_TYPE, StatementReader::wipePredicate,
                subjects);
        // One subject, the receipt's sha256, as WipeJson.fromStatement requires before the predicate.
        if (w == null || subjects.size() != 1 || !WipeAttestation.SUBJECT_NAME.equals(subjects.get(0).name())) {
            return null;
        }
        String digest = subjects.get(0).digest().get("sha256");
        if (digest == null) {
            return null;
        }
        try {
            return new WipeAttestation(digest, w.records, w.startedAt, w.endedAt, w.device, w.tee);
        } catch (RuntimeException e) {
            return null; // the reference path throws its own MALFORMED_STATEMENT
        }
    }

    /**
     * The statement around the predicate: {@code _type}, {@code predicateType}, {@code subject}
     * and {@code predicate}, nothing after the object. A field a statement does not have (the
     * reference ignores most of them) goes to the reference, which also finds its duplicates.
     *
     * @return the predicate, or null where the reference path must decide
     */
    private static <T> T fast(byte[] payload, String predicateType, Predicate<T> predicate, List<Subject> subjects) {
        try (JsonParser p = CanonicalJson.reader().createParser(payload)) {
            // Every object read here is read whole, field by field, and refuses repeats itself.
            p.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String type = null;
            String pt = null;
            boolean sawSubjects = false;
            T value = null;
            int seen = 0;
            String f;
            while ((f = p.nextFieldName()) != null) {
                JsonToken t = p.nextToken();
                switch (f) {
                    case "_type" -> {
                        seen = once(seen, 1);
                        type = text(p, t);
                    }
                    case "predicateType" -> {
                        seen = once(seen, 2);
                        pt = text(p, t);
                    }
                    case "subject" -> {
                        seen = once(seen, 4);
                        readSubjects(p, t, subjects);
                        sawSubjects = true;
                    }
                    case "predicate" -> {
                        seen = once(seen, 8);
                        if (t != JsonToken.START_OBJECT) {
                            return null;
                        }
                        value = predicate.read(p);
                    }
                    default -> throw REFERENCE;
                }
            }
            if (p.nextToken() != null || !Statements.STATEMENT_TYPE.equals(type) || !predicateType.equals(pt)
                    || !sawSubjects || value == null) {
                return null;
            }
            return value;
        } catch (IOException | RuntimeException e) {
            return null; // the reference path reads it again and throws its own exception
        }
    }

    private static void readSubjects(JsonParser p, JsonToken t, List<Subject> out) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw REFERENCE;
        }
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.START_OBJECT) {
                throw REFERENCE;
            }
            String name = null;
            Map<String, String> digest = null;
            String f;
            while ((f = p.nextFieldName()) != null) {
                JsonToken v = p.nextToken();
                if (f.equals("name") && name == null) {
                    name = text(p, v);
                } else if (f.equals("digest") && digest == null) {
                    if (v != JsonToken.START_OBJECT) {
                        throw REFERENCE;
                    }
                    digest = new TreeMap<>();
                    String k;
                    while ((k = p.nextFieldName()) != null) {
                        if (digest.put(k, text(p, p.nextToken())) != null) {
                            throw REFERENCE;
                        }
                    }
                } else {
                    throw REFERENCE;
                }
            }
            if (name == null || digest == null || digest.isEmpty()) {
                throw REFERENCE;
            }
            out.add(new Subject(name, digest));
        }
    }

    // ---------------------------------------------------------------- receipt

    private static ExecutionReceipt receiptPredicate(JsonParser p) throws IOException {
        String jobId = null;
        String specHash = null;
        String kernelId = null;
        String kernelHash = null;
        String nonce = null;
        String kind = null;
        long attempt = Long.MIN_VALUE;
        long chunk = Long.MIN_VALUE;
        long deviceNanos = 0;
        boolean sawDeviceNanos = false;
        List<BufferDigest> inputs = null;
        List<BufferDigest> outputs = null;
        ReceiptDevice device = null;
        Instant started = null;
        Instant ended = null;
        Assurance assurance = null;
        ReceiptEnergy energy = null;
        int seen = 0;
        String f;
        while ((f = p.nextFieldName()) != null) {
            JsonToken t = p.nextToken();
            switch (f) {
                case "jobId" -> {
                    seen = once(seen, 1);
                    jobId = text(p, t);
                }
                case "attempt" -> {
                    seen = once(seen, 2);
                    attempt = int32(p, t);
                }
                case "specHash" -> {
                    seen = once(seen, 4);
                    specHash = text(p, t);
                }
                case "kernelId" -> {
                    seen = once(seen, 8);
                    kernelId = text(p, t);
                }
                case "kernelHash" -> {
                    seen = once(seen, 16);
                    kernelHash = text(p, t);
                }
                case "nonce" -> {
                    seen = once(seen, 32);
                    nonce = text(p, t);
                }
                case "inputs" -> {
                    seen = once(seen, 64);
                    inputs = buffers(p, t);
                }
                case "outputs" -> {
                    seen = once(seen, 128);
                    outputs = buffers(p, t);
                }
                case "merkleChunkBytes" -> {
                    seen = once(seen, 256);
                    chunk = int32(p, t);
                }
                case "executorKind" -> {
                    seen = once(seen, 512);
                    kind = text(p, t);
                }
                case "device" -> {
                    seen = once(seen, 1024);
                    device = t == JsonToken.VALUE_NULL ? null : device(p, t);
                }
                case "startedAt" -> {
                    seen = once(seen, 2048);
                    started = instant(p, t);
                }
                case "endedAt" -> {
                    seen = once(seen, 4096);
                    ended = instant(p, t);
                }
                case "deviceTimeNanos" -> {
                    seen = once(seen, 8192);
                    deviceNanos = integer(p, t);
                    sawDeviceNanos = true;
                }
                case "assurance" -> {
                    seen = once(seen, 16384);
                    assurance = assurance(p, t);
                }
                case "energy" -> {
                    seen = once(seen, 32768);
                    energy = energy(p, t);
                }
                default -> throw REFERENCE;
            }
        }
        if (jobId == null || specHash == null || kernelId == null || kernelHash == null || nonce == null
                || kind == null || attempt == Long.MIN_VALUE || chunk == Long.MIN_VALUE || !sawDeviceNanos
                || inputs == null || outputs == null || started == null || ended == null || assurance == null) {
            throw REFERENCE;
        }
        return new ExecutionReceipt(jobId, (int) attempt, specHash, kernelId, kernelHash, nonce, inputs, outputs,
                (int) chunk, kind, device, started, ended, deviceNanos, assurance, energy);
    }

    private static List<BufferDigest> buffers(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw REFERENCE;
        }
        List<BufferDigest> out = new ArrayList<>(2);
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.START_OBJECT) {
                throw REFERENCE;
            }
            String name = null;
            String root = null;
            long bytes = 0;
            boolean sawBytes = false;
            int seen = 0;
            String f;
            while ((f = p.nextFieldName()) != null) {
                JsonToken v = p.nextToken();
                switch (f) {
                    case "name" -> {
                        seen = once(seen, 1);
                        name = text(p, v);
                    }
                    case "merkleRoot" -> {
                        seen = once(seen, 2);
                        root = text(p, v);
                    }
                    case "bytes" -> {
                        seen = once(seen, 4);
                        bytes = integer(p, v);
                        sawBytes = true;
                    }
                    default -> throw REFERENCE;
                }
            }
            if (name == null || root == null || !sawBytes) {
                throw REFERENCE;
            }
            out.add(new BufferDigest(name, root, bytes));
        }
        return out;
    }

    private static ReceiptDevice device(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw REFERENCE;
        }
        String model = null;
        Integer sm = null;
        String driver = null;
        String cuda = null;
        int seen = 0;
        String f;
        while ((f = p.nextFieldName()) != null) {
            JsonToken v = p.nextToken();
            boolean isNull = v == JsonToken.VALUE_NULL;
            switch (f) {
                case "model" -> {
                    seen = once(seen, 1);
                    model = isNull ? null : text(p, v);
                }
                case "smCount" -> {
                    seen = once(seen, 2);
                    sm = isNull ? null : (int) int32(p, v);
                }
                case "driver" -> {
                    seen = once(seen, 4);
                    driver = isNull ? null : text(p, v);
                }
                case "cudaVersion" -> {
                    seen = once(seen, 8);
                    cuda = isNull ? null : text(p, v);
                }
                default -> throw REFERENCE;
            }
        }
        return new ReceiptDevice(model, sm, driver, cuda);
    }

    private static Assurance assurance(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw REFERENCE;
        }
        String level = null;
        Map<String, Double> numbers = new HashMap<>();
        int seen = 0;
        String f;
        while ((f = p.nextFieldName()) != null) {
            JsonToken v = p.nextToken();
            if (f.equals("level")) {
                seen = once(seen, 1);
                level = text(p, v);
            } else if (f.equals("numbers")) {
                seen = once(seen, 2);
                if (v == JsonToken.VALUE_NULL) {
                    continue;
                }
                if (v != JsonToken.START_OBJECT) {
                    throw REFERENCE;
                }
                String k;
                while ((k = p.nextFieldName()) != null) {
                    JsonToken n = p.nextToken();
                    if (n != JsonToken.VALUE_NUMBER_INT && n != JsonToken.VALUE_NUMBER_FLOAT) {
                        throw REFERENCE;
                    }
                    if (numbers.put(k, p.getDoubleValue()) != null) {
                        throw REFERENCE;
                    }
                }
            } else {
                throw REFERENCE;
            }
        }
        if (level == null) {
            throw REFERENCE;
        }
        return new Assurance(Assurance.Level.valueOf(level), numbers);
    }

    /** Exactly {@code millijoules} and {@code source}, as the reference requires; null is refused there. */
    private static ReceiptEnergy energy(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw REFERENCE;
        }
        long mj = 0;
        boolean sawMj = false;
        String source = null;
        int seen = 0;
        String f;
        while ((f = p.nextFieldName()) != null) {
            JsonToken v = p.nextToken();
            if (f.equals("millijoules")) {
                seen = once(seen, 1);
                mj = integer(p, v);
                sawMj = true;
            } else if (f.equals("source")) {
                seen = once(seen, 2);
                source = text(p, v);
            } else {
                throw REFERENCE;
            }
        }
        if (!sawMj || source == null) {
            throw REFERENCE;
        }
        return new ReceiptEnergy(mj, ReceiptEnergy.Source.of(source));
    }

    // ---------------------------------------------------------------- wipe

    /** A wipe predicate's fields; the subject is the statement's. */
    private record WipeRecordsAndTimes(List<WipeRecord> records, Instant startedAt, Instant endedAt,
                                       ReceiptDevice device, byte[] tee) {
    }

    private static WipeRecordsAndTimes wipePredicate(JsonParser p) throws IOException {
        List<WipeRecord> records = null;
        Instant started = null;
        Instant ended = null;
        ReceiptDevice device = null;
        byte[] tee = new byte[0];
        int seen = 0;
        String f;
        while ((f = p.nextFieldName()) != null) {
            JsonToken t = p.nextToken();
            switch (f) {
                case "buffers" -> {
                    seen = once(seen, 1);
                    records = wipeRecords(p, t);
                }
                case "startedAt" -> {
                    seen = once(seen, 2);
                    started = instant(p, t);
                }
                case "endedAt" -> {
                    seen = once(seen, 4);
                    ended = instant(p, t);
                }
                case "device" -> {
                    seen = once(seen, 8);
                    device = t == JsonToken.VALUE_NULL ? null : device(p, t);
                }
                case "teeEvidence" -> {
                    seen = once(seen, 16);
                    tee = t == JsonToken.VALUE_NULL ? new byte[0] : Base64.getDecoder().decode(text(p, t));
                }
                default -> throw REFERENCE;
            }
        }
        if (records == null || started == null || ended == null) {
            throw REFERENCE;
        }
        return new WipeRecordsAndTimes(records, started, ended, device, tee);
    }

    private static List<WipeRecord> wipeRecords(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw REFERENCE;
        }
        List<WipeRecord> out = new ArrayList<>(8);
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.START_OBJECT) {
                throw REFERENCE;
            }
            String pattern = null;
            String location = null;
            String label = null;
            String method = null;
            String check = null;
            long bytes = Long.MIN_VALUE;
            long over = Long.MIN_VALUE;
            int seen = 0;
            String f;
            while ((f = p.nextFieldName()) != null) {
                JsonToken v = p.nextToken();
                switch (f) {
                    case "pattern" -> {
                        seen = once(seen, 1);
                        pattern = text(p, v);
                    }
                    case "location" -> {
                        seen = once(seen, 2);
                        location = text(p, v);
                    }
                    case "label" -> {
                        seen = once(seen, 4);
                        label = text(p, v);
                    }
                    case "bytes" -> {
                        seen = once(seen, 8);
                        bytes = integer(p, v);
                    }
                    case "bytesOverwritten" -> {
                        seen = once(seen, 16);
                        over = integer(p, v);
                    }
                    case "method" -> {
                        seen = once(seen, 32);
                        method = text(p, v);
                    }
                    case "checkDigest" -> {
                        seen = once(seen, 64);
                        check = text(p, v);
                    }
                    default -> throw REFERENCE;
                }
            }
            // Long.MIN_VALUE is a valid JSON integer but never a valid size: the reference then decides.
            if (pattern == null || !Hex.isLowerHex(pattern, 2) || location == null || label == null || method == null
                    || check == null || bytes == Long.MIN_VALUE || over == Long.MIN_VALUE) {
                throw REFERENCE;
            }
            out.add(new WipeRecord(location, label, bytes, over, Integer.parseInt(pattern, 16), method, check));
        }
        return out;
    }

    // ---------------------------------------------------------------- values

    /**
     * Marks a known field of the object being read as seen.
     *
     * @param seen the fields seen so far, a bit each
     * @param bit  this field's bit
     * @return {@code seen} with this field's bit
     * @throws RuntimeException {@link #REFERENCE} when the field came before: a duplicate key,
     *                          which the reference path refuses with the parser's message
     */
    private static int once(int seen, int bit) {
        if ((seen & bit) != 0) {
            throw REFERENCE;
        }
        return seen | bit;
    }

    private static String text(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_STRING) {
            throw REFERENCE;
        }
        return p.getText();
    }

    /** An integer that fits a long, as {@link Statements#integer} accepts. */
    private static long integer(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw REFERENCE;
        }
        return p.getLongValue();
    }

    private static long int32(JsonParser p, JsonToken t) throws IOException {
        long v = integer(p, t);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw REFERENCE;
        }
        return v;
    }

    private static Instant instant(JsonParser p, JsonToken t) throws IOException {
        Instant i = Statements.instantOrNull(text(p, t));
        if (i == null) {
            throw REFERENCE;
        }
        return i;
    }
}
