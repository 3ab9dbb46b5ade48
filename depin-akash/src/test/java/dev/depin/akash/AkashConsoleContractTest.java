package dev.depin.akash;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.BudgetExceededException;
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
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Contract tests from the published documentation of the Akash Console API: the client and the
 * market against {@link ConsoleContractServer}, which implements the documented endpoints and
 * refuses every request that does not match the documented shapes. They prove that the client
 * speaks the documented API; they do not prove that the live Console accepts it (not tried here:
 * these machines cannot reach it, and it needs a paid account).
 */
class AkashConsoleContractTest {
    private static final NodeTemplate NODE = new NodeTemplate(NodeTemplate.DEFAULT_IMAGE,
            List.of("directory.example.com:7000"), new Price(MicroUsd.ofMicros(1_000), MicroUsd.ofMicros(20_000)),
            MicroUsd.ZERO, 7001, Duration.ofSeconds(10));

    private static void assertUsd(String expected, BigDecimal actual, String... why) {
        assertEquals(0, new BigDecimal(expected).compareTo(actual), "$" + actual + " is not $" + expected + " "
                + String.join("", why));
    }

    private static AkashConsole client(ConsoleContractServer s, String key) {
        return AkashConsole.connect(s.base(), key, Duration.ofSeconds(10));
    }

