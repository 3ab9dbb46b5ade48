package dev.depin.network.spi;

import dev.depin.crypto.VerificationReport;
import dev.depin.job.Job;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import java.time.Duration;
import java.util.SplittableRandom;

/** SGEMM jobs checked by Freivalds(20), for the tests of the prepared check here and over gRPC. */
public final class FreivaldsJobs {
    private FreivaldsJobs() {
    }

    /**
     * @param seed the test's printed seed; with the shape, it fixes A and B
     * @param m    rows of A and C
     * @param k    columns of A, rows of B
     * @param n    columns of B and C
     * @return C = A·B with A and B uniform in [-1, 1), verified by Freivalds(20), 60 s timeout
     */
    public static Job sgemm(long seed, int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(seed + m * 31L + k * 7L + n);
        return Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                .input("a", random(rnd, m * k)).input("b", random(rnd, k * n))
                .verification(VerificationPolicy.freivalds(20)).timeout(Duration.ofSeconds(60)).build();
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    /** @return whether {@code report} has a passed check named {@code check} */
    public static boolean passed(VerificationReport report, String check) {
        return report.checks().stream().anyMatch(c -> c.name().equals(check) && c.passed());
    }
}
