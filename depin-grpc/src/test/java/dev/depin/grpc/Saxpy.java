package dev.depin.grpc;

import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Small SAXPY jobs with random inputs, each distinct, and the check of their results. */
final class Saxpy {
    static final float ALPHA = 3;
    final float[] x;
    final float[] y;
    final Job job;

    Saxpy(SplittableRandom rnd, int n, Duration timeout) {
        x = new float[n];
        y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        job = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", ALPHA).input("x", x).input("y", y)
                .timeout(timeout).build();
    }

    /** @return the key {@link FaultyExecutor} counts this job's executions under */
    String key() {
        ByteBuffer b = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(x);
        return FaultyExecutor.key(b);
    }

    /** @param r the job's result: checked element by element against our own computation */
    void check(JobResult r) {
        check(r.floats("out"));
    }

    /** @param out the output {@code out} as the provider sent it (little-endian floats) */
    void check(ByteBuffer out) {
        float[] got = new float[out.remaining() / 4];
        out.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
        check(got);
    }

    private void check(float[] got) {
        assertEquals(x.length, got.length);
        for (int j = 0; j < got.length; j++) {
            assertEquals(ALPHA * x[j] + y[j], got[j], "element " + j);
        }
    }
}
