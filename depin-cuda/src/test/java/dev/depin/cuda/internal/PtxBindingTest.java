package dev.depin.cuda.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.PtxKernel.Param;
import dev.depin.kernel.ShapeMismatchException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** User PTX signatures are read and checked against the declared parameters, with clear errors. */
class PtxBindingTest {
    private static final String HEAD = ".version 8.0\n.target sm_80\n.address_size 64\n";

    private static PtxKernel kernel(String signature, Param... params) {
        return new PtxKernel("k", HEAD + ".visible .entry k(" + signature + ")\n{\nret;\n}\n", List.of(params));
    }

    @Test
    void of_acceptsMatchingTypes() {
        PtxBinding b = PtxBinding.of(kernel(".param .u64 a, .param .b64 .ptr .global .align 4 b, .param .s32 n, "
                + ".param .f32 s", Param.input("a"), Param.output("b"), Param.i32("n"), Param.f32("s")));
        assertEquals(List.of("u64", "b64", "s32", "f32"), b.types());
    }

    @Test
    void of_readsNvccOutput() {
        // The committed kernels are nvcc output: bind depin_sgemm's real signature.
        byte[] ptx = KernelArtefacts.load(KernelArtefacts.PTX);
        String text = new String(Arrays.copyOf(ptx, ptx.length - 1), StandardCharsets.US_ASCII);
        PtxKernel sgemm = new PtxKernel("depin_sgemm", text, List.of(Param.input("a"), Param.input("b"),
                Param.output("c"), Param.i32("m"), Param.i32("k"), Param.i32("n")));
        assertEquals(List.of("u64", "u64", "u64", "u32", "u32", "u32"), PtxBinding.of(sgemm).types());
    }

    @Test
    void of_countMismatchShowsBothSignatures() {
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> PtxBinding.of(kernel(".param .u64 a, .param .u32 n", Param.output("a"))));
        assertTrue(e.getMessage().contains("takes 2 parameters [u64, u32] but the kernel declares 1 [output a]"),
                e.getMessage());
    }

    @Test
    void of_typeMismatchNamesThePosition() {
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> PtxBinding.of(kernel(".param .u64 a, .param .u32 n", Param.output("a"), Param.f32("n"))));
        assertTrue(e.getMessage().contains("parameter 1 is .u32 but the kernel declares it as F32 'n'"),
                e.getMessage());
        assertThrows(ShapeMismatchException.class,
                () -> PtxBinding.of(kernel(".param .u32 a", Param.output("a"))));
        assertThrows(ShapeMismatchException.class,
                () -> PtxBinding.of(kernel(".param .u64 a, .param .f32 n", Param.output("a"), Param.i32("n"))));
    }

    @Test
    void of_rejectsArraysAndStructs() {
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> PtxBinding.of(kernel(".param .u64 a, .param .align 8 .b8 s[16]", Param.output("a"),
                        Param.i32("s"))));
        assertTrue(e.getMessage().contains("array or aligned struct"), e.getMessage());
    }

    @Test
    void of_emptyParameterList() {
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> PtxBinding.of(kernel("", Param.output("a"))));
        assertTrue(e.getMessage().contains("takes 0 parameters"), e.getMessage());
    }
}
