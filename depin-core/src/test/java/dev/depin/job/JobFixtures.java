package dev.depin.job;

import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.PtxKernel.Param;
import dev.depin.money.MicroUsd;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic jobs shared by the job tests. */
final class JobFixtures {
    /** A fixed deadline, so specs built on different days hash the same. */
    static final Instant DEADLINE = Instant.parse("2030-01-01T00:00:00Z");

    static final String PTX = String.join("\n",
            ".version 8.0",
            ".target sm_80",
            ".address_size 64",
            ".visible .entry scale(",
            "    .param .u64 scale_param_0,",
            "    .param .u64 scale_param_1,",
            "    .param .f32 scale_param_2",
            ")",
            "{",
            "    ret;",
            "}",
            "");

    /** y = factor * x, as a PTX kernel the CPU reference cannot run. */
    static final PtxKernel SCALE = new PtxKernel("scale", PTX,
            List.of(Param.input("x"), Param.output("y"), Param.f32("factor")));

    private JobFixtures() {
    }

    static float[] floats(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble(-1, 1);
        }
        return v;
    }

    static Job.Builder saxpy(SplittableRandom rnd, int n, float alpha) {
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", alpha)
                .input("x", floats(rnd, n)).input("y", floats(rnd, n)).deadline(DEADLINE);
    }

    static Job.Builder sgemm(SplittableRandom rnd, int m, int k, int n) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                .input("a", floats(rnd, m * k)).input("b", floats(rnd, k * n)).deadline(DEADLINE);
    }

    static Job.Builder reduceSum(SplittableRandom rnd, int n) {
        return Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", floats(rnd, n)).deadline(DEADLINE);
    }

    static Job.Builder scale(SplittableRandom rnd, int n, float factor) {
        return Job.builder(SCALE).param("gridX", (n + 255) / 256).param("gridY", 1).param("gridZ", 1)
                .param("blockX", 256).param("blockY", 1).param("blockZ", 1)
                .param("x.bytes", 4L * n).param("y.bytes", 4L * n).param("factor", factor)
                .input("x", floats(rnd, n)).deadline(DEADLINE).maxPrice(MicroUsd.ofUsd("0.05"));
    }
}
