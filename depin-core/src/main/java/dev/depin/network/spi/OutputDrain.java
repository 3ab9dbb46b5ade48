package dev.depin.network.spi;

import dev.depin.crypto.WipeRecord;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The rest of an attempt's outputs, copied by the transport into buffers of its own and sent
 * as the buyer reads them, after the node's worker has moved on to its next job
 * ({@link DrainingSink#sendAll}). The node signs the attempt's wipe attestation only once the
 * drain is over, so the attestation covers these buffers too ({@link #wipe}).
 */
public interface OutputDrain {
    /**
     * @return completes when the last output byte was handed to the network; completes
     *         exceptionally when the drain was stopped (a reader that stalled past the
     *         transport's limit, the stream ended, {@link #cancel}), in which case the
     *         transport has already zeroed its buffers
     */
    CompletableFuture<Void> drained();

    /**
     * Overwrites every buffer the drain held with {@code pattern}, reads each back, and
     * returns one record per buffer; called once, after {@link #drained()} completed normally.
     *
     * @param pattern the job's overwrite byte
     * @return host wipe records (labels distinct from the job's buffer names)
     * @throws dev.depin.DepinException if a read-back differs from the pattern
     */
    List<WipeRecord> wipe(byte pattern);

    /**
     * Stops the drain if it is not over: its buffers are zeroed and {@link #drained()} fails.
     *
     * @param reason why, for the failure's message
     */
    void cancel(String reason);
}
