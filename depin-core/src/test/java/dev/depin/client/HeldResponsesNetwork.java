package dev.depin.client;

import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.LocalNetwork;
import dev.depin.provider.ProviderOffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * A network for tests that decide on which thread and when a provider's answer reaches the
 * client: offers and attempts go to a local network, and each attempt's response is held
 * ({@link #hold}) until the test completes {@link #outer} with {@link #inner}'s answer. A
 * subclass changes what a dispatch does beyond that.
 */
class HeldResponsesNetwork implements ComputeNetwork {
    private final String name;
    /** The network that runs the attempts. */
    final LocalNetwork local;
    /** Each attempt's response from the local network, in dispatch order. */
    final List<CompletableFuture<ExecutionResponse>> inner = new CopyOnWriteArrayList<>();
    /** The response the client sees for each attempt, completed by the test. */
    final List<CompletableFuture<ExecutionResponse>> outer = new CopyOnWriteArrayList<>();
    /** Counted down once the first attempt is held. */
    final CountDownLatch dispatched = new CountDownLatch(1);

    /**
     * @param name  the network's name
     * @param local where offers come from and attempts run
     */
    HeldResponsesNetwork(String name, LocalNetwork local) {
        this.name = name;
        this.local = local;
    }

    /**
     * Records {@code d}'s response as the next attempt's and returns the one the client sees.
     *
     * @param d the local network's dispatch of the attempt
     * @return the response the client sees, held until the test completes it
     */
    final CompletableFuture<ExecutionResponse> hold(Dispatch d) {
        CompletableFuture<ExecutionResponse> mine = new CompletableFuture<>();
        synchronized (this) { // inner and outer stay index-aligned under concurrent dispatches
            inner.add(d.response());
            outer.add(mine);
        }
        dispatched.countDown();
        return mine;
    }

    /** Runs the attempt on the local network; its response reaches the client when the test completes it in {@link #outer}. */
    @Override
    public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
        Dispatch d = local.dispatch(offer, request, p -> { });
        return Dispatch.of(hold(d), d.released(), d::cancel);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
        return local.offers(query);
    }

    @Override
    public void close() {
        local.close();
    }
}
