package dev.depin.node;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.OfferQuery;
import dev.depin.network.spi.OutputAssembler;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.ProviderOffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * An in-process network of {@link ProviderNode}s, each with its own identity, offer,
 * executor and worker pool. For tests, the demo, and embedding a private pool in one
 * JVM. The client talks to it exactly as to a remote network: asynchronously, through
 * signed offers.
 *
 * <pre>{@code
 * try (LocalNetwork net = LocalNetwork.of(List.of(nodeA, nodeB));
 *      DepinClient client = DepinClient.builder(net).build()) {
 *     JobResult r = client.submit(job).result();
 * }
 * }</pre>
 */
public final class LocalNetwork implements ComputeNetwork {
    private final Map<NodeId, ProviderNode> nodes;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LocalNetwork(List<ProviderNode> nodes) {
        Map<NodeId, ProviderNode> map = new LinkedHashMap<>();
        for (ProviderNode n : nodes) {
            InvalidArgumentException.requireNonNull(n, "provider node");
            if (map.put(n.nodeId(), n) != null) {
                throw new InvalidArgumentException("provider " + n.nodeId().shortId()
                        + " appears twice: give each provider its own key");
            }
        }
        this.nodes = map;
    }

    /**
     * A network of the given nodes; the network owns them and closes them.
     *
     * @param nodes the providers, each with its own key
     * @return the network
     * @throws InvalidArgumentException if the list is null, empty, or has a node twice
     */
    public static LocalNetwork of(List<ProviderNode> nodes) {
        InvalidArgumentException.requireNonNull(nodes, "provider nodes");
        if (nodes.isEmpty()) {
            throw new InvalidArgumentException("a local network needs at least one provider node");
        }
        return new LocalNetwork(List.copyOf(nodes));
    }

    /** @return the nodes, in the order given */
    public List<ProviderNode> nodes() {
        return List.copyOf(nodes.values());
    }

    @Override
    public String name() {
        return "local";
    }

    /**
     * The nodes' current offers that run the query's kernel; requirements are left to the
     * client, which checks every offer itself.
     */
    @Override
    public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
        InvalidArgumentException.requireNonNull(query, "offer query");
        if (closed.get()) {
            return CompletableFuture.failedFuture(new NetworkException("the local network is closed"));
        }
        List<ProviderOffer> offers = new ArrayList<>();
        for (ProviderNode n : nodes.values()) {
            ProviderOffer o = n.offer();
            if (o.terms().kernels().contains(query.kernelId()) && offers.size() < query.limit()) {
                offers.add(o);
            }
        }
        return CompletableFuture.completedFuture(offers);
    }

    /**
     * Hands the attempt to the node in process. The node streams its outputs straight into
     * the buyer's {@link dev.depin.network.spi.OutputAssembler} (one copy, hashed as it
     * passes), so what the buyer verifies is what it received, as over a wire.
     */
    @Override
    public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
        InvalidArgumentException.requireNonNull(offer, "offer");
        InvalidArgumentException.requireNonNull(request, "request");
        InvalidArgumentException.requireNonNull(progress, "progress listener");
        if (closed.get()) {
            return Dispatch.failed(new NetworkException("the local network is closed"));
        }
        ProviderNode node = nodes.get(offer.nodeId());
        if (node == null) {
            return Dispatch.failed(new NetworkException("no provider " + offer.nodeId().shortId()
                    + " in this local network: refresh the offers"));
        }
        OutputAssembler assembler = request.newAssembler();
        // The buyer's side of the in-process "wire": the node's first output chunk, or its
        // result when it streams none, is the first byte the buyer receives.
        java.util.concurrent.atomic.AtomicBoolean firstByte = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable firstByteSeen = () -> {
            if (firstByte.compareAndSet(false, true)) {
                try {
                    progress.accept(Progress.FIRST_BYTE);
                } catch (RuntimeException e) {
                    // A listener that throws must not break the output stream.
                }
            }
        };
        NodeAttempt attempt = node.submit(request, progress, (name, chunk) -> {
            firstByteSeen.run();
            assembler.write(name, chunk);
        });
        CompletableFuture<ExecutionResponse> response = attempt.result().thenApply(r -> {
            firstByteSeen.run();
            return new ExecutionResponse(r.jobId(), r.attempt(), r.provider(), r.executorKind(), assembler.finish(),
                    r.startedAt(), r.endedAt(), r.deviceNanos(), r.receipt(), r.wipe(), r.batched());
        });
        return Dispatch.of(response, attempt.released(), attempt::cancel);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            nodes.values().forEach(ProviderNode::close);
        }
    }
}
