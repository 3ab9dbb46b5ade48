package dev.depin.cuda.internal;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.depin.cuda.CudaExecutor;
import dev.depin.cuda.RequiresCuda;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The committed PTX, JIT-compiled by the driver for this card (the path every card without
 * SASS in the fatbin takes), computes the same bits as the executor's module (the fatbin's
 * SASS on sm_80 to sm_90): SGEMM on an awkward shape, SAXPY with a subnormal-making alpha,
 * and reduce-sum's float64 partials. Skipped, saying why, without a device.
 */
@ExtendWith(RequiresCuda.class)
class PtxJitGpuTest {
    private static final long SEED = 0x6a17L;

    @Test
    void jitModule_computesTheSameBitsAsTheExecutorsModule() {
        SplittableRandom r = new SplittableRandom(SEED);
        int m = 129;
        int k = 1003;
        int n = 67;
        float[] a = random(r, m * k);
        float[] b = random(r, k * n);
        int sn = 100_003;
        float[] x = random(r, sn);
        float[] y = random(r, sn);
        float alpha = 1e-30f;
        float[] c;
        float[] out;
        try (CudaExecutor gpu = new CudaExecutor(0)) {
            System.out.println("executor module: " + gpu.device().runtimeVersion());
            c = run(gpu, BuiltinKernel.SGEMM, LaunchParams.builder().put("m", m).put("k", k).put("n", n).build(),
                    new String[] {"a", "b"}, new float[][] {a, b}, "c");
            out = run(gpu, BuiltinKernel.SAXPY, LaunchParams.builder().put("n", sn).put("alpha", alpha).build(),
                    new String[] {"x", "y"}, new float[][] {x, y}, "out");
        }
        try (DeviceContext dev = DeviceContext.acquire(0)) {
            dev.enter();
            CUmodule jit = new CUmodule();
            byte[] ptx = KernelArtefacts.load(KernelArtefacts.PTX);
            Driver.call("cuModuleLoadData(PTX, JIT)", () -> cuModuleLoadData(jit, ptx));
            try {
                CUdeviceptr da = upload(a);
                CUdeviceptr db = upload(b);
                CUdeviceptr dc = alloc(4L * m * n);
                launch(jit, "depin_sgemm", (n + 127) / 128, (m + 127) / 128, 256, Pointer.to(Pointer.to(da),
                        Pointer.to(db), Pointer.to(dc), Pointer.to(new int[] {m}), Pointer.to(new int[] {k}),
                        Pointer.to(new int[] {n})));
                assertBits(c, download(dc, m * n), "sgemm");
                CUdeviceptr dx = upload(x);
                CUdeviceptr dy = upload(y);
                CUdeviceptr dout = alloc(4L * sn);
                launch(jit, "depin_saxpy", (sn / 4 + 256) / 256, 1, 256, Pointer.to(Pointer.to(dx), Pointer.to(dy),
                        Pointer.to(dout), Pointer.to(new float[] {alpha}), Pointer.to(new long[] {sn})));
                assertBits(out, download(dout, sn), "saxpy");
                long blocks = (sn + 4095) / 4096;
                CUdeviceptr partials = alloc(8 * blocks);
                launch(jit, "depin_reduce_partials", (int) ((blocks * 8 + 255) / 256), 1, 256, Pointer.to(Pointer.to(dx),
                        Pointer.to(new long[] {sn}), Pointer.to(partials)));
                double[] p = new double[(int) blocks];
                Driver.call("cuMemcpyDtoH(partials)", () -> cuMemcpyDtoH(Pointer.to(p), partials, 8 * blocks));
                double total = 0;
                for (double v : p) {
                    total += v;
                }
                float sum;
                try (CudaExecutor gpu = new CudaExecutor(0)) {
                    sum = run(gpu, BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", sn).build(),
                            new String[] {"x"}, new float[][] {x}, "sum")[0];
                }
                dev.enter();
                assertEquals(Float.floatToRawIntBits(sum), Float.floatToRawIntBits((float) total), "reduce-sum");
                for (CUdeviceptr d : new CUdeviceptr[] {da, db, dc, dx, dy, dout, partials}) {
                    cuMemFree(d);
                }
            } finally {
                cuModuleUnload(jit);
            }
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i % 53 == 0 ? Float.MIN_VALUE * (i % 7) : (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static float[] run(CudaExecutor gpu, BuiltinKernel k, LaunchParams p, String[] names, float[][] inputs,
                               String output) {
        try (ExecutionContext ctx = gpu.open(k, p)) {
            for (int i = 0; i < names.length; i++) {
                ByteBuffer b = ByteBuffer.allocate(4 * inputs[i].length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(inputs[i]);
                ctx.input(names[i]).put(b);
            }
            ctx.run();
            ByteBuffer o = ctx.output(output);
            float[] r = new float[o.remaining() / 4];
            o.asFloatBuffer().get(r);
            return r;
        }
    }

    private static CUdeviceptr alloc(long bytes) {
        CUdeviceptr d = new CUdeviceptr();
        Driver.call("cuMemAlloc", () -> cuMemAlloc(d, bytes));
        return d;
    }

    private static CUdeviceptr upload(float[] v) {
        CUdeviceptr d = alloc(4L * v.length);
        Driver.call("cuMemcpyHtoD", () -> cuMemcpyHtoD(d, Pointer.to(v), 4L * v.length));
        return d;
    }

    private static float[] download(CUdeviceptr d, int n) {
        float[] v = new float[n];
        Driver.call("cuMemcpyDtoH", () -> cuMemcpyDtoH(Pointer.to(v), d, 4L * n));
        return v;
    }

    private static void launch(CUmodule module, String entry, int gx, int gy, int block, Pointer args) {
        CUfunction f = new CUfunction();
        Driver.call("cuModuleGetFunction(" + entry + ")", () -> cuModuleGetFunction(f, module, entry));
        Driver.call("cuLaunchKernel(" + entry + ")", () -> cuLaunchKernel(f, gx, gy, 1, block, 1, 1, 0, null, args,
                null));
        Driver.call("cuCtxSynchronize", () -> cuCtxSynchronize());
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        int[] e = new int[expected.length];
        int[] a = new int[actual.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = Float.isNaN(expected[i]) ? 0x7fc00000 : Float.floatToRawIntBits(expected[i]);
        }
        for (int i = 0; i < a.length; i++) {
            a[i] = Float.isNaN(actual[i]) ? 0x7fc00000 : Float.floatToRawIntBits(actual[i]);
        }
        assertArrayEquals(e, a, what + ": JIT-compiled PTX vs the executor's module");
    }
}
