package dev.depin.benchmarks.crypto;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ed25519 sign and verify of a 64-byte message (the size {@code openssl speed ed25519}
 * signs) on one thread, in the same run:
 * <ul>
 *   <li>{@code bcSign} / {@code bcVerify}: plain BouncyCastle lightweight API
 *       ({@link Ed25519PrivateKeyParameters}) over the raw message, the baseline;</li>
 *   <li>{@code envelopeSign} / {@code envelopeVerify}: depin's only signing path,
 *       {@link Envelope#sign(String, byte[], NodeKeyPair)} and
 *       {@link Envelope#verify(String, NodePublicKey)}: DSSE PAE with the payload type, then
 *       the same BouncyCastle Ed25519 (the difference is PAE and envelope overhead);</li>
 *   <li>{@code jdkSign} / {@code jdkVerify}: the JDK's SunEC EdDSA
 *       ({@code Signature.getInstance("Ed25519")}).</li>
 * </ul>
 * Scores are µs per operation; ops/s = 10^6 / score.
 *
 * <p>Run: {@code depin-benchmarks/scripts/crypto-baselines.sh}, or
 * <pre>
 * java -jar depin-benchmarks/target/benchmarks.jar 'crypto.Ed25519Benchmark'
 * </pre>
 */
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
public class Ed25519Benchmark extends BenchmarkBase {
    /** The payload type of the envelope benchmarks. */
    static final String TYPE = "application/vnd.depin.bench+json";

    private Ed25519PrivateKeyParameters bcPrivate;
    private Ed25519PublicKeyParameters bcPublic;
    private NodeKeyPair keys;
    private NodePublicKey publicKey;
    private byte[] message;
    private byte[] signature;
    private Envelope envelope;
    private KeyPair jdkKeys;
    private Signature jdkSigner;
    private Signature jdkVerifier;

    /** Keys from a fixed seed, one signature and one envelope to verify. */
    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
        SplittableRandom r = new SplittableRandom(SEED);
        byte[] seed = new byte[32];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = (byte) r.nextInt();
        }
        bcPrivate = new Ed25519PrivateKeyParameters(seed, 0);
        bcPublic = bcPrivate.generatePublicKey();
        keys = NodeKeyPair.fromSeed(seed);
        publicKey = NodePublicKey.of(keys.publicKey().raw());
        message = new byte[64];
        for (int i = 0; i < message.length; i++) {
            message[i] = (byte) r.nextInt();
        }
        signature = bcSign();
        envelope = Envelope.sign(TYPE, message, keys);
        jdkKeys = keys.toJdk();
        jdkSigner = Signature.getInstance("Ed25519");
        jdkSigner.initSign(jdkKeys.getPrivate(), new SecureRandom());
        jdkVerifier = Signature.getInstance("Ed25519");
        jdkVerifier.initVerify(jdkKeys.getPublic());
    }

    /** @return a signature, plain BouncyCastle lightweight (baseline) */
    @Benchmark
    public byte[] bcSign() {
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        bcPrivate.sign(Ed25519.Algorithm.Ed25519, bcPublic, null, message, 0, message.length, sig, 0);
        return sig;
    }

    /** @return the verification result, plain BouncyCastle lightweight (baseline) */
    @Benchmark
    public boolean bcVerify() {
        boolean ok = bcPublic.verify(Ed25519.Algorithm.Ed25519, null, message, 0, message.length, signature, 0);
        if (!ok) {
            throw new IllegalStateException("BouncyCastle verification failed");
        }
        return ok;
    }

    /** @return a DSSE envelope signed by depin's typed path */
    @Benchmark
    public Envelope envelopeSign() {
        return Envelope.sign(TYPE, message, keys);
    }

    /** @return the key, after verifying the envelope (throws if bad) */
    @Benchmark
    public NodePublicKey envelopeVerify() {
        envelope.verify(TYPE, publicKey);
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
