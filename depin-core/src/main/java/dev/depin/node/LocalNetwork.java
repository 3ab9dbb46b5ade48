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
    /** Output bytes delivered to the buyer (returned or fetched). */
    private final java.util.concurrent.atomic.AtomicLong outputBytes = new java.util.concurrent.atomic.AtomicLong();
    /**
     * The one buyer of an in-process network: the key its nodes keep data under (outputs left
     * on a node, {@link dev.depin.network.spi.Delivery}).
     */
    private static final String BUYER = "local-buyer";

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
        // Inputs an earlier job of this buyer left on the node: taken from its cache by root, or
        // the attempt fails naming the root (the buyer has no bytes to send instead).
        Map<String, InputCache.Lease> leases = new LinkedHashMap<>();
        for (dev.depin.job.InputRef in : request.spec().inputs()) {
            if (!request.delivery().heldInputs().contains(in.name())) {
                continue;
            }
            java.util.Optional<InputCache.Lease> lease = node.inputCache().flatMap(c -> c.acquire(BUYER, in));
            if (lease.isEmpty()) {
                leases.values().forEach(InputCache.Lease::close);
                return Dispatch.failed(gone(node.nodeId(), in));
            }
            leases.put(in.name(), lease.get());
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
            outputBytes.addAndGet(chunk.remaining());
            assembler.write(name, chunk);
        }, dev.depin.network.spi.TransportBuffers.NONE, BUYER,
                // In process the buyer is this library's: it takes inputs read in place from the cache.
                new InputCaching(false, leases, false, true));
        java.util.function.Supplier<dev.depin.network.spi.InputTransfer> transfer = () -> {
            long declared = request.spec().inputs().stream().mapToLong(dev.depin.job.InputRef::bytes).sum();
            long sent = request.inputs().values().stream().mapToLong(java.nio.ByteBuffer::remaining).sum();
            List<String> kept = attempt.outputsKept().stream().sorted().toList();
            return new dev.depin.network.spi.InputTransfer(declared, sent, List.copyOf(leases.keySet()), List.of(),
                    List.of(), kept);
        };
        // A large job's receipt comes before its wipe: the buyer checks the outputs while the node
        // wipes, and takes the attestation from the result when it comes.
        CompletableFuture<ExecutionResponse> response = attempt.receiptBeforeWipe().thenCompose(early -> {
            if (early == null) {
                return attempt.result().thenApply(r -> {
                    firstByteSeen.run();
                    return new ExecutionResponse(r.jobId(), r.attempt(), r.provider(), r.executorKind(),
                            assembler.finish(), r.startedAt(), r.endedAt(), r.deviceNanos(), r.receipt(), r.wipe(),
                            r.batched(), transfer.get());
                });
            }
            firstByteSeen.run();
            dev.depin.crypto.ExecutionReceipt stated = dev.depin.crypto.ExecutionReceipt.readUnverified(early);
            return CompletableFuture.completedFuture(new ExecutionResponse(request.jobId(), request.attempt(),
                    node.nodeId(), stated.executorKind(), assembler.finish(), stated.startedAt(), stated.endedAt(),
                    stated.deviceTimeNanos(), early, null, null, transfer.get(),
                    attempt.result().thenApply(NodeResult::wipe)));
        });
        // A buyer's thread that waits for the result may run the attempt itself (no hand-off to
        // the node's worker and back), within the node's limit on attempts at once.
        return Dispatch.of(response, attempt.released(), attempt::cancel).runnableHere(attempt::runHere);
    }

    /**
     * Chunks of an output one of the nodes holds for this network's buyer (an output a job left
     * there), each with its audit path, read from the node's cache; the client checks them.
     */
    @Override
    public CompletableFuture<List<dev.depin.network.spi.HeldChunk>> fetchHeld(NodeId provider, String root,
                                                                               long bytes, int chunkBytes,
                                                                               int[] chunks) {
        dev.depin.network.spi.HeldChunk.checkRequest(root, bytes, chunkBytes, chunks);
        if (closed.get()) {
            return CompletableFuture.failedFuture(new NetworkException("the local network is closed"));
        }
        ProviderNode node = nodes.get(provider);
        if (node == null) {
            return CompletableFuture.failedFuture(new NetworkException("no provider " + provider.shortId()
                    + " in this local network"));
        }
        dev.depin.job.InputRef ref = new dev.depin.job.InputRef("held", bytes, root);
        java.util.Optional<InputCache.Lease> lease = node.inputCache().flatMap(c -> c.acquire(BUYER, ref));
        if (lease.isEmpty()) {
            return CompletableFuture.failedFuture(dev.depin.network.OutputGoneException.output(provider.shortId(), root,
                    bytes));
        }
        try (InputCache.Lease l = lease.get()) {
            java.nio.ByteBuffer data = l.view();
            dev.depin.crypto.MerkleTree tree = l.tree();
            List<dev.depin.network.spi.HeldChunk> out = new ArrayList<>(chunks.length);
            for (int c : chunks) {
                long from = (long) c * chunkBytes;
                int len = (int) Math.min(chunkBytes, bytes - from);
                java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate(len);
                copy.put(data.duplicate().position((int) from).limit((int) from + len)).flip();
                out.add(new dev.depin.network.spi.HeldChunk(c, copy.asReadOnlyBuffer(),
                        tree.chunkProof(c, chunkBytes).path()));
                outputBytes.addAndGet(len);
            }
            return CompletableFuture.completedFuture(out);
        }
    }

    /**
     * @return bytes of outputs that reached the buyer through this network so far: every
     *         returned output's bytes and every fetched chunk of a held one
     */
    public long outputBytesReturned() {
        return outputBytes.get();
    }

    private static dev.depin.network.OutputGoneException gone(NodeId provider, dev.depin.job.InputRef in) {
        return dev.depin.network.OutputGoneException.heldInput(provider.shortId(), in.name(), in.merkleRoot(),
                in.bytes());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            nodes.values().forEach(ProviderNode::close);
        }
    }
}
