package dev.depin.node;

import dev.depin.crypto.ReceiptEnergy;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BufferDecl;
import dev.depin.money.Price;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.Supplier;

/**
 * A provider node's meters (names in docs/metrics.md): attempts by outcome and in flight,
 * attempt latency as a histogram per kernel, bytes in and out, device time, what its price
 * charged, energy, and errors by reason. Counters of outcomes read the node's own
 * counters (no cost on the job's path); the rest is recorded once per attempt when it ends.
 * {@link #NONE} records nothing, for a node built without a registry.
 */
class NodeMeters {
    static final NodeMeters NONE = new NodeMeters();

    private final MeterRegistry registry;
    private final Tags tags;
    private final Price price;
    /** {@code measured}, {@code estimated}, or null without an energy source. */
    private final String energySource;
    private final ConcurrentHashMap<String, Timer> latency = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> errors = new ConcurrentHashMap<>();
    private final Counter bytesIn;
    private final Counter bytesOut;
    private final AtomicLong deviceNanos = new AtomicLong();
    private final AtomicLong chargedMicros = new AtomicLong();
    private final DoubleAdder joules = new DoubleAdder();
    /** The node's own SLA, or null: its attempts are counted against it as the node sees them. */
    private final dev.depin.provider.SlaTerms sla;
    private final java.time.Clock clock;
    private final Counter[] slaOutcomes;
    /** The current SLA period's start (epoch millis) and its good and counted attempts; guarded by itself. */
    private final long[] period = new long[3];

    private NodeMeters() {
        registry = null;
        tags = null;
        price = null;
        energySource = null;
        bytesIn = null;
        bytesOut = null;
        sla = null;
        clock = null;
        slaOutcomes = null;
    }

    /**
     * @param registry  where the meters go
     * @param node      the node's short id, its {@code node} tag
     * @param price     what the node charges, for its earnings
     * @param counts    completed, failed and cancelled attempts, read when scraped
     * @param queued    attempts waiting for a worker
     * @param running   attempts on a worker
     * @param energy    {@code measured} or {@code estimated}; null without an energy source
     * @param sla       the SLA the node signs, or null
     * @param clock     the node's clock (SLA periods)
     */
    NodeMeters(MeterRegistry registry, String node, Price price, AtomicLong[] counts, Supplier<Integer> queued,
               Supplier<Integer> running, String energy, dev.depin.provider.SlaTerms sla,
               java.time.Clock clock) {
        this.registry = registry;
        this.sla = sla;
        this.clock = clock;
        this.tags = Tags.of("node", node);
        this.price = price;
        this.energySource = energy;
        long started = System.nanoTime();
        Gauge.builder("depin.node.uptime", () -> (System.nanoTime() - started) / 1e9).baseUnit("seconds").tags(tags)
                .description("Time since this node started: the window its counters cover").register(registry);
        String[] outcomes = {"completed", "failed", "cancelled"};
        for (int i = 0; i < outcomes.length; i++) {
            FunctionCounter.builder("depin.node.attempts", counts[i], AtomicLong::get).tags(tags)
                    .tag("outcome", outcomes[i]).description("Attempts that ended on this node, by outcome")
                    .register(registry);
        }
        Gauge.builder("depin.node.attempts.active", queued, q -> q.get()).tags(tags).tag("state", "queued")
                .strongReference(true).description("Attempts in this node's queue now, waiting for a worker").register(registry);
        Gauge.builder("depin.node.attempts.active", running, r -> r.get()).tags(tags).tag("state", "running")
                .strongReference(true).description("Attempts running on this node now").register(registry);
        bytesIn = Counter.builder("depin.node.bytes").baseUnit("bytes").tags(tags).tag("direction", "in")
                .description("Input bytes of the attempts this node completed").register(registry);
        bytesOut = Counter.builder("depin.node.bytes").baseUnit("bytes").tags(tags).tag("direction", "out")
                .description("Output bytes of the attempts this node completed").register(registry);
        FunctionCounter.builder("depin.node.device.time", deviceNanos, n -> n.get() / 1e9).baseUnit("seconds")
                .tags(tags).description("Device time of the attempts this node completed").register(registry);
        FunctionCounter.builder("depin.node.earnings", chargedMicros, m -> m.get() / 1e6).baseUnit("usd").tags(tags)
                .description("What this node's price charges for the attempts it completed (device time and bytes); "
                        + "the buyer's ledger pays it, at most the hold, once the result is verified")
                .register(registry);
        if (sla != null) {
            String[] slaNames = {"good", "late", "late_first_byte", "failed"};
            slaOutcomes = new Counter[slaNames.length];
            for (int i = 0; i < slaNames.length; i++) {
                slaOutcomes[i] = Counter.builder("depin.node.sla.attempts").tags(tags).tag("outcome", slaNames[i])
                        .description("Attempts against the SLA this node signs, as the node measures them (arrival "
                                + "to end; the buyer's clock adds the network): good within the size class's bound, "
                                + "late, late_first_byte (in time, but the answer, the node's first byte, after the "
                                + "SLA's first-byte bound), failed; cancelled and uncovered attempts are not counted")
                        .register(registry);
            }
            Gauge.builder("depin.node.sla.compliance", this, NodeMeters::compliance).baseUnit("ratio").tags(tags)
                    .description("Good attempts per counted attempt in the current SLA period, as the node measures "
                            + "them; 1 when none counted yet").register(registry);
        } else {
            slaOutcomes = null;
        }
        if (energy != null) {
            FunctionCounter.builder("depin.node.energy", joules, DoubleAdder::sum).baseUnit("joules").tags(tags)
                    .tag("source", energy).description("Energy of the attempts this node completed, the sum of "
                            + "what their receipts state: measured from power readings over each execution, "
                            + "shared between executions running together, or estimated as the board power "
                            + "given times the device time")
                    .register(registry);
        }
    }

