package dev.depin.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** nvidia-smi's CSV parsed exactly; a machine without it (this one) gets no telemetry and no crash. */
class GpuTelemetryTest {
    private static final double MIB = 1 << 20;

    private static String recorded(String name) throws IOException {
        try (var in = GpuTelemetryTest.class.getResourceAsStream("/nvidia-smi/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void parse_recordedRows() throws IOException {
        List<GpuTelemetry.Sample> idle = GpuTelemetry.parse(recorded("h100-idle.csv"));
        assertEquals(List.of(new GpuTelemetry.Sample(0, "NVIDIA H100 80GB HBM3", 0, 1 * MIB, 81559 * MIB, 31, 69.72)),
                idle);
        List<GpuTelemetry.Sample> busy = GpuTelemetry.parse(recorded("h100x2-busy.csv"));
        assertEquals(2, busy.size());
        assertEquals(new GpuTelemetry.Sample(1, "NVIDIA H100 80GB HBM3", 100, 77824 * MIB, 81559 * MIB, 63, 688.10),
                busy.get(1));
        GpuTelemetry.Sample rtx = GpuTelemetry.parse(recorded("rtx4090-no-power.csv")).get(0);
        assertEquals("NVIDIA GeForce RTX 4090", rtx.name());
        assertEquals(52, rtx.temperature());
        assertTrue(Double.isNaN(rtx.power()), "[N/A] is not a reading");
        assertEquals(List.of(), GpuTelemetry.parse("\n  \n"));
    }

    @Test
    void parse_refusesWhatIsNotNvidiaSmiOutput() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> GpuTelemetry.parse("0, NVIDIA H100 80GB HBM3, 0, 1, 81559, 31"));
        assertEquals("nvidia-smi line '0, NVIDIA H100 80GB HBM3, 0, 1, 81559, 31' has 6 fields, not the 8 of "
                + GpuTelemetry.QUERY + " (or 7 without the uuid)", e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> GpuTelemetry.parse("0, H100, 0, 1, 81559, hot, 69.72"));
        assertEquals("nvidia-smi line '0, H100, 0, 1, 81559, hot, 69.72': 'hot' is not a reading", e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.parse("0, H100, -5, 1, 81559, 31, 69.72"));
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.parse("0, H100, NaN, 1, 81559, 31, 69.72"));
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.parse("x, H100, 0, 1, 81559, 31, 69.72"));
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.parse("1.5, H100, 0, 1, 81559, 31, 69.72"));
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.parse(null));
    }

    /** Rows with the uuid (an example written here, not recorded): each GPU's power found by its UUID. */
    @Test
    void powerOfOneGpu_matchedByUuid(@TempDir Path dir) throws Exception {
        String uuid0 = "GPU-3f2a1c0e-8b7d-4e6f-9a01-23456789abcd";
        String uuid1 = "GPU-0d1e2f30-4152-6374-8596-a7b8c9dae0f1";
        List<GpuTelemetry.Sample> rows = GpuTelemetry.parse("0, NVIDIA H100 80GB HBM3, 97, 40817, 81559, 58, 612.38, "
                + uuid0 + "\n1, NVIDIA H100 80GB HBM3, 100, 77824, 81559, 63, 688.10, " + uuid1 + "\n");
        assertEquals(uuid1, rows.get(1).uuid());
        // The executor names its device by SHA-256 of cuDeviceGetUuid's 16 bytes: the same bytes as the hex here.
        String hash1 = dev.depin.crypto.Sha256.hex(dev.depin.crypto.Hex.decode("0d1e2f304152637485 96a7b8c9dae0f1"
                .replace(" ", "")));
        assertEquals(hash1, rows.get(1).uuidHash());
        assertNull(GpuTelemetry.parse(recorded("h100-idle.csv")).get(0).uuidHash(), "a recorded row has no uuid");
        assertNull(new GpuTelemetry.Sample(0, "x", 0, 0, 0, 0, 1, "MIG-0d1e2f30").uuidHash());

        Path csv = dir.resolve("rows.csv");
        Files.writeString(csv, "0, NVIDIA H100 80GB HBM3, 97, 40817, 81559, 58, 612.38, " + uuid0 + "\n"
                + "1, NVIDIA H100 80GB HBM3, 100, 77824, 81559, 63, 688.10, " + uuid1 + "\n");
        Path smi = script(dir, "cat '" + csv + "'\n");
        try (GpuTelemetry t = GpuTelemetry.start(new SimpleMeterRegistry(), Duration.ofSeconds(1),
                List.of(smi.toString()))) {
            assertEquals(688.10, t.powerWatts(hash1), 0);
            assertEquals(612.38, t.powerWatts(rows.get(0).uuidHash()), 0);
            assertEquals(612.38 + 688.10, t.powerWatts(), 1e-9, "the machine's total is still there");
            assertTrue(Double.isNaN(t.powerWatts("00".repeat(32))), "a GPU nvidia-smi does not list");
            assertThrows(InvalidArgumentException.class, () -> t.powerWatts(null));
        }
    }

    @Test
    void noNvidiaSmi_unavailableWithTheReason_nothingPublished() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (GpuTelemetry t = GpuTelemetry.start(registry, Duration.ofSeconds(1),
                List.of("/nonexistent/nvidia-smi"))) {
            assertFalse(t.available());
            assertTrue(t.unavailability().startsWith("nvidia-smi (/nonexistent/nvidia-smi) gave no GPU readings: "),
                    t.unavailability());
            assertTrue(Double.isNaN(t.powerWatts()));
            assertEquals(List.of(), t.latest());
            assertTrue(registry.getMeters().isEmpty());
        }
    }

    @Test
    void failingNvidiaSmi_unavailable(@TempDir Path dir) throws IOException {
        Path smi = script(dir, "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\n"
                + "exit 9\n");
        try (GpuTelemetry t = GpuTelemetry.start(new SimpleMeterRegistry(), Duration.ofSeconds(1), List.of(smi.toString()))) {
            assertFalse(t.available());
            assertTrue(t.unavailability().endsWith("exit status 9: NVIDIA-SMI has failed because it could not "
                    + "communicate with the NVIDIA driver."), t.unavailability());
        }
    }

    /** A replay of recorded output through a real process: gauges per GPU, energy integrated from power. */
    @Test
    void replayedNvidiaSmi_publishesGaugesAndIntegratesEnergy(@TempDir Path dir) throws Exception {
        Path rows = dir.resolve("rows.csv");
        Files.writeString(rows, recorded("h100x2-busy.csv"));
        Path smi = script(dir, "cat '" + rows + "'\n");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (GpuTelemetry t = GpuTelemetry.start(registry, Duration.ofMillis(100), List.of(smi.toString()))) {
            assertTrue(t.available(), t.unavailability());
            assertNull(t.unavailability());
            assertEquals(612.38 + 688.10, t.powerWatts(), 1e-9);
            assertEquals(58, registry.get("depin.gpu.temperature").tag("gpu", "0").gauge().value());
            assertEquals(100, registry.get("depin.gpu.utilization").tag("gpu", "1").gauge().value());
            assertEquals(77824 * MIB, registry.get("depin.gpu.memory.used").tag("gpu", "1")
                    .tag("model", "NVIDIA H100 80GB HBM3").gauge().value());
            long until = System.nanoTime() + 60_000_000_000L;
            while (t.energyJoules() == 0 && System.nanoTime() < until) {
                Thread.sleep(50); // liveness only: the second sample starts the integral
            }
            double joules = registry.get("depin.gpu.energy").functionCounter().count();
            assertTrue(joules > 0, "constant power over a positive time: " + joules);
            assertEquals(t.energyJoules(), joules, joules * 1e-9 + 1e-9);
        }
    }

    @Test
    void start_validates() {
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.start(new SimpleMeterRegistry(),
                Duration.ofMillis(10)));
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.start(new SimpleMeterRegistry(),
                Duration.ofSeconds(1), List.of()));
        assertThrows(InvalidArgumentException.class, () -> GpuTelemetry.start(null, Duration.ofSeconds(1)));
    }

    private static Path script(Path dir, String body) throws IOException {
        Path p = dir.resolve("nvidia-smi");
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }
}
