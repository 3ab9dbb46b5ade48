package dev.depin.network.spi;

import dev.depin.crypto.NodeId;
import dev.depin.job.InputRef;
import dev.depin.provider.ProviderOffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Where offers come from and how an attempt reaches a provider: the in-process
 * {@link dev.depin.node.LocalNetwork}, our own network, or an adapter for another network.
 * The buyer's client works through this interface only, so it treats every provider as
 * remote: calls are asynchronous, may time out, and may fail.
 *
 * <h2>Contract for implementers</h2>
 * <ul>
 *   <li>A network never trusts and never verifies on the buyer's behalf: the client checks
 *       every offer's signature (once per offer, then caches it while it is valid),
 *       receipts and outputs itself. A network may return expired, badly signed or
 *       non-matching offers; the client drops them.</li>
 *   <li>{@link #offers} is answered from a directory or cache by the query; it is called
 *       per scheduling round, so it must be cheap. It fails its future (never throws) with a
 *       {@link dev.depin.network.NetworkException} when the network cannot be reached.</li>
 *   <li>{@link #dispatch} never blocks and never throws for a failure of the attempt: it
 *       returns a {@link Dispatch} whose response fails. Inputs are sent as the request's
 *       read-only views (a transport chunks them); outputs are received into an
 *       {@link OutputAssembler} built from {@link ExecutionRequest#expectedOutputs()}, which
 *       bounds them and computes their Merkle roots as chunks arrive.</li>
 *   <li>{@link Dispatch#cancel} reaches the provider, which stops the work; then
 *       {@link Dispatch#released()} completes.</li>
 *   <li>Progress may be reported from any thread (a transport's I/O thread included): the
 *       client hands it to its own executor and never runs user code on the caller's
 *       thread.</li>
 * </ul>
 * The contract suite {@code NetworkContractTest} (in depin-core's test jar) checks a
 * network against these rules.
 */
public interface ComputeNetwork extends AutoCloseable {

    /** @return a short name for logs, e.g. {@code "local"} */
    String name();

    /**
     * Offers that may fit a job.
     *
     * @param query the kernel, requirements and how many offers at most
     * @return a future of the offers; fails with a {@link dev.depin.network.NetworkException}
     *         when the network cannot be reached
     */
    CompletableFuture<List<ProviderOffer>> offers(OfferQuery query);

    /**
     * Sends one attempt of a job to the provider behind {@code offer}.
     *
     * @param offer    the chosen offer
     * @param request  what to run
     * @param progress told of provider-side progress; may be called from any thread
     * @return the attempt in flight
     */
    Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress);

    /**
     * Which providers this network believes already hold some of a job's inputs for this
     * buyer (kept from earlier jobs), and how many of the job's input bytes each holds. The
     * client prefers such a provider over others in the same load tier when it plans a round
     * (docs/decisions.md, "Placement prefers the provider that holds the inputs"). Only a hint:
     * a provider that no longer holds an input asks for its bytes again, and nothing about the
     * job's price or verification depends on it. Called once per scheduling round, so it must
     * be cheap and must not block; it must not throw.
     *
     * <p>The default holds nothing (networks without an input cache).
     *
     * @param inputs the job's inputs
     * @return input bytes held per provider, only providers holding at least one input; never null
     */
    default Map<NodeId, Long> inputBytesHeld(List<InputRef> inputs) {
        return Map.of();
    }

    /**
     * Whether this network lets providers keep the inputs it sends them, so that a later job
     * may send such an input by its root alone ({@link #inputBytesHeld}). The client then
     * accepts a wipe record stating that a job read any of its inputs where the provider's cache
     * holds it ({@link dev.depin.crypto.WipeRecord#CACHE_IN_PLACE}); otherwise only for the
     * inputs the request itself sends by root ({@link Delivery#heldInputs()}), since the
     * provider was given no other input to keep and must attest wiping its copy.
     *
     * <p>The default keeps nothing.
     *
     * @return whether providers may keep inputs sent to them; must not throw
     */
    default boolean providersMayKeepInputs() {
        return false;
    }

    /**
     * Reads chunks of data a provider holds for this buyer: an output a job left there
     * ({@link Delivery#leaveOutputsFor()}). The client uses it to spot-check such an output
     * without its bytes and to fetch it later; it checks every chunk's audit path against the
     * root the verified receipt signed, so a network passes on what the provider sent, unchecked.
     * Chunk {@code i} is bytes {@code [i·chunkBytes, min((i+1)·chunkBytes, bytes))}. Must not
     * block; fails its future, never throws, for a failure of the read.
     *
     * <p>The default reads nothing: a network whose providers hold no data for the buyer.
     *
     * @param provider   the provider holding the data
     * @param root       its root (64 hex) as the receipt commits to it
     * @param bytes      its size
     * @param chunkBytes the chunk size (4 KiB times a power of two, at most 1 MiB)
     * @param chunks     chunk indices, strictly increasing, within {@link HeldChunk#checkRequest}'s bounds
     * @return the chunks in the order asked; or failed with
     *         {@link dev.depin.network.OutputGoneException} when the provider no longer holds it
     *         (its time to live ended, evicted, restarted) or never did for this buyer, or another
     *         {@link dev.depin.network.NetworkException}
     * @throws dev.depin.InvalidArgumentException on a request outside the bounds
     */
    default CompletableFuture<List<HeldChunk>> fetchHeld(NodeId provider, String root, long bytes, int chunkBytes,
                                                         int[] chunks) {
        HeldChunk.checkRequest(root, bytes, chunkBytes, chunks);
        return CompletableFuture.failedFuture(new dev.depin.network.NetworkException("network " + name()
                + " cannot read data its providers hold: leave outputs on a node only on a network that supports it "
                + "(LocalNetwork, GrpcNetwork)"));
    }

    /** Closes connections and stops what this network started. Idempotent. */
    @Override
    void close();

    /** Provider-side progress of one attempt. */
    enum Progress {
        /** The provider accepted the attempt and queued it. */
        ACCEPTED,
        /** Execution started on the device. */
        RUNNING,
        /**
         * The first byte of the provider's result (an output chunk, or the result message when
         * there are no chunks) reached the buyer: reported by the buyer's transport where it
         * sees it, at most once per attempt and before {@link Dispatch#response()} completes,
         * and never for an attempt that fails. The buyer's clock at this report is the
         * attempt's time to first byte for an SLA that promises one
         * ({@link dev.depin.provider.SlaTerms#firstByteWithin()}); a network that never reports
         * it has its attempts' first byte taken as their end.
         */
        FIRST_BYTE
    }
}
