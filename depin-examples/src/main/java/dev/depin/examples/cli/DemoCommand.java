package dev.depin.examples.cli;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.Requirements;
import dev.depin.job.VerificationPolicy;
import dev.depin.job.DisputeRecord;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.DepinException;
import dev.depin.job.AttemptState;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Operation;
import dev.depin.sla.SlaBook;
import dev.depin.sla.SlaCredits;
import dev.depin.sla.SlaJournal;
import dev.depin.sla.SlaStatement;
import java.time.Instant;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code depin demo}: starts a network of providers with different prices and regions, each
 * offering the hardware it really runs on (by default a directory and a node per provider as
 * child processes over gRPC with mutual TLS, one of them killed mid-run; see
 * {@code DemoNetwork}), submits a mixed batch of jobs that pay through an escrow on a real
 * ledger ({@link DemoLedger}), shows a progress bar, and ends with a summary and the
 * ledger's balance sheet. Exit status 0 when every job settled and the sheet sums to zero.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        footer = {"", "Examples:", "  depin demo --network local --jobs 30 --seed 42 --no-progress", "  depin demo --network local --jobs 12 --ledger demo.db --no-progress"},

        description = "Run a batch of jobs on a network of providers (child processes over gRPC with mutual TLS, "
                + "or in process with --network local) and summarise what happened.")
