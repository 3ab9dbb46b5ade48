package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.Hostile;
import dev.depin.grpc.RawHttp2;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code depin node --max-streams-per-address 2 --max-streams-per-connection 2}, started as a
 * user starts it (its own JVM, through the CLI's entry), attacked from outside by strangers no
 * buyer library stands behind: {@link Hostile} (the generated gRPC stubs over the node's mutual
 * TLS with self-made keys) for the per-address limit, and {@link RawHttp2} (HTTP/2 frames
 * written one by one, so nothing on the client's side queues streams past the server's
 * SETTINGS) for the per-connection one. The third stream is refused with the exact reason, the
 * two held streams are unaffected and complete their jobs, and an honest buyer's job from
 * another address and key succeeds while the attack holds its streams.
 *
 * <p>A stranger knows the node counted its stream when the node answers its Start with a Need:
 * its Start names its one input "by root", which the node (without an input cache) does not
 * hold, so the node asks for the bytes and waits. Only then is the next stream opened: the
 * order the node sees is the order the test means.
 */
class NodeLimitsAttackTest {
    private static final Pattern DIRECTORY = Pattern.compile("^depin directory [0-9a-f]{64} serving offers on "
            + "(127\\.0\\.0\\.1:\\d+) .*$");
    private static final Pattern NODE = Pattern.compile("^depin node ([0-9a-f]{64}) serving \\S+ on (127\\.0\\.0\\.1:\\d+) "
            + ".*; metrics on (http://127\\.0\\.0\\.1:\\d+/metrics).*$");
    /** reduce-sum over 1,024 zero floats: the job every stranger's stream carries. */
    private static final Job JOB = Hostile.declaring(4096);
    private static final byte[] INPUT = new byte[4096];

    @TempDir
    static Path dir;
    private static ChildCli directory;
    private static ChildCli node;
    private static String nodeAddress;
    private static String metrics;
    private static NodePublicKey nodeKey;
    private static GrpcNetwork net;
    private static DepinClient honest;

    @BeforeAll
    static void start() throws Exception {
        Path dirKey = dir.resolve("directory.key");
        directory = new ChildCli(dir, "directory", Map.of(), "directory", "--port", "0", "--key", dirKey.toString(),
                "--stop-on-stdin-eof");
        Matcher dm = DIRECTORY.matcher(String.valueOf(directory.nextLine()));
        assertTrue(dm.matches(), "stderr: " + directory.stderr());
        Path key = dir.resolve("node.key");
        // The held streams wait for their inputs longer than the test takes: the node's receive
        // deadlines are not what ends them.
        node = new ChildCli(dir, "node", Map.of(), "node", "--port", "0", "--key", key.toString(),
                "--directory", dm.group(1), "--threads", "1", "--metrics-port", "0", "--stop-on-stdin-eof",
                "--max-streams-per-address", "2", "--max-streams-per-connection", "2",
                "--receive-idle", "2m", "--receive-timeout", "5m");
        String line = String.valueOf(node.nextLine());
        Matcher nm = NODE.matcher(line);
        assertTrue(nm.matches(), line + "\nstderr: " + node.stderr());
        nodeAddress = nm.group(2);
        metrics = nm.group(3);
        nodeKey = KeyPem.load(key, null).publicKey();
        assertEquals(nm.group(1), nodeKey.nodeId().hex());
        net = GrpcNetwork.builder().directory(dm.group(1), KeyPem.load(dirKey, null).publicKey()).build();
        honest = DepinClient.builder(net).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (honest != null) {
            honest.close();
        }
        if (net != null) {
            net.close();
        }
        if (node != null) {
            node.close();
        }
        if (directory != null) {
            directory.close();
        }
    }

    /** An honest buyer's job, from 127.0.0.1 with its own key, through GrpcNetwork: it must succeed. */
    private static void honestJobSucceeds(int n) throws Exception {
        float[] x = new float[n];
        float want = 0;
        for (int i = 0; i < n; i++) {
            x[i] = i % 5;
            want += x[i];
        }
        JobResult r = honest.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x)
                .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90));
        assertEquals(nodeKey.nodeId(), r.provider());
        assertEquals(want, r.floats("sum")[0]);
    }

    @Test
    void maxStreamsPerAddress_thirdStreamFromTheAddressRefused_heldOnesAndHonestJobsUnaffected() throws Exception {
        List<Hostile> strangers = new ArrayList<>();
        try {
            // Three keys from 127.0.0.2, each on its own connection: the limit is the address's.
            List<Hostile.Stream> held = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Hostile h = new Hostile(nodeAddress, nodeKey, NodeKeyPair.generate(), "127.0.0.2");
                strangers.add(h);
                Hostile.Stream s = h.open(true);
                s.send(Hostile.startByRoot(JOB, Hostile.jobId(i + 1)));
                assertEquals(List.of("x"), s.need.get(60, TimeUnit.SECONDS), "stream " + i + " counted: " + s.status);
                held.add(s);
            }
            Hostile third = new Hostile(nodeAddress, nodeKey, NodeKeyPair.generate(), "127.0.0.2");
            strangers.add(third);
            Hostile.Stream refused = third.open(true);
            refused.send(Hostile.startByRoot(JOB, Hostile.jobId(3)));
            assertEquals("RESOURCE_EXHAUSTED: address 127.0.0.2 has 2 Execute streams open over all its keys, this "
                    + "node's limit per address: finish or cancel some first", refused.awaitEnd(30));

            // While the attack holds its two streams: an honest job from 127.0.0.1 succeeds.
            honestJobSucceeds(1000);
            assertFalse(held.get(0).status.isDone() || held.get(1).status.isDone(), "a held stream was ended");

            // The held streams are unaffected: they send their inputs and get their results.
            for (Hostile.Stream s : held) {
                s.send(Hostile.input("x", INPUT, 0, INPUT.length));
                assertEquals("OK: null", s.awaitEnd(60));
                assertEquals(nodeKey.nodeId().hex(), s.result.getProvider());
                assertEquals(4, s.outputBytes.get(), "the 4-byte sum");
            }
            // Their streams ended, the address's count went back down: the third key is admitted now.
            Hostile.Stream again = third.open(true);
            again.send(Hostile.startByRoot(JOB, Hostile.jobId(4)));
            assertEquals(List.of("x"), again.need.get(30, TimeUnit.SECONDS), "admitted again: " + again.status);
            again.cancel();
        } finally {
            strangers.forEach(Hostile::close);
        }
    }

    /**
     * With {@code ackSettings} false the stranger never acknowledges the server's SETTINGS: the
     * limit holds from the server's first SETTINGS frame all the same (Netty enforces it on
     * the streams a peer opens whether or not the peer acknowledged it).
     */
    @ParameterizedTest(name = "ackSettings={0}")
    @ValueSource(booleans = {true, false})
    void maxStreamsPerConnection_rawHttp2ThirdStreamRefusedStream_heldOnesAndHonestJobsUnaffected(boolean ackSettings)
            throws Exception {
        // Each run from its own address, so that the per-address limit (also 2) is not what refuses.
        String from = ackSettings ? "127.0.0.3" : "127.0.0.4";
        try (RawHttp2 raw = new RawHttp2(nodeAddress, nodeKey, NodeKeyPair.generate(), from, ackSettings)) {
            assertEquals(2L, raw.serverMaxConcurrentStreams(), "SETTINGS_MAX_CONCURRENT_STREAMS");
            List<Integer> held = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                int s = raw.openExecute();
                raw.send(s, Hostile.startByRoot(JOB, Hostile.jobId((ackSettings ? 10 : 20) + i)));
                assertEquals(List.of("x"), raw.awaitNeed(s, 30), "stream " + s + " counted; ended: "
                        + (raw.ended(s) ? raw.awaitEnd(s, 0) : "no") + "; node stderr: " + node.stderr());
                held.add(s);
            }
            // The third stream on the connection, past what the server's SETTINGS allow: the
            // server resets it before gRPC sees it (the per-address limit would have answered
            // RESOURCE_EXHAUSTED in trailers instead).
            int third = raw.openExecute();
            assertEquals("RST_STREAM REFUSED_STREAM", raw.awaitEnd(third, 30));

            honestJobSucceeds(777);
            assertFalse(raw.ended(held.get(0)) || raw.ended(held.get(1)), "a held stream was ended");
            assertEquals(null, raw.goAway(), "the connection was not closed");

            for (int s : held) {
                raw.send(s, Hostile.input("x", INPUT, 0, INPUT.length));
                assertEquals("grpc-status 0: ", raw.awaitEnd(s, 60));
                assertEquals(nodeKey.nodeId().hex(), raw.resultProvider(s));
            }
        }
    }
}
