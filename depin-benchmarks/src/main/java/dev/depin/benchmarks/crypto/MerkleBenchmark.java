package dev.depin.benchmarks.crypto;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.Parallelism;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
 * RFC 6962 Merkle root ({@link Merkle}; {@code leafBytes} 4 KiB, the jobs' leaf size, and
 * 64 KiB, the earlier one, for the cost of the smaller leaves) over 256 MiB, against one plain
 * {@link MessageDigest} SHA-256 pass over the same bytes in the same run.
 * <ul>
 *   <li>{@code merkleRootParallel}: {@code Merkle.root(ByteBuffer, int, Parallelism)} with a
 *       {@link Parallelism#newPool(int) pool} of one thread per core that the benchmark owns
 *       and closes, leaf hashing on every core;</li>
 *   <li>{@code merkleRootCallerThread}: {@code Merkle.root(ByteBuffer)}, the default (no pool);</li>
 *   <li>{@code merkleRootOneThread}: the streaming {@code Merkle.Builder}, one thread;</li>
 *   <li>{@code sha256Plain}: {@code MessageDigest.update(byte[])} + {@code digest()}, one thread.</li>
 * </ul>
 * Scores are milliseconds per 256 MiB; MB/s = 268.435456 / (score in s).
 *
 * <p>Run: {@code depin-benchmarks/scripts/crypto-baselines.sh}, or
 * <pre>
 * java -jar depin-benchmarks/target/benchmarks.jar 'crypto.MerkleBenchmark'
 * </pre>
 */
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 4, time = 2, timeUnit = TimeUnit.SECONDS)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MerkleBenchmark extends BenchmarkBase {
    /** Bytes hashed per operation: 256 MiB. */
    public static final int BYTES = 256 << 20;

    /** Merkle leaf size. */
    @Param({"4096", "65536"})
    public int leafBytes;

    private byte[] data;
    private ByteBuffer buffer;
    private Parallelism pool;

    /** Fills 256 MiB from a fixed seed. */
    @Setup(Level.Trial)
    public void fill() {
        data = new byte[BYTES];
        SplittableRandom r = new SplittableRandom(SEED);
        for (int i = 0; i < BYTES; i += 8) {
            long v = r.nextLong();
            for (int q = 0; q < 8; q++) {
                data[i + q] = (byte) (v >>> (8 * q));
            }
        }
        buffer = ByteBuffer.wrap(data);
        pool = Parallelism.newPool(Runtime.getRuntime().availableProcessors());
    }

    /** Stops the pool's threads. */
    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    /** @return the root, parallel leaf hashing on a pool the benchmark owns */
    @Benchmark
    public byte[] merkleRootParallel() {
        return Merkle.root(buffer, leafBytes, pool);
    }

    /** @return the root, the default: every leaf hashed in the calling thread */
    @Benchmark
    public byte[] merkleRootCallerThread() {
        return Merkle.root(buffer, leafBytes);
    }

    /** @return the root, streaming builder on one thread */
    @Benchmark
    public byte[] merkleRootOneThread() {
        return Merkle.builder(leafBytes).update(data, 0, data.length).root();
    }

    /** @return plain SHA-256 of the same bytes (baseline) */
    @Benchmark
    public byte[] sha256Plain() throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(data, 0, data.length);
        return md.digest();
    }
}
