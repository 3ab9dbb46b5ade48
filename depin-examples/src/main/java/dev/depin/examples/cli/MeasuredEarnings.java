package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeId;
import dev.depin.ledger.LedgerReader;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.StatementLine;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a node actually did, for {@code depin earnings --node} and {@code --ledger}: the window
 * observed, what it earned in it, its device time and energy. {@link #fromMetrics} reads a
 * running node's Prometheus endpoint; {@link #fromLedger} reads what a ledger paid a
 * provider's account.
 *
 * @param source      what was read, for the header line
 * @param seconds     the window observed, in seconds (positive)
 * @param grossMicros what the node earned in it, in micro-USD
 * @param deviceSeconds device time in the window, or NaN when the source does not say
 * @param joules      energy in the window, or NaN when the source does not say
 * @param energySource {@code measured}, {@code estimated}, or empty
 * @param attempts    attempts completed, or -1 when the source does not say
 */
record MeasuredEarnings(String source, double seconds, long grossMicros, double deviceSeconds, double joules,
                        String energySource, long attempts) {
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})? (\\S+)$");
    private static final int MAX_SCRAPE = 16 << 20;

    /**
     * Scrapes a node's metrics.
     *
     * @param url the node's {@code http://host:port/metrics}
     * @return what it reports
     * @throws IllegalArgumentException with a message for the user when the URL is not one, the
     *                                  node cannot be reached, or it publishes no node metrics
     */
    static MeasuredEarnings fromMetrics(String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--node '" + url + "' is not a URL: give the node's metrics address, "
                    + "e.g. http://127.0.0.1:9101/metrics");
        }
        if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("--node '" + url + "' is not an http:// URL: give the node's metrics "
                    + "address, e.g. http://127.0.0.1:9101/metrics");
        }
        String text;
        try {
            HttpResponse<byte[]> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
                    .send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw new IllegalArgumentException("--node " + url + " answered HTTP " + r.statusCode()
                        + ": is it the node's /metrics (depin node --metrics-port)?");
            }
            if (r.body().length > MAX_SCRAPE) {
                throw new IllegalArgumentException("--node " + url + " sent more than 16 MiB: not a node's metrics");
            }
            text = new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + url + ": " + (e.getMessage() == null ? e.toString()
                    : e.getMessage()) + " (is the node running with --metrics-port?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("interrupted while reading " + url);
        }
        double uptime = sum(text, "depin_node_uptime_seconds", null);
        if (Double.isNaN(uptime)) {
            throw new IllegalArgumentException(url + " publishes no depin_node_uptime_seconds: it is not a depin "
                    + "node's metrics");
        }
        if (!(uptime > 0)) {
            throw new IllegalArgumentException(url + ": the node has been up for no time yet; try again");
        }
        double earned = sum(text, "depin_node_earnings_usd_total", null);
        double device = sum(text, "depin_node_device_time_seconds_total", null);
        double measured = sum(text, "depin_node_energy_joules_total", "source=\"measured\"");
        double estimated = sum(text, "depin_node_energy_joules_total", "source=\"estimated\"");
        double attempts = sum(text, "depin_node_attempts_total", "outcome=\"completed\"");
        String source = !Double.isNaN(measured) ? "measured" : !Double.isNaN(estimated) ? "estimated" : "";
        double joules = !Double.isNaN(measured) ? measured : estimated;
        return new MeasuredEarnings("node " + url, uptime, Math.round((Double.isNaN(earned) ? 0 : earned) * 1e6),
                device, joules, source, Double.isNaN(attempts) ? 0 : (long) attempts);
    }

    /** The sum of every sample of {@code name} whose labels contain {@code label}; NaN when there is none. */
    static double sum(String text, String name, String label) {
        double total = Double.NaN;
        for (String line : text.split("\n")) {
            if (line.startsWith("#") || !line.startsWith(name)) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches() || !m.group(1).equals(name)) {
                continue;
            }
            if (label != null && (m.group(3) == null || !m.group(3).contains(label))) {
                continue;
            }
            double v;
            try {
                v = Double.parseDouble(m.group(4));
            } catch (NumberFormatException e) {
                continue;
            }
            total = Double.isNaN(total) ? v : total + v;
        }
        return total;
    }

    /**
     * What a ledger paid a provider: the posted balance of {@code provider:<id>}, over the time
     * from its first statement line to now.
     *
     * @param file     the SQLite ledger
     * @param account  the provider's account ({@code provider:...})
     * @param now      the end of the window
     * @return the payments
     * @throws IllegalArgumentException with a message for the user
     */
    static MeasuredEarnings fromLedger(Path file, AccountId account, Instant now) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--ledger: no ledger file at " + file + ": give the file a depin "
                    + "ledger wrote (e.g. depin demo --ledger FILE); this command never creates one");
        }
        try (LedgerReader ledger = LedgerReader.sqlite(file)) {
            List<StatementLine> lines;
            try {
                lines = ledger.statement(account);
            } catch (DepinException e) {
                throw new IllegalArgumentException("--ledger " + file + " has no account " + account
                        + ": this ledger never paid that node (" + e.getMessage() + ")");
            }
            long paid = 0;
            Instant first = null;
            long payments = 0;
            for (StatementLine l : lines) {
                paid += l.change();
                if (first == null || l.at().isBefore(first)) {
                    first = l.at();
                }
                if (l.change() > 0) {
                    payments++;
                }
            }
            if (first == null) {
                throw new IllegalArgumentException("--ledger " + file + ": " + account + " has no entries yet");
            }
            double seconds = Math.max(1e-3, Duration.between(first, now).toNanos() / 1e9);
            return new MeasuredEarnings("ledger " + file + ", account " + account, seconds, paid, Double.NaN,
                    Double.NaN, "", payments);
        } catch (DepinException e) {
            throw new IllegalArgumentException("--ledger " + file + ": " + e.getMessage());
        }
    }

    /**
     * The provider's account to read from a ledger: {@code --provider ID} (a node id, or the
     * account itself, {@code provider:...}), or the id read from the node's
     * key file ({@code --key FILE}, unencrypted or with the passphrase in {@code passphraseEnv}).
     */
    static AccountId provider(String id, Path key, String passphraseEnv) {
        if (id != null && key != null) {
            throw new IllegalArgumentException("give the node one way: --provider ID or --key FILE");
        }
        if (id != null) {
            try {
                return id.startsWith("provider:") ? AccountId.of(id) : Escrow.providerAccount(NodeId.parse(id));
            } catch (DepinException e) {
                throw new IllegalArgumentException("--provider '" + id + "': " + e.getMessage()
                        + " (give the 64-hex-character id depin node prints, or the account, provider:...)");
            }
        }
        if (key == null) {
            throw new IllegalArgumentException("--ledger needs the node: --provider ID or --key FILE");
        }
        char[] pass = null;
        if (passphraseEnv != null) {
            String v = System.getenv(passphraseEnv);
            if (v == null || v.isEmpty()) {
                throw new IllegalArgumentException("the environment variable " + passphraseEnv + " is not set");
            }
            pass = v.toCharArray();
        }
        try {
            return Escrow.providerAccount(KeyPem.load(key, pass).nodeId());
        } catch (DepinException e) {
            throw new IllegalArgumentException("--key " + key + ": " + e.getMessage());
        } finally {
            if (pass != null) {
                java.util.Arrays.fill(pass, '\0');
            }
        }
    }

    /** @return {@code x} per day, from the window: x × 86,400 / seconds */
    BigDecimal perDay(BigDecimal x) {
        return x.multiply(BigDecimal.valueOf(86_400)).divide(BigDecimal.valueOf(seconds), 12, RoundingMode.HALF_UP);
    }
}
