package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.Hex;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.network.spi.SealedBatches;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batched receipt (what nodes send by default) re-checked by both offline tools: {@code depin
 * verify --receipt batched-receipt.json} and {@code scripts/verify_receipt.py}, the independent
 * implementation. Batches of every size from 1 to 13 jobs (so audit paths of every shape RFC
 * 9162 allows in such trees, including the right edge), every job of each; then tamperings,
 * each refused by both with the reason.
 */
class BatchedReceiptToolsTest {
    private static final long SEED = 20261205L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 4096;
    private static final Instant T0 = Instant.parse("2026-12-05T12:00:00Z");
    private static boolean python;

    @TempDir
    static Path dir;

    @BeforeAll
    static void seed() {
        System.out.println("BatchedReceiptToolsTest seed " + SEED);
        try {
            Process p = new ProcessBuilder("python3", "-c", "import cryptography").redirectErrorStream(true).start();
            python = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            python = false;
        }
    }

    /** One job's evidence on disk: its batched receipt, the output file, the provider key. */
    private record Written(Path receipt, Path output, Path key, String jobId) {
        List<String> cli() {
            return List.of("verify", "--receipt", receipt.toString(), "--key", key.toString(),
                    "--output", "out=" + output);
        }

        List<String> python() {
            return List.of(receipt.toString(), key.toString(), "out=" + output);
        }
    }

