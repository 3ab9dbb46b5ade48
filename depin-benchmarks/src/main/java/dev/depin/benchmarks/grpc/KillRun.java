package dev.depin.benchmarks.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.ClaimAgent;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.LedgerServer;
import dev.depin.grpc.ProviderServer;
import dev.depin.grpc.RemoteSettlement;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.ledger.JdbcLedger;
import dev.depin.ledger.LedgerAudit;
import dev.depin.ledger.LedgerReader;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.sqlite.SQLiteConfig;

/**
 * kill -9 across the three processes that hold money: a buyer paying through the settlement
 * service, three private provider nodes (hold certificates required) and the service itself,
 * each in a JVM of its own. Each trial starts a buyer with a batch of escrowed jobs and, once
 * some have settled, kills one process with SIGKILL — the buyer, a node or the service, in
 * turn — and restarts a killed node or service on the same port (and the service on the same
 * SQLite file). After each trial the ledger is read from its file and checked:
 * <ul>
 *   <li>no money lost or made: every account's posted balance sums to zero, nothing held
 *       beyond the open holds, and the ledger's own audit (each hold resolved once, by one
 *       post, void or expiry) is sound;</li>
 *   <li>no hold open past its expiry + 1 s: open holds are read after the trial, and every
 *       hold the ledger expired was expired within 1 s of its expiry by the ledger's own
 *       timestamps;</li>
 *   <li>no work left unpaid by a vanished buyer: no hold whose job a node completed (each node
 *       prints the holds it worked under) expired; the node's {@code ClaimAgent} claims what its
 *       buyer did not post, and a claimed hold is posted by the ledger within 1 s of its dispute
 *       window's end (a hold the buyer voided after the work — a job it gave up on — is counted,
 *       not a violation: that is the exposure docs/decisions.md accepts);</li>
 *   <li>no job paid twice: the audit's rule that each hold is resolved once, by one operation,
 *       and that a post never pays more than its hold.</li>
 * </ul>
 * Each violation is reported once, in the trial after which it was first seen.
 * Prints one line per trial and a JSON summary. Usage:
 * {@code java -cp depin-benchmarks/target/benchmarks.jar dev.depin.benchmarks.grpc.KillRun
 * [trials (50)] [jobs per trial (24)] [seed]}. A run of 50 trials takes about 15 minutes on
 * 2 cores. Not a test: it kills processes for minutes; {@code docs/benchmarks.md} records runs.
 */
public final class KillRun {
    private static final AccountId BUYER = AccountId.of("buyer:kill-run");
    private static final String CHILD_HEAP = "-Xmx256m";
    private static final Duration JOB_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration GRACE = Duration.ofSeconds(1);
    private static final int IN_FLIGHT = 8;
    /** The service's dispute window: a claim posts this long after it is filed. */
    private static final Duration WINDOW = Duration.ofSeconds(2);

    private KillRun() {
    }

