package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin node --dashboard-port}: the page a real browser draws. A node (its own JVM)
 * runs a few jobs, Debian's headless Chromium loads the dashboard and saves a screenshot, and
 * the screenshot must show each chart's ink: the earnings line, the completed-attempts line
 * the latency bars and the SLA compliance line, each in its own colour, in quantity (pixels, not an HTTP 200).
 */
class DashboardScreenshotTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Pattern ADDRESS = Pattern.compile(" on (127\\.0\\.0\\.1:\\d+) ");
    private static final Pattern DASHBOARD = Pattern.compile("dashboard on (http://127\\.0\\.0\\.1:\\d+/)");

    @Test
    void dashboard_drawsItsChartsInAHeadlessBrowser(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "Debian's chromium is not installed at " + CHROMIUM);
        try (ChildCli directory = new ChildCli(dir, "directory", Map.of(), "directory", "--port", "0", "--key",
                dir.resolve("dir.key").toString(), "--stop-on-stdin-eof")) {
            Matcher da = ADDRESS.matcher(directory.nextLine());
            assertTrue(da.find());
            try (ChildCli node = new ChildCli(dir, "node", Map.of(), "node", "--port", "0", "--key",
                    dir.resolve("node.key").toString(), "--directory", da.group(1), "--threads", "1",
                    "--dashboard-port", "0", "--watts", "300", "--sla-within", "30s", "--stop-on-stdin-eof")) {
                String line = node.nextLine();
                Matcher dm = DASHBOARD.matcher(line);
                assertTrue(dm.find(), line + node.stderr());
                String url = dm.group(1);
                SplittableRandom rnd = new SplittableRandom(17);
                try (GrpcNetwork net = GrpcNetwork.builder().directory(da.group(1)).build();
                     DepinClient client = DepinClient.builder(net).build()) {
                    for (int i = 0; i < 12; i++) {
                        int n = 1 + rnd.nextInt(64);
                        float[] a = new float[n * n];
                        for (int j = 0; j < a.length; j++) {
                            a[j] = (float) rnd.nextDouble(-1, 1);
                        }
                        client.submit(Job.builder(BuiltinKernel.SGEMM).param("m", n).param("k", n).param("n", n)
                                .input("a", a).input("b", a).timeout(Duration.ofSeconds(60)).build())
                                .result(Duration.ofSeconds(90));
                        if (i == 5) {
                            Thread.sleep(2500); // a second reading between the two halves: a line, not a point
                        }
                    }
                }
                Thread.sleep(2500); // the sampler's next reading includes every job
                HttpResponse<String> json = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(url + "dashboard.json")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, json.statusCode());
                assertTrue(json.body().contains("\"latency\":{\"count\":12"), json.body());
                // good, late, failed, late first byte (none: this node promises no first byte)
                Matcher counts = Pattern.compile("\"counts\":\\[([0-9.]+),([0-9.]+),([0-9.]+),([0-9.]+)\\]")
                        .matcher(json.body());
                assertTrue(counts.find(), json.body());
                assertEquals(12.0, Double.parseDouble(counts.group(1)) + Double.parseDouble(counts.group(2)),
                        "every completed attempt counted against the node's SLA (good or late): " + json.body());
                assertEquals(0.0, Double.parseDouble(counts.group(3)), json.body());
                assertEquals(0.0, Double.parseDouble(counts.group(4)), json.body());

                Path png = dir.resolve("dashboard.png");
                List<String> cmd = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox",
                        "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1100", "--virtual-time-budget=10000",
                        "--screenshot=" + png, url));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium ended");
                assertEquals(0, p.exitValue(), out);
                BufferedImage img = ImageIO.read(png.toFile());
                assertEquals(1280, img.getWidth());
                int earnings = count(img, 0x1f77b4);
                int completed = count(img, 0x2ca02c);
                int latency = count(img, 0x17becf);
                int sla = count(img, 0x8c564b);
                System.out.printf("dashboard pixels: earnings %d, completed %d, latency %d, SLA %d%n", earnings,
                        completed, latency, sla);
                assertTrue(earnings > 300, "the earnings chart has a line: " + earnings + " pixels");
                assertTrue(completed > 300, "the attempts chart has a line: " + completed + " pixels");
                assertTrue(latency > 300, "the latency chart has bars: " + latency + " pixels");
                assertTrue(sla > 300, "the SLA chart has a line: " + sla + " pixels");
                Path keep = Path.of("target", "dashboard.png");
                Files.createDirectories(keep.getParent());
                Files.copy(png, keep, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** Pixels within a small distance of {@code rgb}: anti-aliasing blurs the edges, not the middle. */
    private static int count(BufferedImage img, int rgb) {
        int r = rgb >> 16 & 255;
        int g = rgb >> 8 & 255;
        int b = rgb & 255;
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int c = img.getRGB(x, y);
                if (Math.abs((c >> 16 & 255) - r) <= 12 && Math.abs((c >> 8 & 255) - g) <= 12
                        && Math.abs((c & 255) - b) <= 12) {
                    n++;
                }
            }
        }
        return n;
    }
}
