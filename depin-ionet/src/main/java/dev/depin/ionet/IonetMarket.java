package dev.depin.ionet;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.CapacityException;
import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.Machine;
import dev.depin.capacity.MarketApiException;
import dev.depin.capacity.spi.CapacityMarket;
import dev.depin.capacity.spi.LeaseBook;
import dev.depin.money.MicroUsd;
import dev.depin.provider.Region;
import dev.depin.settlement.TokenRate;
import dev.depin.settlement.spi.PriceOracle;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Capacity on io.net through its CaaS API: each machine is one container deployment of the depin
 * node image ({@code depin node …} as entry point and arguments, the node's port as the traffic
 * port), prepaid for the lease's whole hours.
 *
 * <p>io.net names hardware and locations by ids from its inventory API; this market maps GPU
 * models and countries to them from what the operator configures ({@link Builder#hardware},
 * {@link Builder#location}) and refuses others. Prices come back in USDC and are converted to
 * micro-USD through the {@link PriceOracle} for {@code USDC} (pegged 1:1 by default).
 *
 * <p>CaaS has no persistent volume: the node's key is generated in the container and lives as long
 * as it does. Like Akash, io.net reports deployments, not node ids, so machines are not released
 * as idle by the {@link dev.depin.capacity.ElasticNetwork}; they end with their prepaid hours or by
 * {@link #release}.
 *
 * <p>Tested against a local server that enforces the documented API ({@code IonetCaasContractTest});
 * not run against the live service.
 */
public final class IonetMarket implements CapacityMarket {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IonetMarket.class);
    private static final BigDecimal MICRO = BigDecimal.valueOf(1_000_000);
    private static final Set<String> ENDED = Set.of("destroyed", "terminated", "failed", "expired");

    private final IonetCaas caas;
    private final PriceOracle usdc;
    private final Map<String, Integer> hardware;
    private final Map<String, List<Integer>> locations;
    private final Clock clock;
    private final LeaseBook leases;

    private IonetMarket(Builder b) {
        this.caas = b.caas;
        this.usdc = b.usdc;
        this.hardware = Map.copyOf(b.hardware);
        this.locations = Map.copyOf(b.locations);
        this.clock = b.clock;
        this.leases = new LeaseBook("ionet", "deleted", b.clock, this::look, caas::delete);
    }

    /**
     * @param caas the CaaS client (it holds the API key)
     * @param usdc the USD rate of USDC (e.g. {@code FixedRateOracle.usdPegged()} for 1:1)
     * @return a builder
     */
    public static Builder builder(IonetCaas caas, PriceOracle usdc) {
        return new Builder(caas, usdc);
    }

    @Override
    public String name() {
        return "ionet";
    }

    private int hardwareId(CapacityRequest r) {
        if (!r.gpu().any()) {
            throw new CapacityException("ionet: CaaS rents GPUs; ask for a GPU model (e.g. --gpu h100)");
        }
        Integer id = hardware.get(r.gpu().model());
        if (id == null) {
            throw new CapacityException("ionet: no io.net hardware id is configured for GPU model '" + r.gpu().model()
                    + "' (configured: " + new java.util.TreeSet<>(hardware.keySet()) + "): look it up in io.net's "
                    + "inventory API and add it");
        }
        return id;
    }

    private List<Integer> locationIds(CapacityRequest r) {
        String country = r.region() == null ? "*" : r.region().country();
        List<Integer> ids = locations.get(country);
        if (ids == null) {
            throw new CapacityException("ionet: no io.net location id is configured for "
                    + (r.region() == null ? "any region" : r.region().toString()) + " (configured: "
                    + new java.util.TreeSet<>(locations.keySet()) + ")");
        }
        return ids;
    }

    private static int hours(CapacityRequest r) {
        long h = r.hoursRoundedUp();
        if (h > 2160) {
            throw new CapacityException("ionet: " + h + " hours is over the 2160 this client prepays at once");
        }
        return (int) h;
    }

    @Override
    public CompletableFuture<CapacityQuote> quote(CapacityRequest request) {
        InvalidArgumentException.requireNonNull(request, "capacity request");
        return usdc.rate().thenApplyAsync(rate -> price(request, rate), leases.worker());
    }

    private CapacityQuote price(CapacityRequest request, TokenRate rate) {
        int hw = hardwareId(request);
        List<Integer> where = locationIds(request);
        int hours = hours(request);
        IonetCaas.Price one = caas.price(where, hw, hours, request.gpu().count(), 1);
        BigDecimal microUsd = one.totalUsdc().multiply(BigDecimal.valueOf(rate.microUsdPerToken()))
                .setScale(0, RoundingMode.CEILING);
        long each = microUsd.longValueExact();
        return new CapacityQuote(name(), request, MicroUsd.ofMicros(each), MicroUsd.ofMicros(Math.multiplyExact(each,
                request.machines())), rate, clock.instant().plus(Duration.ofMinutes(5)), one.totalUsdc().toPlainString()
                + " USDC for " + hours + " h of " + request.gpu() + " (hardware " + hw + ", locations " + where
                + ") x " + request.machines() + " at " + rate);
    }

    /** The container's command: {@code depin node …} listening on all interfaces at the template's port. */
    static List<String> nodeArgs(CapacityRequest request) {
        String region = request.region() == null ? "ZZ" : request.region().toString();
        List<String> a = new ArrayList<>(request.node().nodeArguments("/var/lib/depin/node.key", region,
                request.node().port()));
        a.addAll(List.of("--host", "0.0.0.0"));
        return a;
    }

    @Override
    public CompletableFuture<List<Machine>> obtain(CapacityRequest request) {
        return leases.obtain(quote(request), q -> deployOne(request, q));
    }

    private Machine deployOne(CapacityRequest request, CapacityQuote q) {
        String name = "depin-node-" + UUID.randomUUID().toString().substring(0, 8);
        IonetCaas.Deploy spec = new IonetCaas.Deploy(name, hours(request), request.gpu().count(), hardwareId(request),
                locationIds(request), 1, request.node().image(), List.of("depin"), nodeArgs(request),
                request.node().port(), Map.of());
        String id = caas.deploy(spec);
        Machine m = leases.add(id, q.perMachine(), clock.instant().plus(Duration.ofHours(hours(request))), "deploying");
        LOG.info("ionet: deployment {} ({}) for {}", id, name, q.perMachine());
        return m;
    }

    @Override
    public CompletableFuture<List<Machine>> machines() {
        return leases.machines();
    }

    /** What CaaS says of a deployment, for {@link LeaseBook#machines}. */
    private LeaseBook.Seen look(String id) {
        String status;
        try {
            status = caas.deployment(id).status().toLowerCase(java.util.Locale.ROOT);
        } catch (MarketApiException e) {
            if (e.status() != 404) {
                throw e;
            }
            status = "destroyed";
        }
        if (status.equals("completed")) {
            return LeaseBook.Seen.released(status);
        } else if (ENDED.contains(status)) {
            return LeaseBook.Seen.ended(status);
        } else if (status.equals("running")) {
            return LeaseBook.Seen.running(status);
        }
        return LeaseBook.Seen.same(status);
    }

    /**
     * Prepays more hours for a machine.
     *
     * @param machineId the deployment
     * @param hours     how many more hours
     * @return completes when extended
     */
    public CompletableFuture<Void> extend(String machineId, int hours) {
        return CompletableFuture.runAsync(() -> caas.extend(machineId, hours), leases.worker());
    }

    @Override
    public CompletableFuture<Void> release(String machineId) {
        return leases.release(machineId);
    }

    /** Stops this object's threads; deployments stay as they are. */
    @Override
    public void close() {
        leases.close();
    }

    /** Options of an {@link IonetMarket}. */
    public static final class Builder {
        private final IonetCaas caas;
        private final PriceOracle usdc;
        private final Map<String, Integer> hardware = new HashMap<>();
        private final Map<String, List<Integer>> locations = new HashMap<>();
        private Clock clock = Clock.systemUTC();

        private Builder(IonetCaas caas, PriceOracle usdc) {
            this.caas = InvalidArgumentException.requireNonNull(caas, "CaaS client");
            this.usdc = InvalidArgumentException.requireNonNull(usdc, "USDC oracle");
        }

        /**
         * @param gpuModel   a GPU model as requests name it ({@code h100})
         * @param hardwareId io.net's hardware id for it (from the inventory API)
         * @return this builder
         */
        public Builder hardware(String gpuModel, int hardwareId) {
            InvalidArgumentException.requireNonNull(gpuModel, "GPU model");
            if (hardwareId < 1) {
                throw new InvalidArgumentException("hardware id " + hardwareId + " must be positive");
            }
            hardware.put(gpuModel, hardwareId);
            return this;
        }

        /**
         * @param country     an ISO country code as requests name it, or {@code *} for requests without a region
         * @param locationIds io.net's location ids for it (from the inventory API)
         * @return this builder
         */
        public Builder location(String country, List<Integer> locationIds) {
            InvalidArgumentException.requireNonNull(country, "country");
            InvalidArgumentException.requireNonNull(locationIds, "location ids");
            if (!country.equals("*")) {
                new Region(country, "");
            }
            if (locationIds.isEmpty() || locationIds.stream().anyMatch(i -> i == null || i < 1)) {
                throw new InvalidArgumentException("location ids " + locationIds + " must be positive ids");
            }
            locations.put(country, List.copyOf(locationIds));
            return this;
        }

        /**
         * @param c the clock for quotes and lease ends
         * @return this builder
         */
        public Builder clock(Clock c) {
            this.clock = InvalidArgumentException.requireNonNull(c, "clock");
            return this;
        }

        /** @return the market */
        public IonetMarket build() {
            return new IonetMarket(this);
        }
    }
}
