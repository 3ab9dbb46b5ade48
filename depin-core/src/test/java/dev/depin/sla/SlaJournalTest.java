package dev.depin.sla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CorruptingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.AccountId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SLA wired into the client: every finished job reaches the recorder under the terms its
 * provider signed, before its result is delivered; the journal keeps it across a crash (a torn
 * last line) and a restart, and refuses files that are not its own.
 */
class SlaJournalTest {
    private static final long SEED = 0x5_1A_10_2026L;
    private static final AccountId BUYER = AccountId.of("buyer:sla-test");
    /** Generous bounds: whether an attempt is late depends on no machine's speed in this test. */
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofDays(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofDays(1))));

    @BeforeAll
    static void seed() {
        System.out.println("SlaJournalTest seed = " + SEED);
    }

    private static NodeKeyPair key(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 1);
        seed[1] = 0x51;
        return NodeKeyPair.fromSeed(seed);
    }

    private static Job saxpy(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-100, 101);
            y[i] = rnd.nextInt(-100, 101);
        }
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 3).input("x", x).input("y", y)
                .verification(VerificationPolicy.spotCheck(1.0)).maxPrice(MicroUsd.ofUsd("1"))
                .timeout(Duration.ofSeconds(60)).build();
    }

    /**
     * Provider 0 (cheapest, so tried first) corrupts every result and signs an SLA; provider 1 is
     * honest and signs the same SLA; provider 2 signs none. The first job's disputed attempt at
     * provider 0 is a failed attempt, every verified attempt at provider 1 a good one, and
     * provider 2, which promised nothing, is not metered.
     */
    @Test
    void client_metersEveryJobUnderTheSignedTerms_beforeItsResult_andTheJournalReadsBackTheSame(@TempDir Path dir) {
        Path file = dir.resolve("sla.jsonl");
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            var exec = i == 0 ? new CorruptingExecutor(new CpuExecutor(1), CorruptingExecutor.addOneToMiddleElement())
                    : new CpuExecutor(1);
            nodes.add(ProviderNode.builder(key(i), exec).sla(i < 2 ? TERMS : null)
                    .price(new Price(MicroUsd.ofMicros((long) Math.pow(10, 3 + i)), MicroUsd.ofMicros(10_000))).build());
        }
        List<JobHandle> handles = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(SEED);
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (LocalNetwork net = LocalNetwork.of(nodes); SlaJournal journal = SlaJournal.open(file, BUYER, registry);
             DepinClient client = DepinClient.builder(net).maxAttempts(3).banAfterDisputes(1).sla(journal).build()) {
            for (int i = 0; i < 6; i++) {
                JobHandle h = client.submit(saxpy(rnd, 1 + rnd.nextInt(4096)));
                h.result();
                assertTrue(journal.book().contains(h.jobId()), "recorded before its result was delivered: " + i);
                handles.add(h);
            }
            SlaBook live = journal.book();
            assertEquals(6, live.jobs());
            assertEquals(List.of(nodes.get(0).nodeId(), nodes.get(1).nodeId()).stream()
                    .sorted(java.util.Comparator.comparing(dev.depin.crypto.NodeId::hex)).toList(), live.providers());
            assertEquals(0, total(live, nodes.get(0), "good"));
            assertEquals(1, total(live, nodes.get(0), "failed"), "the disputed attempt");
            assertEquals(6, total(live, nodes.get(1), "good"));
            assertEquals(0, total(live, nodes.get(1), "failed") + total(live, nodes.get(1), "late"));
            long paid = handles.stream().mapToLong(h -> h.result().cost().micros()).sum();
            assertEquals(paid, live.statements(nodes.get(1).nodeId()).stream().mapToLong(s -> s.charges().micros())
                    .sum(), "without an escrow, each job's cost is the honest provider's charge");
            assertEquals(List.of(), live.statements(nodes.get(2).nodeId()), "no SLA signed, none metered");
            assertEquals(nodes.get(1).offer().terms().sla(), live.offer(nodes.get(1).nodeId()).orElseThrow().terms().sla());

            // The same figures as meters, per provider (docs/metrics.md).
            String liar = nodes.get(0).nodeId().shortId();
            String honest = nodes.get(1).nodeId().shortId();
            assertEquals(1.0, registry.get("depin.sla.attempts").tag("provider", liar).tag("outcome", "failed")
                    .functionCounter().count());
            assertEquals(6.0, registry.get("depin.sla.attempts").tag("provider", honest).tag("outcome", "good")
                    .functionCounter().count());
            assertEquals((double) live.statements(nodes.get(0).nodeId()).stream().filter(x -> !x.compliant()).count(),
                    registry.get("depin.sla.breached.periods").tag("provider", liar).gauge().value());
            assertEquals(0.0, registry.get("depin.sla.credits.owed").tag("provider", liar).functionCounter().count(),
                    "the liar was never paid: 100 % of nothing");
            assertTrue(registry.find("depin.sla.attempts").tag("provider", nodes.get(2).nodeId().shortId())
                    .functionCounters().isEmpty(), "no SLA signed, no meters");

            SlaJournal.Contents read = SlaJournal.read(file);
            assertEquals(BUYER, read.buyer());
            assertFalse(read.tornTail());
            for (ProviderNode n : nodes) {
                assertEquals(live.statements(n.nodeId()), read.book().statements(n.nodeId()));
            }
            assertEquals("job " + handles.get(0).jobId() + " was recorded already: each job counts once",
                    assertThrowsExactly(InvalidArgumentException.class, () -> journal.record(
                            SlaRecord.of(handles.get(0).jobId(), 1, handles.get(0).events(), null, Map.of())))
                            .getMessage());
            assertEquals("the SLA journal " + file + " is open for writing elsewhere (another client or process): "
                            + "give each client its own journal",
                    assertThrowsExactly(SlaJournalException.class, () -> SlaJournal.open(file, BUYER)).getMessage());
        }
        // Reopened after a restart: the same book, and records go on from there.
        try (SlaJournal again = SlaJournal.open(file, BUYER)) {
            assertEquals(6, again.book().jobs());
            assertEquals(6, total(again.book(), nodes.get(1), "good"));
        }
        nodes.forEach(ProviderNode::close);
    }

    private static long total(SlaBook book, ProviderNode node, String what) {
        return book.statements(node.nodeId()).stream().mapToLong(s -> switch (what) {
            case "good" -> s.good();
            case "late" -> s.late();
            default -> s.failed();
        }).sum();
    }

    /** Two jobs recorded by hand: one good attempt, one failed then good on another provider. */
    private static List<SlaRecord> records(ProviderOffer a, ProviderOffer b, Instant t0) {
        return List.of(
                new SlaRecord("job-1", 1000, List.of(new SlaRecord.Attempt(1, a, t0, AttemptState.ACCEPTED,
                        t0.plusMillis(5))), Map.of(a.nodeId(), MicroUsd.ofMicros(700))),
                new SlaRecord("job-2", 1000, List.of(
                        new SlaRecord.Attempt(1, a, t0.plusSeconds(1), null, null),
                        new SlaRecord.Attempt(2, b, t0.plusSeconds(2), AttemptState.ACCEPTED, t0.plusSeconds(3))),
                        Map.of(b.nodeId(), MicroUsd.ofMicros(300))));
    }

    private static ProviderOffer offer(int i, SlaTerms terms) {
        try (ProviderNode n = ProviderNode.builder(key(i), new CpuExecutor(1)).sla(terms).build()) {
            return n.offer();
        }
    }

    @Test
    void journal_lineTornByACrash_isIgnoredOnRead_andCutOffOnOpen(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sla.jsonl");
        ProviderOffer a = offer(0, TERMS);
        ProviderOffer b = offer(1, TERMS);
        Instant t0 = Instant.parse("2026-12-05T10:00:00.000123456Z");
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            records(a, b, t0).forEach(j::record);
        }
        long complete = Files.size(file);
        Files.write(file, "{\"attempts\":[{\"dispatched\":\"2026-12".getBytes(StandardCharsets.UTF_8),
                java.nio.file.StandardOpenOption.APPEND);
        SlaJournal.Contents read = SlaJournal.read(file);
        assertTrue(read.tornTail());
        assertEquals(2, read.book().jobs());
        SlaStatement sa = read.book().statement(a.nodeId(), t0).orElseThrow();
        assertEquals(List.of(1L, 0L, 1L), List.of(sa.good(), sa.late(), sa.failed()));
        assertEquals(MicroUsd.ofMicros(700), sa.charges());
        assertEquals(5_000, sa.complianceBasisPoints());
        assertEquals(100, sa.creditPercent());
        assertEquals(MicroUsd.ofMicros(700), sa.credit());
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            assertEquals(complete, Files.size(file), "the torn line is cut off");
            j.record(new SlaRecord("job-3", 1, List.of(new SlaRecord.Attempt(1, b, t0.plusSeconds(9),
                    AttemptState.ACCEPTED, t0.plusSeconds(10))), Map.of()));
        }
        SlaJournal.Contents after = SlaJournal.read(file);
        assertFalse(after.tornTail());
        assertEquals(3, after.book().jobs());
        assertEquals(2, after.book().statement(b.nodeId(), t0).orElseThrow().good());
    }

    @Test
    void journal_hostileOrForeignFiles_refusedWithWhatToDo(@TempDir Path dir) throws Exception {
        ProviderOffer a = offer(0, TERMS);
        ProviderOffer b = offer(1, TERMS);
        Path good = dir.resolve("good.jsonl");
        try (SlaJournal j = SlaJournal.open(good, BUYER)) {
            records(a, b, Instant.parse("2026-12-05T10:00:00Z")).forEach(j::record);
        }
        List<String> lines = Files.readAllLines(good);

        Path missing = dir.resolve("none.jsonl");
        assertEquals("there is no SLA journal at " + missing + ": name the file a buyer's client records into (e.g. "
                + "the sla.jsonl that depin demo --out DIR writes)", refused(missing));
        assertEquals(dir + " is not a regular file (a directory): name an SLA journal file", refused(dir));
        assertEquals(dir + " is not a regular file (a directory): name an SLA journal file",
                assertThrowsExactly(SlaJournalException.class, () -> SlaJournal.open(dir, BUYER)).getMessage());
        Path foreign = write(dir, "foreign.txt", "hello, world\n");
        assertEquals("line 1 of the SLA journal " + foreign + " is not JSON (is this an SLA journal?): nothing was "
                + "read from this file; restore it from the buyer's copy or name the right file", refused(foreign));
        Path empty = write(dir, "empty.jsonl", "");
        assertEquals(empty + " is not an SLA journal: it has no header line (an empty file, or one cut off while it "
                + "was created) -- name the journal the buyer's client wrote", refused(empty));
        Path other = write(dir, "other.json", "{\"buyer\":\"buyer:x\",\"format\":\"depin-ledger/1\"}\n");
        assertEquals(other + " is not an SLA journal (format '\"depin-ledger/1\"', expected 'depin-sla-journal/1'): "
                + "name the journal the buyer's client wrote", refused(other));
        assertEquals("the SLA journal " + good + " is the journal of buyer:sla-test, not of buyer:someone-else: use "
                        + "another file for this buyer",
                assertThrowsExactly(SlaJournalException.class, () -> SlaJournal.open(good,
                        AccountId.of("buyer:someone-else"))).getMessage());

        // A provider's signed terms altered in the file: 100 % credit below 95 % becomes 100 % below 99.99 %.
        String offerLine = lines.get(1);
        assertTrue(offerLine.contains("\"belowBasisPoints\":9500"), offerLine);
        Path forged = write(dir, "forged.jsonl", String.join("\n", lines.get(0),
                offerLine.replace("\"belowBasisPoints\":9500", "\"belowBasisPoints\":9899"),
                lines.get(2), "") );
        assertEquals("line 2 of the SLA journal " + forged + " does not check: offer from " + a.nodeId().shortId()
                + " is not signed by its key (terms altered or forged): ignore this offer: nothing was read from this "
                + "file; restore it from the buyer's copy or name the right file", refused(forged));
        // A job line whose offer never appeared.
        Path orphan = write(dir, "orphan.jsonl", lines.get(0) + "\n" + lines.get(2) + "\n");
        assertEquals("line 2 of the SLA journal " + orphan + " names offer " + a.digest() + ", which no earlier line "
                + "holds: nothing was read from this file; restore it from the buyer's copy or name the right file",
                refused(orphan));
        // The same job twice: it would count twice.
        Path twice = write(dir, "twice.jsonl", String.join("\n", lines.get(0), lines.get(1), lines.get(2),
                lines.get(2), ""));
        assertEquals("line 4 of the SLA journal " + twice + " records job job-1 a second time: nothing was read from "
                + "this file; restore it from the buyer's copy or name the right file", refused(twice));
        // A negative charge.
        Path negative = write(dir, "negative.jsonl", String.join("\n", lines.get(0), lines.get(1),
                lines.get(2).replace("\"700\"", "\"-700\""), ""));
        assertEquals("line 3 of the SLA journal " + negative + " has a negative charge: nothing was read from this "
                + "file; restore it from the buyer's copy or name the right file", refused(negative));
    }

    private static String refused(Path file) {
        return assertThrowsExactly(SlaJournalException.class, () -> SlaJournal.read(file)).getMessage();
    }

    private static Path write(Path dir, String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }
}
