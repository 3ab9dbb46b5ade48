package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Signed statements are a security boundary: the streaming reader ({@code StrictJson}, behind
 * {@link StatementReader}) must accept exactly the statements the tree reader it replaced
 * ({@link TreeStatementOracle}, main's code kept verbatim) accepted, read them into equal values,
 * and refuse exactly the others with the same exception, reason, message and kind of cause.
 * Valid receipt and wipe statements are generated (every optional field, odd strings, extreme
 * numbers), then mutated at the tree level (fields removed, added, re-typed, reordered, duplicated
 * by hand in the text) and at the byte level (truncations, insertions, trailing data, deep
 * nesting, long numbers, comments, non-numeric numbers, bad UTF-8), and both readers judge each.
 */
class StrictJsonDifferentialTest {
    /** Fixed seed; printed so that a failure can be replayed. */
    private static final long SEED = 0x5EED_1207_0215L;
    private static final int STATEMENTS = 1_500;
    private static final int MUTATIONS_EACH = 12;
    private static final String[] RECEIPT_FIELDS = {"assurance", "attempt", "device", "deviceTimeNanos", "endedAt",
        "energy", "executorKind", "inputs", "jobId", "kernelHash", "kernelId", "merkleChunkBytes", "nonce",
        "outputs", "specHash", "startedAt", "level", "numbers", "millijoules", "source", "name", "merkleRoot",
        "bytes", "model", "smCount", "driver", "cudaVersion", "_type", "predicateType", "predicate", "subject",
        "digest", "sha256", "buffers", "bytesOverwritten", "checkDigest", "label", "location", "method", "pattern",
        "teeEvidence"};

    @BeforeAll
    static void printSeed() {
        System.out.println("StrictJsonDifferentialTest seed=" + SEED);
    }

    @Test
    void receiptAndWipe_validAndMutated_sameOutcomeAsTheTreeReader() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        Map<String, Integer> kinds = new HashMap<>();
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < STATEMENTS; i++) {
            ExecutionReceipt r = StatementStreamingTest.receipt(rnd, i);
            WipeAttestation w = StatementStreamingTest.wipe(rnd, r);
            List<byte[]> cases = new ArrayList<>();
            cases.add(r.toPayload());
            cases.add(w.toPayload());
            for (int m = 0; m < MUTATIONS_EACH; m++) {
                cases.add(mutate(rnd, rnd.nextBoolean() ? r.toPayload() : w.toPayload(), kinds));
            }
            for (byte[] c : cases) {
                String newReceipt = outcome(() -> StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, c));
                String oldReceipt = outcome(() -> {
                    TreeStatementOracle.Parsed st = TreeStatementOracle.parseReceipt(c);
                    return new StatementReader.Receipt(st.subjects(), TreeStatementOracle.fromPredicate(st.predicate()));
                });
                String text = new String(c, StandardCharsets.UTF_8);
                assertEquals(oldReceipt, newReceipt, () -> "seed " + SEED + ", receipt reader, input: " + text);
                String newWipe = outcome(() -> StatementReader.wipe(Dsse.IN_TOTO_PAYLOAD_TYPE, c));
                String oldWipe = outcome(() -> TreeStatementOracle.fromStatement(TreeStatementOracle.parse(
                        Dsse.IN_TOTO_PAYLOAD_TYPE, c, WipeAttestation.PREDICATE_TYPE)));
                assertEquals(oldWipe, newWipe, () -> "seed " + SEED + ", wipe reader, input: " + text);
                if (newReceipt.startsWith("ok ") || newWipe.startsWith("ok ")) {
                    accepted++;
                } else {
                    refused++;
                }
            }
        }
        System.out.println("StrictJsonDifferentialTest: " + accepted + " accepted, " + refused
                + " refused by both readers alike; mutations " + kinds);
        // The generator must exercise both sides and every kind of mutation.
        assertTrue(accepted > STATEMENTS * 2, "accepted " + accepted);
        assertTrue(refused > STATEMENTS * 4, "refused " + refused);
        assertEquals(16, kinds.size(), kinds::toString);
    }

    @Test
    void read_refusedDocuments_sameMessageAsTheTree() {
        String[] bad = {"", " ", "{}x", "{} {}", "{\"a\":1,\"a\":2}", "[1,]", "{\"a\":NaN}", "{\"a\":01}",
            "{\"a\":1e}", "/*c*/{}", "{'a':1}", "{\"a\":\"\u0001\"}", "{\"a\":" + "9".repeat(65) + "}",
            "[".repeat(65) + "]".repeat(65), "{\"a\":tru}", "\"\\uZZZZ\"", "{\"a\":1}]", "nul"};
        for (String s : bad) {
            byte[] c = s.getBytes(StandardCharsets.UTF_8);
            String newOutcome = outcome(() -> StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, c));
            String oldOutcome = outcome(() -> TreeStatementOracle.parseReceipt(c));
            assertEquals(oldOutcome, newOutcome, s);
            assertTrue(newOutcome.contains("MALFORMED_STATEMENT"), newOutcome);
        }
        // Nesting at the limit is read; numbers at their length limit too.
        byte[] deep = ("[".repeat(64) + "]".repeat(64)).getBytes(StandardCharsets.UTF_8);
        assertEquals(outcome(() -> TreeStatementOracle.parseReceipt(deep)),
                outcome(() -> StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, deep)));
        assertTrue(outcome(() -> StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, deep))
                .contains("the payload is not a JSON object"));
    }

    /** What a reader did: its value, or the exception's class, reason, message and cause's class. */
    private static String outcome(Supplier<Object> reader) {
        try {
            Object v = reader.get();
            if (v instanceof WipeAttestation w) {
                return "ok " + w.receiptDigest() + " " + new String(w.toPayload(), StandardCharsets.UTF_8);
            }
            if (v instanceof StatementReader.Receipt r) {
                return "ok " + r.subjects() + " " + r.receipt() + " "
                        + new String(r.receipt().toPayload(), StandardCharsets.UTF_8);
            }
            return "ok " + v;
        } catch (RuntimeException e) {
            return e.getClass().getName() + (e instanceof VerificationException v ? " " + v.reason() : "") + ": "
                    + e.getMessage() + " (cause " + (e.getCause() == null ? null : e.getCause().getClass().getName()) + ")";
        }
    }

    private static byte[] mutate(SplittableRandom rnd, byte[] valid, Map<String, Integer> kinds) {
        int kind = rnd.nextInt(16);
        kinds.merge("kind" + kind, 1, Integer::sum);
        String s = new String(valid, StandardCharsets.UTF_8);
        switch (kind) {
            case 0, 1, 2, 3, 4, 5 -> {
                JsonNode tree = dev.depin.crypto.CanonicalJson.readTree(valid);
                List<JsonNode> containers = new ArrayList<>();
                collect(tree, containers);
                JsonNode at = containers.get(rnd.nextInt(containers.size()));
                treeMutation(rnd, kind, at);
                return CanonicalJsonWriteUnsorted.write(tree);
            }
            case 6 -> { // a duplicate key after some opening brace
                List<Integer> braces = positions(s, '{');
                int p = braces.get(rnd.nextInt(braces.size())) + 1;
                String key = RECEIPT_FIELDS[rnd.nextInt(RECEIPT_FIELDS.length)];
                return bytes(s.substring(0, p) + "\"" + key + "\":" + randomScalarText(rnd) + "," + s.substring(p));
            }
            case 7 -> {
                return bytes(s.substring(0, rnd.nextInt(s.length())));
            }
            case 8 -> {
                String[] tails = {" ", "\n", " {}", "x", "]", "}", "0", "null", "\"\"", "/*c*/", "\u0000"};
                return bytes(s + tails[rnd.nextInt(tails.length)]);
            }
            case 9 -> { // one odd character inserted
                String chars = "{}[]:,\"\\ 0123456789aeE.+-tnfu";
                int p = rnd.nextInt(s.length() + 1);
                return bytes(s.substring(0, p) + chars.charAt(rnd.nextInt(chars.length())) + s.substring(p));
            }
            case 10 -> { // one character deleted
                int p = rnd.nextInt(s.length());
                return bytes(s.substring(0, p) + s.substring(p + 1));
            }
            case 11 -> { // a value replaced by deep nesting around the depth limit
                int depth = 60 + rnd.nextInt(8);
                return replaceSomeValue(rnd, s, "[".repeat(depth) + "1" + "]".repeat(depth));
            }
            case 12 -> { // a number at and past the length limits
                int digits = 62 + rnd.nextInt(5);
                String n = rnd.nextBoolean() ? "9".repeat(digits) : "1." + "5".repeat(digits - 2);
                return replaceSomeValue(rnd, s, rnd.nextBoolean() ? "-" + n : n);
            }
            case 13 -> { // non-standard JSON
                String[] odd = {"NaN", "Infinity", "'x'", "/*c*/1", "01", "+1", ".5", "1.", "0x10", "tru", "nul"};
                return replaceSomeValue(rnd, s, odd[rnd.nextInt(odd.length)]);
            }
            case 14 -> { // bytes that are not UTF-8, or control characters in a string
                byte[] b = valid.clone();
                int p = rnd.nextInt(b.length);
                b[p] = (byte) (rnd.nextBoolean() ? 0xC3 + rnd.nextInt(0x3C) : rnd.nextInt(0x20));
                return b;
            }
            default -> { // a valid statement under another _type or predicateType, or a top level non-object
                String[] alt = {s.replace("Statement/v1", "Statement/v0"), s.replace("execution/v1", "wipe/v1"),
                    s.replace("wipe/v1", "execution/v1"), "[" + s + "]", "\"" + "x" + "\"", "42", "null"};
                return bytes(alt[rnd.nextInt(alt.length)]);
            }
        }
    }

    /** Tree mutations of a random object or array (kinds 0–5). */
    private static void treeMutation(SplittableRandom rnd, int kind, JsonNode at) {
        if (at instanceof ObjectNode o) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            String name = names.isEmpty() ? "x" : names.get(rnd.nextInt(names.size()));
            switch (kind) {
                case 0 -> o.remove(name);
                case 1, 2 -> o.set(name, randomValue(rnd));
                case 3 -> o.set(RECEIPT_FIELDS[rnd.nextInt(RECEIPT_FIELDS.length)] + (rnd.nextBoolean() ? "" : "X"),
                        randomValue(rnd));
                case 4 -> { // reorder the fields
                    Map<String, JsonNode> fields = new java.util.LinkedHashMap<>();
                    for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                        Map.Entry<String, JsonNode> e = it.next();
                        fields.put(e.getKey(), e.getValue());
                    }
                    List<String> order = new ArrayList<>(fields.keySet());
                    Collections.shuffle(order, new java.util.Random(rnd.nextLong()));
                    o.removeAll();
                    order.forEach(k -> o.set(k, fields.get(k)));
                }
                default -> { // two changes
                    o.set(name, randomValue(rnd));
                    o.remove(names.isEmpty() ? "y" : names.get(rnd.nextInt(names.size())));
                }
            }
        } else if (at instanceof ArrayNode a) {
            switch (kind) {
                case 0 -> {
                    if (!a.isEmpty()) {
                        a.remove(rnd.nextInt(a.size()));
                    }
                }
                case 3, 4 -> a.add(randomValue(rnd));
                default -> {
                    if (!a.isEmpty()) {
                        a.set(rnd.nextInt(a.size()), randomValue(rnd));
                    } else {
                        a.add(randomValue(rnd));
                    }
                }
            }
        }
    }

    private static JsonNode randomValue(SplittableRandom rnd) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (rnd.nextInt(22)) {
            case 0 -> f.textNode("x");
            case 1 -> f.textNode("2026-12-06T05:30:00Z");
            case 2 -> f.textNode("2026-02-30T05:30:00Z");
            case 3 -> f.textNode("ab");
            case 4 -> f.textNode("Z!");
            case 5 -> f.numberNode(rnd.nextInt());
            case 6 -> f.numberNode(rnd.nextLong());
            case 7 -> f.numberNode(new BigInteger("123456789012345678901234567890"));
            case 8 -> f.numberNode((long) Integer.MAX_VALUE + 1);
            case 9 -> f.numberNode(1.0);
            case 10 -> f.numberNode(1.5e3);
            case 11 -> f.numberNode(-0.0);
            case 12 -> f.booleanNode(rnd.nextBoolean());
            case 13 -> f.nullNode();
            case 14 -> f.objectNode();
            case 15 -> f.arrayNode();
            case 16 -> f.objectNode().put("millijoules", 5).put("source", "measured");
            case 17 -> f.arrayNode().add("a").add(1);
            case 18 -> f.textNode("SIGNATURE");
            case 19 -> f.objectNode().put("level", "NONE").set("numbers", f.objectNode().put("k", 1));
            case 20 -> f.numberNode(-1);
            default -> f.textNode(Hex.encode(new byte[32]));
        };
    }

    private static String randomScalarText(SplittableRandom rnd) {
        String[] v = {"1", "\"x\"", "null", "true", "{}", "[]", "1.5", "\"2026-12-06T05:30:00Z\""};
        return v[rnd.nextInt(v.length)];
    }

    /** Replaces the value after some {@code ":"} with {@code value}, up to the next {@code ,} or {@code }}. */
    private static byte[] replaceSomeValue(SplittableRandom rnd, String s, String value) {
        List<Integer> colons = positions(s, ':');
        int p = colons.get(rnd.nextInt(colons.size())) + 1;
        int end = p;
        while (end < s.length() && s.charAt(end) != ',' && s.charAt(end) != '}') {
            end++;
        }
        return bytes(s.substring(0, p) + value + s.substring(end));
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            n.elements().forEachRemaining(c -> collect(c, out));
        }
    }

    private static List<Integer> positions(String s, char c) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                out.add(i);
            }
        }
        return out;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Writes a tree in its own field order (not sorted), so that reordered fields reach the readers. */
    private static final class CanonicalJsonWriteUnsorted {
        private static byte[] write(JsonNode tree) {
            try {
                return dev.depin.crypto.CanonicalJson.writer().writeValueAsBytes(tree);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
