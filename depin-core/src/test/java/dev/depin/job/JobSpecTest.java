package dev.depin.job;

import dev.depin.InvalidJobException;
import static dev.depin.job.JobFixtures.DEADLINE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.kernel.UnknownKernelException;
import dev.depin.money.MicroUsd;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.Region;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class JobSpecTest {

    /** Fixed seed for input values and float parameters. Printed so a failure can be replayed. */
    private static final long SEED = 0x5BEC_0000_2024L;

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Requirements FULL_REQUIREMENTS = Requirements.builder()
            .minDeviceMemoryBytes(16L << 30).models("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB")
            .regions(Region.parse("DE"), Region.parse("FR/par-1")).deviceKinds(DeviceKind.CUDA)
            .minReputation(0.9).build();

    @BeforeAll
    static void printSeed() {
        System.out.println("JobSpecTest seed=" + SEED);
    }

    private static SplittableRandom rnd() {
        return new SplittableRandom(SEED);
    }

    /** The SAXPY spec most tests vary one field of. */
    private static JobSpec baseSaxpy() {
        return JobFixtures.saxpy(rnd(), 64, 0.5f).build().spec();
    }

    private static JobSpec with(JobSpec s, LaunchParams params, List<InputRef> inputs) {
        return new JobSpec(s.kernel(), params, inputs, s.requirements(), s.verification(), s.deadline(),
                s.maxPrice());
    }

    private static String text(JobSpec s) {
        return new String(s.canonicalJson(), StandardCharsets.UTF_8);
    }

    private static byte[] edit(JobSpec s, java.util.function.Consumer<ObjectNode> change) throws Exception {
        ObjectNode root = (ObjectNode) JSON.readTree(s.canonicalJson());
        change.accept(root);
        return JSON.writeValueAsBytes(root);
    }

    private static void invalidJob(Executable call, String messagePart) {
        InvalidJobException e = assertThrowsExactly(InvalidJobException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    private static void shapeMismatch(Executable call, String messagePart) {
        ShapeMismatchException e = assertThrowsExactly(ShapeMismatchException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    private static void assertRoundTrips(JobSpec spec) {
        byte[] json = spec.canonicalJson();
        JobSpec back = JobSpec.fromJson(json);
        assertEquals(spec, back);
        assertEquals(spec.hash(), back.hash());
        assertArrayEquals(json, back.canonicalJson());
    }

    // ------------------------------------------------------------ canonical form

    @Test
    void canonicalJson_sameSpecTwice_sameBytesAndHash() {
        JobSpec a = baseSaxpy();
        JobSpec b = baseSaxpy(); // built independently from the same seed
        assertArrayEquals(a.canonicalJson(), a.canonicalJson());
        assertArrayEquals(a.canonicalJson(), b.canonicalJson());
        assertEquals(a.hash(), b.hash());
        assertEquals(a, b);
    }

    @Test
    void canonicalJson_returnsFreshCopy() {
        JobSpec s = baseSaxpy();
        byte[] first = s.canonicalJson();
        byte[] expected = first.clone();
        first[0] = 'X';
        assertArrayEquals(expected, s.canonicalJson());
        // The encoding is remembered with the hash: a caller writing its copy changes neither.
        assertEquals(dev.depin.crypto.Sha256.hex(expected), s.hash());
        assertArrayEquals(expected, s.canonicalJson());
    }

    @Test
    void hash_isLowerHexSha256OfCanonicalJson() throws Exception {
        JobSpec s = baseSaxpy();
        String expected = dev.depin.crypto.Hex.encode(MessageDigest.getInstance("SHA-256").digest(s.canonicalJson()));
        assertEquals(expected, s.hash());
    }

    @Test
    void canonicalJson_topLevelKeysInSortedOrder() throws Exception {
        JobSpec s = JobFixtures.sgemm(rnd(), 3, 5, 7).requirements(FULL_REQUIREMENTS)
                .verification(VerificationPolicy.freivalds(20)).build().spec();
        List<String> keys = new ArrayList<>();
        try (JsonParser p = JSON.getFactory().createParser(s.canonicalJson())) {
            int depth = 0;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    depth++;
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    depth--;
                } else if (t == JsonToken.FIELD_NAME && depth == 1) {
                    keys.add(p.currentName());
                }
            }
        }
        assertEquals(List.of("deadlineEpochMillis", "format", "inputs", "kernel", "maxPriceMicroUsd", "params",
                "requirements", "verification"), keys);
        List<String> sorted = new ArrayList<>(keys);
        sorted.sort(null);
        assertEquals(sorted, keys);
    }

    @Test
    void canonicalJson_nestedKeysSortedAndNoWhitespace() throws Exception {
        JobSpec s = JobFixtures.sgemm(rnd(), 3, 5, 7).requirements(FULL_REQUIREMENTS).build().spec();
        String json = text(s);
        assertFalse(hasWhitespaceOutsideStrings(json), json);
        assertKeysSorted(JSON.readTree(json), "$");
        JsonNode root = JSON.readTree(json);
        assertEquals(JobSpec.FORMAT, root.get("format").asText());
        assertEquals(DEADLINE.toEpochMilli(), root.get("deadlineEpochMillis").longValue());
        assertTrue(root.get("deadlineEpochMillis").isIntegralNumber());
        // sets are written sorted
        assertEquals("[\"DE\",\"FR/par-1\"]", root.at("/requirements/regions").toString());
        assertEquals("[\"NVIDIA A100-SXM4-80GB\",\"NVIDIA H100 80GB HBM3\"]",
                root.at("/requirements/models").toString());
    }

    private static boolean hasWhitespaceOutsideStrings(String json) {
        boolean inString = false;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (Character.isWhitespace(c)) {
                return true;
            }
        }
        return false;
    }

    private static void assertKeysSorted(JsonNode node, String path) {
        if (node.isObject()) {
            List<String> keys = new ArrayList<>();
            node.fieldNames().forEachRemaining(keys::add);
            List<String> sorted = new ArrayList<>(keys);
            sorted.sort(null);
            assertEquals(sorted, keys, path);
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                assertKeysSorted(e.getValue(), path + "." + e.getKey());
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                assertKeysSorted(node.get(i), path + "[" + i + "]");
            }
        }
    }

    @Test
    void canonicalJson_setInsertionOrder_doesNotMatter() {
        Requirements ab = Requirements.builder().models("a", "b").regions(Region.parse("DE"), Region.parse("FR"))
                .deviceKinds(DeviceKind.CPU, DeviceKind.CUDA).build();
        Requirements ba = Requirements.builder().models("b", "a").regions(Region.parse("FR"), Region.parse("DE"))
                .deviceKinds(DeviceKind.CUDA, DeviceKind.CPU).build();
        JobSpec s1 = JobFixtures.saxpy(rnd(), 8, 1f).requirements(ab).build().spec();
        JobSpec s2 = JobFixtures.saxpy(rnd(), 8, 1f).requirements(ba).build().spec();
        assertArrayEquals(s1.canonicalJson(), s2.canonicalJson());
    }

    /**
     * The Javadoc promises "floats as the shortest decimal that round-trips". JDK 17's
     * Float.toString is not always shortest (JDK-4511638, fixed in JDK 19): for this value it
     * writes -4.7429452E10 where -4.742945E10 already round-trips. A JDK 17 client and a
     * JDK 19+ provider then compute different canonical bytes and different spec hashes for
     * the same job.
     */
    @Test
    void canonicalJson_floatParam_isExactHexLiteral() {
        // JDK 17's Float.toString writes -4.7429452E10 where JDK 19+ writes -4.742945E10: a
        // decimal form would hash differently across JDKs, so floats are written in hex.
        float alpha = -4.7429452E10f;
        JobSpec s = JobFixtures.saxpy(rnd(), 4, alpha).build().spec();
        String json = text(s);
        assertTrue(json.contains("\"alpha\":\"-0x1.61608p35\""), json);
        assertEquals(alpha, Float.parseFloat("-0x1.61608p35"));
    }

    // ---------------------------------------------------------------- round trip

    @Test
    void fromJson_saxpyWithAlphaPointOne_roundTripsExactly() {
        JobSpec s = JobFixtures.saxpy(rnd(), 1_000, 0.1f).build().spec();
        assertRoundTrips(s);
        float back = JobSpec.fromJson(s.canonicalJson()).params().requireFloat("alpha");
        assertEquals(Float.floatToRawIntBits(0.1f), Float.floatToRawIntBits(back));
        assertTrue(text(s).contains("\"alpha\":\"0x1.99999ap-4\""), text(s));
    }

    @Test
    void fromJson_sgemmWithFreivaldsAndRequirements_roundTrips() {
        assertRoundTrips(JobFixtures.sgemm(rnd(), 17, 19, 23).requirements(FULL_REQUIREMENTS)
                .verification(VerificationPolicy.freivalds(20)).maxPrice(MicroUsd.ofUsd("0.01")).build().spec());
    }

    @Test
    void fromJson_reduceSumWithSpotCheck_roundTrips() {
        assertRoundTrips(JobFixtures.reduceSum(rnd(), 65_537).verification(VerificationPolicy.spotCheck(0.05))
                .build().spec());
    }

    @Test
    void fromJson_ptxKernelWithRedundant_roundTrips() {
        JobSpec s = JobFixtures.scale(rnd(), 1_000, 2.5f).verification(VerificationPolicy.redundant(3)).build().spec();
        assertRoundTrips(s);
        assertEquals(JobFixtures.SCALE, JobSpec.fromJson(s.canonicalJson()).kernel());
    }

    @Test
    void fromJson_randomFloatParams_exactBits() {
        JobSpec base = baseSaxpy();
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        List<Float> values = new ArrayList<>(List.of(0.1f, -0.0f, 0.0f, Float.MIN_VALUE, Float.MIN_NORMAL,
                Float.MAX_VALUE, -Float.MAX_VALUE, 1.0E-40f, 16_777_217f, (float) Math.PI));
        while (values.size() < 400) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isFinite(f)) {
                values.add(f);
            }
        }
        for (float f : values) {
            JobSpec s = with(base, LaunchParams.builder().put("n", 64).put("alpha", f).build(), base.inputs());
            JobSpec back = JobSpec.fromJson(s.canonicalJson());
            assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(back.params().requireFloat("alpha")),
                    "alpha=" + f);
            assertEquals(s.hash(), back.hash(), "alpha=" + f);
        }
    }

    @Test
    void constructor_deadlineTruncatedToMillis() {
        JobSpec s = baseSaxpy();
        JobSpec withNanos = new JobSpec(s.kernel(), s.params(), s.inputs(), s.requirements(), s.verification(),
                s.deadline().plusNanos(999_999), s.maxPrice());
        assertEquals(s, withNanos);
        assertEquals(s.hash(), withNanos.hash());
    }

    // ------------------------------------------------------------- hash binding

    @Test
    void hash_changesWithEveryField() {
        JobSpec base = baseSaxpy();
        Map<String, JobSpec> variants = new LinkedHashMap<>();
        variants.put("alpha", with(base, LaunchParams.builder().put("n", 64).put("alpha", Math.nextUp(0.5f)).build(),
                base.inputs()));
        variants.put("n", JobFixtures.saxpy(rnd(), 63, 0.5f).build().spec());
        SplittableRandom same64 = rnd();
        float[] x = JobFixtures.floats(same64, 64);
        float[] y = JobFixtures.floats(same64, 64);
        JobSpec same = Job.builder(BuiltinKernel.SAXPY).param("n", 64).param("alpha", 0.5f).input("x", x)
                .input("y", y).deadline(DEADLINE).build().spec();
        assertEquals(base.hash(), same.hash(), "rebuilt from the same seed");
        y[17] = Math.nextUp(y[17]);
        variants.put("one input bit", Job.builder(BuiltinKernel.SAXPY).param("n", 64).param("alpha", 0.5f)
                .input("x", x).input("y", y).deadline(DEADLINE).build().spec());
        variants.put("minDeviceMemoryBytes", withRequirements(base, Requirements.builder().minDeviceMemoryBytes(1)));
        variants.put("models", withRequirements(base, Requirements.builder().models("NVIDIA H100 80GB HBM3")));
        variants.put("regions", withRequirements(base, Requirements.builder().regions(Region.parse("DE"))));
        variants.put("region zone", withRequirements(base, Requirements.builder().regions(Region.parse("DE/fra-1"))));
        variants.put("deviceKinds", withRequirements(base, Requirements.builder().deviceKinds(DeviceKind.CPU)));
        variants.put("minReputation", withRequirements(base, Requirements.builder().minReputation(0.5)));
        variants.put("spotCheck", withPolicy(base, VerificationPolicy.spotCheck(0.5)));
        variants.put("spotCheck fraction", withPolicy(base, VerificationPolicy.spotCheck(0.25)));
        variants.put("redundant", withPolicy(base, VerificationPolicy.redundant(2)));
        variants.put("redundant replicas", withPolicy(base, VerificationPolicy.redundant(3)));
        variants.put("deadline", new JobSpec(base.kernel(), base.params(), base.inputs(), base.requirements(),
                base.verification(), base.deadline().plusMillis(1), base.maxPrice()));
        variants.put("maxPrice", new JobSpec(base.kernel(), base.params(), base.inputs(), base.requirements(),
                base.verification(), base.deadline(), MicroUsd.ofMicros(base.maxPrice().micros() + 1)));
        Map<String, String> seen = new LinkedHashMap<>();
        seen.put(base.hash(), "base");
        for (Map.Entry<String, JobSpec> v : variants.entrySet()) {
            assertNotEquals(base, v.getValue(), v.getKey());
            String previous = seen.put(v.getValue().hash(), v.getKey());
            assertEquals(null, previous, v.getKey() + " hashes like " + previous);
        }
    }

    @Test
    void hash_ptxTextChange_changesHash() {
        JobSpec s = JobFixtures.scale(rnd(), 256, 2f).build().spec();
        dev.depin.kernel.PtxKernel edited = new dev.depin.kernel.PtxKernel("scale",
                JobFixtures.PTX.replace("ret;", "ret;\n"), JobFixtures.SCALE.params());
        JobSpec t = new JobSpec(edited, s.params(), s.inputs(), s.requirements(), s.verification(), s.deadline(),
                s.maxPrice());
        assertNotEquals(s.hash(), t.hash());
    }

    private static JobSpec withRequirements(JobSpec s, Requirements.Builder r) {
        return new JobSpec(s.kernel(), s.params(), s.inputs(), r.build(), s.verification(), s.deadline(),
                s.maxPrice());
    }

    private static JobSpec withPolicy(JobSpec s, VerificationPolicy p) {
        return new JobSpec(s.kernel(), s.params(), s.inputs(), s.requirements(), p, s.deadline(), s.maxPrice());
    }

    // ------------------------------------------------------------ fromJson: bad

    @Test
    void fromJson_malformedJson_rejected() {
        for (String bad : new String[] {"{", "not json", "{\"format\":", "{\"format\" \"depin.job/v1\"}"}) {
            invalidJob(() -> JobSpec.fromJson(bad.getBytes(StandardCharsets.UTF_8)), "job spec JSON is malformed");
        }
    }

    @Test
    void fromJson_notAnObject_rejected() {
        for (String bad : new String[] {"", "[]", "null", "42", "\"depin.job/v1\""}) {
            invalidJob(() -> JobSpec.fromJson(bad.getBytes(StandardCharsets.UTF_8)), "job spec JSON is not an object");
        }
    }

    @Test
    void fromJson_null_rejected() {
        invalidJob(() -> JobSpec.fromJson(null), "job spec JSON is null");
    }

    @Test
    void fromJson_wrongFormatTag_rejected() throws Exception {
        byte[] v2 = edit(baseSaxpy(), root -> root.put("format", "depin.job/v2"));
        invalidJob(() -> JobSpec.fromJson(v2), "job spec format is 'depin.job/v2', expected 'depin.job/v1'");
        byte[] none = edit(baseSaxpy(), root -> root.remove("format"));
        invalidJob(() -> JobSpec.fromJson(none), "lacks field 'format'");
    }

    @Test
    void fromJson_alteredBuiltinKernelHash_rejected() throws Exception {
        byte[] json = edit(baseSaxpy(), root -> ((ObjectNode) root.get("kernel"))
                .put("hash", BuiltinKernel.SGEMM.codeHash()));
        invalidJob(() -> JobSpec.fromJson(json), "kernel saxpy has hash " + BuiltinKernel.SGEMM.codeHash());
    }

    @Test
    void fromJson_alteredPtxTextWithOldHash_rejected() throws Exception {
        JobSpec s = JobFixtures.scale(rnd(), 256, 2f).build().spec();
        byte[] json = edit(s, root -> ((ObjectNode) root.get("kernel"))
                .put("ptx", JobFixtures.PTX.replace("ret;", "trap;")));
        invalidJob(() -> JobSpec.fromJson(json), "the spec was altered or is stale");
    }

    @Test
    void fromJson_unknownLaunchParameter_rejected() throws Exception {
        byte[] json = edit(baseSaxpy(), root -> ((ObjectNode) root.get("params")).put("zz", 1));
        shapeMismatch(() -> JobSpec.fromJson(json),
                "launch parameter 'zz' is not one kernel saxpy reads (it reads [alpha, n]): remove it");
    }

    @Test
    void build_unknownLaunchParameter_rejected() {
        shapeMismatch(() -> JobFixtures.sgemm(rnd(), 2, 3, 4).param("alpha", 2).build(),
                "launch parameter 'alpha' is not one kernel sgemm reads (it reads [k, m, n]): remove it");
        shapeMismatch(() -> JobFixtures.scale(rnd(), 256, 2f).param("z.bytes", 4).build(),
                "launch parameter 'z.bytes' is not one kernel ptx:scale reads");
    }

    @Test
    void fromJson_unknownKernelId_rejected() throws Exception {
        byte[] json = edit(baseSaxpy(), root -> ((ObjectNode) root.get("kernel")).put("id", "daxpy"));
        UnknownKernelException e = assertThrowsExactly(UnknownKernelException.class, () -> JobSpec.fromJson(json));
        assertTrue(e.getMessage().contains("'daxpy'"), e.getMessage());
    }

    @Test
    void fromJson_inputsNotMatchingKernel_rejected() throws Exception {
        byte[] json = edit(baseSaxpy(), root -> ((ObjectNode) root.get("params")).put("n", 65));
        shapeMismatch(() -> JobSpec.fromJson(json), "input 'x' has 256 bytes but kernel saxpy");
    }

    @Test
    void fromJson_invalidValues_rejectedAsInvalidJob() throws Exception {
        byte[] nan = edit(baseSaxpy(), root -> ((ObjectNode) root.get("params")).put("alpha", "NaN"));
        invalidJob(() -> JobSpec.fromJson(nan), "number 'alpha' = 'NaN' must be a hexadecimal floating-point literal");
        byte[] kind = edit(baseSaxpy(), root -> ((ObjectNode) root.get("verification")).put("kind", "TRUST_ME"));
        invalidJob(() -> JobSpec.fromJson(kind), "job spec is invalid: verification kind 'TRUST_ME' is unknown");
        byte[] region = edit(baseSaxpy(), root -> ((ObjectNode) root.get("requirements")).putArray("regions")
                .add("germany"));
        invalidJob(() -> JobSpec.fromJson(region), "job spec is invalid: region country 'germany'");
        byte[] bool = edit(baseSaxpy(), root -> ((ObjectNode) root.get("params")).put("alpha", true));
        invalidJob(() -> JobSpec.fromJson(bool), "launch parameter 'alpha' must be an integer or a float");
    }

    /**
     * An integer that does not fit in a long is silently truncated by JsonNode.longValue():
     * n = 2^64 + 64 is read as n = 64, and the spec that comes back is not the one the JSON
     * describes. It must be rejected.
     */
    @Test
    void fromJson_integerBeyondLongRange_rejected() {
        String json = text(baseSaxpy()).replace("\"n\":64", "\"n\":18446744073709551680");
        assertTrue(json.contains("18446744073709551680"));
        assertThrowsExactly(InvalidJobException.class, () -> JobSpec.fromJson(json.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * A number field written as a string is read as 0 by JsonNode.longValue(): a deadline of
     * "tomorrow" becomes 1970-01-01T00:00:00Z instead of an error.
     */
    @Test
    void fromJson_numberFieldAsString_rejected() {
        String json = text(baseSaxpy()).replace("\"deadlineEpochMillis\":" + DEADLINE.toEpochMilli(),
                "\"deadlineEpochMillis\":\"tomorrow\"");
        assertTrue(json.contains("tomorrow"));
        invalidJob(() -> JobSpec.fromJson(json.getBytes(StandardCharsets.UTF_8)), "deadlineEpochMillis");
    }

    /** A fractional price is truncated: 1000000.9 micro-USD is read as $1.000000. */
    @Test
    void fromJson_fractionalMicroUsd_rejected() {
        String json = text(baseSaxpy()).replace("\"maxPriceMicroUsd\":1000000", "\"maxPriceMicroUsd\":1000000.9");
        assertTrue(json.contains("1000000.9"));
        invalidJob(() -> JobSpec.fromJson(json.getBytes(StandardCharsets.UTF_8)), "maxPriceMicroUsd");
    }

    /** {@code {...} garbage} is not JSON; Jackson's readTree stops after the first value unless told not to. */
    @Test
    void fromJson_trailingGarbage_rejected() {
        byte[] json = (text(baseSaxpy()) + " {\"format\":\"evil\"}").getBytes(StandardCharsets.UTF_8);
        invalidJob(() -> JobSpec.fromJson(json), "malformed");
    }

    // -------------------------------------------------------- constructor checks

    @Test
    void constructor_missingInput_rejected() {
        JobSpec s = baseSaxpy();
        shapeMismatch(() -> with(s, s.params(), List.of(s.inputs().get(0))), "kernel saxpy needs input 'y' of 256");
    }

    @Test
    void constructor_extraInput_rejected() {
        JobSpec s = baseSaxpy();
        InputRef z = new InputRef("z", 256, s.inputs().get(0).merkleRoot());
        shapeMismatch(() -> with(s, s.params(), List.of(s.inputs().get(0), s.inputs().get(1), z)),
                "kernel saxpy does not read input(s) [z]");
    }

    @Test
    void constructor_wrongSizeInput_rejected() {
        JobSpec s = baseSaxpy();
        InputRef x = s.inputs().get(0);
        for (long bytes : new long[] {252, 260, 255, 4}) {
            InputRef resized = new InputRef("x", bytes, x.merkleRoot());
            shapeMismatch(() -> with(s, s.params(), List.of(resized, s.inputs().get(1))),
                    "input 'x' has " + bytes + " bytes but kernel saxpy");
        }
    }

    @Test
    void constructor_duplicateInput_rejected() {
        JobSpec s = baseSaxpy();
        shapeMismatch(() -> with(s, s.params(), List.of(s.inputs().get(0), s.inputs().get(1), s.inputs().get(0))),
                "input 'x' is given twice");
    }

    @Test
    void constructor_badParams_rejected() {
        JobSpec s = baseSaxpy();
        shapeMismatch(() -> with(s, LaunchParams.builder().put("n", 64).build(), s.inputs()),
                "float launch parameter 'alpha' is missing");
        shapeMismatch(() -> with(s, LaunchParams.builder().put("n", 0).put("alpha", 1f).build(), s.inputs()),
                "dimension n = 0");
    }

    @Test
    void constructor_freivaldsOnNonSgemm_rejected() {
        JobSpec saxpy = baseSaxpy();
        invalidJob(() -> withPolicy(saxpy, VerificationPolicy.freivalds(20)),
                "freivalds verification checks matrix products only, but this job runs saxpy");
        JobSpec reduce = JobFixtures.reduceSum(rnd(), 10).build().spec();
        invalidJob(() -> withPolicy(reduce, VerificationPolicy.freivalds(1)), "but this job runs reduce-sum");
        JobSpec ptx = JobFixtures.scale(rnd(), 10, 1f).build().spec();
        invalidJob(() -> withPolicy(ptx, VerificationPolicy.freivalds(1)), "but this job runs ptx:scale");
    }

    @Test
    void constructor_spotCheckOnPtx_rejected() {
        JobSpec ptx = JobFixtures.scale(rnd(), 10, 1f).build().spec();
        invalidJob(() -> withPolicy(ptx, VerificationPolicy.spotCheck(0.1)),
                "spotCheck recomputes chunks with the CPU reference, which cannot run ptx:scale");
    }

    @Test
    void constructor_policiesThatFit_accepted() {
        JobSpec sgemm = JobFixtures.sgemm(rnd(), 2, 3, 4).build().spec();
        assertEquals(VerificationPolicy.freivalds(64), withPolicy(sgemm, VerificationPolicy.freivalds(64))
                .verification());
        assertEquals(VerificationPolicy.spotCheck(1), withPolicy(baseSaxpy(), VerificationPolicy.spotCheck(1))
                .verification());
        JobSpec ptx = JobFixtures.scale(rnd(), 10, 1f).build().spec();
        assertEquals(VerificationPolicy.redundant(9), withPolicy(ptx, VerificationPolicy.redundant(9))
                .verification());
    }

    @Test
    void constructor_nulls_rejected() {
        JobSpec s = baseSaxpy();
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new JobSpec(null, s.params(), s.inputs(), s.requirements(), s.verification(), s.deadline(),
                        s.maxPrice()));
        assertTrue(e.getMessage().contains("kernel is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> new JobSpec(s.kernel(), s.params(), s.inputs(),
                null, s.verification(), s.deadline(), s.maxPrice()));
        assertTrue(e.getMessage().contains("requirements is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> new JobSpec(s.kernel(), s.params(), s.inputs(),
                s.requirements(), s.verification(), (Instant) null, s.maxPrice()));
        assertTrue(e.getMessage().contains("deadline is null"), e.getMessage());
    }

    @Test
    void bytesMoved_sumsInputsAndOutputs() {
        assertEquals(3 * 4 * 64, baseSaxpy().bytesMoved());
        assertEquals(4L * (6 + 12 + 8), JobFixtures.sgemm(rnd(), 2, 3, 4).build().spec().bytesMoved());
        assertEquals(4L * 10 + 4, JobFixtures.reduceSum(rnd(), 10).build().spec().bytesMoved());
    }
}
