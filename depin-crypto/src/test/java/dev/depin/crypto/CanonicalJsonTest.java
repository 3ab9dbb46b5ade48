package dev.depin.crypto;

import com.fasterxml.jackson.databind.DeserializationFeature;
import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CanonicalJsonTest {
    @Test
    void write_tree_sameBytesAsASortedCopyWrittenByTheWriter() throws IOException {
        long seed = 20261206L;
        System.out.println("CanonicalJsonTest.write_tree seed " + seed);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (int i = 0; i < 2000; i++) {
            com.fasterxml.jackson.databind.JsonNode tree = randomNode(rnd, 0);
            byte[] expected = CanonicalJson.writer().writeValueAsBytes(sortedCopy(tree));
            assertArrayEquals(expected, CanonicalJson.write(tree), new String(expected, StandardCharsets.UTF_8));
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode randomNode(java.util.SplittableRandom rnd, int depth) {
        com.fasterxml.jackson.databind.node.JsonNodeFactory f =
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;
        int kind = depth >= 4 ? 2 + rnd.nextInt(9) : rnd.nextInt(11);
        switch (kind) {
            case 0: {
                com.fasterxml.jackson.databind.node.ObjectNode o = CanonicalJson.object();
                int n = rnd.nextInt(6);
                for (int k = 0; k < n; k++) {
                    o.set(randomText(rnd), randomNode(rnd, depth + 1));
                }
                return o;
            }
            case 1: {
                com.fasterxml.jackson.databind.node.ArrayNode a = CanonicalJson.array();
                int n = rnd.nextInt(5);
                for (int k = 0; k < n; k++) {
                    a.add(randomNode(rnd, depth + 1));
                }
                return a;
            }
            case 2: return f.textNode(randomText(rnd));
            case 3: return f.numberNode(rnd.nextInt());
            case 4: return f.numberNode(rnd.nextLong());
            case 5: return f.booleanNode(rnd.nextBoolean());
            case 6: return f.nullNode();
            case 7: return f.numberNode(rnd.nextDouble(-1e9, 1e9));
            case 8: return f.numberNode(new java.math.BigInteger(80, new java.util.Random(rnd.nextLong())));
            case 9: return f.numberNode(new java.math.BigDecimal(rnd.nextDouble()));
            default: return f.numberNode((short) rnd.nextInt(-32768, 32768));
        }
    }

    private static String randomText(java.util.SplittableRandom rnd) {
        String alphabet = "abcAB_z\"\\/\u00e9\u20ac\uD83D\uDE00\n\t\u0001 ";
        StringBuilder sb = new StringBuilder();
        int n = rnd.nextInt(8);
        for (int k = 0; k < n; k++) {
            int at = rnd.nextInt(alphabet.length());
            char c = alphabet.charAt(at);
            if (Character.isHighSurrogate(c)) {
                sb.append(c).append(alphabet.charAt(at + 1));
            } else if (!Character.isLowSurrogate(c)) {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static com.fasterxml.jackson.databind.JsonNode sortedCopy(com.fasterxml.jackson.databind.JsonNode node) {
        if (node.isObject()) {
            List<String> names = new java.util.ArrayList<>();
            node.fieldNames().forEachRemaining(names::add);
            java.util.Collections.sort(names);
            com.fasterxml.jackson.databind.node.ObjectNode out = CanonicalJson.object();
            for (String name : names) {
                out.set(name, sortedCopy(node.get(name)));
            }
            return out;
        }
        if (node.isArray()) {
            com.fasterxml.jackson.databind.node.ArrayNode out = CanonicalJson.array();
            node.elements().forEachRemaining(e -> out.add(sortedCopy(e)));
            return out;
        }
        return node;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void write_mapsAndTrees_keysSortedRecursivelyCompact() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("z", 1);
        inner.put("a", List.of(Map.of("y", 2L, "b", "s")));
        Map<String, Object> outer = new LinkedHashMap<>();
        outer.put("k", inner);
        outer.put("c", true);
        String expected = "{\"c\":true,\"k\":{\"a\":[{\"b\":\"s\",\"y\":2}],\"z\":1}}";
        assertEquals(expected, new String(CanonicalJson.write(outer), StandardCharsets.UTF_8));
        assertEquals(expected, new String(CanonicalJson.write(CanonicalJson.readTree(utf8(
                "{\"k\":{\"z\":1,\"a\":[{\"y\":2,\"b\":\"s\"}]},\"c\":true}"))), StandardCharsets.UTF_8));
    }

    @Test
    void readTree_hostileOrMalformed_rejectedWithOurException() {
        String deep = "[".repeat(CanonicalJson.MAX_NESTING_DEPTH + 1) + "]".repeat(CanonicalJson.MAX_NESTING_DEPTH + 1);
        String longNumber = "1".repeat(CanonicalJson.MAX_NUMBER_LENGTH + 1);
        for (String bad : new String[] {"", "   ", "{\"a\":1,\"a\":2}", "{\"a\":1} {}", "[NaN]", "{'a':1}",
                "{\"a\":1,}", "[1] x", deep, longNumber}) {
            MalformedJsonException e = assertThrows(MalformedJsonException.class, () -> CanonicalJson.readTree(utf8(bad)),
                    bad.length() > 40 ? bad.substring(0, 40) : bad);
            assertTrue(e.getMessage().startsWith("JSON "), e.getMessage());
            assertTrue(e instanceof InvalidArgumentException);
        }
        String okDepth = "[".repeat(CanonicalJson.MAX_NESTING_DEPTH) + "]".repeat(CanonicalJson.MAX_NESTING_DEPTH);
        CanonicalJson.readTree(utf8(okDepth));
        assertThrows(InvalidArgumentException.class, () -> CanonicalJson.readTree(null));
    }

    @Test
    void reader_isImmutable_loosenedCopyDoesNotLeak() throws IOException {
        byte[] trailing = utf8("{} {}");
        CanonicalJson.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(trailing);
        assertThrows(IOException.class, () -> CanonicalJson.reader().readTree(trailing));
        assertThrows(IOException.class, () -> CanonicalJson.reader().readTree(utf8("{\"a\":1,\"a\":2}")));
        CanonicalJson.writer().withDefaultPrettyPrinter();
        assertEquals("{\"a\":1}", CanonicalJson.writer().writeValueAsString(Map.of("a", 1)));
    }

    @Test
    void write_unwritableValue_invalidArgument() {
        assertThrows(InvalidArgumentException.class, () -> CanonicalJson.write(new Object()));
        assertThrows(InvalidArgumentException.class, () -> CanonicalJson.write(null));
    }

    @Test
    void sha256_knownVectorsAndBuffers() {
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Sha256.hex(new byte[0]));
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Sha256.hex(utf8("abc")));
        byte[] data = utf8("xxabcxx");
        ByteBuffer heap = ByteBuffer.wrap(data, 2, 3);
        ByteBuffer direct = ByteBuffer.allocateDirect(7).put(data).position(2).limit(5);
        assertArrayEquals(Sha256.digest(utf8("abc")), Sha256.digest(heap));
        assertArrayEquals(Sha256.digest(utf8("abc")), Sha256.digest(direct));
        assertArrayEquals(Sha256.digest(utf8("abc")), Sha256.digest(heap.slice().asReadOnlyBuffer()));
        assertEquals(2, heap.position());
        assertEquals(2, direct.position());
        assertThrows(InvalidArgumentException.class, () -> Sha256.digest((byte[]) null));
    }
}
