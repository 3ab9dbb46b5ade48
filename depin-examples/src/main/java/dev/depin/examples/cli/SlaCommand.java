package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.NodeId;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.ledger.JdbcLedger;
import dev.depin.ledger.LedgerReader;
import dev.depin.money.MicroUsd;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.SlaTerms;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.Operation;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.StatementLine;
import dev.depin.sla.PresenceStatement;
import dev.depin.sla.SlaBook;
import dev.depin.sla.SlaCredits;
import dev.depin.sla.SlaJournal;
import dev.depin.sla.SlaJournalException;
import dev.depin.sla.SlaStatement;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code depin sla}: a provider's SLA statements from a buyer's SLA journal (what its client
 * recorded of every job, with the offers the providers signed), and with {@code --settle} the
 * credits they owe, paid through the ledger exactly once.
 */
@Command(name = "sla", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin sla --journal run/sla.jsonl",
            "  depin sla --journal run/sla.jsonl --settle --ledger ledger.db"},
        description = {
            "Print providers' SLA statements from a buyer's SLA journal: per period, the attempts that were "
                    + "verified in time (good), verified late, or failed (errors, disputes, no answer), the "
                    + "compliance, the period's charges and the credit the provider's signed schedule owes. "
                    + "depin demo --out DIR writes DIR/sla.jsonl; a DepinClient writes one with "
                    + ".sla(SlaJournal.open(file, buyer)).",
            "",
            "The journal is checked whole before anything is printed or paid: its header names the buyer, each "
                    + "provider's terms are checked against the provider's signature, and any line that does not "
                    + "check refuses the file. A line cut off by a crash is ignored.",
            "",
            "With --settle, every ended period that owes a credit is paid from the provider's stake account to "
                    + "the buyer in the ledger --ledger, under the key sla/<provider>/<period start>/<buyer>: "
                    + "running it again pays nothing twice. Charges the journal claims in any period beyond what the "
                    + "ledger shows the buyer paid the provider for that period's jobs (job by job, from the ledger's post keys) "
                    + "refuse the whole settlement.",
            "",
            "Exit status: 0 printed (and settled); 1 a credit could not be paid (a stake without the funds, an "
                    + "account missing, a different credit already paid under its key); 2 bad usage, or a journal "
                    + "or ledger that is missing, not a regular file, or not what it should be; 3 internal error "
                    + "(a bug)."
        })
public final class SlaCommand implements Callable<Integer> {
    @Option(names = "--journal", required = true, paramLabel = "FILE",
            description = "The buyer's SLA journal, e.g. DIR/sla.jsonl from depin demo --out DIR.")
    String journal;

    @Option(names = "--provider", paramLabel = "ID",
            description = "Only this provider: its node id (64 hex characters) or a unique prefix of at least 8 "
                    + "(default: every provider in the journal).")
    String provider;

    @Option(names = "--period", paramLabel = "TIME",
            description = "Only the period that holds TIME, an ISO-8601 time with its offset such as "
                    + "2026-12-05T10:00Z (default: every period with attempts).")
    String period;

    @Option(names = "--directory", paramLabel = "HOST:PORT",
            description = "The directory a provider's SLA names (depin node --sla-listed-via): its signed statement of "
                    + "when the provider was listed completes each ended period's compliance (checked against the key "
                    + "the provider's signed offer names). Without it such periods stay pending and are not settled.")
    String directory;

    @Option(names = "--settle", description = "Pay the credits of ended periods through --ledger.")
    boolean settle;

    @Option(names = "--ledger", paramLabel = "FILE",
            description = "The depin ledger (SQLite file) that holds the buyer's and providers' accounts, with "
                    + "--settle; never created.")
    String ledger;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        PrintStream err = System.err;
        try {
            return run(out, err);
        } catch (Usage e) {
            err.println(e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("ERROR: internal error in depin sla (a bug; please report it): " + e);
            return 3;
        }
    }

    /** Bad usage or bad input: exit status 2 with the message. */
    private static final class Usage extends Exception {
        private static final long serialVersionUID = 1L;

        Usage(String message) {
            super(message);
        }
    }

