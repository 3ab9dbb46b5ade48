package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.SettlementContract.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The node's own SLA meters count a first byte after the SLA's first-byte bound apart, as the
 * buyer's meter does: the node's first byte to the buyer is its answer, so an attempt in time
 * for its size class but answered after the first-byte bound is {@code late_first_byte}, and
 * one past its class's bound is {@code late} whatever its first byte.
 */
class NodeMetersSlaTest {
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofSeconds(1))));
    private static final JobSpec SPEC = Job.builder(BuiltinKernel.SAXPY).param("n", 3).param("alpha", 2)
            .input("x", new float[3]).input("y", new float[3]).build().spec();

    private static NodeMeters meters(SimpleMeterRegistry registry, SlaTerms terms) {
        AtomicLong[] counts = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
        return new NodeMeters(registry, "n0", new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(1)), counts,
                () -> 0, () -> 0, null, terms, new ManualClock(Instant.parse("2026-12-06T03:00:00Z")));
    }

    private static List<Double> outcomes(SimpleMeterRegistry registry) {
        return List.of("good", "late", "late_first_byte", "failed").stream()
                .map(o -> registry.get("depin.node.sla.attempts").tag("outcome", o).counter().count()).toList();
    }

    @Test
    void firstByteBound_countedApart_atTheBoundary_andLatenessOfTheResultFirst() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        NodeMeters m = meters(registry, TERMS.withFirstByteWithin(Duration.ofMillis(100)));
        long ms = 1_000_000L;
        m.ended(SPEC, "completed", 100 * ms, 1, null);     // exactly the first-byte bound: good
        m.ended(SPEC, "completed", 100 * ms + 1, 1, null); // a nanosecond over: late first byte
        m.ended(SPEC, "completed", 1_000 * ms, 1, null);   // in time for its class, answered late
        m.ended(SPEC, "completed", 1_000 * ms + 1, 1, null); // past the class's bound: late
        m.ended(SPEC, "failed", 10 * ms, 0, null);         // failed, however quick
        m.ended(SPEC, "cancelled", 5_000 * ms, 0, null);   // withdrawn: not counted
        assertEquals(List.of(1.0, 1.0, 2.0, 1.0), outcomes(registry));
        assertEquals(0.2, registry.get("depin.node.sla.compliance").gauge().value(), 1e-12);

        // The same attempts under terms without a first-byte bound: only lateness of the result counts.
        SimpleMeterRegistry plain = new SimpleMeterRegistry();
        NodeMeters p = meters(plain, TERMS);
        for (long e : new long[] {100 * ms, 100 * ms + 1, 1_000 * ms, 1_000 * ms + 1}) {
            p.ended(SPEC, "completed", e, 1, null);
        }
        assertEquals(List.of(3.0, 1.0, 0.0, 0.0), outcomes(plain));
    }
}
