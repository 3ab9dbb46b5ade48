package dev.depin.job;

import dev.depin.InvalidJobException;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Spec parsing rejects what the format does not define instead of ignoring it (issue 7:
 * a spec with an unknown extra field verified, since the hash is of the re-encoded form).
 */
class JobSpecStrictParsingTest {
    private static final long SEED = 0x5bec_0007L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static byte[] edit(JobSpec s, Consumer<ObjectNode> change) throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(s.canonicalJson());
        change.accept(n);
        return JSON.writeValueAsBytes(n);
    }

    private static void invalid(byte[] json, String fragment) {
        InvalidJobException e = assertThrowsExactly(InvalidJobException.class, () -> JobSpec.fromJson(json));
        assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' not in: " + e.getMessage());
    }

    private static JobSpec sgemm() {
        return JobFixtures.sgemm(new SplittableRandom(SEED), 3, 4, 5).build().spec();
    }

    @Test
    void fromJson_unknownFieldAnywhere_rejected() throws Exception {
        JobSpec s = sgemm();
        assertEquals(s.hash(), JobSpec.fromJson(s.canonicalJson()).hash());
        invalid(edit(s, n -> n.put("comment", "harmless?")), "unknown field 'comment'");
        invalid(edit(s, n -> ((ObjectNode) n.get("kernel")).put("variant", "fast")), "unknown field 'kernel.variant'");
        invalid(edit(s, n -> ((ObjectNode) n.get("inputs").get(0)).put("url", "x")), "unknown field 'inputs[].url'");
        invalid(edit(s, n -> ((ObjectNode) n.get("requirements")).put("gpu", "any")),
                "unknown field 'requirements.gpu'");
        invalid(edit(s, n -> ((ObjectNode) n.get("verification")).put("seed", 1)),
                "unknown field 'verification.seed'");
        JobSpec ptx = JobFixtures.scale(new SplittableRandom(SEED), 256, 2f).build().spec();
        invalid(edit(ptx, n -> ((ObjectNode) n.get("kernel").get("params").get(0)).put("x", 1)),
                "unknown field 'kernel.params[].x'");
    }

    @Test
    void fromJson_wrongContainerTypes_rejected() throws Exception {
        JobSpec s = sgemm();
        invalid(edit(s, n -> n.set("inputs", JSON.createObjectNode())), "field 'inputs' must be an array");
        invalid(edit(s, n -> n.put("kernel", "sgemm")), "field 'kernel' must be an object");
        invalid(edit(s, n -> ((ObjectNode) n.get("requirements")).put("models", "H100")),
                "field 'models' must be an array");
        invalid(edit(s, n -> ((ArrayNode) n.get("requirements").get("models")).add(5)),
                "field 'models' must hold strings only");
        invalid(edit(s, n -> ((ArrayNode) n.get("inputs")).set(0, JSON.getNodeFactory().textNode("a"))),
                "field 'inputs[]' must be an object");
    }

    /** The parse before its fast path: the syntax pattern, parseFloat, and the canonical comparison. */
    private static boolean canonicalFloat(String t) {
        return t.matches("-?0x[01]\\.[0-9a-f]+p-?[0-9]+|-?0x0\\.0p0") && Float.toHexString(Float.parseFloat(t)).equals(t);
    }

    private static boolean canonicalDouble(String t) {
        return t.matches("-?0x[01]\\.[0-9a-f]+p-?[0-9]+|-?0x0\\.0p0")
                && Double.toHexString(Double.parseDouble(t)).equals(t);
    }

    /** Near misses of a canonical literal: each is accepted exactly when the old parse accepted it. */
    private static java.util.List<String> variants(String c, SplittableRandom rnd) {
        int p = c.indexOf('p');
        return java.util.List.of(c, c.substring(0, p) + "0" + c.substring(p), c.toUpperCase(java.util.Locale.ROOT),
                c.replace("p", "P"), "+" + c, c.replace("0x", "0x0"), c.replace("p", "p0"), c.replace("p-", "p+"),
                c.substring(0, p) + "p" + (rnd.nextInt(300) - 150), c.replace(".", ""), c + " ", c.substring(0, p),
                c.replace("0x1.", "0x0."), c.replace("0x0.", "0x1."), c.substring(0, p + 1) + "99999",
                c.substring(0, p + 1) + "123456");
    }

    @Test
    void fromJson_hexNumbers_acceptedExactlyWhenCanonical() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        JobSpec s = JobFixtures.saxpy(rnd, 64, 1f).build().spec();
        ObjectNode base = (ObjectNode) JSON.readTree(s.canonicalJson());
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, 1f, -2.5f,
            Math.nextDown(Float.MIN_NORMAL), 0x1.fffffep-127f};
        int accepted = 0;
        for (int i = 0; i < 3000; i++) {
            float f = i < special.length ? special[i] : Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isFinite(f)) {
                continue;
            }
            for (String t : variants(Float.toHexString(f), rnd)) {
                ((ObjectNode) base.get("params")).put("alpha", t);
                byte[] json = JSON.writeValueAsBytes(base);
                if (canonicalFloat(t)) {
                    float got = JobSpec.fromJson(json).params().floats().get("alpha");
                    assertEquals(Float.floatToRawIntBits(Float.parseFloat(t)), Float.floatToRawIntBits(got), t);
                    accepted++;
                } else {
                    invalid(json, "'alpha' = '" + t + "'");
                }
            }
        }
        assertTrue(accepted >= 2900, "accepted " + accepted);
        base = (ObjectNode) JSON.readTree(s.canonicalJson());
        double[] specialD = {0d, Double.MIN_VALUE, Double.MIN_NORMAL, Math.nextDown(Double.MIN_NORMAL), 1d, 0.5,
            Math.nextDown(1d), 0.1};
        for (int i = 0; i < 3000; i++) {
            double d = i < specialD.length ? specialD[i]
                    : rnd.nextBoolean() ? rnd.nextDouble() : Double.longBitsToDouble(rnd.nextLong() >>> 2 | 1L << 61);
            if (!(d >= 0 && d <= 1)) {
                continue; // minReputation is in [0, 1]
            }
            for (String t : variants(Double.toHexString(d), rnd)) {
                ((ObjectNode) base.get("requirements")).put("minReputation", t);
                byte[] json = JSON.writeValueAsBytes(base);
                if (canonicalDouble(t) && Double.parseDouble(t) <= 1) {
                    double got = JobSpec.fromJson(json).requirements().minReputation();
                    assertEquals(Double.doubleToRawLongBits(Double.parseDouble(t)), Double.doubleToRawLongBits(got), t);
                } else if (!canonicalDouble(t)) {
                    invalid(json, "'minReputation' = '" + t + "'");
                }
            }
        }
    }
}
