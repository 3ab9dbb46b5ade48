package dev.depin.sla;

import dev.depin.provider.SlaTerms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.AttemptState;
import dev.depin.job.JobEvent;
import dev.depin.job.JobState;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** SLA terms in offers, the buyer's measurement, and the credits it implies. */
class SlaTest {
    private static final long SEED = 0x51A_2026L;
    private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1), List.of(
            new SlaTerms.Objective(1_000_000, Duration.ofMillis(200)),
            new SlaTerms.Objective(1_000_000_000_000L, Duration.ofSeconds(5))));

    private static NodeId node(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 1);
        return NodeKeyPair.fromSeed(seed).publicKey().nodeId();
    }

    /** One attempt's events: dispatched at {@code at}, ended {@code tookMs} later in {@code end}. */
    private static List<JobEvent> attempt(String job, int n, NodeId p, Instant at, long tookMs, AttemptState end) {
        List<JobEvent> h = new ArrayList<>();
        h.add(new JobEvent(job, n, JobState.RUNNING, AttemptState.DISPATCHED, p, at, ""));
        if (end != null) {
            h.add(new JobEvent(job, n, JobState.RUNNING, end, p, at.plusMillis(tookMs), ""));
        }
        return h;
    }

    @Test
    void terms_invalid_refusedWithWhatToDo() {
        var o = List.of(new SlaTerms.Objective(10, Duration.ofSeconds(1)));
        assertEquals("SLA period PT9.999S must be whole milliseconds from 10 seconds to 31 days, e.g. PT1H or P30D",
                assertThrowsExactly(InvalidArgumentException.class, () -> SlaTerms.standard(Duration.ofMillis(9_999), o))
                        .getMessage());
        assertTrue(assertThrowsExactly(InvalidArgumentException.class, () -> new SlaTerms(Duration.ofHours(1), o,
                List.of(new SlaTerms.CreditTier(9_000, 50), new SlaTerms.CreditTier(9_500, 100)))).getMessage()
                .startsWith("SLA credit tiers must go down in threshold and up in credit"));
        assertTrue(assertThrowsExactly(InvalidArgumentException.class, () -> SlaTerms.standard(Duration.ofHours(1),
                List.of(new SlaTerms.Objective(10, Duration.ofSeconds(1)), new SlaTerms.Objective(10,
                        Duration.ofSeconds(2))))).getMessage().startsWith("SLA objectives must be in increasing maxFlops"));
        assertEquals("SLA credit 0 % must be 1 to 100",
                assertThrowsExactly(InvalidArgumentException.class, () -> new SlaTerms.CreditTier(9_000, 0)).getMessage());
        assertEquals(0, TERMS.creditPercent(10_000));
        assertEquals(0, TERMS.creditPercent(9_990));
        assertEquals(10, TERMS.creditPercent(9_989));
        assertEquals(25, TERMS.creditPercent(9_899));
        assertEquals(100, TERMS.creditPercent(0));
    }

    @Test
    void offer_withSla_signedRoundTripped_andWithoutSlaUnchanged() {
        NodeKeyPair key = NodeKeyPair.fromSeed(new byte[32]);
        OfferTerms plain = new OfferTerms("depin://127.0.0.1:7001", List.of(new DeviceInfo(DeviceKind.CPU, "test cpu",
                1L << 30, "-", 2, 10.0, "ab".repeat(32), "-", "-")), Region.parse("DE/fra-1"), Set.of("sgemm"),
                new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")), MicroUsd.ofUsd("100"),
                T0.plus(Duration.ofDays(1)));
        ProviderOffer without = ProviderOffer.sign(key, plain);
        assertFalse(new String(without.toJson(), StandardCharsets.UTF_8).contains("\"sla\""),
                "an offer without an SLA signs exactly the bytes it did before SLAs existed");
        ProviderOffer with = ProviderOffer.sign(key, plain.withSla(TERMS));
        ProviderOffer back = ProviderOffer.fromJson(with.toJson());
        back.verify(T0);
        assertEquals(TERMS, back.terms().sla());
        assertEquals(with.terms(), back.terms());
        // The SLA is signed: a buyer cannot be shown a softer one.
        String json = new String(with.toJson(), StandardCharsets.UTF_8).replace("\"withinMillis\":200",
                "\"withinMillis\":900");
        ProviderOffer softened = ProviderOffer.fromJson(json.getBytes(StandardCharsets.UTF_8));
        assertThrowsExactly(InvalidOfferException.class, () -> softened.verify(T0));
        String bad = new String(with.toJson(), StandardCharsets.UTF_8).replace("\"creditPercent\":100",
                "\"creditPercent\":101");
        assertEquals("offer SLA is invalid: SLA credit 101 % must be 1 to 100", assertThrowsExactly(
                InvalidOfferException.class, () -> ProviderOffer.fromJson(bad.getBytes(StandardCharsets.UTF_8)))
                .getMessage());
    }

    @Test
    void meter_thousandJobsWithSlownessAndAnOutage_statementsMatchAReferenceCount() {
        System.out.println("SlaTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeId a = node(0);
        NodeId b = node(1);
        SlaMeter meter = new SlaMeter(TERMS);
        // Reference: provider, hour -> {good, late, failed, uncovered, charges}
        Map<String, long[]> want = new HashMap<>();
        Instant outageFrom = T0.plus(Duration.ofMinutes(70));
        Instant outageTo = T0.plus(Duration.ofMinutes(75));
        for (int j = 0; j < 1_000; j++) {
            String job = String.format("job-%04d", j);
            NodeId p = j % 3 == 0 ? b : a;
            Instant at = T0.plusMillis(rnd.nextLong(3 * 3_600_000L));
            long flops = rnd.nextInt(10) == 0 ? Long.MAX_VALUE : rnd.nextBoolean() ? 500_000 : 5_000_000_000L;
            long bound = flops <= 1_000_000 ? 200 : 5_000;
            boolean slow = rnd.nextInt(100) < (p == b ? 8 : 1); // b is slow 8 % of the time
            boolean down = p == a && !at.isBefore(outageFrom) && at.isBefore(outageTo); // a killed for 5 min
            long took = slow ? bound + 1 + rnd.nextInt(1_000) : rnd.nextLong(bound + 1);
            List<JobEvent> history = new ArrayList<>();
            Map<NodeId, MicroUsd> charges = new HashMap<>();
            int hour = (int) (Duration.between(T0, at).toHours());
            long[] w = want.computeIfAbsent(p.hex() + "/" + hour, k -> new long[5]);
            if (rnd.nextInt(20) == 0) { // a hedge: the other provider raced and lost, cancelled
                NodeId other = p == a ? b : a;
                history.addAll(attempt(job, 2, other, at.plusMillis(50), 10, AttemptState.CANCELLED));
            }
            if (down) {
                history.addAll(attempt(job, 1, p, at, 30_000, AttemptState.FAILED));
            } else {
                history.addAll(attempt(job, 1, p, at, took, AttemptState.ACCEPTED));
                charges.put(p, MicroUsd.ofMicros(100));
            }
            meter.record(job, flops, history, charges);
            if (flops == Long.MAX_VALUE) {
                w[3]++;
            } else if (down) {
                w[2]++;
            } else if (slow) {
                w[1]++;
            } else {
                w[0]++;
            }
            w[4] += charges.containsKey(p) ? 100 : 0;
        }
        int nonCompliant = 0;
        List<SlaStatement> closed = meter.closedStatements(T0.plus(Duration.ofHours(3)));
        assertEquals(6, closed.size(), "2 providers x 3 hours");
        for (SlaStatement s : closed) {
            long[] w = want.get(s.provider().hex() + "/" + Duration.between(T0, s.periodStart()).toHours());
            assertEquals(w[0], s.good(), s.toString());
            assertEquals(w[1], s.late(), s.toString());
            assertEquals(w[2], s.failed(), s.toString());
            assertEquals(w[3], s.uncovered(), s.toString());
            assertEquals(w[4], s.charges().micros(), s.toString());
            long counted = w[0] + w[1] + w[2];
            int bp = (int) (w[0] * 10_000 / counted);
            assertEquals(bp, s.complianceBasisPoints());
            assertEquals(TERMS.creditPercent(bp), s.creditPercent());
            assertEquals(w[4] * s.creditPercent() / 100, s.credit().micros());
            nonCompliant += s.compliant() ? 0 : 1;
        }
        assertTrue(nonCompliant >= 4, "b misses every hour, a the hour of its outage: " + closed);
        SlaStatement outage = meter.statement(a, T0.plus(Duration.ofMinutes(61)));
        assertTrue(outage.failed() > 0 && outage.creditPercent() > 0, outage.toString());
        assertEquals(List.of(), meter.closedStatements(T0.plus(Duration.ofMinutes(59))), "no period has ended");
        assertEquals("job job-0000 was recorded already: each job counts once", assertThrowsExactly(
                InvalidArgumentException.class, () -> meter.record("job-0000", 1, List.of(), Map.of())).getMessage());
    }

    @Test
    void statement_creditKey_onePerProviderPeriodAndBuyer() {
        SlaStatement s = new SlaMeter(TERMS).statement(node(0), T0.plusSeconds(10));
        assertTrue(s.compliant());
        assertEquals("sla/" + node(0).hex() + "/" + T0.toEpochMilli() + "/buyer:acme",
                s.creditKey(dev.depin.settlement.AccountId.of("buyer:acme")).value());
        String longBuyer = "b".repeat(128);
        assertTrue(s.creditKey(dev.depin.settlement.AccountId.of(longBuyer)).value().length() <= 200);
    }
}
