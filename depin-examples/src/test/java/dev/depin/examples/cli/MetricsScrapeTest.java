package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.RemoteSettlement;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin directory --metrics-port} and {@code depin node --metrics-port}, each in its own
 * JVM, and a buyer client with a Prometheus registry: after a known batch of jobs, each
 * /metrics is scraped over HTTP and read with a strict Prometheus text-format parser, and the
 * numbers must be exactly what the batch implies. {@code depin ledger serve --metrics-port} the
 * same, after a known call and a plaintext connection refused at its handshake.
 */
class MetricsScrapeTest {
    private static final Pattern ADDRESS = Pattern.compile(" on (127\\.0\\.0\\.1:\\d+) ");
    private static final Pattern METRICS = Pattern.compile("metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)");

    @Test
    void nodeDirectoryAndBuyer_exposeWhatTheBatchDid(@TempDir Path dir) throws Exception {
        long seed = 20261205L;
        System.out.println("MetricsScrapeTest seed " + seed);
        try (ChildCli directory = new ChildCli(dir, "directory", Map.of(), "directory", "--port", "0", "--key",
                dir.resolve("dir.key").toString(), "--metrics-port", "0", "--stop-on-stdin-eof")) {
            String dline = directory.nextLine();
            Matcher da = ADDRESS.matcher(dline);
            Matcher dm = METRICS.matcher(dline);
            assertTrue(da.find() && dm.find(), dline + directory.stderr());
            try (ChildCli node = new ChildCli(dir, "node", Map.of(), "node", "--port", "0", "--key",
                    dir.resolve("node.key").toString(), "--directory", da.group(1), "--threads", "1",
                    "--metrics-port", "0", "--watts", "300", "--stop-on-stdin-eof")) {
                String nline = node.nextLine();
                Matcher nm = METRICS.matcher(nline);
                assertTrue(nm.find(), nline + node.stderr());
                assertTrue(nline.contains("; energy estimated at 300 W (nvidia-smi"), nline);

                PrometheusMeterRegistry buyerMeters = MetricsHttp.registry();
                SplittableRandom rnd = new SplittableRandom(seed);
                long costMicros = 0;
                long inBytes = 0;
                long outBytes = 0;
                int jobs = 0;
                try (GrpcNetwork net = GrpcNetwork.builder().directory(da.group(1)).build();
                     DepinClient client = DepinClient.builder(net).meterRegistry(buyerMeters).build()) {
                    for (int[] mkn : new int[][] {{1, 1, 1}, {3, 5, 7}, {33, 17, 2}, {64, 64, 64}}) {
                        JobResult r = client.submit(Job.builder(BuiltinKernel.SGEMM).param("m", mkn[0])
                                .param("k", mkn[1]).param("n", mkn[2]).input("a", floats(rnd, mkn[0] * mkn[1]))
                                .input("b", floats(rnd, mkn[1] * mkn[2])).verification(VerificationPolicy.freivalds(20))
                                .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90));
                        costMicros += r.cost().micros();
                        inBytes += 4L * (mkn[0] * mkn[1] + mkn[1] * mkn[2]);
                        outBytes += 4L * mkn[0] * mkn[2];
                        jobs++;
                    }
                    for (int n : new int[] {1, 1000, 4097}) {
                        JobResult r = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2)
                                .input("x", floats(rnd, n)).input("y", floats(rnd, n))
                                .timeout(Duration.ofSeconds(60)).build()).result(Duration.ofSeconds(90));
                        costMicros += r.cost().micros();
                        inBytes += 8L * n;
                        outBytes += 4L * n;
                        jobs++;
                    }
                }

                PromText n = PromText.parse(get(nm.group(1)));
                assertEquals(jobs, n.value("depin_node_attempts_total", "outcome", "completed"));
                assertEquals(0, n.value("depin_node_attempts_total", "outcome", "failed"));
                assertEquals(0, n.value("depin_node_attempts_active", "state", "running"));
                assertEquals(inBytes, n.value("depin_node_bytes_total", "direction", "in"));
                assertEquals(outBytes, n.value("depin_node_bytes_total", "direction", "out"));
                assertEquals(costMicros / 1e6, n.value("depin_node_earnings_usd_total"), 1e-9,
                        "the node's earnings are the buyer's costs");
                double device = n.value("depin_node_device_time_seconds_total");
                assertTrue(device > 0);
                // Each attempt's receipt states whole millijoules, and the counter adds those: at most
                // half a millijoule of rounding per attempt (7 attempts).
                assertEquals(300 * device, n.value("depin_node_energy_joules_total", "source", "estimated"),
                        7 * 0.0005 + 300 * device * 1e-9);
                assertEquals(4, n.value("depin_node_attempt_duration_seconds_count", "kernel", "sgemm",
                        "outcome", "completed"));
                assertEquals(3, n.value("depin_node_attempt_duration_seconds_count", "kernel", "saxpy",
                        "outcome", "completed"));
                assertTrue(n.value("depin_node_uptime_seconds") > 0);
                assertEquals("histogram", n.types.get("depin_node_attempt_duration_seconds"));

