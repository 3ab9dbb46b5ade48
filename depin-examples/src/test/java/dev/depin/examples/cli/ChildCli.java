package dev.depin.examples.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code depin ...} in a JVM of its own, with this JVM's java and class path. Its standard
 * output and error go to files (a pipe loses what is unread when the process exits, and
 * the tests read the line a node prints as it stops); {@link #nextLine()} reads standard
 * output line by line.
 */
final class ChildCli implements AutoCloseable {
    final Process process;
    private final Path out;
    private final Path err;
    private int consumed;

    ChildCli(Path dir, String name, Map<String, String> env, String... args) throws IOException {
        this.out = dir.resolve(name + ".out");
        this.err = dir.resolve(name + ".err");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                DepinCli.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        process = pb.start();
    }

    /**
     * The next complete line of standard output; null once the process has ended without
     * printing another. Fails after a generous wait (liveness only).
     */
    String nextLine() throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            boolean ended = !process.isAlive();
            String text = Files.readString(out, StandardCharsets.UTF_8);
            int nl = text.indexOf('\n', consumed);
            if (nl >= 0) {
                String line = text.substring(consumed, nl);
                consumed = nl + 1;
                return line;
            }
            if (ended) {
                return null;
            }
            if (System.nanoTime() > until) {
                throw new AssertionError("no line within 120 s; stderr: " + stderr());
            }
            Thread.sleep(20);
        }
    }

    String stderr() throws IOException {
        return Files.readString(err, StandardCharsets.UTF_8);
    }

    int waitFor() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the process did not end within 60 s");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }
}
