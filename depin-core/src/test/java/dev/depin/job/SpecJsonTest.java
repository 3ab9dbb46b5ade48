package dev.depin.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.depin.crypto.CanonicalJson;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.PtxKernel;
import dev.depin.money.MicroUsd;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.Region;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The spec's canonical JSON is written straight to a generator; its bytes must stay exactly
 * those of the earlier form (sorted maps written by {@link CanonicalJson#writer()}), which
 * every spec hash signed so far was computed over. The reference below is that earlier form.
 */
class SpecJsonTest {
    /** Fixed seed for the generated specs. Printed so a failure can be replayed. */
    private static final long SEED = 0x5BEC_0000_1206L;
    private static final String[] ODD = {"", "A100", "H100 80GB HBM3", "\u00e9t\u00e9", "\u65e5\u672c",
        "quote\"back\\slash", "tab\tnl\ncr\r", "\u0001\u001f", "\ud83d\ude80 rocket", "\u2028\u2029", "<>&'"};

    @BeforeAll
    static void printSeed() {
        System.out.println("SpecJsonTest seed=" + SEED);
    }

    @Test
    void write_manyGeneratedSpecs_sameBytesAsSortedMaps() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 2_000; i++) {
            JobSpec base = switch (i % 4) {
                case 0 -> JobFixtures.saxpy(rnd, 1 + rnd.nextInt(64), (float) rnd.nextDouble(-1e6, 1e6)).build().spec();
                case 1 -> JobFixtures.sgemm(rnd, 1 + rnd.nextInt(4), 1 + rnd.nextInt(4), 1 + rnd.nextInt(4)).build()
                        .spec();
                case 2 -> JobFixtures.reduceSum(rnd, 1 + rnd.nextInt(64)).build().spec();
                default -> JobFixtures.scale(rnd, 1 + rnd.nextInt(600), finite(rnd))
                        .build().spec();
            };
            Set<String> models = new HashSet<>();
            for (int m = rnd.nextInt(4); m > 0; m--) {
                models.add(ODD[rnd.nextInt(ODD.length)] + rnd.nextInt(100));
            }
            Set<Region> regions = new HashSet<>();
            for (int r = rnd.nextInt(3); r > 0; r--) {
                regions.add(new Region(rnd.nextBoolean() ? "DE" : "US", rnd.nextBoolean() ? "" : "z-" + rnd.nextInt(9)));
            }
            Set<DeviceKind> kinds = new HashSet<>();
            for (DeviceKind k : DeviceKind.values()) {
                if (rnd.nextBoolean()) {
                    kinds.add(k);
                }
            }
            Requirements req = new Requirements(rnd.nextLong(0, Long.MAX_VALUE), models, regions, kinds,
                    rnd.nextInt(5) == 0 ? 0 : rnd.nextDouble());
            // Each kernel takes only the policies its reference can check.
            int kind = i % 4 == 3 ? 2 * rnd.nextInt(2) : i % 4 == 1 ? rnd.nextInt(4) : new int[] {0, 2, 3}[rnd.nextInt(3)];
            VerificationPolicy policy = switch (kind) {
                case 0 -> VerificationPolicy.of("SIGNATURE_ONLY", 0, 0, 0);
                case 1 -> VerificationPolicy.of("FREIVALDS", 1 + rnd.nextInt(40), 0, 0);
                case 3 -> VerificationPolicy.of("SPOT_CHECK", 0, Math.max(1e-9, rnd.nextDouble()), 0);
                default -> VerificationPolicy.of("REDUNDANT", 0, 0, 2 + rnd.nextInt(3));
            };
            JobSpec spec = new JobSpec(base.kernel(), base.params(), base.inputs(), req, policy,
                    Instant.ofEpochMilli(rnd.nextLong(0, 4_102_444_800_000L)),
                    MicroUsd.ofMicros(rnd.nextLong(0, 1L << 50)));
            assertArrayEquals(sortedMaps(spec), SpecJson.write(spec), () -> "spec " + spec);
        }
    }

    /** Any finite float, from its bits (subnormals, negative zero and extremes included). */
    private static float finite(SplittableRandom rnd) {
        float f;
        do {
            f = Float.intBitsToFloat(rnd.nextInt());
        } while (!Float.isFinite(f));
        return f;
    }

    /** The form before the streaming writer: sorted maps, written by the canonical writer. */
    private static byte[] sortedMaps(JobSpec spec) throws Exception {
        Map<String, Object> root = new TreeMap<>();
        root.put("format", JobSpec.FORMAT);
        root.put("kernel", kernel(spec.kernel()));
        Map<String, Object> params = new TreeMap<>();
        params.putAll(spec.params().longs());
        spec.params().floats().forEach((k, v) -> params.put(k, Float.toHexString(v)));
        root.put("params", params);
        List<Object> inputs = new ArrayList<>();
        for (InputRef in : spec.inputs()) {
            inputs.add(new TreeMap<>(Map.of("name", in.name(), "bytes", in.bytes(), "merkleRoot", in.merkleRoot())));
        }
        root.put("inputs", inputs);
        Requirements r = spec.requirements();
        Map<String, Object> req = new TreeMap<>();
        req.put("minDeviceMemoryBytes", r.minDeviceMemoryBytes());
        req.put("models", new TreeSet<>(r.models()));
        req.put("regions", sorted(r.regions()));
        req.put("deviceKinds", sorted(r.deviceKinds()));
        req.put("minReputation", Double.toHexString(r.minReputation()));
        root.put("requirements", req);
        VerificationPolicy v = spec.verification();
        root.put("verification", new TreeMap<>(Map.of("kind", v.kind(), "rounds", v.rounds(),
                "fraction", Double.toHexString(v.fraction()), "replicas", v.replicas())));
        root.put("deadlineEpochMillis", spec.deadline().toEpochMilli());
        root.put("maxPriceMicroUsd", spec.maxPrice().micros());
        return CanonicalJson.writer().writeValueAsBytes(root);
    }

    private static Object kernel(Kernel k) {
        Map<String, Object> m = new TreeMap<>();
        m.put("id", k.id());
        m.put("hash", k.codeHash());
        if (k instanceof PtxKernel ptx) {
            m.put("entry", ptx.entry());
            m.put("ptx", ptx.ptx());
            List<Object> ps = new ArrayList<>();
            for (PtxKernel.Param p : ptx.params()) {
                ps.add(new TreeMap<>(Map.of("kind", p.kind().name(), "name", p.name())));
            }
            m.put("params", ps);
        }
        return m;
    }

    private static List<String> sorted(Set<?> values) {
        TreeSet<String> s = new TreeSet<>();
        values.forEach(v -> s.add(v.toString()));
        return new ArrayList<>(s);
    }
}