    @Test
    void everyJobOfBatchesOfOneToThirteen_verifiesWithBothTools() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair provider = key(rnd);
        List<Written> all = new ArrayList<>();
        for (int size = 1; size <= 13; size++) {
            all.addAll(batch(rnd, provider, size, "b" + size));
        }
        List<List<String>> argv = new ArrayList<>();
        for (Written w : all) {
            CliRun o = cli(w.cli());
            assertEquals(0, o.exit(), o.all());
            assertTrue(o.out().startsWith("VALID"), o.all());
            assertTrue(o.out().contains("ok   batch signature") && o.out().contains("ok   batch inclusion")
                    && o.out().contains("ok   wipe "), o.all());
            argv.add(w.python());
        }
        List<CliRun> py = python(argv);
        for (int i = 0; i < all.size(); i++) {
            assertEquals(0, py.get(i).exit(), all.get(i).jobId + ": " + py.get(i).all());
            assertTrue(py.get(i).out().startsWith("VALID: job " + all.get(i).jobId + " attempt 1")
                    && py.get(i).out().contains("(in a batch)"), py.get(i).all());
        }
    }

    @Test
    void tamperedBatchedReceipts_areRefusedByBothTools() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        NodeKeyPair provider = key(rnd);
        List<Written> five = batch(rnd, provider, 5, "t5");
        List<Written> three = batch(rnd, provider, 3, "t3");
        Written victim = five.get(2);
        ObjectNode original = (ObjectNode) JSON.readTree(Files.readAllBytes(victim.receipt));
        record Case(String name, Path receipt, Path key, String cli, String py) {
        }
        List<Case> cases = new ArrayList<>();

        // 1. One character of the receipt statement (a digit of its nonce, so that it is still
        //    well-formed and claims another challenge): it is no longer the signed leaf.
        ObjectNode flipped = original.deepCopy();
        byte[] statement = Base64.getDecoder().decode(original.get("receipt").asText());
        int at = new String(statement, StandardCharsets.UTF_8).indexOf("\"nonce\":\"") + 9;
        statement[at] = (byte) (statement[at] == '0' ? '1' : '0');
        flipped.put("receipt", Base64.getEncoder().encodeToString(statement));
        cases.add(new Case("receipt statement altered", write(flipped, "flipped"), victim.key,
                "MERKLE_PROOF_INVALID", "is not leaf 4 of the 10 statements under the signed root"));

        // 2. The proof names another leaf.
        ObjectNode moved = original.deepCopy();
        ((ObjectNode) moved.get("receiptProof")).put("leafIndex", 6);
        cases.add(new Case("proof for another leaf", write(moved, "moved"), victim.key,
                "MERKLE_PROOF_INVALID", "is not leaf 6 of the 10 statements"));

        // 3. A genuine proof from another batch (3 jobs, 6 leaves) with this batch's envelope.
        ObjectNode foreign = original.deepCopy();
        JsonNode other = JSON.readTree(Files.readAllBytes(three.get(1).receipt));
        foreign.set("receiptProof", other.get("receiptProof"));
        cases.add(new Case("proof from another batch", write(foreign, "foreign"), victim.key,
                "belongs to another batch", "belongs to another batch"));

        // 4. A path hash altered.
        ObjectNode path = original.deepCopy();
        ArrayNode hashes = (ArrayNode) path.get("receiptProof").get("path");
        byte[] h = Hex.decode(hashes.get(0).asText());
        h[0] ^= (byte) 0x80;
        hashes.set(0, Hex.encode(h));
        cases.add(new Case("path hash altered", write(path, "path"), victim.key,
                "MERKLE_PROOF_INVALID", "is not leaf 4 of the 10 statements"));

        // 5. Another provider's key: the batch signature is not by it.
        Path mallory = dir.resolve("mallory.pub.pem");
        Files.writeString(mallory, KeyPem.publicKeyToPem(key(rnd).publicKey()));
        cases.add(new Case("another provider's key", victim.receipt, mallory, "KEY_MISMATCH",
                "no signature by this key"));

        // 6. The provider's genuine envelope of another batch (6 statements) with this job's
        //    statement and proof (10 leaves): the proof does not fit what that batch signed.
        ObjectNode batchSwap = original.deepCopy();
        batchSwap.set("batch", JSON.readTree(Files.readAllBytes(three.get(0).receipt)).get("batch"));
        cases.add(new Case("another batch's envelope", write(batchSwap, "swap"), victim.key,
                "belongs to another batch", "belongs to another batch"));

        List<List<String>> argv = new ArrayList<>();
        for (Case c : cases) {
            CliRun o = cli(List.of("verify", "--receipt", c.receipt.toString(), "--key", c.key.toString(),
                    "--output", "out=" + victim.output));
            assertEquals(1, o.exit(), c.name + ": " + o.all());
            assertTrue(o.out().startsWith("INVALID: ") && o.out().contains(c.cli), c.name + ": " + o.all());
            argv.add(List.of(c.receipt.toString(), c.key.toString(), "out=" + victim.output));
        }
        List<CliRun> py = python(argv);
        for (int i = 0; i < cases.size(); i++) {
            assertEquals(1, py.get(i).exit(), cases.get(i).name + ": " + py.get(i).all());
            assertTrue(py.get(i).out().startsWith("INVALID: ") && py.get(i).out().contains(cases.get(i).py),
                    cases.get(i).name + ": " + py.get(i).all());
        }

        // A batched receipt carries its wipe attestation: a separate --wipe is a usage error.
        CliRun wipe = cli(List.of("verify", "--receipt", victim.receipt.toString(), "--key", victim.key.toString(),
                "--output", "out=" + victim.output, "--wipe", victim.receipt.toString()));
        assertEquals(2, wipe.exit(), wipe.all());
        assertTrue(wipe.err().contains("a batched receipt carries its own wipe attestation"), wipe.all());
    }

    // ------------------------------------------------------------------ evidence

    private static List<Written> batch(SplittableRandom rnd, NodeKeyPair provider, int jobs, String tag)
            throws Exception {
        Path keyFile = dir.resolve(provider.nodeId().hex() + ".pub.pem");
        Files.writeString(keyFile, KeyPem.publicKeyToPem(provider.publicKey()));
        List<Written> written = new ArrayList<>();
        for (SealedBatches.Sealed s : SealedBatches.seal(provider, rnd, jobs, tag, 3 * CHUNK, 5 * CHUNK, T0,
                Clock.systemUTC())) {
            Path output = dir.resolve(s.jobId() + ".out.bin");
            Files.write(output, s.output());
            Path receipt = dir.resolve(s.jobId() + ".batched-receipt.json");
            Files.write(receipt, s.receipt().toJsonBytes());
            written.add(new Written(receipt, output, keyFile, s.jobId()));
        }
        return written;
    }

    private static Path write(JsonNode json, String name) throws IOException {
        Path p = dir.resolve(name + ".batched-receipt.json");
        Files.write(p, JSON.writeValueAsBytes(json));
        return p;
    }

    private static NodeKeyPair key(SplittableRandom rnd) {
        return NodeKeyPair.fromSeed(SealedBatches.bytes(rnd, 32));
    }

    // ------------------------------------------------------------------ running the tools

    private static CliRun cli(List<String> args) {
        return CliRun.of(args);
    }

    /** Runs the script once over every argument list (its --batch mode). */
    private static List<CliRun> python(List<List<String>> argv) throws Exception {
        Assumptions.assumeTrue(python, "python3 with the cryptography package is not available: the script's "
                + "checks are skipped (depin verify's ran)");
        return CliRun.verifyScript(argv);
    }
}
