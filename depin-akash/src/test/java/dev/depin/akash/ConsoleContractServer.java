package dev.depin.akash;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A contract test server for the Akash Console API, written from its published documentation
 * (Akash docs "Console API — Getting Started" and "API Reference", and Console's own request
 * schemas; sources in docs/decisions.md): it implements {@code POST/GET /v1/deployments},
 * {@code GET/PUT/DELETE /v1/deployments/{dseq}}, {@code GET /v1/bids?dseq=},
 * {@code POST /v1/leases} and {@code POST /v1/deposit-deployment} with the documented shapes, and
 * refuses anything else — an unknown path or method, a missing or wrong {@code x-api-key}, a body
 * that is not JSON, not wrapped in {@code data} where the documentation wraps it, with unknown or
 * missing fields or wrong types — with the documented error shape {@code {"error", "message"}}.
 * It proves that a client speaks the documented API, not that the live service accepts it.
 *
 * <p>Its state: an account balance in USD (deposits draw on it: {@code Insufficient balance}
 * when short), deployments ({@code active} → {@code closed}), bids that providers place when a
 * deployment is created (none when {@link #noBids} is set), leases.
 */
final class ConsoleContractServer implements AutoCloseable {
    static final String KEY = "ak-test-2f9c1e";
    static final String PROVIDER_A = "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63";
    static final String PROVIDER_B = "akash18qa2a2ltfyvkyj0ggj3hkvuj6twzyumuaru9s4";
    static final String OWNER = "akash1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn7hzdtn";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DSEQ_PATH = Pattern.compile("/v1/deployments/([0-9]{1,20})");

    private final HttpServer server;
    private final Map<String, Dep> deployments = new LinkedHashMap<>();
    private final List<String> log = new ArrayList<>();
    private long nextDseq = 21_000_000;
    BigDecimal balanceUsd = new BigDecimal("100.00");
    volatile boolean noBids;
    /** Bid prices per block, in uakt, placed on each new deployment. */
    volatile List<BigDecimal> bidPrices = List.of(new BigDecimal("900"), new BigDecimal("750"));

    private static final class Dep {
        final String dseq;
        String sdl;
        String state = "active";
        BigDecimal escrowUsd;
        final List<ObjectNode> bids = new ArrayList<>();
        final List<ObjectNode> leases = new ArrayList<>();

        Dep(String dseq, String sdl, BigDecimal escrowUsd) {
            this.dseq = dseq;
            this.sdl = sdl;
            this.escrowUsd = escrowUsd;
        }
    }

    /** A request the server refuses, with the documented status and error code. */
    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String error;

        Refused(int status, String error, String message) {
            super(message);
            this.status = status;
            this.error = error;
        }
    }

    ConsoleContractServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    synchronized List<String> log() {
        return List.copyOf(log);
    }

    synchronized String state(String dseq) {
        return deployments.get(dseq).state;
    }

    synchronized BigDecimal escrow(String dseq) {
        return deployments.get(dseq).escrowUsd;
    }

    private void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        URI uri = ex.getRequestURI();
        int status = 200;
        JsonNode answer;
        try {
            synchronized (this) {
                log.add(method + " " + uri);
                answer = route(ex, method, uri.getPath(), uri.getRawQuery());
            }
        } catch (Refused r) {
            status = r.status;
            ObjectNode e = JSON.createObjectNode();
            e.put("error", r.error);
            e.put("message", r.getMessage());
            answer = e;
        }
        byte[] bytes = JSON.writeValueAsBytes(answer);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private JsonNode route(HttpExchange ex, String method, String path, String query) throws Refused, IOException {
        String key = ex.getRequestHeaders().getFirst("x-api-key");
        if (key == null || !key.equals(KEY)) {
            throw new Refused(401, "Unauthorized", "Invalid API key");
        }
        Matcher m = DSEQ_PATH.matcher(path);
        if (path.equals("/v1/deployments") && method.equals("POST")) {
            noQuery(query);
            JsonNode data = data(ex, Set.of("sdl", "deposit"), Set.of("sdl", "deposit"));
            String sdl = text(data, "sdl");
            BigDecimal deposit = dollars(data, "deposit");
            if (!sdl.startsWith("version: ")) {
                throw new Refused(400, "BadRequest", "Invalid SDL");
            }
            draw(deposit);
            String dseq = String.valueOf(nextDseq++);
            Dep d = new Dep(dseq, sdl, deposit);
            if (!noBids) {
                String[] providers = {PROVIDER_A, PROVIDER_B};
                for (int i = 0; i < bidPrices.size(); i++) {
                    d.bids.add(bid(dseq, providers[i % 2], i + 1, bidPrices.get(i), "open"));
                }
            }
            deployments.put(dseq, d);
            ObjectNode out = JSON.createObjectNode();
            out.put("dseq", dseq);
            out.put("manifest", "[{\"name\":\"akash\",\"services\":[]}]");
            out.putObject("signTx").put("code", 0).put("transactionHash", "AB".repeat(32)).put("rawLog", "");
            return wrap(out);
        }
        if (path.equals("/v1/deployments") && method.equals("GET")) {
            Map<String, String> q = query(query, Set.of("skip", "limit"));
            int skip = nonNegative(q.getOrDefault("skip", "0"), "skip", 0);
            int limit = nonNegative(q.getOrDefault("limit", "1000"), "limit", 1);
            noBody(ex);
            ObjectNode out = JSON.createObjectNode();
            ArrayNode list = out.putArray("deployments");
            deployments.values().stream().skip(skip).limit(limit).forEach(d -> list.add(deploymentJson(d)));
            out.putObject("pagination").put("total", deployments.size()).put("skip", skip).put("limit", limit)
                    .put("hasMore", skip + limit < deployments.size());
            return wrap(out);
        }
        if (m.matches()) {
            noQuery(query);
            Dep d = deployments.get(m.group(1));
            if (d == null) {
                throw new Refused(404, "NotFound", "Deployment not found");
            }
            switch (method) {
                case "GET" -> {
                    noBody(ex);
                    return wrap(deploymentJson(d));
                }
                case "PUT" -> {
                    JsonNode data = data(ex, Set.of("sdl"), Set.of("sdl"));
                    open(d);
                    d.sdl = text(data, "sdl");
                    return wrap(deploymentJson(d));
                }
                case "DELETE" -> {
                    noBody(ex);
                    open(d);
                    d.state = "closed";
                    d.leases.forEach(l -> l.put("state", "closed"));
                    balanceUsd = balanceUsd.add(d.escrowUsd);
                    d.escrowUsd = BigDecimal.ZERO;
                    ObjectNode out = JSON.createObjectNode();
                    out.put("success", true);
                    return wrap(out);
                }
                default -> throw new Refused(404, "NotFound", method + " " + path + " is not an endpoint");
            }
        }
        if (path.equals("/v1/bids") && method.equals("GET")) {
            Map<String, String> q = query(query, Set.of("dseq"));
            String dseq = q.get("dseq");
            if (dseq == null || !dseq.matches("[0-9]{1,20}")) {
                throw new Refused(400, "BadRequest", "dseq is required");
            }
            noBody(ex);
            Dep d = deployments.get(dseq);
            ArrayNode list = JSON.createArrayNode();
            if (d != null) {
                for (ObjectNode b : d.bids) {
                    ObjectNode entry = list.addObject();
                    entry.set("bid", b);
                    entry.putObject("escrow_account").putObject("id").put("scope", "bid").put("xid", dseq);
                    entry.put("isCertificateRequired", false);
                }
            }
            ObjectNode out = JSON.createObjectNode();
            out.set("data", list);
            return out;
        }
        if (path.equals("/v1/leases") && method.equals("POST")) {
            noQuery(query);
            JsonNode body = body(ex);
            fields(body, Set.of("manifest", "certificate", "leases"), Set.of("manifest", "leases"), "body");
            text(body, "manifest");
            JsonNode leases = body.get("leases");
            if (!leases.isArray() || leases.isEmpty()) {
                throw new Refused(400, "BadRequest", "leases must be a non-empty array");
            }
            Dep dep = null;
            for (JsonNode l : leases) {
                fields(l, Set.of("dseq", "gseq", "oseq", "provider"), Set.of("dseq", "gseq", "oseq", "provider"),
                        "lease");
                String dseq = text(l, "dseq");
                if (!l.get("gseq").isIntegralNumber() || !l.get("oseq").isIntegralNumber()) {
                    throw new Refused(400, "BadRequest", "gseq and oseq must be numbers");
                }
                Dep d = deployments.get(dseq);
                if (d == null) {
                    throw new Refused(404, "NotFound", "Deployment not found");
                }
                open(d);
                ObjectNode bid = d.bids.stream().filter(b -> b.path("id").path("provider").asText()
                        .equals(l.get("provider").asText()) && b.path("id").path("gseq").asLong() == l.get("gseq")
                        .asLong() && b.path("id").path("oseq").asLong() == l.get("oseq").asLong()).findFirst()
                        .orElseThrow(() -> new Refused(400, "BadRequest", "Bid not found"));
                if (!bid.path("state").asText().equals("open")) {
                    throw new Refused(400, "BadRequest", "Bid is not open");
                }
                for (ObjectNode other : d.bids) {
                    other.put("state", other == bid ? "active" : "lost");
                }
                ObjectNode lease = JSON.createObjectNode();
                lease.putObject("lease_id").put("owner", OWNER).put("dseq", dseq).put("gseq", l.get("gseq").asLong())
                        .put("oseq", l.get("oseq").asLong()).put("provider", l.get("provider").asText());
                lease.put("state", "active");
                lease.set("price", bid.get("price").deepCopy());
                lease.put("created_at", "1000");
                lease.put("closed_on", "0");
                d.leases.add(lease);
                dep = d;
            }
            return wrap(deploymentJson(dep));
        }
        if (path.equals("/v1/deposit-deployment") && method.equals("POST")) {
            noQuery(query);
            JsonNode data = data(ex, Set.of("dseq", "deposit"), Set.of("dseq", "deposit"));
            String dseq = text(data, "dseq");
            Dep d = deployments.get(dseq);
            if (d == null) {
                throw new Refused(404, "NotFound", "Deployment not found");
            }
            open(d);
            BigDecimal deposit = dollars(data, "deposit");
            draw(deposit);
            d.escrowUsd = d.escrowUsd.add(deposit);
            return wrap(deploymentJson(d));
        }
        throw new Refused(404, "NotFound", method + " " + path + " is not an endpoint of the Console API");
    }

    private static void open(Dep d) throws Refused {
        if (!d.state.equals("active")) {
            throw new Refused(400, "BadRequest", "Deployment " + d.dseq + " is closed");
        }
    }

    private void draw(BigDecimal usd) throws Refused {
        if (balanceUsd.compareTo(usd) < 0) {
            throw new Refused(400, "BadRequest", "Insufficient balance: $" + balanceUsd.toPlainString()
                    + " available, $" + usd.toPlainString() + " needed");
        }
        balanceUsd = balanceUsd.subtract(usd);
    }

    private static ObjectNode bid(String dseq, String provider, int bseq, BigDecimal price, String state) {
        ObjectNode b = JSON.createObjectNode();
        b.putObject("id").put("owner", OWNER).put("dseq", dseq).put("gseq", 1).put("oseq", 1).put("provider", provider)
                .put("bseq", bseq);
        b.put("state", state);
        b.putObject("price").put("denom", "uakt").put("amount", price.toPlainString());
        b.put("created_at", "1000");
        b.putArray("resources_offer");
        return b;
    }

    private static ObjectNode deploymentJson(Dep d) {
        ObjectNode out = JSON.createObjectNode();
        ObjectNode dep = out.putObject("deployment");
        dep.putObject("deployment_id").put("owner", OWNER).put("dseq", d.dseq);
        dep.put("state", d.state);
        dep.put("version", "00".repeat(32));
        dep.put("created_at", "1000");
        ArrayNode leases = out.putArray("leases");
        d.leases.forEach(leases::add);
        ObjectNode escrow = out.putObject("escrow_account");
        escrow.putObject("id").put("scope", "deployment").put("xid", OWNER + "/" + d.dseq);
        escrow.put("owner", OWNER);
        escrow.put("state", d.state.equals("active") ? "open" : "closed");
        return out;
    }

    private static ObjectNode wrap(ObjectNode data) {
        ObjectNode out = JSON.createObjectNode();
        out.set("data", data);
        return out;
    }

    private static JsonNode body(HttpExchange ex) throws Refused, IOException {
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        if (ct == null || !ct.startsWith("application/json")) {
            throw new Refused(400, "BadRequest", "Content-Type must be application/json");
        }
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            bytes = in.readNBytes(2 << 20);
        }
        try {
            JsonNode n = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
            if (n == null || !n.isObject()) {
                throw new Refused(400, "BadRequest", "the body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new Refused(400, "BadRequest", "the body is not JSON");
        }
    }

    private static void noBody(HttpExchange ex) throws Refused, IOException {
        try (InputStream in = ex.getRequestBody()) {
            if (in.read() >= 0) {
                throw new Refused(400, "BadRequest", "this endpoint takes no body");
            }
        }
    }

    /** The documented {data: {...}} wrapper, with exactly the allowed fields inside. */
    private static JsonNode data(HttpExchange ex, Set<String> allowed, Set<String> required) throws Refused,
            IOException {
        JsonNode body = body(ex);
        fields(body, Set.of("data"), Set.of("data"), "body");
        JsonNode data = body.get("data");
        if (!data.isObject()) {
            throw new Refused(400, "BadRequest", "data must be an object");
        }
        fields(data, allowed, required, "data");
        return data;
    }

    private static void fields(JsonNode n, Set<String> allowed, Set<String> required, String where) throws Refused {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new Refused(400, "BadRequest", "unknown field '" + f + "' in " + where);
            }
        }
        for (String f : required) {
            if (!n.has(f) || n.get(f).isNull()) {
                throw new Refused(400, "BadRequest", "missing field '" + f + "' in " + where);
            }
        }
    }

    private static String text(JsonNode n, String field) throws Refused {
        if (!n.get(field).isTextual()) {
            throw new Refused(400, "BadRequest", field + " must be a string");
        }
        return n.get(field).asText();
    }

    private static BigDecimal dollars(JsonNode n, String field) throws Refused {
        JsonNode v = n.get(field);
        if (!v.isNumber()) {
            throw new Refused(400, "BadRequest", field + " must be a number");
        }
        BigDecimal d = v.decimalValue();
        if (d.compareTo(new BigDecimal("0.5")) < 0) {
            throw new Refused(400, "BadRequest", field + " must be at least 0.5");
        }
        return d;
    }

    private static void noQuery(String query) throws Refused {
        if (query != null && !query.isEmpty()) {
            throw new Refused(400, "BadRequest", "this endpoint takes no query parameters");
        }
    }

    private static Map<String, String> query(String query, Set<String> allowed) throws Refused {
        Map<String, String> q = new LinkedHashMap<>();
        if (query == null || query.isEmpty()) {
            return q;
        }
        for (String p : query.split("&")) {
            int eq = p.indexOf('=');
            String k = eq < 0 ? p : p.substring(0, eq);
            if (!allowed.contains(k)) {
                throw new Refused(400, "BadRequest", "unknown query parameter '" + k + "'");
            }
            q.put(k, eq < 0 ? "" : p.substring(eq + 1));
        }
        return q;
    }

    private static int nonNegative(String v, String what, int min) throws Refused {
        try {
            int n = Integer.parseInt(v);
            if (n < min) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new Refused(400, "BadRequest", what + " must be an integer >= " + min);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
