package dev.depin.ionet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.InvalidArgumentException;
import dev.depin.capacity.spi.MarketHttp;
import dev.depin.capacity.MarketApiException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A client of io.net's IO Cloud "Containers as a Service" API: price a deployment, deploy a
 * container image on N GPUs for a prepaid number of hours, extend it, read its status, delete it.
 *
 * <p>Written from io.net's published API reference (sources and dates in {@code
 * docs/decisions.md}): base {@code https://api.io.solutions/enterprise/v1/io-cloud/caas}, header
 * {@code x-api-key}, configuration fields at the top level of the body (the reference notes that a
 * {@code container_config} wrapper is refused as {@code extra_forbidden}), validation errors as
 * {@code 422 {"detail": [{"loc", "msg", "type"}]}}. No machine-readable specification was found;
 * the extension endpoint is written after the VM service's documented {@code …/extend} (the
 * container reference page for it was not found). Tested against a local server that implements
 * these endpoints and refuses anything else ({@code IonetCaasContractTest}); not run against the
 * live service.
 *
 * <p>Thread-safe; every call blocks for at most the request timeout; the key is never logged.
 */
public final class IonetCaas {
    /** io.net's CaaS endpoint. */
    public static final URI DEFAULT_BASE = URI.create("https://api.io.solutions/enterprise/v1/io-cloud/caas");

