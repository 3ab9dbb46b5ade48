package dev.depin.network.spi;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;

/**
 * An {@link OutputSink} that can send an attempt's outputs without holding the node's worker
 * while a slow buyer reads them: it sends what the buyer's stream takes now straight from
 * the executor's buffers, and copies the rest into buffers of its own (within its byte
 * budgets) that drain as the buyer grants credit. A {@link dev.depin.node.ProviderNode} hands
 * every output to {@link #sendAll} at once instead of calling {@link #write} chunk by chunk.
 */
public interface DrainingSink extends OutputSink {
    /**
     * Sends every output of the attempt, in the map's order. The buffers are read only until
     * this returns: the node wipes them right after.
     *
     * @param outputs each declared output's bytes, in the spec's order
     * @return empty when every byte was handed to the network here, or the drain that sends
     *         the rest from the transport's own copies
     * @throws dev.depin.DepinException when the attempt must stop (the buyer's stream ended,
     *                                  a reader that stalled past the limit, or the buyer
     *                                  already holds as many unread output bytes as it may)
     */
    Optional<OutputDrain> sendAll(Map<String, ByteBuffer> outputs);
}
