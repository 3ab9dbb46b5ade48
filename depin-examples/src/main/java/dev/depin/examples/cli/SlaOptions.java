package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.provider.SlaTerms;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code depin node}'s SLA options: what the node promises in its signed offer
 * ({@link SlaTerms}) and how it is described on the command line and in the node's start line.
 */
final class SlaOptions {
    /** The clouds' usual schedule, {@link SlaTerms#standard}. */
    static final String STANDARD_CREDITS = "99.9:10,99:25,95:100";

    @Option(names = "--sla-within", paramLabel = "[FLOPS=]DURATION",
            description = "Promise a verified result within DURATION of dispatch (as the buyer measures it) for jobs "
                    + "of at most FLOPS (any size without FLOPS=); repeat for size classes, e.g. --sla-within 1e9=2s "
                    + "--sla-within 30s. Puts an SLA in the signed offer; buyers that meter it are credited from "
                    + "the stake when it is broken (default: no SLA).")
    List<String> within = new ArrayList<>();

    @Option(names = "--sla-period", defaultValue = "1h", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "The SLA's measurement period, aligned to the Unix epoch, 10s to 31d (default "
                    + "${DEFAULT-VALUE}).")
    Duration period;

    @Option(names = "--sla-first-byte", paramLabel = "DURATION",
            converter = ServeOptions.DurationConverter.class,
            description = "Also promise the first byte of every result within DURATION of dispatch, as the buyer's "
                    + "transport sees it arrive (1ms to 1d; default: no first-byte promise). Needs --sla-within.")
    Duration firstByte;

    @Option(names = "--sla-listed-via", paramLabel = "KEY",
            description = "Also promise availability over time: the share of each period this node's listing was "
                    + "live in the directory with this Ed25519 public key (64 hex characters, printed by depin "
                    + "directory), as that directory signs it, counts as compliance when it is lower than the share "
                    + "of good attempts (default: attempts only). Needs --sla-within.")
    String listedVia;

    @Option(names = "--sla-credits", defaultValue = STANDARD_CREDITS, paramLabel = "BELOW:CREDIT,...",
            description = "The credit schedule: below BELOW %% of a period's attempts good, CREDIT %% of that period's "
                    + "charges back, thresholds going down and credits up (default ${DEFAULT-VALUE}).")
    String credits;

    /**
     * @return the terms the options describe, or null when no {@code --sla-within} was given
     * @throws ServeOptions.UsageException naming the option and what to give
     */
    SlaTerms terms() throws ServeOptions.UsageException {
        if (within.isEmpty()) {
            if (firstByte != null || listedVia != null) {
                throw new ServeOptions.UsageException((firstByte != null ? "--sla-first-byte" : "--sla-listed-via")
                        + " needs an SLA: give --sla-within too");
            }
            return null;
        }
        List<SlaTerms.Objective> objectives = new ArrayList<>();
        for (String w : within) {
            int eq = w.indexOf('=');
            long flops = Long.MAX_VALUE;
            String d = w;
            if (eq >= 0) {
                try {
                    flops = new BigDecimal(w.substring(0, eq).trim()).longValueExact();
                } catch (NumberFormatException | ArithmeticException e) {
                    throw new ServeOptions.UsageException("--sla-within '" + w + "': FLOPS must be a whole number "
                            + "such as 1000000 or 1e9");
                }
                d = w.substring(eq + 1);
            }
            Duration bound;
            try {
                bound = new ServeOptions.DurationConverter().convert(d);
            } catch (RuntimeException e) {
                throw new ServeOptions.UsageException("--sla-within '" + w + "': " + e.getMessage());
            }
            try {
                objectives.add(new SlaTerms.Objective(flops, bound));
            } catch (DepinException e) {
                throw new ServeOptions.UsageException("--sla-within '" + w + "': " + e.getMessage());
            }
        }
        objectives.sort(Comparator.comparingLong(SlaTerms.Objective::maxFlops));
        List<SlaTerms.CreditTier> tiers = new ArrayList<>();
        for (String t : credits.split(",", -1)) {
            String[] p = t.split(":", -1);
            try {
                if (p.length != 2) {
                    throw new NumberFormatException();
                }
                int below = new BigDecimal(p[0].trim()).movePointRight(2).intValueExact();
                int credit = Integer.parseInt(p[1].trim());
                tiers.add(new SlaTerms.CreditTier(below, credit));
            } catch (NumberFormatException | ArithmeticException e) {
                throw new ServeOptions.UsageException("--sla-credits '" + credits + "': each tier is BELOW:CREDIT "
                        + "(percent good with at most two decimals : percent credited), e.g. " + STANDARD_CREDITS);
            } catch (DepinException e) {
                throw new ServeOptions.UsageException("--sla-credits '" + credits + "': " + e.getMessage());
            }
        }
        dev.depin.crypto.NodePublicKey directory = null;
        if (listedVia != null) {
            try {
                directory = dev.depin.crypto.NodePublicKey.of(dev.depin.crypto.Hex.decode(listedVia.trim()));
            } catch (DepinException | IllegalArgumentException e) {
                throw new ServeOptions.UsageException("--sla-listed-via '" + (listedVia.length() > 80
                        ? listedVia.substring(0, 80) + "..." : listedVia) + "' is not a directory's Ed25519 public key "
                        + "as 64 hex characters (depin directory prints it: 'public key HEX'): " + e.getMessage());
            }
        }
        try {
            return new SlaTerms(period, objectives, tiers, firstByte, directory);
        } catch (DepinException e) {
            throw new ServeOptions.UsageException("--sla-within/--sla-period/--sla-credits: " + e.getMessage());
        }
    }

