package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin directory} and {@code depin node}, each in a JVM of its own: each prints one
 * line saying what it serves and where, a buyer's jobs run through them over mutual TLS,
 * and each stops cleanly on SIGTERM or when its standard input closes. Key-file mistakes are
 * refused with status 2 and a message that says what to do.
 */
class NodeCommandTest {
    private static final Pattern DIRECTORY_LINE = Pattern.compile(
            "^depin directory ([0-9a-f]{64}) serving offers on (127\\.0\\.0\\.1:\\d+) \\(mutual TLS 1\\.3\\), listings "
                    + "live 20 s after each renewal; key .*directory\\.key \\(generated now, unencrypted\\); public key [0-9a-f]{64}$");
    private static final Pattern NODE_LINE = Pattern.compile(
            "^depin node ([0-9a-f]{64}) serving reduce-sum,saxpy,sgemm on (127\\.0\\.0\\.1:\\d+) \\(mutual TLS 1\\.3\\) "
                    + "with the (\\w+) executor \\((.+), 1 thread\\(s\\)\\), listed in (\\S+); key .*node\\.key "
                    + "\\(generated now, encrypted\\); no SLA$");
    private static final String PASS = "correct horse battery staple";

    @Test
    void nodeAndDirectory_inTheirOwnJvms_serveJobsAndStopCleanly(@TempDir Path dir) throws Exception {
        long seed = 20261128L;
        System.out.println("NodeCommandTest seed " + seed);
        Path dirKey = dir.resolve("keys/directory.key");
        Path nodeKey = dir.resolve("keys/node.key");
        try (ChildCli directory = new ChildCli(dir, "directory", Map.of(), "directory", "--port", "0",
                "--key", dirKey.toString(), "--ttl", "20s", "--stop-on-stdin-eof")) {
            String dline = directory.nextLine();
            Matcher dm = DIRECTORY_LINE.matcher(dline);
            assertTrue(dm.matches(), dline + "\nstderr: " + directory.stderr());
            String dirAddress = dm.group(2);
            NodeKeyPair dirKeys = KeyPem.load(dirKey, null);
            assertEquals(dirKeys.nodeId().hex(), dm.group(1));

            try (ChildCli node = new ChildCli(dir, "node", Map.of("DEPIN_TEST_NODE_PASS", PASS), "node",
                    "--port", "0", "--key", nodeKey.toString(), "--passphrase-env", "DEPIN_TEST_NODE_PASS",
                    "--directory", dirAddress, "--threads", "1", "--region", "DE/fra-1",
                    "--price-per-second", "0.0005")) {
                String nline = node.nextLine();
                Matcher nm = NODE_LINE.matcher(nline);
                assertTrue(nm.matches(), nline + "\nstderr: " + node.stderr());
                assertEquals(dirAddress, nm.group(5));
                // The key was made on first start, encrypted, owner-only, and is the node's identity.
                assertTrue(Files.readString(nodeKey).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
                assertOwnerOnly(nodeKey);
                assertOwnerOnly(dirKey);
                NodeKeyPair nodeKeys = KeyPem.load(nodeKey, PASS.toCharArray());
                assertEquals(nodeKeys.nodeId().hex(), nm.group(1));
                assertTrue(!node.stderr().contains("[INFO]"), "one line, no info logging: " + node.stderr());

                // A buyer finds the node through the directory (its key pinned) and runs jobs on it.
                SplittableRandom rnd = new SplittableRandom(seed);
                try (GrpcNetwork net = GrpcNetwork.builder().directory(dirAddress, dirKeys.publicKey()).build();
                     DepinClient client = DepinClient.builder(net).build()) {
                    for (int[] mkn : new int[][] {{1, 1, 1}, {3, 5, 7}, {33, 17, 2}}) {
                        float[] a = floats(rnd, mkn[0] * mkn[1]);
                        float[] b = floats(rnd, mkn[1] * mkn[2]);
                        JobResult r = client.submit(Job.builder(BuiltinKernel.SGEMM).param("m", mkn[0])
                                .param("k", mkn[1]).param("n", mkn[2]).input("a", a).input("b", b)
                                .verification(VerificationPolicy.freivalds(20)).timeout(Duration.ofSeconds(60))
                                .build()).result(Duration.ofSeconds(90));
                        assertEquals(nodeKeys.nodeId(), r.provider());
                        assertArrayEquals(sgemm(mkn[0], mkn[1], mkn[2], a, b), r.floats("c"), 1e-4f);
                    }
                    for (int n : new int[] {1, 1000, 4097}) {
                        float[] x = floats(rnd, n);
                        float[] y = floats(rnd, n);
                        JobResult r = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3)
                                .input("x", x).input("y", y).timeout(Duration.ofSeconds(60)).build())
                                .result(Duration.ofSeconds(90));
                        float[] want = new float[n];
                        for (int i = 0; i < n; i++) {
                            want[i] = 3 * x[i] + y[i];
                        }
                        assertArrayEquals(want, r.floats("out"));
                    }
                }

                // SIGTERM: the node stops cleanly and says so.
                node.process.destroy();
                assertEquals(143, node.waitFor(), "exit status after SIGTERM; stderr: " + node.stderr());
                String stopped = node.nextLine();
                assertNotNull(stopped, "stderr: " + node.stderr());
                assertTrue(stopped.startsWith("depin node " + nodeKeys.nodeId().shortId() + " on " + nm.group(2)
                        + " stopped"), stopped);
            }
            // Standard input closed (how the demo's children notice a parent that died): a clean stop.
            directory.process.getOutputStream().close();
            assertEquals(0, directory.waitFor(), directory.stderr());
            assertTrue(directory.nextLine().endsWith(" on " + dirAddress + " stopped"));
        }
    }

    @Test
    void node_keyFileMistakes_refusedWithWhatToDo(@TempDir Path dir) throws Exception {
        Path enc = dir.resolve("enc.key");
        Path plain = dir.resolve("plain.key");
        NodeKeyPair k = NodeKeyPair.fromSeed(new byte[32]);
        KeyPem.save(enc, k, PASS.toCharArray());
        KeyPem.save(plain, k, null);
        String var = "DEPIN_TEST_UNSET_" + Long.toHexString(new SplittableRandom(1).nextLong());

        assertRefused("encrypted but no password was given", "--passphrase-env VAR or --ask-passphrase",
                "node", "--port", "0", "--key", enc.toString());
        assertRefused("is not set", "leave out --passphrase-env", "node", "--key", enc.toString(),
                "--passphrase-env", var);
        assertRefused("one way", "not both", "directory", "--key", enc.toString(), "--passphrase-env", var,
                "--ask-passphrase");
        assertRefused("is not a duration", "30s", "directory", "--key", plain.toString(), "--ttl", "soon");
        assertRefused("--port must be 0 to 65535", "70000", "node", "--key", plain.toString(), "--port", "70000");
        assertRefused("--threads must be 1 to 1024", "0", "node", "--key", plain.toString(), "--threads", "0");
        assertRefused("--price-per-second '-1'", "", "node", "--key", plain.toString(), "--price-per-second", "-1");
        assertRefused("address 'nohost' must be HOST:PORT", "", "node", "--key", plain.toString(), "--port", "0",
                "--directory", "nohost");
        assertRefused("--input-cache-ttl '10x'", "a unit s, m, h or d", "node", "--key", plain.toString(),
                "--input-cache-ttl", "10x");
        assertRefused("--input-cache-ttl 0s: input cache idle time to live PT0S", "between 1 s and 7 days", "node",
                "--key", plain.toString(), "--input-cache-bytes", "64m", "--input-cache-ttl", "0s");
        assertRefused("--input-cache-entries must be 1 to 1000000", "got 0", "node", "--key", plain.toString(),
                "--input-cache-entries", "0");
        assertRefused("--dispute-window: dispute window PT744H is out of range", "1 second to 30 days", "ledger", "serve",
                "--key", plain.toString(), "--file", dir.resolve("never.db").toString(), "--dispute-window", "31d");
        assertRefused("--recheck-window: re-check window PT0.5S is out of range", "1 second to 30 days", "ledger",
                "serve", "--key", plain.toString(), "--file", dir.resolve("never.db").toString(), "--recheck-window",
                "500ms");
        assertRefused("--max-calls-per-peer 8 and --max-calls-per-address 4", "give 1 <= per peer <= per address",
                "ledger", "serve", "--key", plain.toString(), "--file", dir.resolve("never.db").toString(),
                "--max-calls-per-peer", "8", "--max-calls-per-address", "4");
        assertRefused("--max-streams-per-connection must be 1 to 65536", "got 0", "ledger", "serve", "--key",
                plain.toString(), "--file", dir.resolve("never.db").toString(), "--max-streams-per-connection", "0");
        assertRefused("--max-refused-calls-per-address must be 1 to 1000000", "got 0", "ledger", "serve", "--key",
                plain.toString(), "--file", dir.resolve("never.db").toString(), "--max-refused-calls-per-address", "0");
        assertRefused("--refused-address-for must be 1s to 1h", "got PT2H", "ledger", "serve", "--key",
                plain.toString(), "--file", dir.resolve("never.db").toString(), "--refused-address-for", "2h");
        assertRefused("--receive-timeout must be 1ms to 10m", "got 660 s", "ledger", "serve", "--key", plain.toString(),
                "--file", dir.resolve("never.db").toString(), "--receive-timeout", "11m");
        assertRefused("--max-in-flight 4096, --max-in-flight-per-address 1000 and --max-in-flight-total 65536",
                "give 1 <= per key <= per address <= total <= 10000000", "ledger", "serve", "--key", plain.toString(),
                "--file", dir.resolve("never.db").toString(), "--max-in-flight-per-address", "1000");
        assertRefused("--stall-timeout must be 1ms to 10m", "got 660 s", "ledger", "serve", "--key", plain.toString(),
                "--file", dir.resolve("never.db").toString(), "--stall-timeout", "11m");
        assertRefused("--metrics-port must be 0 to 65535", "got 70000", "ledger", "serve", "--key", plain.toString(),
                "--file", dir.resolve("never.db").toString(), "--metrics-port", "70000");
        assertTrue(!Files.exists(dir.resolve("never.db")), "a refused service creates no ledger");
        assertRefused("--ledger-service needs --ledger-key", "certified by the ledger it trusts", "node", "--key",
                plain.toString(), "--ledger-service", "127.0.0.1:7100");
        assertRefused("--ledger-service: ", "nohost", "node", "--key", plain.toString(), "--ledger-key", dev.depin.crypto.Hex.encode(NodeKeyPair.generate().publicKey().raw()),
                "--ledger-service", "nohost");
        assertRefused("--sla-first-byte needs an SLA", "give --sla-within too", "node", "--key", plain.toString(),
                "--port", "0", "--sla-first-byte", "2s");
        assertRefused("SLA time-to-first-byte bound PT48H", "from 1 ms to 1 day", "node", "--key", plain.toString(),
                "--port", "0", "--sla-within", "30s", "--sla-first-byte", "2d");
        assertRefused("--sla-listed-via needs an SLA", "give --sla-within too", "node", "--key", plain.toString(),
                "--port", "0", "--sla-listed-via", "ab".repeat(32));
        assertRefused("--sla-listed-via 'abc' is not a directory's Ed25519 public key as 64 hex characters",
                "depin directory prints it", "node", "--key", plain.toString(), "--port", "0", "--sla-within", "30s",
                "--sla-listed-via", "abc");
        Path corrupt = dir.resolve("corrupt.key");
        Files.writeString(corrupt, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        if (Files.getFileStore(corrupt).supportsFileAttributeView("posix")) {
            Files.setPosixFilePermissions(corrupt, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            assertRefused("has permissions rw-r--r--", "run chmod 600 " + corrupt, "node", "--port", "0", "--key",
                    corrupt.toString());
            Files.setPosixFilePermissions(corrupt, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        assertRefused("corrupt.key", "corrupted", "directory", "--key", corrupt.toString());
        assertTrue(Files.exists(enc) && Files.exists(plain), "a refused key file is never replaced");
    }

    /** Runs in this JVM: the command is refused before it serves anything. */
    private static void assertRefused(String what, String todo, String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = DepinCli.run(args);
        } finally {
            System.setErr(saved);
        }
        String err = buf.toString(StandardCharsets.UTF_8);
        assertEquals(2, status, err);
        assertTrue(err.contains(what) && err.contains(todo), "expected '" + what + "' and '" + todo + "' in: " + err);
    }

    private static void assertOwnerOnly(Path file) throws Exception {
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        }
    }

    private static float[] floats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static float[] sgemm(int m, int k, int n, float[] a, float[] b) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * b[p * n + j];
                }
                c[i * n + j] = (float) s;
            }
        }
        return c;
    }
}
