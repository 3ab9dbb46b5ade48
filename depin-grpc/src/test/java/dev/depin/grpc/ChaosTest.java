package dev.depin.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.JobEvent;
import dev.depin.job.JobResult;
import dev.depin.node.ProviderNode;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 1,000 small jobs through four provider nodes while faults are injected: node A is reached
 * through a proxy that drops connections at random (the buyer's directory too), node B
 * stalls some jobs (accepts them and never answers until cancelled), node C runs in a JVM of
 * its own and is killed with SIGKILL a quarter of the way in, node D is sound. No job is lost; every result is checked against
 * our own computation; and each job ran to completion at the nodes exactly once, except
 * where the buyer gave up on an attempt (then at most once per attempt it made).
 */
class ChaosTest {
    private static final long SEED = 0x5EED1000L;
    private static final int JOBS = 1_000;
    private static final int IN_FLIGHT = 64;

    @Test
    void thousandJobs_dropsStallsAndAKill_noneLostEachCompletedOnceAndVerified() throws Exception {
        System.out.println("ChaosTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        Map<String, AtomicInteger> executions = FaultyExecutor.counts();
        NodeKeyPair dirKey = NodeKeyPair.generate();
        List<NodeKeyPair> keys = List.of(NodeKeyPair.generate(), NodeKeyPair.generate(), NodeKeyPair.generate());
        List<FaultyExecutor> executors = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            // Node B (1) stalls about one job in 40 of those it is given, chosen by the job's inputs.
            boolean stalls = i == 1;
            executors.add(new FaultyExecutor(new CpuExecutor(1), executions,
                    k -> stalls && Integer.parseInt(k.substring(0, 4), 16) % 40 == 0));
        }
        List<ProviderServer> servers = new ArrayList<>();
        AtomicInteger ranAtC = new AtomicInteger();
        Process c = null;
        Thread readC = null;
        // The directory's clock stands still: no listing lapses during the test. With a 2 s time to
        // live on the wall clock, a loaded machine (load 20-30) could hold back the renewals of all
        // three in-process nodes for longer than that, and a job whose attempt stalled at node B
        // then found no offer at all for its next round and failed. Node C stays listed after its
        // SIGKILL, as a dead node does until its listing lapses: the buyer's attempts there fail
        // and go elsewhere.
        Clock dirClock = Clock.fixed(Instant.now(), ZoneOffset.UTC);
        try (DirectoryServer dir = DirectoryServer.builder(dirKey).listingTtl(Duration.ofSeconds(2)).clock(dirClock)
                .start();
             FaultyProxy toA = new FaultyProxy(SEED + 1);
             FaultyProxy toDir = new FaultyProxy(SEED + 2).forwardTo(dir.port())) {
            byte[] seedC = new byte[32];
            new SplittableRandom(SEED + 3).nextBytes(seedC);
            c = new ProcessBuilder(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                    "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                    "-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", ProviderProcess.class.getName(),
                    dir.address(), Hex.encode(seedC), "count", "300")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            for (int i = 0; i < 3; i++) {
                ProviderServer.Builder b = ProviderServer.builder(ProviderNode.builder(keys.get(i), executors.get(i))
                                .concurrency(4, 1024).build(), keys.get(i))
                        .directory(dir.address(), dir.publicKey()).renewEvery(Duration.ofMillis(300));
                if (i == 0) {
                    b.advertise(toA.address());
                }
                servers.add(b.start());
            }
            toA.forwardTo(servers.get(0).port());
            servers.forEach(ProviderServer::renewNow);
            BufferedReader fromC = new BufferedReader(new InputStreamReader(c.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            while ((line = fromC.readLine()) != null && !line.startsWith("LISTENING ")) {
                // the JVM starting
            }
            assertTrue(line != null, "node C never served");
            readC = new Thread(() -> {
                try {
                    for (String l; (l = fromC.readLine()) != null; ) {
                        if (l.startsWith("RAN ")) {
                            executions.computeIfAbsent(l.substring(4), k -> new AtomicInteger()).incrementAndGet();
                            ranAtC.incrementAndGet();
                        }
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            }, "chaos-node-c-output");
            readC.start();
            toA.dropAtRandom(0.7, 300_000);
            toDir.dropAtRandom(0.5, 20_000);

            List<Saxpy> jobs = new ArrayList<>();
            List<CompletableFuture<JobResult>> results = new ArrayList<>();
            AtomicInteger done = new AtomicInteger();
            Semaphore window = new Semaphore(IN_FLIGHT);
            long started = System.nanoTime();
            // The attempt timeout is how the buyer gets over node B's stalls, and it runs on the wall
            // clock: 20 s, not 3. With 64 jobs in flight, an honest attempt waits behind a node's
            // queue, and on a loaded machine (load ~30 on 2 cores) that took more than 3 s: a job
            // whose attempts all timed out so ran out of providers to try and failed.
            try (GrpcNetwork net = GrpcNetwork.builder().directory(toDir.address(), dir.publicKey()).build();
                 DepinClient client = DepinClient.builder(net).maxAttempts(8).attemptTimeout(Duration.ofSeconds(20))
                         .build()) {
                for (int i = 0; i < JOBS; i++) {
                    int n = switch (i % 10) {
                        case 0 -> 1;
                        case 1 -> 255;
                        case 2 -> 257;
                        default -> 1 + rnd.nextInt(512);
                    };
                    Saxpy s = new Saxpy(rnd, n, Duration.ofSeconds(120));
                    jobs.add(s);
                    window.acquire();
                    CompletableFuture<JobResult> f = client.submit(s.job).resultAsync();
                    f.whenComplete((r, e) -> {
                        window.release();
                        done.incrementAndGet();
                    });
                    results.add(f);
                    // SIGKILL: node C dies with jobs in flight, once a quarter of the jobs are submitted
                    // and it has run at least one (under load its first jobs can come late).
                    if (c.isAlive() && i >= JOBS / 4 && ranAtC.get() > 0) {
                        c.destroyForcibly();
                    }
                }
                c.destroyForcibly(); // if node C ran nothing before the last submission, the check below says so
                CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).exceptionally(e -> null)
                        .get(300, TimeUnit.SECONDS);
            }
            long wallMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(c.waitFor(30, TimeUnit.SECONDS), "node C still runs");
            readC.join(30_000); // every RAN line node C wrote before it died is counted
            assertTrue(!readC.isAlive(), "node C's output never ended");

            int attempts = 0;
            int rescheduled = 0;
            int executed = 0;
            for (int i = 0; i < JOBS; i++) {
                JobResult r = results.get(i).join(); // a lost or failed job throws here
                Saxpy s = jobs.get(i);
                s.check(r);
                Set<Integer> dispatched = new HashSet<>();
                for (JobEvent e : r.history()) {
                    if (e.isAttemptEvent() && e.attemptState() == AttemptState.DISPATCHED) {
                        dispatched.add(e.attempt());
                    }
                }
                AtomicInteger ran = executions.get(s.key());
                int runs = ran == null ? 0 : ran.get();
                assertTrue(runs >= 1, "job " + i + " accepted but never ran at a node");
                assertTrue(runs <= dispatched.size(), "job " + i + " ran " + runs + " times for " + dispatched.size()
                        + " attempt(s): " + r.history());
                if (dispatched.size() == 1) {
                    assertEquals(1, runs, "job " + i + " had one attempt and ran " + runs + " times");
                }
                attempts += dispatched.size();
                rescheduled += dispatched.size() > 1 ? 1 : 0;
                executed += runs;
            }
            long completedAtNodes = 0;
            for (ProviderServer s : servers) {
                completedAtNodes += s.node().completedCount();
            }
            FaultyExecutor b = executors.get(1);
            // The buyer's cancels of the stalled attempts reach node B (before any node is closed).
            assertTrue(FaultyExecutor.await(b.cancelledStalls, b.stalled.get(), 60),
                    b.cancelledStalls + " of " + b.stalled + " stalled jobs cancelled at node B");
            System.out.printf("ChaosTest: %d jobs in %d ms, %d attempts, %d rescheduled, %d executions, %d completed "
                            + "at nodes A, B and D, %d connections to A cut, %d to the directory cut, %d stalled, %d run "
                            + "at node C before its SIGKILL%n", JOBS, wallMs, attempts, rescheduled, executed,
                    completedAtNodes, toA.cuts.get(), toDir.cuts.get(), b.stalled.get(), ranAtC.get());
            assertTrue(completedAtNodes + ranAtC.get() >= JOBS && completedAtNodes <= executed - ranAtC.get(),
                    completedAtNodes + " completions at nodes A, B and D and " + ranAtC + " runs at node C for "
                            + executed + " executions");
            // The faults did happen, so the test is not vacuous.
            assertTrue(toA.cuts.get() > 0, "no connection to node A was dropped");
            assertTrue(b.stalled.get() > 0, "node B stalled no job");
            assertTrue(rescheduled > 0, "no job was rescheduled");
            assertTrue(ranAtC.get() > 0, "node C ran no job before it was killed");
        } finally {
            servers.forEach(ProviderServer::close);
            if (c != null) {
                c.destroyForcibly();
                c.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
