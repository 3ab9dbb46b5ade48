package dev.depin.examples.cli;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code depin earnings}: what a GPU owner keeps of a day's gross revenue after energy
 * (board power x hours under load x price per kWh) and depreciation (purchase price over a
 * life in months), per day and per month, with the break-even price per GPU-hour. The
 * arithmetic is in {@code Earnings}. Exit status: 0 printed; 2 bad usage (every bad argument
 * is named).
 */
@Command(name = "earnings", mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Examples:", "  depin earnings --gpu rtx4090 --kwh-price 0.15 --gross-per-day io.net=3-7", "  depin earnings --gpu h100-sxm --kwh-price 0.12 --price-per-hour 2.10 --utilization 60"},

        description = {
            "What a GPU owner keeps: gross revenue minus energy (board power x hours under load x price per kWh) "
                    + "minus depreciation (purchase price over --life-months), per day and per month (30 days), "
                    + "with the break-even price per GPU-hour.",
            "",
            "Presets (--gpu), board power from the vendor's spec sheet; the purchase price is an ASSUMPTION, "
                    + "not a quote: override it with --purchase-price.",
            "  rtx4090    450 W (NVIDIA GeForce RTX 4090 specifications, 'Total Graphics Power'); "
                    + "assumed purchase $1,800",
            "  h100-sxm   700 W (NVIDIA H100 Tensor Core GPU datasheet, 'Max thermal design power', SXM); "
                    + "assumed purchase $30,000",
            "  h100-pcie  350 W (same datasheet, PCIe); assumed purchase $25,000",
            "",
            "Energy counts full board power for every hour under load (--utilization %% of 24 h) and nothing "
                    + "when idle: an upper bound under load, a lower one for idle draw. Money is exact decimal "
                    + "arithmetic kept in whole micro-USD, each figure rounded once (half up); net = the rounded "
                    + "gross minus the rounded costs.",
            "",
            "Example, the seed's RTX 4090 figures at $0.15/kWh:",
            "  depin earnings --gpu rtx4090 --kwh-price 0.15 --gross-per-day io.net=3-7 "
                    + "--gross-per-day render=2.50-6 --gross-per-day akash=2-5.50",
            "",
            "Exit status: 0 printed; 2 bad usage (the message names the argument)."
        })
