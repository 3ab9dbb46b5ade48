package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.internal.Statements;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The streaming statement reader against the tree path it stands in for: on valid statements
 * (generated, every optional field, odd strings) it gives the same receipt, subjects and wipe
 * attestation; on thousands of mutated statements (a field removed, retyped, set to null, to a
 * huge or fractional number, to a bad instant; unknown fields; duplicate keys; reordered keys;
 * trailing bytes; truncation; a changed character) it either gives exactly what the tree path
 * gives, or leaves the statement to the tree path, so every refusal is the tree path's, with its
 * message.
 */
class StatementReaderTest {
    /** Fixed seed for the generated and mutated statements. Printed so a failure can be replayed. */
    private static final long SEED = 0x5EA1_0000_1207L;
    private static final String[] ODD = {"a", "A100", "\u00e9t\u00e9", "\u65e5\u672c", "q\"b\\s", "t\tn\nr\r",
        "\ud83d\ude80", "<>&'/"};
    private static final JsonNode[] ODD_VALUES = {JsonNodeFactory.instance.nullNode(),
        JsonNodeFactory.instance.textNode("x"), JsonNodeFactory.instance.textNode("2026-02-30T00:00:00Z"),
        JsonNodeFactory.instance.textNode("zz"), JsonNodeFactory.instance.textNode(""),
        JsonNodeFactory.instance.numberNode(7), JsonNodeFactory.instance.numberNode(-1),
        JsonNodeFactory.instance.numberNode(1.5), JsonNodeFactory.instance.numberNode(3_000_000_000L),
        JsonNodeFactory.instance.numberNode(new BigInteger("123456789012345678901234567890")),
        JsonNodeFactory.instance.booleanNode(true), JsonNodeFactory.instance.objectNode(),
        JsonNodeFactory.instance.arrayNode()};

    @BeforeAll
    static void printSeed() {
        System.out.println("StatementReaderTest seed=" + SEED);
    }

