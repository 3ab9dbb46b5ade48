package dev.depin.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class RequirementsTest {

    /** Fixed seed for the provider key and device hashes. Printed so a failure can be replayed. */
    private static final long SEED = 0x4EC0_1DE5_2024L;

    private static final long GIB = 1L << 30;
    private static final String H100 = "NVIDIA H100 80GB HBM3";
    private static final String A100 = "NVIDIA A100-SXM4-40GB";

    private static NodeKeyPair key;
    private static SplittableRandom rnd;

    @BeforeAll
    static void setUp() {
        System.out.println("RequirementsTest seed=" + SEED);
        rnd = new SplittableRandom(SEED);
        byte[] seed = new byte[32];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = (byte) rnd.nextInt(256);
        }
        key = NodeKeyPair.fromSeed(seed);
    }

    private static String hex64() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sb.append("0123456789abcdef".charAt(rnd.nextInt(16)));
        }
        return sb.toString();
    }

    private static DeviceInfo gpu(String model, long memory) {
        return new DeviceInfo(DeviceKind.CUDA, model, memory, "9.0", 132, 51_000.0, hex64(), "580.65.06", "CUDA 13.0");
    }

    private static DeviceInfo cpu(long memory) {
        return new DeviceInfo(DeviceKind.CPU, "AMD EPYC 9654", memory, "-", 96, 3_000.0, hex64(), "-", "Java 17");
    }

    private static ProviderOffer offer(String region, DeviceInfo... devices) {
        return ProviderOffer.sign(key, new OfferTerms("local:p1", List.of(devices), Region.parse(region),
                Set.of("saxpy", "sgemm"), new Price(MicroUsd.ofMicros(100), MicroUsd.ofMicros(10_000)),
                MicroUsd.ofUsd("100"), JobFixtures.DEADLINE));
    }

    private static void invalid(Executable call, String messagePart) {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    private static void mismatch(Requirements r, ProviderOffer o, String messagePart) {
        String why = r.mismatch(o);
        assertNotNull(why, r + " should not admit " + o);
        assertTrue(why.contains(messagePart), "expected '" + messagePart + "' in: " + why);
    }

    @Test
    void any_admitsEveryOffer() {
        assertNull(Requirements.ANY.mismatch(offer("DE/fra-1", gpu(H100, 80 * GIB))));
        assertNull(Requirements.ANY.mismatch(offer("US", cpu(1))));
    }

    @Test
    void mismatch_region() {
        Requirements germany = Requirements.builder().regions(Region.parse("DE")).build();
        assertNull(germany.mismatch(offer("DE/fra-1", gpu(H100, 80 * GIB))));
        assertNull(germany.mismatch(offer("DE", gpu(H100, 80 * GIB))));
        mismatch(germany, offer("FR/par-1", gpu(H100, 80 * GIB)), "region FR/par-1 not in");

        Requirements frankfurt = Requirements.builder().regions(Region.parse("DE/fra-1")).build();
        assertNull(frankfurt.mismatch(offer("DE/fra-1", gpu(H100, 80 * GIB))));
        mismatch(frankfurt, offer("DE/ber-1", gpu(H100, 80 * GIB)), "region DE/ber-1 not in");

        Requirements either = Requirements.builder().regions(Region.parse("FR"), Region.parse("DE/fra-1")).build();
        assertNull(either.mismatch(offer("FR/par-1", gpu(H100, 80 * GIB))));
        assertNull(either.mismatch(offer("DE/fra-1", gpu(H100, 80 * GIB))));
        mismatch(either, offer("DE/ber-1", gpu(H100, 80 * GIB)), "region DE/ber-1 not in");
    }

    @Test
    void mismatch_memory() {
        Requirements big = Requirements.builder().minDeviceMemoryBytes(80 * GIB).build();
        assertNull(big.mismatch(offer("US", gpu(H100, 80 * GIB))), "exactly the minimum is enough");
        mismatch(big, offer("US", gpu(A100, 80 * GIB - 1)), "no device with >= " + (80 * GIB) + " bytes");
    }

    @Test
    void mismatch_model() {
        Requirements h100 = Requirements.builder().models(H100).build();
        assertNull(h100.mismatch(offer("US", gpu(H100, 80 * GIB))));
        mismatch(h100, offer("US", gpu(A100, 40 * GIB)), "of model [" + H100 + "]");
        // model names match exactly, not by prefix or case
        mismatch(h100, offer("US", gpu(H100.toLowerCase(java.util.Locale.ROOT), 80 * GIB)), "of model");
        mismatch(h100, offer("US", gpu("NVIDIA H100", 80 * GIB)), "of model");
    }

    @Test
    void mismatch_kind() {
        Requirements cuda = Requirements.builder().deviceKinds(DeviceKind.CUDA).build();
        assertNull(cuda.mismatch(offer("US", gpu(H100, 80 * GIB))));
        mismatch(cuda, offer("US", cpu(512 * GIB)), "of kind [CUDA]");
    }

    @Test
    void mismatch_oneDeviceMustMeetEveryRequirement() {
        Requirements r = Requirements.builder().minDeviceMemoryBytes(80 * GIB).models(A100)
                .deviceKinds(DeviceKind.CUDA).build();
        // one device has the memory, another the model: neither alone qualifies
        mismatch(r, offer("US", gpu(H100, 80 * GIB), gpu(A100, 40 * GIB), cpu(1024 * GIB)), "no device with");
        // a device that has everything qualifies the offer, wherever it is listed
        assertNull(r.mismatch(offer("US", gpu(H100, 80 * GIB), cpu(1024 * GIB), gpu(A100, 80 * GIB))));
    }

    @Test
    void constructor_minReputationOutOfRange_rejected() {
        for (double bad : new double[] {-0.1, 1.1, Math.nextUp(1.0), -Double.MIN_VALUE, Double.NaN,
            Double.POSITIVE_INFINITY}) {
            invalid(() -> Requirements.builder().minReputation(bad).build(),
                    "minimum reputation is " + bad + ": give a number between 0 and 1");
        }
    }

    @Test
    void constructor_minReputationBounds_accepted() {
        assertEquals(0.0, Requirements.builder().minReputation(0).build().minReputation());
        assertEquals(1.0, Requirements.builder().minReputation(1).build().minReputation());
    }

    @Test
    void constructor_negativeMemory_rejected() {
        invalid(() -> Requirements.builder().minDeviceMemoryBytes(-1).build(), "minimum device memory is -1 bytes");
    }

    @Test
    void constructor_nullSets_rejected() {
        invalid(() -> new Requirements(0, null, Set.of(), Set.of(), 0), "required models is null");
        invalid(() -> new Requirements(0, Set.of(), null, Set.of(), 0), "required regions is null");
        invalid(() -> new Requirements(0, Set.of(), Set.of(), null, 0), "required device kinds is null");
    }

    @Test
    void constructor_copiesSets() {
        Set<String> models = new HashSet<>(Set.of(H100));
        Requirements r = new Requirements(0, models, Set.of(), Set.of(), 0);
        models.add(A100);
        assertEquals(Set.of(H100), r.models());
        mismatch(r, offer("US", gpu(A100, 40 * GIB)), "of model");
    }

    /**
     * The builder's varargs go through {@code Set.of}, which throws
     * {@code java.lang.IllegalArgumentException("duplicate element")} for a repeated
     * model or region: not a depin exception and no hint what to do. Either
     * de-duplicating or an {@link InvalidArgumentException} naming the duplicate is fine.
     */
    @Test
    void builder_duplicateModel_deduplicatedOrRejectedClearly() {
        Requirements r;
        try {
            r = Requirements.builder().models(H100, H100).build();
        } catch (InvalidArgumentException clear) {
            assertTrue(clear.getMessage().contains(H100), clear.getMessage());
            return;
        }
        assertEquals(Set.of(H100), r.models());
    }
}
