package dev.depin.benchmarks.client;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole cost of trust on one SGEMM job, against the same job without it, in the same
 * run on the same executor.
 *
 * <ul>
 *   <li>{@code unverified}: the inputs are staged into an execution context, the executor
 *       runs the product and the output is copied once (what any transport does). Nothing
 *       is hashed, signed or checked; the context is closed (which frees the buffers).</li>
 *   <li>{@code verified}: the job as depin runs it through a one-provider
 *       {@link LocalNetwork} and a {@link DepinClient}: the buyer builds the spec
 *       (Merkle roots of A and B), the provider recomputes those roots, executes, commits
 *       to C, signs the receipt, wipes every host buffer of the job with a full
 *       read-back, signs the wipe attestation; the buyer verifies the receipt (recomputing
 *       C's root), the attestation, and Freivalds with 2 rounds.</li>
 * </ul>
 * Overhead = verified / unverified - 1 (goal: &le; 3% at n = 2048).
 *
 * <p>Run: {@code java -jar depin-benchmarks/target/benchmarks.jar client.TrustOverheadBenchmark}
 */
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 3, timeUnit = TimeUnit.SECONDS)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TrustOverheadBenchmark extends BenchmarkBase {
    /** Matrix order. */
    @Param({"2048"})
    public int n;

    /** Executor threads (the machine's cores). */
    @Param({"2"})
    public int threads;

    private float[] a;
    private float[] b;
    private CpuExecutor executor;
    private LocalNetwork network;
    private DepinClient client;
    private LaunchParams params;
    private Map<String, ByteBuffer> inputs;

    /** Random operands from the fixed seed; one executor shared by both paths. */
    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(SEED);
        a = new float[n * n];
        b = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
            b[i] = (float) r.nextDouble(-1, 1);
        }
        executor = new CpuExecutor(threads);
        params = LaunchParams.builder().put("m", n).put("k", n).put("n", n).build();
        inputs = Map.of("a", le(a), "b", le(b));
        network = LocalNetwork.of(List.of(ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(threads))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001"))).build()));
        client = DepinClient.builder(network).threads(threads).build();
    }

    /** Stops the network, the client and the executor. */
    @TearDown(Level.Trial)
    public void tearDown() {
        client.close();
        network.close();
        executor.close();
    }

    /** @return C, computed and copied, with no trust work */
    @Benchmark
    public ByteBuffer unverified() {
        try (ExecutionContext ctx = executor.open(BuiltinKernel.SGEMM, params)) {
            ctx.input("a").put(inputs.get("a").duplicate());
            ctx.input("b").put(inputs.get("b").duplicate());
            ctx.run();
            ByteBuffer c = ctx.output("c");
            ByteBuffer copy = ByteBuffer.allocate(c.remaining());
            copy.put(c.duplicate()).flip();
            return copy;
        }
    }

    /** @return the verified result of the same job through depin */
    @Benchmark
    public JobResult verified() {
        Job job = Job.builder(BuiltinKernel.SGEMM).param("m", n).param("k", n).param("n", n)
                .input("a", inputs.get("a")).input("b", inputs.get("b"))
                .verification(VerificationPolicy.freivalds(2)).maxPrice(MicroUsd.ofUsd("10"))
                .timeout(Duration.ofMinutes(5)).build();
        return client.submit(job).result();
    }

    private static ByteBuffer le(float[] f) {
        ByteBuffer bb = ByteBuffer.allocate(f.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(f);
        return bb;
    }
}
