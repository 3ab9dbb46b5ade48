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
    private final java.util.function.BooleanSupplier runner;

    private Dispatch(CompletableFuture<ExecutionResponse> response, CompletableFuture<Void> released,
                     Consumer<String> canceller, java.util.function.BooleanSupplier runner) {
        this.response = response;
        this.released = released;
        this.canceller = canceller;
        this.runner = runner;
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
                InvalidArgumentException.requireNonNull(canceller, "canceller"), () -> false);
    }

    /**
     * This dispatch, for a network that can run the attempt on the buyer's thread (in process):
     * {@link #runHere()} then calls {@code runner}.
     *
     * @param runner runs the attempt on the calling thread if the provider has not started it
     *               and has room, and says whether it did; must not throw
     * @return the dispatch
     * @throws InvalidArgumentException if {@code runner} is null
     */
    public Dispatch runnableHere(java.util.function.BooleanSupplier runner) {
        return new Dispatch(response, released, canceller,
                InvalidArgumentException.requireNonNull(runner, "runner"));
    }

    /**
     * @param error why the attempt never reached a provider
     * @return a dispatch that has already failed and holds nothing
     */
    public static Dispatch failed(Throwable error) {
        InvalidArgumentException.requireNonNull(error, "error");
        return new Dispatch(CompletableFuture.failedFuture(error), CompletableFuture.completedFuture(null),
                reason -> { }, () -> false);
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
     * Runs the attempt on the calling thread, when the network offers that (in process) and
     * the provider has not started it: the buyer's engine calls this from a thread that would
     * otherwise only wait for the response. Never throws.
     *
     * @return whether the attempt ran here (its response then completes, or has completed,
     *         on this thread); false when it runs, or will run, where the provider runs it
     */
    public boolean runHere() {
        try {
            return runner.getAsBoolean();
        } catch (RuntimeException e) {
            return false; // the attempt stays where the network put it
        }
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
