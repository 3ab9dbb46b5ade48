package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Hex;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.spi.ExecutionOutput;
import dev.depin.executor.spi.Executor;
import dev.depin.executor.spi.JobWorkspace;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BufferDecl;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ComputeNetwork.Progress;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A provider: an identity, one executor, a bounded worker pool, and a signed offer that
 * claims exactly the hardware the executor runs on.
 *
 * <p>For each attempt it checks the request (kernel offered, input bytes match the
 * spec's Merkle roots, deadline not passed), runs the kernel in a fresh
 * {@link JobWorkspace}, commits to the outputs (RFC 6962 Merkle roots), signs an
 * {@link ExecutionReceipt} bound to the buyer's nonce, wipes every host buffer of the
 * job (overwrite with a random non-zero pattern, then a full read-back), signs a
 * {@link WipeAttestation} whose subject is the receipt, and returns outputs, receipt and
 * attestation. It never trusts the buyer's inputs to match the spec: it recomputes their
 * roots, since its receipt vouches for them.
 *
 * <pre>{@code
 * ProviderNode node = ProviderNode.builder(NodeKeyPair.generate(), executor)
 *         .region(Region.parse("DE/fra-1"))
 *         .price(new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")))
 *         .build();
 * ProviderOffer offer = node.offer();
 * }</pre>
 */
public final class ProviderNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderNode.class);
    private static final SecureRandom PATTERNS = new SecureRandom();

    private final NodeKeyPair key;
    private final Executor executor;
    private final String endpoint;
    private final Region region;
    private final Price price;
    private final MicroUsd stake;
    private final Duration offerTtl;
    private final Clock clock;
    private final FaultInjection faults;
    private final ThreadPoolExecutor workers;
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile ProviderOffer offer;

    private ProviderNode(Builder b) {
        this.key = b.key;
        this.executor = b.executor;
        this.endpoint = b.endpoint == null ? "local:" + key.nodeId().shortId() : b.endpoint;
        this.region = InvalidArgumentException.requireNonNull(b.region, "provider region");
        this.price = InvalidArgumentException.requireNonNull(b.price, "provider price");
        this.stake = InvalidArgumentException.requireNonNull(b.stake, "provider stake");
        this.offerTtl = b.offerTtl;
        this.clock = b.clock;
        this.faults = b.faults;
        String name = "depin-provider-" + key.nodeId().shortId() + "-";
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(b.workers, b.workers, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(b.queueCapacity), r -> {
                    Thread t = new Thread(r, name + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        new OfferTerms(endpoint, List.of(executor.device()), region, kernels(), price, stake,
                clock.instant().plus(offerTtl));
    }

    /**
     * Starts building a provider.
     *
     * @param key      the provider's identity; it signs offers and receipts
     * @param executor the executor it runs jobs on; the node closes it
     * @return a builder
     */
    public static Builder builder(NodeKeyPair key, Executor executor) {
        return new Builder(key, executor);
    }

    /** @return the provider's node id */
    public NodeId nodeId() {
        return key.nodeId();
    }

    /** @return the executor this node runs on */
    public Executor executor() {
        return executor;
    }

    /** @return attempts completed successfully by this node */
    public long completedCount() {
        return completed.get();
    }

    /** @return attempts this node failed */
    public long failedCount() {
        return failed.get();
    }

    /**
     * The node's current signed offer; re-signed with a fresh expiry once less than half
     * of its time to live is left.
     */
    public ProviderOffer offer() {
        ProviderOffer current = offer;
        if (current == null || clock.instant().plus(offerTtl.dividedBy(2)).isAfter(current.terms().validUntil())) {
            current = ProviderOffer.sign(key, new OfferTerms(endpoint, List.of(executor.device()), region, kernels(),
                    price, stake, clock.instant().plus(offerTtl)));
            offer = current;
        }
        return current;
    }

    private Set<String> kernels() {
        Set<String> ids = new TreeSet<>();
        for (dev.depin.kernel.BuiltinKernel k : dev.depin.kernel.BuiltinKernel.values()) {
            if (executor.supports(k)) {
                ids.add(k.id());
            }
        }
        if (!"cpu".equals(executor.kind())) {
            ids.add(OfferTerms.PTX);
        }
        return ids;
    }

    /**
     * Accepts one attempt and runs it on the worker pool. Admission checks (kernel,
     * deadline, input sizes and Merkle roots) run on the worker too, so a caller is never
     * held up by hashing.
     *
     * @param request  the attempt
     * @param progress told when the attempt is accepted and when it starts running
     * @return the response; fails with {@link ProviderRejectedException} when the node
     *         refuses the attempt, or with the executor's exception when it fails
     */
    public CompletableFuture<ExecutionResponse> submit(ExecutionRequest request, Consumer<Progress> progress) {
        InvalidArgumentException.requireNonNull(request, "execution request");
        InvalidArgumentException.requireNonNull(progress, "progress listener");
        CompletableFuture<ExecutionResponse> result = new CompletableFuture<>();
        try {
            workers.execute(() -> {
                if (result.isDone()) {
                    return; // cancelled while queued
                }
                try {
                    admit(request);
                    progress.accept(Progress.RUNNING);
                    result.complete(run(request));
                    completed.incrementAndGet();
                } catch (Throwable t) {
                    failed.incrementAndGet();
                    LOG.debug("attempt {}#{} failed on {}: {}", request.jobId(), request.attempt(),
                            nodeId().shortId(), t.toString());
                    result.completeExceptionally(t);
                }
            });
            progress.accept(Progress.ACCEPTED);
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new ProviderRejectedException("provider " + nodeId().shortId()
                    + " is busy (" + workers.getQueue().size() + " attempts queued): try another provider"));
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        }
        return result;
    }

    private void admit(ExecutionRequest request) {
        JobSpec spec = request.spec();
        if (!executor.supports(spec.kernel())) {
            throw new ProviderRejectedException("provider " + nodeId().shortId() + " does not run kernel "
                    + spec.kernel().id() + " on its " + executor.kind() + " executor: pick an offer that lists it");
        }
        if (!clock.instant().isBefore(spec.deadline())) {
            throw new ProviderRejectedException("job " + request.jobId() + " is past its deadline "
                    + spec.deadline() + ": not started");
        }
        Map<String, ByteBuffer> inputs = request.inputs();
        if (inputs.size() != spec.inputs().size()) {
            throw new ProviderRejectedException("request carries inputs " + inputs.keySet() + " but the spec declares "
                    + spec.inputs().stream().map(InputRef::name).toList());
        }
        for (InputRef in : spec.inputs()) {
            ByteBuffer data = inputs.get(in.name());
            if (data == null || data.remaining() != in.bytes()) {
                throw new ProviderRejectedException("input '" + in.name() + "' has "
                        + (data == null ? "no bytes" : data.remaining() + " bytes") + " but the spec declares "
                        + in.bytes() + ": resend the job");
            }
            String root = Hex.encode(Merkle.root(data, JobSpec.MERKLE_CHUNK_BYTES));
            if (!root.equals(in.merkleRoot())) {
                throw new ProviderRejectedException("input '" + in.name() + "' hashes to Merkle root " + root
                        + " but the spec commits to " + in.merkleRoot() + ": the bytes were altered in transit");
            }
        }
    }

    private ExecutionResponse run(ExecutionRequest request) {
        JobSpec spec = request.spec();
        JobWorkspace workspace = new JobWorkspace();
        Envelope receipt;
        Map<String, ByteBuffer> sent = new LinkedHashMap<>();
        ExecutionOutput out;
        try {
            out = executor.execute(spec.kernel(), spec.params(), request.inputs(), workspace);
            ExecutionReceipt.Builder rb = ExecutionReceipt.builder()
                    .jobId(request.jobId()).attempt(request.attempt()).specHash(spec.hash())
                    .kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash())
                    .nonce(Hex.encode(request.nonce())).merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES)
                    .executorKind(executor.kind()).device(receiptDevice())
                    .startedAt(out.startedAt()).endedAt(out.endedAt()).deviceTimeNanos(out.deviceNanos())
                    .assurance(Assurance.signature());
            for (InputRef in : spec.inputs()) {
                // Admission recomputed these roots from the bytes received.
                rb.input(new BufferDigest(in.name(), in.merkleRoot(), in.bytes()));
            }
            List<ByteBuffer> produced = new ArrayList<>();
            for (BufferDecl d : spec.outputs()) {
                ByteBuffer buf = writable(workspace, d.name());
                if (buf == null || buf.remaining() != d.bytes() || !out.outputs().containsKey(d.name())) {
                    throw new ExecutionFailedException("executor " + executor.kind() + " produced no output '"
                            + d.name() + "' of " + d.bytes() + " bytes: executor bug, report it");
                }
                faults.beforeCommit(request.jobId(), d.name(), buf.duplicate());
                rb.output(BufferDigest.of(d.name(), buf, JobSpec.MERKLE_CHUNK_BYTES));
                produced.add(buf);
            }
            receipt = rb.build().sign(key);
            int i = 0;
            for (BufferDecl d : spec.outputs()) {
                // The copy handed to the transport: what the buyer receives.
                ByteBuffer copy = ByteBuffer.allocate((int) d.bytes());
                copy.put(produced.get(i++).duplicate()).flip();
                faults.afterSign(request.jobId(), d.name(), copy.duplicate());
                sent.put(d.name(), copy);
            }
        } catch (RuntimeException e) {
            workspace.wipe(wipePattern());
            throw e;
        }
        Instant wipeStart = clock.instant();
        List<WipeRecord> records = workspace.wipe(wipePattern());
        WipeAttestation.Builder wb = WipeAttestation.builder().receipt(receipt).startedAt(wipeStart)
                .endedAt(clock.instant()).device(receiptDevice());
        records.forEach(wb::buffer);
        Envelope wipe = wb.build().sign(key);
        return new ExecutionResponse(request.jobId(), request.attempt(), nodeId(), executor.kind(), sent,
                out.startedAt(), out.endedAt(), out.deviceNanos(), receipt, wipe);
    }

    /** The workspace buffer an output lives in, as a writable view; the executor returns read-only views. */
    private static ByteBuffer writable(JobWorkspace workspace, String name) {
        for (JobWorkspace.Allocation a : workspace.allocations()) {
            if (a.label().equals(name) && a.array() instanceof byte[] bytes) {
                return ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            }
        }
        return null;
    }

    private static byte wipePattern() {
        byte[] b = new byte[1];
        do {
            PATTERNS.nextBytes(b);
        } while (b[0] == 0);
        return b[0];
    }

    private dev.depin.crypto.ReceiptDevice receiptDevice() {
        DeviceInfo d = executor.device();
        return new dev.depin.crypto.ReceiptDevice(d.model(), d.kind() == DeviceKind.CUDA ? d.units() : null, null, null);
    }

    /** Stops accepting attempts, waits briefly for running ones, and closes the executor. */
    @Override
    public void close() {
        workers.shutdown();
        try {
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
        executor.close();
    }

    @Override
    public String toString() {
        return "ProviderNode[" + nodeId().shortId() + " " + region + " " + executor.kind() + "]";
    }

    /** Builds a {@link ProviderNode}. */
    public static final class Builder {
        private final NodeKeyPair key;
        private final Executor executor;
        private String endpoint;
        private Region region = new Region("US", "");
        private Price price = new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01"));
        private MicroUsd stake = MicroUsd.ofUsd("100");
        private Duration offerTtl = Duration.ofMinutes(5);
        private int workers = 1;
        private int queueCapacity = 256;
        private Clock clock = Clock.systemUTC();
        private FaultInjection faults = new FaultInjection() { };

        private Builder(NodeKeyPair key, Executor executor) {
            this.key = InvalidArgumentException.requireNonNull(key, "provider key");
            this.executor = InvalidArgumentException.requireNonNull(executor, "executor");
        }

        /** Where buyers reach this node; default {@code local:<short id>}. */
        public Builder endpoint(String endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /** Where the hardware is. */
        public Builder region(Region region) {
            this.region = region;
            return this;
        }

        /** What the node charges. */
        public Builder price(Price price) {
            this.price = price;
            return this;
        }

        /** What the node has at stake. */
        public Builder stake(MicroUsd stake) {
            this.stake = stake;
            return this;
        }

        /** How long each signed offer is valid; 1 second to 1 day. */
        public Builder offerTtl(Duration ttl) {
            InvalidArgumentException.requireNonNull(ttl, "offer time to live");
            if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofDays(1)) > 0) {
                throw new InvalidArgumentException("offer time to live " + ttl + " must be between 1 s and 1 day");
            }
            this.offerTtl = ttl;
            return this;
        }

        /** Attempts run at once (1 to 64) and attempts that may wait (1 to 65536). */
        public Builder concurrency(int workers, int queueCapacity) {
            if (workers < 1 || workers > 64 || queueCapacity < 1 || queueCapacity > 65536) {
                throw new InvalidArgumentException("workers " + workers + " and queue capacity " + queueCapacity
                        + " must be in 1..64 and 1..65536");
            }
            this.workers = workers;
            this.queueCapacity = queueCapacity;
            return this;
        }

        /** The clock for offer expiry and deadlines; default UTC system clock. */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Makes this node misbehave on purpose, for adversarial tests and demos only;
         * see {@link FaultInjection}.
         */
        public Builder faultInjection(FaultInjection faults) {
            this.faults = InvalidArgumentException.requireNonNull(faults, "fault injection");
            return this;
        }

        /** @return the node, with its worker pool started */
        public ProviderNode build() {
            return new ProviderNode(this);
        }
    }
}
