package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One attempt handed to a provider: its response, when the provider has let go of it, and
 * how to stop it. {@link ComputeNetwork#dispatch} returns one.
 *
 * <p>{@link #response()} completes with the provider's answer or fails with a
 * {@link dev.depin.network.NetworkException} or the provider's own
 * {@link dev.depin.DepinException}. {@link #released()} completes once the provider no
 * longer works on the attempt (answered, failed, or stopped after {@link #cancel}), so the
 * buyer can count a provider as busy exactly as long as it is.
 */
public final class Dispatch {
    private final CompletableFuture<ExecutionResponse> response;
    private final CompletableFuture<Void> released;
    private final Consumer<String> canceller;

    private Dispatch(CompletableFuture<ExecutionResponse> response, CompletableFuture<Void> released,
                     Consumer<String> canceller) {
        this.response = response;
        this.released = released;
        this.canceller = canceller;
    }

    /**
     * @param response  the provider's answer
     * @param released  completes when the provider has let go of the attempt
     * @param canceller asks the provider to stop the attempt, given the reason; must not block
     * @return the dispatch
     * @throws InvalidArgumentException on nulls
     */
    public static Dispatch of(CompletableFuture<ExecutionResponse> response, CompletableFuture<Void> released,
                              Consumer<String> canceller) {
        return new Dispatch(InvalidArgumentException.requireNonNull(response, "response future"),
                InvalidArgumentException.requireNonNull(released, "released future"),
                InvalidArgumentException.requireNonNull(canceller, "canceller"));
    }

    /**
     * @param error why the attempt never reached a provider
     * @return a dispatch that has already failed and holds nothing
     */
    public static Dispatch failed(Throwable error) {
        InvalidArgumentException.requireNonNull(error, "error");
        return new Dispatch(CompletableFuture.failedFuture(error), CompletableFuture.completedFuture(null),
                reason -> { });
    }

    /** @return the provider's answer */
    public CompletableFuture<ExecutionResponse> response() {
        return response;
    }

    /** @return completes when the provider no longer works on the attempt */
    public CompletableFuture<Void> released() {
        return released;
    }

    /**
     * Asks the provider to stop the attempt. Idempotent; never blocks; never throws.
     *
     * @param reason why, for the provider's log
     */
    public void cancel(String reason) {
        try {
            canceller.accept(reason == null ? "cancelled" : reason);
        } catch (RuntimeException e) {
            // A network adapter's cancel path must not hurt the buyer's engine.
        }
    }
}
