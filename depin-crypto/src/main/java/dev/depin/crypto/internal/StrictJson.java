package dev.depin.crypto.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.depin.crypto.CanonicalJson;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Signed statements read straight from {@link CanonicalJson#reader()}'s token stream into compact
 * values, without Jackson's tree (its deserialization context, node factory and hash maps were a
 * tenth of a small job's samples on the buyer). The parser, and so every limit, is the same:
 * duplicate keys, nesting depth, string, name and number lengths are refused by the parser, and
 * every string and number is read (as the tree does) so that each length limit is applied to the
 * whole document, known field or not. A document is read to its end before any field is looked at,
 * so a statement's checks run in the order they always did, whatever order its fields come in.
 *
 * <p>Values: an {@link Obj} (fields in document order), an {@link Arr}, a {@link String}, a
 * {@link Long} (an integer that fits one), a {@link BigInteger} (one that does not), a
 * {@link Double} (a number with a fraction or an exponent), a {@link Boolean}, or {@link #NULL}.
 * These are exactly the distinctions {@code JsonNode} made for the statements' readers
 * ({@code isTextual}, {@code isIntegralNumber} with {@code canConvertToLong}, {@code isNumber} with
 * {@code asDouble}, {@code isNull}, {@code isObject}, {@code isArray}).
 *
 * <p>It replaces the tree for statements; it is not a second reader beside it (docs/decisions.md,
 * "One parser for signed statements"). It refuses what the tree refused, with the same parser's
 * messages, and the two messages the tree's reader wrote itself (an empty document, a trailing
 * token) in its words: {@code StrictJsonDifferentialTest} holds the tree reader of main as its
 * oracle and compares both on generated valid and mutated statements.
 */
public final class StrictJson {
    /** JSON {@code null}. */
    public static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    private StrictJson() {
    }

    /** A JSON object: its fields in document order (no duplicates: the parser refuses them). */
    public static final class Obj {
        private String[] names = new String[8];
        private Object[] values = new Object[8];
        private int size;

        Obj() {
        }

        void add(String name, Object value) {
            if (size == names.length) {
                names = Arrays.copyOf(names, size * 2);
                values = Arrays.copyOf(values, size * 2);
            }
            names[size] = name;
            values[size++] = value;
        }

        /**
         * A field's value.
         *
         * @param name the field's name
         * @return its value, {@link #NULL} for JSON null, or {@code null} when absent
         */
        public Object get(String name) {
            for (int i = 0; i < size; i++) {
                if (names[i].equals(name)) {
                    return values[i];
                }
            }
            return null;
        }

        /** @return the number of fields */
        public int size() {
            return size;
        }

        /**
         * A field's name.
         *
         * @param i the field's position in the document, 0-based
         * @return its name
         */
        public String name(int i) {
            return names[i];
        }

        /**
         * A field's value.
         *
         * @param i the field's position in the document, 0-based
         * @return its value
         */
        public Object value(int i) {
            return values[i];
        }
    }

    /** A JSON array. */
    public static final class Arr {
        private final List<Object> items = new ArrayList<>();

        Arr() {
        }

        /** @return the elements, in order (read-only by convention: a parse result, not shared) */
        public List<Object> items() {
            return items;
        }
    }

    /**
     * Reads one document.
     *
     * @param json UTF-8 JSON
     * @return the root value
     * @throws IOException on malformed JSON, duplicate keys, a limit exceeded, trailing data or
     *                     an empty document
     */
    public static Object read(byte[] json) throws IOException {
        try (JsonParser p = CanonicalJson.reader().createParser(json)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IOException("empty JSON document");
            }
            Object root = value(p, t);
            p.clearCurrentToken(); // as the tree reader did: its end-of-input message names no token
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                // The words the tree reader used (FAIL_ON_TRAILING_TOKENS), so a refusal reads as before.
                throw MismatchedInputException.from(p, JsonNode.class, "Trailing token (of type " + trailing
                        + ") found after value (bound as `" + JsonNode.class.getName() + "`): not allowed as per "
                        + "`DeserializationFeature.FAIL_ON_TRAILING_TOKENS`");
            }
            return root;
        }
    }

    /** Iterative (the depth limit is the parser's; no recursion on hostile nesting). */
    private static Object value(JsonParser p, JsonToken first) throws IOException {
        if (first != JsonToken.START_OBJECT && first != JsonToken.START_ARRAY) {
            return scalar(p, first);
        }
        List<Object> stack = new ArrayList<>();
        Object root = first == JsonToken.START_OBJECT ? new Obj() : new Arr();
        stack.add(root);
        while (!stack.isEmpty()) {
            Object top = stack.get(stack.size() - 1);
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IOException("unexpected end of input");
            }
            if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                stack.remove(stack.size() - 1);
                continue;
            }
            String name = null;
            if (top instanceof Obj) {
                if (t != JsonToken.FIELD_NAME) {
                    throw new IOException("expected a field name, got " + t);
                }
                name = p.currentName();
                t = p.nextToken();
            }
            Object v;
            if (t == JsonToken.START_OBJECT) {
                v = new Obj();
                stack.add(v);
            } else if (t == JsonToken.START_ARRAY) {
                v = new Arr();
                stack.add(v);
            } else {
                v = scalar(p, t);
            }
            if (top instanceof Obj o) {
                o.add(name, v);
            } else {
                ((Arr) top).items.add(v);
            }
        }
        return root;
    }

    private static Object scalar(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT -> p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    ? p.getBigIntegerValue() : (Object) p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> NULL;
            default -> throw new IOException("unexpected token " + t);
        };
    }
}
