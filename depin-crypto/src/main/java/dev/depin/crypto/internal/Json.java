package dev.depin.crypto.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.CanonicalJson;

import java.io.IOException;
import java.util.Map;

/**
 * Tree helpers over {@link CanonicalJson}, the one strict and bounded configuration:
 * statements are written with their keys sorted (recursively) and no whitespace, so the
 * bytes a signer produces are deterministic. Verification always parses the exact signed
 * bytes.
 */
public final class Json {
    private Json() {
    }

    /**
     * A new empty object node.
     *
     * @return the node
     */
    public static ObjectNode object() {
        return CanonicalJson.object();
    }

    /**
     * A new empty array node.
     *
     * @return the node
     */
    public static ArrayNode array() {
        return CanonicalJson.array();
    }

    /**
     * Parses JSON bytes into a tree.
     *
     * @param json UTF-8 JSON
     * @return the tree, never missing
     * @throws IOException on malformed JSON, duplicate keys, trailing data or a limit exceeded
     */
    public static JsonNode parse(byte[] json) throws IOException {
        JsonNode n = CanonicalJson.reader().readTree(json);
        if (n == null || n.isMissingNode()) {
            throw new IOException("empty JSON document");
        }
        return n;
    }

    /**
     * Writes a tree with object keys sorted recursively, compact, UTF-8.
     *
     * @param node the tree
     * @return the bytes
     */
    public static byte[] canonicalBytes(JsonNode node) {
        return CanonicalJson.write(node);
    }

    /**
     * A string→string map as an object node.
     *
     * @param map the entries
     * @return the node
     */
    public static ObjectNode stringMap(Map<String, String> map) {
        ObjectNode o = object();
        map.forEach(o::put);
        return o;
    }
}
