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
}
