package dev.depin.benchmarks.crypto;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ed25519 sign and verify of a 64-byte message (the size {@code openssl speed ed25519}
 * signs) on one thread: depin's {@link NodeKeyPair} / {@link NodePublicKey} (BouncyCastle
 * lightweight API) against the JDK's SunEC EdDSA ({@code Signature.getInstance("Ed25519")})
 * in the same run. Scores are µs per operation; ops/s = 10^6 / score.
 *
 * <p>Run: {@code depin-benchmarks/scripts/crypto-baselines.sh}, or
 * <pre>
 * java -jar depin-benchmarks/target/benchmarks.jar 'crypto.Ed25519Benchmark'
 * </pre>
 */
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
public class Ed25519Benchmark extends BenchmarkBase {
    private NodeKeyPair keys;
    private NodePublicKey publicKey;
    private byte[] message;
    private byte[] signature;
    private KeyPair jdkKeys;
    private Signature jdkSigner;
    private Signature jdkVerifier;

    /** Keys from a fixed seed, one signature to verify. */
    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
        SplittableRandom r = new SplittableRandom(SEED);
        byte[] seed = new byte[32];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = (byte) r.nextInt();
        }
        keys = NodeKeyPair.fromSeed(seed);
        publicKey = NodePublicKey.of(keys.publicKey().raw());
        message = new byte[64];
        for (int i = 0; i < message.length; i++) {
            message[i] = (byte) r.nextInt();
        }
        signature = keys.sign(message);
        jdkKeys = keys.toJdk();
        jdkSigner = Signature.getInstance("Ed25519");
        jdkSigner.initSign(jdkKeys.getPrivate(), new SecureRandom());
        jdkVerifier = Signature.getInstance("Ed25519");
        jdkVerifier.initVerify(jdkKeys.getPublic());
    }

    /** @return a signature, BouncyCastle lightweight */
    @Benchmark
    public byte[] bcSign() {
        return keys.sign(message);
    }

    /** @return the key, after verifying (throws if bad), BouncyCastle lightweight */
    @Benchmark
    public NodePublicKey bcVerify() {
        publicKey.verify(message, signature);
        return publicKey;
    }

    /** @return a signature, JDK SunEC */
    @Benchmark
    public byte[] jdkSign() throws GeneralSecurityException {
        jdkSigner.update(message);
        return jdkSigner.sign();
    }

    /** @return the verification result, JDK SunEC */
    @Benchmark
    public boolean jdkVerify() throws GeneralSecurityException {
        jdkVerifier.update(message);
        boolean ok = jdkVerifier.verify(signature);
        if (!ok) {
            throw new IllegalStateException("JDK verification failed");
        }
        return ok;
    }
}
