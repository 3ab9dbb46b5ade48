package dev.depin.akash;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Akash's own TypeScript SDK, {@code @akashnetwork/chain-sdk}, installed from npm into
 * {@code target/chain-sdk} once (reused while that folder lives, so {@code mvn verify} installs it
 * once per clean build), and a Node.js probe that validates SDLs and computes their manifest
 * versions with it. Needs {@code node} and {@code npm} on the PATH; {@link #unavailable()} says
 * why not when they are missing.
 */
final class ChainSdk {
    static final String PACKAGE = "@akashnetwork/chain-sdk";
    static final String VERSION = "1.0.0-alpha.45";
    private static final Path HOME = Path.of("target", "chain-sdk").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static String unavailable;
    private static boolean probed;

    /** What the SDK said about one SDL. */
    record Result(boolean ok, String json, String version, List<String> errors) {
    }

    private ChainSdk() {
    }

    /** @return why the SDK cannot run here (node or npm missing), or null when it can */
    static synchronized String unavailable() {
        if (!probed) {
            probed = true;
            for (String tool : List.of("node", "npm")) {
                try {
                    Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
                    p.getInputStream().readAllBytes();
                    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                        unavailable = tool + " --version failed";
                    }
                } catch (IOException e) {
                    unavailable = tool + " is not on the PATH (" + e.getMessage() + "): install Node.js 20 or newer "
                            + "with npm to compare the manifest version with Akash's own SDK";
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    unavailable = "interrupted";
                }
                if (unavailable != null) {
                    break;
                }
            }
        }
        return unavailable;
    }

    /** Installs the SDK under target/chain-sdk unless that exact version is already there. */
    static synchronized Path install() throws IOException, InterruptedException {
        Path pkg = HOME.resolve("node_modules/@akashnetwork/chain-sdk/package.json");
        if (!Files.exists(pkg) || !JSON.readTree(pkg.toFile()).path("version").asText().equals(VERSION)) {
            Files.createDirectories(HOME);
            Path log = HOME.resolve("npm-install.log");
            Process p = new ProcessBuilder("npm", "install", "--prefix", HOME.toString(), "--no-audit", "--no-fund",
                    "--loglevel=error", PACKAGE + "@" + VERSION).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("npm install " + PACKAGE + "@" + VERSION + " did not finish in 10 min");
            }
            if (p.exitValue() != 0 || !Files.exists(pkg)) {
                throw new IllegalStateException("npm install " + PACKAGE + "@" + VERSION + " failed (exit "
                        + p.exitValue() + "): " + Files.readString(log));
            }
        }
        try (InputStream probe = ChainSdk.class.getResourceAsStream("chain-sdk-probe.mjs")) {
            Files.write(HOME.resolve("probe.mjs"), probe.readAllBytes());
        }
        return HOME;
    }

    /** Runs the probe on every SDL in one Node.js process. */
    static List<Result> run(List<String> sdls) throws Exception {
        Path home = install();
        Process p = new ProcessBuilder("node", "probe.mjs").directory(home.toFile())
                .redirectError(home.resolve("probe.err").toFile()).start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = p.getInputStream()) {
                return in.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(sdls));
        }
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("the chain-sdk probe did not finish in 5 min");
        }
        byte[] bytes = out.get(1, TimeUnit.MINUTES);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("the chain-sdk probe failed (exit " + p.exitValue() + "): "
                    + Files.readString(home.resolve("probe.err")));
        }
        JsonNode arr = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
        List<Result> results = new ArrayList<>();
        for (JsonNode r : arr) {
            List<String> errors = new ArrayList<>();
            r.path("errors").forEach(e -> errors.add(e.asText()));
            results.add(new Result(r.path("ok").asBoolean(), r.path("json").asText(null), r.path("version").asText(null),
                    errors));
        }
        if (results.size() != sdls.size()) {
            throw new IllegalStateException("the probe answered " + results.size() + " of " + sdls.size() + " SDLs");
        }
        return results;
    }
}
