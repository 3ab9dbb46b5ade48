package dev.depin.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.Executor;
import dev.depin.executor.spi.ExecutorProvider;
import dev.depin.executor.spi.JobWorkspace;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.provider.DeviceKind;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The executor contract on the CPU reference executor, plus its own edge cases. */
class CpuExecutorTest extends ExecutorContractTest {

    @Override
    protected Executor createExecutor() {
        return new CpuExecutor(2);
    }

    @Test
    void constructor_badThreadCount() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> new CpuExecutor(0));
        assertTrue(e.getMessage().contains("threads is 0"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> new CpuExecutor(1025));
    }

    @Test
    void execute_wrongInputSize() {
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class, () -> executor().execute(
                BuiltinKernel.SAXPY, LaunchParams.builder().put("n", 4).put("alpha", 1f).build(),
                Map.of("x", bytes(new float[4]), "y", bytes(new float[3])), new JobWorkspace()));
        assertTrue(e.getMessage().contains("input 'y' must have 16 bytes, got 12"), e.getMessage());
    }

    @Test
    void execute_afterClose() {
        CpuExecutor cpu = new CpuExecutor(1);
        cpu.close();
        cpu.close();
        assertThrows(ExecutionFailedException.class, () -> cpu.execute(BuiltinKernel.REDUCE_SUM,
                LaunchParams.builder().put("n", 1).build(), Map.of("x", bytes(new float[1])), new JobWorkspace()));
    }

    @Test
    void device_isCpu() {
        assertEquals(DeviceKind.CPU, executor().device().kind());
        assertEquals("cpu", executor().kind());
        assertEquals(2, executor().device().units());
    }

    @Test
    void registry_findsCpuAndCreatesBest() {
        assertTrue(ExecutorRegistry.providers().stream().map(ExecutorProvider::name).anyMatch("cpu"::equals));
        try (Executor best = ExecutorRegistry.createBest(1)) {
            assertTrue(best.supports(BuiltinKernel.SGEMM));
        }
        assertThrows(InvalidArgumentException.class, () -> ExecutorRegistry.createBest(0));
    }
}
