package dev.depin.ionet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.depin.InvalidArgumentException;
import dev.depin.capacity.BudgetExceededException;
import dev.depin.capacity.CapacityException;
import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.GpuSpec;
import dev.depin.capacity.Machine;
import dev.depin.capacity.MachineState;
import dev.depin.capacity.MarketApiException;
import dev.depin.capacity.NodeTemplate;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.Region;
import dev.depin.settlement.FixedRateOracle;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Contract tests from io.net's published CaaS API reference: the client and the market against
 * {@link CaasContractServer}, which implements the documented endpoints and refuses requests that
 * do not match them. They prove the client speaks the documented API, not that the live service
 * accepts it (not tried: these machines cannot reach io.net, and it needs a funded account).
 */
class IonetCaasContractTest {
    private static final NodeTemplate NODE = new NodeTemplate(NodeTemplate.DEFAULT_IMAGE,
            List.of("directory.example.com:7000"), new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(20_000)),
            MicroUsd.ZERO, 7001, Duration.ofSeconds(10));

    private static IonetCaas client(CaasContractServer s, String key) {
        return IonetCaas.connect(s.base(), key, Duration.ofSeconds(10));
    }

    private static IonetMarket market(CaasContractServer s) {
        return IonetMarket.builder(client(s, CaasContractServer.KEY), FixedRateOracle.usdPegged())
                .hardware("h100", 206).hardware("a100", 101).location("US", List.of(1, 7)).location("*", List.of(1))
                .build();
    }

    @Test
    void priceDeployExtendUpdateDelete_followTheDocumentedEndpoints() throws Exception {
        try (CaasContractServer s = new CaasContractServer()) {
            IonetCaas c = client(s, CaasContractServer.KEY);
            IonetCaas.Price p = c.price(List.of(1, 7), 206, 24, 2, 1);
            assertEquals(0, new BigDecimal("105.12").compareTo(p.totalUsdc()), p.toString());
            assertEquals(12, p.availableReplicas());
            String id = c.deploy(new IonetCaas.Deploy("depin-node-1", 24, 2, 206, List.of(1, 7), 1,
                    NodeTemplate.DEFAULT_IMAGE, List.of("depin"), List.of("node", "--port", "7001"), 7001,
                    Map.of("DEPIN_LOG", "info")));
            JsonNode sent = s.deployment(id).get("request");
            assertEquals("[\"depin\"]", sent.get("entrypoint").toString());
            assertEquals("[\"node\",\"--port\",\"7001\"]", sent.get("args").toString());
            assertEquals(7001, sent.get("traffic_port").asInt());
            assertEquals("deploying", c.deployment(id).status());
            c.extend(id, 12);
            assertEquals(36, s.deployment(id).get("duration_hours").asInt());
            c.update(id, NodeTemplate.DEFAULT_IMAGE, List.of("node", "--port", "7002"));
            c.delete(id);
            assertEquals("destroyed", c.deployment(id).status());
            String q = "/price?location_ids=%5B1%2C7%5D&hardware_id=206&duration_hours=24&gpus_per_container=2"
                    + "&replica_count=1";
            assertEquals(List.of("GET " + CaasContractServer.PREFIX + q, "POST " + CaasContractServer.PREFIX + "/deploy",
                    "GET " + CaasContractServer.PREFIX + "/deployment/" + id,
                    "POST " + CaasContractServer.PREFIX + "/deployment/" + id + "/extend",
                    "PATCH " + CaasContractServer.PREFIX + "/deployment/" + id,
                    "DELETE " + CaasContractServer.PREFIX + "/deployment/" + id,
                    "GET " + CaasContractServer.PREFIX + "/deployment/" + id), s.log());
        }
    }

    @Test
    void invalidKey_is401() throws Exception {
        try (CaasContractServer s = new CaasContractServer()) {
            MarketApiException e = assertThrows(MarketApiException.class, () -> client(s, "nope").price(List.of(1), 206,
                    1, 1, 1));
            assertEquals(401, e.status());
            assertEquals("unauthorized", e.code());
            assertTrue(e.getMessage().contains(": 401 Invalid API key -- the API key is missing or invalid"),
                    e.getMessage());
        }
    }

    @Test
    void insufficientFunds_andDeletedDeployments_areRefused() throws Exception {
        try (CaasContractServer s = new CaasContractServer()) {
            s.balanceUsdc = new BigDecimal("10");
            IonetCaas c = client(s, CaasContractServer.KEY);
            IonetCaas.Deploy big = new IonetCaas.Deploy("depin-node-2", 24, 8, 206, List.of(1), 1,
                    NodeTemplate.DEFAULT_IMAGE, List.of("depin"), List.of("node"), 7001, Map.of());
            MarketApiException poor = assertThrows(MarketApiException.class, () -> c.deploy(big));
            assertEquals("insufficient-funds", poor.code());
            assertTrue(poor.getMessage().contains("Insufficient funds: 10 USDC available, 420.48 needed -- add funds"),
                    poor.getMessage());
            s.balanceUsdc = new BigDecimal("1000");
            String id = c.deploy(big);
            c.delete(id);
            MarketApiException closed = assertThrows(MarketApiException.class, () -> c.extend(id, 1));
            assertEquals(400, closed.status());
            assertTrue(closed.getMessage().contains("Deployment is not active"), closed.getMessage());
            MarketApiException unknown = assertThrows(MarketApiException.class,
                    () -> c.deployment("00000000-0000-0000-0000-000000000000"));
            assertEquals("not-found", unknown.code());
        }
    }

    @Test
    void server_refusesUndocumentedShapes() throws Exception {
        try (CaasContractServer s = new CaasContractServer()) {
            HttpClient http = HttpClient.newHttpClient();
            String wrapped = "{\"resource_private_name\":\"n\",\"duration_hours\":1,\"gpus_per_container\":1,"
                    + "\"hardware_id\":206,\"location_ids\":[1],\"replica_count\":1,\"image_url\":\"i\","
                    + "\"entrypoint\":[\"depin\"],\"traffic_port\":7001,\"container_config\":{}}";
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(s.base() + "/deploy"))
                    .header("x-api-key", CaasContractServer.KEY).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(wrapped)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(422, r.statusCode());
            assertTrue(r.body().contains("\"type\":\"extra_forbidden\""), r.body());
            HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create(s.base()
                    + "/price?hardware_id=206")).header("x-api-key", CaasContractServer.KEY).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(422, missing.statusCode());
            assertTrue(missing.body().contains("\"loc\":[\"query\",\"location_ids\"]"), missing.body());
            HttpResponse<String> v2 = http.send(HttpRequest.newBuilder(URI.create(s.base() + "/deployments"))
                    .header("x-api-key", CaasContractServer.KEY).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(404, v2.statusCode());
        }
    }

    @Test
    void client_refusesBadArgumentsBeforeAnyRequest() throws Exception {
        try (CaasContractServer s = new CaasContractServer()) {
            IonetCaas c = client(s, CaasContractServer.KEY);
            assertThrows(InvalidArgumentException.class, () -> c.price(List.of(1), 206, 0, 1, 1));
            assertThrows(InvalidArgumentException.class, () -> c.delete("not-a-uuid"));
            assertThrows(InvalidArgumentException.class, () -> new IonetCaas.Deploy("Bad Name", 1, 1, 1, List.of(1), 1,
                    "i", List.of("depin"), List.of(), 7001, Map.of()));
            assertThrows(InvalidArgumentException.class, () -> new IonetCaas.Deploy("ok", 1, 9, 1, List.of(1), 1,
                    "i", List.of("depin"), List.of(), 7001, Map.of()));
            assertEquals(List.of(), s.log());
            assertFalse(c.toString().contains(CaasContractServer.KEY));
        }
    }

    @Test
    void market_quotesObtainsListsAndReleases() throws Exception {
        try (CaasContractServer s = new CaasContractServer(); IonetMarket m = market(s)) {
            CapacityRequest two = new CapacityRequest(2, GpuSpec.of("h100", 2), new Region("US", ""),
                    Duration.ofMinutes(90), MicroUsd.ofUsd("20"), NODE);
            CapacityQuote q = m.quote(two).join();
            // 2 GPUs x 2 h (90 minutes, prepaid in whole hours) x 2.19 USDC = 8.76 USDC = $8.76 each.
            assertEquals(MicroUsd.ofUsd("8.76"), q.perMachine());
            assertEquals(MicroUsd.ofUsd("17.52"), q.total());
            List<Machine> got = m.obtain(two).join();
            assertEquals(2, got.size());
            JsonNode sent = s.deployment(got.get(0).id()).get("request");
            assertEquals(NodeTemplate.DEFAULT_IMAGE, sent.get("image_url").asText());
            assertEquals("[1,7]", sent.get("location_ids").toString());
            assertEquals("[\"node\",\"--port\",\"7001\",\"--key\",\"/var/lib/depin/node.key\",\"--directory\","
                    + "\"directory.example.com:7000\",\"--region\",\"US\",\"--price-per-second\",\"0.001\","
                    + "\"--price-per-gb\",\"0.02\",\"--stake\",\"0\",\"--renew\",\"10000ms\",\"--host\",\"0.0.0.0\"]",
                    sent.get("args").toString());
            s.setStatus(got.get(0).id(), "running");
            List<Machine> listed = m.machines().join();
            assertEquals(MachineState.RUNNING, listed.get(0).state());
            assertEquals(MachineState.STARTING, listed.get(1).state());
            s.setStatus(got.get(1).id(), "failed");
            assertEquals(MachineState.FAILED, m.machines().join().get(1).state());
            m.release(got.get(0).id()).join();
            assertEquals("destroyed", s.deployment(got.get(0).id()).get("status").asText());
            assertEquals(MachineState.RELEASED, m.machines().join().get(0).state());
        }
    }

    @Test
    void market_refusesOverBudgetAndUnknownHardwareWithoutDeploying() throws Exception {
        try (CaasContractServer s = new CaasContractServer(); IonetMarket m = market(s)) {
            CapacityRequest costly = new CapacityRequest(1, GpuSpec.of("h100", 8), null, Duration.ofHours(24),
                    MicroUsd.ofUsd("100"), NODE);
            CompletionException e = assertThrows(CompletionException.class, () -> m.obtain(costly).join());
            assertInstanceOf(BudgetExceededException.class, e.getCause());
            CapacityRequest l40 = new CapacityRequest(1, GpuSpec.of("l40s", 1), null, Duration.ofHours(1),
                    MicroUsd.ofUsd("100"), NODE);
            CompletionException u = assertThrows(CompletionException.class, () -> m.quote(l40).join());
            assertInstanceOf(CapacityException.class, u.getCause());
            assertTrue(u.getCause().getMessage().contains("no io.net hardware id is configured for GPU model 'l40s'"));
            assertTrue(s.log().stream().noneMatch(l -> l.startsWith("POST")), "nothing was deployed: " + s.log());
        }
    }
}
