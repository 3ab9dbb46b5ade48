package dev.depin.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One {@code depin} command run in this JVM as a user would run it, with what it printed.
 * Runs are serialized: they swap {@code System.out} and {@code System.err}.
 *
 * @param exit the exit status {@link DepinCli#run} returned
 * @param out  what it printed on standard output
 * @param err  what it printed on standard error
 */
record CliRun(int exit, String out, String err) {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    /** @return standard output followed by standard error */
    String all() {
        return out + err;
    }

    /**
     * Runs {@code scripts/verify_receipt.py} once over many argument lists (its {@code --batch}
     * mode: starting Python costs more than a check).
     *
     * @param argv one argument list per check
     * @return one run per list, in order (standard error folded into {@code out} by the script)
     */
    static List<CliRun> verifyScript(List<List<String>> argv) throws Exception {
        java.nio.file.Path script = java.nio.file.Path.of("scripts/verify_receipt.py").toAbsolutePath();
        Process p = new ProcessBuilder("python3", script.toString(), "--batch").start();
        try (var in = p.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(argv));
        }
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        org.junit.jupiter.api.Assertions.assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS),
                "python hung");
        org.junit.jupiter.api.Assertions.assertEquals(0, p.exitValue(), new String(err, StandardCharsets.UTF_8));
        List<CliRun> results = new java.util.ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode r : JSON.readTree(out)) {
            results.add(new CliRun(r.get("exit").asInt(), r.get("out").asText(), ""));
        }
        org.junit.jupiter.api.Assertions.assertEquals(argv.size(), results.size(), "one result per check");
        return results;
    }

    static synchronized CliRun of(List<String> args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int status;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            status = DepinCli.run(args.toArray(String[]::new));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new CliRun(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }
}
