package dev.depin.cuda.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.cuda.CudaExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.kernel.UnsupportedKernelException;
import dev.depin.node.ProviderNode;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Without a GPU: the CUDA executor offers exactly the built-in kernels it has a launch for,
 * every launch's entries are in the committed module, a GPU node's signed offer lists nothing
 * it cannot launch, and a built-in kernel without a CUDA launch is refused with
 * {@link UnsupportedKernelException} before any device work (not a {@code ClassCastException}
 * in the middle of a job).
 */
class CudaKernelTest {

    @Test
    void offeredKernels_areExactlyThoseWithALaunch() {
        Set<String> withLaunch = new TreeSet<>();
        for (CudaKernel k : CudaKernel.values()) {
            assertTrue(withLaunch.add(k.kernel().id()), "one launch per kernel: " + k);
        }
        assertEquals(withLaunch, CudaExecutor.builtinKernels());
        for (BuiltinKernel k : BuiltinKernel.values()) {
            if (CudaExecutor.builtinKernels().contains(k.id())) {
                assertEquals(k, ((CudaKernel) CudaKernel.of(k)).kernel());
            } else {
                UnsupportedKernelException e = assertThrows(UnsupportedKernelException.class, () -> CudaKernel.of(k));
                assertTrue(e.getMessage().contains(k.id()), e.getMessage());
            }
        }
    }

    @Test
    void everyLaunchEntry_isInTheCommittedModule() {
        byte[] ptx = KernelArtefacts.load(KernelArtefacts.PTX);
        String text = new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII);
        List<String> entries = CudaKernel.moduleEntries();
        for (CudaKernel k : CudaKernel.values()) {
            assertFalse(k.entries().isEmpty(), k + " names its entries");
            assertTrue(entries.containsAll(k.entries()));
        }
        assertTrue(entries.containsAll(CudaKernel.TRUST_ENTRIES));
        for (String e : entries) {
            assertTrue(text.contains(".entry " + e + "("), "the PTX has entry " + e);
        }
    }

    @Test
    void gpuNode_neverOffersWhatItCannotLaunch() {
        // A node on an executor that claims what the CUDA executor claims (no device is needed
        // for the claim): its signed offer lists those built-ins and "ptx", and each has a launch.
        try (DeviceExecutor claims = new Claims(CudaExecutor.builtinKernels(), true);
             ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), claims).build()) {
            Set<String> offered = node.offer().terms().kernels();
            Set<String> expected = new TreeSet<>(CudaExecutor.builtinKernels());
            expected.add(PtxKernel.OFFER_ID);
            assertEquals(expected, new TreeSet<>(offered));
            for (String id : offered) {
                if (!id.equals(PtxKernel.OFFER_ID)) {
                    CudaKernel.of(BuiltinKernel.byId(id));  // throws if there is no launch
                }
            }
        }
        // An executor claiming a kernel id no built-in has is not offered it either.
        try (DeviceExecutor claims = new Claims(Set.of("sgemm", "fft"), false);
             ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), claims).build()) {
            assertEquals(Set.of("sgemm"), node.offer().terms().kernels());
        }
    }

    @Test
    void launchCheck_refusesAShapeTheDeviceCannotRunBeforeAllocating() {
        LaunchParams tooTall = LaunchParams.builder().put("m", 65536L * 128 + 1).put("k", 1).put("n", 1).build();
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> CudaKernel.of(BuiltinKernel.SGEMM).check(tooTall));
        assertTrue(e.getMessage().contains("split A into row blocks"), e.getMessage());
        PtxKernel wrong = new PtxKernel("k", ".version 8.0\n.target sm_80\n.address_size 64\n"
                + ".visible .entry k(.param .u64 out, .param .f32 f) { ret; }\n",
                List.of(PtxKernel.Param.output("out"), PtxKernel.Param.i32("f")));
        assertThrows(ShapeMismatchException.class, () -> CudaKernel.of(wrong).check(LaunchParams.builder().build()));
    }

    @Test
    void cpuExecutor_claimsOnlyKernelsItRuns() {
        try (CpuExecutor cpu = new CpuExecutor(1)) {
            assertEquals(BuiltinKernel.ids(), cpu.offeredKernels());
            for (BuiltinKernel k : BuiltinKernel.values()) {
                // Every built-in has a CPU reference; the smallest job of each runs.
                LaunchParams p = switch (k) {
                    case SGEMM -> LaunchParams.builder().put("m", 1).put("k", 1).put("n", 1).build();
                    case SAXPY -> LaunchParams.builder().put("n", 1).put("alpha", 2f).build();
                    case REDUCE_SUM -> LaunchParams.builder().put("n", 1).build();
                };
                try (ExecutionContext ctx = cpu.open(k, p)) {
                    ctx.run();
                    assertFalse(ctx.allocations().isEmpty());
                }
            }
        }
    }

    /** An executor that claims kernels and runs none: enough for a node to build its offer. */
    private static final class Claims implements DeviceExecutor {
        private final Set<String> kernels;
        private final boolean ptx;

        Claims(Set<String> kernels, boolean ptx) {
            this.kernels = kernels;
            this.ptx = ptx;
        }

        @Override
        public String kind() {
            return "cuda";
        }

        @Override
        public DeviceInfo device() {
            return new DeviceInfo(DeviceKind.CUDA, "NVIDIA H200", 141L << 30, "9.0", 132, 51_000, "0".repeat(64),
                    "580.159.04", "CUDA 13.0");
        }

        @Override
        public Set<String> kernels() {
            return kernels;
        }

        @Override
        public boolean runsUserPtx() {
            return ptx;
        }

        @Override
        public ExecutionContext open(Kernel kernel, LaunchParams params) {
            throw new ExecutionFailedException("no device here");
        }

        @Override
        public void close() {
        }
    }
}
