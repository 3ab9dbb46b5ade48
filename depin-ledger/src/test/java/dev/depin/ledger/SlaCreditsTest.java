package dev.depin.ledger;

import dev.depin.provider.SlaTerms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.AttemptState;
import dev.depin.job.JobEvent;
import dev.depin.job.JobState;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.StatementLine;
import dev.depin.sla.SlaCredits;
import dev.depin.sla.SlaMeter;
import dev.depin.sla.SlaStatement;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * SLA credits through the real ledger: every credit the schedule implies is paid from the
 * provider's stake exactly once, however often and from however many threads it is settled,
 * and none that it does not; the statements sum to the ledger.
 */
class SlaCreditsTest {
    private static final long SEED = 0x51A_C4ED17L;
    private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
    private static final AccountId BUYER = AccountId.of("buyer:sla-test");
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE - 1, Duration.ofMillis(500))));

    private static NodeId node(int i) {
        byte[] seed = new byte[32];
        seed[31] = (byte) (i + 7);
        return NodeKeyPair.fromSeed(seed).publicKey().nodeId();
    }

    @Test
    void thousandJobs_creditsPaidExactlyOnceAndStatementsSumToTheLedger() throws Exception {
        System.out.println("SlaCreditsTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<NodeId> providers = List.of(node(0), node(1), node(2));
        SlaMeter meter = new SlaMeter(TERMS);
        for (int j = 0; j < 1_000; j++) {
            String job = "job-" + j;
            NodeId p = providers.get(j % 3);
            Instant at = T0.plusMillis(rnd.nextLong(4 * 3_600_000L));
            // provider 0 keeps its promise, 1 is slow now and then, 2 is killed for the second hour
            boolean killed = p.equals(providers.get(2)) && at.isAfter(T0.plus(Duration.ofHours(1)))
                    && at.isBefore(T0.plus(Duration.ofHours(2)));
            long took = p.equals(providers.get(1)) && rnd.nextInt(100) < 5 ? 501 + rnd.nextInt(2_000)
                    : rnd.nextLong(500);
            AttemptState end = killed ? AttemptState.FAILED : AttemptState.ACCEPTED;
            meter.record(job, 1_000, List.of(new JobEvent(job, 1, JobState.RUNNING, AttemptState.DISPATCHED, p, at, ""),
                    new JobEvent(job, 1, JobState.RUNNING, end, p, at.plusMillis(killed ? 10_000 : took), "")),
                    killed ? Map.of() : Map.of(p, MicroUsd.ofMicros(1_000 + rnd.nextInt(1_000))));
        }
        try (JdbcLedger ledger = Databases.sqlite().builder().open()) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
            for (NodeId p : providers) {
                AccountId stake = Escrow.stakeAccount(p);
                ledger.open(stake, AccountKind.STAKE, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("stake-" + p.shortId()), stake,
                        MicroUsd.ofUsd("10"))).join();
            }
            Instant now = T0.plus(Duration.ofHours(4));
            List<SlaStatement> closed = meter.closedStatements(now);
            long owed = closed.stream().mapToLong(s -> s.credit().micros()).sum();
            long breaches = closed.stream().filter(s -> !s.compliant()).count();
            assertEquals(12, closed.size());
            assertTrue(breaches >= 2, "provider 2's outage and provider 1's slowness breach: " + closed);
            assertTrue(closed.stream().filter(s -> s.provider().equals(providers.get(0))).allMatch(SlaStatement::compliant),
                    "the provider that kept its promise owes nothing");

            // Settled four times, twice at once: each credit is one ledger operation.
            List<Applied> first = SlaCredits.payAll(ledger, BUYER, meter, now).join();
            List<CompletableFuture<List<Applied>>> again = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                again.add(SlaCredits.payAll(ledger, BUYER, meter, now));
            }
            for (var f : again) {
                List<Applied> replay = f.join();
                assertEquals(first.stream().map(Applied::sequence).toList(), replay.stream().map(Applied::sequence)
                        .toList(), "a replay returns the original operations");
            }
            // A period with no charge (down the whole hour: nothing was paid) owes a share of nothing.
            assertEquals(closed.stream().filter(s -> s.credit().micros() > 0).count(), first.size());
            assertEquals(owed, ledger.balance(BUYER).posted(), "the buyer got exactly what the schedule implies");
            long fromStakes = 0;
            for (NodeId p : providers) {
                long owedByP = closed.stream().filter(s -> s.provider().equals(p)).mapToLong(s -> s.credit().micros())
                        .sum();
                long paid = 10_000_000 - ledger.balance(Escrow.stakeAccount(p)).posted();
                assertEquals(owedByP, paid, "stake of " + p.shortId());
                fromStakes += paid;
                List<StatementLine> lines = ledger.statement(Escrow.stakeAccount(p)).stream()
                        .filter(l -> l.key().value().startsWith("sla/")).toList();
                assertEquals(closed.stream().filter(s -> s.provider().equals(p) && s.credit().micros() > 0).count(),
                        lines.size());
            }
            assertEquals(owed, fromStakes, "the statements sum to the ledger");

            // A period still open is not settled, and a changed statement is never paid twice.
            SlaStatement open = meter.statement(providers.get(1), T0.plus(Duration.ofHours(3)));
            assertEquals("the SLA period of " + providers.get(1).shortId() + " ends at " + open.periodEnd() + ", after "
                    + T0.plus(Duration.ofMinutes(200)) + ": settle it once it has ended", assertThrowsExactly(
                    InvalidArgumentException.class, () -> SlaCredits.pay(ledger, BUYER, open,
                            T0.plus(Duration.ofMinutes(200)))).getMessage());
            SlaStatement paid = closed.stream().filter(s -> s.credit().micros() > 0).findFirst().orElseThrow();
            SlaStatement inflated = new SlaStatement(paid.provider(), paid.periodStart(), paid.periodEnd(), paid.good(),
                    paid.late(), paid.failed() + 1, paid.uncovered(), paid.complianceBasisPoints(), paid.charges(),
                    paid.creditPercent(), paid.credit().plus(MicroUsd.ofMicros(1)));
            CompletableFuture<?> twice = SlaCredits.pay(ledger, BUYER, inflated, now);
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, twice::join);
            assertTrue(e.getCause() instanceof dev.depin.settlement.SettlementException, String.valueOf(e.getCause()));
            assertEquals(owed, ledger.balance(BUYER).posted(), "nothing moved");
        }
    }

    /**
     * Time to first byte is credited like every other objective: through the same statement,
     * under the same key, once. Provider A's results all come in time, but 2 of its 100 first
     * bytes of the first hour come late (98 %: 25 % back), and 1 of 1,000 in the second hour
     * (99.9 %, exactly the promise: nothing back); provider B's all come in time.
     */
    @Test
    void lateFirstBytes_creditedOnceThroughTheLedger_andTheBoundaryOwesNothing() throws Exception {
        SlaTerms terms = TERMS.withFirstByteWithin(Duration.ofMillis(100));
        dev.depin.provider.ProviderOffer a = offer(0, terms);
        dev.depin.provider.ProviderOffer b = offer(1, terms);
        dev.depin.sla.SlaBook book = new dev.depin.sla.SlaBook();
        int job = 0;
        for (int hour = 0; hour < 2; hour++) {
            int jobs = hour == 0 ? 100 : 1_000;
            int lateFirst = hour == 0 ? 2 : 1;
            for (int i = 0; i < jobs; i++) {
                for (dev.depin.provider.ProviderOffer o : List.of(a, b)) {
                    Instant at = T0.plus(Duration.ofHours(hour)).plusMillis(i * 3_000L);
                    long first = o == a && i < lateFirst ? 101 : 100;
                    book.record(new dev.depin.sla.SlaRecord("job-" + job++, 1_000, List.of(
                            new dev.depin.sla.SlaRecord.Attempt(1, o, at, AttemptState.ACCEPTED, at.plusMillis(400),
                                    at.plusMillis(first))), Map.of(o.nodeId(), MicroUsd.ofMicros(1_000))));
                }
            }
        }
        Instant now = T0.plus(Duration.ofHours(2));
        List<SlaStatement> closed = book.closedStatements(now);
        SlaStatement a0 = book.statement(a.nodeId(), T0).orElseThrow();
        assertEquals(List.of(98L, 0L, 2L, 0L), List.of(a0.good(), a0.late(), a0.lateFirstByte(), a0.failed()));
        assertEquals(9_800, a0.complianceBasisPoints());
        assertEquals(MicroUsd.ofMicros(25_000), a0.credit());
        SlaStatement a1 = book.statement(a.nodeId(), T0.plus(Duration.ofHours(1))).orElseThrow();
        assertEquals(9_990, a1.complianceBasisPoints());
        assertEquals(MicroUsd.ZERO, a1.credit(), "exactly the promised 99.9 % owes nothing");
        try (JdbcLedger ledger = Databases.sqlite().builder().open()) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
            for (dev.depin.provider.ProviderOffer o : List.of(a, b)) {
                AccountId stake = Escrow.stakeAccount(o.nodeId());
                ledger.open(stake, AccountKind.STAKE, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("stake-" + o.nodeId().shortId()), stake,
                        MicroUsd.ofUsd("10"))).join();
            }
            List<Applied> first = SlaCredits.payAll(ledger, BUYER, closed, now).join();
            List<Applied> again = SlaCredits.payAll(ledger, BUYER, book.closedStatements(now), now).join();
            assertEquals(1, first.size(), "one credit: provider A's first hour");
            assertEquals(first.stream().map(Applied::sequence).toList(), again.stream().map(Applied::sequence).toList());
            assertEquals(25_000, ledger.balance(BUYER).posted());
            assertEquals(10_000_000 - 25_000, ledger.balance(Escrow.stakeAccount(a.nodeId())).posted());
            assertEquals(10_000_000, ledger.balance(Escrow.stakeAccount(b.nodeId())).posted());
        }
    }

    @Test
    void listedVia_creditFromTheNamedDirectorysStatement_paidOnce_andPendingStatementsRefused() throws Exception {
        NodeKeyPair directory = NodeKeyPair.fromSeed(new byte[] {(byte) 0xd1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31});
        NodeKeyPair stranger = NodeKeyPair.fromSeed(new byte[] {(byte) 0xd2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31});
        dev.depin.provider.ProviderOffer a = offer(0, TERMS.withListedVia(directory.publicKey()));
        dev.depin.provider.ProviderOffer b = offer(1, TERMS);
        dev.depin.sla.SlaBook book = new dev.depin.sla.SlaBook();
        for (int i = 0; i < 200; i++) { // every attempt good: only the listing can owe a credit
            for (dev.depin.provider.ProviderOffer o : List.of(a, b)) {
                Instant at = T0.plusMillis(i * 10_000L);
                book.record(new dev.depin.sla.SlaRecord("job-" + o.nodeId().shortId() + "-" + i, 1_000, List.of(
                        new dev.depin.sla.SlaRecord.Attempt(1, o, at, AttemptState.ACCEPTED, at.plusMillis(100))),
                        Map.of(o.nodeId(), MicroUsd.ofMicros(1_000))));
            }
        }
        Instant end = T0.plus(Duration.ofHours(1));
        Instant now = end.plusSeconds(5);
        SlaStatement pending = book.statement(a.nodeId(), T0).orElseThrow();
        SlaStatement plain = book.statement(b.nodeId(), T0).orElseThrow();
        assertEquals(SlaStatement.LISTED_PENDING, pending.listedBasisPoints());
        assertEquals(SlaStatement.LISTED_NOT_PROMISED, plain.listedBasisPoints());
        assertTrue(pending.toString().endsWith(" listed: pending the directory's statement"), pending.toString());
        // Live 57 of 60 minutes (a 3-minute gap between renewals): exactly 95 %, the 25 % tier.
        List<dev.depin.sla.PresenceStatement.Interval> live = List.of(
                new dev.depin.sla.PresenceStatement.Interval(T0, T0.plus(Duration.ofMinutes(30))),
                new dev.depin.sla.PresenceStatement.Interval(T0.plus(Duration.ofMinutes(33)), end));
        dev.depin.sla.PresenceStatement presence = dev.depin.sla.PresenceStatement.issue(directory, a.nodeId(), T0,
                end, T0, now, live);
        try (JdbcLedger ledger = Databases.sqlite().builder().open()) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
            AccountId stake = Escrow.stakeAccount(a.nodeId());
            ledger.open(stake, AccountKind.STAKE, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("stake-listed"), stake, MicroUsd.ofUsd("10"))).join();
            String refusal = "the SLA of " + a.nodeId().shortId() + " from " + T0 + " also measures its listing in a "
                    + "directory: complete the statement with that directory's presence statement "
                    + "(SlaBook.withPresence) before paying";
            assertEquals(refusal, assertThrowsExactly(InvalidArgumentException.class,
                    () -> SlaCredits.payAll(ledger, BUYER, book.closedStatements(now), now)).getMessage());
            assertEquals(refusal, assertThrowsExactly(InvalidArgumentException.class,
                    () -> SlaCredits.pay(ledger, BUYER, pending, now)).getMessage());
            assertEquals(0, ledger.balance(BUYER).posted(), "a refused settlement moves no money");

            assertEquals("KEY_MISMATCH: presence statement names directory " + stranger.nodeId().shortId() + ", not the trusted "
                    + "directory " + directory.nodeId().shortId() + ": reject it", assertThrowsExactly(
                    dev.depin.crypto.VerificationException.class, () -> book.withPresence(pending,
                            dev.depin.sla.PresenceStatement.issue(stranger, a.nodeId(), T0, end, T0, now, live)))
                    .getMessage());
            assertThrowsExactly(dev.depin.crypto.VerificationException.class, () -> book.withPresence(pending,
                    dev.depin.sla.PresenceStatement.issue(directory, b.nodeId(), T0, end, T0, now, List.of())),
                    "a statement about another provider");
            assertEquals("the presence statement covers " + T0 + ".." + end.minusSeconds(1) + ", not the SLA period "
                    + T0 + ".." + end + ": ask the directory for exactly the period, once it has ended",
                    assertThrowsExactly(InvalidArgumentException.class, () -> book.withPresence(pending,
                            dev.depin.sla.PresenceStatement.issue(directory, a.nodeId(), T0, end.minusSeconds(1), T0,
                                    now, List.of()))).getMessage());
            assertEquals("the SLA statement of " + b.nodeId().shortId() + " from " + T0 + " is under terms that name "
                    + "no directory: it has no listed share to add", assertThrowsExactly(InvalidArgumentException.class,
                    () -> book.withPresence(plain, dev.depin.sla.PresenceStatement.issue(directory, b.nodeId(), T0,
                            end, T0, now, List.of()))).getMessage());

            SlaStatement done = book.withPresence(pending, presence);
            assertEquals(List.of(9_500, 9_500, 25), List.of(done.listedBasisPoints(), done.complianceBasisPoints(),
                    done.creditPercent()));
            assertEquals(10_000, done.attemptsBasisPoints());
            assertEquals(MicroUsd.ofMicros(50_000), done.credit(), "25 % of 200 jobs at 1,000 micro-USD");
            assertTrue(done.toString().endsWith(" listed 95.00 %"), done.toString());
            assertEquals("the SLA statement of " + a.nodeId().shortId() + " from " + T0 + " already has its listed "
                    + "share: apply a directory's statement once", assertThrowsExactly(InvalidArgumentException.class,
                    () -> book.withPresence(done, presence)).getMessage());

            List<Applied> first = SlaCredits.payAll(ledger, BUYER, List.of(done, plain), now).join();
            List<Applied> again = SlaCredits.payAll(ledger, BUYER, List.of(
                    book.withPresence(book.statement(a.nodeId(), T0).orElseThrow(), presence),
                    plain), now).join();
            assertEquals(1, first.size(), "the listed provider's hour; the other kept its promise");
            assertEquals(first.stream().map(Applied::sequence).toList(), again.stream().map(Applied::sequence).toList());
            assertEquals(50_000, ledger.balance(BUYER).posted());
            assertEquals(10_000_000 - 50_000, ledger.balance(stake).posted());
        }
        // A directory that knew none of the period (its record starts at the period's end) says
        // nothing: the attempts alone decide, never a breach made of missing records.
        SlaStatement unknown = book.withPresence(pending, dev.depin.sla.PresenceStatement.issue(directory, a.nodeId(),
                T0, end, end, now, List.of()));
        assertEquals(List.of(SlaStatement.LISTED_UNKNOWN, 10_000, 0), List.of(unknown.listedBasisPoints(),
                unknown.complianceBasisPoints(), unknown.creditPercent()));
        assertTrue(unknown.toString().endsWith(" listed: unknown to the directory"), unknown.toString());
        // A record that starts half-way counts only the known half: live 27 of its 30 minutes = 90 %.
        SlaStatement half = book.withPresence(pending, dev.depin.sla.PresenceStatement.issue(directory, a.nodeId(),
                T0, end, T0.plus(Duration.ofMinutes(30)), now, List.of(new dev.depin.sla.PresenceStatement.Interval(
                        T0.plus(Duration.ofMinutes(33)), end))));
        assertEquals(List.of(9_000, 9_000, 100), List.of(half.listedBasisPoints(), half.complianceBasisPoints(),
                half.creditPercent()));
    }

    private static dev.depin.provider.ProviderOffer offer(int i, SlaTerms terms) {
        byte[] seed = new byte[32];
        seed[31] = (byte) (i + 7);
        return dev.depin.provider.ProviderOffer.sign(NodeKeyPair.fromSeed(seed), new dev.depin.provider.OfferTerms(
                "depin://127.0.0.1:7001", List.of(new dev.depin.provider.DeviceInfo(dev.depin.provider.DeviceKind.CPU,
                "test cpu", 1L << 30, "-", 2, 10.0, "ab".repeat(32), "-", "-")),
                dev.depin.provider.Region.parse("DE/fra-1"), java.util.Set.of("sgemm"),
                new dev.depin.money.Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")), MicroUsd.ofUsd("100"),
                T0.plus(Duration.ofDays(1)), terms));
    }
}