    private int run(PrintStream out, PrintStream err) throws Usage {
        if (settle != (ledger != null)) {
            throw new Usage("usage: --settle and --ledger FILE go together: --settle pays through the ledger "
                    + "--ledger names");
        }
        Instant at = null;
        if (period != null) {
            try {
                at = OffsetDateTime.parse(period).toInstant();
            } catch (DateTimeParseException e) {
                throw new Usage("usage: --period '" + period + "' is not an ISO-8601 time with an offset: give e.g. "
                        + "2026-12-05T10:00Z or 2026-12-05T11:00+01:00");
            }
        }
        Path journalFile = path("--journal", journal);
        Path ledgerFile = ledger == null ? null : path("--ledger", ledger);
        SlaJournal.Contents contents;
        try {
            contents = SlaJournal.read(journalFile);
        } catch (SlaJournalException e) {
            throw new Usage("cannot use the journal: " + e.getMessage());
        }
        SlaBook book = contents.book();
        List<NodeId> providers = select(book, journalFile);
        AccountId buyer = contents.buyer();
        out.println("SLA journal " + journalFile + ": buyer " + buyer + ", " + book.jobs() + " job(s), "
                + book.providers().size() + " provider(s) with SLA terms"
                + (contents.tornTail() ? "; its last line was cut off (a crash while writing it) and is ignored" : "")
                + (book.unmetered() > 0 ? "; " + book.unmetered() + " attempt(s) under changed terms not metered" : ""));
        Instant now = Instant.now();
        if (directory != null) {
            try {
                GrpcNetwork.builder().directory(directory); // checks the address, connects to nothing
            } catch (DepinException e) {
                throw new Usage("usage: --directory '" + directory + "': " + e.getMessage());
            }
        }
        Map<NodeId, List<SlaStatement>> chosen = new java.util.LinkedHashMap<>();
        Map<NodeId, String> pendingWhy = new HashMap<>();
        for (NodeId p : providers) {
            List<SlaStatement> list;
            if (at != null) {
                list = List.of(book.statement(p, at).orElseThrow());
            } else {
                list = book.statements(p);
            }
            list = withPresence(book, p, list, now, pendingWhy);
            chosen.put(p, list);
            print(out, book, p, list, now, pendingWhy.get(p));
        }
        if (!settle) {
            return 0;
        }
        return settle(out, err, ledgerFile, buyer, book, chosen, now);
    }

