package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.ledger.LedgerReader;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code depin earnings --ledger} and {@code --node}: the same net-per-day table as the
 * calculator, from what a ledger paid and what a node measured.
 */
class MeasuredEarningsTest {

    /** Runs the CLI in this JVM; asserts the status; returns stdout and stderr (printed too). */
    static String[] run(int status, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        int got;
        try {
            got = DepinCli.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        String[] r = {o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
        out.println(r[0] + r[1]);
        assertEquals(status, got, r[0] + r[1]);
        return r;
    }

    @Test
    void ledger_paidBalanceBecomesThePerDayTable(@TempDir Path dir) {
        Path ledger = dir.resolve("demo.db");
        run(0, "demo", "--network", "local", "--providers", "2", "--jobs", "6", "--seed", "5", "--dishonest", "0",
                "--no-progress", "--ledger", ledger.toString());
        Balance paid;
        try (LedgerReader r = LedgerReader.sqlite(ledger)) {
            paid = r.balances().stream().filter(b -> b.account().value().startsWith("provider:") && b.posted() > 0)
                    .findFirst().orElseThrow();
        }
        String out = run(0, "earnings", "--ledger", ledger.toString(), "--provider", paid.account().value(),
                "--kwh-price", "0.15", "--gpu", "rtx4090")[0];
        Matcher m = Pattern.compile("payment\\(s\\) in ([0-9.]+) s; .*earned (\\S+)\\n").matcher(out);
        assertTrue(m.find(), out);
        assertEquals(Earnings.usd(paid.posted()), m.group(2), "earned = what the ledger paid the account");
        assertTrue(out.contains("utilization not measured (the ledger has no device time; --node measures it)"), out);
        assertTrue(out.contains("depreciation: $1800.00 (assumed) over 36 months"), out);
        // gross/day = paid x 86,400 / window; the window is printed to the millisecond.
        Matcher row = Pattern.compile("\\nmeasured +(\\S+) +(\\S+) +(\\S+) +(\\S+) \\|").matcher(out);
        assertTrue(row.find(), out);
        assertEquals("$1.666667", row.group(3), "1800 / (36 x 30)");
        BigDecimal gross = new BigDecimal(row.group(1).replace("$", ""));
        // The window is printed to the millisecond, so the true one is within half a millisecond of
        // it: the gross must lie between what those two bounds give (a short demo's window is tens of
        // milliseconds, where that half millisecond alone is over 1 %), give or take the printed cent.
        double window = Double.parseDouble(m.group(1));
        double usd = paid.posted() / 1e6 * 86_400;
        double low = usd / (window + 0.0005);
        double high = usd / Math.max(window - 0.0005, 1e-9);
        assertTrue(gross.doubleValue() >= low - 0.01 && gross.doubleValue() <= high + 0.01,
                "gross/day " + gross + " outside [" + low + ", " + high + "] for " + paid.posted() + " µUSD over "
                        + window + " s");
    }

    @Test
    void ledger_refusals() {
        String err = run(2, "earnings", "--ledger", "/nonexistent/ledger.db", "--provider", "provider:abc",
                "--kwh-price", "0.15")[1];
        assertTrue(err.contains("--ledger: no ledger file at /nonexistent/ledger.db"), err);
        err = run(2, "earnings", "--ledger", "x.db", "--kwh-price", "0.15")[1];
        assertTrue(err.contains("no ledger file at x.db") || err.contains("--ledger needs the node"), err);
        err = run(2, "earnings", "--node", "ftp://x/metrics", "--kwh-price", "0.15")[1];
        assertTrue(err.contains("--node 'ftp://x/metrics' is not an http:// URL"), err);
        err = run(2, "earnings", "--node", "http://127.0.0.1:1/metrics", "--kwh-price", "0.15")[1];
        assertTrue(err.contains("cannot read http://127.0.0.1:1/metrics"), err);
        err = run(2, "earnings", "--gross-per-day", "3", "--provider", "x", "--kwh-price", "0.15", "--gpu",
                "rtx4090")[1];
        assertTrue(err.contains("--provider, --key and --passphrase-env go with --ledger"), err);
    }

    @Test
    void metricsSum_addsEverySeriesOfAName() {
        String text = "# TYPE depin_node_energy_joules_total counter\n"
                + "depin_node_energy_joules_total{node=\"a\",source=\"estimated\"} 12.5\n"
                + "depin_node_energy_joules_total{node=\"b\",source=\"estimated\"} 7.5\n"
                + "depin_node_energy_joules_total_other 99\n"
                + "depin_node_uptime_seconds{node=\"a\"} 40\n";
        assertEquals(20.0, MeasuredEarnings.sum(text, "depin_node_energy_joules_total", "source=\"estimated\""));
        assertTrue(Double.isNaN(MeasuredEarnings.sum(text, "depin_node_energy_joules_total", "source=\"measured\"")));
        assertEquals(40.0, MeasuredEarnings.sum(text, "depin_node_uptime_seconds", null));
    }
}
