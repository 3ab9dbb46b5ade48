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
    private static final int FANOUT = 128;
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
    void leafHash_matchesMerkleForEveryLengthAroundABlock() throws IOException {
        // Every tail length (0..63 bytes after the whole blocks), both sides of each 64-byte
        // boundary (the last whole block read one byte at a time when it ends at the data's
        // end), and whole leaves.
        java.util.List<Integer> lengths = new java.util.ArrayList<>();
        for (int n = 0; n <= 200; n++) {
            lengths.add(n);
        }
        for (int n : new int[] {1000, 1023, 1024, 1025, CHUNK - 65, CHUNK - 64, CHUNK - 63, CHUNK - 1, CHUNK,
                CHUNK + 1, 65535, 65536}) {
            lengths.add(n);
        }
        for (int n : lengths) {
            byte[] d = random(SEED ^ n, n);
            assertEquals("leaf " + Hex.encode(Merkle.leafHash(d)), ask("leaf " + file("leaf.bin", d)), "length " + n);
        }
    }

    @ParameterizedTest(name = "merkle {0} bytes")
    @ValueSource(ints = {0, 1, 2, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK, 3 * CHUNK + 7,
            5 * CHUNK - 1, 7 * CHUNK + 4, 8 * CHUNK, 9 * CHUNK + 1, 13 * CHUNK + 12345, 16 * CHUNK,
            FANOUT * CHUNK - 1, FANOUT * CHUNK, FANOUT * CHUNK + 1, (FANOUT + 1) * CHUNK + 5, 2 * FANOUT * CHUNK})
    void merkleRoot_matchesMerkle(int n) throws IOException {
        byte[] d = random(SEED * 31 + n, n);
        assertEquals("root " + Hex.encode(Merkle.root(d)), ask("merkle " + CHUNK + " " + file("merkle.bin", d)));
    }

    @Test
    void merkleRoot_pastTwoFanoutPasses_matchesMerkle() throws IOException {
        // 128 * 128 + 3 leaves of 64 bytes: three passes (leaves, 129 groups, 2 groups), a
        // carried node at each.
        int leaf = 64;
        int n = (FANOUT * FANOUT + 3) * leaf - 17;
        byte[] d = random(SEED + 5, n);
        assertEquals("root " + Hex.encode(Merkle.root(d, leaf)), ask("merkle " + leaf + " " + file("merkle.bin", d)));
    }

    @Test
    void merkleRoot_matchesMerkleOnRandomSizes() throws IOException {
        SplittableRandom r = new SplittableRandom(SEED);
        for (int i = 0; i < 12; i++) {
            int n = r.nextInt(300 * CHUNK);
            byte[] d = random(SEED + 17 * i, n);
            assertEquals("root " + Hex.encode(Merkle.root(d)), ask("merkle " + CHUNK + " " + file("merkle.bin", d)),
                    n + " bytes");
        }
    }

    @Test
    void merkleRoot_equalsTheGoldenVectors() throws IOException {
        // depin-crypto's vectors, written by an independent Python implementation.
        Path vectors = CudaToolkit.module().resolveSibling("depin-crypto")
                .resolve("src/test/resources/dev/depin/crypto/merkle-vectors.txt");
        int checked = 0;
        byte[] stream = null;
        for (String line : Files.readAllLines(vectors, StandardCharsets.US_ASCII)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.trim().split(" ");
            int n = Integer.parseInt(f[0]);
            int leaf = Integer.parseInt(f[1]);
            if (leaf % 64 != 0) {
                continue;  // the device takes leaves of a multiple of 64 bytes
            }
            if (stream == null || stream.length < n) {
                stream = stream(Math.max(n, 3 << 20));
            }
            byte[] d = java.util.Arrays.copyOf(stream, n);
            assertEquals("root " + f[2], ask("merkle " + leaf + " " + file("merkle.bin", d)), line);
            checked++;
        }
        assertTrue(checked > 20, "vectors checked: " + checked);
    }

    /** The vectors' data: the first n bytes of SHA-256(le64(0)) || SHA-256(le64(1)) || ... */
    private static byte[] stream(int n) {
        byte[] out = new byte[n + 32];
        ByteBuffer counter = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (long j = 0; j * 32 < n; j++) {
            counter.clear();
            counter.putLong(j);
            System.arraycopy(Sha256.digest(counter.array()), 0, out, (int) j * 32, 32);
        }
        return java.util.Arrays.copyOf(out, n);
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
