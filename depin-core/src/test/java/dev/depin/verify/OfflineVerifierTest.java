package dev.depin.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Dsse;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Evidence;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.job.DisputeRecord;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library side of issue 7: receipts and disputes built by hand (signed by an honest
 * and a dishonest key), so that each hostile variant is exactly one change away from a
 * valid one. Each test failed before the fix it names.
 */
class OfflineVerifierTest {
    private static final long SEED = 0x0ff1_1e07L;
    private static final int M = 5;
    private static final int K = 4;
    private static final int N = 3;

    private static NodeKeyPair honest;
    private static NodeKeyPair other;
    private static Job job;
    private static ByteBuffer c;
    private static String nonce;

    @BeforeAll
    static void fixture() {
        System.out.println("OfflineVerifierTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        honest = NodeKeyPair.fromSeed(bytes(rnd, 32));
        other = NodeKeyPair.fromSeed(bytes(rnd, 32));
        float[] a = floats(rnd, M * K);
        float[] b = floats(rnd, K * N);
        job = Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", N).input("a", a).input("b", b)
                .verification(VerificationPolicy.freivalds(16)).timeout(Duration.ofSeconds(30)).build();
        float[] prod = new float[M * N];
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int p = 0; p < K; p++) {
                    s += a[i * K + p] * b[p * N + j];
                }
                prod[i * N + j] = s;
            }
        }
        c = le(prod);
        nonce = dev.depin.crypto.Hex.encode(bytes(rnd, 16));
    }

    /** A receipt for the fixture job, as an honest provider signs it, changed by {@code edit}. */
    private static Envelope receipt(NodeKeyPair signer, Consumer<ExecutionReceipt.Builder> edit) {
        JobSpec spec = job.spec();
        ExecutionReceipt.Builder r = ExecutionReceipt.builder().jobId("job-7").attempt(1).specHash(spec.hash())
                .kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash()).nonce(nonce)
                .input(BufferDigest.of("a", job.inputs().get("a"), JobSpec.MERKLE_CHUNK_BYTES))
                .input(BufferDigest.of("b", job.inputs().get("b"), JobSpec.MERKLE_CHUNK_BYTES))
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES).executorKind("cpu")
                .startedAt(Instant.EPOCH).endedAt(Instant.EPOCH.plusMillis(3)).deviceTimeNanos(3_000_000)
                .assurance(Assurance.signature());
        edit.accept(r);
        return r.build().sign(signer);
    }

    private static Envelope honestReceipt(ByteBuffer out) {
        return receipt(honest, r -> r.output(BufferDigest.of("c", out, JobSpec.MERKLE_CHUNK_BYTES)));
    }

    private static ReceiptCheck check(Envelope receipt) {
        return OfflineVerifier.receipt(receipt, honest.publicKey()).output("c", c);
    }

    @Test
    void receipt_everythingGiven_allChecksMade() {
        OfflineReport r = check(honestReceipt(c)).spec(job.spec()).nonce(nonce)
                .input("a", job.inputs().get("a")).input("b", job.inputs().get("b")).verify();
        for (String name : List.of("signature", "nonce", "specHash", "kernel", "spec inputs", "spec outputs",
                "inputs", "outputs", "subjects", "chunk size")) {
            assertTrue(r.made(name), name + " in " + r);
        }
        assertEquals(List.of("job id and attempt", "wipe attestation"),
                r.notChecked().stream().map(OfflineReport.NotChecked::check).toList());
        assertTrue(r.checked().allPassed());
    }

    /** Defect 5: without --nonce, "ok nonce" was reported and counted as passed. */
    @Test
    void receipt_withoutNonceOrSpec_thoseChecksAreSkippedNeverOk() {
        OfflineReport r = check(honestReceipt(c)).verify();
        for (String notMade : List.of("nonce", "specHash", "kernel", "inputs", "jobId", "attempt")) {
            assertFalse(r.made(notMade), notMade + " must not be reported as made: " + r);
        }
        List<String> skipped = r.notChecked().stream().map(OfflineReport.NotChecked::check).toList();
        assertTrue(skipped.containsAll(List.of("nonce", "spec", "input data", "wipe attestation",
                "job id and attempt")), skipped.toString());
        assertTrue(r.summary().contains(" not checked"), r.summary());
        // The legacy entry point keeps only the checks made.
        assertFalse(OfflineVerifier.verifyReceipt(honestReceipt(c), honest.publicKey(), Map.of("c", c), Map.of(),
                null, null).checks().stream().anyMatch(ch -> ch.name().equals("nonce")));
    }

    /** Defect 5: an upper-case hex nonce was rejected as NONCE_MISMATCH. */
    @Test
    void receipt_upperCaseNonce_accepted_otherNonceRejected() {
        assertTrue(check(honestReceipt(c)).nonce(nonce.toUpperCase()).verify().made("nonce"));
        String wrong = "00" + nonce.substring(2);
        assertReason(Reason.NONCE_MISMATCH, "does not echo the challenge",
                () -> check(honestReceipt(c)).nonce(wrong.equals(nonce) ? "11" + nonce.substring(2) : wrong).verify());
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> check(honestReceipt(c)).nonce("xyz"));
        assertTrue(e.getMessage().contains("hex or base64"), e.getMessage());
    }

    /** Defect 2: the receipt's input roots were not compared with the spec's when no input was given. */
    @Test
    void receipt_spec_inputRootsOtherThanTheSpecs() {
        Envelope swapped = receiptWithInputA(BufferDigest.of("a", le(new float[M * K]), JobSpec.MERKLE_CHUNK_BYTES));
        check(swapped).verify(); // without a spec, nothing says which inputs are right
        assertReason(Reason.INPUT_ROOT_MISMATCH, "input 'a'", () -> check(swapped).spec(job.spec()).verify());
    }

    private static Envelope receiptWithInputA(BufferDigest a) {
        JobSpec spec = job.spec();
        return ExecutionReceipt.builder().jobId("job-7").attempt(1).specHash(spec.hash())
                .kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash()).nonce(nonce).input(a)
                .input(BufferDigest.of("b", job.inputs().get("b"), JobSpec.MERKLE_CHUNK_BYTES))
                .output(BufferDigest.of("c", c, JobSpec.MERKLE_CHUNK_BYTES))
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES).executorKind("cpu")
                .startedAt(Instant.EPOCH).endedAt(Instant.EPOCH).deviceTimeNanos(0)
                .assurance(Assurance.signature()).build().sign(honest);
    }

    /** Defect 2: a 4-byte output c was accepted where the spec's shapes give M*N*4 bytes. */
    @Test
    void receipt_spec_outputSizeOtherThanTheShapesGive() {
        ByteBuffer tiny = ByteBuffer.allocate(4);
        Envelope env = honestReceipt(tiny);
        OfflineVerifier.receipt(env, honest.publicKey()).output("c", tiny).verify();
        assertReason(Reason.OUTPUT_SIZE_MISMATCH, "the spec's shapes give " + (M * N * 4) + " bytes",
                () -> OfflineVerifier.receipt(env, honest.publicKey()).output("c", tiny).spec(job.spec()).verify());
    }

    /** Defect 2: an extra output 'd' that the kernel does not produce was accepted. */
    @Test
    void receipt_spec_extraOutputTheKernelDoesNotProduce() {
        ByteBuffer d = ByteBuffer.wrap(new byte[] {1, 2, 3});
        Envelope env = receipt(honest, r -> r.output(BufferDigest.of("c", c, JobSpec.MERKLE_CHUNK_BYTES))
                .output(BufferDigest.of("d", d, JobSpec.MERKLE_CHUNK_BYTES)));
        check(env).output("d", d).verify();
        assertReason(Reason.OUTPUT_ROOT_MISMATCH, "produces [c]",
                () -> check(env).output("d", d).spec(job.spec()).verify());
    }

    /** Defect 5: an output whose name the receipt does not commit to was silently ignored. */
    @Test
    void receipt_outputNameNotInTheReceipt() {
        assertReason(Reason.OUTPUT_ROOT_MISMATCH, "output 'x' was given but the receipt commits to outputs [c]",
                () -> check(honestReceipt(c)).output("x", ByteBuffer.allocate(1)).verify());
        MissingEvidenceException e = assertThrows(MissingEvidenceException.class,
                () -> OfflineVerifier.receipt(honestReceipt(c), honest.publicKey()).verify());
        assertTrue(e.getMessage().contains("output 'c'"), e.getMessage());
        assertReason(Reason.INPUT_ROOT_MISMATCH, "input 'z' was given",
                () -> check(honestReceipt(c)).input("z", ByteBuffer.allocate(1)).verify());
        assertThrows(MissingEvidenceException.class,
                () -> check(honestReceipt(c)).input("a", job.inputs().get("a")).verify());
    }

    @Test
    void receipt_signedByAnotherKey_keyMismatchOrBadSignature() {
        Envelope env = receipt(other, r -> r.output(BufferDigest.of("c", c, JobSpec.MERKLE_CHUNK_BYTES)));
        VerificationException e = assertThrows(VerificationException.class, () -> check(env).verify());
        assertTrue(e.reason() == Reason.KEY_MISMATCH || e.reason() == Reason.BAD_SIGNATURE, e.getMessage());
    }

    @Test
    void receipt_filesAreStreamed_sizeCheckedBeforeHashing(@TempDir Path dir) throws Exception {
        Path cf = dir.resolve("c.bin");
        Files.write(cf, bytesOf(c));
        Path af = dir.resolve("a.bin");
        Files.write(af, bytesOf(job.inputs().get("a")));
        Path bf = dir.resolve("b.bin");
        Files.write(bf, bytesOf(job.inputs().get("b")));
        OfflineVerifier.receipt(honestReceipt(c), honest.publicKey()).output("c", cf).input("a", af).input("b", bf)
                .spec(job.spec()).verify();
        Files.write(cf, new byte[M * N * 4 + 1]);
        assertReason(Reason.OUTPUT_SIZE_MISMATCH, "has " + (M * N * 4 + 1) + " bytes",
                () -> OfflineVerifier.receipt(honestReceipt(c), honest.publicKey()).output("c", cf).verify());
        EvidenceFileException missing = assertThrows(EvidenceFileException.class,
                () -> OfflineVerifier.receipt(honestReceipt(c), honest.publicKey())
                        .output("c", dir.resolve("nope.bin")).verify());
        assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());
        EvidenceFileException directory = assertThrows(EvidenceFileException.class,
                () -> OfflineVerifier.receipt(honestReceipt(c), honest.publicKey()).output("c", dir).verify());
        assertTrue(directory.getMessage().contains("is a directory"), directory.getMessage());
    }

    /** Defect 4: small evidence files are read with a bound, and the refusal says so. */
    @Test
    void evidenceFiles_oversizedRefusedWithoutReading(@TempDir Path dir) throws Exception {
        Path big = dir.resolve("big.json");
        try (var ch = java.nio.channels.FileChannel.open(big, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'{'}), 200L << 20); // 200 MiB sparse
        }
        for (Executable read : List.<Executable>of(() -> EvidenceFiles.readSpec(big),
                () -> EvidenceFiles.readKey(big), () -> EvidenceFiles.readDispute(big),
                () -> EvidenceFiles.readEnvelope(big, "receipt"))) {
            OversizedEvidenceException e = assertThrows(OversizedEvidenceException.class, read);
            assertTrue(e.getMessage().contains("has " + ((200L << 20) + 1) + " bytes, more than the"),
                    e.getMessage());
        }
    }

    // ---- disputes ----

    /** A signed, wrong product: one element off by 1.0, which Freivalds with 16 rounds catches. */
    private static ByteBuffer corrupted() {
        ByteBuffer bad = ByteBuffer.allocate(c.capacity()).order(ByteOrder.LITTLE_ENDIAN).put(c.duplicate());
        bad.putFloat(4 * 7, bad.getFloat(4 * 7) + 1.0f);
        return bad.flip();
    }

    private static DisputeRecord dispute(NodeKeyPair accused, NodeKeyPair signer, String seedHex, String check,
                                         JobSpec spec) {
        return dispute(accused, signer, seedHex, check, spec, corrupted());
    }

    private static DisputeRecord dispute(NodeKeyPair accused, NodeKeyPair signer, String seedHex, String check,
                                         JobSpec spec, ByteBuffer bad) {
        Envelope env = receipt(signer, r -> r.specHash(spec.hash()).output(BufferDigest.of("c", bad,
                JobSpec.MERKLE_CHUNK_BYTES)));
        Envelope wipe = Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, "{}".getBytes(StandardCharsets.UTF_8), signer);
        return new DisputeRecord("job-7", 1, accused.publicKey().nodeId(), accused.publicKey(),
                Reason.RESULT_MISMATCH, "C[2][1] is wrong", new Evidence(check, "row 2", "x", "y", seedHex), env, wipe,
                spec.canonicalJson(), Instant.EPOCH, Map.of());
    }

    /** A genuine record against the dishonest key, for the JSON tests. */
    static DisputeRecord genuineRecord() {
        if (job == null) {
            fixture();
        }
        return dispute(other, other, seed(), "freivalds", job.spec());
    }

    private static String seed() {
        return "5e".repeat(32);
    }

    private static DisputeCheck withData(DisputeRecord d) {
        return OfflineVerifier.dispute(d).input("a", job.inputs().get("a")).input("b", job.inputs().get("b"))
                .output("c", corrupted());
    }

    @Test
    void evidence_eachNameOnce_andNoNulls_inBothChecks() {
        ReceiptCheck rc = OfflineVerifier.receipt(honestReceipt(c), honest.publicKey()).output("c", c);
        assertEquals("output 'c' given twice: give each once", assertThrows(InvalidArgumentException.class,
                () -> rc.output("c", Path.of("c.bin"))).getMessage());
        assertEquals("file of input 'a' is null: pass a value", assertThrows(InvalidArgumentException.class,
                () -> rc.input("a", (Path) null)).getMessage());
        assertEquals("input name is null: pass a value", assertThrows(InvalidArgumentException.class,
                () -> rc.input(null, c)).getMessage());
        DisputeCheck dc = OfflineVerifier.dispute(genuineRecord()).input("a", job.inputs().get("a"));
        assertEquals("input 'a' given twice: give each once", assertThrows(InvalidArgumentException.class,
                () -> dc.input("a", Path.of("a.bin"))).getMessage());
        assertEquals("data of output 'c' is null: pass a value", assertThrows(InvalidArgumentException.class,
                () -> dc.output("c", (ByteBuffer) null)).getMessage());
    }

    @Test
    void dispute_genuine_upheld_andWithTheAccusedKey() {
        DisputeRecord d = dispute(other, other, seed(), "freivalds", job.spec());
        OfflineReport r = withData(d).verify();
        assertTrue(r.made("dispute upheld"), r.toString());
        assertTrue(r.notChecked().stream().anyMatch(n -> n.check().equals("provider key")), r.toString());
        OfflineReport withKey = withData(d).providerKey(other.publicKey()).verify();
        assertTrue(withKey.made("provider key"));
        // Round trip through JSON: the same.
        assertTrue(withData(DisputeRecord.fromJson(d.toJson())).verify().made("dispute upheld"));
        // The honest output does not uphold it.
        DisputeNotUpheldException e = assertThrows(DisputeNotUpheldException.class,
                () -> OfflineVerifier.dispute(dispute(honest, honest, seed(), "freivalds", job.spec(), c))
                        .input("a", job.inputs().get("a")).input("b", job.inputs().get("b"))
                        .output("c", c).verify());
        assertTrue(e.getMessage().contains("passes freivalds when re-checked"), e.getMessage());
    }

    /** Defect 1: a record naming an honest provider, with a receipt signed by another key. */
    @Test
    void dispute_forgedAgainstHonestProvider_refused() {
        // The record names the honest provider but carries (and was signed with) the forger's key.
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> new DisputeRecord("job-7", 1, honest.publicKey().nodeId(), other.publicKey(),
                        Reason.RESULT_MISMATCH, "forged", null, honestReceipt(c), honestReceipt(c),
                        job.spec().canonicalJson(), Instant.EPOCH, Map.of()));
        assertTrue(e.getMessage().contains("names provider " + honest.publicKey().nodeId().hex()), e.getMessage());
        // The same forgery as JSON: the provider field of a genuine record replaced by the honest id.
        DisputeRecord genuine = dispute(other, other, seed(), "freivalds", job.spec());
        String json = new String(genuine.toJson(), StandardCharsets.UTF_8)
                .replace(other.publicKey().nodeId().hex(), honest.publicKey().nodeId().hex());
        dev.depin.InvalidJobException je = assertThrows(dev.depin.InvalidJobException.class,
                () -> DisputeRecord.fromJson(json.getBytes(StandardCharsets.UTF_8)));
        assertTrue(je.getMessage().contains("nobody else"), je.getMessage());
        // The honest provider's key and id, with a receipt the forger signed: the signature fails.
        DisputeRecord framed = dispute(honest, other, seed(), "freivalds", job.spec());
        VerificationException ve = assertThrows(VerificationException.class, () -> withData(framed).verify());
        assertTrue(ve.reason() == Reason.KEY_MISMATCH || ve.reason() == Reason.BAD_SIGNATURE, ve.getMessage());
        // A genuine record against the forger, checked against the honest provider's key: not about them.
        assertReason(Reason.KEY_MISMATCH, "not about the provider you named",
                () -> withData(genuine).providerKey(honest.publicKey()).verify());
    }

    @Test
    void dispute_recordForAnotherJobOrAttempt_refused() {
        DisputeRecord d = dispute(other, other, seed(), "freivalds", job.spec());
        DisputeRecord otherJob = new DisputeRecord("job-8", 1, d.provider(), d.providerKey(), d.reason(),
                d.message(), d.evidence(), d.receipt(), d.wipe(), d.specJson(), d.at(), Map.of());
        assertReason(Reason.JOB_ID_MISMATCH, "job-7", () -> withData(otherJob).verify());
        DisputeRecord otherAttempt = new DisputeRecord("job-7", 2, d.provider(), d.providerKey(), d.reason(),
                d.message(), d.evidence(), d.receipt(), d.wipe(), d.specJson(), d.at(), Map.of());
        assertReason(Reason.ATTEMPT_MISMATCH, "attempt", () -> withData(otherAttempt).verify());
    }

    /** Defect 3: a seed that is not hex threw IllegalArgumentException. */
    @Test
    void dispute_seedNotHex_notUpheldWithReason() {
        for (String bad : List.of("zz".repeat(32), "", "5e", "5e".repeat(32) + "5")) {
            DisputeNotUpheldException e = assertThrows(DisputeNotUpheldException.class,
                    () -> withData(dispute(other, other, bad, "freivalds", job.spec())).verify());
            assertTrue(e.getMessage().contains("is not 16 to 1024 bytes of hex"), e.getMessage());
        }
    }

    /** Defect 3: a spot-check dispute with no inputs threw NullPointerException. */
    @Test
    void dispute_noInputs_saysWhichAreNeeded() {
        DisputeRecord d = dispute(other, other, "", "spot-check", job.spec());
        MissingEvidenceException e = assertThrows(MissingEvidenceException.class,
                () -> OfflineVerifier.dispute(d).output("c", corrupted()).verify());
        assertTrue(e.getMessage().contains("input 'a' was not given"), e.getMessage());
        assertTrue(OfflineVerifier.dispute(d).input("a", job.inputs().get("a")).input("b", job.inputs().get("b"))
                .output("c", corrupted()).verify().made("dispute upheld"), "recomputation finds the wrong element");
    }

    @Test
    void dispute_freivaldsCitedUnderAnotherPolicy_inconsistent() {
        Job spot = Job.builder(BuiltinKernel.SGEMM).param("m", M).param("k", K).param("n", N)
                .input("a", job.inputs().get("a")).input("b", job.inputs().get("b"))
                .verification(VerificationPolicy.spotCheck(1.0)).deadline(job.spec().deadline()).build();
        DisputeNotUpheldException e = assertThrows(DisputeNotUpheldException.class,
                () -> withData(dispute(other, other, seed(), "freivalds", spot.spec())).verify());
        assertTrue(e.getMessage().contains("record is inconsistent"), e.getMessage());
    }

    // ---- helpers ----

    private static void assertReason(Reason reason, String fragment, Executable run) {
        VerificationException e = assertThrows(VerificationException.class, run);
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' not in: " + e.getMessage());
    }

    private static byte[] bytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static float[] floats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static ByteBuffer le(float[] f) {
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b;
    }

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
