package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.settlement.spi.PriceOracle;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;

/**
 * A rate that never moves, observed "now" on every call: the embedded default, for
 * stablecoin settlement or for a ledger kept in USD. With it, quotes are never stale and
 * never slip.
 */
public final class FixedRateOracle implements PriceOracle {
    private final String token;
    private final long microUsdPerToken;
    private final Clock clock;

    /**
     * @param token            the token's symbol
     * @param microUsdPerToken what one token costs in micro-USD
     * @param clock            the clock that stamps the rate
     * @throws InvalidArgumentException if the symbol is malformed, the rate is not positive or
     *                                  the clock is null
     */
    public FixedRateOracle(String token, long microUsdPerToken, Clock clock) {
        this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
        new TokenRate(token, microUsdPerToken, clock.instant()); // validates
        this.token = token;
        this.microUsdPerToken = microUsdPerToken;
    }

    /**
     * One USD-pegged token ({@code USDC}) worth exactly one dollar, on the system clock.
     *
     * @return the oracle
     */
    public static FixedRateOracle usdPegged() {
        return new FixedRateOracle("USDC", 1_000_000, Clock.systemUTC());
    }

    @Override
    public String name() {
        return "fixed " + token + " = " + dev.depin.money.MicroUsd.ofMicros(microUsdPerToken);
    }

    @Override
    public CompletableFuture<TokenRate> rate() {
        return CompletableFuture.completedFuture(new TokenRate(token, microUsdPerToken, clock.instant()));
    }
}
