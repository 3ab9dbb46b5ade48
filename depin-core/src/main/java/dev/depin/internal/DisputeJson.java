package dev.depin.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.crypto.CanonicalJson;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationException;
import dev.depin.job.DisputeRecord;
import dev.depin.job.InvalidJobException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** JSON form of a {@link DisputeRecord}: envelopes and spec embedded as they were received. */
public final class DisputeJson {
    private DisputeJson() {
    }

    /** @return pretty, key-sorted JSON of the record */
    public static byte[] write(DisputeRecord d) {
        Map<String, Object> m = new TreeMap<>();
        m.put("format", "depin.dispute/v1");
        m.put("jobId", d.jobId());
        m.put("attempt", d.attempt());
        m.put("provider", d.provider().hex());
        m.put("providerKeyPem", KeyPem.publicKeyToPem(d.providerKey()));
        m.put("reason", d.reason().name());
        m.put("message", d.message());
        if (d.evidence() != null) {
            Evidence e = d.evidence();
            m.put("evidence", new TreeMap<>(Map.of("check", e.check(), "location", e.location(),
                    "expected", e.expected(), "actual", e.actual(), "seed", e.seed())));
        }
        m.put("at", d.at().toString());
        try {
            m.put("receipt", CanonicalJson.reader().readTree(d.receipt().toJsonBytes()));
            m.put("wipe", CanonicalJson.reader().readTree(d.wipe().toJsonBytes()));
            m.put("spec", CanonicalJson.reader().readTree(d.specJson()));
            return CanonicalJson.writer().withDefaultPrettyPrinter().writeValueAsBytes(m);
        } catch (IOException e) {
            throw new IllegalStateException("a dispute record of validated parts always serializes", e);
        }
    }

    /**
     * Reads a record written by {@link #write}.
     *
     * @throws InvalidJobException if the JSON is malformed
     */
    public static DisputeRecord read(byte[] json) {
        try {
            JsonNode n = CanonicalJson.reader().readTree(json);
            if (n == null || !"depin.dispute/v1".equals(n.path("format").asText())) {
                throw new InvalidJobException("not a depin dispute record (format depin.dispute/v1)");
            }
            JsonNode e = n.get("evidence");
            Evidence ev = e == null ? null : new Evidence(e.path("check").asText(), e.path("location").asText(),
                    e.path("expected").asText(), e.path("actual").asText(), e.path("seed").asText());
            return new DisputeRecord(n.path("jobId").asText(), n.path("attempt").asInt(),
                    NodeId.parse(n.path("provider").asText()), KeyPem.readPublicKey(n.path("providerKeyPem").asText()),
                    VerificationException.Reason.valueOf(n.path("reason").asText()), n.path("message").asText(), ev,
                    Envelope.parse(CanonicalJson.writer().writeValueAsBytes(n.get("receipt"))),
                    Envelope.parse(CanonicalJson.writer().writeValueAsBytes(n.get("wipe"))),
                    CanonicalJson.writer().writeValueAsString(n.get("spec")).getBytes(StandardCharsets.UTF_8),
                    Instant.parse(n.path("at").asText()), Map.of());
        } catch (IOException | IllegalArgumentException | NullPointerException e) {
            throw new InvalidJobException("dispute record JSON is malformed: " + e.getMessage());
        }
    }
}