public final class DemoCommand implements java.util.concurrent.Callable<Integer> {
    private static final String[] REGIONS = {"DE/fra-1", "US/iad-1", "FR/par-2", "JP/tyo-1", "SG/sin-1", "BR/gru-1"};
    private static final String[] PRICE_PER_SECOND = {"0.0009", "0.0006", "0.0012", "0.0007", "0.0010", "0.0008"};
    /**
     * What every demo provider signs: a verified result within a minute of dispatch (the demo's
     * jobs take well under a second, queueing included), measured over 10-second periods so that
     * the run sees its periods close and settles them, with the clouds' credit schedule. The
     * node killed mid-run fails the attempts it was running: its period falls below 95 % and it
     * credits that period's charges back from its stake.
     */
    static final SlaTerms SLA = SlaTerms.standard(Duration.ofSeconds(10),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofMinutes(1))));

    @Option(names = "--providers", defaultValue = "4", description = "Number of providers, 1 to 16 (default ${DEFAULT-VALUE}).")
    int providers;

    @Option(names = "--jobs", defaultValue = "120", description = "Number of jobs, 1 to 100000 (default ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for job sizes and inputs (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Option(names = "--dishonest", defaultValue = "0.05",
            description = "Fraction of its SGEMM results the dishonest provider corrupts, 0 to 1 (default ${DEFAULT-VALUE}); "
                    + "0 makes every provider honest.")
    double dishonest;

    @Option(names = "--network", defaultValue = "grpc", paramLabel = "grpc|local",
            description = "grpc (default): a directory and a node per provider as child processes, reached over "
                    + "loopback mutual TLS, one node killed with SIGKILL a third of the way through; local: every "
                    + "provider in this process.")
    DemoNetwork.Kind network;

    @Option(names = "--directory", paramLabel = "HOST:PORT",
            description = "Send the jobs to the providers listed in this running directory (depin directory, "
                    + "depin node --directory) instead of starting providers; --providers and --dishonest then "
                    + "do not apply, and no job is restricted to a region.")
    String directory;

    @Option(names = "--no-sla", description = "The providers sign no SLA (by default each signs one measured over "
            + "10-second periods, and the demo waits for a period that owes a credit to end, then pays it).")
    boolean noSla;

    @Option(names = "--out", description = "Write every job's spec, inputs, outputs, receipt and wipe attestation "
            + "(DSSE JSON), each provider's public key (PEM) and every dispute record here, for re-verification "
            + "with other tools, and the buyer's SLA journal DIR/sla.jsonl (read it with depin sla --journal).")
    java.nio.file.Path out;

    @Option(names = "--ledger", paramLabel = "FILE", description = "Keep the demo's ledger (SQLite) in FILE, to read "
            + "it afterwards with 'depin ledger --file FILE' (and settle SLA credits with 'depin sla --settle --ledger "
            + "FILE'); default a temporary file.")
    java.nio.file.Path ledgerFile;

    @Override
    public Integer call() throws Exception {
        if (providers < 1 || providers > 16) {
            System.err.println("--providers must be 1 to 16, got " + providers);
            return 2;
        }
        if (jobs < 1 || jobs > 100_000) {
            System.err.println("--jobs must be 1 to 100000, got " + jobs);
            return 2;
        }
        if (!(dishonest >= 0 && dishonest <= 1)) {
            System.err.println("--dishonest must be between 0 and 1, got " + dishonest);
            return 2;
        }
        PrintStream out = System.out;
        int cores = Runtime.getRuntime().availableProcessors();
        int threadsEach = Math.max(1, cores / providers);
        if (directory == null) {
            out.printf("depin demo: %d providers, %d jobs, seed %d (%d cores, %d executor thread(s) per provider)%n",
                    providers, jobs, seed, cores, threadsEach);
        } else {
            out.printf("depin demo: %d jobs, seed %d, to the providers listed in the directory at %s%n", jobs, seed,
                    directory);
        }

        List<DemoNetwork.Provider> specs = new ArrayList<>();
        // The dishonest provider is the cheapest one, as a too-good-to-be-true offer would be: a
        // third of the cheapest honest price, so that it stays first in the client's ranking by
        // estimated cost (price / measured GFLOP/s) however the calibration of the nodes varies
        // on a loaded machine (1.5x between nodes was seen), and the demo's first job, an SGEMM,
        // always reaches it. With one provider, a caught liar's job would have nowhere else to go.
        int liar = dishonest > 0 && providers >= 2 && directory == null ? cheapest(providers) : -1;
        for (int i = 0; i < providers; i++) {
            java.math.BigDecimal perSecond = new java.math.BigDecimal(PRICE_PER_SECOND[i % PRICE_PER_SECOND.length]);
            if (i == liar) {
                perSecond = perSecond.divide(java.math.BigDecimal.valueOf(3), 6, java.math.RoundingMode.DOWN);
            }
            specs.add(new DemoNetwork.Provider(NodeKeyPair.generate(), Region.parse(REGIONS[i % REGIONS.length]),
                    new Price(MicroUsd.ofUsd(perSecond.toPlainString()), MicroUsd.ofUsd("0.02")),
                    MicroUsd.ofUsd("250"), threadsEach, i == liar ? dishonest : 0, seed, noSla ? null : SLA));
        }
        // The demo's providers form a private network: each admits only jobs whose money the
        // demo's ledger holds, shown by the hold certificate signed with this key.
        NodeKeyPair ledgerKey = NodeKeyPair.generate();
        DemoNetwork net;
        try {
            net = directory != null ? DemoNetwork.attach(directory, out)
                    : DemoNetwork.start(network, specs, out, ledgerKey.publicKey());
        } catch (dev.depin.InvalidArgumentException e) {
            System.err.println("--directory: " + e.getMessage());
            return 2;
        } catch (DepinException e) {
            System.err.println(e.getMessage());
            return 3;
        }
        List<ProviderOffer> nodes = net.offers();
        out.println();
        out.printf("%-3s %-12s %-9s %-4s %-9s %-36s %8s%n", "#", "node", "region", "dev", "$/dev-s", "device", "GFLOP/s");
        for (int i = 0; i < nodes.size(); i++) {
            ProviderOffer offer = nodes.get(i);
            var d = offer.devices().get(0);
            out.printf("%-3d %-12s %-9s %-4s %-9s %-36s %8.1f%s%n", i + 1, offer.nodeId().shortId(), offer.region(),
                    d.kind(), offer.terms().price().perDeviceSecond().toUsd().toPlainString(),
                    abbreviate(d.model(), 36), d.fp32Gflops(),
                    i == liar ? "  <- dishonest: corrupts " + Math.round(dishonest * 100) + "% of its SGEMM results" : "");
        }
        if (directory == null) {
            out.println("private network: each node runs only jobs with a hold certificate from ledger "
                    + ledgerKey.nodeId().shortId());
            out.println(noSla ? "no node signs an SLA (--no-sla)" : "every node signs in its offer: "
                    + SlaOptions.describe(SLA));
        }
        out.println();

        SplittableRandom rnd = new SplittableRandom(seed);
        long t0 = System.nanoTime();
        List<JobHandle> handles = new ArrayList<>();
        Map<NodeId, String> names = new LinkedHashMap<>();
        for (ProviderOffer o : nodes) {
            names.put(o.nodeId(), o.nodeId().shortId());
        }
        long sheet;
        boolean slaPaid;
        try (net; DemoLedger money = DemoLedger.open(ledgerFile, ledgerKey);
             SlaJournal journal = this.out == null ? null : openJournal(this.out)) {
            nodes.forEach(o -> money.stake(o.nodeId()));
            // The buyer meters every job against the SLA its provider signed; with --out, the
            // record of each job is on disk (DIR/sla.jsonl) before its result is delivered.
            SlaBook book = journal == null ? new SlaBook() : journal.book();
            try (DepinClient client = DepinClient.builder(net.network()).maxAttempts(3).escrow(money.escrow())
                    .sla(journal == null ? book : journal).build()) {
                // A third of the jobs run first; then one honest node is killed (SIGKILL) and the
                // rest are submitted while the directory still lists it, so the crash is always
                // seen: the buyer's next attempts on it fail and go to the others. Killing it
                // during the run instead could fall between its jobs and show nothing.
                int wave = Math.max(1, jobs / 3);
                CompletableFuture<String> fault = null;
                for (int i = 0; i < jobs; i++) {
                    if (i == wave) {
                        CompletableFuture.allOf(handles.stream().map(h -> h.resultAsync().exceptionally(t -> null))
                                .toArray(CompletableFuture[]::new)).join();
                        fault = net.killOneHonestAfter(handles, wave, jobs);
                        fault.completeOnTimeout("", 30, TimeUnit.SECONDS).join();
                    }
                    // The first job is an SGEMM: submitted to idle providers, it goes to the cheapest,
                    // the liar, whose first SGEMM is always corrupted, so every demo with a liar
                    // shows it caught.
                    // Redundancy counts only the honest survivors: the liar is banned once caught.
                    handles.add(client.submit(randomJob(rnd, i, net.survivors() - (liar >= 0 ? 1 : 0), i == 0 && liar >= 0,
                            directory == null)));
                }
                if (fault == null) {
                    fault = net.killOneHonestAfter(handles, wave, jobs);
                }
                Progress progress = new Progress(handles, noProgress ? null : System.err);
                progress.start();
                CompletableFuture.allOf(handles.stream().map(h -> h.resultAsync().exceptionally(t -> null))
                        .toArray(CompletableFuture[]::new)).join();
                progress.stop();
                String injected = fault.completeOnTimeout("", 30, TimeUnit.SECONDS).join();
                if (!injected.isEmpty()) {
                    out.println(injected);
                }
                double wall = (System.nanoTime() - t0) / 1e9;
                summarise(out, nodes, handles, client, wall);
                if (this.out != null) {
                    new RunWriter(this.out).write(nodes, handles);
                    out.println("wrote every job's evidence to " + this.out.toAbsolutePath()
                            + " (see README.txt there to re-verify)");
                }
            }
            slaPaid = settleSla(out, book, money, journal);
            sheet = money.print(out, handles, names); // after close: every job's money has come to rest
        }
        long bad = handles.stream().filter(h -> h.state() != JobState.SETTLED).count();
        return bad == 0 && sheet == 0 && slaPaid ? 0 : 1;
    }

    /** The longest the demo waits for an owing period to end before paying it (its own periods are 10 s). */
    private static final Duration MAX_SLA_WAIT = Duration.ofSeconds(15);

    private static SlaJournal openJournal(java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Files.createDirectories(dir);
        return SlaJournal.open(dir.resolve("sla.jsonl"), DemoLedger.BUYER);
    }

    /**
     * Prints each provider's SLA statements and pays what they owe through the demo's ledger:
     * waits (up to {@link #MAX_SLA_WAIT}) for the last period that owes a credit to end (credits
     * are paid for ended periods only; providers found in a directory may measure by the hour), then one transfer per provider and period from its stake to the buyer, under the
     * key {@code sla/<provider>/<period>/<buyer>}.
     *
     * @return whether every credit due was paid
     */
    private static boolean settleSla(PrintStream out, SlaBook book, DemoLedger money, SlaJournal journal)
            throws InterruptedException {
        List<NodeId> providers = book.providers();
        out.println();
        if (providers.isEmpty()) {
            out.println("SLA: no provider signed one");
            return true;
        }
        Instant lastOwing = null;
        for (NodeId p : providers) {
            for (SlaStatement s : book.statements(p)) {
                if (s.credit().micros() > 0 && (lastOwing == null || s.periodEnd().isAfter(lastOwing))) {
                    lastOwing = s.periodEnd();
                }
            }
        }
        long wait = lastOwing == null ? 0 : Duration.between(Instant.now(), lastOwing).toMillis();
        if (wait > MAX_SLA_WAIT.toMillis()) {
            out.printf("SLA: a period that owes a credit ends at %s, in %.0f s: not waiting; settle it then with "
                    + "depin sla --settle%n", lastOwing, wait / 1e3);
        } else if (wait > 0) {
            out.printf("SLA: waiting %.1f s for the last period that owes a credit to end (credits are paid for "
                    + "ended periods only)%n", wait / 1e3);
            Thread.sleep(wait + 1);
        }
        Instant now = Instant.now();
        out.println("SLA statements (the buyer's measurement of what each provider signed; per period: attempts "
                + "good, late, failed):");
        out.printf("  %-12s %7s %6s %6s %6s %8s %12s %12s %12s%n", "provider", "periods", "good", "late", "failed",
                "breached", "charges", "credit owed", "credit paid");
        boolean allPaid = true;
        List<String> details = new ArrayList<>();
        for (NodeId p : providers) {
            long good = 0;
            long late = 0;
            long failed = 0;
            long charges = 0;
            long owed = 0;
            long paid = 0;
            int breached = 0;
            List<SlaStatement> statements = book.statements(p);
            for (SlaStatement s : statements) {
                good += s.good();
                late += s.late();
                failed += s.failed();
                charges += s.charges().micros();
                if (!s.compliant()) {
                    breached++;
                }
                if (s.credit().micros() == 0) {
                    continue;
                }
                owed += s.credit().micros();
                if (s.periodEnd().isAfter(now)) {
                    details.add("    " + s + ": not yet due, its period ends at " + s.periodEnd() + " (depin sla "
                            + "--journal FILE --settle --ledger FILE pays it then)");
                    continue;
                }
                try {
                    java.util.Optional<Applied> a = SlaCredits.pay(money.ledger(), DemoLedger.BUYER, s, now).join();
                    long moved = a.map(x -> ((Operation.Transfer) x.operation()).amount().micros()).orElse(0L);
                    paid += moved;
                    details.add("    " + s + ": paid " + MicroUsd.ofMicros(moved) + " from stake:"
                            + p.shortId() + " to " + DemoLedger.BUYER + " as " + s.creditKey(DemoLedger.BUYER));
                } catch (java.util.concurrent.CompletionException e) {
                    details.add("    " + s + ": NOT PAID: " + (e.getCause() == null ? e : e.getCause()).getMessage());
                    allPaid = false;
                }
            }
            out.printf("  %-12s %7d %6d %6d %6d %8d %12s %12s %12s%n", p.shortId(), statements.size(), good, late,
                    failed, breached, MicroUsd.ofMicros(charges), MicroUsd.ofMicros(owed), MicroUsd.ofMicros(paid));
        }
        if (!details.isEmpty()) {
            out.println("  credits (each paid exactly once, under its key, from the provider's stake):");
            details.forEach(out::println);
        }
        if (journal != null) {
            out.println("  the buyer's SLA journal: " + journal.file().toAbsolutePath() + " (depin sla --journal FILE)");
        }
        return allPaid;
    }

    private static int cheapest(int providers) {
        int best = 0;
        for (int i = 1; i < providers; i++) {
            if (new java.math.BigDecimal(PRICE_PER_SECOND[i % PRICE_PER_SECOND.length])
                    .compareTo(new java.math.BigDecimal(PRICE_PER_SECOND[best % PRICE_PER_SECOND.length])) < 0) {
                best = i;
            }
        }
        return best;
    }

    /**
     * A job of a random kernel and shape, each with the verification that suits it: SGEMM
     * is checked with Freivalds (20 rounds), SAXPY with a 25% spot check, reduce-sum on
     * up to three of the honest {@code providers} (redundant); every fifth job is restricted to EU regions, where a
     * reduce-sum is recomputed in full (spot check of its single chunk) since only two
     * providers are there ({@code regional}). {@code sgemm} forces an SGEMM.
     */
    static Job randomJob(SplittableRandom rnd, int index, int providers, boolean sgemm, boolean regional) {
        int pick = rnd.nextInt(10);
        if (sgemm) {
            pick = 0;
        }
        Job.Builder b;
        if (pick < 4) {
            int[] dims = {1, 7, 31, 64, 100, 128, 200, 257};
            int m = dims[rnd.nextInt(dims.length)];
            int k = dims[rnd.nextInt(dims.length)];
            int n = dims[rnd.nextInt(dims.length)];
            b = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                    .input("a", floats(rnd, m * k)).input("b", floats(rnd, k * n))
                    .verification(VerificationPolicy.freivalds(20));
        } else if (pick < 7) {
            int n = 1 + rnd.nextInt(1 << 18);
            b = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", (float) rnd.nextDouble(-2, 2))
                    .input("x", floats(rnd, n)).input("y", floats(rnd, n))
                    .verification(VerificationPolicy.spotCheck(0.25));
        } else {
            int n = 1 + rnd.nextInt(1 << 18);
            b = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", floats(rnd, n))
                    // Redundancy only with a spare honest provider beyond its replicas: the engine never
                    // reuses a provider already tried for a job, so with the demo's SIGKILL a round of
                    // n replicas among exactly n honest survivors can be left without enough of them.
                    .verification(regional && index % 5 == 4 || providers < 3 ? VerificationPolicy.spotCheck(1.0)
                            : VerificationPolicy.redundant(Math.min(3, providers - 1)));
        }
        if (regional && index % 5 == 4) {
            b.requirements(Requirements.builder().regions(Region.parse("DE"), Region.parse("FR")).build());
        }
        return b.maxPrice(MicroUsd.ofUsd("0.01")).timeout(Duration.ofMinutes(2)).build();
    }

    private static float[] floats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static void summarise(PrintStream out, List<ProviderOffer> nodes, List<JobHandle> handles,
                                  DepinClient client, double wall) {
        Map<NodeId, long[]> perNode = new LinkedHashMap<>();
        Map<NodeId, Integer> disputed = new LinkedHashMap<>();
        Map<String, Integer> assurance = new java.util.TreeMap<>();
        List<DisputeRecord> disputes = new ArrayList<>();
        Map<NodeId, Long> earned = new LinkedHashMap<>();
        Map<dev.depin.settlement.AccountId, NodeId> payees = new java.util.HashMap<>();
        for (ProviderOffer n : nodes) {
            perNode.put(n.nodeId(), new long[3]);
            earned.put(n.nodeId(), 0L);
            payees.put(dev.depin.settlement.Escrow.providerAccount(n.nodeId()), n.nodeId());
        }
        Map<JobState, Integer> finals = new EnumMap<>(JobState.class);
        Map<String, Integer> kernels = new LinkedHashMap<>();
        for (JobHandle h : handles) {
            finals.merge(h.state(), 1, Integer::sum);
            kernels.merge(h.spec().kernel().id(), 1, Integer::sum);
            for (JobEvent e : h.events()) {
                if (e.provider() != null && e.attemptState() == AttemptState.FAILED && perNode.containsKey(e.provider())) {
                    perNode.get(e.provider())[1]++;
                }
            }
            JobResult r = h.resultAsync().isCompletedExceptionally() ? null : h.resultAsync().getNow(null);
            if (r != null) {
                disputes.addAll(r.disputes());
                r.disputes().forEach(d -> disputed.merge(d.provider(), 1, Integer::sum));
                assurance.merge(r.report().assurance().level().name(), 1, Integer::sum);
                perNode.get(r.provider())[0]++;
                perNode.get(r.provider())[2] += r.timings().deviceNanos();
                if (r.settlement() == null) {
                    earned.merge(r.provider(), r.cost().micros(), Long::sum);
                } else {
                    // Every agreeing replica is paid, not only the one whose outputs were kept.
                    Map<dev.depin.settlement.OperationKey, NodeId> payeeOfHold = new java.util.HashMap<>();
                    for (var a : r.settlement().operations()) {
                        if (a.operation() instanceof dev.depin.settlement.Operation.Hold hold) {
                            payeeOfHold.put(hold.key(), payees.get(hold.payee()));
                        } else if (a.operation() instanceof dev.depin.settlement.Operation.Post post) {
                            earned.merge(payeeOfHold.get(post.hold()), post.amount().micros(), Long::sum);
                        }
                    }
                }
            }
        }
        out.println();
        out.printf("%-12s %-9s %8s %8s %8s %11s %12s %11s%n", "provider", "region", "verified", "failed", "disputed",
                "device ms", "earned", "reputation");
        int i = 0;
        for (Map.Entry<NodeId, long[]> e : perNode.entrySet()) {
            long[] c = e.getValue();
            out.printf("%-12s %-9s %8d %8d %8d %11.1f %12s %11.2f%n", e.getKey().shortId(),
                    nodes.get(i++).region(), c[0], c[1], disputed.getOrDefault(e.getKey(), 0), c[2] / 1e6,
                    MicroUsd.ofMicros(earned.get(e.getKey())), client.reputation(e.getKey()));
        }
        out.println();
        out.println("kernels:      " + kernels);
        out.println("final states: " + finals);
        out.println("assurance:    " + assurance + " (every delivered result: receipt and wipe attestation "
                + "verified, then its policy)");
        out.println("disputes:     " + disputes.size() + (disputes.isEmpty() ? "" : ", each rescheduled on another provider:"));
        for (DisputeRecord d : disputes) {
            out.println("  job " + d.jobId() + " attempt " + d.attempt() + " by " + d.provider().shortId() + ": "
                    + d.reason() + (d.evidence() == null ? "" : " at " + d.evidence().location()
                    + " (expected " + d.evidence().expected() + ", got " + d.evidence().actual() + ")"));
        }
        out.printf("wall time:    %.2f s (%.1f jobs/s)%n", wall, handles.size() / wall);
        handles.stream().filter(h -> h.state() != JobState.SETTLED).limit(5).forEach(h -> {
            Throwable t = h.resultAsync().handle((r, x) -> x).join();
            String why = t instanceof JobFailedException f ? f.getMessage() : String.valueOf(t);
            out.println("not settled: " + h.jobId() + " " + h.state() + ": " + why);
        });
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    /** Draws {@code [=====     ] done/total} on the terminal every 100 ms. */
    private static final class Progress {
        private final List<JobHandle> handles;
        private final PrintStream term;
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "depin-demo-progress");
            t.setDaemon(true);
            return t;
        });

        Progress(List<JobHandle> handles, PrintStream term) {
            this.handles = handles;
            this.term = term;
        }

        void start() {
            if (term != null) {
                timer.scheduleAtFixedRate(this::draw, 0, 100, TimeUnit.MILLISECONDS);
            }
        }

        void stop() throws InterruptedException {
            timer.shutdown();
            timer.awaitTermination(1, TimeUnit.SECONDS);
            if (term != null) {
                draw();
                term.println();
            }
        }

        private void draw() {
            int done = 0;
            int ok = 0;
            for (JobHandle h : handles) {
                if (h.resultAsync().isDone()) {
                    done++;
                    if (!h.resultAsync().isCompletedExceptionally()) {
                        ok++;
                    }
                }
            }
            int width = 40;
            int filled = (int) ((long) done * width / handles.size());
            term.print("\r[" + "=".repeat(filled) + " ".repeat(width - filled) + "] " + done + "/" + handles.size()
                    + "  verified " + ok + "  not verified " + (done - ok) + "  ");
            term.flush();
        }
    }
}
