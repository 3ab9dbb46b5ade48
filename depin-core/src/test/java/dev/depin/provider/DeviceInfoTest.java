package dev.depin.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class DeviceInfoTest {

    /** Fixed seed for the generated uuid hashes. Printed so a failure can be replayed. */
    private static final long SEED = 0xDE71_CE00_2024L;

    private static String uuidHash;

    @BeforeAll
    static void setUp() {
        System.out.println("DeviceInfoTest seed=" + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sb.append("0123456789abcdef".charAt(rnd.nextInt(16)));
        }
        uuidHash = sb.toString();
    }

    private static DeviceInfo gpu() {
        return new DeviceInfo(DeviceKind.CUDA, "NVIDIA H100 80GB HBM3", 80L << 30, "9.0", 132, 51_000.0, uuidHash, "580.65.06", "CUDA 13.0");
    }

    private static void rejected(Executable construct, String messagePart) {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, construct);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    @Test
    void constructor_validGpu_keepsFields() {
        DeviceInfo d = gpu();
        assertEquals(DeviceKind.CUDA, d.kind());
        assertEquals("NVIDIA H100 80GB HBM3", d.model());
        assertEquals(80L << 30, d.memoryBytes());
        assertEquals("9.0", d.computeCapability());
        assertEquals(132, d.units());
        assertEquals(51_000.0, d.fp32Gflops());
        assertEquals(uuidHash, d.uuidHash());
    }

    @Test
    void constructor_validCpu_accepted() {
        DeviceInfo d = new DeviceInfo(DeviceKind.CPU, "AMD EPYC 9654", 1L, "-", 1, Double.MIN_VALUE, uuidHash, "-", "Java 17");
        assertEquals("-", d.computeCapability());
    }

    @Test
    void constructor_nullFields_rejected() {
        rejected(() -> new DeviceInfo(null, "m", 1, "9.0", 1, 1, uuidHash, "-", "Java 17"), "device kind is null");
        rejected(() -> new DeviceInfo(DeviceKind.CUDA, null, 1, "9.0", 1, 1, uuidHash, "580.65.06", "CUDA 13.0"), "device model is null");
        rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", 1, null, 1, 1, uuidHash, "580.65.06", "CUDA 13.0"),
                "device compute capability is null");
        rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", 1, "9.0", 1, 1, null, "580.65.06", "CUDA 13.0"), "device uuid hash is null");
    }

    @Test
    void constructor_badModel_rejected() {
        for (String bad : new String[] {"", "   ", "x".repeat(129), "NVIDIA H100 \u00e9", "line\nbreak", "tab\there",
            "del\u007f"}) {
            rejected(() -> new DeviceInfo(DeviceKind.CUDA, bad, 1, "9.0", 1, 1, uuidHash, "580.65.06", "CUDA 13.0"),
                    "must be 1-128 printable ASCII characters");
        }
    }

    @Test
    void constructor_modelOf128PrintableCharacters_accepted() {
        String model = "~".repeat(128);
        assertEquals(model, new DeviceInfo(DeviceKind.CUDA, model, 1, "9.0", 1, 1, uuidHash, "580.65.06", "CUDA 13.0").model());
    }

    @Test
    void constructor_nonPositiveMemory_rejected() {
        for (long bad : new long[] {0, -1, Long.MIN_VALUE}) {
            rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", bad, "9.0", 1, 1, uuidHash, "580.65.06", "CUDA 13.0"),
                    "device memory is " + bad + " bytes");
        }
    }

    @Test
    void constructor_badComputeCapability_rejected() {
        for (String bad : new String[] {"", "9", "9.", ".9", "9.0.1", "100.0", "9.10", "a.b", "--", "sm_90", " 9.0"}) {
            rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", 1, bad, 1, 1, uuidHash, "580.65.06", "CUDA 13.0"),
                    "compute capability '" + bad + "'");
        }
    }

    @Test
    void constructor_twoDigitMajorComputeCapability_accepted() {
        assertEquals("10.0", new DeviceInfo(DeviceKind.CUDA, "m", 1, "10.0", 1, 1, uuidHash, "580.65.06", "CUDA 13.0").computeCapability());
    }

    @Test
    void constructor_nonPositiveUnits_rejected() {
        for (int bad : new int[] {0, -3, Integer.MIN_VALUE}) {
            rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", 1, "9.0", bad, 1, uuidHash, "580.65.06", "CUDA 13.0"),
                    "device units is " + bad);
        }
    }

    @Test
    void constructor_badGflops_rejected() {
        for (double bad : new double[] {0.0, -0.0, -1.0, Double.NaN, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY}) {
            rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", 1, "9.0", 1, bad, uuidHash, "580.65.06", "CUDA 13.0"),
                    "device fp32Gflops is " + bad);
        }
    }

    @Test
    void constructor_badUuidHash_rejected() {
        String[] bad = {uuidHash.toUpperCase(java.util.Locale.ROOT).replace('0', 'A'), uuidHash.substring(1),
            uuidHash + "0", "g" + uuidHash.substring(1), "", uuidHash.substring(0, 63) + " "};
        for (String b : bad) {
            rejected(() -> new DeviceInfo(DeviceKind.CUDA, "m", 1, "9.0", 1, 1, b, "580.65.06", "CUDA 13.0"), "64 lower-case hex characters");
        }
    }
}
