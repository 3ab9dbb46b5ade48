package dev.depin.benchmarks.crypto;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.crypto.BatchSigner;
import dev.depin.crypto.BatchVerifier;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.ReceiptExpectations;
import dev.depin.crypto.Sha256;
import dev.depin.crypto.VerifiedBatchedReceipt;
import dev.depin.crypto.WipeAttestation;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Per-job cost of trust for small jobs: receipt batching against the single-envelope path,
 * with plain BouncyCastle Ed25519 as the floor, in the same run. Every call handles <b>one
 * job</b>, so every score is µs per job; the batched benchmarks seal a batch (or start a
 * fresh verifier with an empty cache) every {@code jobs} calls, so the batch signature and
 * its verification are amortised over exactly {@code jobs} jobs. A job has a receipt (1 KiB
 * input, 1 KiB output, SAXPY-sized) and a wipe attestation.
 * <ul>
 *   <li>{@code floorBcTwoSignsTwoVerifies}: plain BouncyCastle: sign and verify the receipt
 *       and the wipe statement bytes (2 signs + 2 verifies, no PAE, no JSON, no binding):
 *       the per-job signature floor of issue 6;</li>
 *   <li>{@code floorBcTwoVerifies}: plain BouncyCastle: the 2 verifies alone (buyer floor);</li>
 *   <li>{@code singleSignAndVerify}: {@code ExecutionReceipt.sign}, {@code WipeAttestation.sign},
 *       {@code ExecutionReceipt.verify} (every binding), {@code WipeAttestation.verify};</li>
 *   <li>{@code singleVerify}: the buyer's half of that, envelopes signed in setup;</li>
 *   <li>{@code batchedSignAndVerify}: the provider's long-lived {@link BatchSigner} seals the
 *       {@code jobs} jobs into one batch (one signature), then a fresh {@link BatchVerifier}
 *       verifies every job (one batch signature verification, then inclusion proofs and every
 *       binding);</li>
 *   <li>{@code batchedVerify}: the buyer's half: a fresh {@link BatchVerifier} (empty cache)
 *       verifies the {@code jobs} jobs of one pre-sealed batch (amortised batch verify +
 *       two inclusion proofs + bindings per job).</li>
 * </ul>
 *
 * <p>Run (brief, as in docs/benchmarks.md):
 * <pre>
 * mvn -B -q -o -pl depin-core,depin-benchmarks -am -DskipTests package
 * java -jar depin-benchmarks/target/benchmarks.jar 'crypto.BatchReceiptBenchmark' -f 1 -wi 2 -i 3
 * </pre>
 */
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
public class BatchReceiptBenchmark extends BenchmarkBase {
    private static final int CHUNK = 64 * 1024;
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    /** Jobs per batch (and per invocation). */
    @Param({"1", "16", "256"})
    public int jobs;

    private NodeKeyPair keys;
    private BatchSigner signer;
    private Ed25519PrivateKeyParameters bcPrivate;
    private Ed25519PublicKeyParameters bcPublic;
    private final List<ExecutionReceipt> receipts = new ArrayList<>();
    private final List<WipeAttestation> wipes = new ArrayList<>();
    private final List<ReceiptExpectations> expectations = new ArrayList<>();
    private final List<Envelope> receiptEnvelopes = new ArrayList<>();
    private final List<Envelope> wipeEnvelopes = new ArrayList<>();
    private final List<byte[]> receiptPayloads = new ArrayList<>();
    private final List<byte[]> wipePayloads = new ArrayList<>();
    private final List<byte[]> receiptSigs = new ArrayList<>();
    private final List<byte[]> wipeSigs = new ArrayList<>();
    private List<BatchedReceipt> batched;
    private List<BatchedReceipt> sealedNow;
    private BatchVerifier verifier;
    private int cursor;

