package dev.depin.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The probe never crashes and tells the truth about this machine: on one without an
 * NVIDIA driver (CI, these development machines) CUDA is unavailable with the cause; on a
 * GPU machine it is available with at least one device.
 */
class CudaTest {

    private static boolean driverInstalled() {
        return Files.exists(Path.of("/proc/driver/nvidia/version"));
    }

    @Test
    void probe_reportsThisMachineTruthfully() {
        if (driverInstalled() && !Boolean.getBoolean(Cuda.DISABLE_PROPERTY)) {
            assertTrue(Cuda.isAvailable(), () -> "driver present but probe failed: " + Cuda.unavailabilityCause());
            assertNull(Cuda.unavailabilityCause());
            assertTrue(Cuda.deviceCount() >= 1);
            Cuda.ensureAvailability();
        } else {
            assertTrue(!Cuda.isAvailable());
            assertEquals(0, Cuda.deviceCount());
            Throwable cause = Cuda.unavailabilityCause();
            assertNotNull(cause);
            Cuda.CudaUnavailableException e = assertThrows(Cuda.CudaUnavailableException.class, Cuda::ensureAvailability);
            assertTrue(e.getMessage().startsWith("CUDA is unavailable: "), e.getMessage());
            assertTrue(e.getMessage().contains("use the CPU executor"), e.getMessage());
        }
    }

    @Test
    void probe_isStable() {
        assertEquals(Cuda.isAvailable(), Cuda.isAvailable());
        assertEquals(Cuda.unavailabilityCause(), Cuda.unavailabilityCause());
    }
}
