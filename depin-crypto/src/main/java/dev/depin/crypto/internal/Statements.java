package dev.depin.crypto.internal;

import dev.depin.InvalidArgumentException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.CanonicalJson;
import dev.depin.crypto.Dsse;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.MalformedEnvelopeException;
import dev.depin.crypto.Subject;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * in-toto Statement v1 encoding and strict field access for predicates.
 */
public final class Statements {
    /** The Statement v1 {@code _type}. */
    public static final String STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

    private Statements() {
    }

    /**
     * A parsed statement.
     *
     * @param subjects      the subjects, in order
     * @param predicateType the predicate type (already checked)
     * @param predicate     the predicate object
     */
    public record Parsed(List<Subject> subjects, String predicateType, StrictJson.Obj predicate) {
    }

    /**
     * Canonical statement bytes: keys sorted, compact.
     *
     * @param subjects      the subjects
     * @param predicateType the predicate type
     * @param predicate     the predicate
     * @return UTF-8 JSON
     */
    public static byte[] encode(List<Subject> subjects, String predicateType, ObjectNode predicate) {
        ObjectNode st = Json.object();
        st.put("_type", STATEMENT_TYPE);
        ArrayNode subj = st.putArray("subject");
        for (Subject s : subjects) {
            ObjectNode o = subj.addObject();
            o.put("name", s.name());
            o.set("digest", Json.stringMap(s.digest()));
        }
        st.put("predicateType", predicateType);
        st.set("predicate", predicate);
        return Json.canonicalBytes(st);
    }

    /**
     * Writes the fields of a statement's predicate object, keys in code-point order.
     */
    @FunctionalInterface
    public interface PredicateWriter {
        /**
         * Writes the predicate's fields (the object's braces are written around them).
         *
         * @param g the generator, positioned inside the predicate object
         * @throws IOException if the generator fails
         */
        void write(JsonGenerator g) throws IOException;
    }

