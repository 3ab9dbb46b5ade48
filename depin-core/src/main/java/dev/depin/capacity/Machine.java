package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.money.MicroUsd;
import java.time.Instant;

/**
 * One machine obtained from a market, as the market last reported it.
 *
 * @param market    the market's name
 * @param id        the market's handle for it (an Akash {@code dseq}, an io.net deployment
 *                  id, a local process number); what {@link dev.depin.capacity.spi.CapacityMarket#release}
 *                  takes
 * @param state     where it is in its life
 * @param nodeId    the depin node it runs, once known (null before)
 * @param endpoint  where the node is reached, once known (null before)
 * @param cost      what it was obtained for, for its whole lease
 * @param expiresAt when its lease ends
 * @param detail    the market's last word on it, for people (an exit status, a lease state)
 */
public record Machine(String market, String id, MachineState state, NodeId nodeId, String endpoint, MicroUsd cost,
                      Instant expiresAt, String detail) {
    /**
     * Checks the fields.
     *
     * @param market    the market's name
     * @param id        the market's handle for it (an Akash {@code dseq}, an io.net deployment id, a local process number); what {@link dev.depin.capacity.spi.CapacityMarket#release} takes
     * @param state     where it is in its life
     * @param nodeId    the depin node it runs, once known (null before)
     * @param endpoint  where the node is reached, once known (null before)
     * @param cost      what it was obtained for, for its whole lease
     * @param expiresAt when its lease ends
     * @param detail    the market's last word on it, for people (an exit status, a lease state)
     * @throws InvalidArgumentException on nulls (except node id and endpoint)
     */
    public Machine {
        InvalidArgumentException.requireNonNull(market, "market");
        InvalidArgumentException.requireNonNull(id, "machine id");
        InvalidArgumentException.requireNonNull(state, "machine state");
        InvalidArgumentException.requireNonNull(cost, "machine cost");
        InvalidArgumentException.requireNonNull(expiresAt, "lease expiry");
        InvalidArgumentException.requireNonNull(detail, "detail");
    }

    @Override
    public String toString() {
        return market + ":" + id + " " + state + (nodeId == null ? "" : " node " + nodeId.shortId())
                + (endpoint == null ? "" : " at " + endpoint) + ", " + cost + ", until " + expiresAt
                + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
