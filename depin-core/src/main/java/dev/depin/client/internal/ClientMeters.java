package dev.depin.client.internal;

import dev.depin.job.AttemptState;
import dev.depin.job.InputRef;
import dev.depin.job.JobEvent;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobSpec;
import dev.depin.job.JobState;
import dev.depin.kernel.BufferDecl;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Operation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A buyer client's meters (names in docs/metrics.md): jobs by final state and in flight,
 * attempt latency histograms by outcome, bytes out (inputs sent) and in (outputs received),
 * escrow operations and amounts, and failed attempts by reason. Fed from the job's own event
 * stream and result, so nothing is measured twice or differently from what
 * {@code JobHandle.events()} reports. {@link #NONE} records nothing.
 */
public class ClientMeters {
    /** Records nothing: a client built without a registry. */
    public static final ClientMeters NONE = new ClientMeters();

    private final MeterRegistry registry;
    private final AtomicLong active = new AtomicLong();
    /** Dispatch time per attempt in flight, keyed {@code jobId#attempt}; removed when the attempt ends. */
    private final ConcurrentHashMap<String, Instant> dispatched = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> latency = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();

    private ClientMeters() {
        registry = null;
    }

    /**
     * @param registry where the meters go
     */
    public ClientMeters(MeterRegistry registry) {
        this.registry = registry;
        // Strong: Micrometer holds a gauge's object weakly, and a closed client's counter would
        // read NaN once collected; a scrape after close must still say 0.
        Gauge.builder("depin.client.jobs.active", active, AtomicLong::get).strongReference(true)
                .description("Jobs submitted and not yet ended").register(registry);
    }

    /** A job was submitted. */
    void submitted() {
        if (registry != null) {
            active.incrementAndGet();
        }
    }

    /**
     * One of a job's events, as it is recorded.
     *
     * @param e    the event
     * @param spec the job
     */
    void event(JobEvent e, JobSpec spec) {
        if (registry == null || e.attemptState() == null) {
            return;
        }
        String key = e.jobId() + '#' + e.attempt();
        AttemptState s = e.attemptState();
        if (s == AttemptState.DISPATCHED) {
            dispatched.put(key, e.at());
            long in = 0;
            for (InputRef r : spec.inputs()) {
                in += r.bytes();
            }
            count("depin.client.bytes", "direction", "out", "Input bytes sent to providers", "bytes", in);
            return;
        }
        if (!s.isTerminal()) {
            return;
        }
        Instant start = dispatched.remove(key);
        String outcome = s.name().toLowerCase(Locale.ROOT);
        if (start != null) {
            latency.computeIfAbsent(outcome, o -> Timer.builder("depin.client.attempt.duration").tag("outcome", o)
                    .description("From an attempt's dispatch to its end at the buyer (transfer, run, verification)")
                    .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofMinutes(10)).register(registry))
                    .record(Duration.between(start, e.at()));
        }
        if (s == AttemptState.ACCEPTED || s == AttemptState.DISPUTED) {
            long out = 0;
            for (BufferDecl d : spec.outputs()) {
                out += d.bytes();
            }
            count("depin.client.bytes", "direction", "in", "Output bytes received from providers", "bytes", out);
        }
        if (s == AttemptState.FAILED || s == AttemptState.DISPUTED) {
            count("depin.client.errors", "reason", s == AttemptState.DISPUTED ? "disputed" : reason(e.detail()),
                    "Attempts that failed or were disputed, by reason", null, 1);
        }
    }

    /**
     * A provider signed an attempt's receipt and then withheld its wipe attestation (none came
     * within the client's wait, or the stream ended without it): counted by provider, so that
     * one that keeps doing it shows ({@code depin.client.wipe_attestations.withheld}).
     *
     * @param provider the provider's node id
     */
    void wipeWithheld(dev.depin.crypto.NodeId provider) {
        if (registry == null) {
            return;
        }
        String id = provider.shortId();
        counters.computeIfAbsent("depin.client.wipe_attestations.withheld|" + id, k -> Counter.builder(
                "depin.client.wipe_attestations.withheld").tag("provider", id).description("Attempts whose provider "
                + "signed the receipt and withheld the wipe attestation (the attempt did not count), by provider")
                .register(registry)).increment();
    }

    /**
     * A job ended: its final state, and what its escrow did.
     *
     * @param result  its result, or null
     * @param failure why it failed, or null
     */
    void ended(JobResult result, Throwable failure) {
        if (registry == null) {
            return;
        }
        active.decrementAndGet();
        JobState state;
        if (result != null) {
            state = result.settlement() != null ? JobState.SETTLED : JobState.VERIFIED;
        } else if (failure instanceof JobFailedException f) {
            state = f.finalState();
        } else if (failure instanceof java.util.concurrent.CancellationException) {
            state = JobState.CANCELLED;
        } else {
            state = JobState.FAILED;
        }
        count("depin.client.jobs", "state", state.name().toLowerCase(Locale.ROOT), "Jobs that ended, by final state",
                null, 1);
        if (result == null || result.settlement() == null) {
            return;
        }
        for (Applied a : result.settlement().operations()) {
            Operation op = a.operation();
            String type;
            long micros;
            if (op instanceof Operation.Hold h) {
                type = "hold";
                micros = h.amount().micros();
            } else if (op instanceof Operation.Post p) {
                type = "post";
                micros = p.amount().micros();
            } else if (op instanceof Operation.VoidHold) {
                type = "void";
                micros = 0;
            } else if (op instanceof Operation.Slash sl) {
                type = "slash";
                micros = sl.toBeneficiary().micros() + sl.burned().micros();
            } else {
                continue;
            }
            count("depin.client.escrow.operations", "type", type, "Escrow operations applied for this client's jobs",
                    null, 1);
            if (micros > 0) {
                count("depin.client.escrow.amount", "type", type, "Money held, paid and slashed for this client's jobs",
                        "usd", micros / 1e6);
            }
        }
    }

    private void count(String name, String tag, String value, String help, String unit, double amount) {
        counters.computeIfAbsent(name + '|' + value, k -> {
            Counter.Builder b = Counter.builder(name).tag(tag, value).description(help);
            return (unit == null ? b : b.baseUnit(unit)).register(registry);
        }).increment(amount);
    }

    /** A failed attempt's reason, from its detail: timeout, refused, network or failed. */
    static String reason(String detail) {
        String d = detail.toLowerCase(Locale.ROOT);
        if (d.contains("timed out") || d.contains("deadline")) {
            return "timeout";
        }
        if (d.contains("refused") || d.contains("busy")) {
            return "refused";
        }
        if (d.contains("unavailable") || d.contains("connection") || d.contains("network")) {
            return "network";
        }
        return "failed";
    }
}
