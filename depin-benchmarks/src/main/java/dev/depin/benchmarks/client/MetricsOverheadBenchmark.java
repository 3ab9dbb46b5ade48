package dev.depin.benchmarks.client;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.AccountId;
import dev.depin.sla.SlaJournal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What metrics cost on the small-job path (issue 17: at most 2 % of small-job throughput):
 * SAXPY on 256 floats, two providers in a {@link LocalNetwork}, 64 jobs in flight, verified
 * jobs per second, with no registry and with every node and the client publishing to a
 * Prometheus registry that is scraped once a second, as a Prometheus server would; and, third,
 * the same with both nodes signing an SLA and the client metering every job into an
 * {@link SlaJournal} (one line per job, forced to disk by the journal's writer thread in group
 * commits before the job's result completes; the book's meters in the same registry). The set-ups alternate (A B C A B C ...) in one JVM, each phase after its own
 * warm-up, so that drift of a shared machine falls on all; the table gives each phase and the
 * medians.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.client.MetricsOverheadBenchmark [seconds-per-phase] [rounds]}
 */
public final class MetricsOverheadBenchmark {
    private static final int N = 256;
    private static final int WINDOW = 64;

    private MetricsOverheadBenchmark() {
    }

    /**
     * @param args optional: seconds per phase (default 5) and rounds of A/B (default 3)
     * @throws Exception if a job fails
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        System.out.printf(Locale.ROOT, "metrics overhead: SAXPY n=%d, 2 providers, %d in flight, %d s per phase, "
                + "%d rounds, %d cores, %s%n", N, WINDOW, seconds, rounds, Runtime.getRuntime().availableProcessors(),
                Runtime.version());
        double[] off = new double[rounds];
        double[] on = new double[rounds];
        double[] sla = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            off[r] = run(false, false, seconds);
            on[r] = run(true, false, seconds);
            sla[r] = run(true, true, seconds);
            System.out.printf(Locale.ROOT, "round %d: no metrics %8.0f jobs/s, Prometheus %8.0f jobs/s (%+.1f %%), "
                    + "Prometheus + SLA journal %8.0f jobs/s (%+.1f %%)%n", r + 1, off[r], on[r],
                    100 * (on[r] - off[r]) / off[r], sla[r], 100 * (sla[r] - off[r]) / off[r]);
        }
        double a = median(off);
        double b = median(on);
        double c = median(sla);
        System.out.printf(Locale.ROOT, "median: no metrics %.0f jobs/s, Prometheus %.0f jobs/s: %+.1f %% "
                + "(goal: no worse than -2 %%); Prometheus + SLA journal %.0f jobs/s: %+.1f %%%n", a, b,
                100 * (b - a) / a, c, 100 * (c - a) / a);
    }

    /** What the SLA phase's nodes sign: generous bounds, so every attempt counts as good. */
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofMinutes(1))));

    private static double run(boolean metrics, boolean withSla, int seconds) throws Exception {
        PrometheusMeterRegistry registry = metrics ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : null;
        Path dir = withSla ? Files.createTempDirectory("depin-sla-bench") : null;
        SlaJournal journal = withSla ? SlaJournal.open(dir.resolve("sla.jsonl"), AccountId.of("buyer:bench"), registry)
                : null;
        ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor();
        long[] scraped = new long[1];
        if (registry != null) {
            scraper.scheduleAtFixedRate(() -> scraped[0] += registry.scrape().length(), 1, 1, TimeUnit.SECONDS);
        }
        DepinClient.Builder cb;
        try (LocalNetwork net = LocalNetwork.of(List.of(node(registry, withSla), node(registry, withSla)))) {
            cb = DepinClient.builder(net);
            if (registry != null) {
                cb.meterRegistry(registry);
            }
            if (journal != null) {
                cb.sla(journal);
            }
            try (DepinClient client = cb.build()) {
                SplittableRandom rnd = new SplittableRandom(20261205L);
                SmallJobs.throughput(client, rnd, N, WINDOW, Math.max(1, seconds / 2)); // warm-up
                return SmallJobs.throughput(client, rnd, N, WINDOW, seconds);
            }
        } finally {
            scraper.shutdownNow();
            if (journal != null) {
                journal.close();
                if (journal.book().jobs() == 0) {
                    throw new IllegalStateException("the SLA journal recorded no job");
                }
                Files.deleteIfExists(dir.resolve("sla.jsonl"));
                Files.deleteIfExists(dir);
            }
            if (registry != null && scraped[0] == 0 && seconds > 1) {
                throw new IllegalStateException("the registry was never scraped");
            }
        }
    }

    private static ProviderNode node(PrometheusMeterRegistry registry, boolean withSla) {
        ProviderNode.Builder b = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.0001"))).concurrency(2, 4096)
                .sla(withSla ? TERMS : null);
        if (registry != null) {
            b.meterRegistry(registry).power(() -> 300, false);
        }
        return b.build();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
