package dev.depin.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.executor.spi.ExecutorProvider;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.provider.DeviceKind;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The executor contract on the CPU reference executor, plus its own edge cases. */
class CpuExecutorTest extends ExecutorContractTest {

    @Override
    protected DeviceExecutor createExecutor() {
        return new CpuExecutor(2);
    }

    @Test
    void constructor_badThreadCount() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> new CpuExecutor(0));
        assertTrue(e.getMessage().contains("threads is 0"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> new CpuExecutor(1025));
    }

    @Test
    void open_afterClose() {
        CpuExecutor cpu = new CpuExecutor(1);
        cpu.close();
        cpu.close();
        ExecutionFailedException e = assertThrows(ExecutionFailedException.class,
                () -> cpu.open(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", 1).build()));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void close_withoutWipeStillOverwritesHostBuffers() {
        ByteBuffer original = bytes(new float[] {1.5f, -2.25f, 3.125f});
        ExecutionContext ctx = executor().open(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", 3).build());
        ByteBuffer x = ctx.input("x");
        x.put(original.duplicate());
        ctx.close();
        ctx.close();
        for (int i = 0; i < 12; i++) {
            assertEquals(x.get(0), x.get(i), "byte " + i + " is not the wipe pattern");
        }
        assertNotEquals(original.duplicate(), x.duplicate().clear(), "the input survived close()");
    }

    @Test
    void wipeOnAPool_overwritesEveryByteAndRecordsWhatOneThreadRecords() {
        // m = k = n = 600: A, B and C (and their float copies) are 1.44 MB each, so each is cut
        // into ranges on the pool. Seed printed for a rerun.
        long seed = 20261207L;
        System.out.println("seed " + seed);
        java.util.Random r = new java.util.Random(seed);
        LaunchParams p = LaunchParams.builder().put("m", 600).put("k", 600).put("n", 600).build();
        java.util.List<java.util.List<dev.depin.crypto.WipeRecord>> records = new java.util.ArrayList<>();
        try (dev.depin.crypto.Parallelism pool = dev.depin.crypto.Parallelism.newPool(3)) {
            for (boolean parallel : new boolean[] {true, false}) {
                try (ExecutionContext ctx = executor().open(BuiltinKernel.SGEMM, p)) {
                    float[] values = new float[600 * 600];
                    for (int i = 0; i < values.length; i++) {
                        values[i] = r.nextFloat();
                    }
                    ctx.input("a").put(bytes(values));
                    ctx.input("b").put(bytes(values));
                    ctx.run();
                    java.util.List<dev.depin.crypto.WipeRecord> w = parallel ? ctx.wipe((byte) 0x3c, pool)
                            : ctx.wipe((byte) 0x3c);
                    records.add(w);
                    assertEquals(ctx.allocations().size(), w.size());
                    for (String in : new String[] {"a", "b"}) {
                        ByteBuffer b = ctx.input(in).duplicate().clear();
                        for (int i = 0; i < b.capacity(); i++) {
                            if (b.get(i) != 0x3c) {
                                throw new AssertionError("input " + in + " byte " + i + " is " + b.get(i));
                            }
                        }
                    }
                }
            }
        }
        assertEquals(records.get(1), records.get(0), "the pool's wipe records what one thread's does");
        // A and B are read in place (no float copies); C is computed in one scratch array; the
        // kernel's packed blocks and tiles are two workspaces (one per thread) of the job's scratch.
        java.util.List<String> labels = records.get(0).stream().map(dev.depin.crypto.WipeRecord::label).toList();
        assertEquals(java.util.List.of("a", "b", "c", "scratch:c"), labels.subList(0, 4));
        java.util.List<String> w0 = labels.stream().filter(l -> l.startsWith("scratch:sgemm-w0-")).toList();
        java.util.List<String> w1 = labels.stream().filter(l -> l.startsWith("scratch:sgemm-w1-")).toList();
        assertEquals(w0.stream().map(l -> l.replace("-w0-", "-w1-")).toList(), w1, labels.toString());
        assertEquals(4 + w0.size() + w1.size(), labels.size(), labels.toString());
        assertTrue(w0.size() >= 3, labels.toString()); // packed A, packed B, a tile or rows of C at least
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
        try (DeviceExecutor best = ExecutorRegistry.createBest(ExecutorOptions.threads(1))) {
            assertTrue(best.supports(BuiltinKernel.SGEMM));
        }
        assertThrows(InvalidArgumentException.class, () -> ExecutorRegistry.createBest(ExecutorOptions.threads(0)));
        assertThrows(InvalidArgumentException.class, () -> ExecutorRegistry.createBest(null));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> new dev.depin.executor.internal.CpuExecutorProvider().create(new ExecutorOptions(1, 1)));
        assertTrue(e.getMessage().contains("index 0"), e.getMessage());
    }
}