    /**
     * Canonical statement bytes written straight to a generator, no tree: the same bytes as
     * {@link #encode(List, String, ObjectNode)} for a predicate whose writer puts its keys in
     * code-point order (the statement's own keys are in that order here; subjects' digests are
     * sorted maps). For statements made once per job.
     *
     * @param subjects      the subjects
     * @param predicateType the predicate type
     * @param predicate     writes the predicate's fields, keys sorted
     * @return UTF-8 JSON
     */
    public static byte[] encode(List<Subject> subjects, String predicateType, PredicateWriter predicate) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1024);
        try (JsonGenerator g = CanonicalJson.writer().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("_type", STATEMENT_TYPE);
            g.writeObjectFieldStart("predicate");
            predicate.write(g);
            g.writeEndObject();
            g.writeStringField("predicateType", predicateType);
            g.writeArrayFieldStart("subject");
            for (Subject s : subjects) {
                g.writeStartObject();
                g.writeObjectFieldStart("digest");
                for (Map.Entry<String, String> e : s.digest().entrySet()) { // sorted by Subject
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
                g.writeStringField("name", s.name());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("writing a statement to memory cannot fail", e);
        }
        return out.toByteArray();
    }

    /**
     * Parses the envelope's payload (the exact signed bytes) as a statement and checks the
     * payload type, {@code _type} and {@code predicateType}.
     *
     * @param env                   the envelope (its signature is not checked here)
     * @param expectedPredicateType the predicate type required
     * @return the statement
     * @throws VerificationException {@code WRONG_PAYLOAD_TYPE}, {@code MALFORMED_STATEMENT} or
     *                               {@code WRONG_PREDICATE_TYPE}
     */
    public static Parsed parse(Envelope env, String expectedPredicateType) {
        return parse(env.payloadType(), env.payload(), expectedPredicateType);
    }

    /**
     * Parses a statement's exact bytes (signed in an envelope, or committed to by a batch)
     * and checks the payload type, {@code _type} and {@code predicateType}.
     *
     * @param payloadType           the DSSE payload type
     * @param payload               the statement bytes
     * @param expectedPredicateType the predicate type required
     * @return the statement
     * @throws VerificationException {@code WRONG_PAYLOAD_TYPE}, {@code MALFORMED_STATEMENT} or
     *                               {@code WRONG_PREDICATE_TYPE}
     */
    public static Parsed parse(String payloadType, byte[] payload, String expectedPredicateType) {
        if (!Dsse.IN_TOTO_PAYLOAD_TYPE.equals(payloadType)) {
            throw new VerificationException(Reason.WRONG_PAYLOAD_TYPE, "payloadType is '" + payloadType
                    + "' but an in-toto statement ('" + Dsse.IN_TOTO_PAYLOAD_TYPE + "') was expected: reject it");
        }
        Object parsed;
        try {
            parsed = StrictJson.read(payload);
        } catch (IOException | RuntimeException e) {
            throw malformed("the payload is not valid JSON (" + e.getMessage() + ")", e);
        }
        if (!(parsed instanceof StrictJson.Obj root)) {
            throw malformed("the payload is not a JSON object", null);
        }
        String type = text(root, "_type");
        if (!STATEMENT_TYPE.equals(type)) {
            throw malformed("_type is '" + type + "', expected '" + STATEMENT_TYPE + "'", null);
        }
        String predicateType = text(root, "predicateType");
        if (!predicateType.equals(expectedPredicateType)) {
            throw new VerificationException(Reason.WRONG_PREDICATE_TYPE, "predicateType is '" + predicateType
                    + "' but '" + expectedPredicateType + "' was expected: this statement is another kind of "
                    + "attestation; reject it");
        }
        if (!(root.get("subject") instanceof StrictJson.Arr subj)) {
            throw malformed("'subject' is missing or not an array", null);
        }
        List<Subject> subjects = new ArrayList<>(subj.items().size());
        for (Object item : subj.items()) {
            if (!(item instanceof StrictJson.Obj s)) {
                throw malformed("a subject is not an object", null);
            }
            String name = text(s, "name");
            if (!(s.get("digest") instanceof StrictJson.Obj d) || d.size() == 0) {
                throw malformed("subject '" + name + "' has no digest map", null);
            }
            Map<String, String> digest = new TreeMap<>();
            for (int i = 0; i < d.size(); i++) {
                if (!(d.value(i) instanceof String v)) {
                    throw malformed("digest '" + d.name(i) + "' of subject '" + name + "' is not a string", null);
                }
                digest.put(d.name(i), v);
            }
            subjects.add(new Subject(name, digest));
        }
        if (!(root.get("predicate") instanceof StrictJson.Obj predicate)) {
            throw malformed("'predicate' is missing or not an object", null);
        }
        return new Parsed(subjects, predicateType, predicate);
    }

    /**
     * A MALFORMED_STATEMENT exception.
     *
     * @param what  what is wrong
     * @param cause the failure underneath, or {@code null}
     * @return the exception (to throw)
     */
    public static MalformedEnvelopeException malformed(String what, Throwable cause) {
        return new MalformedEnvelopeException(Reason.MALFORMED_STATEMENT,
                "malformed statement: " + what + ": reject it (the signer produced an invalid statement)", cause);
    }

    /**
     * A required string field.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the string
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static String text(StrictJson.Obj node, String field) {
        Object v = node.get(field);
        if (!(v instanceof String s)) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not a string"), null);
        }
        return s;
    }

    /**
     * An optional string field ({@code null} if absent or JSON null).
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the string or {@code null}
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static String optText(StrictJson.Obj node, String field) {
        Object v = node.get(field);
        if (v == null || v == StrictJson.NULL) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw malformed("field '" + field + "' is not a string", null);
        }
        return s;
    }

    /**
     * A required integral field that fits a long.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the value
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static long integer(StrictJson.Obj node, String field) {
        Object v = node.get(field);
        if (!(v instanceof Long l)) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not an integer"), null);
        }
        return l;
    }

    /**
     * A required int field.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the value
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static int int32(StrictJson.Obj node, String field) {
        long v = integer(node, field);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw malformed("field '" + field + "' is out of int range", null);
        }
        return (int) v;
    }

    /**
     * An optional int field.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the value or {@code null}
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static Integer optInt32(StrictJson.Obj node, String field) {
        Object v = node.get(field);
        return v == null || v == StrictJson.NULL ? null : int32(node, field);
    }

    /**
     * A required ISO-8601 instant.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the instant
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static Instant instant(StrictJson.Obj node, String field) {
        String s = text(node, field);
        Instant fast = utcInstant(s);
        if (fast != null) {
            return fast;
        }
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw malformed("field '" + field + "' is not an ISO-8601 instant: '" + s + "'", e);
        }
    }

    /**
     * The form {@link Instant#toString()} writes for years 0000..9999,
     * {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z}, parsed without {@link java.time.format.DateTimeFormatter}
     * (a tenth of a small job's verification went there); anything else, a leap second
     * included, is left to {@link Instant#parse}, which then accepts or rejects it as before.
     *
     * @param s the text
     * @return the instant, or null when {@code s} is not in this exact form or not a valid date
     */
    static Instant utcInstant(String s) {
        int n = s.length();
        if (n < 20 || n > 30 || n == 21 || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T'
                || s.charAt(13) != ':' || s.charAt(16) != ':' || s.charAt(n - 1) != 'Z') {
            return null;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        int second = digits(s, 17, 2);
        if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59
                || second < 0 || second > 59) {
            return null;
        }
        int nanos = 0;
        if (n > 20) {
            if (s.charAt(19) != '.') {
                return null;
            }
            int fraction = digits(s, 20, n - 21);
            if (fraction < 0) {
                return null;
            }
            nanos = fraction;
            for (int i = n - 21; i < 9; i++) {
                nanos *= 10;
            }
        }
        if (day > java.time.YearMonth.of(year, month).lengthOfMonth()) {
            return null;
        }
        long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
        return Instant.ofEpochSecond(epochDay * 86_400L + hour * 3_600L + minute * 60L + second, nanos);
    }

    /** @return the decimal value of {@code count} ASCII digits at {@code from}, or -1 if any is not one */
    private static int digits(String s, int from, int count) {
        int v = 0;
        for (int i = from; i < from + count; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /**
     * A required object field.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the object
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static StrictJson.Obj object(StrictJson.Obj node, String field) {
        Object v = node.get(field);
        if (!(v instanceof StrictJson.Obj o)) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not an object"), null);
        }
        return o;
    }

    /**
     * A required array field.
     *
     * @param node  the object holding the field
     * @param field the field's name
     * @return the array's elements
     * @throws MalformedEnvelopeException {@code MALFORMED_STATEMENT} if missing or mistyped
     */
    public static List<Object> array(StrictJson.Obj node, String field) {
        Object v = node.get(field);
        if (!(v instanceof StrictJson.Arr a)) {
            throw malformed("field '" + field + "' is " + (v == null ? "missing" : "not an array"), null);
        }
        return a.items();
    }

    /**
     * Runs a record constructor, turning its IllegalArgumentException into MALFORMED_STATEMENT.
     *
     * @param ctor the constructor call
     * @param <T>  the record type
     * @return the record
     */
    public static <T> T build(java.util.function.Supplier<T> ctor) {
        try {
            return ctor.get();
        } catch (IllegalArgumentException | InvalidArgumentException | NullPointerException e) {
            throw malformed(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
    }
}
