package dev.depin.ionet;

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
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A contract test server for io.net's IO Cloud CaaS API, written from io.net's API reference
 * pages ("Get Deployment Price", "Deploy a Container", "Update Container Definition", and the VM
 * service's "Extend Cluster" and "Destroy Deployment"; sources in docs/decisions.md). It serves
 * {@code GET /price}, {@code POST /deploy}, {@code GET|PATCH|DELETE /deployment/{id}} and
 * {@code POST /deployment/{id}/extend} under {@code /enterprise/v1/io-cloud/caas}, and refuses
 * anything else: a missing or wrong {@code x-api-key} (401), unknown paths (404), and bodies or
 * queries that do not match — FastAPI's {@code 422 {"detail": [{"loc", "msg", "type"}]}}, with
 * {@code extra_forbidden} for unknown fields such as a {@code container_config} wrapper. A prepaid
 * balance in USDC is drawn by deployments ({@code 402 Insufficient funds}: the status is our
 * choice, the reference does not name one).
 */
final class CaasContractServer implements AutoCloseable {
    static final String KEY = "io-test-7d1a";
    static final String PREFIX = "/enterprise/v1/io-cloud/caas";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DEPLOYMENT = Pattern.compile(PREFIX + "/deployment/([0-9a-f-]{36})(/extend)?");
    private static final Set<String> DEPLOY_FIELDS = Set.of("resource_private_name", "duration_hours",
            "gpus_per_container", "hardware_id", "location_ids", "replica_count", "image_url", "entrypoint", "args",
            "traffic_port", "env_variables", "secret_env_variables", "registry_username", "registry_secret");
    private static final Set<String> DEPLOY_REQUIRED = Set.of("resource_private_name", "duration_hours",
            "gpus_per_container", "hardware_id", "location_ids", "replica_count", "image_url", "entrypoint",
            "traffic_port");

    private final HttpServer server;
    private final List<String> log = new ArrayList<>();
    private final Map<String, ObjectNode> deployments = new LinkedHashMap<>();
    /** USDC per GPU-hour by hardware id. */
    final Map<Integer, BigDecimal> hourly = Map.of(206, new BigDecimal("2.19"), 101, new BigDecimal("1.29"));
    BigDecimal balanceUsdc = new BigDecimal("500.00");

    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final JsonNode detail;

        Refused(int status, JsonNode detail) {
            super(detail.toString());
            this.status = status;
            this.detail = detail;
        }
    }

    CaasContractServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PREFIX);
    }

    synchronized List<String> log() {
        return List.copyOf(log);
    }

    synchronized JsonNode deployment(String id) {
        return deployments.get(id).deepCopy();
    }

    synchronized void setStatus(String id, String status) {
        deployments.get(id).put("status", status);
    }

    private void handle(HttpExchange ex) throws IOException {
        int status = 200;
        JsonNode answer;
        try {
            synchronized (this) {
                log.add(ex.getRequestMethod() + " " + ex.getRequestURI());
                answer = route(ex);
            }
        } catch (Refused r) {
            status = r.status;
            ObjectNode e = JSON.createObjectNode();
            e.set("detail", r.detail);
            answer = e;
        }
        byte[] bytes = JSON.writeValueAsBytes(answer);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Refused text(int status, String detail) {
        return new Refused(status, JSON.getNodeFactory().textNode(detail));
    }

    private static Refused invalid(String where, String field, String msg, String type) {
        ArrayNode list = JSON.createArrayNode();
        ObjectNode e = list.addObject();
        e.putArray("loc").add(where).add(field);
        e.put("msg", msg);
        e.put("type", type);
        return new Refused(422, list);
    }

    private JsonNode route(HttpExchange ex) throws Refused, IOException {
        String key = ex.getRequestHeaders().getFirst("x-api-key");
        if (key == null || !key.equals(KEY)) {
            throw text(401, "Invalid API key");
        }
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getPath();
        String query = ex.getRequestURI().getRawQuery();
        if (path.equals(PREFIX + "/price") && method.equals("GET")) {
            Map<String, String> q = query(query);
            for (String k : q.keySet()) {
                if (!Set.of("location_ids", "hardware_id", "duration_hours", "gpus_per_container", "replica_count")
                        .contains(k)) {
                    throw invalid("query", k, "Extra inputs are not permitted", "extra_forbidden");
                }
            }
            JsonNode locations;
            try {
                locations = JSON.readTree(required(q, "location_ids"));
            } catch (IOException e) {
                throw invalid("query", "location_ids", "list of ids in a form of json array", "value_error");
            }
            if (!locations.isArray() || locations.isEmpty()) {
                throw invalid("query", "location_ids", "list of ids in a form of json array", "value_error");
            }
            int hw = positive(q, "hardware_id");
            int hours = positive(q, "duration_hours");
            int gpus = positive(q, "gpus_per_container");
            int replicas = positive(q, "replica_count");
            BigDecimal rate = hourly.get(hw);
            if (rate == null) {
                throw text(404, "Hardware not found");
            }
            ObjectNode data = JSON.createObjectNode();
            data.put("replica_count", replicas);
            data.put("gpus_per_container", gpus);
            data.putArray("available_replica_count").add(12);
            data.put("discount", 0);
            data.put("ionet_fee", 0);
            data.put("total_cost_usdc", rate.multiply(BigDecimal.valueOf((long) hours * gpus * replicas)));
            ObjectNode out = JSON.createObjectNode();
            out.set("data", data);
            return out;
        }
        if (path.equals(PREFIX + "/deploy") && method.equals("POST")) {
            noQuery(query);
            JsonNode b = body(ex);
            fields(b, DEPLOY_FIELDS, DEPLOY_REQUIRED);
            for (String f : List.of("duration_hours", "gpus_per_container", "hardware_id", "replica_count",
                    "traffic_port")) {
                if (!b.get(f).isInt() || b.get(f).asInt() < 1) {
                    throw invalid("body", f, "Input should be a valid integer", "int_type");
                }
            }
            for (String f : List.of("resource_private_name", "image_url")) {
                if (!b.get(f).isTextual() || b.get(f).asText().isEmpty()) {
                    throw invalid("body", f, "Input should be a valid string", "string_type");
                }
            }
            for (String f : List.of("location_ids", "entrypoint", "args")) {
                if (b.has(f) && !b.get(f).isArray()) {
                    throw invalid("body", f, "Input should be a valid list", "list_type");
                }
            }
            if (b.has("env_variables") && !b.get("env_variables").isObject()) {
                throw invalid("body", "env_variables", "Input should be a valid dictionary", "dict_type");
            }
            BigDecimal rate = hourly.get(b.get("hardware_id").asInt());
            if (rate == null) {
                throw text(404, "Hardware not found");
            }
            BigDecimal cost = rate.multiply(BigDecimal.valueOf((long) b.get("duration_hours").asInt()
                    * b.get("gpus_per_container").asInt() * b.get("replica_count").asInt()));
            if (balanceUsdc.compareTo(cost) < 0) {
                throw text(402, "Insufficient funds: " + balanceUsdc.toPlainString() + " USDC available, "
                        + cost.toPlainString() + " needed");
            }
            balanceUsdc = balanceUsdc.subtract(cost);
            String id = UUID.nameUUIDFromBytes(("d" + deployments.size()).getBytes(StandardCharsets.UTF_8)).toString();
            ObjectNode d = JSON.createObjectNode();
            d.put("id", id);
            d.put("status", "deploying");
            d.put("duration_hours", b.get("duration_hours").asInt());
            d.set("request", b);
            deployments.put(id, d);
            ObjectNode out = JSON.createObjectNode();
            out.put("status", "success");
            out.put("deployment_id", id);
            return out;
        }
        Matcher m = DEPLOYMENT.matcher(path);
        if (m.matches()) {
            noQuery(query);
            ObjectNode d = deployments.get(m.group(1));
            if (d == null) {
                throw text(404, "Not found");
            }
            boolean extend = m.group(2) != null;
            boolean ended = Set.of("destroyed", "completed").contains(d.get("status").asText());
            if (extend && method.equals("POST")) {
                JsonNode b = body(ex);
                fields(b, Set.of("duration_hours"), Set.of("duration_hours"));
                if (!b.get("duration_hours").isInt() || b.get("duration_hours").asInt() < 1) {
                    throw invalid("body", "duration_hours", "Input should be a valid integer", "int_type");
                }
                if (ended) {
                    throw text(400, "Deployment is not active");
                }
                d.put("duration_hours", d.get("duration_hours").asInt() + b.get("duration_hours").asInt());
                return wrap(d);
            }
            if (!extend && method.equals("GET")) {
                noBody(ex);
                return wrap(d);
            }
            if (!extend && method.equals("PATCH")) {
                JsonNode b = body(ex);
                fields(b, Set.of("image_url", "entrypoint", "args", "traffic_port", "env_variables",
                        "secret_env_variables", "registry_username", "registry_secret"), Set.of());
                if (ended) {
                    throw text(400, "Deployment is not active");
                }
                ObjectNode out = JSON.createObjectNode();
                out.put("status", "success");
                out.put("deployment_id", d.get("id").asText());
                return out;
            }
            if (!extend && method.equals("DELETE")) {
                noBody(ex);
                if (ended) {
                    throw text(400, "Deployment is not active");
                }
                d.put("status", "destroyed");
                ObjectNode out = JSON.createObjectNode();
                out.put("status", "success");
                return out;
            }
        }
        throw text(404, "Not Found");
    }

    private static ObjectNode wrap(ObjectNode d) {
        ObjectNode out = JSON.createObjectNode();
        ObjectNode data = out.putObject("data");
        data.put("id", d.get("id").asText());
        data.put("status", d.get("status").asText());
        data.put("duration_hours", d.get("duration_hours").asInt());
        return out;
    }

    private static JsonNode body(HttpExchange ex) throws Refused, IOException {
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        if (ct == null || !ct.startsWith("application/json")) {
            throw invalid("body", "", "Content-Type must be application/json", "model_attributes_type");
        }
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            bytes = in.readNBytes(1 << 20);
        }
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw invalid("body", "", "Input should be a valid dictionary", "model_attributes_type");
            }
            return n;
        } catch (IOException e) {
            throw invalid("body", "", "JSON decode error", "json_invalid");
        }
    }

    private static void noBody(HttpExchange ex) throws Refused, IOException {
        try (InputStream in = ex.getRequestBody()) {
            if (in.read() >= 0) {
                throw invalid("body", "", "this endpoint takes no body", "extra_forbidden");
            }
        }
    }

    private static void fields(JsonNode n, Set<String> allowed, Set<String> required) throws Refused {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw invalid("body", f, "Extra inputs are not permitted", "extra_forbidden");
            }
        }
        for (String f : required) {
            if (!n.has(f) || n.get(f).isNull()) {
                throw invalid("body", f, "Field required", "missing");
            }
        }
    }

    private static void noQuery(String query) throws Refused {
        if (query != null && !query.isEmpty()) {
            throw invalid("query", query, "Extra inputs are not permitted", "extra_forbidden");
        }
    }

    private static Map<String, String> query(String query) {
        Map<String, String> q = new LinkedHashMap<>();
        if (query != null) {
            for (String p : query.split("&")) {
                int eq = p.indexOf('=');
                q.put(URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8),
                        eq < 0 ? "" : URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return q;
    }

    private static String required(Map<String, String> q, String k) throws Refused {
        String v = q.get(k);
        if (v == null) {
            throw invalid("query", k, "Field required", "missing");
        }
        return v;
    }

    private static int positive(Map<String, String> q, String k) throws Refused {
        try {
            int v = Integer.parseInt(required(q, k));
            if (v < 1) {
                throw invalid("query", k, "Input should be greater than or equal to 1", "greater_than_equal");
            }
            return v;
        } catch (NumberFormatException e) {
            throw invalid("query", k, "Input should be a valid integer", "int_parsing");
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
