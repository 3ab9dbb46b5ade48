package dev.depin.network.spi;

import dev.depin.crypto.Hex;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import java.time.Duration;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Small SAXPY jobs with random inputs, and requests for them with a random job id and nonce,
 * drawn from the caller's seeded generator: shared by the batching tests of core and of the
 * gRPC transport, which build requests by hand to set {@link ExecutionRequest#resultsQueued()}.
 */
public final class SmallRequests {
    private SmallRequests() {
    }

    /**
     * @param rnd   the test's seeded generator
     * @param n     elements, 1 or more
     * @param alpha the SAXPY factor
     * @return a SAXPY job of {@code n} elements, x and y drawn element by element from [-1, 1),
     *         timing out after a minute
     */
    public static Job saxpy(SplittableRandom rnd, int n, float alpha) {
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", alpha).input("x", x).input("y", y)
                .timeout(Duration.ofSeconds(60)).build();
    }

    /**
     * @param rnd           the test's seeded generator
     * @param resultsQueued what the request says of the buyer's verifier
     * @return attempt 1 of a fresh SAXPY job of 1 to 300 elements, its inputs sent and its
     *         outputs returned, with a random job id and nonce and no hold certificate
     */
    public static ExecutionRequest request(SplittableRandom rnd, int resultsQueued) {
        Job job = saxpy(rnd, 1 + rnd.nextInt(300), 2);
        byte[] id = new byte[16];
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        for (int i = 0; i < id.length; i++) {
            id[i] = (byte) rnd.nextInt();
        }
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = (byte) rnd.nextInt();
        }
        return new ExecutionRequest(Hex.encode(id), 1, job.spec(), job.inputs(), nonce, Optional.empty(),
                Delivery.RETURN, resultsQueued);
    }
}