    /** Keys, jobs, signed envelopes and one sealed batch, from a fixed seed. */
    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(SEED);
        byte[] seed = bytes(r, 32);
        keys = NodeKeyPair.fromSeed(seed);
        signer = new BatchSigner(keys, jobs);
        bcPrivate = new Ed25519PrivateKeyParameters(seed, 0);
        bcPublic = bcPrivate.generatePublicKey();
        String spec = Sha256.hex("spec".getBytes(StandardCharsets.UTF_8));
        String kernel = Sha256.hex("saxpy".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < jobs; i++) {
            String nonce = Hex.encode(bytes(r, 32));
            ByteBuffer in = ByteBuffer.wrap(bytes(r, 1024));
            ByteBuffer out = ByteBuffer.wrap(bytes(r, 1024));
            ExecutionReceipt receipt = ExecutionReceipt.builder().jobId("job-" + i).attempt(1).specHash(spec)
                    .kernelId("saxpy").kernelHash(kernel).nonce(nonce).input(BufferDigest.of("x", in, CHUNK))
                    .output(BufferDigest.of("y", out, CHUNK)).merkleChunkBytes(CHUNK).executorKind("cpu")
                    .startedAt(T0).endedAt(T0.plusMillis(1)).deviceTimeNanos(1000).build();
            WipeAttestation wipe = WipeAttestation.builder().receiptDigest(receipt.statementDigestHex())
                    .buffer(HostWipe.wipe("x", new byte[1024], (byte) 0))
                    .buffer(HostWipe.wipe("y", new byte[1024], (byte) 0)).startedAt(T0).endedAt(T0).build();
            receipts.add(receipt);
            wipes.add(wipe);
            expectations.add(ReceiptExpectations.builder().signer(keys.publicKey()).jobId("job-" + i).attempt(1)
                    .nonce(nonce).specHash(spec).kernelId("saxpy").kernelHash(kernel)
                    .input(BufferDigest.of("x", in, CHUNK)).merkleChunkBytes(CHUNK).receivedOutput("y", out).build());
            Envelope re = receipt.sign(keys);
            receiptEnvelopes.add(re);
            wipeEnvelopes.add(wipe.sign(keys));
            receiptPayloads.add(receipt.toPayload());
            wipePayloads.add(wipe.toPayload());
            receiptSigs.add(bcSign(receiptPayloads.get(i)));
            wipeSigs.add(bcSign(wipePayloads.get(i)));
        }
        batched = seal();
        BatchVerifier check = new BatchVerifier();
        for (int i = 0; i < jobs; i++) {
            check.verify(batched.get(i), expectations.get(i));
        }
        sealedNow = batched;
        verifier = check;
    }

    /** Closes the provider's signer (nothing is pending: every batch sealed itself when full). */
    @TearDown(Level.Trial)
    public void tearDown() {
        signer.close();
    }

    private static byte[] bytes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt();
        }
        return b;
    }

    private byte[] bcSign(byte[] m) {
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        bcPrivate.sign(Ed25519.Algorithm.Ed25519, bcPublic, null, m, 0, m.length, sig, 0);
        return sig;
    }

    private void bcVerify(byte[] m, byte[] sig) {
        if (!bcPublic.verify(Ed25519.Algorithm.Ed25519, null, m, 0, m.length, sig, 0)) {
            throw new IllegalStateException("BouncyCastle verification failed");
        }
    }

    /** Adds the {@code jobs} jobs to the provider's long-lived signer, which seals when full. */
    private List<BatchedReceipt> seal() {
        List<CompletableFuture<BatchedReceipt>> futures = new ArrayList<>(jobs);
        for (int i = 0; i < jobs; i++) {
            futures.add(signer.add(receipts.get(i), wipes.get(i)));
        }
        List<BatchedReceipt> out = new ArrayList<>(jobs);
        for (CompletableFuture<BatchedReceipt> f : futures) {
            out.add(f.join());
        }
        return out;
    }

    /** The next job, 0..jobs-1; a new batch (or a fresh verifier) starts at 0. */
    private int next() {
        int i = cursor;
        cursor = i + 1 == jobs ? 0 : i + 1;
        return i;
    }

    /** @return plain BouncyCastle, 2 signs + 2 verifies of one job's statements (the floor) */
    @Benchmark
    public byte[] floorBcTwoSignsTwoVerifies() {
        int i = next();
        byte[] rs = bcSign(receiptPayloads.get(i));
        byte[] ws = bcSign(wipePayloads.get(i));
        bcVerify(receiptPayloads.get(i), rs);
        bcVerify(wipePayloads.get(i), ws);
        return ws;
    }

    /** @return plain BouncyCastle, the 2 verifies of one job (the buyer's floor) */
    @Benchmark
    public int floorBcTwoVerifies() {
        int i = next();
        bcVerify(receiptPayloads.get(i), receiptSigs.get(i));
        bcVerify(wipePayloads.get(i), wipeSigs.get(i));
        return i;
    }

    /** @param bh sink: one job on the single-envelope path, sign both and verify every binding */
    @Benchmark
    public void singleSignAndVerify(Blackhole bh) {
        int i = next();
        Envelope re = receipts.get(i).sign(keys);
        Envelope we = wipes.get(i).sign(keys);
        bh.consume(ExecutionReceipt.verify(re, expectations.get(i)));
        bh.consume(WipeAttestation.verify(we, re, keys.publicKey(), WipeAttestation.buffersOf(receipts.get(i))));
    }

    /** @param bh sink: one job on the single-envelope path, verify every binding */
    @Benchmark
    public void singleVerify(Blackhole bh) {
        int i = next();
        Envelope re = receiptEnvelopes.get(i);
        bh.consume(ExecutionReceipt.verify(re, expectations.get(i)));
        bh.consume(WipeAttestation.verify(wipeEnvelopes.get(i), re, keys.publicKey(),
                WipeAttestation.buffersOf(receipts.get(i))));
    }

    /**
     * One job batched: every {@code jobs} calls the batch is sealed anew (one signature) and
     * a fresh verifier starts; each call verifies one job.
     *
     * @return the verified job
     */
    @Benchmark
    public VerifiedBatchedReceipt batchedSignAndVerify() {
        int i = next();
        if (i == 0) {
            sealedNow = seal();
            verifier = new BatchVerifier();
        }
        return verifier.verify(sealedNow.get(i), expectations.get(i));
    }

    /**
     * One job of a pre-sealed batch: every {@code jobs} calls a fresh verifier (empty cache)
     * starts, so the batch signature is verified once per {@code jobs} jobs.
     *
     * @return the verified job
     */
    @Benchmark
    public VerifiedBatchedReceipt batchedVerify() {
        int i = next();
        if (i == 0) {
            verifier = new BatchVerifier();
        }
        return verifier.verify(batched.get(i), expectations.get(i));
    }
}
