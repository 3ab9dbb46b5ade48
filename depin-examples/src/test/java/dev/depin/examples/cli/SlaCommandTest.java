package dev.depin.examples.cli;

import static dev.depin.examples.cli.EarningsCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.AttemptState;
import dev.depin.ledger.JdbcLedger;
import dev.depin.ledger.LedgerReader;
import dev.depin.money.MicroUsd;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.sla.SlaJournal;
import dev.depin.sla.SlaRecord;
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
 * {@code depin sla}: statements from a buyer's journal, credits paid through the ledger exactly
 * once however often it is settled, and hostile or mistaken input refused with status 2 before
 * any money moves.
 *
 * <p>The journal is written through {@link SlaJournal} for a period that has ended (an hour on
 * 2026-12-05 from 10:00Z, before this suite's first run), with the escrow's holds and posts of
 * those jobs in a real ledger file; whether an attempt was good, late or failed is drawn from a
 * printed seed, and every expected figure is computed from the draw, not written down.
 */
class SlaCommandTest {
    private static final long SEED = 0x51A_C0DEL;
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1),
            List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofSeconds(2))));

    @BeforeAll
    static void seed() {
        System.out.println("SlaCommandTest seed = " + SEED);
    }

    private record Setup(Path journal, Path ledger, ProviderOffer a, ProviderOffer b, long good, long late,
                         long failed, long charges) {
    }

    private static ProviderOffer offer(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 1);
        seed[1] = 0x5c;
        try (ProviderNode n = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).sla(TERMS).build()) {
            return n.offer();
        }
    }

    /**
     * Provider a ran 40 attempts in the hour from 10:00Z: each good, late or failed by the seed,
     * each verified one paid through a hold and a post; provider b ran 10, all good.
     */
    private static Setup setup(Path dir) {
        return setup(dir, 60);
    }

    /** As {@link #setup(Path)}, attempt i dispatched at 10:00:05Z + i * step seconds. */
    private static Setup setup(Path dir, int step) {
        Path journalFile = dir.resolve("sla.jsonl");
        Path ledgerFile = dir.resolve("ledger.db");
        ProviderOffer a = offer(0);
        ProviderOffer b = offer(1);
        SplittableRandom rnd = new SplittableRandom(SEED);
        long good = 0;
        long late = 0;
        long failed = 0;
        long charges = 0;
        try (JdbcLedger ledger = JdbcLedger.sqlite(ledgerFile); SlaJournal journal = SlaJournal.open(journalFile, BUYER)) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("10"))).join();
            for (ProviderOffer o : List.of(a, b)) {
                ledger.open(Escrow.stakeAccount(o.nodeId()), AccountKind.STAKE, false).join();
                ledger.open(Escrow.providerAccount(o.nodeId()), AccountKind.PROVIDER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("stake/" + o.nodeId().hex()),
                        Escrow.stakeAccount(o.nodeId()), MicroUsd.ofUsd("5"))).join();
            }
            for (int i = 0; i < 50; i++) {
                ProviderOffer o = i < 40 ? a : b;
                int draw = i < 40 ? rnd.nextInt(10) : 0; // a: 0-6 good, 7-8 late, 9 failed
                Instant at = T0.plusSeconds((long) step * i + 5);
                AttemptState end = draw == 9 ? AttemptState.FAILED : AttemptState.ACCEPTED;
                Instant ended = at.plusMillis(draw >= 7 && draw <= 8 ? 2_001 + rnd.nextInt(5_000) : 1 + rnd.nextInt(2_000));
                long price = 100 + rnd.nextInt(900);
                String job = String.format("job-%02d", i);
                Map<dev.depin.crypto.NodeId, MicroUsd> charged = Map.of();
                if (end == AttemptState.ACCEPTED) {
                    OperationKey hold = OperationKey.of("s/" + job, 1, "hold");
                    ledger.apply(new Operation.Hold(hold, BUYER, Escrow.providerAccount(o.nodeId()),
                            MicroUsd.ofMicros(2_000), Instant.now().plusSeconds(600))).join();
                    ledger.apply(new Operation.Post(OperationKey.of("s/" + job, 1, "post"), hold,
                            MicroUsd.ofMicros(price))).join();
                    charged = Map.of(o.nodeId(), MicroUsd.ofMicros(price));
                }
                if (o == a) {
                    if (draw <= 6) {
                        good++;
                    } else if (draw <= 8) {
                        late++;
                    } else {
                        failed++;
                    }
                    charges += charged.isEmpty() ? 0 : price;
                }
                journal.record(new SlaRecord(job, 1_000_000, List.of(new SlaRecord.Attempt(1, o, at, end, ended)),
                        charged));
            }
        }
        return new Setup(journalFile, ledgerFile, a, b, good, late, failed, charges);
    }

    private static List<Balance> balances(Path ledger) {
        try (LedgerReader r = LedgerReader.sqlite(ledger)) {
            return r.balances();
        }
    }

    @Test
    void statement_thenSettle_paysOnce_andAgainPaysNothing(@TempDir Path dir) {
        Setup s = setup(dir);
        long counted = s.good + s.late + s.failed;
        int bp = (int) (s.good * 10_000 / counted);
        int percent = TERMS.creditPercent(bp);
        long credit = s.charges * percent / 100;
        System.out.println("SlaCommandTest draw: good " + s.good + " late " + s.late + " failed " + s.failed
                + " charges " + s.charges + " -> " + bp + " bp, " + percent + " %, credit " + credit);
        assertTrue(percent > 0 && credit > 0, "the seed's draw breaches the SLA");
        String shown = run(0, "sla", "--journal", s.journal.toString(), "--provider", s.a.nodeId().hex().substring(0, 10),
                "--period", "2026-12-05T10:42Z");
        assertTrue(shown.contains("SLA journal " + s.journal + ": buyer buyer:acme, 50 job(s), 2 provider(s) with SLA "
                + "terms"), shown);
        assertTrue(shown.contains("provider " + s.a.nodeId().hex() + "\n"), shown);
        assertTrue(!shown.contains("provider " + s.b.nodeId().hex()), "only the provider asked for: " + shown);
        String row = String.format(java.util.Locale.ROOT, "  %-44s %6d %6d %6d %11s %12s %6d%% %12s%n",
                "2026-12-05T10:00:00Z..2026-12-05T11:00:00Z", s.good, s.late, s.failed, SlaOptions.percent(bp),
                MicroUsd.ofMicros(s.charges), percent, MicroUsd.ofMicros(credit));
        assertTrue(shown.contains(row), row + " in " + shown);

        List<Balance> before = balances(s.ledger);
        String settled = run(0, "sla", "--journal", s.journal.toString(), "--settle", "--ledger", s.ledger.toString());
        assertTrue(settled.contains("paid: credit of " + s.a.nodeId().shortId() + " for 2026-12-05T10:00:00Z: "
                + MicroUsd.ofMicros(credit) + " from stake:" + s.a.nodeId().hex() + " to buyer:acme"), settled);
        assertTrue(settled.contains("settled: " + MicroUsd.ofMicros(credit) + " paid now"), settled);
        List<Balance> after = balances(s.ledger);
        try (LedgerReader r = LedgerReader.sqlite(s.ledger)) {
            assertEquals(before.stream().filter(x -> x.account().equals(BUYER)).findFirst().orElseThrow().posted() + credit,
                    r.balance(BUYER).posted());
            assertEquals(5_000_000 - credit, r.balance(Escrow.stakeAccount(s.a.nodeId())).posted());
            assertEquals(5_000_000, r.balance(Escrow.stakeAccount(s.b.nodeId())).posted(), "b kept its SLA");
        }
        // Again, and again for the one provider and period: nothing more moves.
        for (String[] args : List.of(new String[] {"sla", "--journal", s.journal.toString(), "--settle", "--ledger",
                s.ledger.toString()}, new String[] {"sla", "--journal", s.journal.toString(), "--provider",
                s.a.nodeId().hex(), "--period", "2026-12-05T11:59:59+01:00", "--settle", "--ledger", s.ledger.toString()})) {
            String again = run(0, args);
            assertTrue(again.contains("already paid: credit of " + s.a.nodeId().shortId() + " for 2026-12-05T10:00:00Z: "
                    + MicroUsd.ofMicros(credit)), again);
            assertTrue(again.contains("settled: $0.000000 paid now"), again);
            assertEquals(after, balances(s.ledger));
        }
    }

    @Test
    void badInput_exit2WithWhatToDo_andNoMoneyMoves(@TempDir Path dir) throws Exception {
        Setup s = setup(dir);
        List<Balance> before = balances(s.ledger);
        String j = s.journal.toString();
        String l = s.ledger.toString();
        assertTrue(run(2, "sla", "--journal", j, "--provider", "00000000").contains("no provider 00000000 with SLA terms "
                + "in the journal " + j + " (it holds: "));
        assertTrue(run(2, "sla", "--journal", j, "--provider", "node-7").contains("usage: --provider 'node-7' is not a "
                + "node id: give its 64 hex characters or a unique prefix of at least 8"));
        assertTrue(run(2, "sla", "--journal", j, "--period", "yesterday").contains("usage: --period 'yesterday' is not "
                + "an ISO-8601 time with an offset: give e.g. 2026-12-05T10:00Z or 2026-12-05T11:00+01:00"));
        assertTrue(run(2, "sla", "--journal", j, "--settle").contains("usage: --settle and --ledger FILE go together"));
        // A foreign file (the ledger itself), a directory, a missing file, as the journal.
        assertTrue(run(2, "sla", "--journal", l).contains("cannot use the journal: line 1 of the SLA journal " + l));
        assertTrue(run(2, "sla", "--journal", dir.toString()).contains("cannot use the journal: " + dir
                + " is not a regular file (a directory): name an SLA journal file"));
        assertTrue(run(2, "sla", "--journal", dir.resolve("none.jsonl").toString()).contains("cannot use the journal: "
                + "there is no SLA journal at " + dir.resolve("none.jsonl")));
        // The journal as the ledger; a ledger that is not there (never created).
        assertTrue(run(2, "sla", "--journal", j, "--settle", "--ledger", j).contains("cannot open ledger: "));
        Path noLedger = dir.resolve("no.db");
        assertTrue(run(2, "sla", "--journal", j, "--settle", "--ledger", noLedger.toString()).contains(
                "cannot open ledger: no ledger file at " + noLedger + ": give the file a depin ledger wrote; this "
                        + "command never creates one"));
        assertTrue(!Files.exists(noLedger));
        // A journal whose charges were inflated: its credit would be larger than what was paid.
        List<String> lines = new ArrayList<>(Files.readAllLines(s.journal));
        int k = 0;
        while (!lines.get(k).contains("\"charges\":{\"" + s.a.nodeId().hex() + "\"")) {
            k++;
        }
        lines.set(k, lines.get(k).replaceFirst("\"charges\":\\{\"([0-9a-f]{64})\":\"(\\d+)\"",
                "\"charges\":{\"$1\":\"900000000\""));
        Path inflated = dir.resolve("inflated.jsonl");
        Files.write(inflated, lines);
        String refused = run(2, "sla", "--journal", inflated.toString(), "--settle", "--ledger", l);
        assertTrue(refused.contains("of charges by " + s.a.nodeId().shortId() + " in the period "
                + "2026-12-05T10:00:00Z..2026-12-05T11:00:00Z, but the ledger " + l + " shows "
                + MicroUsd.ofMicros(s.charges) + " paid to it for that period's jobs: this is not the journal of this "
                + "ledger's buyer, or it was altered; nothing was paid"), refused);
        // Another buyer's journal against this ledger: no account.
        Path other = dir.resolve("other.jsonl");
        try (SlaJournal o = SlaJournal.open(other, AccountId.of("buyer:other"))) {
            o.record(new SlaRecord("x", 1, List.of(new SlaRecord.Attempt(1, s.a, T0, AttemptState.FAILED,
                    T0.plusSeconds(1))), Map.of()));
        }
        assertTrue(run(2, "sla", "--journal", other.toString(), "--settle", "--ledger", l).contains("the ledger " + l
                + " has no account buyer:other, the journal's buyer: give the ledger this buyer pays through"));
        assertEquals(before, balances(s.ledger), "no input above moved money");
    }

    /**
     * Provider a's 40 attempts spread over two hours (10:00 and 11:00). A journal that moves a
     * charge from a job of the first period onto a job of the second keeps its total within what
     * the ledger paid, but claims more than was paid in the second period, whose credit it would
     * swell: refused whole, naming that period, and nothing paid; the journal as written settles.
     */
    @Test
    void settle_chargesInflatedInOnePeriod_totalUnchanged_refusedNamingThePeriod(@TempDir Path dir) throws Exception {
        Setup s = setup(dir, 120);
        List<String> lines = new ArrayList<>(Files.readAllLines(s.journal));
        java.util.regex.Pattern charged = java.util.regex.Pattern.compile("\"charges\":\\{\"" + s.a.nodeId().hex()
                + "\":\"(\\d+)\"\\}.*\"dispatched\":\"2026-12-05T1([01]):|\"dispatched\":\"2026-12-05T1([01]):.*"
                + "\"charges\":\\{\"" + s.a.nodeId().hex() + "\":\"(\\d+)\"\\}");
        int first = -1;
        int second = -1;
        for (int k = 0; k < lines.size(); k++) {
            java.util.regex.Matcher m = charged.matcher(lines.get(k));
            if (m.find()) {
                String hour = m.group(2) != null ? m.group(2) : m.group(3);
                if (hour.equals("0") && first < 0) {
                    first = k;
                } else if (hour.equals("1") && second < 0) {
                    second = k;
                }
            }
        }
        assertTrue(first > 0 && second > 0, "a charged job of a in each period: " + first + ", " + second);
        long moved = chargeOf(lines.get(first), s.a);
        long secondCharge = chargeOf(lines.get(second), s.a);
        lines.set(first, withCharge(lines.get(first), s.a, 0));
        lines.set(second, withCharge(lines.get(second), s.a, secondCharge + moved));
        Path forged = dir.resolve("moved.jsonl");
        Files.write(forged, lines);
        long secondPeriod = sum(SlaJournal.read(s.journal).book(), s.a, "2026-12-05T11:00:00Z");
        assertEquals(s.charges, sum(SlaJournal.read(forged).book(), s.a, "2026-12-05T10:00:00Z")
                + sum(SlaJournal.read(forged).book(), s.a, "2026-12-05T11:00:00Z"), "the total is unchanged");

        List<Balance> before = balances(s.ledger);
        String refused = run(2, "sla", "--journal", forged.toString(), "--settle", "--ledger", s.ledger.toString());
        assertTrue(refused.contains("the journal claims " + MicroUsd.ofMicros(secondPeriod + moved) + " of charges by "
                + s.a.nodeId().shortId() + " in the period 2026-12-05T11:00:00Z..2026-12-05T12:00:00Z, but the ledger "
                + s.ledger + " shows " + MicroUsd.ofMicros(secondPeriod) + " paid to it for that period's jobs: this is "
                + "not the journal of this ledger's buyer, or it was altered; nothing was paid"), refused);
        assertEquals(before, balances(s.ledger), "refused whole: not even the first period's credit was paid");

        String settled = run(0, "sla", "--journal", s.journal.toString(), "--settle", "--ledger", s.ledger.toString());
        assertTrue(settled.contains("settled: "), settled);
    }

    private static long sum(dev.depin.sla.SlaBook book, ProviderOffer p, String period) {
        return book.statement(p.nodeId(), Instant.parse(period)).orElseThrow().charges().micros();
    }

    private static long chargeOf(String line, ProviderOffer p) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + p.nodeId().hex() + "\":\"(\\d+)\"")
                .matcher(line);
        assertTrue(m.find(), line);
        return Long.parseLong(m.group(1));
    }

    private static String withCharge(String line, ProviderOffer p, long micros) {
        return line.replaceFirst("\"" + p.nodeId().hex() + "\":\"\\d+\"", "\"" + p.nodeId().hex() + "\":\""
                + micros + "\"");
    }

    /**
     * A provider that signed a first-byte bound: its statement has a column for late first
     * bytes, and its terms line names the bound; late first bytes lower compliance like late
     * results.
     */
    @Test
    void statement_firstByteTerms_showLateFirstBytesApart(@TempDir Path dir) {
        SlaTerms terms = TERMS.withFirstByteWithin(Duration.ofMillis(250));
        byte[] seed = new byte[32];
        seed[0] = 9;
        seed[1] = 0x5c;
        ProviderOffer o;
        try (ProviderNode n = ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1)).sla(terms).build()) {
            o = n.offer();
        }
        Path file = dir.resolve("sla.jsonl");
        try (SlaJournal journal = SlaJournal.open(file, BUYER)) {
            for (int i = 0; i < 10; i++) {
                Instant at = T0.plusSeconds(60L * i + 5);
                journal.record(new SlaRecord(String.format("fb-%02d", i), 1_000_000, List.of(new SlaRecord.Attempt(1, o,
                        at, AttemptState.ACCEPTED, at.plusMillis(1_000), at.plusMillis(i < 3 ? 251 : 250))),
                        Map.of(o.nodeId(), MicroUsd.ofMicros(1_000))));
            }
        }
        String shown = run(0, "sla", "--journal", file.toString(), "--provider", o.nodeId().hex());
        assertTrue(shown.contains(", first byte within 250ms; below 99.9 % good"), shown);
        assertTrue(shown.contains(String.format(java.util.Locale.ROOT, "  %-44s %6s %6s %10s %6s %11s %12s %7s %12s%n",
                "period", "good", "late", "late-1st-B", "failed", "compliance", "charges", "credit", "owed")), shown);
        String row = String.format(java.util.Locale.ROOT, "  %-44s %6d %6d %10d %6d %11s %12s %6d%% %12s%n",
                "2026-12-05T10:00:00Z..2026-12-05T11:00:00Z", 7, 0, 3, 0, "70 %", MicroUsd.ofMicros(10_000), 100,
                MicroUsd.ofMicros(10_000));
        assertTrue(shown.contains(row), row + " in " + shown);
    }

    /**
     * A provider whose SLA counts its listing in a directory: every attempt good, but its
     * listing lapsed for 5 of the hour's 60 minutes (renewals on a directory clock the test
     * moves, over real mutual TLS). Without the directory the period is pending and nothing is
     * paid; with it, the directory's signed statement makes compliance 91.66 % and the whole
     * period's charges come back, once.
     */
    @Test
    void listedVia_directoryStatementCompletesThePeriod_thenSettlesOnce(@TempDir Path dir) throws Exception {
        Instant t0 = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS).minus(Duration.ofHours(2));
        dev.depin.settlement.SettlementContract.ManualClock clock = new dev.depin.settlement.SettlementContract.ManualClock(t0);
        byte[] seed = new byte[32];
        seed[0] = 11;
        seed[1] = 0x5c;
        NodeKeyPair dirKey = NodeKeyPair.fromSeed(seed);
        seed[0] = 12;
        NodeKeyPair nodeKey = NodeKeyPair.fromSeed(seed);
        Path journalFile = dir.resolve("sla.jsonl");
        Path ledgerFile = dir.resolve("ledger.db");
        try (dev.depin.grpc.DirectoryServer directory = dev.depin.grpc.DirectoryServer.builder(dirKey)
                .listen("127.0.0.1", 0).listingTtl(Duration.ofMinutes(10)).clock(clock).start();
             ProviderNode node = ProviderNode.builder(nodeKey, new CpuExecutor(1))
                     .sla(TERMS.withListedVia(directory.publicKey())).build()) {
            ProviderOffer o = node.offer();
            try (dev.depin.grpc.ProviderServer server = dev.depin.grpc.ProviderServer.builder(node, nodeKey)
                    .listen("127.0.0.1", 0).directory(directory.address(), directory.publicKey())
                    .renewEvery(Duration.ofHours(1)).start()) {
                // Listed at t0 (until +10m), renewed at +9m (until +19m); lapsed until +24m, then renewed every 9 minutes.
                // The start's own renewal may land at any of these minutes (it runs apart): each renews anyway.
                server.renewNow();
                int at = 0;
                for (int minute : new int[] {9, 24, 33, 42, 51}) {
                    clock.advance(Duration.ofMinutes(minute - at));
                    at = minute;
                    server.renewNow();
                }
                clock.advance(Duration.ofMinutes(61 - at));
            }
            try (JdbcLedger ledger = JdbcLedger.sqlite(ledgerFile); SlaJournal journal = SlaJournal.open(journalFile, BUYER)) {
                ledger.open(BUYER, AccountKind.BUYER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("10"))).join();
                ledger.open(Escrow.stakeAccount(o.nodeId()), AccountKind.STAKE, false).join();
                ledger.open(Escrow.providerAccount(o.nodeId()), AccountKind.PROVIDER, false).join();
                ledger.apply(new Operation.Mint(OperationKey.of("stake"), Escrow.stakeAccount(o.nodeId()),
                        MicroUsd.ofUsd("5"))).join();
                for (int i = 0; i < 20; i++) {
                    String job = String.format("listed-%02d", i);
                    OperationKey hold = OperationKey.of("s/" + job, 1, "hold");
                    ledger.apply(new Operation.Hold(hold, BUYER, Escrow.providerAccount(o.nodeId()),
                            MicroUsd.ofMicros(2_000), Instant.now().plusSeconds(600))).join();
                    ledger.apply(new Operation.Post(OperationKey.of("s/" + job, 1, "post"), hold,
                            MicroUsd.ofMicros(1_000))).join();
                    Instant at = t0.plusSeconds(150L * i + 5);
                    journal.record(new SlaRecord(job, 1_000_000, List.of(new SlaRecord.Attempt(1, o, at,
                            AttemptState.ACCEPTED, at.plusMillis(500))), Map.of(o.nodeId(), MicroUsd.ofMicros(1_000))));
                }
            }
            String period = t0 + ".." + t0.plus(Duration.ofHours(1));
            String j = journalFile.toString();
            String pending = run(0, "sla", "--journal", j);
            assertTrue(pending.contains(", listed in directory " + dirKey.nodeId().shortId() + "; below 99.9 % good"),
                    pending);
            assertTrue(pending.contains(String.format(java.util.Locale.ROOT, "  %-44s %6d %6d %6d %8s %11s %12s %6d%% %12s"
                    + "  (pending: attempts only so far)%n", period, 20, 0, 0, "pending", "100 %",
                    MicroUsd.ofMicros(20_000), 0, MicroUsd.ZERO)), pending);
            assertTrue(pending.contains("  pending: its SLA also counts its listing in directory "
                    + dirKey.nodeId().shortId() + " (key " + dev.depin.crypto.Hex.encode(dirKey.publicKey().raw())
                    + "): give --directory HOST:PORT of that directory to complete and settle its periods"), pending);
            List<Balance> before = balances(ledgerFile);
            String notYet = run(0, "sla", "--journal", j, "--settle", "--ledger", ledgerFile.toString());
            assertTrue(notYet.contains("not yet: credit of " + o.nodeId().shortId() + " for " + t0 + ": its SLA also "
                    + "counts the provider's listing, and the directory's statement is missing"), notYet);
            assertEquals(before, balances(ledgerFile), "a pending period pays nothing");

            String complete = run(0, "sla", "--journal", j, "--directory", directory.address());
            assertTrue(complete.contains(String.format(java.util.Locale.ROOT, "  %-44s %6d %6d %6d %8s %11s %12s %6d%% "
                    + "%12s%n", period, 20, 0, 0, "91.66 %", "91.66 %", MicroUsd.ofMicros(20_000), 100,
                    MicroUsd.ofMicros(20_000))), complete);
            String paid = run(0, "sla", "--journal", j, "--directory", directory.address(), "--settle", "--ledger",
                    ledgerFile.toString());
            assertTrue(paid.contains("paid: credit of " + o.nodeId().shortId() + " for " + t0 + ": "
                    + MicroUsd.ofMicros(20_000)), paid);
            String again = run(0, "sla", "--journal", j, "--directory", directory.address(), "--settle", "--ledger",
                    ledgerFile.toString());
            assertTrue(again.contains("already paid: credit of " + o.nodeId().shortId()), again);
            try (LedgerReader r = LedgerReader.sqlite(ledgerFile)) {
                assertEquals(5_000_000 - 20_000, r.balance(Escrow.stakeAccount(o.nodeId())).posted());
            }
            // A directory that is not the one the offer names fails the pinned handshake: still pending.
            try (dev.depin.grpc.DirectoryServer other = dev.depin.grpc.DirectoryServer.builder(nodeKey)
                    .listen("127.0.0.1", 0).start()) {
                String wrong = run(0, "sla", "--journal", j, "--directory", other.address());
                assertTrue(wrong.contains("  pending: directory " + dirKey.nodeId().shortId() + " at " + other.address()
                        + " gave no usable presence statement for " + t0 + ": "), wrong);
                assertTrue(wrong.contains("(peer key is not the key pinned by its offer: refused)"), wrong);
                assertTrue(!wrong.contains("\tat "), "no stack trace: " + wrong);
            }
            assertTrue(run(2, "sla", "--journal", j, "--directory", "nohost").contains("usage: --directory 'nohost': "),
                    "a bad address is a usage error");
        }
    }
}
