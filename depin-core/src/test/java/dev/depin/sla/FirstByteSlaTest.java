package dev.depin.sla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobHandle;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time to first byte as an SLA objective: timed from the transport's report on the buyer's
 * clock, kept in the journal (old journals without it still read), and counted against the
 * offer's first-byte bound apart from lateness of the whole result.
 */
class FirstByteSlaTest {
    private static final AccountId BUYER = AccountId.of("buyer:first-byte-test");
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
    /** Results within 1 s, first bytes within 100 ms; an hour's period, the standard schedule. */
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofSeconds(1)))).withFirstByteWithin(
            Duration.ofMillis(100));

    private static NodeKeyPair key(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 1);
        seed[1] = (byte) 0xfb;
        return NodeKeyPair.fromSeed(seed);
    }

    private static ProviderOffer offer(int i, SlaTerms terms) {
        try (ProviderNode n = ProviderNode.builder(key(i), new CpuExecutor(1)).sla(terms).build()) {
            return n.offer();
        }
    }

    private static SlaRecord.Attempt attempt(int n, ProviderOffer o, long endMs, AttemptState end, Long firstByteMs) {
        Instant d = T0.plusSeconds(n);
        return new SlaRecord.Attempt(n, o, d, end, end == null ? null : d.plusMillis(endMs),
                firstByteMs == null ? null : d.plusMillis(firstByteMs));
    }

    @Test
    void meter_firstByteBound_countedApart_withTheBoundaryAndTheMissingReport() {
        ProviderOffer o = offer(0, TERMS);
        SlaBook book = new SlaBook();
        List<SlaRecord.Attempt> attempts = List.of(
                attempt(1, o, 900, AttemptState.ACCEPTED, 100L),    // first byte exactly at the bound: good
                attempt(2, o, 900, AttemptState.ACCEPTED, 101L),    // one millisecond over: late first byte
                attempt(3, o, 100, AttemptState.ACCEPTED, null),    // none reported: its end, at the bound, stands in
                attempt(4, o, 101, AttemptState.ACCEPTED, null),    // none reported, ended after the bound
                attempt(5, o, 1001, AttemptState.ACCEPTED, 50L),    // whole result late: late, not late first byte
                attempt(6, o, 20, AttemptState.FAILED, 10L),        // failed, however quick its first byte
                attempt(7, o, 5_000, AttemptState.CANCELLED, 4_000L)); // withdrawn: not counted
        for (int i = 0; i < attempts.size(); i++) {
            book.record(new SlaRecord("job-" + i, 1000, List.of(attempts.get(i)),
                    attempts.get(i).end() == AttemptState.ACCEPTED ? Map.of(o.nodeId(), MicroUsd.ofMicros(1_000))
                            : Map.of()));
        }
        SlaStatement s = book.statement(o.nodeId(), T0).orElseThrow();
        assertEquals(List.of(2L, 1L, 2L, 1L), List.of(s.good(), s.late(), s.lateFirstByte(), s.failed()));
        assertEquals(6, s.counted());
        assertEquals(3_333, s.complianceBasisPoints());
        assertEquals(100, s.creditPercent());
        assertEquals(MicroUsd.ofMicros(5_000), s.charges());
        assertEquals(MicroUsd.ofMicros(5_000), s.credit());
        assertTrue(s.toString().contains(" good 2 late 1 late first byte 2 failed 1 "), s.toString());

        // The same attempts under terms without a first-byte bound: a late first byte is no breach.
        ProviderOffer plain = offer(1, TERMS.withFirstByteWithin(null));
        SlaBook other = new SlaBook();
        for (int i = 0; i < 5; i++) {
            SlaRecord.Attempt a = attempts.get(i);
            other.record(new SlaRecord("job-" + i, 1000, List.of(new SlaRecord.Attempt(a.number(), plain,
                    a.dispatched(), a.end(), a.endedAt(), a.firstByteAt())), Map.of()));
        }
        SlaStatement p = other.statement(plain.nodeId(), T0).orElseThrow();
        assertEquals(List.of(4L, 1L, 0L, 0L), List.of(p.good(), p.late(), p.lateFirstByte(), p.failed()));
        assertFalse(p.toString().contains("first byte"), "statements of SLAs without it print as before");
    }

    @Test
    void attempt_firstByteOutsideDispatchAndEnd_refused() {
        ProviderOffer o = offer(0, TERMS);
        assertEquals("attempt 1 has its first byte at 2026-12-05T09:59:59.999Z, outside its dispatch at "
                + "2026-12-05T10:00:00Z and end at 2026-12-05T10:00:01Z", assertThrowsExactly(
                InvalidArgumentException.class, () -> new SlaRecord.Attempt(1, o, T0, AttemptState.ACCEPTED,
                        T0.plusSeconds(1), T0.minusMillis(1))).getMessage());
        assertEquals("attempt 1 has its first byte at 2026-12-05T10:00:01.001Z, outside its dispatch at "
                + "2026-12-05T10:00:00Z and end at 2026-12-05T10:00:01Z", assertThrowsExactly(
                InvalidArgumentException.class, () -> new SlaRecord.Attempt(1, o, T0, AttemptState.ACCEPTED,
                        T0.plusSeconds(1), T0.plusMillis(1_001))).getMessage());
        // Built from a job's history, a time outside (a clock stepped meanwhile) is held to the attempt's span.
        List<dev.depin.job.JobEvent> history = List.of(
                new dev.depin.job.JobEvent("j", 1, dev.depin.job.JobState.DISPATCHED, AttemptState.DISPATCHED,
                        o.nodeId(), T0, ""),
                new dev.depin.job.JobEvent("j", 1, dev.depin.job.JobState.RETURNED, AttemptState.ACCEPTED,
                        o.nodeId(), T0.plusSeconds(1), ""));
        assertEquals(T0.plusSeconds(1), SlaRecord.of("j", 1, history, null, Map.of(1, o),
                Map.of(1, T0.plusSeconds(5))).attempts().get(0).firstByteAt());
        assertEquals(T0, SlaRecord.of("j", 1, history, null, Map.of(1, o),
                Map.of(1, T0.minusSeconds(5))).attempts().get(0).firstByteAt());
    }

    /** A journal written before first bytes were timed, line for line as that version wrote it. */
    @Test
    void journal_oldFileWithoutFirstBytes_readsAsBefore_andTakesNewRecordsWithThem(@TempDir Path dir)
            throws Exception {
        ProviderOffer o = offer(0, TERMS.withFirstByteWithin(null));
        Path file = dir.resolve("old.jsonl");
        String header = "{\"buyer\":\"" + BUYER.value() + "\",\"format\":\"depin-sla-journal/1\"}\n";
        String offerLine = "{\"offer\":" + new String(o.toJson(), StandardCharsets.UTF_8) + ",\"type\":\"offer\"}\n";
        String job = "{\"attempts\":[{\"dispatched\":\"2026-12-05T10:00:00Z\",\"end\":\"ACCEPTED\","
                + "\"ended\":\"2026-12-05T10:00:00.500Z\",\"n\":1,\"offer\":\"" + o.digest() + "\"}],"
                + "\"charges\":{\"" + o.nodeId().hex() + "\":\"700\"},\"flops\":1000,\"job\":\"old-1\",\"type\":\"job\"}\n";
        String failed = "{\"attempts\":[{\"dispatched\":\"2026-12-05T10:00:02Z\",\"n\":1,\"offer\":\"" + o.digest()
                + "\"}],\"charges\":{},\"flops\":1000,\"job\":\"old-2\",\"type\":\"job\"}\n";
        Files.writeString(file, header + offerLine + job + failed);
        SlaJournal.Contents read = SlaJournal.read(file);
        SlaStatement s = read.book().statement(o.nodeId(), T0).orElseThrow();
        assertEquals(List.of(1L, 0L, 0L, 1L), List.of(s.good(), s.late(), s.lateFirstByte(), s.failed()));
        assertEquals(MicroUsd.ofMicros(700), s.charges());
        // Reopened for appending by this version: a new job with its first byte, both read back.
        try (SlaJournal j = SlaJournal.open(file, BUYER)) {
            j.record(new SlaRecord("new-1", 1000, List.of(new SlaRecord.Attempt(1, o, T0.plusSeconds(5),
                    AttemptState.ACCEPTED, T0.plusSeconds(6), T0.plusMillis(5_250))), Map.of()));
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(List.of(header.strip(), offerLine.strip(), job.strip(), failed.strip()), lines.subList(0, 4),
                "the old lines are kept as they were");
        assertTrue(lines.get(4).contains("\"firstByte\":\"2026-12-05T10:00:05.250Z\""), lines.get(4));
        SlaJournal.Contents again = SlaJournal.read(file);
        assertEquals(3, again.book().jobs());
        assertEquals(2, again.book().statement(o.nodeId(), T0).orElseThrow().good());
        // A first byte that does not fit its attempt refuses the file, naming the line.
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, header + offerLine + job.replace("\"end\":", "\"firstByte\":\"2026-12-05T10:00:01Z\",\"end\":"));
        assertEquals("line 3 of the SLA journal " + bad + " does not check: attempt 1 has its first byte at "
                        + "2026-12-05T10:00:01Z, outside its dispatch at 2026-12-05T10:00:00Z and end at "
                        + "2026-12-05T10:00:00.500Z: nothing was read from this file; restore it from the buyer's "
                        + "copy or name the right file",
                assertThrowsExactly(SlaJournalException.class, () -> SlaJournal.read(bad)).getMessage());
        Files.writeString(bad, header + offerLine + job.replace("\"end\":", "\"firstByte\":\"soon\",\"end\":"));
        assertEquals("line 3 of the SLA journal " + bad + " has a firstByte time that is not an ISO-8601 instant: "
                        + "nothing was read from this file; restore it from the buyer's copy or name the right file",
                assertThrowsExactly(SlaJournalException.class, () -> SlaJournal.read(bad)).getMessage());
    }

    /**
     * Through the client over the in-process network: every verified attempt's first byte is
     * timed by the transport, between its dispatch and its end, and the journal keeps it.
     */
    @Test
    void client_timesEachAttemptsFirstByte_andTheJournalKeepsIt(@TempDir Path dir) {
        Path file = dir.resolve("sla.jsonl");
        SlaTerms generous = SlaTerms.standard(Duration.ofDays(1), List.of(new SlaTerms.Objective(Long.MAX_VALUE,
                Duration.ofDays(1)))).withFirstByteWithin(Duration.ofDays(1));
        List<ProviderNode> nodes = List.of(ProviderNode.builder(key(2), new CpuExecutor(1)).sla(generous)
                .price(new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(10_000))).build());
        List<SlaRecord> seen = new ArrayList<>();
        List<JobHandle> handles = new ArrayList<>();
        try (LocalNetwork net = LocalNetwork.of(nodes); SlaJournal journal = SlaJournal.open(file, BUYER);
             DepinClient client = DepinClient.builder(net).maxAttempts(2).sla(new SlaRecorder() {
                 @Override
                 public void record(SlaRecord record) {
                     synchronized (seen) {
                         seen.add(record);
                     }
                     journal.record(record);
                 }
             }).build()) {
            for (int n : new int[] {1, 4096, 100_000}) {
                JobHandle h = client.submit(Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n)
                        .input("x", new float[n]).timeout(Duration.ofSeconds(60)).build());
                h.result();
                handles.add(h);
            }
        }
        assertEquals(3, seen.size());
        for (SlaRecord r : seen) {
            SlaRecord.Attempt a = r.attempts().get(0);
            assertEquals(AttemptState.ACCEPTED, a.end());
            assertNotNull(a.firstByteAt(), r.jobId());
            assertFalse(a.firstByteAt().isBefore(a.dispatched()), r.jobId());
            assertFalse(a.firstByteAt().isAfter(a.endedAt()), r.jobId());
        }
        SlaJournal.Contents read = SlaJournal.read(file);
        assertEquals(3, read.book().statements(nodes.get(0).nodeId()).stream().mapToLong(SlaStatement::good).sum());
        nodes.forEach(ProviderNode::close);
    }
}
