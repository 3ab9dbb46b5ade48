package dev.depin.network;

import dev.depin.crypto.NodeId;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.ProviderOffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A real {@link LocalNetwork} with scripted faults in front of chosen providers, for
 * testing how the client copes with remote failure: errors, silence, altered responses,
 * altered offers.
 */
public final class ScriptedNetwork implements ComputeNetwork {
    /** What to do to attempts sent to one provider. */
    public enum Fault {
        /** Fail the dispatch with a NetworkException. */
        REFUSE,
        /** Never answer. */
        HANG,
        /** Answer with the response passed through {@link #responseTamper}. */
        TAMPER_RESPONSE,
        /** Throw from dispatch itself instead of failing the future (a buggy adapter). */
        THROW
    }

    private final LocalNetwork inner;
    private final Map<NodeId, Fault> faults = new ConcurrentHashMap<>();
    private final Map<NodeId, Integer> dispatches = new ConcurrentHashMap<>();
    private volatile UnaryOperator<List<ProviderOffer>> offerTamper = UnaryOperator.identity();
    private volatile UnaryOperator<ExecutionResponse> responseTamper = UnaryOperator.identity();

    /** @param inner the real network behind the faults */
    public ScriptedNetwork(LocalNetwork inner) {
        this.inner = inner;
    }

    /** Scripts a fault for every attempt sent to {@code node}. */
    public ScriptedNetwork fault(NodeId node, Fault fault) {
        faults.put(node, fault);
        return this;
    }

    /** Rewrites the offers the network publishes. */
    public ScriptedNetwork tamperOffers(UnaryOperator<List<ProviderOffer>> f) {
        offerTamper = f;
        return this;
    }

    /** Rewrites responses from providers scripted with {@link Fault#TAMPER_RESPONSE}. */
    public ScriptedNetwork tamperResponses(UnaryOperator<ExecutionResponse> f) {
        responseTamper = f;
        return this;
    }

    /** @return how many attempts were sent to {@code node} */
    public int dispatches(NodeId node) {
        return dispatches.getOrDefault(node, 0);
    }

    @Override
    public String name() {
        return "scripted";
    }

    @Override
    public CompletableFuture<List<ProviderOffer>> offers() {
        return inner.offers().thenApply(offerTamper);
    }

    @Override
    public CompletableFuture<ExecutionResponse> dispatch(ProviderOffer offer, ExecutionRequest request,
                                                         Consumer<Progress> progress) {
        dispatches.merge(offer.nodeId(), 1, Integer::sum);
        Fault f = faults.get(offer.nodeId());
        if (f == null) {
            return inner.dispatch(offer, request, progress);
        }
        return switch (f) {
            case REFUSE -> CompletableFuture.failedFuture(new NetworkException("connection refused by "
                    + offer.nodeId().shortId()));
            case HANG -> new CompletableFuture<>();
            case TAMPER_RESPONSE -> inner.dispatch(offer, request, progress).thenApply(responseTamper);
            case THROW -> throw new IllegalStateException("adapter bug while dispatching to " + offer.nodeId().shortId());
        };
    }

    @Override
    public void close() {
        inner.close();
    }
}
