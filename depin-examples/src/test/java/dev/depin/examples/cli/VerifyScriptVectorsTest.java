package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/verify_receipt.py}'s own Merkle functions ({@code leaf_hashes},
 * {@code merkle_root}, 4 KiB leaves) reproduce depin-crypto's golden vectors, which an
 * independent Python implementation wrote and the Java and CUDA implementations are checked
 * against too. Skipped, saying why, without python3 and its {@code cryptography} package.
 */
class VerifyScriptVectorsTest {
    private static final Path SCRIPT = Path.of("scripts/verify_receipt.py").toAbsolutePath();
    private static final Path VECTORS = Path.of("").toAbsolutePath().resolveSibling("depin-crypto")
            .resolve("src/test/resources/dev/depin/crypto/merkle-vectors.txt");

    @Test
    void scriptRoots_equalTheGoldenVectors(@TempDir Path tmp) throws Exception {
        List<String[]> vectors = new ArrayList<>();
        for (String line : Files.readAllLines(VECTORS, StandardCharsets.US_ASCII)) {
            if (!line.isBlank() && !line.startsWith("#") && line.trim().split(" ")[1].equals("4096")) {
                vectors.add(line.trim().split(" "));
            }
        }
        assertTrue(vectors.size() > 10, "4 KiB vectors: " + vectors.size());
        // Python writes each vector's data (the SHA-256 counter stream) to a file and hashes it
        // with the script's own functions, as the script does a receipt's output files.
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", String.join("\n",
                "import hashlib, importlib.util, os, struct, sys",
                "spec = importlib.util.spec_from_file_location('verify_receipt', sys.argv[1])",
                "vr = importlib.util.module_from_spec(spec)",
                "spec.loader.exec_module(vr)",
                "for n in map(int, sys.argv[3:]):",
                "    data = b''.join(hashlib.sha256(struct.pack('<Q', j)).digest() for j in range((n + 31) // 32))[:n]",
                "    path = os.path.join(sys.argv[2], '%d.bin' % n)",
                "    with open(path, 'wb') as f:",
                "        f.write(data)",
                "    leaves, size = vr.leaf_hashes(path)",
                "    print(size, vr.merkle_root(leaves).hex())"), SCRIPT.toString(), tmp.toString()));
        for (String[] v : vectors) {
            cmd.add(v[0]);
        }
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("python3 not available: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python hung");
        Assumptions.assumeFalse(out.contains("ModuleNotFoundError: No module named 'cryptography'"),
                "python3 lacks the cryptography package that verify_receipt.py imports");
        assertEquals(0, p.exitValue(), out);
        String[] lines = out.trim().split("\n");
        assertEquals(vectors.size(), lines.length, out);
        for (int i = 0; i < lines.length; i++) {
            assertEquals(vectors.get(i)[0] + " " + vectors.get(i)[2], lines[i].trim(), "vector " + i);
        }
    }
}