    @Test
    void receiptAndWipe_generated_sameAsTreePath() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 500; i++) {
            byte[] receipt = receipt(rnd, i).toPayload();
            StatementReader.Receipt fast = StatementReader.receiptOrNull(receipt);
            assertNotNull(fast, "a valid receipt is read by the streaming pass: " + utf8(receipt));
            assertEquals(referenceReceipt(receipt), List.of(fast.subjects(), fast.receipt()));
            byte[] wipe = wipe(rnd).toPayload();
            WipeAttestation w = StatementReader.wipeOrNull(wipe);
            assertNotNull(w, "a valid wipe attestation is read by the streaming pass: " + utf8(wipe));
            assertEquals(referenceWipe(wipe), w);
        }
    }

    @Test
    void receipt_mutated_streamingAcceptsOnlyWhatTheTreePathAccepts() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int accepted = 0;
        int deferred = 0;
        for (int i = 0; i < 4_000; i++) {
            byte[] mutated = mutate(rnd, receipt(rnd, i).toPayload());
            StatementReader.Receipt fast = StatementReader.receiptOrNull(mutated);
            Object reference = referenceReceipt(mutated);
            if (fast == null) {
                deferred++;
            } else {
                accepted++;
                assertEquals(reference, List.of(fast.subjects(), fast.receipt()), "mutated: " + utf8(mutated));
            }
            // Whichever pass reads it, the caller sees the tree path's outcome.
            assertEquals(reference, outcome(() -> {
                StatementReader.Receipt r = StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, mutated);
                return List.of(r.subjects(), r.receipt());
            }), "mutated: " + utf8(mutated));
        }
        assertTrue(accepted > 100 && deferred > 1_000, "both outcomes exercised: " + accepted + " accepted, "
                + deferred + " deferred");
    }

    @Test
    void wipe_mutated_streamingAcceptsOnlyWhatTheTreePathAccepts() {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        int accepted = 0;
        int deferred = 0;
        for (int i = 0; i < 4_000; i++) {
            byte[] mutated = mutate(rnd, wipe(rnd).toPayload());
            WipeAttestation fast = StatementReader.wipeOrNull(mutated);
            Object reference = referenceWipe(mutated);
            if (fast == null) {
                deferred++;
            } else {
                accepted++;
                assertEquals(reference, fast, "mutated: " + utf8(mutated));
            }
            assertEquals(reference, outcome(() -> StatementReader.wipe(Dsse.IN_TOTO_PAYLOAD_TYPE, mutated)),
                    "mutated: " + utf8(mutated));
        }
        assertTrue(accepted > 100 && deferred > 1_000, "both outcomes exercised: " + accepted + " accepted, "
                + deferred + " deferred");
    }

    @Test
    void receipt_duplicateKey_refusedWithTheTreePathsMessage() {
        String json = utf8(StatementWireTest.receipt().toPayload()).replace("\"predicate\":{",
                "\"predicate\":{\"jobId\":\"other\",");
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        assertNull(StatementReader.receiptOrNull(bytes));
        VerificationException e = assertThrows(VerificationException.class,
                () -> StatementReader.receipt(Dsse.IN_TOTO_PAYLOAD_TYPE, bytes));
        assertEquals(VerificationException.Reason.MALFORMED_STATEMENT, e.reason());
        assertTrue(e.getMessage().startsWith("MALFORMED_STATEMENT: malformed statement: the payload is not valid JSON (Duplicate field "
                + "'jobId'"), e.getMessage());
    }

    @Test
    void receipt_otherPayloadType_refusedAsBefore() {
        byte[] bytes = StatementWireTest.receipt().toPayload();
        VerificationException e = assertThrows(VerificationException.class,
                () -> StatementReader.receipt("application/json", bytes));
        assertEquals(VerificationException.Reason.WRONG_PAYLOAD_TYPE, e.reason());
    }

    // ---------------------------------------------------------------- the tree path

    private static Object referenceReceipt(byte[] payload) {
        return outcome(() -> {
            Statements.Parsed st = Statements.parse(Dsse.IN_TOTO_PAYLOAD_TYPE, payload, ExecutionReceipt.PREDICATE_TYPE);
            return List.of(st.subjects(), ReceiptJson.fromPredicate(st.predicate()));
        });
    }

    private static Object referenceWipe(byte[] payload) {
        return outcome(() -> WipeJson.fromStatement(Statements.parse(Dsse.IN_TOTO_PAYLOAD_TYPE, payload,
                WipeAttestation.PREDICATE_TYPE)));
    }

    /** The value, or the exception's class and message. */
    private static Object outcome(java.util.function.Supplier<Object> read) {
        try {
            return read.get();
        } catch (RuntimeException e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    // ---------------------------------------------------------------- statements

    private static ExecutionReceipt receipt(SplittableRandom rnd, int i) {
        Instant t0 = Instant.ofEpochSecond(rnd.nextLong(0, 4_102_444_800L), rnd.nextInt(1_000_000_000)
                / (rnd.nextBoolean() ? 1 : 1_000_000));
        ExecutionReceipt.Builder b = ExecutionReceipt.builder().jobId(odd(rnd) + i).attempt(1 + rnd.nextInt(1000))
                .specHash(hex(rnd)).kernelId(odd(rnd)).kernelHash(hex(rnd)).nonce(hex(rnd))
                .merkleChunkBytes(1 << rnd.nextInt(31)).executorKind(odd(rnd)).startedAt(t0)
                .endedAt(t0.plusNanos(rnd.nextLong(0, 1L << 40))).deviceTimeNanos(rnd.nextLong(0, Long.MAX_VALUE));
        for (int k = rnd.nextInt(3); k > 0; k--) {
            b.input(new BufferDigest("in" + k + odd(rnd), hex(rnd), rnd.nextLong(0, Long.MAX_VALUE)));
        }
        for (int k = 1 + rnd.nextInt(2); k > 0; k--) {
            b.output(new BufferDigest("out" + k + odd(rnd), hex(rnd), rnd.nextLong(0, Long.MAX_VALUE)));
        }
        b.device(rnd.nextInt(3) == 0 ? null : new ReceiptDevice(rnd.nextBoolean() ? null : odd(rnd),
                rnd.nextBoolean() ? null : rnd.nextInt(0, 10_000), rnd.nextBoolean() ? null : odd(rnd), null));
        b.assurance(switch (rnd.nextInt(4)) {
            case 0 -> Assurance.none();
            case 1 -> Assurance.signature();
            case 2 -> Assurance.freivalds(1 + rnd.nextInt(64), rnd.nextDouble() * 1e-3, Math.pow(2, -rnd.nextInt(64)));
            default -> Assurance.redundant(2 + rnd.nextInt(4), 1 + rnd.nextInt(2));
        });
        if (rnd.nextBoolean()) {
            b.energy(new ReceiptEnergy(rnd.nextLong(0, 1_000_000), rnd.nextBoolean() ? ReceiptEnergy.Source.MEASURED
                    : ReceiptEnergy.Source.ESTIMATED));
        }
        return b.build();
    }

    private static WipeAttestation wipe(SplittableRandom rnd) {
        Instant t0 = Instant.ofEpochSecond(rnd.nextLong(0, 4_102_444_800L), rnd.nextInt(1_000_000_000));
        WipeAttestation.Builder b = WipeAttestation.builder().receiptDigest(hex(rnd)).startedAt(t0)
                .endedAt(t0.plusMillis(rnd.nextInt(10_000)));
        for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
            b.buffer(rnd.nextBoolean() ? HostWipe.wipe("buf" + k + odd(rnd), new byte[rnd.nextInt(64)],
                    (byte) rnd.nextInt(256))
                    : new WipeRecord(WipeRecord.DEVICE, "dev" + k, 4096, 4096, 0, WipeRecord.DEVICE_READBACK_REDUCTION,
                    hex(rnd)));
        }
        if (rnd.nextBoolean()) {
            b.device(new ReceiptDevice(odd(rnd), rnd.nextBoolean() ? null : 132, null, "13.0"));
        }
        if (rnd.nextBoolean()) {
            byte[] tee = new byte[rnd.nextInt(1, 40)];
            rnd.nextBytes(tee);
            b.teeEvidence(tee);
        }
        return b.build();
    }

    /** One mutation, on the tree (most) or on the text. */
    private static byte[] mutate(SplittableRandom rnd, byte[] payload) {
        String text = utf8(payload);
        switch (rnd.nextInt(10)) {
            case 0 -> {
                return (text + (rnd.nextBoolean() ? " {}" : "x")).getBytes(StandardCharsets.UTF_8);
            }
            case 1 -> {
                return text.substring(0, rnd.nextInt(text.length())).getBytes(StandardCharsets.UTF_8);
            }
            case 2 -> {
                char[] c = text.toCharArray();
                c[rnd.nextInt(c.length)] = "{}[]\":,0a-.eZ \\".charAt(rnd.nextInt(15));
                return new String(c).getBytes(StandardCharsets.UTF_8);
            }
            default -> {
                ObjectNode root = (ObjectNode) CanonicalJson.readTree(payload);
                List<ObjectNode> objects = new ArrayList<>();
                collect(root, objects);
                ObjectNode o = objects.get(rnd.nextInt(objects.size()));
                List<String> names = new ArrayList<>();
                o.fieldNames().forEachRemaining(names::add);
                int what = rnd.nextInt(6);
                String duplicate = null;
                if (what == 0 || names.isEmpty()) {
                    o.set("unknown" + rnd.nextInt(3), ODD_VALUES[rnd.nextInt(ODD_VALUES.length)]);
                } else if (what == 5) {
                    // the same key twice in this object, the second with a copy of its value or another
                    duplicate = names.get(rnd.nextInt(names.size()));
                    o.set("zzduplicatezz", rnd.nextBoolean() ? o.get(duplicate).deepCopy()
                            : ODD_VALUES[rnd.nextInt(ODD_VALUES.length)]);
                } else {
                    String name = names.get(rnd.nextInt(names.size()));
                    if (what == 1) {
                        o.remove(name);
                    } else {
                        o.set(name, ODD_VALUES[rnd.nextInt(ODD_VALUES.length)]);
                    }
                }
                if (rnd.nextInt(4) == 0) {
                    reorder(root, rnd); // any order is accepted by both
                }
                String out = root.toString();
                if (duplicate != null) {
                    out = out.replace("\"zzduplicatezz\"", "\"" + duplicate + "\"");
                }
                if (rnd.nextInt(8) == 0) {
                    out = out.replaceFirst("\\{", "{\"_type\":\"dup\",");
                }
                return out.getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    private static void collect(JsonNode n, List<ObjectNode> out) {
        if (n instanceof ObjectNode o) {
            out.add(o);
        }
        for (JsonNode c : n) {
            collect(c, out);
        }
    }

    /** Reverses the root's key order (keeps every value). */
    private static void reorder(ObjectNode root, SplittableRandom rnd) {
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            entries.add(it.next());
        }
        root.removeAll();
        for (int k = entries.size() - 1; k >= 0; k--) {
            root.set(entries.get(k).getKey(), entries.get(k).getValue());
        }
        if (rnd.nextBoolean() && root.get("subject") instanceof ArrayNode a && !a.isEmpty()) {
            a.add(a.get(0).deepCopy());
        }
    }

    private static String odd(SplittableRandom rnd) {
        return ODD[rnd.nextInt(ODD.length)];
    }

    private static String hex(SplittableRandom rnd) {
        byte[] b = new byte[32];
        rnd.nextBytes(b);
        return Hex.encode(b);
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