    private static final Pattern ID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
            + "[0-9a-fA-F]{12}");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final int MAX_ANSWER_BYTES = 4 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MarketHttp http;

    /**
     * What a deployment would cost.
     *
     * @param totalUsdc         the total in USDC
     * @param availableReplicas how many replicas the hardware and locations have now, when reported (else -1)
     */
    public record Price(BigDecimal totalUsdc, int availableReplicas) {
    }

    /**
     * A container deployment to create. Every container runs {@code image} with {@code entrypoint}
     * and {@code args} on {@code gpusPerContainer} GPUs of {@code hardwareId} in one of
     * {@code locationIds}, for {@code durationHours}, prepaid.
     *
     * @param name             a unique name for the deployment (lower-case letters, digits, dashes)
     * @param durationHours    how long, 1 to 2,160
     * @param gpusPerContainer GPUs per container, 1 to 8
     * @param hardwareId       io.net's hardware id (from its inventory API)
     * @param locationIds      io.net's location ids (from its inventory API), 1 to 32
     * @param replicas         how many containers, 1 to 100
     * @param image            the image's registry URL
     * @param entrypoint       the command, exec form
     * @param args             its arguments
     * @param trafficPort      the container's port io.net routes traffic to and checks
     * @param env              environment variables
     */
    public record Deploy(String name, int durationHours, int gpusPerContainer, int hardwareId, List<Integer> locationIds,
                         int replicas, String image, List<String> entrypoint, List<String> args, int trafficPort,
                         Map<String, String> env) {
        /**
         * Checks every field.
         *
         * @param name             the name
         * @param durationHours    the duration
         * @param gpusPerContainer GPUs per container
         * @param hardwareId       the hardware id
         * @param locationIds      the location ids
         * @param replicas         replicas
         * @param image            the image
         * @param entrypoint       the entry point
         * @param args             the arguments
         * @param trafficPort      the port
         * @param env              the environment
         * @throws InvalidArgumentException on a value out of range
         */
        public Deploy {
            InvalidArgumentException.requireNonNull(name, "deployment name");
            InvalidArgumentException.requireNonNull(locationIds, "location ids");
            InvalidArgumentException.requireNonNull(image, "image");
            InvalidArgumentException.requireNonNull(entrypoint, "entry point");
            InvalidArgumentException.requireNonNull(args, "arguments");
            InvalidArgumentException.requireNonNull(env, "environment");
            if (!NAME.matcher(name).matches()) {
                throw new InvalidArgumentException("deployment name '" + name + "' must be 1 to 63 lower-case letters, "
                        + "digits or dashes");
            }
            range(durationHours, 1, 2160, "duration in hours");
            range(gpusPerContainer, 1, 8, "GPUs per container");
            range(hardwareId, 1, Integer.MAX_VALUE, "hardware id");
            range(replicas, 1, 100, "replicas");
            range(trafficPort, 1, 65535, "traffic port");
            if (locationIds.isEmpty() || locationIds.size() > 32 || locationIds.stream().anyMatch(l -> l == null || l < 1)) {
                throw new InvalidArgumentException("location ids " + locationIds + " must be 1 to 32 positive ids");
            }
            if (image.isBlank() || image.length() > 512 || entrypoint.isEmpty()) {
                throw new InvalidArgumentException("a deployment needs an image (at most 512 characters) and an entry "
                        + "point");
            }
            for (String k : env.keySet()) {
                if (!ENV_NAME.matcher(k).matches()) {
                    throw new InvalidArgumentException("environment variable name '" + k + "' must be letters, digits "
                            + "and underscores");
                }
            }
            locationIds = List.copyOf(locationIds);
            entrypoint = List.copyOf(entrypoint);
            args = List.copyOf(args);
            env = Map.copyOf(env);
        }
    }

    /**
     * A deployment as io.net reports it.
     *
     * @param id     its id
     * @param status its status as io.net words it ({@code deploying}, {@code running},
     *               {@code completed}, {@code destroyed}, {@code failed}, …)
     */
    public record Deployment(String id, String status) {
    }

    private IonetCaas(MarketHttp http) {
        this.http = http;
    }

    /**
     * @param apiKey the io.net API key
     * @return a client of io.net's endpoint
     */
    public static IonetCaas connect(String apiKey) {
        return connect(DEFAULT_BASE, apiKey, Duration.ofSeconds(30));
    }

    /**
     * @param base    the CaaS base address ({@link #DEFAULT_BASE}, or a test server)
     * @param apiKey  the io.net API key
     * @param timeout the longest one request may take
     * @return the client
     */
    public static IonetCaas connect(URI base, String apiKey, Duration timeout) {
        return new IonetCaas(new MarketHttp("ionet", "io.net", base, apiKey, 1024, "", timeout, MAX_ANSWER_BYTES));
    }

    /**
     * {@code GET /price}: what a deployment would cost.
     *
     * @param locationIds      io.net location ids
     * @param hardwareId       io.net hardware id
     * @param durationHours    hours, &ge; 1
     * @param gpusPerContainer GPUs per container, &ge; 1
     * @param replicas         containers, &ge; 1
     * @return the price
     */
    public Price price(List<Integer> locationIds, int hardwareId, int durationHours, int gpusPerContainer, int replicas) {
        InvalidArgumentException.requireNonNull(locationIds, "location ids");
        range(hardwareId, 1, Integer.MAX_VALUE, "hardware id");
        range(durationHours, 1, 2160, "duration in hours");
        range(gpusPerContainer, 1, 8, "GPUs per container");
        range(replicas, 1, 100, "replicas");
        String locations = "[" + locationIds.stream().map(String::valueOf).collect(Collectors.joining(",")) + "]";
        JsonNode d = call("GET", "/price?location_ids=" + URLEncoder.encode(locations, StandardCharsets.UTF_8)
                + "&hardware_id=" + hardwareId + "&duration_hours=" + durationHours + "&gpus_per_container="
                + gpusPerContainer + "&replica_count=" + replicas, null).path("data");
        JsonNode total = d.path("total_cost_usdc");
        if (!total.isNumber() || total.decimalValue().signum() < 0) {
            throw malformed("GET /price", "total_cost_usdc is missing or negative");
        }
        JsonNode avail = d.path("available_replica_count");
        int available = avail.isArray() && !avail.isEmpty() && avail.get(0).isInt() ? avail.get(0).asInt() : -1;
        return new Price(total.decimalValue(), available);
    }

    /**
     * {@code POST /deploy}: deploys the containers, prepaid for the duration.
     *
     * @param spec what to deploy
     * @return the deployment's id
     */
    public String deploy(Deploy spec) {
        InvalidArgumentException.requireNonNull(spec, "deployment");
        ObjectNode b = JSON.createObjectNode();
        b.put("resource_private_name", spec.name());
        b.put("duration_hours", spec.durationHours());
        b.put("gpus_per_container", spec.gpusPerContainer());
        b.put("hardware_id", spec.hardwareId());
        spec.locationIds().forEach(b.putArray("location_ids")::add);
        b.put("replica_count", spec.replicas());
        b.put("image_url", spec.image());
        spec.entrypoint().forEach(b.putArray("entrypoint")::add);
        spec.args().forEach(b.putArray("args")::add);
        b.put("traffic_port", spec.trafficPort());
        ObjectNode env = b.putObject("env_variables");
        spec.env().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> env.put(e.getKey(), e.getValue()));
        JsonNode d = call("POST", "/deploy", b);
        return id(d.path("deployment_id"));
    }

    /**
     * {@code GET /deployment/{id}}.
     *
     * @param id the deployment
     * @return its status
     */
    public Deployment deployment(String id) {
        JsonNode d = call("GET", "/deployment/" + requireId(id), null).path("data");
        JsonNode status = d.path("status");
        if (!status.isTextual() || status.asText().length() > 64) {
            throw malformed("GET /deployment/" + id, "no status");
        }
        return new Deployment(id(d.path("id")), status.asText());
    }

    /**
     * {@code POST /deployment/{id}/extend}: prepays more hours.
     *
     * @param id    the deployment
     * @param hours how many more hours, 1 to 2,160
     */
    public void extend(String id, int hours) {
        range(hours, 1, 2160, "extension in hours");
        ObjectNode b = JSON.createObjectNode();
        b.put("duration_hours", hours);
        call("POST", "/deployment/" + requireId(id) + "/extend", b);
    }

    /**
     * {@code PATCH /deployment/{id}}: replaces the container's image and arguments (hardware,
     * locations and replicas cannot change).
     *
     * @param id    the deployment
     * @param image the new image
     * @param args  the new arguments
     */
    public void update(String id, String image, List<String> args) {
        InvalidArgumentException.requireNonNull(image, "image");
        InvalidArgumentException.requireNonNull(args, "arguments");
        ObjectNode b = JSON.createObjectNode();
        b.put("image_url", image);
        args.forEach(b.putArray("args")::add);
        JsonNode d = call("PATCH", "/deployment/" + requireId(id), b);
        id(d.path("deployment_id"));
    }

    /**
     * {@code DELETE /deployment/{id}}: stops the containers; io.net refunds unused prepaid time
     * after the first hour.
     *
     * @param id the deployment
     */
    public void delete(String id) {
        call("DELETE", "/deployment/" + requireId(id), null);
    }

    private JsonNode call(String method, String pathAndQuery, JsonNode body) {
        String what = method + " " + pathAndQuery;
        MarketHttp.Answer answer = http.call(method, pathAndQuery, body);
        JsonNode json = answer.json();
        int status = answer.status();
        if (!answer.ok()) {
            throw new MarketApiException("ionet", status, code(status), "io.net refused " + what + ": " + status + " "
                    + MarketHttp.clip(detail(json.path("detail")), 300) + hint(status));
        }
        return json;
    }

    private static String code(int status) {
        return switch (status) {
            case 401, 403 -> "unauthorized";
            case 402 -> "insufficient-funds";
            case 404 -> "not-found";
            case 422 -> "validation";
            default -> "http-" + status;
        };
    }

    private static String hint(int status) {
        return switch (status) {
            case 401, 403 -> " -- the API key is missing or invalid: create one in io.net's IO Cloud, API keys";
            case 402 -> " -- add funds to the io.net account";
            case 404 -> " -- no such deployment (deleted or expired)";
            default -> "";
        };
    }

    /** FastAPI's detail: a string, or a list of {loc, msg, type}. */
    private static String detail(JsonNode d) {
        if (d.isTextual()) {
            return d.asText();
        }
        if (d.isArray()) {
            StringBuilder s = new StringBuilder();
            for (JsonNode e : d) {
                if (s.length() > 0) {
                    s.append("; ");
                }
                StringBuilder loc = new StringBuilder();
                e.path("loc").forEach(l -> loc.append(loc.length() == 0 ? "" : ".").append(l.asText()));
                s.append(loc).append(": ").append(e.path("msg").asText()).append(" (").append(e.path("type").asText())
                        .append(')');
            }
            return s.toString();
        }
        return "(no detail)";
    }

    private static MarketApiException malformed(String what, String why) {
        return new MarketApiException("ionet", 200, "malformed", "io.net's answer to " + what
                + " does not have the documented shape: " + why);
    }

    private static String id(JsonNode n) {
        if (!n.isTextual() || !ID.matcher(n.asText()).matches()) {
            throw malformed("a call", "the deployment id is not a UUID");
        }
        return n.asText();
    }

    private static String requireId(String id) {
        InvalidArgumentException.requireNonNull(id, "deployment id");
        if (!ID.matcher(id).matches()) {
            throw new InvalidArgumentException("deployment id '" + id + "' is not a UUID");
        }
        return id;
    }

    private static void range(int v, int min, int max, String what) {
        if (v < min || v > max) {
            throw new InvalidArgumentException(what + " " + v + " must be " + min + " to " + max);
        }
    }

    @Override
    public String toString() {
        return "IonetCaas[" + http.base() + ", key ****]";
    }
}