    /** An attempt refused before it ran: {@code busy}, {@code closed}, or {@code refused} (bad request). */
    void error(String reason) {
        if (registry == null) {
            return;
        }
        errors.computeIfAbsent(reason, r -> Counter.builder("depin.node.errors").tags(tags).tag("reason", r)
                .description("Attempts this node refused or failed, by reason").register(registry)).increment();
    }

    /**
     * An attempt ended.
     *
     * @param spec         its job
     * @param outcome      {@code completed}, {@code failed} or {@code cancelled}
     * @param elapsedNanos from its arrival to its end (queue and run)
     * @param device       device nanoseconds (completed attempts; 0 otherwise)
     * @param energy       the energy its receipt states, or null
     */
    void ended(JobSpec spec, String outcome, long elapsedNanos, long device, ReceiptEnergy energy) {
        if (registry == null) {
            return;
        }
        String kernel = spec.kernel().id();
        latency.computeIfAbsent(kernel + '/' + outcome, k -> Timer.builder("depin.node.attempt.duration").tags(tags)
                .tag("kernel", kernel).tag("outcome", outcome)
                .description("From an attempt's arrival at this node to its end (queue, run, sign)")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(10)).register(registry))
                .record(elapsedNanos, TimeUnit.NANOSECONDS);
        if (sla != null && !"cancelled".equals(outcome)) {
            countSla(spec, outcome, elapsedNanos);
        }
        if (!"completed".equals(outcome)) {
            return;
        }
        long in = 0;
        for (InputRef r : spec.inputs()) {
            in += r.bytes();
        }
        long out = 0;
        for (BufferDecl d : spec.outputs()) {
            out += d.bytes();
        }
        bytesIn.increment(in);
        bytesOut.increment(out);
        deviceNanos.addAndGet(device);
        chargedMicros.addAndGet(price.charge(device, in + out).micros());
        if (energySource != null && energy != null) {
            joules.add(energy.joules()); // the receipt's own number (millijoules)
        }
    }

    private void countSla(JobSpec spec, String outcome, long elapsedNanos) {
        dev.depin.provider.SlaTerms.Objective o = sla.objectiveFor(spec.kernel().flops(spec.params()));
        if (o == null) {
            return;
        }
        boolean completed = "completed".equals(outcome);
        boolean inTime = completed && elapsedNanos <= o.within().toNanos();
        // The node's first byte to the buyer is its answer, sent at the attempt's end: as the
        // buyer's SlaMeter counts it, lateness of the whole result comes first.
        boolean lateFirstByte = inTime && sla.firstByteWithin() != null
                && elapsedNanos > sla.firstByteWithin().toNanos();
        boolean good = inTime && !lateFirstByte;
        slaOutcomes[good ? 0 : lateFirstByte ? 2 : completed ? 1 : 3].increment();
        long start = sla.periodStart(clock.instant()).toEpochMilli();
        synchronized (period) {
            if (period[0] != start) {
                period[0] = start;
                period[1] = 0;
                period[2] = 0;
            }
            period[1] += good ? 1 : 0;
            period[2]++;
        }
    }

    private double compliance() {
        long start = sla.periodStart(clock.instant()).toEpochMilli();
        synchronized (period) {
            return period[0] != start || period[2] == 0 ? 1.0 : (double) period[1] / period[2];
        }
    }

    /**
     * The input cache's meters: bytes and entries held, lookups by result, evictions (evicted
     * or expired), read from the cache when scraped.
     *
     * @param registry where the meters go
     * @param node     the node's short id
     * @param cache    the cache
     */
    static void cache(MeterRegistry registry, String node, InputCache cache) {
        Tags tags = Tags.of("node", node);
        Gauge.builder("depin.node.input.cache.bytes", cache, InputCache::bytes).baseUnit("bytes").tags(tags)
                .description("bytes of inputs (and kept outputs) held by root for their buyers").register(registry);
        Gauge.builder("depin.node.input.cache.entries", cache, InputCache::entries).tags(tags)
                .description("entries held").register(registry);
        FunctionCounter.builder("depin.node.input.cache.lookups", cache, InputCache::hits)
                .tags(tags.and("result", "hit")).description("inputs sent by root that the node held")
                .register(registry);
        FunctionCounter.builder("depin.node.input.cache.lookups", cache, InputCache::misses)
                .tags(tags.and("result", "miss")).description("inputs sent by root that the node asked for")
                .register(registry);
        FunctionCounter.builder("depin.node.input.cache.evictions", cache, InputCache::evictions).tags(tags)
                .description("entries evicted or expired, each wiped and attested to its owner").register(registry);
    }
}
