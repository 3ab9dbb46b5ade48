package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.Freivalds;
import dev.depin.crypto.verify.FreivaldsTest;
import dev.depin.crypto.verify.SpotCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Adversarial receipt tests: each attack must be caught with its own reason. */
class ExecutionReceiptTest {
    private static final long SEED = 0x7ec_e1_97L;
    private static final int CHUNK = 4096;
    private static final int M = 48;
    private static final int K = 40;
    private static final int N = 56;

    private final SecureRandom rng = new SecureRandom();
    private final NodeKeyPair provider = NodeKeyPair.generate(rng);
    private final NodeKeyPair mallory = NodeKeyPair.generate(rng);
    private final String nonce = ExecutionReceipt.newNonce(rng);
    private final String specHash = sha("spec job-1");
    private final String kernelHash = sha("sgemm kernel v1");
    private final float[] a;
    private final float[] b;
    private final float[] c;
    private final ByteBuffer aBytes;
    private final ByteBuffer bBytes;
    private final ByteBuffer cBytes;

    ExecutionReceiptTest() {
        System.out.println("ExecutionReceiptTest seed " + SEED);
        Random r = new Random(SEED);
        a = randomMatrix(r, M * K);
        b = randomMatrix(r, K * N);
        c = FreivaldsTest.multiply(a, b, M, K, N);
        aBytes = bytes(a);
        bBytes = bytes(b);
        cBytes = bytes(c);
    }

