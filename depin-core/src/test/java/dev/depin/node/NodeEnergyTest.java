package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.client.DepinClient;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.ReceiptEnergy;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.settlement.SettlementContract.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A node with a power source signs each attempt's energy in its receipt, and its
 * {@code depin.node.energy} counter is the sum of exactly those numbers; the buyer reads them.
 */
class NodeEnergyTest {
    private static final long SEED = 0xE4E2_6117_0002L;

    @BeforeAll
    static void seed() {
        System.out.println("NodeEnergyTest seed = " + SEED);
    }

    private static ProviderNode node(DoubleSupplier watts, boolean measured, java.time.Clock clock,
                                     SimpleMeterRegistry registry, int batch) {
        byte[] seed = new byte[32];
        seed[0] = 77;
        ProviderNode.Builder b = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(1_000))).concurrency(1, 64)
                .receiptBatching(batch).meterRegistry(registry).power(watts, measured);
        return (clock == null ? b : b.clock(clock)).build();
    }

    /** Runs {@code n} SAXPY jobs of awkward sizes, one after another. */
    private static List<JobResult> run(ProviderNode node, int n) {
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<JobResult> out = new ArrayList<>();
        try (LocalNetwork net = LocalNetwork.of(List.of(node));
             DepinClient client = DepinClient.builder(net).build()) {
            for (int i = 0; i < n; i++) {
                int len = 1 + rnd.nextInt(5_000);
                float[] x = new float[len];
                float[] y = new float[len];
                for (int j = 0; j < len; j++) {
                    x[j] = (float) rnd.nextDouble(-1, 1);
                    y[j] = (float) rnd.nextDouble(-1, 1);
                }
                out.add(client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", len).param("alpha", 2)
                        .input("x", x).input("y", y).timeout(Duration.ofSeconds(60)).build()).result());
            }
        }
        return out;
    }

    /**
     * The counter, once it reaches {@code expected} (the node records an attempt just after its
     * reply, so the last one may still be on its way), or after 30 s.
     */
    private static double counter(SimpleMeterRegistry registry, String source, double expected)
            throws InterruptedException {
        long until = System.nanoTime() + 30_000_000_000L;
        double c;
        do {
            c = registry.get("depin.node.energy").tag("source", source).functionCounter().count();
            if (Math.abs(c - expected) <= 1e-9 || System.nanoTime() > until) {
                return c;
            }
            Thread.sleep(5);
        } while (true);
    }

    @Test
    void measured_fromAPowerSourceOverTheNodesClock_receiptsAndMetricAgree() throws Exception {
        // Time passes on the node's clock only between readings: each reading of the (constant)
        // 300 W source is followed by 250 ms, so every execution is exactly 250 ms at 300 W = 75 J.
        // It starts at the real time: the buyer checks the node's offers against its own clock.
        ManualClock clock = new ManualClock(Instant.now());
        DoubleSupplier watts = () -> {
            clock.advance(Duration.ofMillis(250));
            return 300;
        };
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ProviderNode node = node(watts, true, clock, registry, 0)) {
            List<JobResult> results = run(node, 7);
            for (JobResult r : results) {
                assertEquals(new ReceiptEnergy(75_000, ReceiptEnergy.Source.MEASURED), r.energy().orElseThrow());
                assertEquals(r.energy().get(), ExecutionReceipt.readUnverified(r.receipt()).energy());
                assertTrue(r.report().checks().stream().anyMatch(c -> c.name().equals("energy")),
                        r.report().summary());
            }
            assertEquals(7 * 75.0, counter(registry, "measured", 7 * 75.0), 1e-9);
        }
    }

    @Test
    void estimated_isTheWattageTimesDeviceTime_inBatchedReceiptsToo() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ProviderNode node = node(() -> 437.5, false, null, registry, 16)) {
            List<JobResult> results = run(node, 11);
            double sum = 0;
            for (JobResult r : results) {
                assertTrue(r.batched() != null, "batched");
                ReceiptEnergy e = r.energy().orElseThrow();
                assertEquals(ReceiptEnergy.Source.ESTIMATED, e.source());
                assertEquals(Math.round(437.5 * (r.timings().deviceNanos() / 1e9) * 1e3), e.millijoules());
                sum += e.joules();
            }
            assertEquals(sum, counter(registry, "estimated", sum), 1e-9);
            assertFalse(registry.find("depin.node.energy").tag("source", "measured").functionCounter() != null);
        }
    }

    @Test
    void noPowerSource_statesNoEnergy() {
        byte[] seed = new byte[32];
        seed[0] = 78;
        try (ProviderNode node = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1))
                .price(new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(1_000))).receiptBatching(0).build()) {
            for (JobResult r : run(node, 2)) {
                assertTrue(r.energy().isEmpty());
                assertTrue(r.report().checks().stream().noneMatch(c -> c.name().equals("energy")));
            }
        }
    }
}