                PromText d = PromText.parse(get(dm.group(1)));
                assertEquals(1, d.value("depin_directory_listings"));
                assertTrue(d.value("depin_directory_calls_total", "method", "Renew", "status", "ok") >= 1);
                assertTrue(d.value("depin_directory_calls_total", "method", "Query", "status", "ok") >= 1);

                PromText b = PromText.parse(buyerMeters.scrape());
                assertEquals(jobs, b.value("depin_client_jobs_total", "state", "verified"));
                assertEquals(jobs, b.value("depin_client_attempt_duration_seconds_count", "outcome", "accepted"));
                assertEquals(inBytes, b.value("depin_client_bytes_total", "direction", "out"));
                assertEquals(outBytes, b.value("depin_client_bytes_total", "direction", "in"));
                assertEquals(0, b.value("depin_client_jobs_active"));
            }
        }
    }

    @Test
    void ledgerServe_exposesCallsOpenCallsAndTransportRefusals(@TempDir Path dir) throws Exception {
        try (ChildCli ledger = new ChildCli(dir, "ledger", Map.of(), "ledger", "serve", "--port", "0", "--key",
                dir.resolve("ledger.key").toString(), "--file", dir.resolve("ledger.db").toString(), "--metrics-port",
                "0", "--max-calls-per-peer", "4", "--stop-on-stdin-eof")) {
            String line = ledger.nextLine();
            Matcher a = ADDRESS.matcher(line);
            Matcher m = METRICS.matcher(line);
            Matcher k = Pattern.compile("ledger key ([0-9a-f]{64})").matcher(line);
            assertTrue(a.find() && m.find() && k.find(), line + ledger.stderr());
            // A client the service grants nothing reads its (empty) list of balances: one call, ok.
            try (RemoteSettlement stranger = RemoteSettlement.builder(NodeKeyPair.generate(), a.group(1),
                    NodePublicKey.of(Hex.decode(k.group(1)))).connect()) {
                assertEquals(List.of(), stranger.balances());
            }
            // Plaintext where TLS is expected: refused at the handshake.
            int port = Integer.parseInt(a.group(1).substring(a.group(1).lastIndexOf(':') + 1));
            try (Socket raw = new Socket("127.0.0.1", port)) {
                raw.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                raw.setSoTimeout(30_000);
                try {
                    while (raw.getInputStream().read() >= 0) {
                        // until the service closes it
                    }
                } catch (IOException reset) {
                    // closed with a reset: refused as well
                }
            }
            PromText p = PromText.parse(get(m.group(1)));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (p.samples.stream().noneMatch(s -> s.name().equals("depin_ledger_transport_refusals_total")
                    && "not_tls".equals(s.labels().get("error"))) && System.nanoTime() < until) {
                Thread.sleep(20);
                p = PromText.parse(get(m.group(1)));
            }
            assertEquals(1, p.value("depin_ledger_transport_refusals_total", "kind", "handshake", "error", "not_tls"));
            assertEquals(0, p.value("depin_ledger_transport_refusals_total", "kind", "stream_reset",
                    "error", "refused_stream"));
            assertEquals(1, p.value("depin_ledger_calls_total", "method", "ListBalances", "status", "ok"));
            assertEquals(0, p.value("depin_ledger_calls_open"));
            assertEquals(0, p.value("depin_ledger_operations_in_flight"));
            assertEquals(0, p.value("depin_ledger_addresses_refused"));
        }
    }

    static String get(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(MetricsHttp.PROMETHEUS_TEXT, r.headers().firstValue("Content-Type").orElse(""));
        return r.body();
    }

    private static float[] floats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }
}
