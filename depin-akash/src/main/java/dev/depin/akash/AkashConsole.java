package dev.depin.akash;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;
import dev.depin.capacity.spi.MarketHttp;
import dev.depin.capacity.MarketApiException;
import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A client of the Akash Console API (the "managed wallet" API: a Console account paid by card,
 * deposits in USD, the wallet on chain held by Console): create a deployment from an SDL, read
 * its bids, create a lease on one (Console sends the manifest to the provider), top up its
 * deposit, close it.
 *
 * <p>Written from the published documentation (sources and dates in {@code docs/decisions.md}):
 * base {@code https://console-api.akash.network}, header {@code x-api-key}, JSON bodies and
 * answers wrapped in {@code {"data": …}} (the lease request is not wrapped: Console's own schema
 * for {@code POST /v1/leases} takes {@code manifest} and {@code leases} at the top), errors
 * {@code {"error": …, "message": …}} with status 400, 401, 404, 429 or 500. It is tested
 * against a local server that implements those endpoints and refuses anything else
 * ({@code AkashConsoleContractTest}); it has not been run against the live service.
 *
 * <p>Thread-safe; every call blocks for at most the request timeout. The API key is never
 * logged nor shown by {@link #toString()}.
 */
public final class AkashConsole {
    /** Console's public endpoint. */
    public static final URI DEFAULT_BASE = URI.create("https://console-api.akash.network");
    /** The smallest deposit the documentation says Console accepts, in USD. */
    public static final BigDecimal MIN_DEPOSIT_USD = new BigDecimal("0.5");

    private static final Pattern DSEQ = Pattern.compile("[0-9]{1,20}");
    private static final Pattern PROVIDER = Pattern.compile("akash1[02-9ac-hj-np-z]{38}");
    private static final int MAX_ANSWER_BYTES = 8 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MarketHttp http;

    /** A deployment just created: its sequence number and the manifest Console made of the SDL. */
    public record CreatedDeployment(String dseq, String manifest) {
    }

    /**
     * A deployment as Console reports it.
     *
     * @param dseq   its sequence number
     * @param owner  the on-chain owner (Console's managed wallet)
     * @param state  {@code active} or {@code closed}
     * @param leases its leases
     */
    public record Deployment(String dseq, String owner, String state, List<Lease> leases) {
        /** @return whether the deployment is open */
        public boolean active() {
            return state.equals("active");
        }
    }

    /**
     * A lease: which provider runs which order, at what price per block, in what state.
     *
     * @param provider the provider's address
     * @param gseq     the group's sequence number
     * @param oseq     the order's sequence number
     * @param state    {@code active}, {@code closed}, {@code insufficient_funds}
     * @param denom    the price's denomination
     * @param amount   the price per block
     */
    public record Lease(String provider, long gseq, long oseq, String state, String denom, BigDecimal amount) {
    }

    /**
     * A provider's bid on a deployment's order.
     *
     * @param provider the provider's address
     * @param dseq     the deployment
     * @param gseq     the group's sequence number
     * @param oseq     the order's sequence number
     * @param bseq     the bid's sequence number
     * @param state    {@code open}, {@code active}, {@code lost}, {@code closed}
     * @param denom    the price's denomination
     * @param amount   the price per block
     */
    public record Bid(String provider, String dseq, long gseq, long oseq, long bseq, String state, String denom,
                      BigDecimal amount) {
        /** @return whether the bid can still be leased */
        public boolean open() {
            return state.equals("open");
        }
    }

    private AkashConsole(MarketHttp http) {
        this.http = http;
    }

    /**
     * A client of Console's public endpoint.
     *
     * @param apiKey the Console API key (Settings → API Keys); keep it in an environment variable
     * @return the client
     * @throws InvalidArgumentException on a blank key
     */
    public static AkashConsole connect(String apiKey) {
        return connect(DEFAULT_BASE, apiKey, Duration.ofSeconds(30));
    }

    /**
     * @param base    the API's base address ({@link #DEFAULT_BASE}, or a test server)
     * @param apiKey  the Console API key
     * @param timeout the longest one request may take
     * @return the client
     * @throws InvalidArgumentException on a blank key, a base that is not http(s), or a non-positive timeout
     */
    public static AkashConsole connect(URI base, String apiKey, Duration timeout) {
        return new AkashConsole(new MarketHttp("akash", "Akash Console", base, apiKey, 512,
                ": copy it from Console, Settings → API Keys", timeout, MAX_ANSWER_BYTES));
    }

    /**
     * {@code POST /v1/deployments}: creates a deployment from an SDL with a deposit in USD.
     *
     * @param sdl        the SDL, e.g. {@link AkashSdl#yaml()}
     * @param depositUsd the deposit, at least {@link #MIN_DEPOSIT_USD}
     * @return the deployment's sequence number and manifest
     * @throws MarketApiException when Console refuses or cannot be reached
     */
    public CreatedDeployment createDeployment(String sdl, BigDecimal depositUsd) {
        requireSdl(sdl);
        requireDeposit(depositUsd);
        ObjectNode data = JSON.createObjectNode();
        data.put("sdl", sdl);
        data.put("deposit", depositUsd);
        JsonNode d = call("POST", "/v1/deployments", wrap(data));
        return new CreatedDeployment(dseq(d.path("dseq"), "dseq"), d.path("manifest").isTextual()
                ? d.get("manifest").asText() : null);
    }

    /**
     * {@code GET /v1/deployments/{dseq}}.
     *
     * @param dseq the deployment's sequence number
     * @return the deployment and its leases
     */
    public Deployment deployment(String dseq) {
        return deploymentOf(call("GET", "/v1/deployments/" + requireDseq(dseq), null));
    }

    /**
     * {@code GET /v1/deployments?skip=&limit=}.
     *
     * @param skip  how many to skip, &ge; 0
     * @param limit how many at most, 1 to 1000
     * @return the deployments of the account
     */
    public List<Deployment> deployments(int skip, int limit) {
        if (skip < 0 || limit < 1 || limit > 1000) {
            throw new InvalidArgumentException("skip " + skip + " must be >= 0 and limit " + limit + " 1 to 1000");
        }
        JsonNode d = call("GET", "/v1/deployments?skip=" + skip + "&limit=" + limit, null);
        JsonNode list = d.path("deployments");
        if (!list.isArray()) {
            throw malformed("GET /v1/deployments", "no deployments list");
        }
        List<Deployment> out = new ArrayList<>();
        for (JsonNode n : list) {
            out.add(deploymentOf(n));
        }
        return out;
    }

    /**
     * {@code PUT /v1/deployments/{dseq}}: replaces the SDL (a new manifest version).
     *
     * @param dseq the deployment
     * @param sdl  the new SDL
     * @return the deployment
     */
    public Deployment updateDeployment(String dseq, String sdl) {
        requireSdl(sdl);
        ObjectNode data = JSON.createObjectNode();
        data.put("sdl", sdl);
        return deploymentOf(call("PUT", "/v1/deployments/" + requireDseq(dseq), wrap(data)));
    }

    /**
     * {@code DELETE /v1/deployments/{dseq}}: closes the deployment and its leases; what is left of
     * the deposit returns to the account.
     *
     * @param dseq the deployment
     */
    public void closeDeployment(String dseq) {
        JsonNode d = call("DELETE", "/v1/deployments/" + requireDseq(dseq), null);
        if (!d.path("success").asBoolean(false)) {
            throw malformed("DELETE /v1/deployments/" + dseq, "success is not true");
        }
    }

    /**
     * {@code GET /v1/bids?dseq=}.
     *
     * @param dseq the deployment
     * @return its bids (empty while none has come)
     */
    public List<Bid> bids(String dseq) {
        JsonNode d = call("GET", "/v1/bids?dseq=" + requireDseq(dseq), null);
        if (!d.isArray()) {
            throw malformed("GET /v1/bids", "data is not a list");
        }
        List<Bid> out = new ArrayList<>();
        for (JsonNode n : d) {
            JsonNode bid = n.path("bid");
            JsonNode id = bid.path("id");
            out.add(new Bid(provider(id.path("provider")), dseq(id.path("dseq"), "bid dseq"), number(id.path("gseq"),
                    "gseq"), number(id.path("oseq"), "oseq"), number(id.path("bseq"), "bseq"),
                    text(bid.path("state"), "bid state"), text(bid.path("price").path("denom"), "price denom"),
                    decimal(bid.path("price").path("amount"), "price amount")));
        }
        return out;
    }

    /**
     * {@code POST /v1/leases}: accepts bids and sends the manifest to their providers.
     *
     * @param manifest the manifest from {@link #createDeployment}
     * @param bids     the bids to lease
     * @return the deployment with its leases
     */
    public Deployment createLease(String manifest, List<Bid> bids) {
        InvalidArgumentException.requireNonNull(manifest, "manifest");
        InvalidArgumentException.requireNonNull(bids, "bids");
        if (manifest.isEmpty() || bids.isEmpty()) {
            throw new InvalidArgumentException("a lease needs the manifest and at least one bid");
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("manifest", manifest);
        ArrayNode leases = body.putArray("leases");
        for (Bid b : bids) {
            ObjectNode l = leases.addObject();
            l.put("dseq", requireDseq(b.dseq()));
            l.put("gseq", b.gseq());
            l.put("oseq", b.oseq());
            l.put("provider", b.provider());
        }
        return deploymentOf(call("POST", "/v1/leases", body));
    }

    /**
     * {@code POST /v1/deposit-deployment}: adds to the deployment's escrow, in USD.
     *
     * @param dseq       the deployment
     * @param depositUsd how much, at least {@link #MIN_DEPOSIT_USD}
     * @return the deployment
     */
    public Deployment deposit(String dseq, BigDecimal depositUsd) {
        requireDeposit(depositUsd);
        ObjectNode data = JSON.createObjectNode();
        data.put("dseq", requireDseq(dseq));
        data.put("deposit", depositUsd);
        return deploymentOf(call("POST", "/v1/deposit-deployment", wrap(data)));
    }

    // ------------------------------------------------------------------ plumbing

    private static ObjectNode wrap(ObjectNode data) {
        ObjectNode body = JSON.createObjectNode();
        body.set("data", data);
        return body;
    }

    private JsonNode call(String method, String pathAndQuery, JsonNode body) {
        String what = method + " " + pathAndQuery;
        MarketHttp.Answer answer = http.call(method, pathAndQuery, body);
        JsonNode json = answer.json();
        int status = answer.status();
        if (!answer.ok()) {
            String error = MarketHttp.clip(json.path("error").asText("HTTP " + status), 64);
            String message = MarketHttp.clip(json.path("message").asText(""), 300);
            String hint = switch (status) {
                case 401 -> " -- the API key is missing, expired or invalid: create one in Console, Settings → API Keys";
                case 404 -> " -- no such deployment in this account (closed deployments stay listed as closed)";
                case 429 -> " -- too many requests: wait and retry";
                case 400 -> message.toLowerCase(java.util.Locale.ROOT).contains("insufficient")
                        ? " -- add funds to the Console account" : "";
                default -> "";
            };
            throw new MarketApiException("akash", status, error, "Akash Console refused " + what + ": " + status + " "
                    + error + (message.isEmpty() ? "" : ": " + message) + hint);
        }
        if (!json.has("data")) {
            throw malformed(what, "no data field");
        }
        return json.get("data");
    }

    private static Deployment deploymentOf(JsonNode d) {
        JsonNode dep = d.path("deployment");
        JsonNode id = dep.path("deployment_id");
        List<Lease> leases = new ArrayList<>();
        JsonNode ls = d.path("leases");
        if (!ls.isArray()) {
            throw malformed("a deployment", "no leases list");
        }
        for (JsonNode l : ls) {
            JsonNode lid = l.path("lease_id");
            leases.add(new Lease(provider(lid.path("provider")), number(lid.path("gseq"), "gseq"),
                    number(lid.path("oseq"), "oseq"), text(l.path("state"), "lease state"),
                    text(l.path("price").path("denom"), "price denom"), decimal(l.path("price").path("amount"),
                    "price amount")));
        }
        return new Deployment(dseq(id.path("dseq"), "dseq"), text(id.path("owner"), "owner"),
                text(dep.path("state"), "deployment state"), List.copyOf(leases));
    }

    private static MarketApiException malformed(String what, String why) {
        return new MarketApiException("akash", 200, "malformed", "Akash Console's answer to " + what
                + " does not have the documented shape: " + why);
    }

    private static String text(JsonNode n, String what) {
        if (!n.isTextual() || n.asText().length() > 256) {
            throw malformed("a field", what + " is missing or not text");
        }
        return n.asText();
    }

    private static String dseq(JsonNode n, String what) {
        String s = n.isTextual() ? n.asText() : n.isIntegralNumber() ? n.asText() : null;
        if (s == null || !DSEQ.matcher(s).matches()) {
            throw malformed("a field", what + " is not a deployment sequence number");
        }
        return s;
    }

    private static String provider(JsonNode n) {
        if (!n.isTextual() || !PROVIDER.matcher(n.asText()).matches()) {
            throw malformed("a field", "provider is not an Akash address");
        }
        return n.asText();
    }

    private static long number(JsonNode n, String what) {
        if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() > Integer.MAX_VALUE) {
            throw malformed("a field", what + " is not a small non-negative integer");
        }
        return n.asLong();
    }

    private static BigDecimal decimal(JsonNode n, String what) {
        try {
            BigDecimal d = new BigDecimal(n.asText());
            if (!n.isTextual() && !n.isNumber() || d.signum() < 0 || d.precision() > 60) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw malformed("a field", what + " is not a non-negative decimal");
        }
    }

    private static String requireDseq(String dseq) {
        InvalidArgumentException.requireNonNull(dseq, "dseq");
        if (!DSEQ.matcher(dseq).matches()) {
            throw new InvalidArgumentException("dseq '" + dseq + "' is not a deployment sequence number (digits)");
        }
        return dseq;
    }

    private static void requireSdl(String sdl) {
        InvalidArgumentException.requireNonNull(sdl, "SDL");
        if (sdl.isBlank() || sdl.length() > 1 << 20) {
            throw new InvalidArgumentException("the SDL must be 1 byte to 1 MiB of YAML");
        }
    }

    private static void requireDeposit(BigDecimal usd) {
        InvalidArgumentException.requireNonNull(usd, "deposit");
        if (usd.compareTo(MIN_DEPOSIT_USD) < 0 || usd.scale() > 2 || usd.compareTo(new BigDecimal("1000000")) > 0) {
            throw new InvalidArgumentException("deposit $" + usd.toPlainString() + " must be $0.50 to $1,000,000 in "
                    + "whole cents (Console's minimum is $0.50)");
        }
    }

    @Override
    public String toString() {
        return "AkashConsole[" + http.base() + ", key ****]";
    }
}
