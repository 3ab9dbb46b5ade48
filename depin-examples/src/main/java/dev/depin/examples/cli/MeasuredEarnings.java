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
 * What a node actually did, for {@code depin earnings --node}, {@code --ledger} and
 * {@code --receipts}: the window observed, what it earned in it, its device time and energy.
 * {@link #fromMetrics} reads a running node's Prometheus endpoint; {@link #fromLedger} reads what
 * a ledger paid a provider's account; {@link #fromReceipts} adds up the node's own signed receipts.
 *
 * @param source      what was read, for the header line
 * @param seconds     the window observed, in seconds (positive)
 * @param grossMicros what the node earned in it, in micro-USD
 * @param deviceSeconds device time in the window, or NaN when the source does not say
 * @param joules      energy in the window, or NaN when the source does not say
 * @param energySource {@code measured}, {@code estimated}, a count of each, or empty
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
        return Escrow.providerAccount(loadKey(key, passphraseEnv).nodeId());
    }

    /** The node's key file, unencrypted or with the passphrase in {@code passphraseEnv}. */
    private static dev.depin.crypto.NodeKeyPair loadKey(Path key, String passphraseEnv) {
        char[] pass = null;
        if (passphraseEnv != null) {
            String v = System.getenv(passphraseEnv);
            if (v == null || v.isEmpty()) {
                throw new IllegalArgumentException("the environment variable " + passphraseEnv + " is not set");
            }
            pass = v.toCharArray();
        }
        try {
            return KeyPem.load(key, pass);
        } catch (DepinException e) {
            throw new IllegalArgumentException("--key " + key + ": " + e.getMessage());
        } finally {
            if (pass != null) {
                java.util.Arrays.fill(pass, '\0');
            }
        }
    }

    /** The receipt files {@code depin demo --out} and buyers write, and how deep and how many to look for. */
    private static final java.util.Set<String> RECEIPT_FILES = java.util.Set.of("receipt.json", "batched-receipt.json");
    private static final int MAX_DEPTH = 8;
    private static final int MAX_RECEIPTS = 1_000_000;

    /**
     * What a node's own receipts under {@code dir} say it did: each {@code receipt.json} and
     * {@code batched-receipt.json} whose signature names the node is verified under its key
     * (the signature, or the batch's and the inclusion, and the statement strictly), then
     * counted once per job attempt: gross at {@code price} (device time and bytes, as the node
     * charges), device time, and the energy each states. The window runs from the first
     * execution's start to the last one's end. Receipts signed by other nodes are skipped and
     * counted.
     *
     * @param dir   the directory (searched {@value #MAX_DEPTH} levels deep)
     * @param key   the node's public key
     * @param price the node's price
     * @return the totals
     * @throws IllegalArgumentException with a message for the user when the directory cannot be
     *                                  read, holds none of the node's receipts, or holds one
     *                                  that names the node but does not verify under its key
     */
    static MeasuredEarnings fromReceipts(Path dir, dev.depin.crypto.NodePublicKey key, dev.depin.money.Price price) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--receipts: " + dir + " is not a directory: give the folder a buyer's "
                    + "run was written to (e.g. depin demo --out DIR)");
        }
        List<Path> files;
        try (java.util.stream.Stream<Path> walk = Files.walk(dir, MAX_DEPTH)) {
            files = walk.filter(f -> RECEIPT_FILES.contains(f.getFileName().toString()) && Files.isRegularFile(f))
                    .sorted().limit(MAX_RECEIPTS + 1L).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new IllegalArgumentException("--receipts: cannot read " + dir + ": " + e.getMessage());
        }
        if (files.size() > MAX_RECEIPTS) {
            throw new IllegalArgumentException("--receipts: more than " + MAX_RECEIPTS + " receipts under " + dir
                    + ": give a smaller folder");
        }
        String id = key.nodeId().hex();
        java.util.Map<String, dev.depin.crypto.ExecutionReceipt> mine = new java.util.TreeMap<>();
        int others = 0;
        for (Path f : files) {
            dev.depin.crypto.ExecutionReceipt r;
            try {
                r = verifiedIfMine(f, key, id);
            } catch (DepinException e) {
                throw new IllegalArgumentException("--receipts: " + f + " does not verify under the node's key: "
                        + e.getMessage() + " (remove it, or give the key of the node that signed it)");
            }
            if (r == null) {
                others++;
            } else {
                mine.putIfAbsent(r.jobId() + "#" + r.attempt(), r);
            }
        }
        if (mine.isEmpty()) {
            throw new IllegalArgumentException("--receipts: none of the " + files.size() + " receipt file(s) under "
                    + dir + " is signed by node " + id + " (receipt.json and batched-receipt.json are read)");
        }
        long gross = 0;
        long deviceNanos = 0;
        long millijoules = 0;
        int[] sources = new int[3]; // measured, estimated, none
        Instant first = null;
        Instant last = null;
        for (dev.depin.crypto.ExecutionReceipt r : mine.values()) {
            long bytes = 0;
            for (dev.depin.crypto.BufferDigest b : r.inputs()) {
                bytes += b.bytes();
            }
            for (dev.depin.crypto.BufferDigest b : r.outputs()) {
                bytes += b.bytes();
            }
            gross = Math.addExact(gross, price.charge(r.deviceTimeNanos(), bytes).micros());
            deviceNanos = Math.addExact(deviceNanos, r.deviceTimeNanos());
            if (r.energy() == null) {
                sources[2]++;
            } else {
                millijoules = Math.addExact(millijoules, r.energy().millijoules());
                sources[r.energy().source() == dev.depin.crypto.ReceiptEnergy.Source.MEASURED ? 0 : 1]++;
            }
            first = first == null || r.startedAt().isBefore(first) ? r.startedAt() : first;
            last = last == null || r.endedAt().isAfter(last) ? r.endedAt() : last;
        }
        double seconds = Math.max(1e-3, Duration.between(first, last).toNanos() / 1e9);
        String energySource = sources[0] + sources[1] == 0 ? "" : sources[1] == 0 && sources[2] == 0 ? "measured"
                : sources[0] + " measured, " + sources[1] + " estimated" + (sources[2] == 0 ? ""
                : ", " + sources[2] + " stating none");
        return new MeasuredEarnings("receipts " + dir + " (" + mine.size() + " of node " + key.nodeId().shortId()
                + (others == 0 ? "" : ", " + others + " of other nodes skipped") + ")", seconds, gross,
                deviceNanos / 1e9, sources[0] + sources[1] == 0 ? Double.NaN : millijoules / 1e3, energySource,
                mine.size());
    }

    /**
     * The receipt in {@code f}, verified under {@code key}: the signature (or the batch's and the
     * statement's inclusion in it) and the statement, strictly; the bindings only a buyer can
     * check (its nonce, inputs and outputs) are taken from the receipt. Null when every signature
     * names another node.
     */
    private static dev.depin.crypto.ExecutionReceipt verifiedIfMine(Path f, dev.depin.crypto.NodePublicKey key,
                                                                    String id) {
        byte[] json = dev.depin.verify.EvidenceFiles.read(f, dev.depin.crypto.BatchedReceipt.DEFAULT_MAX_JSON_BYTES,
                "receipt");
        if (f.getFileName().toString().equals("batched-receipt.json")) {
            dev.depin.crypto.BatchedReceipt b = dev.depin.crypto.BatchedReceipt.parse(json);
            if (!mine(b.batch(), id)) {
                return null;
            }
            dev.depin.crypto.BatchVerifier v = new dev.depin.crypto.BatchVerifier(1);
            v.verifyBatchSignature(b, key);
            return v.verify(b, claimed(b.readReceiptUnverified(), key)).receipt().receipt();
        }
        dev.depin.crypto.Envelope env = dev.depin.crypto.Envelope.parse(json);
        if (!mine(env, id)) {
            return null;
        }
        env.verify(dev.depin.crypto.Dsse.IN_TOTO_PAYLOAD_TYPE, key);
        return dev.depin.crypto.ExecutionReceipt.verify(env,
                claimed(dev.depin.crypto.ExecutionReceipt.readUnverified(env), key)).receipt();
    }

    /** Whether a signature on the envelope names the node (or names no one, so that it must be checked). */
    private static boolean mine(dev.depin.crypto.Envelope env, String id) {
        return env.signatures().stream().anyMatch(s -> s.keyid().equals(id) || s.keyid().isEmpty());
    }

    /** Expectations that are the receipt's own claims: what is left to check is the signature and the statement. */
    private static dev.depin.crypto.ReceiptExpectations claimed(dev.depin.crypto.ExecutionReceipt r,
                                                               dev.depin.crypto.NodePublicKey key) {
        dev.depin.crypto.ReceiptExpectations.Builder ex = dev.depin.crypto.ReceiptExpectations.builder().signer(key)
                .jobId(r.jobId()).attempt(r.attempt()).nonce(r.nonce()).specHash(r.specHash()).kernelId(r.kernelId())
                .kernelHash(r.kernelHash()).merkleChunkBytes(r.merkleChunkBytes());
        r.inputs().forEach(ex::input);
        r.outputs().forEach(ex::receivedOutputDigest);
        return ex.build();
    }

    /**
     * The node's public key for {@code --receipts}: from a public key PEM, or from the node's key
     * file (unencrypted or with the passphrase in {@code passphraseEnv}).
     */
    static dev.depin.crypto.NodePublicKey publicKey(Path key, String passphraseEnv) {
        byte[] pem;
        try {
            pem = dev.depin.verify.EvidenceFiles.read(key, dev.depin.verify.EvidenceFiles.MAX_KEY_BYTES, "key");
        } catch (DepinException e) {
            throw new IllegalArgumentException("--key " + key + ": " + e.getMessage());
        }
        if (new String(pem, java.nio.charset.StandardCharsets.US_ASCII).contains("-----BEGIN PUBLIC KEY-----")) {
            try {
                return dev.depin.crypto.KeyPem.readPublicKey(new String(pem, java.nio.charset.StandardCharsets.US_ASCII));
            } catch (DepinException e) {
                throw new IllegalArgumentException("--key " + key + ": " + e.getMessage());
            }
        }
        return loadKey(key, passphraseEnv).publicKey();
    }

    /** @return {@code x} per day, from the window: x × 86,400 / seconds */
    BigDecimal perDay(BigDecimal x) {
        return x.multiply(BigDecimal.valueOf(86_400)).divide(BigDecimal.valueOf(seconds), 12, RoundingMode.HALF_UP);
    }
}
