package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Runs the demo end to end on a small batch and checks its summary. */
class DemoCommandTest {

    private static String run(int expectedStatus, String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = DepinCli.run(args);
        } finally {
            System.setOut(saved);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        saved.println(out);
        assertEquals(expectedStatus, status, out);
        return out;
    }

    @Test
    void demo_smallBatchAllVerified() {
        String out = run(0, "demo", "--providers", "3", "--jobs", "25", "--seed", "7", "--no-progress");
        assertTrue(out.contains("final states: {VERIFIED=25}"), out);
        assertTrue(out.contains("3 providers, 25 jobs, seed 7"), out);
    }

    @Test
    void demo_badProviderCount() {
        run(2, "demo", "--providers", "0", "--jobs", "5");
        run(2, "demo", "--providers", "17", "--jobs", "5");
    }

    @Test
    void demo_badJobCount() {
        run(2, "demo", "--jobs", "0");
    }
}