    @Test
    void deploymentCycle_followsTheDocumentedEndpoints() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer()) {
            AkashConsole c = client(s, ConsoleContractServer.KEY);
            String sdl = AkashSdl.builder(NodeTemplate.DEFAULT_IMAGE).gpu("h100", 2).build().yaml();
            AkashConsole.CreatedDeployment created = c.createDeployment(sdl, new BigDecimal("5.00"));
            List<AkashConsole.Bid> bids = c.bids(created.dseq());
            assertEquals(2, bids.size());
            AkashConsole.Deployment leased = c.createLease(created.manifest(), List.of(bids.get(1)));
            assertEquals(1, leased.leases().size());
            assertEquals(ConsoleContractServer.PROVIDER_B, leased.leases().get(0).provider());
            assertEquals("active", leased.leases().get(0).state());
            c.deposit(created.dseq(), new BigDecimal("0.50"));
            assertUsd("5.50", s.escrow(created.dseq()));
            c.updateDeployment(created.dseq(), sdl);
            assertEquals(1, c.deployments(0, 10).size());
            assertTrue(c.deployment(created.dseq()).active());
            c.closeDeployment(created.dseq());
            assertEquals("closed", c.deployment(created.dseq()).state());
            assertUsd("100.00", s.balanceUsd, "the deposit came back on close");
            String d = created.dseq();
            assertEquals(List.of("POST /v1/deployments", "GET /v1/bids?dseq=" + d, "POST /v1/leases",
                    "POST /v1/deposit-deployment", "PUT /v1/deployments/" + d, "GET /v1/deployments?skip=0&limit=10",
                    "GET /v1/deployments/" + d, "DELETE /v1/deployments/" + d, "GET /v1/deployments/" + d), s.log());
        }
    }

    @Test
    void invalidKey_is401WithTheDocumentedError() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer()) {
            MarketApiException e = assertThrows(MarketApiException.class, () -> client(s, "wrong-key").deployments(0, 1));
            assertEquals(401, e.status());
            assertEquals("Unauthorized", e.code());
            assertEquals("Akash Console refused GET /v1/deployments?skip=0&limit=1: 401 Unauthorized: Invalid API key -- "
                    + "the API key is missing, expired or invalid: create one in Console, Settings → API Keys",
                    e.getMessage());
        }
    }

    @Test
    void insufficientFunds_isRefusedAndNothingIsCreated() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer()) {
            s.balanceUsd = new BigDecimal("1.00");
            MarketApiException e = assertThrows(MarketApiException.class, () -> client(s, ConsoleContractServer.KEY)
                    .createDeployment(AkashSdl.builder(NodeTemplate.DEFAULT_IMAGE).build().yaml(), new BigDecimal("5")));
            assertEquals(400, e.status());
            assertTrue(e.getMessage().endsWith("Insufficient balance: $1.00 available, $5 needed -- add funds to the "
                    + "Console account"), e.getMessage());
            assertEquals(0, client(s, ConsoleContractServer.KEY).deployments(0, 10).size());
        }
    }

    @Test
    void closedDeployment_refusesDepositsAndUnknownIsNotFound() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer()) {
            AkashConsole c = client(s, ConsoleContractServer.KEY);
            String dseq = c.createDeployment(AkashSdl.builder(NodeTemplate.DEFAULT_IMAGE).build().yaml(),
                    new BigDecimal("1")).dseq();
            c.closeDeployment(dseq);
            MarketApiException closed = assertThrows(MarketApiException.class, () -> c.deposit(dseq, BigDecimal.ONE));
            assertEquals(400, closed.status());
            assertTrue(closed.getMessage().contains("Deployment " + dseq + " is closed"), closed.getMessage());
            MarketApiException again = assertThrows(MarketApiException.class, () -> c.closeDeployment(dseq));
            assertEquals(400, again.status());
            MarketApiException unknown = assertThrows(MarketApiException.class, () -> c.deployment("999"));
            assertEquals(404, unknown.status());
            assertTrue(unknown.getMessage().contains("no such deployment"), unknown.getMessage());
        }
    }

    @Test
    void client_refusesBadArgumentsBeforeAnyRequest() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer()) {
            AkashConsole c = client(s, ConsoleContractServer.KEY);
            assertThrows(InvalidArgumentException.class, () -> c.createDeployment("version: \"2.0\"", new BigDecimal("0.25")));
            assertThrows(InvalidArgumentException.class, () -> c.createDeployment("version: \"2.0\"", new BigDecimal("1.001")));
            assertThrows(InvalidArgumentException.class, () -> c.deployment("12a"));
            assertThrows(InvalidArgumentException.class, () -> c.deployments(-1, 10));
            assertThrows(InvalidArgumentException.class, () -> AkashConsole.connect(s.base(), "key with space",
                    Duration.ofSeconds(1)));
            assertEquals(List.of(), s.log());
            assertTrue(!c.toString().contains(ConsoleContractServer.KEY), "the key is not shown");
        }
    }

    /** The server is strict: the shapes the documentation does not allow are refused, so the tests above can fail. */
    @Test
    void server_refusesUndocumentedShapes() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer()) {
            HttpClient http = HttpClient.newHttpClient();
            record Case(String method, String path, String body, int status, String message) {
            }
            List<Case> cases = List.of(
                    new Case("POST", "/v1/deployments", "{\"sdl\":\"version: x\",\"deposit\":5}", 400, "unknown field 'sdl' in body"),
                    new Case("POST", "/v1/deployments", "{\"data\":{\"sdl\":\"version: x\",\"deposit\":\"5\"}}", 400, "deposit must be a number"),
                    new Case("POST", "/v1/deployments", "{\"data\":{\"sdl\":\"version: x\"}}", 400, "missing field 'deposit' in data"),
                    new Case("POST", "/v1/leases", "{\"data\":{\"manifest\":\"m\",\"leases\":[]}}", 400, "unknown field 'data' in body"),
                    new Case("GET", "/v1/bids", null, 400, "dseq is required"),
                    new Case("GET", "/v1/bids?dseq=1&x=2", null, 400, "unknown query parameter 'x'"),
                    new Case("PATCH", "/v1/deployments/1", "{}", 404, "Deployment not found"),
                    new Case("GET", "/v2/deployments", null, 404, "GET /v2/deployments is not an endpoint of the Console API"));
            for (Case c : cases) {
                HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(s.base() + c.path()))
                        .header("x-api-key", ConsoleContractServer.KEY);
                if (c.body() != null) {
                    rb.header("Content-Type", "application/json").method(c.method(),
                            HttpRequest.BodyPublishers.ofString(c.body()));
                } else {
                    rb.method(c.method(), HttpRequest.BodyPublishers.noBody());
                }
                HttpResponse<String> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(c.status(), r.statusCode(), c.toString());
                assertTrue(r.body().contains("\"message\":\"" + c.message() + "\""), c + ": " + r.body());
            }
        }
    }

    @Test
    void market_quotesThroughTheOracleObtainsListsAndReleases() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer();
             AkashMarket market = AkashMarket.builder(client(s, ConsoleContractServer.KEY),
                     new FixedRateOracle("AKT", 2_500_000, Clock.systemUTC())).bids(Duration.ofSeconds(5),
                     Duration.ofMillis(20)).build()) {
            CapacityRequest one = new CapacityRequest(1, GpuSpec.of("h100", 2), new Region("US", ""),
                    Duration.ofHours(1), MicroUsd.ofUsd("20"), NODE);
            CapacityQuote q = market.quote(one).join();
            // 10,000 uakt per block x 600 blocks = 6 AKT, at $2.50 = $15.
            assertEquals(MicroUsd.ofUsd("15"), q.perMachine());
            assertEquals("AKT", q.rate().token());
            List<Machine> got = market.obtain(one).join();
            assertEquals(1, got.size());
            Machine m = got.get(0);
            assertEquals(MachineState.STARTING, m.state());
            assertEquals(MicroUsd.ofUsd("15"), m.cost());
            assertTrue(m.detail().contains("leased from " + ConsoleContractServer.PROVIDER_B + " at 750 uakt/block"),
                    m.detail());
            assertNull(m.nodeId(), "Console reports leases, not node ids");
            assertUsd("85.00", s.balanceUsd);
            assertEquals(MachineState.RUNNING, market.machines().join().get(0).state());
            market.release(m.id()).join();
            assertEquals("closed", s.state(m.id()));
            assertEquals(MachineState.RELEASED, market.machines().join().get(0).state());
            assertTrue(market.sdl(one).yaml().contains("                - model: h100\n"));
            assertTrue(market.sdl(one).yaml().contains("        \"region\": \"us\"\n"));
        }
    }

    @Test
    void market_overBudget_spendsNothing() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer();
             AkashMarket market = AkashMarket.builder(client(s, ConsoleContractServer.KEY),
                     new FixedRateOracle("AKT", 2_500_000, Clock.systemUTC())).build()) {
            CapacityRequest two = new CapacityRequest(2, GpuSpec.of("h100", 1), null, Duration.ofHours(1),
                    MicroUsd.ofUsd("29.99"), NODE);
            CompletionException e = assertThrows(CompletionException.class, () -> market.obtain(two).join());
            BudgetExceededException b = assertInstanceOf(BudgetExceededException.class, e.getCause());
            assertEquals(MicroUsd.ofUsd("30"), b.needed());
            assertEquals(List.of(), s.log(), "no request was made");
        }
    }

    @Test
    void market_noBids_closesTheDeploymentAndFails() throws Exception {
        try (ConsoleContractServer s = new ConsoleContractServer();
             AkashMarket market = AkashMarket.builder(client(s, ConsoleContractServer.KEY),
                     new FixedRateOracle("AKT", 2_500_000, Clock.systemUTC())).bids(Duration.ofMillis(200),
                     Duration.ofMillis(20)).build()) {
            s.noBids = true;
            CapacityRequest one = new CapacityRequest(1, GpuSpec.of("h100", 1), null, Duration.ofHours(1),
                    MicroUsd.ofUsd("20"), NODE);
            CompletionException e = assertThrows(CompletionException.class, () -> market.obtain(one).join());
            MarketApiException m = assertInstanceOf(MarketApiException.class, e.getCause());
            assertEquals("no-bids", m.code());
            String dseq = "21000000";
            assertEquals("closed", s.state(dseq));
            assertUsd("100.00", s.balanceUsd, "the deposit came back");
            assertTrue(s.log().get(s.log().size() - 1).equals("DELETE /v1/deployments/" + dseq));
        }
    }
}
