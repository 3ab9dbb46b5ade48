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
import java.util.SplittableRandom;
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
    void hashWhileIdle_propertyOrCoresLeftFree() {
        assertTrue(CpuExecutor.hashWhileIdle(null, 1, 2));
        assertEquals(false, CpuExecutor.hashWhileIdle(null, 2, 2));
        assertTrue(CpuExecutor.hashWhileIdle(" true", 2, 2));
        assertEquals(false, CpuExecutor.hashWhileIdle("false", 1, 16));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> CpuExecutor.hashWhileIdle("yes", 1, 2));
        assertEquals("system property depin.cpu.hashWhileIdle is 'yes': give true or false, or leave it unset for "
                + "the default", e.getMessage());
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
        // A and B are read in place (no float copies); C is computed in its output buffer (no
        // scratch array of C); the kernel's packed blocks and tiles are two workspaces (one per
        // thread) of the job's scratch.
        java.util.List<String> labels = records.get(0).stream().map(dev.depin.crypto.WipeRecord::label).toList();
        assertEquals(java.util.List.of("a", "b", "c"), labels.subList(0, 3));
        java.util.List<String> w0 = labels.stream().filter(l -> l.startsWith("scratch:sgemm-w0-")).toList();
        java.util.List<String> w1 = labels.stream().filter(l -> l.startsWith("scratch:sgemm-w1-")).toList();
        assertEquals(w0.stream().map(l -> l.replace("-w0-", "-w1-")).toList(), w1, labels.toString());
        assertEquals(3 + w0.size() + w1.size(), labels.size(), labels.toString());
        assertTrue(w0.size() >= 3, labels.toString()); // packed A, packed B, a tile or rows of C at least
    }

    /**
     * A job's SGEMM computes C in its output buffer: the bits of the reference's array path for
     * awkward shapes (NaN payloads and inf × 0 included), and the attestation lists the job's
     * buffers and the kernel's workspaces, no array of C.
     */
    @Test
    void sgemmJob_bitsOfTheReference_cInItsOutputBuffer() {
        long seed = SEED + 41;
        System.out.println("sgemmJob_bitsOfTheReference_cInItsOutputBuffer seed=0x" + Long.toHexString(seed));
        SplittableRandom rnd = new SplittableRandom(seed);
        try (dev.depin.kernel.CpuReference ref = new dev.depin.kernel.CpuReference(1)) {
            for (int[] s : new int[][] {{1, 1, 1}, {7, 1, 5}, {13, 251, 263}, {130, 600, 33}, {101, 521, 1061},
                {145, 300, 129}}) {
                int m = s[0];
                int k = s[1];
                int n = s[2];
                float[] a = random(rnd, m * k);
                float[] b = random(rnd, k * n);
                if (m >= 2 && k >= 4) {
                    a[3] = Float.intBitsToFloat(0xffc0_0042);
                    a[k + 1] = Float.NEGATIVE_INFINITY;
                    b[n + 2] = 0f;
                }
                float[] want = new float[m * n];
                ref.sgemm(m, k, n, a, b, want);
                String what = m + "x" + k + "x" + n;
                try (ExecutionContext ctx = executor().open(BuiltinKernel.SGEMM,
                        LaunchParams.builder().put("m", m).put("k", k).put("n", n).build())) {
                    ctx.input("a").put(bytes(a));
                    ctx.input("b").put(bytes(b));
                    ctx.run();
                    ByteBuffer c = ctx.output("c").duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    assertEquals(want.length * Float.BYTES, c.remaining(), what);
                    for (int e = 0; e < want.length; e++) {
                        assertEquals(Float.floatToRawIntBits(want[e]), c.getInt(e * Float.BYTES),
                                what + ": element " + e);
                    }
                    java.util.List<String> labels = ctx.allocations().stream().map(ExecutionContext.Allocation::label)
                            .toList();
                    assertEquals(java.util.List.of("a", "b", "c"), labels.subList(0, 3), what);
                    assertTrue(labels.subList(3, labels.size()).stream().allMatch(l -> l.startsWith("scratch:sgemm-w")),
                            what + ": " + labels);
                    assertEquals(labels, ctx.wipe((byte) 0x5a).stream().map(dev.depin.crypto.WipeRecord::label)
                            .toList(), what);
                }
            }
        }
    }

    @Test
    void sgemmJob_readsACachedInputInPlace_sameBits_neverWritesListsOrWipesIt() {
        long seed = SEED + 43;
        System.out.println("sgemmJob_readsACachedInputInPlace seed=0x" + Long.toHexString(seed));
        SplittableRandom rnd = new SplittableRandom(seed);
        try (dev.depin.kernel.CpuReference ref = new dev.depin.kernel.CpuReference(1)) {
            for (int[] s : new int[][] {{1, 1, 1}, {13, 251, 263}, {130, 600, 33}, {101, 521, 1061}}) {
                int m = s[0];
                int k = s[1];
                int n = s[2];
                float[] a = random(rnd, m * k);
                float[] b = random(rnd, k * n);
                float[] want = new float[m * n];
                ref.sgemm(m, k, n, a, b, want);
                String what = m + "x" + k + "x" + n;
                // The cache's entries: heap arrays behind a position, handed over read-only.
                byte[] aHeld = new byte[a.length * Float.BYTES + 3];
                bytes(a).get(aHeld, 3, a.length * Float.BYTES);
                byte[] aBefore = aHeld.clone();
                byte[] bHeld = new byte[b.length * Float.BYTES];
                bytes(b).get(bHeld);
                byte[] bBefore = bHeld.clone();
                for (boolean both : new boolean[] {true, false}) {
                    try (ExecutionContext ctx = executor().open(BuiltinKernel.SGEMM,
                            LaunchParams.builder().put("m", m).put("k", k).put("n", n).build())) {
                        assertTrue(ctx.readInPlace("a", ByteBuffer.wrap(aHeld).position(3).slice().asReadOnlyBuffer()));
                        assertThrows(InvalidArgumentException.class, () -> ctx.input("a"), "no buffer to fill");
                        if (both) {
                            assertTrue(ctx.readInPlace("b", ByteBuffer.wrap(bHeld).asReadOnlyBuffer()));
                        } else {
                            ctx.input("b").put(bytes(b));
                            // Filled already: the kernel reads that copy, and says so.
                            assertEquals(false, ctx.readInPlace("b", ByteBuffer.wrap(bHeld).asReadOnlyBuffer()));
                        }
                        ctx.run();
                        assertThrows(ExecutionFailedException.class, () -> ctx.readInPlace("b",
                                ByteBuffer.wrap(bHeld).asReadOnlyBuffer()), "after the kernel started");
                        ByteBuffer c = ctx.output("c").duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
                        for (int e = 0; e < want.length; e++) {
                            assertEquals(Float.floatToRawIntBits(want[e]), c.getInt(e * Float.BYTES),
                                    what + ": element " + e);
                        }
                        java.util.List<String> labels = ctx.wipe((byte) 0x5a).stream()
                                .map(dev.depin.crypto.WipeRecord::label).toList();
                        assertEquals(both ? "c" : "b", labels.get(0), what + ": " + labels);
                        assertTrue(!labels.contains("a") && labels.contains("b") != both, what + ": " + labels);
                        assertEquals(labels, ctx.allocations().stream().map(ExecutionContext.Allocation::label).toList());
                    }
                    // Neither the kernel nor the wipe (nor close) touched the held bytes.
                    assertTrue(java.util.Arrays.equals(aBefore, aHeld), what);
                    assertTrue(java.util.Arrays.equals(bBefore, bHeld), what);
                }
            }
        }
        try (ExecutionContext ctx = executor().open(BuiltinKernel.SGEMM,
                LaunchParams.builder().put("m", 2).put("k", 3).put("n", 4).build())) {
            assertThrows(InvalidArgumentException.class, () -> ctx.readInPlace("a", ByteBuffer.allocate(23)),
                    "a size other than the declared one");
            assertThrows(InvalidArgumentException.class, () -> ctx.readInPlace("z", ByteBuffer.allocate(24)),
                    "an input the kernel does not read");
            ByteBuffer writable = ByteBuffer.allocate(24);
            assertTrue(ctx.readInPlace("a", writable));
            ctx.input("b").put(ByteBuffer.allocate(48));
            ctx.run();
            assertEquals(24, writable.remaining());
            assertTrue(java.util.Arrays.equals(new byte[24], writable.array()), "read, never written");
        }
    }

    @Test
    void keepOutput_handsTheOutputsArrayOver_noLongerWipedListedOrReadable() {
        long seed = SEED + 47;
        System.out.println("keepOutput seed=0x" + Long.toHexString(seed));
        SplittableRandom rnd = new SplittableRandom(seed);
        int m = 37;
        int k = 129;
        int n = 70;
        float[] a = random(rnd, m * k);
        float[] b = random(rnd, k * n);
        float[] want = new float[m * n];
        try (dev.depin.kernel.CpuReference ref = new dev.depin.kernel.CpuReference(1)) {
            ref.sgemm(m, k, n, a, b, want);
        }
        byte[] kept;
        try (ExecutionContext ctx = executor().open(BuiltinKernel.SGEMM,
                LaunchParams.builder().put("m", m).put("k", k).put("n", n).build())) {
            ctx.input("a").put(bytes(a));
            ctx.input("b").put(bytes(b));
            assertThrows(ExecutionFailedException.class, () -> ctx.keepOutput("c"), "before the kernel ran");
            ctx.run();
            assertThrows(InvalidArgumentException.class, () -> ctx.keepOutput("z"));
            kept = ctx.keepOutput("c").orElseThrow();
            assertEquals(m * n * Float.BYTES, kept.length);
            assertThrows(InvalidArgumentException.class, () -> ctx.output("c"), "handed over");
            assertEquals(java.util.Optional.empty(), ctx.keepOutput("c"), "handed over once");
            java.util.List<String> labels = ctx.wipe((byte) 0x5a).stream().map(dev.depin.crypto.WipeRecord::label)
                    .toList();
            assertEquals(java.util.List.of("a", "b"), labels.subList(0, 2));
            assertTrue(!labels.contains("c"), labels.toString());
        }
        // Closed (and wiped): the array handed over still holds C, bit for bit.
        ByteBuffer c = ByteBuffer.wrap(kept).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int e = 0; e < want.length; e++) {
            assertEquals(Float.floatToRawIntBits(want[e]), c.getInt(e * Float.BYTES), "element " + e);
        }
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
