package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.client.NoMatchingOfferException;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.OfferQuery;
import dev.depin.provider.JobLimits;
import dev.depin.provider.ProviderOffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin node}'s flags for what a peer may make the node hold: a bad value or a pair
 * that disagrees is refused with status 2 and a message naming the flag, before anything is
 * made or served; and the job limits the node signs into its offer follow its input budgets,
 * so a buyer never plans a job the node refuses for its size.
 */
class NodeLimitFlagsTest {
    private static final Pattern DIRECTORY = Pattern.compile("^depin directory [0-9a-f]{64} serving offers on "
            + "(127\\.0\\.0\\.1:\\d+) .*$");
    private static final Pattern NODE = Pattern.compile("^depin node ([0-9a-f]{64}) serving \\S+ on (127\\.0\\.0\\.1:\\d+) .*$");

    /** Runs {@code depin node --key KEY args...} here; it must be refused with exactly {@code message}. */
    private static void refused(Path dir, String message, String... args) {
        Path key = dir.resolve("never.key");
        List<String> argv = new ArrayList<>(List.of("node", "--port", "0", "--key", key.toString()));
        argv.addAll(List.of(args));
        CliRun run = CliRun.of(argv);
        assertEquals(2, run.exit(), run.all());
        assertEquals(message + System.lineSeparator(), run.err());
        assertEquals("", run.out());
        assertFalse(Files.exists(key), "refused before a key was made");
    }

    @Test
    void badValues_refusedWithTheFlagAndWhatToDo(@TempDir Path dir) {
        refused(dir, "--max-streams-per-address must be 1 to 1048576, got 0 (raise it for many buyers behind one NAT)",
                "--max-streams-per-address", "0");
        refused(dir, "--max-refused-starts-per-address must be 1 to 1048576, got 1048577",
                "--max-refused-starts-per-address", "1048577");
        refused(dir, "--refused-address-for must be 1s to 1h, got PT0.5S", "--refused-address-for", "500ms");
        refused(dir, "--max-streams-per-connection must be 1 to 65536, got 0", "--max-streams-per-connection", "0");
        refused(dir, "--max-streams-per-peer and --max-jobs-per-peer must be 1 to 65536, got 256 and 0",
                "--max-jobs-per-peer", "0");
        refused(dir, "--max-unread-output-bytes-per-peer 134217728 must not be more than --max-unread-output-bytes "
                + "67108864", "--max-unread-output-bytes", "64m", "--max-unread-output-bytes-per-peer", "128m");
        refused(dir, "--max-input-bytes, --max-input-bytes-per-peer and --max-input-bytes-per-address admit at most "
                + "2097152 input bytes per job, less than one Start message (4194304 bytes): give at least 4m per peer "
                + "and per address (--max-input-bytes at least 8m)", "--max-input-bytes", "4m");
        refused(dir, "--max-input-bytes, --max-input-bytes-per-peer and --max-input-bytes-per-address admit at most "
                + "1048576 input bytes per job, less than one Start message (4194304 bytes): give at least 4m per peer "
                + "and per address (--max-input-bytes at least 8m)", "--max-input-bytes", "64m",
                "--max-input-bytes-per-address", "1m");
        refused(dir, "--max-job-bytes 67108864 is more than the 33554432 input bytes this node admits for one job "
                + "(--max-input-bytes-per-peer, by default half of --max-input-bytes, and --max-input-bytes-per-address): "
                + "buyers would plan jobs it refuses; lower --max-job-bytes or raise those budgets",
                "--max-input-bytes", "256m", "--max-input-bytes-per-peer", "32m", "--max-job-bytes", "64m");
        refused(dir, "--max-job-bytes 67108864 is more than the 50331648 input bytes this node admits for one job "
                + "(--max-input-bytes-per-peer, by default half of --max-input-bytes, and --max-input-bytes-per-address): "
                + "buyers would plan jobs it refuses; lower --max-job-bytes or raise those budgets",
                "--max-input-bytes", "64m", "--max-input-bytes-per-peer", "64m", "--max-input-bytes-per-address", "48m",
                "--max-job-bytes", "64m");
        refused(dir, "--max-output-bytes 2097152 must not be more than --max-job-bytes 1048576",
                "--max-input-bytes", "64m", "--max-output-bytes", "2m", "--max-job-bytes", "1m");
        refused(dir, "--max-output-bytes 67108864 must not be more than the job bytes 16777216 this node takes by "
                + "default (an eighth of the heap, within the input budgets): give --max-job-bytes too",
                "--max-input-bytes", "64m", "--max-input-bytes-per-peer", "16m", "--max-output-bytes", "64m");

        // Values picocli cannot convert: its own message, naming the option, and the usage.
        for (String[] bad : new String[][] {{"--max-input-bytes-per-address", "0"},
                {"--max-unread-output-bytes", "lots"}, {"--connection-idle", "0s"}, {"--connection-age", "soon"}}) {
            CliRun run = CliRun.of(List.of("node", "--key", dir.resolve("never.key").toString(), bad[0], bad[1]));
            assertEquals(2, run.exit(), run.all());
            assertTrue(run.err().startsWith("Invalid value for option '" + bad[0] + "': '" + bad[1] + "' "),
                    run.err());
        }
        assertFalse(Files.exists(dir.resolve("never.key")));
    }

