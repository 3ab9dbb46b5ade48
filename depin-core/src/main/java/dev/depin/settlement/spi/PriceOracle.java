package dev.depin.settlement.spi;

import dev.depin.settlement.SettlementException;
import dev.depin.settlement.TokenRate;
import java.util.concurrent.CompletableFuture;

/**
 * Where the token/USD rate comes from: an exchange feed, an on-chain oracle, or a fixed
 * rate ({@link dev.depin.settlement.FixedRateOracle}, the embedded default).
 *
 * <p>The engine asks for a rate when it locks a job's {@link dev.depin.settlement.Quote},
 * refuses one older than the buyer's bound ({@link dev.depin.settlement.SettlementException} ({@code STALE_QUOTE}))
 * and one that moved beyond the buyer's slippage bound since the job's first quote
 * ({@link dev.depin.settlement.SettlementException} ({@code SLIPPAGE_EXCEEDED})). Implementations must not block
 * the calling thread: return a future and complete it from their own threads.
 */
public interface PriceOracle {

    /** @return the oracle's name, for logs and error messages */
    String name();

    /** @return the current rate with the time it was observed; a failed future when there is none */
    CompletableFuture<TokenRate> rate();
}
