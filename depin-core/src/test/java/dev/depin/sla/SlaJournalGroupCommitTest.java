package dev.depin.sla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.crypto.CanonicalJson;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.money.MicroUsd;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.AccountId;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's group commit: many threads' jobs appended by one writer, each job's future
 * completed only once its line is on the disk, every line once and in the order handed in, the
 * queue's backpressure, close draining it, a torn tail still cut off, and a real write failure
 * (a child JVM under {@code ulimit -f}, whose writes fail with EFBIG, and a child killed -9)
 * failing the jobs waiting for it, never dropping one silently.
 */
class SlaJournalGroupCommitTest {
    private static final long SEED = 0x6C0_2026_1205L;
    private static final AccountId BUYER = AccountId.of("buyer:group-commit");
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofDays(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofDays(1))));
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

    @BeforeAll
    static void seed() {
        System.out.println("SlaJournalGroupCommitTest seed = " + SEED);
    }

    static ProviderOffer offer(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 1);
        seed[1] = 0x6C;
        try (ProviderNode n = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).sla(TERMS).build()) {
            return n.offer();
        }
    }

    /** A one-attempt job at one of the offers, good, charged an awkward amount. */
    static SlaRecord job(String id, ProviderOffer offer, SplittableRandom rnd) {
        Instant at = T0.plusMillis(rnd.nextInt(3_600_000));
        return new SlaRecord(id, 1 + rnd.nextInt(1 << 20), List.of(new SlaRecord.Attempt(1, offer, at,
                AttemptState.ACCEPTED, at.plusMillis(1 + rnd.nextInt(900)))),
                Map.of(offer.nodeId(), MicroUsd.ofMicros(1 + rnd.nextInt(999_983))));
    }

    /** The job ids of a journal's lines, in file order. */
    private static List<String> jobLines(Path file) throws Exception {
        List<String> ids = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode n = CanonicalJson.readTree(line.getBytes(StandardCharsets.UTF_8));
            if (n.has("type") && n.get("type").textValue().equals("job")) {
                ids.add(n.get("job").textValue());
            }
        }
        return ids;
    }

    @Test
    void recordAsync_manyConcurrentWriters_everyLineOnceInHandedOrder_durableBeforeItsFutureCompletes(
            @TempDir Path dir) throws Exception {
        Path file = dir.resolve("sla.jsonl");
        List<ProviderOffer> offers = List.of(offer(0), offer(1), offer(2));
        int threads = 8;
        int perThread = 300;
        List<String> notInBookWhenCompleted = Collections.synchronizedList(new ArrayList<>());
        Map<String, SlaRecord> all = new java.util.concurrent.ConcurrentHashMap<>();
        // A queue of 5: the writers outrun the disk and wait for room (backpressure) most of the time.
        try (SlaJournal j = SlaJournal.open(file, BUYER, 5)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int tt = t;
                Thread th = new Thread(() -> {
                    SplittableRandom rnd = new SplittableRandom(SEED + tt);
                    List<CompletableFuture<Void>> mine = new ArrayList<>();
                    try {
                        start.await();
                        for (int i = 0; i < perThread; i++) {
                            String id = "t" + tt + "-" + i;
                            SlaRecord r = job(id, offers.get(rnd.nextInt(offers.size())), rnd);
                            all.put(id, r);
                            CompletableFuture<Void> f = j.recordAsync(r);
                            mine.add(f.thenRun(() -> {
                                if (!j.book().contains(id)) {
                                    notInBookWhenCompleted.add(id);
                                }
                            }));
                            if (i % 50 == 49) {
                                f.join(); // now and then, one that waits for its own line
                            }
                        }
                        CompletableFuture.allOf(mine.toArray(CompletableFuture[]::new)).join();
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }, "writer-" + t);
                th.start();
                ts.add(th);
            }
            start.countDown();
            for (Thread th : ts) {
                th.join(TimeUnit.MINUTES.toMillis(2));
                assertFalse(th.isAlive(), th.getName() + " finished");
            }
            assertEquals(List.of(), errors);
            assertEquals(List.of(), notInBookWhenCompleted, "a future completed only once its job was in the book");
            assertEquals(threads * perThread, j.book().jobs());
        }
        List<String> ids = jobLines(file);
        assertEquals(threads * perThread, ids.size());
        assertEquals(threads * perThread, new HashSet<>(ids).size(), "each job's line once");
        int[] next = new int[threads];
        for (String id : ids) {
            int t = Integer.parseInt(id.substring(1, id.indexOf('-')));
            assertEquals("t" + t + "-" + next[t], id, "thread " + t + "'s jobs in the order it handed them in");
            next[t]++;
        }
        SlaJournal.Contents back = SlaJournal.read(file);
        assertFalse(back.tornTail());
        SlaBook expected = new SlaBook();
        all.values().forEach(expected::record);
        for (ProviderOffer o : offers) {
            assertEquals(expected.statements(o.nodeId()), back.book().statements(o.nodeId()));
        }
        assertEquals(offers.size(), Files.readAllLines(file).stream().filter(l -> l.contains("\"type\":\"offer\""))
                .count(), "each offer's line once, whichever batch used it first");
    }

    @Test
    void recordAsync_sameJobTwice_whileTheFirstIsStillQueued_refused(@TempDir Path dir) throws Exception {
        ProviderOffer a = offer(0);
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (SlaJournal j = SlaJournal.open(dir.resolve("sla.jsonl"), BUYER)) {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                fs.add(j.recordAsync(job("job-" + i, a, rnd)));
            }
            // Job 199 is queued or written; either way it counts once.
            CompletionException e = assertThrowsExactly(CompletionException.class,
                    () -> j.recordAsync(job("job-199", a, rnd)).join());
            assertEquals("job job-199 was recorded already: each job counts once", e.getCause().getMessage());
            assertInstanceOf(dev.depin.InvalidArgumentException.class, e.getCause());
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
        }
        assertEquals(200, new HashSet<>(jobLines(dir.resolve("sla.jsonl"))).size());
    }

    @Test
    void close_drainsTheQueue_thenRefusesWithWhatHappened_andReleasesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sla.jsonl");
        ProviderOffer a = offer(0);
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        SlaJournal j = SlaJournal.open(file, BUYER);
        for (int i = 0; i < 500; i++) {
            fs.add(j.recordAsync(job("job-" + i, a, rnd)));
        }
        j.close();
        for (CompletableFuture<Void> f : fs) {
            assertTrue(f.isDone() && !f.isCompletedExceptionally(), "handed in before close, written by close");
        }
        assertEquals(500, jobLines(file).size());
        CompletionException after = assertThrowsExactly(CompletionException.class,
                () -> j.recordAsync(job("late", a, rnd)).join());
        assertEquals("the SLA journal " + file + " is closed: job late was not recorded", after.getCause().getMessage());
        assertEquals("the SLA journal " + file + " is closed: job late2 was not recorded",
                assertThrowsExactly(SlaJournalException.class, () -> j.record(job("late2", a, rnd))).getMessage());
        j.close(); // twice: nothing
        // The lock is released: the file opens again, with every job.
        try (SlaJournal again = SlaJournal.open(file, BUYER)) {
            assertEquals(500, again.book().jobs());
            // Closed from a thread a record completed on (the writer): no deadlock, and the file is closed after.
            CompletableFuture<Void> closedInside = again.recordAsync(job("job-500", a, rnd)).thenRun(again::close);
            closedInside.get(1, TimeUnit.MINUTES);
        }
        try (SlaJournal third = SlaJournal.open(file, BUYER)) {
            assertEquals(501, third.book().jobs());
        }
    }

    @Test
    void open_afterACrashTornLine_cutsItOff_andConcurrentWritersGoOnFromThere(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sla.jsonl");
        ProviderOffer a = offer(0);
        ProviderOffer b = offer(1);
        SplittableRandom rnd = new SplittableRandom(SEED);
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            for (int i = 0; i < 10; i++) {
                j.record(job("before-" + i, a, rnd));
            }
        }
        long complete = Files.size(file);
        // A crash while the writer appended a batch: the last line lacks its end.
        Files.write(file, "{\"attempts\":[{\"dispatched\":\"2026-12-05T10:".getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.APPEND);
        assertTrue(SlaJournal.read(file).tornTail());
        assertEquals(10, SlaJournal.read(file).book().jobs());
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            assertEquals(complete, Files.size(file), "the torn line is cut off");
            List<CompletableFuture<Void>> fs = Collections.synchronizedList(new ArrayList<>());
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int tt = t;
                SplittableRandom r = new SplittableRandom(SEED ^ t);
                Thread th = new Thread(() -> {
                    for (int i = 0; i < 100; i++) {
                        fs.add(j.recordAsync(job("after-" + tt + "-" + i, i % 2 == 0 ? a : b, r)));
                    }
                });
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) {
                th.join();
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
        }
        SlaJournal.Contents after = SlaJournal.read(file);
        assertFalse(after.tornTail());
        assertEquals(410, after.book().jobs());
        assertEquals(410, new HashSet<>(jobLines(file)).size());
    }

    @Test
    void recordAsync_journalClosedUnderAClient_failsTheJobWithItsResultAttached(@TempDir Path dir) {
        // The client-side contract: a job whose SLA record is not kept does not deliver its result silently.
        SlaJournal j = SlaJournal.open(dir.resolve("sla.jsonl"), BUYER);
        j.close();
        try (ProviderNode n = ProviderNode.builder(NodeKeyPair.fromSeed(new byte[32]), new CpuExecutor(1)).sla(TERMS)
                .build();
             dev.depin.node.LocalNetwork net = dev.depin.node.LocalNetwork.of(List.of(n));
             dev.depin.client.DepinClient client = dev.depin.client.DepinClient.builder(net).sla(j).build()) {
            dev.depin.job.JobHandle h = client.submit(dev.depin.job.Job.builder(dev.depin.kernel.BuiltinKernel.SAXPY)
                    .param("n", 3).param("alpha", 2).input("x", new float[] {1, 2, 3}).input("y", new float[] {4, 5, 6})
                    .maxPrice(MicroUsd.ofUsd("1")).timeout(Duration.ofSeconds(60)).build());
            Throwable e = assertThrowsExactly(java.util.concurrent.ExecutionException.class,
                    () -> h.resultAsync().get(1, TimeUnit.MINUTES)).getCause();
            SlaNotRecordedException nr = assertInstanceOf(SlaNotRecordedException.class, e);
            assertEquals("job " + h.jobId() + " ended with a verified result (see result()), but its SLA record was "
                    + "not kept, so its attempts count toward no SLA statement: the SLA journal "
                    + dir.resolve("sla.jsonl") + " is closed: job " + h.jobId() + " was not recorded", nr.getMessage());
            assertEquals(h.jobId(), nr.jobId());
            assertEquals(h.jobId(), nr.result().orElseThrow().jobId());
            assertEquals(6f, nr.result().orElseThrow().floats("out")[0], "2 * 1 + 4: the output, paid for, not lost");

            // A job that fails anyway fails with its own reason; the journal's is added, not lost.
            dev.depin.job.JobHandle rejected = client.submit(dev.depin.job.Job.builder(
                    dev.depin.kernel.BuiltinKernel.SAXPY).param("n", 3).param("alpha", 2)
                    .input("x", new float[] {1, 2, 3}).input("y", new float[] {4, 5, 6})
                    .maxPrice(MicroUsd.ofMicros(0)).timeout(Duration.ofSeconds(60)).build());
            Throwable f = assertThrowsExactly(java.util.concurrent.ExecutionException.class,
                    () -> rejected.resultAsync().get(1, TimeUnit.MINUTES)).getCause();
            dev.depin.job.JobFailedException jf = assertInstanceOf(dev.depin.job.JobFailedException.class, f);
            assertTrue(java.util.Arrays.stream(jf.getSuppressed()).anyMatch(s -> s instanceof SlaJournalException
                    && s.getMessage().equals("the SLA journal " + dir.resolve("sla.jsonl") + " is closed: job "
                    + rejected.jobId() + " was not recorded")), java.util.Arrays.toString(jf.getSuppressed()));
        }
    }

    // ---------------------------------------------------------------- real failures, in a child JVM

    private static Process child(String shell, Path file, String mode) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", shell + "exec \"$0\" \"$@\"", java, "-cp", classPath,
                "-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=error", Child.class.getName(), file.toString(),
                mode));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static boolean linuxWithBash() {
        return System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux")
                && Files.isExecutable(Path.of("/bin/bash"));
    }

    /**
     * The file system refuses the writes: the child runs under {@code ulimit -f 24} (24 KiB), so
     * once the journal reaches that size, write(2) fails with EFBIG (the JVM ignores SIGXFSZ). Every
     * job the child saw recorded is in the file; every job it saw fail is not (the failed write is
     * cut off again); nothing after the failure is taken; the file reopens without the limit.
     */
    @Test
    void recordAsync_fileSystemRefusesTheWrite_failsEveryWaitingJobWithTheReason_andKeepsNoneOfThem(
            @TempDir Path dir) throws Exception {
        assumeTrue(linuxWithBash(), "needs Linux and bash (ulimit -f)");
        Path file = dir.resolve("sla.jsonl");
        Process p = child("ulimit -f 24 || exit 3; ", file, "full");
        Set<String> ok = new LinkedHashSet<>();
        Map<String, String> failed = new HashMap<>();
        List<String> other = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("ok ")) {
                    ok.add(line.substring(3));
                } else if (line.startsWith("fail ")) {
                    String[] parts = line.split(" ", 3);
                    failed.put(parts[1], parts[2]);
                } else {
                    other.add(line);
                }
            }
        }
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), String.join("\n", other));
        assertTrue(ok.size() > 10, "some jobs fit under the limit: " + ok.size());
        assertTrue(failed.size() >= 4, "the failed write's jobs and those after it: " + failed.size());
        String reason = "could not write to the SLA journal " + file + ": java.io.IOException: File too large -- it "
                + "records nothing more; free disk space or fix the file system, then reopen it";
        for (Map.Entry<String, String> f : failed.entrySet()) {
            assertEquals("SlaJournalException: job " + f.getKey() + " was not recorded: " + reason, f.getValue());
        }
        assertTrue(other.contains("after: SlaJournalException: job after was not recorded: " + reason), other.toString());
        SlaJournal.Contents back = SlaJournal.read(file);
        assertFalse(back.tornTail(), "the failed write was cut off");
        assertEquals(ok, new LinkedHashSet<>(jobLines(file)), "exactly the jobs reported recorded, in order");
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            j.record(job("after-reopen", offer(0), new SplittableRandom(SEED)));
            assertEquals(ok.size() + 1, j.book().jobs());
        }
    }

    /** A crash: the child is killed -9 while four threads record; every job it saw recorded survives. */
    @Test
    void recordAsync_processKilledWhileWriting_everyJobReportedRecordedSurvives(@TempDir Path dir) throws Exception {
        assumeTrue(linuxWithBash(), "needs Linux and bash");
        Path file = dir.resolve("sla.jsonl");
        Process p = child("", file, "forever");
        Set<String> ok = new HashSet<>();
        List<String> other = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; ok.size() < 400 && (line = out.readLine()) != null; ) {
                if (line.startsWith("ok ")) {
                    ok.add(line.substring(3));
                } else {
                    other.add(line);
                }
            }
            p.destroyForcibly(); // SIGKILL: no close, no drain (and the child's unread lines are dropped)
            assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        }
        assertEquals(400, Math.min(400, ok.size()), "the child recorded: " + other);
        Set<String> inFile = new HashSet<>(jobLines(file));
        Set<String> lost = new HashSet<>(ok);
        lost.removeAll(inFile);
        assertEquals(Set.of(), lost, "jobs reported recorded but not in the file");
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            assertEquals(inFile.size(), j.book().jobs());
            j.record(job("after-crash", offer(0), new SplittableRandom(SEED)));
        }
        assertFalse(SlaJournal.read(file).tornTail());
    }

    /** The child process of the two tests above. */
    public static final class Child {
        private Child() {
        }

        /**
         * @param args the journal file, and "full" (record until a write fails) or "forever"
         * @throws Exception on a failure the parent should see
         */
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            boolean forever = args[1].equals("forever");
            List<ProviderOffer> offers = List.of(offer(0), offer(1));
            AtomicInteger n = new AtomicInteger();
            CountDownLatch failedOnce = new CountDownLatch(1);
            try (SlaJournal j = SlaJournal.open(file, BUYER)) {
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    SplittableRandom rnd = new SplittableRandom(SEED + t);
                    Thread th = new Thread(() -> {
                        List<CompletableFuture<Void>> mine = new ArrayList<>();
                        while (forever || failedOnce.getCount() > 0) {
                            String id = "job-" + n.getAndIncrement();
                            CompletableFuture<Void> f = j.recordAsync(job(id, offers.get(rnd.nextInt(2)), rnd));
                            mine.add(f.whenComplete((v, x) -> report(id, x, failedOnce)));
                            if (mine.size() % 8 == 0) {
                                f.exceptionally(x -> null).join();
                            }
                        }
                        mine.forEach(f -> f.exceptionally(x -> null).join());
                    });
                    th.start();
                    ts.add(th);
                }
                for (Thread th : ts) {
                    th.join();
                }
                try {
                    j.record(job("after", offers.get(0), new SplittableRandom(SEED)));
                    say("after: recorded");
                } catch (SlaJournalException e) {
                    say("after: SlaJournalException: " + e.getMessage());
                }
            }
        }

        private static void report(String id, Throwable x, CountDownLatch failedOnce) {
            if (x == null) {
                say("ok " + id);
            } else {
                Throwable c = x instanceof CompletionException && x.getCause() != null ? x.getCause() : x;
                say("fail " + id + " " + c.getClass().getSimpleName() + ": " + c.getMessage());
                failedOnce.countDown();
            }
        }

        private static synchronized void say(String line) {
            System.out.println(line);
            System.out.flush();
        }
    }
}