    private static Path path(String option, String value) throws Usage {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new Usage("usage: " + option + ": '" + value + "' is not a valid path");
        }
    }

    private List<NodeId> select(SlaBook book, Path file) throws Usage {
        List<NodeId> all = book.providers();
        if (provider == null) {
            return all;
        }
        String want = provider.trim().toLowerCase(Locale.ROOT);
        if (!want.matches("[0-9a-f]{8,64}")) {
            throw new Usage("usage: --provider '" + provider + "' is not a node id: give its 64 hex characters or a "
                    + "unique prefix of at least 8 (depin sla --journal " + file + " lists them)");
        }
        List<NodeId> match = all.stream().filter(p -> p.hex().startsWith(want)).toList();
        if (match.size() == 1) {
            return match;
        }
        String known = all.isEmpty() ? "none" : String.join(", ", all.stream().map(NodeId::shortId).toList());
        throw new Usage(match.isEmpty()
                ? "no provider " + provider + " with SLA terms in the journal " + file + " (it holds: " + known
                        + "): check the id, or the journal"
                : "--provider " + provider + " matches " + match.size() + " providers (" + String.join(", ",
                        match.stream().map(NodeId::shortId).toList()) + "): give more of its id");
    }

    /**
     * Completes the ended periods of a provider whose terms count its listing
     * ({@link SlaTerms#listedVia()}) with the directory's signed statement for each period,
     * asked of {@code --directory} with the key the signed offer names pinned (a directory with
     * another key fails the handshake). A period that cannot be completed stays pending, and why
     * is kept for the printout.
     */
    private List<SlaStatement> withPresence(SlaBook book, NodeId p, List<SlaStatement> list, Instant now,
                                            Map<NodeId, String> pendingWhy) {
        SlaTerms terms = book.offer(p).orElseThrow().terms().sla();
        if (terms.listedVia() == null || list.stream().noneMatch(s -> !s.periodEnd().isAfter(now))) {
            return list;
        }
        String dir = terms.listedVia().nodeId().shortId();
        if (directory == null) {
            pendingWhy.put(p, "its SLA also counts its listing in directory " + dir + " (key "
                    + dev.depin.crypto.Hex.encode(terms.listedVia().raw()) + "): give --directory HOST:PORT of that "
                    + "directory to complete and settle its periods");
            return list;
        }
        List<SlaStatement> done = new ArrayList<>();
        try (GrpcNetwork net = GrpcNetwork.builder().directory(directory, terms.listedVia()).build()) {
            for (SlaStatement s : list) {
                if (s.periodEnd().isAfter(now)) {
                    done.add(s);
                    continue;
                }
                try {
                    PresenceStatement presence = net.presence(p, s.periodStart(), s.periodEnd()).join().get(0);
                    done.add(book.withPresence(s, presence));
                } catch (CompletionException | DepinException e) {
                    Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                    pendingWhy.putIfAbsent(p, "directory " + dir + " at " + directory + " gave no usable presence "
                            + "statement for " + s.periodStart() + ": " + c.getMessage());
                    done.add(s);
                }
            }
        }
        return done;
    }

    private static void print(PrintStream out, SlaBook book, NodeId p, List<SlaStatement> list, Instant now,
                              String pendingWhy) {
        ProviderOffer offer = book.offer(p).orElseThrow();
        SlaTerms terms = offer.terms().sla();
        out.println();
        out.println("provider " + p.hex());
        out.println("  signed terms (offer " + offer.digest().substring(0, 16) + "): " + SlaOptions.describe(terms));
        // A first-byte column only where the terms promise a first byte: other statements print as they did.
        boolean firstByte = terms.firstByteWithin() != null;
        // A listed column only where the terms count the listing, likewise.
        boolean listed = terms.listedVia() != null;
        out.printf(Locale.ROOT, "  %-44s %6s %6s" + (firstByte ? " %10s" : "%s") + " %6s" + (listed ? " %8s" : "%s")
                        + " %11s %12s %7s %12s%n", "period", "good", "late", firstByte ? "late-1st-B" : "", "failed",
                listed ? "listed" : "", "compliance", "charges", "credit", "owed");
        for (SlaStatement s : list) {
            out.printf(Locale.ROOT, "  %-44s %6d %6d" + (firstByte ? " %10d" : "%.0s") + " %6d" + (listed ? " %8s" : "%.0s")
                            + " %11s %12s %6d%% %12s%s%n", s.periodStart() + ".." + s.periodEnd(), s.good(), s.late(),
                    s.lateFirstByte(), s.failed(), listedText(s), SlaOptions.percent(s.complianceBasisPoints()),
                    s.charges(), s.creditPercent(), s.credit(), s.periodEnd().isAfter(now) ? "  (period not ended)"
                            : s.listedBasisPoints() == SlaStatement.LISTED_PENDING ? "  (pending: attempts only so far)"
                            : "");
        }
        if (list.isEmpty()) {
            out.println("  (no attempts recorded)");
        }
        if (pendingWhy != null) {
            out.println("  pending: " + pendingWhy);
        }
    }

    private static String listedText(SlaStatement s) {
        return switch (s.listedBasisPoints()) {
            case SlaStatement.LISTED_PENDING -> "pending";
            case SlaStatement.LISTED_UNKNOWN, SlaStatement.LISTED_NOT_PROMISED -> "unknown";
            default -> SlaOptions.percent(s.listedBasisPoints());
        };
    }

    private static int settle(PrintStream out, PrintStream err, Path file, AccountId buyer, SlaBook book,
                              Map<NodeId, List<SlaStatement>> chosen, Instant now) throws Usage {
        if (!Files.isRegularFile(file)) {
            throw new Usage("cannot open ledger: no ledger file at " + file + (Files.exists(file)
                    ? " (it is not a regular file)" : "") + ": give the file a depin ledger wrote; this command "
                    + "never creates one");
        }
        // Read first, read-only: refuses what is not a depin ledger before anything is written, and
        // gives what the buyer has paid each provider and which credits it already received.
        // Job id to what this buyer's posts paid the provider for it, per provider.
        Map<NodeId, Map<String, Long>> paidFor = new HashMap<>();
        Map<String, StatementLine> received = new HashMap<>();
        try (LedgerReader reader = LedgerReader.sqlite(file)) {
            for (StatementLine l : reader.statement(buyer)) {
                if (l.key().value().startsWith("sla/")) {
                    received.put(l.key().value(), l);
                }
            }
            for (NodeId p : chosen.keySet()) {
                // What this buyer's posts paid the provider (an escrow's post moves held funds to it).
                // A post's key is <session>/<job id>/<attempt>/post (the escrow's), which names the job.
                Map<String, Long> byJob = new HashMap<>();
                try {
                    for (StatementLine l : reader.statement(Escrow.providerAccount(p))) {
                        String[] key = l.key().value().split("/");
                        if (l.change() > 0 && l.counterparty().equals(buyer) && key.length >= 3
                                && key[key.length - 1].equals("post")) {
                            byJob.merge(key[key.length - 3], l.change(), Long::sum);
                        }
                    }
                } catch (SettlementException e) {
                    if (!e.is(SettlementException.Reason.UNKNOWN_ACCOUNT)) {
                        throw e;
                    }
                }
                paidFor.put(p, byJob);
            }
        } catch (LedgerFailureException e) {
            throw new Usage("cannot open ledger: " + e.getMessage());
        } catch (SettlementException e) {
            if (e.is(SettlementException.Reason.UNKNOWN_ACCOUNT)) {
                throw new Usage("the ledger " + file + " has no account " + buyer + ", the journal's buyer: give the "
                        + "ledger this buyer pays through");
            }
            throw new Usage("cannot read ledger: " + e.getMessage());
        }
        // A journal cannot claim more charges than the ledger shows were paid, in any period (a
        // credit is a percentage of its period's charges): each job's claimed charge counts only as
        // far as the ledger's posts for that job paid the provider. Otherwise it is not this
        // ledger's buyer's journal, or it was altered. Nothing is paid.
        for (NodeId p : chosen.keySet()) {
            Map<String, Long> paid = paidFor.get(p);
            for (SlaStatement st : book.statements(p)) {
                long confirmed = 0;
                for (Map.Entry<String, MicroUsd> c : book.charges(p, st.periodStart()).entrySet()) {
                    confirmed += Math.min(c.getValue().micros(), paid.getOrDefault(c.getKey(), 0L));
                }
                if (st.charges().micros() > confirmed) {
                    throw new Usage("the journal claims " + st.charges() + " of charges by " + p.shortId()
                            + " in the period " + st.periodStart() + ".." + st.periodEnd() + ", but the ledger " + file
                            + " shows " + MicroUsd.ofMicros(confirmed) + " paid to it for that period's jobs: this is "
                            + "not the journal of this ledger's buyer, or it was altered; nothing was paid");
                }
            }
        }
        out.println();
        int failed = 0;
        long paidNow = 0;
        try (JdbcLedger money = JdbcLedger.builder().sqlite(file).open()) {
            for (Map.Entry<NodeId, List<SlaStatement>> e : chosen.entrySet()) {
                for (SlaStatement s : e.getValue()) {
                    String what = "credit of " + e.getKey().shortId() + " for " + s.periodStart();
                    if (s.listedBasisPoints() == SlaStatement.LISTED_PENDING && !s.periodEnd().isAfter(now)) {
                        // Paying the attempts' credit now would fix it under its key before the listing could raise it.
                        out.println("not yet: " + what + ": its SLA also counts the provider's listing, and the "
                                + "directory's statement is missing (see 'pending' above); settle again with it");
                        continue;
                    }
                    if (s.credit().micros() == 0) {
                        continue;
                    }
                    if (s.periodEnd().isAfter(now)) {
                        out.println("not yet: " + what + " (" + s.credit() + "): its period ends at " + s.periodEnd()
                                + "; settle again after that");
                        continue;
                    }
                    String key = s.creditKey(buyer).value();
                    StatementLine before = received.get(key);
                    try {
                        Optional<Applied> a = SlaCredits.pay(money, buyer, s, now).join();
                        long amount = a.map(x -> ((Operation.Transfer) x.operation()).amount().micros()).orElse(0L);
                        if (before != null) {
                            out.println("already paid: " + what + ": " + MicroUsd.ofMicros(amount) + " (ledger sequence "
                                    + before.sequence() + ", " + before.at() + ", key " + key + "); nothing paid again");
                        } else {
                            paidNow += amount;
                            out.println("paid: " + what + ": " + MicroUsd.ofMicros(amount) + " from "
                                    + Escrow.stakeAccount(e.getKey()) + " to " + buyer + " (ledger sequence "
                                    + a.map(Applied::sequence).orElse(0L) + ", key " + key + ")");
                        }
                    } catch (CompletionException x) {
                        Throwable c = x.getCause() == null ? x : x.getCause();
                        failed++;
                        err.println("NOT PAID: " + what + " (" + s.credit() + "): " + c.getMessage());
                    }
                }
            }
        } catch (LedgerFailureException e) {
            throw new Usage("cannot open ledger: " + e.getMessage());
        }
        out.println("settled: " + MicroUsd.ofMicros(paidNow) + " paid now" + (failed == 0 ? "" : "; " + failed
                + " credit(s) not paid"));
        return failed == 0 ? 0 : 1;
    }
}
