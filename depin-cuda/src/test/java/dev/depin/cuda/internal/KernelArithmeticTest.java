package dev.depin.cuda.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.depin.crypto.Hex;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.Sha256;
import dev.depin.kernel.CpuReference;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The arithmetic the kernels share with host code ({@code depin_common.cuh}: SHA-256
 * compression, RFC 6962 leaf/node hashing and tree index math, SGEMM tile index math, the
 * reduce-sum order), compiled by nvcc into a host harness once per run and compared with the
 * Java reference: {@link MessageDigest SHA-256}, {@link Merkle} and {@link CpuReference}.
 * Skips, saying why, where nvcc is not installed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KernelArithmeticTest {
    private static final int CHUNK = Merkle.DEFAULT_CHUNK_SIZE;
    private static final long SEED = 0x6b65726e656cL;

    private Path dir;
    private Process harness;
    private Writer toHarness;
    private BufferedReader fromHarness;

    @BeforeAll
    void build() throws Exception {
        Optional<Path> nvcc = CudaToolkit.find("nvcc");
        assumeTrue(nvcc.isPresent(), "nvcc not found (PATH, $NVCC, /usr/local/cuda/bin): the host harness for the "
                + "shared kernel arithmetic is not built, so it is not checked against the Java reference");
        Path module = CudaToolkit.module();
        dir = Files.createDirectories(module.resolve("target/cuda-harness"));
        Path exe = dir.resolve("depin-harness");
        Process p = new ProcessBuilder(nvcc.get().toString(), "-std=c++17", "-O2", "-I",
                module.resolve("src/main/cuda").toString(), module.resolve("src/test/cuda/harness.cu").toString(),
                "-o", exe.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc timed out");
        assertEquals(0, p.exitValue(), "nvcc failed to build the harness:\n" + log);
        harness = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
        toHarness = new java.io.OutputStreamWriter(harness.getOutputStream(), StandardCharsets.US_ASCII);
        fromHarness = new BufferedReader(new InputStreamReader(harness.getInputStream(), StandardCharsets.US_ASCII));
    }

    @AfterAll
    void stop() throws IOException {
        if (harness != null) {
            toHarness.close();
            harness.destroy();
        }
    }

    private String ask(String command) throws IOException {
        toHarness.write(command + "\n");
        toHarness.flush();
        String line = fromHarness.readLine();
        assertTrue(line != null && !line.startsWith("error"), command + " -> " + line);
        return line;
    }

    private Path file(String name, byte[] data) throws IOException {
        return Files.write(dir.resolve(name), data);
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    @Test
    void sha256_matchesMessageDigestForEveryPaddingCase() throws IOException {
        for (int n = 0; n <= 200; n++) {
            byte[] d = random(SEED + n, n);
            assertEquals("sha " + Sha256.hex(d), ask("sha " + file("sha.bin", d)), "length " + n);
        }
    }

    @Test
    void leafHash_matchesMerkleForEveryAlignment() throws IOException {
        for (int n : new int[] {0, 1, 2, 3, 4, 5, 54, 55, 56, 62, 63, 64, 65, 118, 119, 120, 127, 128, 129, 1000,
                CHUNK - 1, CHUNK}) {
            byte[] d = random(SEED ^ n, n);
            assertEquals("leaf " + Hex.encode(Merkle.leafHash(d)), ask("leaf " + file("leaf.bin", d)), "length " + n);
        }
    }

    @ParameterizedTest(name = "merkle {0} bytes")
    @ValueSource(ints = {0, 1, 2, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK, 3 * CHUNK + 7,
            5 * CHUNK - 1, 7 * CHUNK + 4, 8 * CHUNK, 9 * CHUNK + 1, 13 * CHUNK + 12345, 16 * CHUNK})
    void merkleRoot_matchesMerkle(int n) throws IOException {
        byte[] d = random(SEED * 31 + n, n);
        assertEquals("root " + Hex.encode(Merkle.root(d)), ask("merkle " + file("merkle.bin", d)));
    }

    @Test
    void merkleRoot_matchesMerkleOnRandomSizes() throws IOException {
        SplittableRandom r = new SplittableRandom(SEED);
        for (int i = 0; i < 12; i++) {
            int n = r.nextInt(40 * CHUNK);
            byte[] d = random(SEED + 17 * i, n);
            assertEquals("root " + Hex.encode(Merkle.root(d)), ask("merkle " + file("merkle.bin", d)), n + " bytes");
        }
    }

    @ParameterizedTest(name = "tiles {0}x{1}")
    @CsvSource({"1,1", "1,129", "129,1", "127,128", "128,128", "129,129", "300,17", "1000,513", "2048,64"})
    void sgemmTiles_coverEveryElementOnce(int m, int n) throws IOException {
        String answer = ask("tiles " + m + " " + n);
        assertEquals("ok " + ((n + 127) / 128) + " " + ((m + 127) / 128), answer);
    }

    @ParameterizedTest(name = "reduce n={0}")
    @ValueSource(ints = {1, 2, 7, 8, 9, 4095, 4096, 4097, 4103, 65537, (1 << 20) + 3})
    void reduceOrder_isBitIdenticalToCpuReference(int n) throws IOException {
        SplittableRandom r = new SplittableRandom(SEED - n);
        float[] x = new float[n];
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1) * (i % 97 == 0 ? 1e6f : 1f);
            b.putFloat(x[i]);
        }
        float expected;
        try (CpuReference cpu = new CpuReference(2)) {
            expected = cpu.reduceSum(n, x);
        }
        assertEquals(String.format("sum %08x", Float.floatToRawIntBits(expected)),
                ask("reduce " + file("reduce.bin", b.array())));
    }
}
