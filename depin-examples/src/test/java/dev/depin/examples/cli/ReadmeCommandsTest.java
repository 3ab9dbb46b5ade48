package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command README.md shows, run as a user would: in a working directory of its own, with
 * the ports and files the README names (a port that is busy on this machine is replaced by a
 * free one everywhere, which the README says it does), each as a JVM of its own. A
 * {@code depin ... &} line is a server: it must print its one line and keep running until the
 * walkthrough's {@code kill}, then stop cleanly. Every other command must exit with status 0
 * (or the {@code # exit N} its line states). No output may hold a stack trace. Commands with
 * placeholders ({@code FILE}, {@code HOST:PORT}, {@code [--option]}) are synopses: each option
 * they name must exist in the command's {@code --help}, as must a command named bare in prose. Then every {@code --help} is read and
 * each of its examples run the same way. A command shown more than once outside the walkthrough,
 * and each distinct {@code --help}, runs once.
 */
class ReadmeCommandsTest {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final String JAR = "java -jar depin-cli/target/depin.jar";
    /** An upper-case word of three or more letters, brackets, angle brackets or an ellipsis: a synopsis. */
    private static final Pattern PLACEHOLDER = Pattern.compile("(?<![-\\w])[A-Z][A-Z_]{2,}(?![\\w])|[\\[<…]");
    private static final Pattern STACK_TRACE = Pattern.compile("(?m)^\\s+at [\\w$.]+\\(|Exception in thread|"
            + "^\\S+(Exception|Error): ");
    private static final Pattern SERVER_LINE = Pattern.compile("^depin (node|directory|ledger) [0-9a-f]{64} .*");
    private static final Pattern PORT = Pattern.compile("(--(?:metrics-|dashboard-)?port[ =]|127\\.0\\.0\\.1:)(\\d{4,5})\\b");
    private static final Pattern EXPECTED_STATUS = Pattern.compile("\\s+#\\s*exit (\\d+)\\s*$");
    private static final Pattern OPTION = Pattern.compile("(?<![\\w-])(--[a-z][a-z0-9-]*)");

    /** Ports the README names, and what this run uses for each (itself unless busy). */
    private final Map<String, String> ports = new TreeMap<>();
    private final List<Server> servers = new ArrayList<>();
    /**
     * Each distinct {@code --help} command's result: the same help is asked for by many synopses
     * and examples, and one JVM per distinct command answers for all of them.
     */
    private final Map<List<String>, Result> helps = new java.util.HashMap<>();
    private int runs;

    private record Server(String line, Process process, Path out, Path err) {
    }

    private record Result(int status, String out, String err) {
    }

    @Test
    void everyReadmeCommand_runsAsWritten(@TempDir Path work) throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
        List<String> scripts = new ArrayList<>();
        List<String> singles = new ArrayList<>();
        collect(readme, scripts, singles);
        assertFalse(scripts.isEmpty(), "README.md shows the provider's path as a ```sh block");
        assertTrue(singles.stream().anyMatch(c -> c.startsWith("node --port 7001 --key node.key --directory 127.0.0.1:7000")),
                "the README names the node's first command: " + singles);
        try {
            for (String script : scripts) {
                runScript(script, work);
            }
            // The single commands run where the walkthrough left its files (keys, ledger.db); a
            // command shown twice (in the README and as a --help example, say) runs once.
            Set<String> ran = new java.util.HashSet<>();
            for (String command : singles) {
                if (ran.add(command.strip())) {
                    runSingle(command, work);
                    stopServers(true);
                }
            }
            for (String example : helpExamples(work)) {
                if (ran.add(example.strip())) {
                    runSingle(example, work);
                    stopServers(true);
                }
            }
        } finally {
            stopServers(false);
        }
        System.out.println("ReadmeCommandsTest: ran " + runs + " commands (" + helps.size() + " distinct --help); ports "
                + ports);
    }

    /** Every ```sh block is a script; every other depin command line or inline `depin ...` span is a single command. */
    private static void collect(String readme, List<String> scripts, List<String> singles) {
        Matcher fence = Pattern.compile("(?ms)^```(\\w*)\\n(.*?)^```").matcher(readme);
        StringBuilder prose = new StringBuilder();
        int last = 0;
        while (fence.find()) {
            prose.append(readme, last, fence.start());
            last = fence.end();
            String body = fence.group(2).replaceAll("\\\\\\n\\s*", " ");
            if (fence.group(1).equals("sh")) {
                scripts.add(body);
                continue;
            }
            if (!fence.group(1).isEmpty()) {
                continue; // java, xml
            }
            // A block that starts from an account's secret (export AKASH_API_KEY=...) needs that
            // account and its service: its commands are checked as synopses.
            boolean needsAccount = Pattern.compile("(?m)^export \\w+=\\.\\.\\.$").matcher(body).find();
            for (String line : body.split("\n")) {
                for (String part : line.split("&&")) {
                    String p = part.strip();
                    if (p.startsWith(JAR + " ")) {
                        singles.add(p.substring(JAR.length() + 1) + (needsAccount ? " [needs an account]" : ""));
                    }
                }
            }
        }
        prose.append(readme.substring(last));
        Matcher span = Pattern.compile("`depin ([a-z][^`]*)`").matcher(prose);
        while (span.find()) {
            singles.add(span.group(1));
        }
        Matcher jarSpan = Pattern.compile("`" + Pattern.quote(JAR) + " ([^`]*)`").matcher(prose);
        while (jarSpan.find()) {
            singles.add(jarSpan.group(1));
        }
    }

    private void runScript(String script, Path work) throws Exception {
        boolean aliased = false;
        for (String raw : script.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("alias depin=")) {
                assertEquals("alias depin='" + JAR + "'", line, "the walkthrough's alias runs the jar the build makes");
                aliased = true;
                continue;
            }
            if (line.startsWith("kill ")) {
                assertEquals("kill " + String.join(" ", jobSpecs()), line, "the walkthrough stops what it started");
                stopServers(true);
                continue;
            }
            if (line.startsWith("depin ")) {
                assertTrue(aliased, "'depin' is defined before its first use: " + line);
                runSingle(line.substring("depin ".length()), work);
                continue;
            }
            Matcher st = EXPECTED_STATUS.matcher(line);
            int expected = st.find() ? Integer.parseInt(st.group(1)) : 0;
            String shell = substitutePorts(st.reset().replaceAll(""));
            Process p = new ProcessBuilder("bash", "-c", shell).directory(work.toFile()).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "'" + line + "' ended");
            runs++;
            assertEquals(expected, p.exitValue(), "'" + line + "' (run as '" + shell + "'): " + text);
        }
        assertTrue(servers.isEmpty(), "the walkthrough stops every server it starts");
    }

    private List<String> jobSpecs() {
        List<String> specs = new ArrayList<>();
        for (int i = 1; i <= servers.size(); i++) {
            specs.add("%" + i);
        }
        return specs;
    }

    private void runSingle(String command, Path work) throws Exception {
        Matcher st = EXPECTED_STATUS.matcher(command);
        int expected = st.find() ? Integer.parseInt(st.group(1)) : 0;
        String cmd = st.reset().replaceAll("").strip();
        boolean background = cmd.endsWith("&");
        if (background) {
            cmd = cmd.substring(0, cmd.length() - 1).strip();
        }
        if (PLACEHOLDER.matcher(cmd).find() || cmd.matches("[a-z]+")) {
            // A synopsis, or a command named in prose ("`depin ledger` reads ..."): its help must list it.
            checkSynopsis(cmd, work);
            return;
        }
        Path redirect = null;
        Matcher to = Pattern.compile("\\s+>\\s*(\\S+)$").matcher(cmd);
        if (to.find()) {
            redirect = work.resolve(to.group(1));
            cmd = cmd.substring(0, to.start());
        }
        List<String> args = words(substitutePorts(cmd));
        String sub = args.get(0);
        boolean server = sub.equals("node") || sub.equals("directory")
                || (sub.equals("ledger") && args.size() > 1 && args.get(1).equals("serve"));
        if (server && !args.contains("--help")) {
            startServer(cmd, args, work);
            if (!background) {
                // A server shown on its own: it starts, says so, and stops on SIGTERM.
                stopServers(true);
            }
            return;
        }
        assertFalse(background, "only servers run in the background: " + cmd);
        Result r = run(work, args, 600);
        if (redirect != null) {
            Files.writeString(redirect, r.out(), StandardCharsets.UTF_8);
        }
        assertEquals(expected, r.status(), "'depin " + cmd + "' exit status; stdout:\n" + r.out() + "\nstderr:\n" + r.err());
        assertNoStackTrace(cmd, r.out() + r.err());
        if (expected == 0) {
            assertFalse(r.out().isBlank(), "'depin " + cmd + "' printed nothing");
        }
    }

    /** A synopsis: each option it names is one of its command's options. */
    private void checkSynopsis(String cmd, Path work) throws Exception {
        List<String> args = words(cmd);
        // The command path: the leading words before the first option (capacity quote, verify).
        List<String> path = new ArrayList<>();
        for (String w : args) {
            if (!w.matches("[a-z][a-z-]*") || path.size() == 2) {
                break;
            }
            path.add(w);
        }
        String sub = String.join(" ", path);
        List<String> helpArgs = new ArrayList<>(path);
        helpArgs.add("--help");
        Result help = run(work, helpArgs, 60);
        if (path.size() == 2 && help.status() != 0) {
            // The second word was an argument, not a subcommand.
            path.remove(1);
            sub = path.get(0);
            help = run(work, List.of(sub, "--help"), 60);
        }
        assertEquals(0, help.status(), "'depin " + sub + " --help': " + help.err());
        Matcher m = OPTION.matcher(cmd);
        while (m.find()) {
            assertTrue(help.out().contains(m.group(1)), "'depin " + cmd + "' names " + m.group(1)
                    + ", which 'depin " + sub + " --help' does not list:\n" + help.out());
        }
    }

    /** Every command's --help, and the examples each lists. */
    private List<String> helpExamples(Path work) throws Exception {
        Result top = run(work, List.of("--help"), 60);
        assertEquals(0, top.status(), top.err());
        assertNoStackTrace("--help", top.out() + top.err());
        Matcher cm = Pattern.compile("(?m)^  ([a-z]+)\\s{2,}").matcher(top.out());
        Set<String> subs = new LinkedHashSet<>();
        while (cm.find()) {
            subs.add(cm.group(1));
        }
        assertTrue(subs.containsAll(List.of("demo", "node", "directory", "verify", "earnings", "ledger")), subs.toString());
        List<String> examples = new ArrayList<>();
        Map<String, Integer> perCommand = new LinkedHashMap<>();
        for (String sub : subs) {
            if (sub.equals("help")) {
                continue;
            }
            Result h = run(work, List.of(sub, "--help"), 60);
            assertEquals(0, h.status(), "'depin " + sub + " --help': " + h.err());
            assertNoStackTrace(sub + " --help", h.out() + h.err());
            int at = h.out().indexOf("\nExamples:\n");
            int n = 0;
            if (at >= 0) {
                for (String line : h.out().substring(at + 11).split("\n")) {
                    if (!line.startsWith("  ")) {
                        break;
                    }
                    String ex = line.strip();
                    if (ex.startsWith("depin ")) {
                        examples.add(ex.substring(6));
                        n++;
                    }
                }
            }
            perCommand.put(sub, n);
        }
        for (String sub : List.of("demo", "node", "directory", "earnings", "ledger", "verify")) {
            assertTrue(perCommand.getOrDefault(sub, 0) > 0, "'depin " + sub + " --help' shows an example: " + perCommand);
        }
        return examples;
    }

    private void startServer(String cmd, List<String> args, Path work) throws Exception {
        int n = servers.size() + 1;
        Path out = work.resolve("server-" + runs + ".out");
        Path err = work.resolve("server-" + runs + ".err");
        Process p = command(args, work).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        runs++;
        Server s = new Server(cmd, p, out, err);
        servers.add(s);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            String text = Files.readString(out, StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            if (nl >= 0) {
                String first = text.substring(0, nl);
                assertTrue(SERVER_LINE.matcher(first).matches(), "'depin " + cmd + "' says what it serves: " + first
                        + "\nstderr: " + Files.readString(err));
                break;
            }
            if (!p.isAlive()) {
                fail("'depin " + cmd + "' (server %" + n + ") exited with status " + p.exitValue() + ": "
                        + Files.readString(err) + text);
            }
            if (System.nanoTime() > until) {
                fail("'depin " + cmd + "' printed no line within 120 s: " + Files.readString(err));
            }
            Thread.sleep(50);
        }
    }

    /** SIGTERM to every server, newest first; each must stop and say so. */
    private void stopServers(boolean check) throws Exception {
        for (int i = servers.size() - 1; i >= 0; i--) {
            Server s = servers.get(i);
            s.process().destroy();
            boolean ended = s.process().waitFor(60, TimeUnit.SECONDS);
            if (!ended) {
                s.process().destroyForcibly();
                s.process().waitFor(30, TimeUnit.SECONDS);
            }
            if (check) {
                String out = Files.readString(s.out(), StandardCharsets.UTF_8);
                String err = Files.readString(s.err(), StandardCharsets.UTF_8);
                assertTrue(ended, "'depin " + s.line() + "' stops on SIGTERM");
                assertTrue(out.contains(" stopped"), "'depin " + s.line() + "' says it stopped: " + out + err);
                assertNoStackTrace(s.line(), out + err);
            }
        }
        servers.clear();
    }

    private Result run(Path work, List<String> args, int timeoutS) throws Exception {
        if (args.get(args.size() - 1).equals("--help")) {
            Result known = helps.get(args);
            if (known == null) {
                known = launch(work, args, timeoutS);
                helps.put(List.copyOf(args), known);
            }
            return known;
        }
        return launch(work, args, timeoutS);
    }

    private Result launch(Path work, List<String> args, int timeoutS) throws Exception {
        Path out = work.resolve("run-" + runs + ".out");
        Path err = work.resolve("run-" + runs + ".err");
        runs++;
        Process p = command(args, work).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("'depin " + String.join(" ", args) + "' did not end within " + timeoutS + " s: "
                    + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /** The jar is built after the tests: the same main class on the test's class path stands in for it. */
    private static ProcessBuilder command(List<String> args, Path work) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                DepinCli.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
        pb.environment().put("HOME", work.toString()); // ~/.depin stays inside the test
        return pb;
    }

    private static void assertNoStackTrace(String cmd, String text) {
        Matcher m = STACK_TRACE.matcher(text);
        assertFalse(m.find(), "'depin " + cmd + "' printed a stack trace:\n" + text);
    }

    /** Splits on spaces, honouring single quotes (as a shell would, for what the README uses). */
    private static List<String> words(String cmd) {
        List<String> w = new ArrayList<>();
        Matcher m = Pattern.compile("'([^']*)'|(\\S+)").matcher(cmd);
        while (m.find()) {
            w.add(m.group(1) != null ? m.group(1) : m.group(2));
        }
        return w;
    }

    /** The README's ports as written, each replaced by a free one only if it is busy here. */
    private String substitutePorts(String cmd) throws IOException {
        Matcher m = PORT.matcher(cmd);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String port = m.group(2);
            String use = ports.get(port);
            if (use == null) {
                use = free(Integer.parseInt(port)) ? port : String.valueOf(anyFreePort());
                ports.put(port, use);
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + use));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertNotNull(s);
            return true;
        } catch (IOException busy) {
            return false;
        }
    }

    private static int anyFreePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
