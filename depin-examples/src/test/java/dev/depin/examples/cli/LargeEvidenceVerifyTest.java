package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.Assurance;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7, defect 4: {@code depin verify} in a child JVM with a 64 MiB heap verifies an
 * output of 512 MiB (a sparse file, so the test costs disk metadata and two hashing
 * passes, not disk space), and refuses oversized small files with a message instead of
 * {@code OutOfMemoryError}. Before the fix the output was read whole and the child died.
 * {@code -Ddepin.test.largeOutputMiB=3072} runs it with a multi-GiB output (then without
 * a spec, since a job's buffer is at most 2 GiB).
 */
class LargeEvidenceVerifyTest {
    private static final long SEED = 0x1a29_e007L;
    private static final String HEAP = "-Xmx64m";

    @Test
    void verify_outputLargerThanTheHeap_streamed(@TempDir Path dir) throws Exception {
        long mib = Long.getLong("depin.test.largeOutputMiB", 512);
        long bytes = mib << 20;
        boolean withSpec = bytes <= BufferDecl.MAX_BYTES;
        int m = 8192;
        int k = 1;
        int n = (int) (bytes / 4 / m);
        System.out.println("LargeEvidenceVerifyTest seed " + SEED + ", output " + mib + " MiB, spec " + withSpec);
        SplittableRandom rnd = new SplittableRandom(SEED);
        byte[] keySeed = new byte[32];
        rnd.nextBytes(keySeed);
        NodeKeyPair provider = NodeKeyPair.fromSeed(keySeed);
        byte[] nonceBytes = new byte[16];
        rnd.nextBytes(nonceBytes);
        String nonce = dev.depin.crypto.Hex.encode(nonceBytes);

        // A zero matrix times anything is zero: the honest output is all zeros, i.e. a sparse file.
        Path c = dir.resolve("c.bin");
        try (RandomAccessFile f = new RandomAccessFile(c.toFile(), "rw")) {
            f.setLength(bytes);
        }
        Merkle.Builder root = Merkle.builder(JobSpec.MERKLE_CHUNK_BYTES);
        byte[] zeros = new byte[1 << 20];
        for (long done = 0; done < bytes; done += zeros.length) {
            root.update(zeros, 0, (int) Math.min(zeros.length, bytes - done));
        }
        BufferDigest out = new BufferDigest("c", Hex.encode(root.root()), bytes);

        ExecutionReceipt.Builder r = ExecutionReceipt.builder().jobId("large-1").attempt(1).nonce(nonce).output(out)
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES).executorKind("cpu").startedAt(Instant.EPOCH)
                .endedAt(Instant.EPOCH).deviceTimeNanos(0).assurance(Assurance.signature());
        List<String> args = new ArrayList<>(List.of("verify", "--key", write(dir, "key.pem",
                KeyPem.publicKeyToPem(provider.publicKey())).toString(), "--nonce", nonce.toUpperCase(),
                "--job-id", "large-1", "--attempt", "1", "--output", "c=" + c));
        if (withSpec) {
            Job job = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                    .input("a", new float[m * k]).input("b", new float[k * n])
                    .verification(VerificationPolicy.signatureOnly()).timeout(Duration.ofDays(1)).build();
            JobSpec spec = job.spec();
            r.specHash(spec.hash()).kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash())
                    .input(BufferDigest.of("a", job.inputs().get("a"), JobSpec.MERKLE_CHUNK_BYTES))
                    .input(BufferDigest.of("b", job.inputs().get("b"), JobSpec.MERKLE_CHUNK_BYTES));
            args.addAll(List.of("--spec", write(dir, "spec.json", spec.canonicalJson()).toString(),
                    "--input", "a=" + write(dir, "a.bin", bytes(job.inputs().get("a"))),
                    "--input", "b=" + write(dir, "b.bin", bytes(job.inputs().get("b")))));
        } else {
            r.specHash("0".repeat(64)).kernelId("sgemm").kernelHash(BuiltinKernel.SGEMM.codeHash());
        }
        Path receipt = write(dir, "receipt.json", r.build().sign(provider).toJsonBytes());
        args.addAll(List.of("--receipt", receipt.toString()));

        Child ok = child(args);
        assertEquals(0, ok.exit, ok.out);
        assertTrue(ok.out.startsWith("VALID"), ok.out);
        assertTrue(ok.out.contains("ok   outputs: 1 output(s)"), ok.out);
        if (withSpec) {
            assertTrue(ok.out.contains("ok   spec outputs: names and sizes equal what the spec's kernel produces: c ("
                    + bytes + " bytes)"), ok.out);
            assertTrue(ok.out.contains("ok   inputs: 2 input root(s)"), ok.out);
        }

        // One byte changed at a random place: found, still within 64 MiB of heap.
        long at = rnd.nextLong(bytes);
        try (RandomAccessFile f = new RandomAccessFile(c.toFile(), "rw")) {
            f.seek(at);
            f.write(1);
        }
        Child bad = child(args);
        assertEquals(1, bad.exit, "byte " + at + ": " + bad.out);
        assertTrue(bad.out.startsWith("INVALID: OUTPUT_ROOT_MISMATCH: "), bad.out);
    }

    @Test
    void verify_oversizedSmallFiles_refusedWithoutReading(@TempDir Path dir) throws Exception {
        long size = 300L << 20;
        Path big = dir.resolve("big.json");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(size);
        }
        byte[] keySeed = new byte[32];
        new SplittableRandom(SEED).nextBytes(keySeed);
        NodeKeyPair provider = NodeKeyPair.fromSeed(keySeed);
        byte[] four = {1, 2, 3, 4};
        Path out = write(dir, "c.bin", four);
        Path key = write(dir, "key.pem", KeyPem.publicKeyToPem(provider.publicKey()));
        Path receipt = write(dir, "receipt.json", ExecutionReceipt.builder().jobId("j").attempt(1)
                .specHash("0".repeat(64)).kernelId("sgemm").kernelHash(BuiltinKernel.SGEMM.codeHash())
                .nonce("ab".repeat(16)).output(BufferDigest.of("c", ByteBuffer.wrap(four), JobSpec.MERKLE_CHUNK_BYTES))
                .merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES).executorKind("cpu").startedAt(Instant.EPOCH)
                .endedAt(Instant.EPOCH).deviceTimeNanos(0).assurance(Assurance.signature()).build().sign(provider)
                .toJsonBytes());
        Child fine = child(List.of("verify", "--receipt", receipt.toString(), "--key", key.toString(), "--output",
                "c=" + out));
        assertEquals(0, fine.exit, fine.out);
        for (String[] kind : new String[][] {
                {"--key", "public key"}, {"--receipt", "receipt"}, {"--spec", "spec"}, {"--wipe", "wipe attestation"}}) {
            List<String> args = new ArrayList<>(List.of("verify", "--output", "c=" + out));
            args.addAll(List.of("--key", kind[0].equals("--key") ? big.toString() : key.toString()));
            args.addAll(List.of("--receipt", kind[0].equals("--receipt") ? big.toString() : receipt.toString()));
            if (kind[0].equals("--spec") || kind[0].equals("--wipe")) {
                args.addAll(List.of(kind[0], big.toString()));
            }
            Child c = child(args);
            assertEquals(1, c.exit, kind[0] + ": " + c.out);
            assertTrue(c.out.startsWith("INVALID: " + kind[1] + " " + big + " has " + size + " bytes, more than the"),
                    kind[0] + ": " + c.out);
        }
        Child d = child(List.of("verify", "--dispute", big.toString(), "--output", "c=" + out));
        assertEquals(1, d.exit, d.out);
        assertTrue(d.out.startsWith("INVALID: dispute record " + big + " has " + size + " bytes"), d.out);
    }

    private record Child(int exit, String out) {
    }

    /** {@code depin} in a JVM of its own with a 64 MiB heap; fails the test on any stack trace. */
    private static Child child(List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                HEAP, "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                DepinCli.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the child JVM hung");
        assertFalse(out.contains("OutOfMemoryError") || out.contains("\tat "), "a stack trace reached the user:\n"
                + out);
        // SLF4J's notice that no logger is bound is not the verifier's output.
        String verifier = out.lines().filter(l -> !l.startsWith("SLF4J")).reduce("", (x, y) -> x + y + "\n");
        return new Child(p.exitValue(), verifier);
    }

    private static Path write(Path dir, String name, String text) throws Exception {
        return write(dir, name, text.getBytes(StandardCharsets.UTF_8));
    }

    private static Path write(Path dir, String name, byte[] bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