    /**
     * One line for people: {@code SLA per 1h: verified within 30s (any size); below 99.9 % good, 10 % back; ...}.
     *
     * @param t the terms
     * @return the description
     */
    static String describe(SlaTerms t) {
        StringBuilder b = new StringBuilder("SLA per ").append(duration(t.period())).append(": verified within ");
        for (int i = 0; i < t.objectives().size(); i++) {
            SlaTerms.Objective o = t.objectives().get(i);
            b.append(i == 0 ? "" : ", ").append(duration(o.within()))
                    .append(o.maxFlops() == Long.MAX_VALUE ? " (any size)" : " (up to " + o.maxFlops() + " FLOPs)");
        }
        if (t.firstByteWithin() != null) {
            b.append(", first byte within ").append(duration(t.firstByteWithin()));
        }
        if (t.listedVia() != null) {
            b.append(", listed in directory ").append(t.listedVia().nodeId().shortId());
        }
        for (SlaTerms.CreditTier c : t.credits()) {
            b.append("; below ").append(percent(c.belowBasisPoints())).append(" good, ").append(c.creditPercent())
                    .append(" % back");
        }
        return b.toString();
    }

    /** @return basis points as a percentage: 9990 is {@code 99.9 %} */
    static String percent(int basisPoints) {
        return BigDecimal.valueOf(basisPoints, 2).stripTrailingZeros().toPlainString() + " %";
    }

    /** @return {@code 30s}, {@code 1h}, {@code 500ms}: the shortest exact form */
    static String duration(Duration d) {
        long ms = d.toMillis();
        for (long[] u : new long[][] {{86_400_000L, 'd'}, {3_600_000L, 'h'}, {60_000L, 'm'}, {1000L, 's'}}) {
            if (ms % u[0] == 0) {
                return ms / u[0] + String.valueOf((char) u[1]);
            }
        }
        return ms + "ms";
    }

    /**
     * The {@code depin node} arguments that sign exactly these terms.
     *
     * @param t the terms
     * @return {@code --sla-period}, one {@code --sla-within} per class and {@code --sla-credits}
     */
    static List<String> args(SlaTerms t) {
        List<String> out = new ArrayList<>(List.of("--sla-period", duration(t.period())));
        for (SlaTerms.Objective o : t.objectives()) {
            out.add("--sla-within");
            out.add((o.maxFlops() == Long.MAX_VALUE ? "" : o.maxFlops() + "=") + duration(o.within()));
        }
        if (t.firstByteWithin() != null) {
            out.add("--sla-first-byte");
            out.add(duration(t.firstByteWithin()));
        }
        if (t.listedVia() != null) {
            out.add("--sla-listed-via");
            out.add(dev.depin.crypto.Hex.encode(t.listedVia().raw()));
        }
        out.add("--sla-credits");
        out.add(String.join(",", t.credits().stream().map(c -> BigDecimal.valueOf(c.belowBasisPoints(), 2)
                .stripTrailingZeros().toPlainString() + ":" + c.creditPercent()).toList()));
        return out;
    }
}
