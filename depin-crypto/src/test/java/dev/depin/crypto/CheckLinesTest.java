package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.verify.Comparison;
import dev.depin.crypto.verify.SpotCheck;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The verification report's check lines, to the character: since the lines of a buyer's
 * per-job checks are built only when read, these pin the text they had when they were built
 * eagerly (taken from the verifier at 256db36 on the same deterministic inputs), and the
 * {@link VerificationReport.Check} value semantics.
 */
class CheckLinesTest {
    private static final long SEED = 0xC4EC_2026L;
    private static final int CHUNK = 64;
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    CheckLinesTest() {
        System.out.println("CheckLinesTest seed " + SEED);
    }

    /** The check lines of fixed jobs (batched, signed per job, spot-checked), in order. */
    static List<String> lines() {
        Random random = new Random(SEED);
        byte[] s = new byte[32];
        random.nextBytes(s);
        NodeKeyPair provider = NodeKeyPair.fromSeed(s);
        String specHash = Hex.encode(Sha256.digest("spec".getBytes(StandardCharsets.UTF_8)));
        String kernelHash = Hex.encode(Sha256.digest("kernel".getBytes(StandardCharsets.UTF_8)));
        List<ExecutionReceipt> receipts = new ArrayList<>();
        List<WipeAttestation> wipes = new ArrayList<>();
        List<ReceiptExpectations> expect = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] n = new byte[32];
            random.nextBytes(n);
            byte[] in = new byte[100 + i];
            byte[] out = new byte[150 + 7 * i];
            random.nextBytes(in);
            random.nextBytes(out);
            ExecutionReceipt r = ExecutionReceipt.builder().jobId("job-" + i).attempt(1 + i).specHash(specHash)
                    .kernelId("k").kernelHash(kernelHash).nonce(Hex.encode(n))
                    .input(BufferDigest.of("in", ByteBuffer.wrap(in), CHUNK))
                    .output(BufferDigest.of("out", ByteBuffer.wrap(out), CHUNK)).merkleChunkBytes(CHUNK)
                    .executorKind("cpu").startedAt(T0).endedAt(T0.plusMillis(i)).deviceTimeNanos(i).build();
            receipts.add(r);
            wipes.add(WipeAttestation.builder().receiptDigest(r.statementDigestHex())
                    .buffer(HostWipe.wipe("in", new byte[in.length], (byte) 0))
                    .buffer(HostWipe.wipe("out", new byte[out.length], (byte) 0))
                    .startedAt(T0).endedAt(T0.plusMillis(1)).build());
            expect.add(ReceiptExpectations.builder().signer(provider.publicKey()).jobId("job-" + i).attempt(1 + i)
                    .nonce(Hex.encode(n)).specHash(specHash).kernelId("k").kernelHash(kernelHash)
                    .input(BufferDigest.of("in", ByteBuffer.wrap(in), CHUNK)).merkleChunkBytes(CHUNK)
                    .receivedOutput("out", ByteBuffer.wrap(out)).build());
        }
        List<CompletableFuture<BatchedReceipt>> sealed = new ArrayList<>();
        try (BatchSigner signer = new BatchSigner(provider, 3, Clock.fixed(T0, ZoneOffset.UTC))) {
            for (int i = 0; i < 3; i++) {
                sealed.add(signer.add(receipts.get(i), wipes.get(i)));
            }
        }
        List<String> lines = new ArrayList<>();
        BatchVerifier verifier = new BatchVerifier();
        for (int i : new int[] {1, 2}) { // the second from the cache
            VerifiedBatchedReceipt v = verifier.verify(sealed.get(i).join(), expect.get(i));
            // A batch's id is random, and its envelope's digest with it: both are named, not pinned.
            java.util.function.Consumer<VerificationReport.Check> add = c -> lines.add(c.toString()
                    .replace(v.batchDigest(), "<batch digest>").replaceAll("of batch [0-9a-f]{32} ", "of batch <id> "));
            v.receipt().report().checks().forEach(add);
            v.wipeReport().checks().forEach(add);
        }
        Envelope receipt = receipts.get(0).sign(provider);
        ExecutionReceipt.verify(receipt, expect.get(0)).report().checks().forEach(c -> lines.add(c.toString()));
        WipeAttestation.verify(wipes.get(0).sign(provider), receipt, provider.publicKey(),
                java.util.Map.of("in", 100L, "out", 150L)).checks().forEach(c -> lines.add(c.toString()));
        WipeAttestation tee = WipeAttestation.builder().receiptDigest(receipts.get(0).statementDigestHex())
                .buffer(HostWipe.wipe("in", new byte[100], (byte) 0)).startedAt(T0).endedAt(T0.plusMillis(1))
                .teeEvidence(new byte[] {1, 2, 3}).build();
        WipeAttestation.verify(tee.sign(provider), receipt, provider.publicKey(), java.util.Map.of("in", 100L))
                .checks().forEach(c -> lines.add(c.toString()));

        ByteBuffer output = ByteBuffer.allocate(40 * CHUNK - 12);
        for (int i = 0; i < output.capacity(); i++) {
            output.put(i, (byte) random.nextInt());
        }
        byte[] root = Merkle.root(output, CHUNK);
        byte[] seed = new byte[32];
        random.nextBytes(seed);
        VerificationReport spot = SpotCheck.verify(output, root, CHUNK, 0.3, seed,
                (idx, off, len) -> output.slice((int) off, len), Comparison.bitwise());
        // The line says what was checked, whatever the caller's arrays hold afterwards.
        seed[0] ^= 1;
        root[0] ^= 1;
        spot.checks().forEach(c -> lines.add(c.toString()));
        lines.add(spot.summary());
        return lines;
    }

    @Test
    void checks_linesOfEveryPerJobCheck_areExactlyAsBefore() {
        List<String> actual = lines();
        List<String> expected = List.of(
                "Check[name=batchSignature, passed=true, detail=Ed25519 over DSSE PAE of batch <id> (sha256"
                        + " <batch digest>) by 08ac2b06c29a20f12ef23a3f8fac8a1673f212dfb03b70181953044ee3e60a5c, pred"
                        + "icateType https://depin.dev/batch/v1, committing to 6 statement(s)]",
                "Check[name=receiptInclusion, passed=true, detail=receipt statement sha256 74b10ec1e4c1d145"
                        + "5624f14eff0b2c03e5acf597c36c7a96cc319522f6cd3aa4 is leaf 2 of 6 under the signed RFC 6962 "
                        + "root 8dc9cb5d811e8970dbcb0cdaf7b2abfcf39e07743aca9c334f13c81425840503]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/execution/v1]",
                "Check[name=jobId, passed=true, detail=job-1]",
                "Check[name=attempt, passed=true, detail=2]",
                "Check[name=nonce, passed=true, detail=equals the buyer's challenge]",
                "Check[name=specHash, passed=true, detail=d4f02eaafd1a9e9de7d10972ca8e47fa7a985825c3c9c1e24"
                        + "9c72683cb3e4f19]",
                "Check[name=kernelHash, passed=true, detail=k 6923dd1bc0460082c5d55a831908c24a282860b7f1cd6"
                        + "c2b79cf1bc8857c639c]",
                "Check[name=inputs, passed=true, detail=1 input root(s) equal the buyer's own]",
                "Check[name=outputs, passed=true, detail=1 output(s): size and RFC 6962 root (64-byte chunk"
                        + "s) equal the bytes received]",
                "Check[name=subjects, passed=true, detail=statement subjects equal the predicate's outputs]",
                "Check[name=batchSignature, passed=true, detail=Ed25519 over DSSE PAE of batch <id> (sha256"
                        + " <batch digest>) by 08ac2b06c29a20f12ef23a3f8fac8a1673f212dfb03b70181953044ee3e60a5c, pred"
                        + "icateType https://depin.dev/batch/v1, committing to 6 statement(s)]",
                "Check[name=wipeInclusion, passed=true, detail=wipe statement sha256 6b6fd7cc1bbda898dd1486"
                        + "e19bbb76285d608ff30e4cf4a6fa8146a33de37dc4 is leaf 3 of 6 under the signed RFC 6962 root 8"
                        + "dc9cb5d811e8970dbcb0cdaf7b2abfcf39e07743aca9c334f13c81425840503]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/wipe/v1]",
                "Check[name=subject, passed=true, detail=receipt sha256(PAE) 74b10ec1e4c1d1455624f14eff0b2c"
                        + "03e5acf597c36c7a96cc319522f6cd3aa4]",
                "Check[name=buffers, passed=true, detail=2 record(s) fully overwritten; all 2 expected buff"
                        + "er(s) covered; host read-back check digests recomputed]",
                "Check[name=scope, passed=true, detail=attests overwrite + read-back as signed by the provi"
                        + "der; not unrecoverability, not NIST SP 800-88 Purge]",
                "Check[name=batchSignature, passed=true, detail=Ed25519 over DSSE PAE of batch <id> (sha256"
                        + " <batch digest>) by 08ac2b06c29a20f12ef23a3f8fac8a1673f212dfb03b70181953044ee3e60a5c, pred"
                        + "icateType https://depin.dev/batch/v1, committing to 6 statement(s); verified earlier, take"
                        + "n from the cache by batch digest and key]",
                "Check[name=receiptInclusion, passed=true, detail=receipt statement sha256 ec05c692226d0b97"
                        + "7befdfa23d6eac0fd44c69481448fd706ee6c0f29b6f4673 is leaf 4 of 6 under the signed RFC 6962 "
                        + "root 8dc9cb5d811e8970dbcb0cdaf7b2abfcf39e07743aca9c334f13c81425840503]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/execution/v1]",
                "Check[name=jobId, passed=true, detail=job-2]",
                "Check[name=attempt, passed=true, detail=3]",
                "Check[name=nonce, passed=true, detail=equals the buyer's challenge]",
                "Check[name=specHash, passed=true, detail=d4f02eaafd1a9e9de7d10972ca8e47fa7a985825c3c9c1e24"
                        + "9c72683cb3e4f19]",
                "Check[name=kernelHash, passed=true, detail=k 6923dd1bc0460082c5d55a831908c24a282860b7f1cd6"
                        + "c2b79cf1bc8857c639c]",
                "Check[name=inputs, passed=true, detail=1 input root(s) equal the buyer's own]",
                "Check[name=outputs, passed=true, detail=1 output(s): size and RFC 6962 root (64-byte chunk"
                        + "s) equal the bytes received]",
                "Check[name=subjects, passed=true, detail=statement subjects equal the predicate's outputs]",
                "Check[name=batchSignature, passed=true, detail=Ed25519 over DSSE PAE of batch <id> (sha256"
                        + " <batch digest>) by 08ac2b06c29a20f12ef23a3f8fac8a1673f212dfb03b70181953044ee3e60a5c, pred"
                        + "icateType https://depin.dev/batch/v1, committing to 6 statement(s); verified earlier, take"
                        + "n from the cache by batch digest and key]",
                "Check[name=wipeInclusion, passed=true, detail=wipe statement sha256 de807d9c0acbd8da02ccec"
                        + "6dd38045686c284dc48ee2bcfa519d2ebfcb67b35d is leaf 5 of 6 under the signed RFC 6962 root 8"
                        + "dc9cb5d811e8970dbcb0cdaf7b2abfcf39e07743aca9c334f13c81425840503]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/wipe/v1]",
                "Check[name=subject, passed=true, detail=receipt sha256(PAE) ec05c692226d0b977befdfa23d6eac"
                        + "0fd44c69481448fd706ee6c0f29b6f4673]",
                "Check[name=buffers, passed=true, detail=2 record(s) fully overwritten; all 2 expected buff"
                        + "er(s) covered; host read-back check digests recomputed]",
                "Check[name=scope, passed=true, detail=attests overwrite + read-back as signed by the provi"
                        + "der; not unrecoverability, not NIST SP 800-88 Purge]",
                "Check[name=payloadType, passed=true, detail=application/vnd.in-toto+json]",
                "Check[name=signature, passed=true, detail=Ed25519 over DSSE PAE by 08ac2b06c29a20f12ef23a3"
                        + "f8fac8a1673f212dfb03b70181953044ee3e60a5c]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/execution/v1]",
                "Check[name=jobId, passed=true, detail=job-0]",
                "Check[name=attempt, passed=true, detail=1]",
                "Check[name=nonce, passed=true, detail=equals the buyer's challenge]",
                "Check[name=specHash, passed=true, detail=d4f02eaafd1a9e9de7d10972ca8e47fa7a985825c3c9c1e24"
                        + "9c72683cb3e4f19]",
                "Check[name=kernelHash, passed=true, detail=k 6923dd1bc0460082c5d55a831908c24a282860b7f1cd6"
                        + "c2b79cf1bc8857c639c]",
                "Check[name=inputs, passed=true, detail=1 input root(s) equal the buyer's own]",
                "Check[name=outputs, passed=true, detail=1 output(s): size and RFC 6962 root (64-byte chunk"
                        + "s) equal the bytes received]",
                "Check[name=subjects, passed=true, detail=statement subjects equal the predicate's outputs]",
                "Check[name=signature, passed=true, detail=Ed25519 over DSSE PAE by 08ac2b06c29a20f12ef23a3"
                        + "f8fac8a1673f212dfb03b70181953044ee3e60a5c]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/wipe/v1]",
                "Check[name=subject, passed=true, detail=receipt sha256(PAE) e8d9f8f06b4356b771a2b37329ce59"
                        + "4a99341a7c8b1e32377b317cde3833bf97]",
                "Check[name=buffers, passed=true, detail=2 record(s) fully overwritten; all 2 expected buff"
                        + "er(s) covered; host read-back check digests recomputed]",
                "Check[name=scope, passed=true, detail=attests overwrite + read-back as signed by the provi"
                        + "der; not unrecoverability, not NIST SP 800-88 Purge]",
                "Check[name=signature, passed=true, detail=Ed25519 over DSSE PAE by 08ac2b06c29a20f12ef23a3"
                        + "f8fac8a1673f212dfb03b70181953044ee3e60a5c]",
                "Check[name=predicateType, passed=true, detail=https://depin.dev/wipe/v1]",
                "Check[name=subject, passed=true, detail=receipt sha256(PAE) e8d9f8f06b4356b771a2b37329ce59"
                        + "4a99341a7c8b1e32377b317cde3833bf97]",
                "Check[name=buffers, passed=true, detail=1 record(s) fully overwritten; all 1 expected buff"
                        + "er(s) covered; host read-back check digests recomputed]",
                "Check[name=scope, passed=true, detail=attests overwrite + read-back as signed by the provi"
                        + "der; not unrecoverability, not NIST SP 800-88 Purge; TEE evidence carried, not checked her"
                        + "e]",
                "Check[name=spot-check, passed=true, detail=12 of 40 chunk(s) of 64 bytes (64-byte leaves; "
                        + "fraction 0.3000, seed 0198cc7c826d7223adbd97d89c748f77047a88a5eb6049a538f47c99c635d19b) pr"
                        + "oven against root a046cb64a780a736597649a995055e39f89fe0af90ca555118bfa8f341e2e52d and rec"
                        + "omputed (bitwise): all equal; detection probability 0.3000 for 1 corrupted chunk, 0.5154 f"
                        + "or 5% corrupted chunks (hypergeometric); chunks [7, 13, 16, 17, 19, 20, 26, 27, 30, 32, 38"
                        + ", 39]]",
                "spotCheck(0.3): 1/1 checks passed; SAMPLED detectionProbability=0.3000 detectionProbabilit"
                        + "y5pct=0.5154 sampledChunks=12 sampledFraction=0.3000"
        );
        assertEquals(expected.size(), actual.size(), String.join("\n", actual));
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), "line " + i);
        }
    }

    @Test
    void check_lazyDetail_isBuiltOnceAndEqualsTheEagerCheck() throws Exception {
        AtomicInteger built = new AtomicInteger();
        VerificationReport.Check lazy = VerificationReport.Check.passed("nonce", () -> {
            built.incrementAndGet();
            return "equals the buyer's " + "challenge";
        });
        VerificationReport.Check eager = VerificationReport.Check.passed("nonce", "equals the buyer's challenge");
        assertEquals("nonce", lazy.name());
        assertEquals(true, lazy.passed());
        assertEquals(0, built.get(), "nothing read the detail yet");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> reads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                reads.add(pool.submit(() -> {
                    go.await();
                    return lazy.detail();
                }));
            }
            go.countDown();
            for (Future<String> f : reads) {
                assertEquals("equals the buyer's challenge", f.get(10, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, built.get(), "the detail is built once");
        assertEquals(eager, lazy);
        assertEquals(lazy, eager);
        assertEquals(eager.hashCode(), lazy.hashCode());
        assertEquals("Check[name=nonce, passed=true, detail=equals the buyer's challenge]", lazy.toString());
        assertEquals(eager.toString(), lazy.toString());
        assertNotEquals(eager, new VerificationReport.Check("nonce", false, "equals the buyer's challenge"));
        assertNotEquals(eager, VerificationReport.Check.passed("nonce", () -> "another line"));
        assertEquals(1, built.get());
    }

    @Test
    void check_badArguments_areRefused() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> VerificationReport.Check.passed(null, () -> "x"));
        assertEquals("name is null: pass a value", e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> VerificationReport.Check.passed("x", (Supplier<String>) null));
        assertEquals("detail is null: pass a value", e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> new VerificationReport.Check("x", true, null));
        assertEquals("detail is null: pass a value", e.getMessage());
        VerificationReport.Check bad = VerificationReport.Check.passed("x", () -> null);
        IllegalStateException ise = assertThrows(IllegalStateException.class, bad::detail);
        assertEquals("the detail of check 'x' was built as null", ise.getMessage());
    }
}
