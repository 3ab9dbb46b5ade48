package dev.depin.node;

import java.util.concurrent.CompletableFuture;

/**
 * One attempt accepted by a {@link ProviderNode}: its result, when the node has let go of
 * it, and how to stop it.
 */
public interface NodeAttempt {

    /**
     * @return completes with the signed result once the outputs were streamed to the sink;
     *         fails with {@link dev.depin.provider.ProviderRejectedException} (refused, busy,
     *         closing), {@link dev.depin.executor.spi.ExecutionCancelledException}
     *         (cancelled) or the executor's failure
     */
    CompletableFuture<NodeResult> result();

    /**
     * The receipt released before the wipe: for a job of at least
     * {@link ProviderNode#RECEIPT_FIRST_BYTES} whose outputs were all handed over (or left on the
     * node), the node signs the receipt alone as soon as the outputs are committed and completes
     * this with it; the wipe attestation (whose subject is that receipt) follows in
     * {@link #result()}, which then carries both. A transport may send the receipt at once, so
     * that the buyer's checks overlap the wipe; the buyer pays only once both are checked.
     *
     * @return completes with the receipt signed before the wipe, or with {@code null} when this
     *         attempt's receipt comes only with its result (small jobs, batched signatures,
     *         outputs still draining, failure or cancellation)
     */
    default CompletableFuture<dev.depin.crypto.Envelope> receiptBeforeWipe() {
        return CompletableFuture.completedFuture(null);
    }

    /** @return completes when the node no longer works on the attempt, whatever the outcome */
    CompletableFuture<Void> released();

    /**
     * Stops the attempt: a queued attempt never starts, a running one stops at its
     * executor's next launch boundary. Idempotent; never blocks.
     *
     * @param reason why, for the log
     */
    void cancel(String reason);

    /**
     * Runs the attempt on the calling thread, if the node has not started it and has a free
     * worker slot: for a thread that would otherwise wait for its result (in process), one
     * hand-off to a worker and back the fewer. The result completes on this thread as it would
     * on a worker's.
     *
     * @return whether the attempt ran here; false leaves it to the node's workers
     */
    default boolean runHere() {
        return false;
    }

    /**
     * @return names of this attempt's inputs that the node holds in its {@link InputCache} for
     *         the buyer once they were staged (sent before and taken from the cache, or kept now
     *         with the buyer's consent): its next job may send only their roots. Empty until
     *         the inputs are staged, and on a node without a cache.
     */
    default java.util.Set<String> inputsKept() {
        return java.util.Set.of();
    }

    /**
     * @return names of this attempt's outputs that the node keeps in its {@link InputCache} for
     *         the buyer, by the roots its receipt commits to ({@link InputCaching#keepOutputs()}):
     *         a following job may take them as inputs by root. Empty until the outputs are committed.
     */
    default java.util.Set<String> outputsKept() {
        return java.util.Set.of();
    }
}