    @Test
    void inputBudgets_sizeTheSignedOffer_largestJobRuns_largerNeverSent(@TempDir Path dir) throws Exception {
        Path dirKey = dir.resolve("directory.key");
        try (ChildCli directory = new ChildCli(dir, "directory", Map.of(), "directory", "--port", "0",
                "--key", dirKey.toString(), "--ttl", "20s")) {
            Matcher dm = DIRECTORY.matcher(directory.nextLine());
            assertTrue(dm.matches(), "stderr: " + directory.stderr());
            String dirAddress = dm.group(1);
            NodeKeyPair dirKeys = KeyPem.load(dirKey, null);
            // No job flags: the offer takes one peer's input budget (16m) as its job bytes, half of it output.
            try (ChildCli node = new ChildCli(dir, "node", Map.of(), "node", "--port", "0",
                    "--key", dir.resolve("node.key").toString(), "--directory", dirAddress, "--threads", "1",
                    "--max-input-bytes", "64m", "--max-input-bytes-per-peer", "16m",
                    "--max-input-bytes-per-address", "24m", "--max-streams-per-address", "64",
                    "--max-refused-starts-per-address", "16", "--refused-address-for", "1m",
                    "--max-unread-output-bytes", "32m",
                    "--max-unread-output-bytes-per-peer", "8m", "--max-streams-per-connection", "32",
                    "--connection-idle", "1m", "--connection-age", "1h", "--connection-grace", "1m")) {
                String line = node.nextLine();
                Matcher nm = NODE.matcher(line == null ? "" : line);
                assertTrue(nm.matches(), line + "\nstderr: " + node.stderr());
                try (GrpcNetwork net = GrpcNetwork.builder().directory(dirAddress, dirKeys.publicKey()).build();
                     DepinClient client = DepinClient.builder(net).build()) {
                    ProviderOffer offer = net.offers(new OfferQuery("reduce-sum", Requirements.ANY, 10))
                            .get(30, TimeUnit.SECONDS).get(0);
                    assertEquals(nm.group(1), offer.nodeId().hex());
                    assertEquals(new JobLimits(8L << 20, 16L << 20), offer.terms().jobLimits().orElseThrow());

                    // reduce-sum: n floats in, a 4-byte sum out; 16 MiB in all is the largest job offered.
                    int n = ((16 << 20) - 4) / Float.BYTES;
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) {
                        x[i] = i % 7 - 3;
                    }
                    JobResult r = client.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x)
                            .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90));
                    assertEquals(offer.nodeId(), r.provider());
                    assertEquals(1, r.attempt(), "taken on the first attempt, never refused for its size");
                    float want = 0;
                    for (int i = 0; i < n; i++) {
                        want += i % 7 - 3;
                    }
                    assertEquals(want, r.floats("sum")[0]);

                    JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(
                            Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n + 1).input("x", new float[n + 1])
                                    .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90)));
                    assertEquals(JobState.REJECTED, e.finalState());
                    assertEquals(NoMatchingOfferException.class, e.getSuppressed()[0].getClass());
                    assertTrue(e.getMessage().contains("takes at most 16777216 input + output bytes per job, this one "
                            + "needs 16777220"), e.getMessage());
                }
            }
        }
    }
}
