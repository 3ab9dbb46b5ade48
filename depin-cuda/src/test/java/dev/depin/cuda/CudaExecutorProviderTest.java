package dev.depin.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.depin.cuda.internal.CudaExecutorProvider;
import dev.depin.executor.ExecutorRegistry;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.executor.spi.ExecutorProvider;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Discovery and the fallback path: the provider is found by ServiceLoader and ranks above
 * the CPU, asking its name loads no native code, and without a device the registry hands out
 * the CPU executor while creating the CUDA one fails with the probe's reason.
 */
class CudaExecutorProviderTest {
    @Test
    void providers_findCudaAboveCpu() {
        List<ExecutorProvider> providers = ExecutorRegistry.providers();
        assertEquals("cuda", providers.get(0).name());
        assertEquals(100, providers.get(0).rank());
        assertTrue(providers.stream().anyMatch(p -> p.name().equals("cpu")));
    }

    @Test
    void availability_tellsTheProbesAnswer() {
        ExecutorProvider.Availability a = new CudaExecutorProvider().availability();
        assertEquals(Cuda.isAvailable(), a.available());
        assertFalse(a.cause().isBlank());
    }

    @Test
    void createBest_fallsBackToCpuWithoutDevice() {
        assumeFalse(Cuda.isAvailable(), "a CUDA device is present: the fallback path is not taken here");
        try (DeviceExecutor e = ExecutorRegistry.createBest(ExecutorOptions.threads(1))) {
            assertEquals("cpu", e.kind());
        }
    }

    @Test
    void create_withoutDeviceSaysWhy() {
        assumeFalse(Cuda.isAvailable(), "a CUDA device is present");
        ExecutionFailedException e = assertThrows(ExecutionFailedException.class,
                () -> new CudaExecutorProvider().create(ExecutorOptions.threads(1)));
        assertTrue(e.getMessage().startsWith("CUDA is unavailable: "), e.getMessage());
        assertTrue(e.getMessage().contains("use the CPU executor"), e.getMessage());
        assertThrows(Cuda.CudaUnavailableException.class, () -> new CudaExecutor(0));
    }
}