    /**
     * @param args {@code [trials] [jobs per trial] [seed]}, or a child's role and its arguments
     * @throws Exception on a harness failure (a child that does not start, an I/O error)
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("service")) {
            service(args);
        } else if (args.length > 0 && args[0].equals("node")) {
            node(args);
        } else if (args.length > 0 && args[0].equals("buyer")) {
            buyer(args);
        } else {
            int trials = args.length > 0 ? Integer.parseInt(args[0]) : 50;
            int jobs = args.length > 1 ? Integer.parseInt(args[1]) : 24;
            long seed = args.length > 2 ? Long.parseLong(args[2]) : 0x1C11_2026_1205L;
            System.exit(run(trials, jobs, seed) ? 0 : 1);
        }
    }

    // ---- children -------------------------------------------------------------------------

    /** {@code service FILE PORT LEDGER_SEED BUYER_PUB}: the settlement service on an SQLite file. */
    private static void service(String[] a) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(a[3]));
        JdbcLedger ledger = JdbcLedger.builder().sqlite(Path.of(a[1])).certifyHolds(key).disputeWindow(WINDOW)
                .open();
        LedgerServer server = LedgerServer.builder(ledger, key, LedgerAccess.builder().operator(key.publicKey())
                        .grant(NodePublicKey.of(Hex.decode(a[4])), BUYER).build())
                .listen("127.0.0.1", Integer.parseInt(a[2])).start();
        System.out.println("SERVING " + server.address());
        System.out.flush();
        server.awaitTermination();
    }

    /**
     * {@code node SEED PORT DIRECTORY LEDGER_PUB PRICE SERVICE}: a private provider node that
     * claims, through the service, the holds its buyers leave unposted.
     */
    private static void node(String[] a) throws InterruptedException {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(a[1]));
        NodePublicKey ledgerKey = NodePublicKey.of(Hex.decode(a[4]));
        RemoteSettlement ledger = RemoteSettlement.builder(key, a[6], ledgerKey).connect();
        ClaimAgent claims = ClaimAgent.builder(ledger).delay(Duration.ofSeconds(1)).lead(Duration.ofSeconds(2))
                .build();
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(Long.parseLong(a[5])), MicroUsd.ofMicros(1_000)))
                .requireHoldCertificates(ledgerKey).onPaidAttempt(paid -> {
                    // Tells the harness which holds this node did the work for, then hands it to the claimer.
                    synchronized (System.out) {
                        System.out.println("PAID " + paid.certificate().hold().value());
                        System.out.flush();
                    }
                    claims.accept(paid);
                }).build();
        ProviderServer server = ProviderServer.builder(node, key).listen("127.0.0.1", Integer.parseInt(a[2]))
                .directory(a[3]).renewEvery(Duration.ofSeconds(2)).start();
        server.renewNow();
        System.out.println("SERVING " + server.address());
        System.out.flush();
        server.awaitTermination();
    }

    /**
     * {@code buyer SEED DIRECTORY SERVICE LEDGER_PUB TRIAL JOBS RANDOM_SEED}: submits the batch,
     * prints {@code SETTLED id} or {@code FAILED id reason} per job, then {@code DONE}.
     */
    private static void buyer(String[] a) throws Exception {
        NodeKeyPair key = NodeKeyPair.fromSeed(Hex.decode(a[1]));
        int jobs = Integer.parseInt(a[6]);
        SplittableRandom rnd = new SplittableRandom(Long.parseLong(a[7]));
        try (RemoteSettlement ledger = RemoteSettlement.builder(key, a[3], NodePublicKey.of(Hex.decode(a[4])))
                     .callTimeout(Duration.ofSeconds(20)).connect();
             GrpcNetwork net = GrpcNetwork.builder().identity(key).directory(a[2]).build();
             DepinClient client = DepinClient.builder(net).maxAttempts(4).escrow(Escrow.builder(ledger, BUYER)
                     .session("trial-" + a[5]).expiryGrace(GRACE).build()).build()) {
            // A few in flight at a time, each printed as it ends, so that a kill finds holds open.
            Semaphore inFlight = new Semaphore(IN_FLIGHT);
            List<JobHandle> handles = new ArrayList<>();
            for (int j = 0; j < jobs; j++) {
                int n = 1 + rnd.nextInt(200_000);
                float[] x = new float[n];
                float[] y = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = rnd.nextInt(-100, 101);
                    y[i] = rnd.nextInt(-100, 101);
                }
                inFlight.acquire();
                JobHandle h = client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3f)
                        .input("x", x).input("y", y).verification(VerificationPolicy.spotCheck(1.0))
                        .maxPrice(MicroUsd.ofMicros(200_000)).timeout(JOB_TIMEOUT).build());
                handles.add(h);
                h.resultAsync().whenComplete((r, e) -> {
                    synchronized (System.out) {
                        System.out.println(r != null ? "SETTLED " + r.jobId() + " " + r.cost().micros()
                                : "FAILED " + h.jobId() + " " + String.valueOf(e.getMessage()).replace('\n', ' '));
                        System.out.flush();
                    }
                    inFlight.release();
                });
            }
            for (JobHandle h : handles) {
                try {
                    h.result();
                } catch (JobFailedException e) {
                    // printed as it ended
                }
            }
        }
        System.out.println("DONE");
        System.out.flush();
    }

    // ---- the harness ----------------------------------------------------------------------

    /** Holds whose job a node completed (its {@code PAID} lines), from every node, ever. */
    private static final Set<String> WORKED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static final class Child {
        final List<String> command;
        Process process;
        BufferedReader out;

        Child(List<String> command) {
            this.command = command;
        }

        /** Starts it and waits for its {@code SERVING} line. */
        Child start() throws IOException {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            if (line == null || !line.startsWith("SERVING ")) {
                process.destroyForcibly();
                throw new IOException("child " + command.subList(command.indexOf(KillRun.class.getName()) + 1,
                        command.size()) + " did not start: it said " + line);
            }
            Thread drain = new Thread(() -> {
                try {
                    String l;
                    while ((l = out.readLine()) != null) {
                        if (l.startsWith("PAID ")) {
                            WORKED.add(l.substring(5));
                        }
                    }
                } catch (IOException e) {
                    // it died
                }
            }, "drain");
            drain.setDaemon(true);
            drain.start();
            return this;
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL on Unix
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static List<String> java(String... args) {
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                CHILD_HEAP, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), KillRun.class.getName()));
        c.addAll(List.of(args));
        return c;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String seedHex(SplittableRandom rnd) {
        byte[] b = new byte[32];
        for (int i = 0; i < 32; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return Hex.encode(b);
    }

    static boolean run(int trials, int jobs, long seed) throws Exception {
        System.out.println("KillRun: " + trials + " trials of " + jobs + " jobs, seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        Path dir = Files.createTempDirectory("depin-kill-run");
        Path file = dir.resolve("service.db");
        String ledgerSeed = seedHex(rnd);
        String buyerSeed = seedHex(rnd);
        NodeKeyPair ledgerKey = NodeKeyPair.fromSeed(Hex.decode(ledgerSeed));
        String ledgerPub = Hex.encode(ledgerKey.publicKey().raw());
        String buyerPub = Hex.encode(NodeKeyPair.fromSeed(Hex.decode(buyerSeed)).publicKey().raw());
        List<Map<String, Object>> results = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        long[] before = new long[2]; // claims paid and holds expired up to the previous trial
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).start()) {
            int servicePort = freePort();
            Child service = new Child(java("service", file.toString(), String.valueOf(servicePort), ledgerSeed,
                    buyerPub)).start();
            String serviceAddress = "127.0.0.1:" + servicePort;
            List<Child> nodes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                nodes.add(new Child(java("node", seedHex(rnd), String.valueOf(freePort()), directory.address(),
                        ledgerPub, String.valueOf(1_000 * (i + 1)), serviceAddress)).start());
            }
            try (RemoteSettlement operator = RemoteSettlement.builder(ledgerKey, serviceAddress, ledgerKey.publicKey())
                    .connect()) {
                operator.open(BUYER, AccountKind.BUYER, false).join();
                operator.apply(new Operation.Mint(OperationKey.of("kill-run-fund"), BUYER, MicroUsd.ofUsd("1000")))
                        .join();
            }
            for (int t = 0; t < trials; t++) {
                String victim = switch (t % 3) {
                    case 0 -> "buyer";
                    case 1 -> "node";
                    default -> "service";
                };
                int killAfter = 1 + rnd.nextInt(Math.max(1, jobs / 2));
                long started = System.nanoTime();
                Process buyer = new ProcessBuilder(java("buyer", buyerSeed, directory.address(), serviceAddress,
                        ledgerPub, String.valueOf(t), String.valueOf(jobs), String.valueOf(rnd.nextLong())))
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                BufferedReader lines = new BufferedReader(new InputStreamReader(buyer.getInputStream(),
                        StandardCharsets.UTF_8));
                AtomicInteger settled = new AtomicInteger();
                AtomicInteger failed = new AtomicInteger();
                List<String> failures = new ArrayList<>();
                String line;
                boolean killed = false;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("SETTLED ")) {
                        settled.incrementAndGet();
                    } else if (line.startsWith("FAILED ")) {
                        failed.incrementAndGet();
                        failures.add(line.length() > 300 ? line.substring(0, 300) : line);
                    }
                    if (!killed && settled.get() + failed.get() >= killAfter) {
                        killed = true;
                        if (victim.equals("buyer")) {
                            buyer.destroyForcibly();
                            break;
                        } else if (victim.equals("node")) {
                            Child n = nodes.get(rnd.nextInt(nodes.size()));
                            n.kill();
                            n.start();
                        } else {
                            service.kill();
                            Thread.sleep(rnd.nextInt(500));
                            service.start();
                        }
                    }
                }
                buyer.waitFor(120, TimeUnit.SECONDS);
                if (buyer.isAlive()) {
                    buyer.destroyForcibly();
                    failures.add("buyer did not finish within 120 s");
                }
                // Wait until no hold is open, at most until every hold the buyer left has expired or
                // been claimed and posted, plus the ledger's sweep; what is open then is a violation.
                long until = System.nanoTime() + JOB_TIMEOUT.plus(GRACE).plus(WINDOW).toNanos()
                        + TimeUnit.MILLISECONDS.toNanos(1_500);
                while (System.nanoTime() < until && openHolds(file) > 0) {
                    Thread.sleep(250);
                }
                Map<String, Object> r = check(file);
                long claimsNow = (long) r.get("claimedAndPosted");
                long expiredNow = (long) r.get("expiredHolds");
                r.put("claimedAndPosted", claimsNow - before[0]);
                r.put("expiredHolds", expiredNow - before[1]);
                before[0] = claimsNow;
                before[1] = expiredNow;
                r.put("trial", t);
                r.put("victim", victim);
                r.put("killedAfter", killAfter);
                r.put("settled", settled.get());
                r.put("failed", failed.get());
                r.put("seconds", (System.nanoTime() - started) / 1e9);
                @SuppressWarnings("unchecked")
                List<String> v = ((List<String>) r.get("violations")).stream().filter(seen::add).toList();
                r.put("violations", v);
                if (!failures.isEmpty()) {
                    System.out.println("  failed jobs: " + failures);
                }
                results.add(r);
                System.out.println(String.format(Locale.ROOT, "trial %2d kill %-7s after %2d: %2d settled, %d failed, "
                                + "%d claimed (posted), %d holds expired (latest %d ms after expiry), %d voided after "
                                + "the work, %d open, sum %d, %s, %.1f s", t, victim, killAfter, settled.get(),
                        failed.get(), r.get("claimedAndPosted"), r.get("expiredHolds"), r.get("latestExpiryMs"),
                        r.get("voidedAfterWork"),
                        r.get("openHolds"), r.get("sum"), v.isEmpty() ? "sound" : v, r.get("seconds")));
            }
            for (Child n : nodes) {
                n.kill();
            }
            service.kill();
        }
        long expiredLate = results.stream().mapToLong(r -> (long) r.get("latestExpiryMs")).max().orElse(0);
        System.out.println("{\"trials\":" + trials + ",\"jobsPerTrial\":" + jobs + ",\"violations\":" + seen.size()
                + ",\"claimedAndPosted\":" + before[0] + ",\"expiredHolds\":" + before[1]
                + ",\"latestExpiryMsAfterExpiry\":" + expiredLate + ",\"settled\":"
                + results.stream().mapToInt(r -> (int) r.get("settled")).sum() + ",\"failed\":"
                + results.stream().mapToInt(r -> (int) r.get("failed")).sum() + "}");
        return seen.isEmpty();
    }

    private static int openHolds(Path file) {
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            return reader.openHolds().size();
        }
    }

    /** Reads the ledger's file (read-only) and returns what it found, with a list of violations. */
    private static Map<String, Object> check(Path file) throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        List<String> violations = new ArrayList<>();
        long now = Instant.now().toEpochMilli();
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            long sum = 0;
            long held = 0;
            for (Balance b : reader.balances()) {
                sum += b.posted();
                held += b.held();
            }
            List<OpenHold> open = reader.openHolds();
            long openAmount = open.stream().mapToLong(h -> h.amount().micros()).sum();
            for (OpenHold h : open) {
                if (h.expiresAt().toEpochMilli() + 1_000 < now) {
                    violations.add("hold " + h.key().value() + " open " + (now - h.expiresAt().toEpochMilli())
                            + " ms after its expiry");
                }
            }
            if (sum != 0) {
                violations.add("balances sum to " + sum + ", not 0");
            }
            if (held != openAmount) {
                violations.add(held + " held but open holds total " + openAmount);
            }
            LedgerAudit audit = reader.audit();
            violations.addAll(audit.violations());
            r.put("sum", sum);
            r.put("openHolds", open.size());
        }
        long expired = 0;
        long latest = 0;
        SQLiteConfig readOnly = new SQLiteConfig();
        readOnly.setReadOnly(true);
        try (Connection c = readOnly.createConnection("jdbc:sqlite:" + file);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT h.hold_key, h.expires_ms, o.at_ms FROM holds h JOIN ops o"
                     + " ON o.op_key = h.resolved_by WHERE h.state = 'EXPIRED'")) {
            while (rs.next()) {
                expired++;
                long late = rs.getLong(3) - rs.getLong(2);
                latest = Math.max(latest, late);
                if (late > 1_000) {
                    violations.add("hold " + rs.getString(1) + " expired " + late + " ms after its expiry");
                }
            }
        }
        long claimed = 0;
        try (Connection c = readOnly.createConnection("jdbc:sqlite:" + file);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT h.hold_key, h.state, c.window_end_ms, c.state FROM claims c"
                     + " JOIN holds h ON h.hold_key = c.hold_key")) {
            while (rs.next()) {
                if (rs.getString(2).equals("OPEN") && rs.getString(4).equals("CLAIMED")
                        && rs.getLong(3) + 1_000 < now) {
                    violations.add("hold " + rs.getString(1) + " claimed and still open " + (now - rs.getLong(3))
                            + " ms after its dispute window");
                } else if (rs.getString(2).equals("POSTED")) {
                    claimed++;
                }
            }
        }
        r.put("claimedAndPosted", claimed);
        long voidedAfterWork = 0;
        try (Connection c = readOnly.createConnection("jdbc:sqlite:" + file);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT hold_key, state FROM holds WHERE state IN ('EXPIRED', 'VOIDED')")) {
            while (rs.next()) {
                if (WORKED.contains(rs.getString(1))) {
                    if (rs.getString(2).equals("EXPIRED")) {
                        violations.add("hold " + rs.getString(1) + " expired unpaid although its node did the job");
                    } else {
                        voidedAfterWork++;
                    }
                }
            }
        }
        r.put("voidedAfterWork", voidedAfterWork);
        r.put("expiredHolds", expired);
        r.put("latestExpiryMs", latest);
        r.put("violations", violations);
        return r;
    }
}
