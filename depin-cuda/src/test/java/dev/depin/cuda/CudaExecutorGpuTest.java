package dev.depin.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.Merkle;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.ShapeMismatchException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What only a device can show: Merkle roots computed on the device equal the CPU's on
 * awkward sizes, every wipe is verified by a device read-back, reduce-sum is bit-identical
 * to the CPU reference, device memory returns to its starting level after 1,000 jobs, and
 * user PTX runs with its arguments bound by type. Skipped, saying why, without a device.
 */
@ExtendWith(RequiresCuda.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaExecutorGpuTest {
    private static final int CHUNK = Merkle.DEFAULT_CHUNK_SIZE;
    private CudaExecutor gpu;

    @BeforeAll
    void start() {
        gpu = new CudaExecutor(0);
        System.out.println("device: " + gpu + " " + gpu.device());
    }

    @AfterAll
    void stop() {
        if (gpu != null) {
            gpu.close();
        }
    }

    @ParameterizedTest(name = "device merkle root, {0} floats")
    @ValueSource(ints = {1, 2, 15, 16, 17, CHUNK / 4 - 1, CHUNK / 4, CHUNK / 4 + 1, 3 * CHUNK / 4 + 5, 5 * CHUNK / 4,
            13 * CHUNK / 4 + 999, 128 * CHUNK / 4 - 1, 128 * CHUNK / 4, 128 * CHUNK / 4 + 1, 1 << 22, (1 << 22) + 3,
            (128 * 128 + 1) * CHUNK / 4 + 7})
    void outputRoot_equalsCpuMerkle(int n) {
        SplittableRandom r = new SplittableRandom(n);
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.SAXPY,
                LaunchParams.builder().put("n", n).put("alpha", 0.5f).build())) {
            for (String in : List.of("x", "y")) {
                ByteBuffer b = ctx.input(in);
                while (b.hasRemaining()) {
                    b.putFloat((float) r.nextDouble());
                }
            }
            ctx.run();
            byte[] expected = Merkle.root(ctx.output("out"));
            assertArrayEquals(expected, ctx.outputRoot("out").orElseThrow(), n + " floats");
        }
    }

    @Test
    void wipe_everyBufferVerifiedByReadback() {
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", 100_003).build())) {
            ctx.run();
            ctx.outputRoot("sum");
            List<WipeRecord> records = ctx.wipe((byte) 0xa7);
            assertEquals(ctx.allocations().size(), records.size());
            for (int i = 0; i < records.size(); i++) {
                WipeRecord w = records.get(i);
                assertEquals(ctx.allocations().get(i).label(), w.label());
                assertEquals(w.bytes(), w.bytesOverwritten());
                assertEquals(w.location().equals(WipeRecord.DEVICE) ? WipeRecord.DEVICE_READBACK_REDUCTION
                        : WipeRecord.HOST_READBACK_COMPARE, w.method());
            }
            assertTrue(records.stream().anyMatch(w -> w.location().equals(WipeRecord.DEVICE)));
            assertEquals((byte) 0xa7, ctx.output("sum").get(0));
        }
    }

    @Test
    void wipe_moreDeviceBuffersThanOneCounterReadBack_allVerified() {
        // 70 outputs: more device buffers than the 64 counter slots of one read-back.
        int outputs = 70;
        StringBuilder sig = new StringBuilder();
        java.util.List<PtxKernel.Param> params = new java.util.ArrayList<>();
        LaunchParams.Builder lp = LaunchParams.builder().put("gridX", 1).put("gridY", 1).put("gridZ", 1)
                .put("blockX", 1).put("blockY", 1).put("blockZ", 1);
        for (int i = 0; i < outputs; i++) {
            sig.append(i == 0 ? "" : ", ").append(".param .u64 o").append(i);
            params.add(PtxKernel.Param.output("o" + i));
            lp.put("o" + i + ".bytes", 4 + i);
        }
        PtxKernel many = new PtxKernel("many", ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry many("
                + sig + ") { ret; }\n", params);
        try (ExecutionContext ctx = gpu.open(many, lp.build())) {
            ctx.run();
            for (int i = 0; i < outputs; i++) {
                // Zeroed before the launch; the root is the device's, and equals the host's.
                assertArrayEquals(Merkle.root(new byte[4 + i]), ctx.outputRoot("o" + i).orElseThrow());
            }
            List<WipeRecord> records = ctx.wipe((byte) 0x11);
            assertEquals(ctx.allocations().size(), records.size());
            assertEquals(outputs, records.stream().filter(w -> w.location().equals(WipeRecord.DEVICE)).count());
            for (WipeRecord w : records) {
                assertEquals(w.bytes(), w.bytesOverwritten(), w.toString());
            }
            assertThrows(dev.depin.executor.spi.ExecutionFailedException.class, () -> ctx.outputRoot("o0"),
                    "no roots of wiped outputs");
        }
    }

    @ParameterizedTest(name = "reduce-sum bit-identical, n={0}")
    @ValueSource(ints = {1, 7, 4097, 65537, (1 << 24) + 5})
    void reduceSum_bitIdenticalToCpu(int n) {
        SplittableRandom r = new SplittableRandom(-n);
        float[] x = new float[n];
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", n).build());
             CpuReference cpu = new CpuReference(2)) {
            ByteBuffer b = ctx.input("x");
            for (int i = 0; i < n; i++) {
                x[i] = (float) (r.nextDouble() * 2 - 1);
                b.putFloat(x[i]);
            }
            ctx.run();
            assertEquals(Float.floatToRawIntBits(cpu.reduceSum(n, x)),
                    Float.floatToRawIntBits(ctx.output("sum").getFloat(0)));
        }
    }

    @Test
    void memory_backToStartAfterThousandJobs() {
        long device = gpu.liveDeviceBytes();
        long pinned = gpu.livePinnedBytes();
        long free = gpu.freeDeviceBytes() + gpu.pooledDeviceBytes();
        for (int i = 0; i < 1000; i++) {
            BuiltinKernel k = BuiltinKernel.values()[i % 3];
            LaunchParams p = k == BuiltinKernel.SGEMM ? LaunchParams.builder().put("m", 33).put("k", 65).put("n", 17)
                    .build() : LaunchParams.builder().put("n", 1000 + i).put("alpha", 2f).build();
            try (ExecutionContext ctx = gpu.open(k, k == BuiltinKernel.REDUCE_SUM
                    ? LaunchParams.builder().put("n", 1000 + i).build() : p)) {
                ctx.run();
                if (i % 2 == 0) {
                    ctx.wipe((byte) 0x3c);
                }
            }
        }
        assertEquals(device, gpu.liveDeviceBytes(), "device bytes held by jobs");
        assertEquals(pinned, gpu.livePinnedBytes(), "pinned bytes held by jobs");
        // The driver may round allocations; a leak of even one buffer per job would show here.
        long after = gpu.freeDeviceBytes() + gpu.pooledDeviceBytes();
        assertTrue(Math.abs(free - after) < (64L << 20), "free + pooled device memory moved from " + free
                + " to " + after);
    }

    private static final String SCALE_PTX = ".version 8.0\n.target sm_80\n.address_size 64\n"
            + ".visible .entry scale(.param .u64 x, .param .u64 y, .param .f32 f, .param .u32 n)\n{\n"
            + "  .reg .pred %p; .reg .b32 %r<6>; .reg .f32 %f<4>; .reg .b64 %rd<8>;\n"
            + "  ld.param.u64 %rd1, [x]; ld.param.u64 %rd2, [y]; ld.param.f32 %f1, [f]; ld.param.u32 %r1, [n];\n"
            + "  mov.u32 %r2, %ctaid.x; mov.u32 %r3, %ntid.x; mov.u32 %r4, %tid.x; mad.lo.s32 %r5, %r2, %r3, %r4;\n"
            + "  setp.ge.u32 %p, %r5, %r1; @%p ret;\n"
            + "  cvta.to.global.u64 %rd3, %rd1; cvta.to.global.u64 %rd4, %rd2; mul.wide.u32 %rd5, %r5, 4;\n"
            + "  add.s64 %rd6, %rd3, %rd5; add.s64 %rd7, %rd4, %rd5; ld.global.f32 %f2, [%rd6];\n"
            + "  mul.rn.f32 %f3, %f2, %f1; st.global.f32 [%rd7], %f3; ret;\n}\n";

    @Test
    void userPtx_runsWithTypedArguments() {
        PtxKernel scale = new PtxKernel("scale", SCALE_PTX, List.of(PtxKernel.Param.input("x"),
                PtxKernel.Param.output("y"), PtxKernel.Param.f32("f"), PtxKernel.Param.i32("n")));
        int n = 1000;
        LaunchParams p = LaunchParams.builder().put("gridX", 4).put("gridY", 1).put("gridZ", 1).put("blockX", 256)
                .put("blockY", 1).put("blockZ", 1).put("x.bytes", 4 * n).put("y.bytes", 4 * n).put("f", 3f)
                .put("n", n).build();
        try (ExecutionContext ctx = gpu.open(scale, p)) {
            ByteBuffer x = ctx.input("x");
            for (int i = 0; i < n; i++) {
                x.putFloat(i);
            }
            ctx.run();
            ByteBuffer y = ctx.output("y").order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                assertEquals(3f * i, y.getFloat(4 * i));
            }
        }
        PtxKernel wrong = new PtxKernel("scale", SCALE_PTX, List.of(PtxKernel.Param.input("x"),
                PtxKernel.Param.output("y"), PtxKernel.Param.i32("f"), PtxKernel.Param.i32("n")));
        LaunchParams q = LaunchParams.builder().put("gridX", 4).put("gridY", 1).put("gridZ", 1).put("blockX", 256)
                .put("blockY", 1).put("blockZ", 1).put("x.bytes", 4 * n).put("y.bytes", 4 * n).put("f", 3)
                .put("n", n).build();
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class, () -> gpu.open(wrong, q));
        assertTrue(e.getMessage().contains("parameter 2 is .f32"), e.getMessage());
    }
}
