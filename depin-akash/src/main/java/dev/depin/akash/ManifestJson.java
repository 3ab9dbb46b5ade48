package dev.depin.akash;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The canonical JSON whose SHA-256 is an Akash deployment's version, written by the rules of
 * Akash's SDK ({@code manifestToSortedJSON} in {@code @akashnetwork/chain-sdk}): object keys in
 * UTF-16 code-unit order, strings escaped as JavaScript's {@code JSON.stringify} escapes them,
 * then the keys {@code quantity} and {@code sequenceNumber} renamed to the Go field names
 * {@code size} and {@code sequence_number}, and {@code <}, {@code >}, {@code &} written as
 * {@code \u003c}, {@code \u003e}, {@code \u0026} (as Go's encoder does).
 */
final class ManifestJson {
    private static final Pattern RENAMED = Pattern.compile("\"(quantity|sequenceNumber)\":");
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private ManifestJson() {
    }

    /**
     * @param value a tree of maps (any order: written sorted), lists, strings, longs, booleans and nulls
     * @return the canonical JSON
     */
    static String canonical(Object value) {
        StringBuilder out = new StringBuilder(4096);
        write(out, value);
        String renamed = RENAMED.matcher(out).replaceAll(m -> m.group(1).equals("quantity") ? "\"size\":"
                : "\"sequence_number\":");
        StringBuilder escaped = new StringBuilder(renamed.length() + 32);
        for (int i = 0; i < renamed.length(); i++) {
            char c = renamed.charAt(i);
            switch (c) {
                case '<' -> escaped.append("\\u003c");
                case '>' -> escaped.append("\\u003e");
                case '&' -> escaped.append("\\u0026");
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }

    private static void write(StringBuilder out, Object v) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof String s) {
            string(out, s);
        } else if (v instanceof Long || v instanceof Integer) {
            out.append(((Number) v).longValue());
        } else if (v instanceof Boolean b) {
            out.append(b.booleanValue());
        } else if (v instanceof Map<?, ?> m) {
            Map<String, Object> sorted = new TreeMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sorted.put((String) e.getKey(), e.getValue());
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : sorted.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                string(out, e.getKey());
                out.append(':');
                write(out, e.getValue());
            }
            out.append('}');
        } else if (v instanceof List<?> l) {
            out.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                write(out, l.get(i));
            }
            out.append(']');
        } else {
            throw new IllegalArgumentException("no canonical JSON for " + v.getClass());
        }
    }

    /** As {@code JSON.stringify} writes a string (ES2019 well-formed: lone surrogates escaped). */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    boolean lone = Character.isHighSurrogate(c)
                            ? i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))
                            : Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
                    if (c < 0x20 || lone) {
                        out.append("\\u").append(HEX[c >> 12 & 15]).append(HEX[c >> 8 & 15]).append(HEX[c >> 4 & 15])
                                .append(HEX[c & 15]);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
