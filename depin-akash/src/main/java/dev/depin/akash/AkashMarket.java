package dev.depin.akash;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.CapacityException;
import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.Machine;
import dev.depin.capacity.MarketApiException;
import dev.depin.capacity.spi.CapacityMarket;
import dev.depin.capacity.spi.LeaseBook;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.TokenRate;
import dev.depin.settlement.spi.PriceOracle;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * Capacity on Akash through the Console API: each machine is one deployment of the node's SDL
 * ({@link AkashSdl#forNode}), leased on the cheapest open bid at or under the SDL's maximum price
 * per block, funded by a USD deposit that covers the whole lease at that maximum.
 *
 * <p>Prices: Akash bills per block in {@code uakt} or {@code uact}. A quote is the SDL's maximum
 * price per block × the blocks in the lease ({@link Builder#blocksPerHour}, 600 by default, about
 * one block every 6 s) × the token's USD rate from the {@link PriceOracle}, so it is an upper bound:
 * a bid at a lower price costs less, and Console returns what is left of the deposit when the
 * deployment closes. {@link #obtain} refuses a request whose upper bound is over its budget.
 *
 * <p>A machine is {@code STARTING} from its lease until Console reports the lease active, then
 * {@code RUNNING}; the node lists itself in the buyer's directory when it is up. Console reports
 * leases, not node ids, so {@link Machine#nodeId()} stays null: the {@link
 * dev.depin.capacity.ElasticNetwork} cannot tell which listed node is on which lease and so does not
 * release Akash machines as idle; they end at their lease's end or by {@link #release}.
 *
 * <p>Tested against a local server that enforces Console's documented API
 * ({@code AkashConsoleContractTest}); not run against the live Console.
 */
public final class AkashMarket implements CapacityMarket {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AkashMarket.class);
    private static final BigDecimal MICRO = BigDecimal.valueOf(1_000_000);

    private final AkashConsole console;
    private final PriceOracle oracle;
    private final UnaryOperator<AkashSdl.Builder> shape;
    private final long blocksPerHour;
    private final Duration bidWait;
    private final Duration bidPoll;
    private final Duration maxRateAge;
    private final Clock clock;
    private final LeaseBook leases;

    private AkashMarket(Builder b) {
        this.console = b.console;
        this.oracle = b.oracle;
        this.shape = b.shape;
        this.blocksPerHour = b.blocksPerHour;
        this.bidWait = b.bidWait;
        this.bidPoll = b.bidPoll;
        this.maxRateAge = b.maxRateAge;
        this.clock = b.clock;
        this.leases = new LeaseBook("akash", "closed", b.clock, this::look, console::closeDeployment);
    }

    /**
     * @param console the Console client (it holds the API key)
     * @param oracle  the USD rate of the token the SDL prices in ({@code AKT} for {@code uakt},
     *                {@code ACT} for {@code uact})
     * @return a builder
     */
    public static Builder builder(AkashConsole console, PriceOracle oracle) {
        return new Builder(console, oracle);
    }

    @Override
    public String name() {
        return "akash";
    }

    /**
     * The SDL each machine of a request is deployed with.
     *
     * @param request what to deploy
     * @return the SDL
     */
    public AkashSdl sdl(CapacityRequest request) {
        return shape.apply(AkashSdl.forNode(request)).build();
    }

    @Override
    public CompletableFuture<CapacityQuote> quote(CapacityRequest request) {
        InvalidArgumentException.requireNonNull(request, "capacity request");
        return oracle.rate().thenApply(rate -> price(request, rate));
    }

    private CapacityQuote price(CapacityRequest request, TokenRate rate) {
        Instant now = clock.instant();
        if (rate.asOf().isBefore(now.minus(maxRateAge))) {
            throw new CapacityException("akash: the " + rate.token() + " rate from " + oracle.name() + " is from "
                    + rate.asOf() + ", older than " + maxRateAge + ": refresh the oracle");
        }
        AkashSdl sdl = sdl(request);
        // Upper bound: the max price per block for every block of the lease, rounded up.
        BigDecimal blocks = BigDecimal.valueOf(blocksPerHour).multiply(BigDecimal.valueOf(request.duration().toSeconds()))
                .divide(BigDecimal.valueOf(3600), 0, RoundingMode.CEILING);
        BigDecimal microTokens = sdl.maxPricePerBlock().multiply(blocks).multiply(BigDecimal.valueOf(sdl.count()));
        BigDecimal microUsd = microTokens.multiply(BigDecimal.valueOf(rate.microUsdPerToken())).divide(MICRO, 0,
                RoundingMode.CEILING);
        BigInteger each = microUsd.toBigIntegerExact();
        BigInteger total = each.multiply(BigInteger.valueOf(request.machines()));
        if (total.bitLength() > 62) {
            throw new CapacityException("akash: the request's price overflows: ask for fewer machines or hours");
        }
        String basis = sdl.maxPricePerBlock().toPlainString() + " " + sdl.denom() + "/block x " + blocks + " blocks x "
                + request.machines() + " machine(s) at " + rate;
        return new CapacityQuote(name(), request, MicroUsd.ofMicros(each.longValueExact()),
                MicroUsd.ofMicros(total.longValueExact()), rate, now.plus(Duration.ofMinutes(5)), basis);
    }

    @Override
    public CompletableFuture<List<Machine>> obtain(CapacityRequest request) {
        return leases.obtain(quote(request), q -> deployOne(request, q));
    }

    /** Deployment → bids → lease, for one machine; closes the deployment when no bid comes. */
    private Machine deployOne(CapacityRequest request, CapacityQuote q) {
        AkashSdl sdl = sdl(request);
        // Console takes USD in whole cents, at least $0.50.
        BigDecimal deposit = q.perMachine().toUsd().setScale(2, RoundingMode.CEILING).max(AkashConsole.MIN_DEPOSIT_USD);
        AkashConsole.CreatedDeployment created = console.createDeployment(sdl.yaml(), deposit);
        String dseq = created.dseq();
        try {
            AkashConsole.Bid bid = awaitBid(dseq, sdl);
            String manifest = created.manifest() != null ? created.manifest() : sdl.manifestJson();
            console.createLease(manifest, List.of(bid));
            Machine m = leases.add(dseq, MicroUsd.ofUsd(deposit.toPlainString()), clock.instant().plus(request.duration()),
                    "leased from " + bid.provider() + " at " + bid.amount().toPlainString() + " " + bid.denom()
                    + "/block, manifest version " + sdl.manifestVersionHex());
            LOG.info("akash: deployment {} leased from {} at {} {}/block", dseq, bid.provider(), bid.amount(), bid.denom());
            return m;
        } catch (RuntimeException e) {
            leases.endQuietly(dseq);
            throw e;
        }
    }

    private AkashConsole.Bid awaitBid(String dseq, AkashSdl sdl) {
        long until = System.nanoTime() + bidWait.toNanos();
        while (true) {
            List<AkashConsole.Bid> open = console.bids(dseq).stream().filter(AkashConsole.Bid::open)
                    .filter(b -> b.denom().equals(sdl.denom()) && b.amount().compareTo(sdl.maxPricePerBlock()) <= 0)
                    .sorted(Comparator.comparing(AkashConsole.Bid::amount).thenComparing(AkashConsole.Bid::provider))
                    .toList();
            if (!open.isEmpty()) {
                return open.get(0);
            }
            if (System.nanoTime() > until) {
                throw new MarketApiException("akash", 0, "no-bids", "akash: no provider bid on deployment " + dseq
                        + " at or under " + sdl.maxPricePerBlock().toPlainString() + " " + sdl.denom() + "/block within "
                        + bidWait + "; it was closed and its deposit returns to the account -- raise the price, relax "
                        + "the GPU model, region or auditors, or try later");
            }
            try {
                Thread.sleep(bidPoll.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CapacityException("akash: interrupted while waiting for bids on " + dseq, e);
            }
        }
    }

    @Override
    public CompletableFuture<List<Machine>> machines() {
        return leases.machines();
    }

    /** What Console says of a deployment, for {@link LeaseBook#machines}. */
    private LeaseBook.Seen look(String dseq) {
        AkashConsole.Deployment d;
        try {
            d = console.deployment(dseq);
        } catch (MarketApiException e) {
            if (e.status() == 404) {
                return LeaseBook.Seen.failed("Console no longer knows deployment " + dseq);
            }
            throw e;
        }
        if (!d.active()) {
            return LeaseBook.Seen.ended("deployment " + d.state());
        } else if (d.leases().stream().anyMatch(x -> x.state().equals("active"))) {
            return LeaseBook.Seen.running(null);
        } else if (!d.leases().isEmpty()) {
            return LeaseBook.Seen.failed("lease " + d.leases().get(0).state());
        }
        return LeaseBook.Seen.same(null);
    }

    @Override
    public CompletableFuture<Void> release(String machineId) {
        return leases.release(machineId);
    }

    /** Stops this object's threads; deployments stay as they are (close them with {@link #release}). */
    @Override
    public void close() {
        leases.close();
    }

    /** Options of an {@link AkashMarket}. */
    public static final class Builder {
        private final AkashConsole console;
        private final PriceOracle oracle;
        private UnaryOperator<AkashSdl.Builder> shape = UnaryOperator.identity();
        private long blocksPerHour = 600;
        private Duration bidWait = Duration.ofMinutes(3);
        private Duration bidPoll = Duration.ofSeconds(3);
        private Duration maxRateAge = Duration.ofMinutes(10);
        private Clock clock = Clock.systemUTC();

        private Builder(AkashConsole console, PriceOracle oracle) {
            this.console = InvalidArgumentException.requireNonNull(console, "Console client");
            this.oracle = InvalidArgumentException.requireNonNull(oracle, "price oracle");
        }

        /**
         * @param refine sets CPU, memory, price, auditors and attributes on the SDL made for each
         *               request (its GPU, region and node are set from the request)
         * @return this builder
         */
        public Builder sdl(UnaryOperator<AkashSdl.Builder> refine) {
            this.shape = InvalidArgumentException.requireNonNull(refine, "SDL refinement");
            return this;
        }

        /**
         * @param blocks blocks per hour used to price a lease, 1 to 36,000 (default 600)
         * @return this builder
         */
        public Builder blocksPerHour(long blocks) {
            if (blocks < 1 || blocks > 36_000) {
                throw new InvalidArgumentException("blocks per hour " + blocks + " must be 1 to 36000");
            }
            this.blocksPerHour = blocks;
            return this;
        }

        /**
         * @param wait how long to wait for a bid before closing the deployment (default 3 min)
         * @param poll how often to ask for bids (default 3 s)
         * @return this builder
         */
        public Builder bids(Duration wait, Duration poll) {
            InvalidArgumentException.requireNonNull(wait, "bid wait");
            InvalidArgumentException.requireNonNull(poll, "bid poll");
            if (wait.isNegative() || poll.isNegative() || poll.isZero() || poll.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new InvalidArgumentException("bid wait " + wait + " must be >= 0 and poll " + poll
                        + " 1 ms to 1 min");
            }
            this.bidWait = wait;
            this.bidPoll = poll;
            return this;
        }

        /**
         * @param age the oldest token rate a quote uses (default 10 min)
         * @return this builder
         */
        public Builder maxRateAge(Duration age) {
            InvalidArgumentException.requireNonNull(age, "rate age");
            this.maxRateAge = age;
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
        public AkashMarket build() {
            return new AkashMarket(this);
        }
    }
}
