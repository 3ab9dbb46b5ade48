package dev.depin.provider;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The JSON forms of an offer: the canonical terms its signature covers, and the signed offer
 * as it travels ({@code {"format", "nodeId", "publicKey", "signature", "terms"}}). Reading is
 * strict: bounded size, exact field sets (no unknown or missing field), exact types,
 * canonical hex floats, no duplicate keys, no trailing content; every value is then
 * validated by the records themselves.
 */
final class OfferJson {
    /** Format tag of a signed offer. */
    static final String SIGNED_FORMAT = "depin.signed-offer/v1";
    /** Format tag of the terms. */
    static final String TERMS_FORMAT = "depin.offer/v1";
    /** The largest signed offer read, in bytes. */
    static final int MAX_BYTES = 64 * 1024;

    private static final ObjectMapper MAPPER = JsonMapper.builder(new com.fasterxml.jackson.core.JsonFactoryBuilder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16)
                            .maxStringLength(8 * 1024).maxNumberLength(32).build()).build())
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private static final Set<String> SIGNED_FIELDS = Set.of("format", "nodeId", "publicKey", "signature", "terms");
    private static final Set<String> TERMS_FIELDS = Set.of("format", "endpoint", "devices", "region", "kernels",
            "pricePerDeviceSecondMicroUsd", "pricePerGigabyteMicroUsd", "stakeMicroUsd", "validUntilEpochMillis");
    private static final Set<String> LIMIT_FIELDS = Set.of("maxOutputBytes", "maxJobBytes");
    private static final Set<String> HOLD_FIELDS = Set.of("maxHoldMillis", "maxEntries", "maxBytesPerBuyer",
            "maxEntriesPerBuyer");
    private static final Set<String> SLA_FIELDS = Set.of("periodMillis", "objectives", "credits");
    private static final Set<String> OBJECTIVE_FIELDS = Set.of("maxFlops", "withinMillis");
    private static final Set<String> TIER_FIELDS = Set.of("belowBasisPoints", "creditPercent");
    private static final Set<String> DEVICE_FIELDS = Set.of("kind", "model", "memoryBytes", "computeCapability",
            "units", "fp32Gflops", "uuidHash", "driverVersion", "runtimeVersion");

    private OfferJson() {
    }

    /**
     * @param t offer terms
     * @return their canonical JSON: the bytes an offer signature covers
     */
    static byte[] canonicalTerms(OfferTerms t) {
        return write(termsMap(t));
    }

    /**
     * @param offer a signed offer
     * @return its JSON form, canonical (keys sorted, no whitespace)
     */
    static byte[] signed(ProviderOffer offer) {
        Map<String, Object> m = new TreeMap<>();
        m.put("format", SIGNED_FORMAT);
        m.put("nodeId", offer.nodeId().hex());
        m.put("publicKey", Hex.encode(offer.publicKey().raw()));
        m.put("signature", Hex.encode(offer.signature()));
        m.put("terms", termsMap(offer.terms()));
        return write(m);
    }

    /**
     * Parses a signed offer. The signature is not checked here: call
     * {@link ProviderOffer#verify} before using the offer.
     *
     * @param json the JSON form
     * @return the offer
     * @throws InvalidOfferException naming what is wrong
     */
    static ProviderOffer read(byte[] json) {
        InvalidArgumentException.requireNonNull(json, "offer JSON");
        if (json.length > MAX_BYTES) {
            throw new InvalidOfferException("offer JSON has " + json.length + " bytes, more than the " + MAX_BYTES
                    + " an offer may have: refused unread");
        }
        try {
            JsonNode root = MAPPER.readTree(json);
            exactFields(root, SIGNED_FIELDS, "offer");
            expect(text(root, "format"), SIGNED_FORMAT, "offer format");
            NodePublicKey key = NodePublicKey.of(Hex.decode(text(root, "publicKey")));
            NodeId id = NodeId.parse(text(root, "nodeId"));
            if (!key.nodeId().equals(id)) {
                throw new InvalidOfferException("offer claims node " + id.shortId() + " but its key hashes to "
                        + key.nodeId().shortId() + ": ignore this offer");
            }
            byte[] signature = Hex.decode(text(root, "signature"));
            return new ProviderOffer(id, key, terms(field(root, "terms")), signature);
        } catch (InvalidOfferException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new InvalidOfferException("offer JSON is malformed: " + e.getMessage());
        }
    }

    private static OfferTerms terms(JsonNode t) {
        // "sla", "inputCacheBytes", "limits" and "hold" are optional: terms without them sign exactly the bytes
        // they always did.
        Set<String> fields = t != null && t.has("sla") ? with(TERMS_FIELDS, "sla") : TERMS_FIELDS;
        fields = t != null && t.has("inputCacheBytes") ? with(fields, "inputCacheBytes") : fields;
        fields = t != null && t.has("limits") ? with(fields, "limits") : fields;
        fields = t != null && t.has("hold") ? with(fields, "hold") : fields;
        exactFields(t, fields, "offer terms");
        expect(text(t, "format"), TERMS_FORMAT, "offer terms format");
        List<DeviceInfo> devices = new ArrayList<>();
        JsonNode ds = field(t, "devices");
        if (!ds.isArray() || ds.size() > 64) {
            throw new InvalidOfferException("offer field 'devices' must be an array of at most 64 devices");
        }
        for (JsonNode d : ds) {
            exactFields(d, DEVICE_FIELDS, "offer device");
            devices.add(new DeviceInfo(DeviceKind.valueOf(text(d, "kind")), text(d, "model"), longField(d, "memoryBytes"),
                    text(d, "computeCapability"), (int) intField(d, "units"), hexDouble(text(d, "fp32Gflops"), "fp32Gflops"),
                    text(d, "uuidHash"), text(d, "driverVersion"), text(d, "runtimeVersion")));
        }
        JsonNode ks = field(t, "kernels");
        if (!ks.isArray() || ks.size() > 256) {
            throw new InvalidOfferException("offer field 'kernels' must be an array of at most 256 kernel ids");
        }
        Set<String> kernels = new TreeSet<>();
        for (JsonNode k : ks) {
            if (!k.isTextual() || !kernels.add(k.asText())) {
                throw new InvalidOfferException("offer kernels must be distinct strings, got " + k);
            }
        }
        return new OfferTerms(text(t, "endpoint"), devices, Region.parse(text(t, "region")), kernels,
                new Price(MicroUsd.ofMicros(longField(t, "pricePerDeviceSecondMicroUsd")),
                        MicroUsd.ofMicros(longField(t, "pricePerGigabyteMicroUsd"))),
                MicroUsd.ofMicros(longField(t, "stakeMicroUsd")),
                Instant.ofEpochMilli(longField(t, "validUntilEpochMillis")), t.has("sla") ? sla(t.get("sla")) : null,
                inputCacheBytes(t), t.has("limits") ? limits(t.get("limits")) : null,
                t.has("hold") ? hold(t.get("hold")) : null);
    }

    private static HoldTerms hold(JsonNode h) {
        exactFields(h, HOLD_FIELDS, "offer hold terms");
        try {
            return new HoldTerms(java.time.Duration.ofMillis(longField(h, "maxHoldMillis")),
                    (int) intField(h, "maxEntries"), longField(h, "maxBytesPerBuyer"),
                    (int) intField(h, "maxEntriesPerBuyer"));
        } catch (dev.depin.InvalidArgumentException e) {
            throw new InvalidOfferException("offer hold terms are invalid: " + e.getMessage());
        }
    }

    private static JobLimits limits(JsonNode l) {
        exactFields(l, LIMIT_FIELDS, "offer limits");
        try {
            return new JobLimits(longField(l, "maxOutputBytes"), longField(l, "maxJobBytes"));
        } catch (dev.depin.InvalidArgumentException e) {
            throw new InvalidOfferException("offer limits are invalid: " + e.getMessage());
        }
    }

    /** Absent means none; present, it must be positive, so that the same terms have one encoding. */
    private static long inputCacheBytes(JsonNode t) {
        if (!t.has("inputCacheBytes")) {
            return 0;
        }
        long v = longField(t, "inputCacheBytes");
        if (v < 1) {
            throw new InvalidOfferException("offer field 'inputCacheBytes' is " + v + ": omit it for none, else give "
                    + "a positive byte count");
        }
        return v;
    }

    private static Set<String> with(Set<String> fields, String extra) {
        Set<String> all = new TreeSet<>(fields);
        all.add(extra);
        return all;
    }

    private static SlaTerms sla(JsonNode s) {
        try {
            return readSla(s);
        } catch (dev.depin.InvalidArgumentException e) {
            throw new InvalidOfferException("offer SLA is invalid: " + e.getMessage());
        }
    }

    private static SlaTerms readSla(JsonNode s) {
        // "firstByteWithinMillis" and "listedVia" are optional: an SLA without them signs the bytes it always did.
        Set<String> fields = s.has("firstByteWithinMillis") ? with(SLA_FIELDS, "firstByteWithinMillis") : SLA_FIELDS;
        exactFields(s, s.has("listedVia") ? with(fields, "listedVia") : fields, "offer SLA");
        List<SlaTerms.Objective> objectives = new ArrayList<>();
        for (JsonNode o : array(s, "objectives", 16)) {
            exactFields(o, OBJECTIVE_FIELDS, "offer SLA objective");
            objectives.add(new SlaTerms.Objective(longField(o, "maxFlops"),
                    java.time.Duration.ofMillis(longField(o, "withinMillis"))));
        }
        List<SlaTerms.CreditTier> tiers = new ArrayList<>();
        for (JsonNode c : array(s, "credits", 8)) {
            exactFields(c, TIER_FIELDS, "offer SLA credit tier");
            tiers.add(new SlaTerms.CreditTier((int) intField(c, "belowBasisPoints"),
                    (int) intField(c, "creditPercent")));
        }
        return new SlaTerms(java.time.Duration.ofMillis(longField(s, "periodMillis")), objectives, tiers,
                s.has("firstByteWithinMillis") ? java.time.Duration.ofMillis(longField(s, "firstByteWithinMillis")) : null,
                s.has("listedVia") ? directoryKey(text(s, "listedVia")) : null);
    }

    private static dev.depin.crypto.NodePublicKey directoryKey(String hex) {
        // One encoding: 64 lower-case hex characters, as written.
        if (!dev.depin.crypto.Hex.isLowerHex(hex, 64)) {
            throw new dev.depin.InvalidArgumentException("SLA listedVia must be the directory's Ed25519 public key as 64 "
                    + "lower-case hex characters, got " + (hex.length() > 80 ? hex.length() + " characters" : "'" + hex + "'"));
        }
        return dev.depin.crypto.NodePublicKey.of(dev.depin.crypto.Hex.decode(hex));
    }

    private static JsonNode array(JsonNode node, String name, int max) {
        JsonNode a = field(node, name);
        if (!a.isArray() || a.size() > max) {
            throw new InvalidOfferException("offer SLA field '" + name + "' must be an array of at most " + max);
        }
        return a;
    }

    private static Map<String, Object> termsMap(OfferTerms t) {
        Map<String, Object> m = new TreeMap<>();
        m.put("format", TERMS_FORMAT);
        m.put("endpoint", t.endpoint());
        List<Object> devices = new ArrayList<>();
        for (DeviceInfo d : t.devices()) {
            Map<String, Object> dm = new TreeMap<>();
            dm.put("kind", d.kind().name());
            dm.put("model", d.model());
            dm.put("memoryBytes", d.memoryBytes());
            dm.put("computeCapability", d.computeCapability());
            dm.put("units", d.units());
            dm.put("fp32Gflops", Double.toHexString(d.fp32Gflops()));
            dm.put("uuidHash", d.uuidHash());
            dm.put("driverVersion", d.driverVersion());
            dm.put("runtimeVersion", d.runtimeVersion());
            devices.add(dm);
        }
        m.put("devices", devices);
        m.put("region", t.region().toString());
        m.put("kernels", new TreeSet<>(t.kernels()));
        m.put("pricePerDeviceSecondMicroUsd", t.price().perDeviceSecond().micros());
        m.put("pricePerGigabyteMicroUsd", t.price().perGigabyte().micros());
        m.put("stakeMicroUsd", t.stake().micros());
        m.put("validUntilEpochMillis", t.validUntil().toEpochMilli());
        if (t.inputCacheBytes() > 0) {
            m.put("inputCacheBytes", t.inputCacheBytes());
        }
        if (t.limits() != null) {
            m.put("limits", new TreeMap<>(Map.of("maxOutputBytes", t.limits().maxOutputBytes(),
                    "maxJobBytes", t.limits().maxJobBytes())));
        }
        if (t.hold() != null) {
            m.put("hold", new TreeMap<>(Map.of("maxHoldMillis", t.hold().maxHold().toMillis(),
                    "maxEntries", t.hold().maxEntries(), "maxBytesPerBuyer", t.hold().maxBytesPerBuyer(),
                    "maxEntriesPerBuyer", t.hold().maxEntriesPerBuyer())));
        }
        if (t.sla() != null) {
            Map<String, Object> sla = new TreeMap<>();
            sla.put("periodMillis", t.sla().period().toMillis());
            List<Object> objectives = new ArrayList<>();
            for (var o : t.sla().objectives()) {
                objectives.add(new TreeMap<>(Map.of("maxFlops", o.maxFlops(), "withinMillis", o.within().toMillis())));
            }
            sla.put("objectives", objectives);
            List<Object> tiers = new ArrayList<>();
            for (var c : t.sla().credits()) {
                tiers.add(new TreeMap<>(Map.of("belowBasisPoints", c.belowBasisPoints(),
                        "creditPercent", c.creditPercent())));
            }
            sla.put("credits", tiers);
            if (t.sla().firstByteWithin() != null) {
                sla.put("firstByteWithinMillis", t.sla().firstByteWithin().toMillis());
            }
            if (t.sla().listedVia() != null) {
                sla.put("listedVia", dev.depin.crypto.Hex.encode(t.sla().listedVia().raw()));
            }
            m.put("sla", sla);
        }
        return m;
    }

    private static byte[] write(Map<String, Object> m) {
        try {
            return MAPPER.writeValueAsBytes(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("canonical JSON of validated values cannot fail", e);
        }
    }

    private static void exactFields(JsonNode node, Set<String> fields, String what) {
        if (node == null || !node.isObject()) {
            throw new InvalidOfferException(what + " must be a JSON object");
        }
        Set<String> seen = new TreeSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            seen.add(it.next());
        }
        if (!seen.equals(fields)) {
            Set<String> unknown = new TreeSet<>(seen);
            unknown.removeAll(fields);
            Set<String> missing = new TreeSet<>(fields);
            missing.removeAll(seen);
            throw new InvalidOfferException(what + " has " + (unknown.isEmpty() ? "" : "unknown field(s) " + unknown)
                    + (unknown.isEmpty() || missing.isEmpty() ? "" : " and ")
                    + (missing.isEmpty() ? "" : "missing field(s) " + missing) + ": it is not a " + SIGNED_FORMAT
                    + " offer");
        }
    }

    private static void expect(String got, String want, String what) {
        if (!want.equals(got)) {
            throw new InvalidOfferException(what + " is '" + got + "', expected '" + want + "'");
        }
    }

    private static JsonNode field(JsonNode node, String name) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            throw new InvalidOfferException("offer JSON lacks field '" + name + "'");
        }
        return v;
    }

    private static String text(JsonNode node, String name) {
        JsonNode v = field(node, name);
        if (!v.isTextual()) {
            throw new InvalidOfferException("offer field '" + name + "' must be a string, got " + v.getNodeType());
        }
        return v.asText();
    }

    private static long longField(JsonNode node, String name) {
        JsonNode v = field(node, name);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new InvalidOfferException("offer field '" + name + "' must be a 64-bit integer, got " + v);
        }
        return v.longValue();
    }

    private static long intField(JsonNode node, String name) {
        JsonNode v = field(node, name);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidOfferException("offer field '" + name + "' must be a 32-bit integer, got " + v);
        }
        return v.intValue();
    }

    private static double hexDouble(String text, String name) {
        if (!text.matches("0x1\\.[0-9a-f]+p-?[0-9]+")) {
            throw new InvalidOfferException("offer number '" + name + "' = '" + text
                    + "' must be a positive hexadecimal floating-point literal such as 0x1.8p1");
        }
        double d = Double.parseDouble(text);
        if (!Double.toHexString(d).equals(text)) {
            throw new InvalidOfferException("offer number '" + name + "' = '" + text + "' is not in canonical hex form ("
                    + Double.toHexString(d) + ")");
        }
        return d;
    }
}
