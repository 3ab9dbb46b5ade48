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

        @Option(names = "--node", paramLabel = "URL", description = "Measured: a running node's metrics "
                + "(depin node --metrics-port), e.g. http://127.0.0.1:9101/metrics: what it earned at its price, "
                + "its device time (utilization) and energy, since it started.")
        String node;

        @Option(names = "--ledger", paramLabel = "FILE", description = "Measured: what a ledger (SQLite) paid the "
                + "node named by --provider or --key, from its first payment to now.")
        java.nio.file.Path ledger;

        @Option(names = "--receipts", paramLabel = "DIR", description = "Measured: the node's own signed receipts "
                + "(every receipt.json and batched-receipt.json under DIR, e.g. a buyer's depin demo --out folder), "
                + "each verified under --key: gross at --price-per-second and --price-per-gb, device time and the "
                + "energy each receipt states, from the first execution's start to the last one's end. A receipt "
                + "that names the node but does not verify is refused (status 2); other nodes' are skipped.")
        java.nio.file.Path receipts;
    }

    @Option(names = "--price-per-second", paramLabel = "USD", defaultValue = "0.0010", description = "With "
            + "--receipts: the node's price per device-second, as given to depin node (default: ${DEFAULT-VALUE}).")
    String pricePerSecond;

    @Option(names = "--price-per-gb", paramLabel = "USD", defaultValue = "0.02", description = "With --receipts: "
            + "the node's price per 10^9 bytes in or out, as given to depin node (default: ${DEFAULT-VALUE}).")
    String pricePerGb;

    @Option(names = "--provider", paramLabel = "ID", description = "With --ledger: the node's id (64 hex "
            + "characters, as depin node prints it), or its account, provider:ID.")
    String provider;

    @Option(names = "--key", paramLabel = "FILE", description = "With --ledger or --receipts: the node's key file "
            + "(with --passphrase-env VAR if it is encrypted), or with --receipts its public key (PEM).")
    java.nio.file.Path key;

    @Option(names = "--passphrase-env", paramLabel = "VAR", description = "With --key: the environment variable "
            + "holding the key file's passphrase.")
    String passphraseEnv;

    /** A labelled gross revenue per day. */
    private record Scenario(String label, BigDecimal grossPerDay) {
    }

    @Override
    public Integer call() {
        if (revenue.node != null || revenue.ledger != null || revenue.receipts != null) {
            return measured();
        }
        if (receiptPriceGiven()) {
            throw new CommandLine.ParameterException(spec.commandLine(), RECEIPT_PRICE_ONLY);
        }
        if (provider != null || key != null || passphraseEnv != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--provider, --key and --passphrase-env go "
                    + "with --ledger");
        }
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

    /** {@code --node} or {@code --ledger}: the same table, from what the node actually did. */
    private Integer measured() {
        Gpu preset = null;
        MeasuredEarnings m;
        BigDecimal kwh;
        BigDecimal util;
        BigDecimal purchase = null;
        try {
            if (gpu != null) {
                for (Gpu g : Gpu.values()) {
                    if (g.option.equals(gpu.toLowerCase(Locale.ROOT))) {
                        preset = g;
                    }
                }
                if (preset == null) {
                    throw new IllegalArgumentException("--gpu '" + gpu + "' is not a preset: use rtx4090, h100-sxm "
                            + "or h100-pcie");
                }
            }
            if (watts != null && (watts < 1 || watts > 100_000)) {
                throw new IllegalArgumentException("--watts " + watts + " is out of range: use 1 to 100000");
            }
            if (lifeMonths < 1 || lifeMonths > 600) {
                throw new IllegalArgumentException("--life-months " + lifeMonths + " is out of range: use 1 to 600");
            }
            kwh = Earnings.decimal(kwhPrice, "--kwh-price");
            util = Earnings.decimal(utilization, "--utilization");
            if (kwh.compareTo(BigDecimal.valueOf(100)) > 0 || util.compareTo(BigDecimal.valueOf(100)) > 0) {
                throw new IllegalArgumentException("--kwh-price is 0 to 100 USD and --utilization 0 to 100 %");
            }
            if (purchasePrice != null) {
                purchase = Earnings.decimal(purchasePrice, "--purchase-price");
            } else if (preset != null) {
                purchase = preset.purchase;
            }
            if (revenue.receipts == null && receiptPriceGiven()) {
                throw new IllegalArgumentException(RECEIPT_PRICE_ONLY);
            }
            if (revenue.node != null) {
                if (provider != null || key != null) {
                    throw new IllegalArgumentException("--provider and --key go with --ledger; --node reads the "
                            + "node itself");
                }
                m = MeasuredEarnings.fromMetrics(revenue.node);
            } else if (revenue.receipts != null) {
                if (provider != null || key == null) {
                    throw new IllegalArgumentException("--receipts needs the node's key to check their signatures: "
                            + "--key FILE (its key file or public key PEM); an id (--provider) cannot verify them");
                }
                dev.depin.money.Price price;
                try {
                    price = new dev.depin.money.Price(dev.depin.money.MicroUsd.ofUsd(pricePerSecond),
                            dev.depin.money.MicroUsd.ofUsd(pricePerGb));
                } catch (dev.depin.DepinException e) {
                    throw new IllegalArgumentException("--price-per-second '" + pricePerSecond + "' and "
                            + "--price-per-gb '" + pricePerGb + "': " + e.getMessage());
                }
                m = MeasuredEarnings.fromReceipts(revenue.receipts, MeasuredEarnings.publicKey(key, passphraseEnv),
                        price);
            } else {
                m = MeasuredEarnings.fromLedger(revenue.ledger,
                        MeasuredEarnings.provider(provider, key, passphraseEnv), java.time.Instant.now());
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Integer w = watts != null ? watts : preset != null ? Integer.valueOf(preset.watts) : null;
        boolean utilGiven = spec.commandLine().getParseResult().hasMatchedOption("--utilization");
        double joules = m.joules();
        String energyNote;
        if (!Double.isNaN(joules)) {
            energyNote = String.format(Locale.ROOT, "energy %.1f J %s", joules, m.energySource());
        } else if (w != null && !Double.isNaN(m.deviceSeconds())) {
            joules = w * m.deviceSeconds();
            energyNote = String.format(Locale.ROOT, "energy %.1f J estimated (%d W x device time)", joules, w);
        } else if (w != null) {
            joules = w * m.seconds() * util.doubleValue() / 100;
            energyNote = "energy estimated at " + w + " W x " + util.toPlainString() + "% of the time"
                    + (utilGiven ? "" : " (assumed: give --utilization)");
        } else {
            joules = 0;
            energyNote = "energy not known (give --gpu or --watts to estimate it)";
        }
        String utilNote = Double.isNaN(m.deviceSeconds()) ? "utilization not measured (the ledger has no device time; "
                + "--node measures it)"
                : String.format(Locale.ROOT, "device time %.3f s, %.2f%% utilization", m.deviceSeconds(),
                        100 * m.deviceSeconds() / m.seconds());
        PrintStream out = System.out;
        out.printf(Locale.ROOT, "%s: %d %s in %.3f s; %s; %s; earned %s%n", m.source(), m.attempts(),
                revenue.node != null ? "attempt(s) completed" : revenue.receipts != null ? "receipt(s)" : "payment(s)",
                m.seconds(), utilNote, energyNote,
                Earnings.usd(m.grossMicros()));
        long grossDay = micros(m.perDay(BigDecimal.valueOf(m.grossMicros()).movePointLeft(6)));
        // kWh = J / 3,600,000
        long energyDay = micros(m.perDay(BigDecimal.valueOf(joules).multiply(kwh)
                .divide(BigDecimal.valueOf(3_600_000), 12, java.math.RoundingMode.HALF_UP)));
        long deprecDay = purchase == null ? 0 : micros(purchase.divide(BigDecimal.valueOf((long) lifeMonths
                * Earnings.DAYS_PER_MONTH), 12, java.math.RoundingMode.HALF_UP));
        if (purchase == null) {
            out.println("depreciation not counted: give --gpu or --purchase-price");
        } else {
            out.println("depreciation: " + Earnings.usd(micros(purchase)) + (purchasePrice == null ? " (assumed)" : "")
                    + " over " + lifeMonths + " months; electricity $" + kwh.toPlainString() + "/kWh");
        }
        String fmt = "%-18s %12s %12s %13s %12s | %12s %12s %13s %12s%n";
        out.printf(Locale.ROOT, fmt, "", "gross/day", "energy/day", "deprec./day", "net/day",
                "gross/month", "energy/month", "deprec./month", "net/month");
        int days = Earnings.DAYS_PER_MONTH;
        out.printf(Locale.ROOT, fmt, "measured", Earnings.usd(grossDay), Earnings.usd(energyDay),
                Earnings.usd(deprecDay), Earnings.usd(grossDay - energyDay - deprecDay), Earnings.usd(grossDay * days),
                Earnings.usd(energyDay * days), Earnings.usd(deprecDay * days),
                Earnings.usd((grossDay - energyDay - deprecDay) * days));
        return 0;
    }

    private static final String RECEIPT_PRICE_ONLY = "--price-per-second and --price-per-gb go with --receipts "
            + "(the calculator takes --price-per-hour; --node and --ledger know what the node earned)";

    private boolean receiptPriceGiven() {
        CommandLine.ParseResult p = spec.commandLine().getParseResult();
        return p.hasMatchedOption("--price-per-second") || p.hasMatchedOption("--price-per-gb");
    }

    private static long micros(BigDecimal usd) {
        return usd.movePointRight(6).setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
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
