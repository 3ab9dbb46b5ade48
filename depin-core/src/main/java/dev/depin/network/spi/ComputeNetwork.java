package dev.depin.network.spi;

import dev.depin.provider.ProviderOffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Where offers come from and how a job reaches a provider. Implementations: the
 * in-process {@link dev.depin.network.LocalNetwork}, the Netty network, and adapters
 * for other networks. The buyer's client works through this interface only, so it
 * treats every provider as remote: calls are asynchronous, may time out, and may fail.
 *
 * <p>A network never trusts and never verifies on the buyer's behalf: the client checks
 * offers, receipts and outputs itself.
 */
public interface ComputeNetwork extends AutoCloseable {

    /** @return a short name for logs, e.g. {@code "local"} */
    String name();

    /**
     * The offers currently published. The list may contain expired or badly signed
     * offers; the client verifies each one.
     *
     * @return a future of the offers; fails with a {@link dev.depin.network.NetworkException}
     *         when the network cannot be reached
     */
    CompletableFuture<List<ProviderOffer>> offers();

    /**
     * Sends one attempt of a job to the provider behind {@code offer}.
     *
     * <p>Cancelling the returned future asks the provider to drop the attempt.
     *
     * @param offer    the chosen offer
     * @param request  what to run
     * @param progress called with provider-side progress ({@link Progress#RUNNING}); may be
     *                 called from any thread
     * @return a future of the provider's response; fails with a
     *         {@link dev.depin.network.NetworkException} or the provider's own
     *         {@link dev.depin.DepinException}
     */
    CompletableFuture<ExecutionResponse> dispatch(ProviderOffer offer, ExecutionRequest request,
                                                  Consumer<Progress> progress);

    /** Closes connections and stops what this network started. Idempotent. */
    @Override
    void close();

    /** Provider-side progress of one attempt. */
    enum Progress {
        /** The provider accepted the attempt and queued it. */
        ACCEPTED,
        /** Execution started on the device. */
        RUNNING
    }
}
