package dev.depin.crypto;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * depin's one JSON configuration, for everything that is signed, hashed or read from a
 * peer (specs, offers, statements, dispute records). Reading is strict and bounded:
 * duplicate keys, trailing tokens and non-standard JSON (NaN, comments, single quotes) are
 * rejected, and the parser refuses nesting deeper than {@value #MAX_NESTING_DEPTH}, strings
 * longer than {@value #MAX_STRING_LENGTH} characters and numbers longer than
 * {@value #MAX_NUMBER_LENGTH} digits, so hostile input costs bounded memory and time.
 * Writing is compact with object keys in code-point order, so the bytes a signer produces
 * are deterministic.
 *
 * <p>Only immutable Jackson objects are exposed ({@link ObjectReader}, {@link ObjectWriter}:
 * their {@code with...} methods return new instances); the {@link ObjectMapper} behind
 * them is private, so no caller can loosen the configuration for everyone.
 *
 * <pre>{@code
 * byte[] bytes = CanonicalJson.write(new TreeMap<>(Map.of("b", 1, "a", 2)));  // {"a":2,"b":1}
 * JsonNode n = CanonicalJson.readTree(bytes);           // MalformedJsonException on bad input
 * JsonNode m = CanonicalJson.reader().readTree(bytes);  // Jackson's IOException instead
 * }</pre>
 */
public final class CanonicalJson {
    /** Deepest nesting of arrays and objects the reader accepts. */
    public static final int MAX_NESTING_DEPTH = 64;
    /** Longest string value (in characters) the reader accepts: 64 Mi. */
    public static final int MAX_STRING_LENGTH = 64 << 20;
    /** Longest number literal (in characters) the reader accepts. */
    public static final int MAX_NUMBER_LENGTH = 64;

    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_NESTING_DEPTH)
                            .maxStringLength(MAX_STRING_LENGTH)
                            .maxNumberLength(MAX_NUMBER_LENGTH)
                            .build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(SerializationFeature.INDENT_OUTPUT)
            .build();
    private static final ObjectReader READER = MAPPER.reader();
    private static final ObjectWriter WRITER = MAPPER.writer();

    private CanonicalJson() {
    }

    /**
     * The strict, bounded reader. Immutable and thread-safe; it throws Jackson's
     * {@link IOException} subclasses on bad input (use {@link #readTree(byte[])} for
     * depin's exceptions).
     *
     * @return the shared reader
     */
    public static ObjectReader reader() {
        return READER;
    }

    /**
     * The compact writer that orders {@link java.util.Map} entries by key. Immutable and
     * thread-safe. It does not reorder the fields of a {@link JsonNode} tree: use
     * {@link #write(Object)} for trees whose insertion order is not already sorted.
     *
     * @return the shared writer
     */
    public static ObjectWriter writer() {
        return WRITER;
    }

    /**
     * Parses one JSON document into a tree.
     *
     * @param json UTF-8 JSON; not {@code null}
     * @return the tree (never {@code null} or missing)
     * @throws MalformedJsonException if it is empty, malformed, has duplicate keys or
     *                                trailing data, or exceeds a limit
     */
    public static JsonNode readTree(byte[] json) {
        InvalidArgumentException.requireNonNull(json, "json");
        JsonNode n;
        try {
            n = READER.readTree(json);
        } catch (IOException | RuntimeException e) {
            throw new MalformedJsonException("JSON is malformed (" + firstLine(e.getMessage())
                    + "): send one strict JSON document (no duplicate keys, no trailing data)", e);
        }
        if (n == null || n.isMissingNode()) {
            throw new MalformedJsonException("JSON document is empty: send one JSON value", null);
        }
        return n;
    }

    /**
     * Writes a value compactly with every object's keys in code-point order, recursively
     * (maps, beans and {@link JsonNode} trees alike).
     *
     * @param value a map, list, scalar or tree; not {@code null}
     * @return UTF-8 JSON bytes
     * @throws dev.depin.InvalidArgumentException if the value cannot be written as JSON
     */
    public static byte[] write(Object value) {
        InvalidArgumentException.requireNonNull(value, "value");
        try {
            JsonNode tree = value instanceof JsonNode n ? n : MAPPER.valueToTree(value);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(512);
            try (com.fasterxml.jackson.core.JsonGenerator g = WRITER.createGenerator(out)) {
                writeSorted(g, tree);
            }
            return out.toByteArray();
        } catch (IOException | IllegalArgumentException e) {
            throw new InvalidArgumentException("cannot write " + value.getClass().getName() + " as JSON ("
                    + firstLine(e.getMessage()) + "): pass maps, lists, strings, numbers or a JsonNode tree");
        }
    }

    /**
     * A new empty object node (for building a tree to {@link #write(Object)}).
     *
     * @return the node
     */
    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /**
     * A new empty array node.
     *
     * @return the node
     */
    public static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }

    /**
     * Writes {@code node} with every object's keys in code-point order, straight to the
     * generator (a signer's statements were sorted into a copied tree first, then written).
     * Leaves are written as the tree serializer writes them.
     */
    private static void writeSorted(com.fasterxml.jackson.core.JsonGenerator g, JsonNode node) throws IOException {
        if (node.isObject()) {
            List<String> names = new ArrayList<>(node.size());
            node.fieldNames().forEachRemaining(names::add);
            Collections.sort(names);
            g.writeStartObject();
            for (String name : names) {
                g.writeFieldName(name);
                writeSorted(g, node.get(name));
            }
            g.writeEndObject();
        } else if (node.isArray()) {
            g.writeStartArray();
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                writeSorted(g, it.next());
            }
            g.writeEndArray();
        } else if (node.isTextual()) {
            g.writeString(node.textValue());
        } else if (node.isInt() || node.isLong()) {
            g.writeNumber(node.longValue());
        } else if (node.isBoolean()) {
            g.writeBoolean(node.booleanValue());
        } else if (node.isNull()) {
            g.writeNull();
        } else {
            g.writeTree(node);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "no detail";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
