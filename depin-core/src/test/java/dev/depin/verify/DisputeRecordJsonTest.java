package dev.depin.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.job.DisputeRecord;
import dev.depin.InvalidJobException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * {@link DisputeRecord#fromJson} is strict and fails with {@link InvalidJobException} and a
 * reason, never a JDK exception (issue 7, defects 3 and 5).
 */
class DisputeRecordJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static byte[] edit(Consumer<ObjectNode> change) throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(OfflineVerifierTest.genuineRecord().toJson());
        change.accept(n);
        return JSON.writeValueAsBytes(n);
    }

    private static void malformed(byte[] json, String fragment) {
        InvalidJobException e = assertThrowsExactly(InvalidJobException.class, () -> DisputeRecord.fromJson(json));
        assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' not in: " + e.getMessage());
    }

    @Test
    void fromJson_roundTrip() {
        DisputeRecord d = OfflineVerifierTest.genuineRecord();
        assertEquals(d, DisputeRecord.fromJson(d.toJson()));
    }

    /** Was: "attempt": "abc" read as attempt 0 and upheld as #0. */
    @Test
    void fromJson_attemptNotAPositiveInteger() throws Exception {
        malformed(edit(n -> n.put("attempt", "abc")), "field 'attempt' must be an integer >= 1, got \"abc\"");
        malformed(edit(n -> n.put("attempt", 0)), "field 'attempt' must be an integer >= 1");
        malformed(edit(n -> n.put("attempt", 1.5)), "field 'attempt' must be an integer >= 1");
        malformed(edit(n -> n.put("attempt", 1L << 40)), "field 'attempt' must be an integer >= 1");
        malformed(edit(n -> n.remove("attempt")), "field 'attempt' must be an integer >= 1, got null");
    }

    /** Was: DateTimeParseException. */
    @Test
    void fromJson_atNotADate() throws Exception {
        malformed(edit(n -> n.put("at", "not-a-date")), "field 'at' is 'not-a-date', not an ISO-8601 instant");
        malformed(edit(n -> n.put("at", 5)), "field 'at' must be a string");
    }

    @Test
    void fromJson_unknownOrMissingFields() throws Exception {
        malformed(edit(n -> n.put("verdict", "guilty")), "unknown field 'verdict'");
        malformed(edit(n -> ((ObjectNode) n.get("evidence")).put("trustMe", true)), "unknown field 'evidence.trustMe'");
        malformed(edit(n -> n.remove("receipt")), "field 'receipt' must be a DSSE envelope object");
        malformed(edit(n -> n.put("spec", "{}")), "field 'spec' must be a job spec object");
        malformed(edit(n -> n.put("jobId", 7)), "field 'jobId' must be a string, got 7");
        malformed(edit(n -> n.put("jobId", "")), "job id must not be empty");
        malformed(edit(n -> n.put("format", "depin.dispute/v2")), "not a depin dispute record");
        malformed(edit(n -> n.put("evidence", "x")), "field 'evidence' must be an object");
    }

    @Test
    void fromJson_badValues() throws Exception {
        malformed(edit(n -> n.put("reason", "GUILTY")), "field 'reason' is 'GUILTY', not one of");
        malformed(edit(n -> n.put("provider", "xyz")), "dispute record is malformed");
        malformed(edit(n -> n.put("providerKeyPem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")),
                "dispute record is malformed");
        malformed(edit(n -> ((ObjectNode) n.get("receipt")).put("payload", "!!!")), "field 'receipt' is not a DSSE");
        malformed("[1,2]".getBytes(StandardCharsets.UTF_8), "it is not a JSON object");
        malformed("{\"format\":".getBytes(StandardCharsets.UTF_8), "it is not valid JSON");
        malformed(new byte[0], "it is not a JSON object");
    }

    @Test
    void fromJson_oversized() {
        byte[] big = new byte[DisputeRecord.MAX_JSON_BYTES + 1];
        malformed(big, "more than the " + DisputeRecord.MAX_JSON_BYTES);
    }
}
