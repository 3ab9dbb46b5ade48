package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code depin earnings} end to end: the seed's figures, and every bad argument rejected with status 2. */
class EarningsCommandTest {

    /** Runs the CLI; returns stdout + "\n--stderr--\n" + stderr. */
    static String run(int expectedStatus, String... args) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = DepinCli.run(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        String all = out.toString(StandardCharsets.UTF_8) + "\n--stderr--\n" + err.toString(StandardCharsets.UTF_8);
        savedOut.println(all);
        assertEquals(expectedStatus, status, all);
        return all;
    }

    @Test
    void earnings_seedFiguresRtx4090() {
        String out = run(0, "earnings", "--gpu", "rtx4090", "--kwh-price", "0.15",
                "--gross-per-day", "io.net=3-7", "--gross-per-day", "render=2.50-6", "--gross-per-day", "akash=2-5.50");
        // 450 W x 24 h = 10.8 kWh x $0.15 = $1.62/day; $1,800 / 1080 days = $1.666667/day.
        // io.net low: 3 - 1.62 - 1.666667 = -$0.286667; akash high: 5.50 - 3.286667 = $2.213333.
        // Per month: 90 - 48.60 - 50 = -$8.60 (io.net low); 165 - 48.60 - 50 = $66.40 (akash high).
        assertTrue(out.contains("RTX 4090, 450 W, purchase $1800.00 (assumed) over 36 months"), out);
        assertTrue(out.matches("(?s).*io\\.net low\\s+\\$3\\.00\\s+\\$1\\.62\\s+\\$1\\.666667\\s+-\\$0\\.286667"
                + "\\s+\\|\\s+\\$90\\.00\\s+\\$48\\.60\\s+\\$50\\.00\\s+-\\$8\\.60\n.*"), out);
        assertTrue(out.matches("(?s).*akash high\\s+\\$5\\.50\\s+\\$1\\.62\\s+\\$1\\.666667\\s+\\$2\\.213333"
                + "\\s+\\|\\s+\\$165\\.00\\s+\\$48\\.60\\s+\\$50\\.00\\s+\\$66\\.40\n.*"), out);
        assertTrue(out.contains("render low"), out);
        // (1.62 + 1.666666..) / 24 = 0.1369444.. -> $0.136944
        assertTrue(out.contains("break-even: $0.136944 per GPU-hour"), out);
    }

    @Test
    void earnings_hourlyPriceZeroUtilization() {
        String out = run(0, "earnings", "--gpu", "h100-sxm", "--kwh-price", "0.10", "--price-per-hour", "2",
                "--utilization", "0");
        assertTrue(out.contains("H100 SXM, 700 W"), out);
        assertTrue(out.contains("break-even: none at 0% utilization"), out);
    }

    @Test
    void earnings_badArgumentsExit2WithSpecificMessage() {
        String[][] cases = {
            {"--kwh-price", "-0.1", "electricity price -0.1 USD/kWh is out of range"},
            {"--kwh-price", "abc", "--kwh-price 'abc' is not a plain decimal number"},
            {"--utilization", "101", "utilization 101% is out of range"},
            {"--life-months", "0", "life of 0 months is out of range"},
            {"--purchase-price", "-5", "purchase price -5 USD is out of range"},
            {"--watts", "0", "power 0 W is out of range"},
            {"--gpu", "a100", "--gpu 'a100' is not a preset"},
        };
        for (String[] c : cases) {
            String[] args = {"earnings", "--gpu", "rtx4090", "--kwh-price", "0.15", "--gross-per-day", "3-7",
                c[0], c[1]};
            if (c[0].equals("--kwh-price") || c[0].equals("--gpu")) {
                args = new String[] {"earnings", "--gpu", c[0].equals("--gpu") ? c[1] : "rtx4090", "--kwh-price",
                    c[0].equals("--kwh-price") ? c[1] : "0.15", "--gross-per-day", "3-7"};
            }
            String out = run(2, args);
            assertTrue(out.contains(c[2]), c[2] + " in " + out);
            assertFalse(out.contains("Exception"), out);
        }
        assertTrue(run(2, "earnings", "--gpu", "rtx4090", "--kwh-price", "0.15", "--gross-per-day", "7-3")
                .contains("the low end is above the high end"));
        assertTrue(run(2, "earnings", "--gpu", "rtx4090", "--kwh-price", "0.15", "--gross-per-day", "-3")
                .contains("gross per day -3 USD is out of range"));
        assertTrue(run(2, "earnings", "--kwh-price", "0.15", "--gross-per-day", "3")
                .contains("without --gpu, give both --watts and --purchase-price"));
        assertTrue(run(2, "earnings", "--gpu", "rtx4090", "--gross-per-day", "3")
                .contains("Missing required option: '--kwh-price=USD'"));
        assertTrue(run(2, "earnings", "--gpu", "rtx4090", "--kwh-price", "0.1", "--gross-per-day", "3",
                "--price-per-hour", "1").contains("mutually exclusive"));
        assertTrue(run(2, "earnings", "--gpu", "rtx4090", "--kwh-price", "0.1", "--life-months", "x",
                "--gross-per-day", "3").contains("Invalid value for option '--life-months'"));
    }

    @Test
    void help_listsNewCommands() {
        String out = run(0, "--help");
        assertTrue(out.contains("earnings"), out);
        assertTrue(out.contains("ledger"), out);
    }
}
