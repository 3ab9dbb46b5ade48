package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** Runs the demo end to end, over the network and in process, and checks its summary. */
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
    void demo_localNetwork_smallBatchAllSettledInProcess() {
        String out = run(0, "demo", "--network", "local", "--providers", "3", "--jobs", "25", "--seed", "7",
                "--no-progress");
        assertTrue(out.contains("final states: {SETTLED=25}"), out);
        assertTrue(out.contains("3 providers, 25 jobs, seed 7"), out);
        assertFalse(out.contains("child processes") || out.contains("killed"), out);
        assertEquals(List.of(), demoChildren(), "the local network starts no process");
        assertTrue(out.matches("(?s).*\\n  sum +\\$0\\.000000\\n.*"), "the balance sheet sums to zero: " + out);
        assertTrue(out.contains("system:issuer            issuer      -$115.000000"),
                "minted: the buyer's $100 and three $5 stakes: " + out);
    }

    /**
     * The liar's first SGEMM is always corrupted and the demo's first job is an SGEMM, which
     * idle providers hand to the cheapest, the liar: every demo with a liar shows it caught,
     * whatever the seed and however few jobs (at 5 %, a handful of SGEMMs used to show none).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(longs = {42, 1, 2, 3, 4})
    void demo_defaultLiarIsAlwaysCaught(long seed) {
        String out = run(0, "demo", "--network", "local", "--providers", "3", "--jobs", "5", "--seed",
                String.valueOf(seed), "--no-progress", "--no-sla");
        assertTrue(out.contains("final states: {SETTLED=5}"), out);
        assertFalse(out.contains("disputes:     0"), "the liar was never caught: " + out);
        assertTrue(out.contains("RESULT_MISMATCH"), out);
    }

    @Test
    void demo_ledgerFileIsReadableAfterwards(@TempDir Path dir) {
        Path ledger = dir.resolve("demo.db");
        String out = run(0, "demo", "--network", "local", "--providers", "2", "--jobs", "6", "--seed", "3",
                "--dishonest", "0", "--no-progress", "--ledger", ledger.toString());
        assertTrue(out.contains("final states: {SETTLED=6}"), out);
        assertTrue(out.contains("ledger " + ledger.toAbsolutePath()), out);
        String sheet = run(0, "ledger", "--file", ledger.toString(), "--account", "buyer:demo");
        assertTrue(sheet.contains("buyer:demo"), sheet);
        assertTrue(sheet.contains("/post") || sheet.contains("/hold"), "the buyer's statement lists its escrow: " + sheet);
    }

    /**
     * The default: a directory and four nodes as child JVMs over loopback mutual TLS; one
     * honest node is killed with SIGKILL a third of the way through, the always-dishonest
     * one is caught, every job is verified, the evidence re-verifies offline, and no child
     * process is left.
     */
    @Test
    void demo_grpcNetwork_killedNodeAndLiarAndEvidenceThatVerifiesOffline(@TempDir Path dir) throws Exception {
        Path ledger = dir.resolve("demo.db");
        String out = run(0, "demo", "--providers", "4", "--jobs", "40", "--seed", "11", "--dishonest", "1.0",
                "--no-progress", "--out", dir.toString(), "--ledger", ledger.toString());
        assertTrue(out.contains("started a directory and 4 provider nodes as child processes"), out);
        assertTrue(out.contains("with SIGKILL after 13 of 40 jobs had ended"), out);
        assertTrue(out.contains("final states: {SETTLED=40}"), out);
        assertTrue(out.contains("RESULT_MISMATCH"), "the always-dishonest provider must be caught: " + out);
        assertTrue(out.matches("(?s).*\\n  system:burn +burn +\\$0\\.[0-9]*[1-9][0-9]* .*"),
                "the liar's stake was slashed and part of it burned: " + out);
        assertTrue(out.matches("(?s).*\\n  sum +\\$0\\.000000\\n.*"), "the balance sheet sums to zero: " + out);
        assertEquals(List.of(), demoChildren(), "every child process has ended");
        slaMatchesTheLedger(out, dir.resolve("sla.jsonl"), ledger);
        List<Path> jobs;
        try (Stream<Path> s = Files.list(dir.resolve("jobs"))) {
            jobs = s.sorted().toList();
        }
        assertEquals(40, jobs.size());
        int checked = 0;
        for (Path job : jobs) {
            String provider = Files.readString(job.resolve("provider.txt")).trim();
            List<String> args = new ArrayList<>(List.of("verify", "--receipt", job.resolve("receipt.json").toString(),
                    "--key", dir.resolve("providers/" + provider + ".pub.pem").toString(),
                    "--wipe", job.resolve("wipe.json").toString(), "--spec", job.resolve("spec.json").toString()));
            List<String> py = new ArrayList<>(List.of("python3", SCRIPT.toString(), job.resolve("receipt.json").toString(),
                    dir.resolve("providers/" + provider + ".pub.pem").toString()));
            for (String kind : List.of("inputs", "outputs")) {
                try (Stream<Path> s = Files.list(job.resolve(kind))) {
                    for (Path f : s.toList()) {
                        String name = f.getFileName().toString().replace(".bin", "");
                        args.add(kind.equals("inputs") ? "--input" : "--output");
                        args.add(name + "=" + f);
                        if (kind.equals("outputs")) {
                            py.add(name + "=" + f);
                        }
                    }
                }
            }
            assertTrue(run(0, args.toArray(String[]::new)).startsWith("VALID"));
            if (checked++ < 5 && pythonWithCryptography()) {
                Process p = new ProcessBuilder(py).redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, p.waitFor(), text);
                assertTrue(text.startsWith("VALID"), text);
            }
        }
        // Every dispute re-checks offline: the signed output fails again.
        List<Path> disputes;
        try (Stream<Path> s = Files.list(dir.resolve("disputes"))) {
            disputes = s.filter(p -> p.toString().endsWith(".json")).toList();
        }
        assertTrue(!disputes.isEmpty());
        for (Path d : disputes) {
            Path folder = Path.of(d.toString().replace(".json", ""));
            Path job = dir.resolve("jobs").resolve(Files.readString(folder.resolve("job.txt")).trim());
            String res = run(0, "verify", "--dispute", d.toString(), "--input", "a=" + job.resolve("inputs/a.bin"),
                    "--input", "b=" + job.resolve("inputs/b.bin"), "--output", "c=" + folder.resolve("outputs/c.bin"));
            assertTrue(res.startsWith("DISPUTE UPHELD"), res);
        }
        // A tampered output is refused with its reason.
        Path job = jobs.get(0);
        Path out0;
        try (Stream<Path> s = Files.list(job.resolve("outputs"))) {
            out0 = s.findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(out0);
        bytes[0] ^= 1;
        Path bad = dir.resolve("tampered.bin");
        Files.write(bad, bytes);
        String provider = Files.readString(job.resolve("provider.txt")).trim();
        String res = run(1, "verify", "--receipt", job.resolve("receipt.json").toString(), "--key",
                dir.resolve("providers/" + provider + ".pub.pem").toString(), "--output",
                out0.getFileName().toString().replace(".bin", "") + "=" + bad);
        assertTrue(res.startsWith("INVALID: OUTPUT_ROOT_MISMATCH"), res);
    }

    private static final java.util.regex.Pattern SLA_ROW = java.util.regex.Pattern.compile(
            "(?m)^  ([0-9a-f]{12}) +(\\d+) +(\\d+) +(\\d+) +(\\d+) +(\\d+) +\\$(\\S+) +\\$(\\S+) +\\$(\\S+)$");

    /**
     * The demo's SLA section against its ledger: the node killed mid-run failed attempts in a
     * period it then breached; each provider's credit paid, as printed, is what the ledger moved
     * to the buyer under that provider's SLA keys, and is what its statements owed; settling the
     * journal again afterwards pays nothing and changes no balance.
     */
    private static void slaMatchesTheLedger(String out, Path journal, Path ledger) {
        java.util.regex.Matcher killed = java.util.regex.Pattern.compile("killed provider \\d+ \\(([0-9a-f]{12})\\)")
                .matcher(out);
        assertTrue(killed.find(), out);
        String victim = killed.group(1);
        java.util.Map<String, Long> credited = new java.util.HashMap<>();
        int credits = 0;
        java.util.List<dev.depin.settlement.Balance> before;
        try (dev.depin.ledger.LedgerReader r = dev.depin.ledger.LedgerReader.sqlite(ledger)) {
            for (dev.depin.settlement.StatementLine l : r.statement(dev.depin.settlement.AccountId.of("buyer:demo"))) {
                if (l.key().value().startsWith("sla/")) {
                    credited.merge(l.key().value().substring(4, 16), l.change(), Long::sum);
                    credits++;
                }
            }
            before = r.balances();
        }
        java.util.regex.Matcher row = SLA_ROW.matcher(out);
        int rows = 0;
        long paidTotal = 0;
        while (row.find()) {
            rows++;
            String provider = row.group(1);
            long owed = dev.depin.money.MicroUsd.ofUsd(row.group(8)).micros();
            long paid = dev.depin.money.MicroUsd.ofUsd(row.group(9)).micros();
            assertEquals(owed, paid, "every credit owed was paid: " + row.group());
            assertEquals(credited.getOrDefault(provider, 0L), paid, "printed vs ledger for " + provider);
            paidTotal += paid;
            if (provider.equals(victim)) {
                assertTrue(Long.parseLong(row.group(5)) >= 1, "the killed node failed attempts: " + row.group());
                assertTrue(Long.parseLong(row.group(6)) >= 1, "and breached its SLA in that period: " + row.group());
            }
        }
        assertEquals(4, rows, "a statement row per provider: " + out);
        assertEquals(credited.values().stream().mapToLong(Long::longValue).sum(), paidTotal);
        // Settling the buyer's journal again pays nothing twice.
        String again = run(0, "sla", "--journal", journal.toString(), "--settle", "--ledger", ledger.toString());
        assertTrue(again.contains("settled: $0.000000 paid now"), again);
        assertEquals(credits, again.lines().filter(l -> l.startsWith("already paid: ")).count(),
                "each credit the demo paid (one per provider and period) is found paid: " + again);
        try (dev.depin.ledger.LedgerReader r = dev.depin.ledger.LedgerReader.sqlite(ledger)) {
            assertEquals(before, r.balances(), "no balance changed");
        }
    }

    @Test
    void verify_badUsage() {
        run(2, "verify", "--receipt", "x.json");
        run(2, "verify");
    }

    private static final Path SCRIPT = Path.of("scripts/verify_receipt.py").toAbsolutePath();

    private static boolean pythonWithCryptography() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import cryptography").redirectErrorStream(true).start();
            return p.waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
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

    @Test
    void demo_badNetwork() {
        PrintStream saved = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            run(2, "demo", "--network", "carrier-pigeon");
        } finally {
            System.setErr(saved);
        }
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("grpc, local"), buf.toString(StandardCharsets.UTF_8));
    }

    /**
     * The demo's own JVM dies mid-run, by SIGTERM (its shutdown hook stops the children) or
     * by SIGKILL (no hook runs: each child sees its standard input close and stops): either
     * way no child process is left behind.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void demo_killedMidRun_leavesNoChildProcess(boolean sigkill, @TempDir Path dir) throws Exception {
        try (ChildCli demo = new ChildCli(dir, "demo", java.util.Map.of(), "demo", "--providers", "1", "--jobs", "400",
                "--dishonest", "0", "--no-progress")) {
            String line;
            do {
                line = demo.nextLine();
                assertTrue(line != null, "the demo ended before its network started: " + demo.stderr());
            } while (!line.startsWith("started a directory"));
            List<ProcessHandle> children = demo.process.descendants().toList();
            assertTrue(children.size() >= 2, "a directory and a node: " + children);
            if (sigkill) {
                demo.process.destroyForcibly();
            } else {
                demo.process.destroy();
            }
            demo.waitFor();
            for (ProcessHandle c : children) {
                c.onExit().get(60, TimeUnit.SECONDS);
                assertFalse(c.isAlive(), c + " outlived the demo");
            }
        }
    }

    /** This JVM's live child processes that run the depin command line. */
    private static List<String> demoChildren() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .map(p -> p.info().commandLine().orElse(""))
                .filter(c -> c.contains(DepinCli.class.getName())).toList();
    }
}