public final class EarningsCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The presets: board power and an assumed purchase price. */
    enum Gpu {
        RTX4090("rtx4090", "RTX 4090", 450, "1800"),
        H100_SXM("h100-sxm", "H100 SXM", 700, "30000"),
        H100_PCIE("h100-pcie", "H100 PCIe", 350, "25000");

        final String option;
        final String label;
        final int watts;
        final BigDecimal purchase;

        Gpu(String option, String label, int watts, String purchase) {
            this.option = option;
            this.label = label;
            this.watts = watts;
            this.purchase = new BigDecimal(purchase);
        }
    }

    @Option(names = "--gpu", paramLabel = "NAME", description = "Preset: rtx4090, h100-sxm or h100-pcie. Without it, "
            + "give --watts and --purchase-price.")
    String gpu;

    @Option(names = "--watts", paramLabel = "W", description = "Board power in watts (overrides the preset).")
    Integer watts;

    @Option(names = "--purchase-price", paramLabel = "USD", description = "What the card cost (overrides the "
            + "preset's assumption).")
    String purchasePrice;

    @Option(names = "--life-months", paramLabel = "N", description = "Months to write the card off over "
            + "(default: ${DEFAULT-VALUE}).", defaultValue = "36")
    int lifeMonths;

    @Option(names = "--kwh-price", paramLabel = "USD", required = true, description = "Electricity price in USD "
            + "per kWh (required: it varies too much for a default).")
    String kwhPrice;

    @Option(names = "--utilization", paramLabel = "PCT", description = "Percent of the day under load, 0 to 100 "
            + "(default: ${DEFAULT-VALUE}).", defaultValue = "100")
    String utilization;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Revenue revenue;

    static final class Revenue {
        @Option(names = "--gross-per-day", paramLabel = "[LABEL=]MIN[-MAX]", description = "Gross USD per day, or "
                + "a range (both ends shown); repeat for several platforms, e.g. io.net=3-7.")
        List<String> grossPerDay = new ArrayList<>();

        @Option(names = "--price-per-hour", paramLabel = "USD", description = "Price per GPU-hour; gross per day = "
                + "price x utilization x 24 h.")
        String pricePerHour;
    }

    /** A labelled gross revenue per day. */
    private record Scenario(String label, BigDecimal grossPerDay) {
    }

    @Override
    public Integer call() {
        Earnings.Card card;
        List<Scenario> scenarios = new ArrayList<>();
        String cardLabel;
        try {
            Gpu preset = null;
            if (gpu != null) {
                for (Gpu g : Gpu.values()) {
                    if (g.option.equals(gpu.toLowerCase(Locale.ROOT))) {
                        preset = g;
                    }
                }
                if (preset == null) {
                    throw new IllegalArgumentException("--gpu '" + gpu + "' is not a preset: use rtx4090, h100-sxm "
                            + "or h100-pcie, or give --watts and --purchase-price");
                }
            }
            if (preset == null && (watts == null || purchasePrice == null)) {
                throw new IllegalArgumentException("without --gpu, give both --watts and --purchase-price");
            }
            int w = watts != null ? watts : preset.watts;
            BigDecimal purchase = purchasePrice != null
                    ? Earnings.decimal(purchasePrice, "--purchase-price") : preset.purchase;
            card = new Earnings.Card(w, Earnings.decimal(utilization, "--utilization"),
                    Earnings.decimal(kwhPrice, "--kwh-price"), purchase, lifeMonths);
            cardLabel = (preset == null ? "custom card" : preset.label) + ", " + w + " W"
                    + (watts != null && preset != null ? " (given)" : "") + ", purchase "
                    + Earnings.usd(purchase.movePointRight(6).longValueExact())
                    + (purchasePrice == null ? " (assumed)" : " (given)") + " over " + lifeMonths + " months, "
                    + "electricity $" + card.kwhPrice().toPlainString() + "/kWh, " + card.utilization().toPlainString()
                    + "% utilization (" + card.hoursPerDay().stripTrailingZeros().toPlainString() + " h/day under load)";
            if (revenue.pricePerHour != null) {
                BigDecimal p = Earnings.decimal(revenue.pricePerHour, "--price-per-hour");
                scenarios.add(new Scenario("$" + p.toPlainString() + "/GPU-hour", Earnings.grossPerDay(card, p)));
            } else {
                for (String g : revenue.grossPerDay) {
                    scenarios.addAll(parseGross(g));
                }
            }
            for (Scenario s : scenarios) {
                Earnings.compute(card, s.grossPerDay);
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintStream out = System.out;
        out.println(cardLabel);
        String fmt = "%-18s %12s %12s %13s %12s | %12s %12s %13s %12s%n";
        out.printf(Locale.ROOT, fmt, "", "gross/day", "energy/day", "deprec./day", "net/day",
                "gross/month", "energy/month", "deprec./month", "net/month");
        for (Scenario s : scenarios) {
            Earnings.Result r = Earnings.compute(card, s.grossPerDay);
            out.printf(Locale.ROOT, fmt, s.label, Earnings.usd(r.grossDay()), Earnings.usd(r.energyDay()),
                    Earnings.usd(r.depreciationDay()), Earnings.usd(r.netDay()), Earnings.usd(r.grossMonth()),
                    Earnings.usd(r.energyMonth()), Earnings.usd(r.depreciationMonth()), Earnings.usd(r.netMonth()));
        }
        OptionalLong be = Earnings.breakEvenPerHour(card);
        out.println(be.isPresent()
                ? "break-even: " + Earnings.usd(be.getAsLong()) + " per GPU-hour (energy + depreciation over "
                        + card.hoursPerDay().stripTrailingZeros().toPlainString() + " h/day under load)"
                : "break-even: none at 0% utilization (no hours to sell; depreciation is still due)");
        return 0;
    }

    /** {@code [LABEL=]MIN[-MAX]}: one scenario, or two (low and high) for a range. */
    private static List<Scenario> parseGross(String arg) {
        String label = "";
        String range = arg;
        int eq = arg.indexOf('=');
        if (eq >= 0) {
            label = arg.substring(0, eq).trim();
            range = arg.substring(eq + 1);
            if (label.isEmpty()) {
                throw new IllegalArgumentException("--gross-per-day '" + arg + "': the label before '=' is empty");
            }
            label += " ";
        }
        int dash = range.indexOf('-', 1);
        if (dash < 0) {
            return List.of(new Scenario(label + "$/day", Earnings.decimal(range, "--gross-per-day")));
        }
        BigDecimal min = Earnings.decimal(range.substring(0, dash), "--gross-per-day low end");
        BigDecimal max = Earnings.decimal(range.substring(dash + 1), "--gross-per-day high end");
        if (min.compareTo(max) > 0) {
            throw new IllegalArgumentException("--gross-per-day '" + arg + "': the low end is above the high end");
        }
        return List.of(new Scenario(label + "low", min), new Scenario(label + "high", max));
    }
}
