package dev.depin.cuda.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.WipeRecord;
import dev.depin.cuda.DeviceException;
import dev.depin.executor.spi.ExecutionFailedException;
import jcuda.CudaException;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;

/** Driver results become DeviceExceptions naming call and error; device wipe records; driver versions. */
class DriverTest {
    @Test
    void check_namesCallAndError() {
        Driver.check("cuMemAlloc(1 bytes)", CUresult.CUDA_SUCCESS);
        DeviceException e = assertThrows(DeviceException.class,
                () -> Driver.check("cuMemAlloc(1024 bytes, a)", CUresult.CUDA_ERROR_OUT_OF_MEMORY));
        assertEquals("cuMemAlloc(1024 bytes, a)", e.call());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.error());
        assertTrue(e.getMessage().startsWith("cuMemAlloc(1024 bytes, a) failed: CUDA_ERROR_OUT_OF_MEMORY; "),
                e.getMessage());
        assertTrue(e instanceof ExecutionFailedException);
    }

    @Test
    void call_convertsJcudaExceptionsAndLinkageErrors() {
        DeviceException e = assertThrows(DeviceException.class, () -> Driver.call("cuModuleLoadData(x)", () -> {
            throw new CudaException("CUDA_ERROR_UNSUPPORTED_PTX_VERSION");
        }));
        assertEquals("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", e.error());
        assertTrue(e.getMessage().contains("driver >= 580"), e.getMessage());
        DeviceException l = assertThrows(DeviceException.class, () -> Driver.call("cuInit", () -> {
            throw new UnsatisfiedLinkError("libcuda.so.1");
        }));
        assertTrue(l.getMessage().contains("libcuda.so.1"), l.getMessage());
        assertEquals("CUresult 99999", Driver.name(99999));
    }

    @Test
    void deviceRecord_digestsTheCounters() {
        WipeRecord r = CudaJob.deviceRecord("x", 1000, 0xa7, 0, 1000L * 0xa7);
        assertEquals(WipeRecord.DEVICE_READBACK_REDUCTION, r.method());
        assertEquals(WipeRecord.DEVICE, r.location());
        assertEquals("00000000000003e8" + "0000000000000000" + String.format("%016x", 1000L * 0xa7), r.checkDigest());
        ExecutionFailedException e = assertThrows(ExecutionFailedException.class,
                () -> CudaJob.deviceRecord("x", 1000, 0xa7, 3, 1000L * 0xa7));
        assertTrue(e.getMessage().contains("3 of 1000 bytes differ"), e.getMessage());
        assertThrows(ExecutionFailedException.class, () -> CudaJob.deviceRecord("x", 1000, 0xa7, 0, 5));
    }

    @Test
    void parseDriverVersion_readsProcText() {
        assertEquals("580.65.06", DeviceContext.parseDriverVersion("NVRM version: NVIDIA UNIX Open Kernel Module for "
                + "x86_64  580.65.06  Release Build  (dvs-builder@U16-I3-B03-4-3)  Tue Jul 22 2025\nGCC version: 12")
                .orElseThrow());
        assertEquals("550.54.15", DeviceContext.parseDriverVersion("NVRM version: NVIDIA UNIX x86_64 Kernel Module  "
                + "550.54.15  Tue Mar  5 22:23:56 UTC 2024").orElseThrow());
        assertTrue(DeviceContext.parseDriverVersion("nothing").isEmpty());
    }
}
