package dev.depin.network;

import dev.depin.crypto.NodeId;
import dev.depin.node.LocalNetwork;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.OfferQuery;
import dev.depin.network.spi.OutputAssembler;
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
        THROW,
        /** Return null from dispatch (a buggy adapter). */
        NULL_DISPATCH
    }

    private final LocalNetwork inner;
    private final Map<NodeId, Fault> faults = new ConcurrentHashMap<>();
    private final Map<NodeId, Integer> dispatches = new ConcurrentHashMap<>();
    private volatile UnaryOperator<List<ProviderOffer>> offerTamper = UnaryOperator.identity();
    private volatile UnaryOperator<ExecutionResponse> responseTamper = UnaryOperator.identity();
    private volatile UnaryOperator<CompletableFuture<List<ProviderOffer>>> offersCall = UnaryOperator.identity();

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

    /**
     * Replaces the future {@link #offers} returns (after {@link #tamperOffers}): the function
     * may throw or return null, as a buggy adapter would.
     */
    public ScriptedNetwork offersCall(UnaryOperator<CompletableFuture<List<ProviderOffer>>> f) {
        offersCall = f;
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
    public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
        return offersCall.apply(inner.offers(query).thenApply(offerTamper));
    }

    @Override
    public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
        dispatches.merge(offer.nodeId(), 1, Integer::sum);
        Fault f = faults.get(offer.nodeId());
        if (f == null) {
            return inner.dispatch(offer, request, progress);
        }
        return switch (f) {
            case REFUSE -> Dispatch.failed(new NetworkException("connection refused by " + offer.nodeId().shortId()));
            case HANG -> {
                CompletableFuture<ExecutionResponse> never = new CompletableFuture<>();
                CompletableFuture<Void> released = new CompletableFuture<>();
                yield Dispatch.of(never, released, reason -> released.complete(null));
            }
            case TAMPER_RESPONSE -> {
                Dispatch d = inner.dispatch(offer, request, progress);
                yield Dispatch.of(d.response().thenApply(responseTamper), d.released(), d::cancel);
            }
            case THROW -> throw new IllegalStateException("adapter bug while dispatching to " + offer.nodeId().shortId());
            case NULL_DISPATCH -> null;
        };
    }

    /**
     * A response with other output bytes, as if altered in transit: re-assembled, so the
     * roots are those of the altered bytes the buyer "received".
     *
     * @param r       the original response
     * @param outputs the bytes to put in its place
     * @return the altered response
     */
    public static ExecutionResponse withOutputs(ExecutionResponse r, java.util.Map<String, java.nio.ByteBuffer> outputs) {
        java.util.Map<String, Long> sizes = new java.util.LinkedHashMap<>();
        outputs.forEach((k, v) -> sizes.put(k, (long) v.remaining()));
        OutputAssembler asm = OutputAssembler.of(sizes, dev.depin.job.JobSpec.MERKLE_CHUNK_BYTES);
        outputs.forEach((k, v) -> asm.write(k, v.duplicate()));
        return new ExecutionResponse(r.jobId(), r.attempt(), r.provider(), r.executorKind(), asm.finish(),
                r.startedAt(), r.endedAt(), r.deviceNanos(), r.receipt(), r.wipe(), r.batched(), null,
                r.wipeToFollow());
    }

    /** Reads held data from the real network: a job that leaves its outputs can be spot-checked. */
    @Override
    public CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchHeld(NodeId provider, String root, long bytes,
                                                                              int chunkBytes, int[] chunks) {
        return inner.fetchHeld(provider, root, bytes, chunkBytes, chunks);
    }

    @Override
    public void close() {
        inner.close();
    }
}