    static String sha(String s) {
        return Hex.encode(Sha256.digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    static float[] randomMatrix(Random r, int len) {
        float[] f = new float[len];
        for (int i = 0; i < len; i++) {
            f[i] = r.nextFloat() * 2 - 1;
        }
        return f;
    }

    static ByteBuffer bytes(float[] f) {
        ByteBuffer bb = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(f);
        return bb;
    }

    private ExecutionReceipt.Builder honest(ByteBuffer output) {
        Instant t0 = Instant.parse("2025-01-01T00:00:00Z");
        return ExecutionReceipt.builder().jobId("job-1").attempt(1).specHash(specHash).kernelId("sgemm")
                .kernelHash(kernelHash).nonce(nonce)
                .input(BufferDigest.of("A", aBytes, CHUNK)).input(BufferDigest.of("B", bBytes, CHUNK))
                .output(BufferDigest.of("C", output, CHUNK)).merkleChunkBytes(CHUNK).executorKind("cpu")
                .device(new ReceiptDevice("test-cpu", null, null, null)).startedAt(t0).endedAt(t0.plusMillis(5))
                .deviceTimeNanos(5_000_000).assurance(Assurance.signature());
    }

    private ReceiptExpectations.Builder expectations(ByteBuffer received) {
        return ReceiptExpectations.builder().signer(provider.publicKey()).jobId("job-1").attempt(1).nonce(nonce)
                .specHash(specHash).kernelId("sgemm").kernelHash(kernelHash)
                .input(BufferDigest.of("A", aBytes, CHUNK)).input(BufferDigest.of("B", bBytes, CHUNK))
                .merkleChunkBytes(CHUNK).receivedOutput("C", received);
    }

    private static void assertReason(Reason expected, Executable e) {
        VerificationException ex = assertThrows(VerificationException.class, e);
        assertEquals(expected, ex.reason(), ex.getMessage());
    }

    @Test
    void verify_honestReceipt_passesEveryCheck() {
        Envelope env = Envelope.parse(honest(cBytes).build().sign(provider).toJson());
        VerifiedReceipt v = ExecutionReceipt.verify(env, expectations(cBytes).build());
        assertEquals(provider.nodeId(), v.signer());
        assertEquals("job-1", v.receipt().jobId());
        assertTrue(v.report().allPassed());
        assertEquals(Assurance.Level.SIGNATURE, v.report().assurance().level());
        assertEquals(honest(cBytes).build(), ExecutionReceipt.readUnverified(env));
        // precomputed digest path
        ExecutionReceipt.verify(env, expectations(cBytes).build());
        ReceiptExpectations pre = ReceiptExpectations.builder().signer(provider.publicKey()).jobId("job-1").attempt(1)
                .nonce(nonce).specHash(specHash).kernelHash(kernelHash).input(BufferDigest.of("A", aBytes, CHUNK))
                .input(BufferDigest.of("B", bBytes, CHUNK)).merkleChunkBytes(CHUNK)
                .receivedOutputDigest(BufferDigest.of("C", cBytes, CHUNK)).build();
        ExecutionReceipt.verify(env, pre);
    }

    @Test
    void verify_oneFlippedBitInOutput_isOutputRootMismatch() {
        Envelope env = honest(cBytes).build().sign(provider);
        ByteBuffer received = ByteBuffer.allocate(cBytes.capacity()).put(cBytes.duplicate()).flip();
        received.put(1234, (byte) (received.get(1234) ^ 0x10));
        assertReason(Reason.OUTPUT_ROOT_MISMATCH, () -> ExecutionReceipt.verify(env, expectations(received).build()));
    }

    @Test
    void verify_truncatedOutput_isOutputSizeMismatch() {
        Envelope env = honest(cBytes).build().sign(provider);
        ByteBuffer truncated = cBytes.duplicate().limit(cBytes.capacity() - 4);
        assertReason(Reason.OUTPUT_SIZE_MISMATCH, () -> ExecutionReceipt.verify(env, expectations(truncated).build()));
    }

    @Test
    void verify_wrongButSelfConsistentOutput_passesReceiptButCaughtByFreivaldsAndSpotCheck() {
        float[] wrong = c.clone();
        wrong[17 * N + 5] += 50f;    // provider commits to and signs a wrong product
        ByteBuffer wrongBytes = bytes(wrong);
        Envelope env = honest(wrongBytes).build().sign(provider);
        ExecutionReceipt.verify(env, expectations(wrongBytes).build());   // authentic and consistent

        byte[] seed = Freivalds.newSeed(rng);
        VerificationException f = assertThrows(VerificationException.class,
                () -> Freivalds.verify(a, b, wrong, M, K, N, 30, seed));
        assertEquals(Reason.RESULT_MISMATCH, f.reason());
        assertTrue(f.evidence().orElseThrow().location().startsWith("row 17, column 5 "), f.evidence().toString());

        byte[] root = Merkle.root(wrongBytes, 256);
        VerificationException s = assertThrows(VerificationException.class, () -> SpotCheck.verify(wrongBytes, root, 256,
                1.0, seed, (i, off, len) -> cBytes.duplicate().position((int) off).limit((int) off + len),
                Comparison.float32(1e-5, 1e-6)));
        assertEquals(Reason.RESULT_MISMATCH, s.reason());
    }

    @Test
    void verify_receiptReplayedFromEarlierJob_isJobIdMismatch() {
        Envelope old = honest(cBytes).jobId("job-0").build().sign(provider);
        assertReason(Reason.JOB_ID_MISMATCH, () -> ExecutionReceipt.verify(old, expectations(cBytes).build()));
    }

    @Test
    void verify_swappedNonce_isNonceMismatch() {
        Envelope env = honest(cBytes).nonce(ExecutionReceipt.newNonce(rng)).build().sign(provider);
        assertReason(Reason.NONCE_MISMATCH, () -> ExecutionReceipt.verify(env, expectations(cBytes).build()));
    }

    @Test
    void verify_otherAttempt_isAttemptMismatch() {
        Envelope env = honest(cBytes).attempt(2).build().sign(provider);
        assertReason(Reason.ATTEMPT_MISMATCH, () -> ExecutionReceipt.verify(env, expectations(cBytes).build()));
    }

    @Test
    void verify_signedByAnotherKey_isKeyMismatch() {
        Envelope env = honest(cBytes).build().sign(mallory);
        assertReason(Reason.KEY_MISMATCH, () -> ExecutionReceipt.verify(env, expectations(cBytes).build()));
        Envelope forged = new Envelope(env.payloadType(), env.payload(),
                List.of(new Envelope.Signature(provider.nodeId().hex(), env.signatures().get(0).sig())));
        assertReason(Reason.BAD_SIGNATURE, () -> ExecutionReceipt.verify(forged, expectations(cBytes).build()));
    }

    @Test
    void verify_receiptForAnotherSpecOrKernelOrInput_isCaught() {
        Envelope spec = honest(cBytes).specHash(sha("other spec")).build().sign(provider);
        assertReason(Reason.SPEC_HASH_MISMATCH, () -> ExecutionReceipt.verify(spec, expectations(cBytes).build()));
        Envelope kernel = honest(cBytes).kernelHash(sha("other kernel")).build().sign(provider);
        assertReason(Reason.KERNEL_HASH_MISMATCH, () -> ExecutionReceipt.verify(kernel, expectations(cBytes).build()));
        ByteBuffer otherA = bytes(randomMatrix(new Random(SEED + 1), M * K));
        ExecutionReceipt.Builder bld = ExecutionReceipt.builder().jobId("job-1").specHash(specHash).kernelId("sgemm")
                .kernelHash(kernelHash).nonce(nonce).input(BufferDigest.of("A", otherA, CHUNK))
                .input(BufferDigest.of("B", bBytes, CHUNK)).output(BufferDigest.of("C", cBytes, CHUNK))
                .merkleChunkBytes(CHUNK).executorKind("cpu").startedAt(Instant.EPOCH).endedAt(Instant.EPOCH);
        Envelope input = bld.build().sign(provider);
        assertReason(Reason.INPUT_ROOT_MISMATCH, () -> ExecutionReceipt.verify(input, expectations(cBytes).build()));
        Envelope chunk = honest(cBytes).merkleChunkBytes(1024).build().sign(provider);
        assertReason(Reason.CHUNK_SIZE_MISMATCH, () -> ExecutionReceipt.verify(chunk, expectations(cBytes).build()));
    }

    @Test
    void verify_alteredPayloadType_isWrongPayloadTypeOrBadSignature() {
        Envelope env = honest(cBytes).build().sign(provider);
        Envelope retyped = new Envelope("application/json", env.payload(), env.signatures());
        assertReason(Reason.WRONG_PAYLOAD_TYPE, () -> ExecutionReceipt.verify(retyped, expectations(cBytes).build()));
    }

    @Test
    void verify_wipePredicateSignedAsReceipt_isWrongPredicateType() {
        Envelope receipt = honest(cBytes).build().sign(provider);
        Envelope wipe = WipeAttestation.builder().receipt(receipt).buffer(HostWipe.wipe("C", new byte[8], (byte) 0))
                .startedAt(Instant.EPOCH).endedAt(Instant.EPOCH).build().sign(provider);
        assertReason(Reason.WRONG_PREDICATE_TYPE, () -> ExecutionReceipt.verify(wipe, expectations(cBytes).build()));
    }

    @Test
    void verify_subjectsDisagreeWithPredicate_isSubjectMismatch() throws Exception {
        ExecutionReceipt r = honest(cBytes).build();
        String payload = new String(r.toPayload(), StandardCharsets.UTF_8);
        String root = r.outputs().get(0).merkleRoot();
        String otherRoot = sha("x");
        // swap only the subject's digest, leave the predicate
        String tampered = payload.replaceFirst("\"merkle-sha256\":\"" + root + "\"", "\"merkle-sha256\":\"" + otherRoot + "\"");
        assertTrue(!tampered.equals(payload));
        Envelope env = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, tampered.getBytes(StandardCharsets.UTF_8), provider);
        assertReason(Reason.SUBJECT_MISMATCH, () -> ExecutionReceipt.verify(env, expectations(cBytes).build()));
    }

    @Test
    void verify_malformedStatementOrEnvelope_isMalformed() {
        Envelope notJson = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, "{not json".getBytes(StandardCharsets.UTF_8), provider);
        assertReason(Reason.MALFORMED_STATEMENT, () -> ExecutionReceipt.verify(notJson, expectations(cBytes).build()));
        Envelope missing = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, ("{\"_type\":\"https://in-toto.io/Statement/v1\","
                + "\"predicateType\":\"https://depin.dev/execution/v1\",\"subject\":[],\"predicate\":{\"jobId\":\"job-1\"}}")
                .getBytes(StandardCharsets.UTF_8), provider);
        assertReason(Reason.MALFORMED_STATEMENT, () -> ExecutionReceipt.verify(missing, expectations(cBytes).build()));
        String json = honest(cBytes).build().sign(provider).toJson();
        assertReason(Reason.MALFORMED_ENVELOPE, () -> Envelope.parse(json.substring(0, json.length() - 3)));
    }

    @Test
    void builder_invalidFields_rejected() {
        assertThrows(InvalidArgumentException.class, () -> honest(cBytes).attempt(0).build());
        assertThrows(InvalidArgumentException.class, () -> honest(cBytes).nonce("abcd").build());
        assertThrows(InvalidArgumentException.class, () -> honest(cBytes).specHash("XYZ").build());
        assertThrows(InvalidArgumentException.class, () -> honest(cBytes).endedAt(Instant.EPOCH).build());
        assertThrows(InvalidArgumentException.class, () -> honest(cBytes).output(BufferDigest.of("C", cBytes, CHUNK)).build());
    }

    @Test
    void toPayload_isDeterministicAndSorted() {
        ExecutionReceipt r = honest(cBytes).build();
        String p = new String(r.toPayload(), StandardCharsets.UTF_8);
        assertEquals(p, new String(honest(cBytes).build().toPayload(), StandardCharsets.UTF_8));
        assertTrue(p.startsWith("{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{\"assurance\""), p);
        assertTrue(p.contains("\"merkleChunkBytes\":4096"));
        assertTrue(p.contains("\"subject\":[{\"digest\":{\"merkle-sha256\":"));
    }
}
