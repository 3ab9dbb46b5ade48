package dev.depin.capacity.spi;

import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.Machine;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where machines come from: a market that leases hardware (Akash, io.net) or a local pool that
 * starts node processes ({@link dev.depin.capacity.LocalMarket}). Every machine obtained runs
 * {@code depin node} from the request's {@link dev.depin.capacity.NodeTemplate}, generates its
 * own key there and lists itself in the buyer's directory, so the buyer reaches it through its
 * usual {@link dev.depin.network.spi.ComputeNetwork} and trusts it no more than any other node:
 * every result is still checked against the key that signed the node's offer.
 *
 * <h2>Contract for implementers</h2>
 * <ul>
 *   <li>Money is micro-USD at this interface. A market that bills in a token converts through
 *       a {@link dev.depin.settlement.spi.PriceOracle} and reports the rate in the quote.</li>
 *   <li>{@link #obtain} spends nothing beyond the request's budget: it prices the request first
 *       and fails with {@link dev.depin.capacity.BudgetExceededException} before any lease when
 *       the price is over it.</li>
 *   <li>Every method returns at once; work and waiting happen on the market's own threads.
 *       Failures complete the future with a {@link dev.depin.capacity.CapacityException} (a
 *       {@link dev.depin.capacity.MarketApiException} for an error from the market's API).</li>
 *   <li>{@link #release} is idempotent; releasing a machine that already ended succeeds.</li>
 *   <li>{@link #close} releases nothing: leases outlive the client object unless released
 *       (a market where that is impossible, such as the local one, says so).</li>
 * </ul>
 */
public interface CapacityMarket extends AutoCloseable {

    /** @return the market's name for logs and the command line, e.g. {@code "akash"} */
    String name();

    /**
     * What the request would cost now.
     *
     * @param request what to price
     * @return the quote; fails with a {@link dev.depin.capacity.CapacityException} when the market
     *         cannot serve the request or price it
     */
    CompletableFuture<CapacityQuote> quote(CapacityRequest request);

    /**
     * Leases the machines and starts the node on each. The future completes once every machine
     * is leased (in state {@code STARTING} or {@code RUNNING}); the nodes list themselves in the
     * directory when they are up.
     *
     * @param request what to obtain
     * @return the machines obtained
     */
    CompletableFuture<List<Machine>> obtain(CapacityRequest request);

    /** @return the machines this market object obtained and has not forgotten, as the market reports them now */
    CompletableFuture<List<Machine>> machines();

    /**
     * Ends a machine's lease and stops its node.
     *
     * @param machineId the machine's {@link Machine#id()}
     * @return completes when released
     */
    CompletableFuture<Void> release(String machineId);

    /** Stops this market object's threads and connections. */
    @Override
    void close();
}
