package dev.depin.node;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Assurance;
import dev.depin.crypto.BufferDigest;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.ReceiptDevice;
import dev.depin.crypto.ReceiptEnergy;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.ExecutionTiming;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BufferDecl;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ComputeNetwork.Progress;
import dev.depin.network.spi.DrainingSink;
import dev.depin.network.spi.OutputDrain;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OutputSink;
import dev.depin.network.spi.TransportBuffers;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.JobLimits;
import dev.depin.provider.JobTooLargeException;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.ProviderRejectedException;
import dev.depin.provider.Region;
import dev.depin.settlement.HoldCertificate;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A provider: an identity, one executor, a bounded worker pool, and a signed offer that
 * claims exactly the hardware the executor runs on and the kernels it declares.
 *
 * <p>For each attempt it checks the request (kernel offered, deadline not passed, input
 * sizes), opens an {@link ExecutionContext}, streams the inputs into it while recomputing
 * their Merkle roots (its receipt vouches for them, so it never trusts the buyer's), runs
 * the kernel, commits to the outputs (RFC 6962 roots, computed on the device where the
 * executor can), signs an {@link ExecutionReceipt} bound to the buyer's nonce, streams the
 * outputs to the transport's {@link OutputSink}, wipes every buffer of the job (host and
 * device: overwrite with a random non-zero pattern, then verify), and signs a
 * {@link WipeAttestation} whose subject is the receipt. A {@link DrainingSink} takes all the
 * outputs at once and may keep the rest in copies of its own that drain as the buyer reads:
 * the worker then wipes the executor's buffers and takes its next job, and the attestation is
 * signed when the drain is over, with the copies' wipe records in it.
 *
 * <p>Cancellation ({@link NodeAttempt#cancel}) stops a queued attempt before it starts and
 * a running one at its executor's next launch boundary; a cancelled attempt is never
 * counted as completed. {@link #close()} refuses new attempts, fails the queued ones,
 * cancels the running ones, waits for them, and only then closes the executor.
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
    /** Outputs are streamed to the sink in chunks of this size. */
    private static final int SEND_CHUNK = 1 << 20;
    /**
     * Most jobs one signed batch holds by default ({@link Builder#receiptBatching}): a lone job
     * is sealed at once, concurrent jobs share one signature.
     */
    public static final int DEFAULT_RECEIPT_BATCH = 256;
    /**
     * Longest a finished job's statements wait, while attempts are queued behind it or its
     * buyer is behind ({@link ExecutionRequest#BEHIND}), for later jobs to share its batch
     * signature (2 ms); any other job is sealed at once.
     */
    public static final long SEAL_LINGER_NANOS = 2_000_000L;
    /** Inputs at least this large are hashed on several cores after staging. */
    private static final int PARALLEL_HASH_BYTES = 4 << 20;
    /**
     * Buffer bytes (inputs and outputs) from which a job's receipt is released before its wipe
     * ({@link NodeAttempt#receiptBeforeWipe()}): below it the wipe takes microseconds and one
     * signature over both statements (or a batch) is cheaper than a second one. 1 MiB.
     */
    public static final long RECEIPT_FIRST_BYTES = 1L << 20;
    /**
     * Default of {@link Builder#jobLimits} on a heap of 8 GiB or more: output bytes one job may
     * declare (on a smaller heap, a sixteenth of it; {@link JobLimits#forHeap}).
     */
    public static final long DEFAULT_MAX_OUTPUT_BYTES = JobLimits.HEAP_DEFAULT_CAP / 2;
    /**
     * Default of {@link Builder#jobLimits} on a heap of 8 GiB or more: input plus output bytes of
     * one job (on a smaller heap, an eighth of it; {@link JobLimits#forHeap}).
     */
    public static final long DEFAULT_MAX_JOB_BYTES = JobLimits.HEAP_DEFAULT_CAP;

    private final NodeKeyPair key;
    private final DeviceExecutor executor;
    /** Where buyers reach this node, as its offers state it; a transport may set it once it listens. */
    private volatile String endpoint;
    private final Region region;
    private final Price price;
    private final MicroUsd stake;
    /** What the node promises in its offers, or null for no SLA. */
    private final dev.depin.provider.SlaTerms sla;
    private final Duration offerTtl;
    /**
     * Half the offer's time to live: an offer closer than this to its expiry is renewed. Kept
     * because {@code Duration.dividedBy} divides a {@code BigDecimal}, and every job's offer
     * query asks (5 % of a small job's bytes allocated).
     */
    private final Duration renewWithin;
    private final Clock clock;
    /** The ledger whose hold certificates this node requires, or null on an open network. */
    private final dev.depin.crypto.NodePublicKey requiredLedger;
    private final SpentHolds spentHolds = new SpentHolds();
    /** Batch roots of v2 hold certificates already checked: one signature check per batch. */
    private final dev.depin.settlement.VerifiedRoots verifiedRoots =
            new dev.depin.settlement.VerifiedRoots(dev.depin.settlement.VerifiedRoots.DEFAULT_CAPACITY);
    private final ThreadPoolExecutor workers;
    /**
     * One permit per worker, held while an attempt runs, by a worker or by the thread that
     * waits for it ({@link Task#runHere()}): the node runs at most {@code workers} attempts at
     * once, whichever threads run them.
     */
    private final java.util.concurrent.Semaphore slots;
    private final JobLimits limits;
    private final Set<Task> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Attempts whose worker moved on while the transport still sends their outputs. */
    private final Set<Task> draining = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Set<String> kernels;
    /** Signs the statements of many jobs at once; null when every job is signed on its own. */
    private final dev.depin.crypto.BatchSigner batches;
    private final java.util.concurrent.ScheduledExecutorService sealer;
    /** Hashes large inputs and outputs on several cores; owned by the node, closed with it. */
    private final dev.depin.crypto.Parallelism hashing;
    private final AtomicBoolean sealScheduled = new AtomicBoolean();
    /** {@link #SEAL_LINGER_NANOS}, or a test's own. */
    private final long sealLingerNanos;
    private final NodeMeters meters;
    /** Each attempt's energy, for its receipt and the meters alike; null without a power source. */
    private final EnergyMeter energyMeter;
    /** Inputs kept by root for their senders' next jobs; null when the node keeps none. */
    private final InputCache inputCache;
    private final java.util.concurrent.ScheduledExecutorService cacheSweeper;
    /** Told of each completed attempt that came with a hold certificate; null when nobody listens. */
    private final java.util.function.Consumer<PaidAttempt> onPaid;
    private volatile ProviderOffer offer;

    private ProviderNode(Builder b) {
        this.key = b.key;
        this.executor = b.executor;
        this.endpoint = b.endpoint == null ? "local:" + key.nodeId().shortId() : b.endpoint;
        this.region = InvalidArgumentException.requireNonNull(b.region, "provider region");
        this.price = InvalidArgumentException.requireNonNull(b.price, "provider price");
        this.onPaid = b.onPaid;
        this.stake = InvalidArgumentException.requireNonNull(b.stake, "provider stake");
        this.sla = b.sla;
        this.offerTtl = b.offerTtl;
        this.renewWithin = b.offerTtl.dividedBy(2);
        this.clock = b.clock;
        this.requiredLedger = b.requiredLedger;
        this.kernels = Set.copyOf(executor.offeredKernels());
        this.limits = b.limits;
        // Validates the terms once, so a bad builder fails here rather than on first offer().
        new OfferTerms(endpoint, List.of(executor.device()), region, kernels, price, stake,
                clock.instant().plus(offerTtl), sla);
        this.sealLingerNanos = b.sealLingerNanos;
        if (b.batchJobs > 0) {
            this.batches = new dev.depin.crypto.BatchSigner(key, b.batchJobs, clock);
            this.sealer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "depin-provider-" + key.nodeId().shortId() + "-sealer");
                t.setDaemon(true);
                return t;
            });
        } else {
            this.batches = null;
            this.sealer = null;
        }
        int cores = Runtime.getRuntime().availableProcessors();
        this.hashing = cores > 1 ? dev.depin.crypto.Parallelism.newPool(Math.min(cores, 64))
                : dev.depin.crypto.Parallelism.callerThread();
        String name = "depin-provider-" + key.nodeId().shortId() + "-";
        AtomicInteger n = new AtomicInteger();
        this.slots = new java.util.concurrent.Semaphore(b.workers);
        this.workers = new ThreadPoolExecutor(b.workers, b.workers, 0, TimeUnit.MILLISECONDS,
                new FairQueue<>(b.queueCapacity, r -> ((Task) r).peer), r -> {
                    Thread t = new Thread(r, name + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        if (b.cacheLimits != null) {
            this.inputCache = new InputCache(b.cacheLimits, clock, hashing);
            this.cacheSweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "depin-provider-" + key.nodeId().shortId() + "-cache-expiry");
                t.setDaemon(true);
                return t;
            });
            long every = Math.max(1000, Math.min(30_000, b.cacheLimits.idleTtl().toMillis() / 4));
            cacheSweeper.scheduleWithFixedDelay(() -> {
                try {
                    inputCache.expireIdle();
                } catch (RuntimeException e) {
                    LOG.warn("input cache expiry failed: {}", e.toString());
                }
            }, every, every, TimeUnit.MILLISECONDS);
        } else {
            this.inputCache = null;
            this.cacheSweeper = null;
        }
        this.energyMeter = b.watts == null ? null : new EnergyMeter(b.watts, "measured".equals(b.energySource), b.clock);
        this.meters = b.registry == null ? NodeMeters.NONE : new NodeMeters(b.registry, key.nodeId().shortId(), price,
                new AtomicLong[] {completed, failed, cancelled}, () -> workers.getQueue().size(), running::size,
                b.watts != null ? b.energySource : null, sla, b.clock);
        if (b.registry != null && inputCache != null) {
            NodeMeters.cache(b.registry, key.nodeId().shortId(), inputCache);
        }
        LOG.info("provider node {} started: {} executor on {} ({} worker(s), queue {} shared fairly between buyers), "
                        + "kernels {}, region {}, jobs of at most {} output bytes and {} bytes in all",
                key.nodeId().shortId(), executor.kind(), executor.device().model(), b.workers, b.queueCapacity,
                kernels, region, limits.maxOutputBytes(), limits.maxJobBytes());
        if (inputCache != null) {
            LOG.info("provider node {} keeps inputs by root for their senders: {}", key.nodeId().shortId(),
                    inputCache.limits());
        }
    }

    /**
     * @return the node's input cache, or empty when it keeps no inputs between jobs
     *         ({@link Builder#inputCache})
     */
    public Optional<InputCache> inputCache() {
        return Optional.ofNullable(inputCache);
    }

    /**
     * Starts building a provider.
     *
     * @param key      the provider's identity; it signs offers and receipts
     * @param executor the executor it runs jobs on; the node closes it
     * @return a builder
     */
    public static Builder builder(NodeKeyPair key, DeviceExecutor executor) {
        return new Builder(key, executor);
    }

    /** @return the provider's node id */
    public NodeId nodeId() {
        return key.nodeId();
    }

    /** @return the executor this node runs on */
    public DeviceExecutor executor() {
        return executor;
    }

    /** @return attempts completed successfully by this node */
    public long completedCount() {
        return completed.get();
    }

    /** @return attempts this node failed or refused */
    public long failedCount() {
        return failed.get();
    }

    /** @return attempts stopped by a cancel before they completed */
    public long cancelledCount() {
        return cancelled.get();
    }

    /** @return finished jobs whose statements wait for their batch signature (tests) */
    int pendingSeals() {
        return batches == null ? 0 : batches.pending();
    }

    /** @return attempts queued or running right now */
    public int busy() {
        return workers.getQueue().size() + running.size();
    }

    /** @return the most output bytes one job may declare on this node */
    public long maxOutputBytes() {
        return limits.maxOutputBytes();
    }

    /**
     * @return the most bytes one job may hold on this node: its inputs and outputs together,
     *         which is what an execution context allocates for it
     */
    public long maxJobBytes() {
        return limits.maxJobBytes();
    }

    /**
     * Checks, before anything is received or run, whether this node takes a job: open, the
     * kernel offered, the deadline not passed, the declared outputs and the job's working
     * memory (inputs plus outputs) within this node's limits. A transport calls this when a
     * job is announced, so a job that would be refused costs no input bytes; {@link #submit}
     * checks the same again on the worker.
     *
     * @param spec the job
     * @throws ProviderRejectedException with what was too large, or why else the node refuses
     * @throws InvalidArgumentException on null
     */
    public void admit(JobSpec spec) {
        InvalidArgumentException.requireNonNull(spec, "job spec");
        if (closed.get()) {
            throw new ProviderRejectedException("provider " + nodeId().shortId() + " is closed: try another");
        }
        if (!executor.supports(spec.kernel())) {
            throw new ProviderRejectedException("provider " + nodeId().shortId() + " does not run kernel "
                    + spec.kernel().id() + " on its " + executor.kind() + " executor: pick an offer that lists it");
        }
        if (!clock.instant().isBefore(spec.deadline())) {
            throw new ProviderRejectedException("job is past its deadline " + spec.deadline() + ": not started");
        }
        long out = 0;
        for (BufferDecl d : spec.outputs()) {
            out = saturatedAdd(out, d.bytes());
        }
        if (out > limits.maxOutputBytes()) {
            throw new JobTooLargeException("job declares " + out + " output bytes; provider " + nodeId().shortId()
                    + " returns at most " + limits.maxOutputBytes() + " per job: split the job or pick a provider that "
                    + "takes larger ones");
        }
        long in = 0;
        for (InputRef i : spec.inputs()) {
            in = saturatedAdd(in, i.bytes());
        }
        long total = saturatedAdd(in, out);
        if (total > limits.maxJobBytes()) {
            throw new JobTooLargeException("job needs " + total + " bytes of working memory (" + in + " input + "
                    + out + " output); provider " + nodeId().shortId() + " gives one job at most "
                    + limits.maxJobBytes()
                    + ": split the job or pick a provider that takes larger ones");
        }
    }

    /**
     * {@link #admit(JobSpec)}, and on a node that requires hold certificates, the request's
     * certificate: a transport calls this when a job is announced, so an unpaid job is refused
     * before any of its input bytes are held.
     *
     * @param request the announced attempt (its inputs may still be missing)
     * @throws ProviderRejectedException as {@link #admit(JobSpec)}, or when the job's money is not held
     * @throws InvalidArgumentException on null
     */
    public void admit(ExecutionRequest request) {
        InvalidArgumentException.requireNonNull(request, "execution request");
        Optional<String> unpaid = admissionRefusal(request);
        if (unpaid.isPresent()) {
            throw new ProviderRejectedException(unpaid.get());
        }
        admit(request.spec());
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    /** @return where buyers reach this node, as its offers state it (a URI such as {@code depin://host:port}) */
    public String endpoint() {
        return endpoint;
    }

    /**
     * Sets where buyers reach this node, for a transport that learns its address only once it
     * listens (a server on port 0 learns its port after binding): the next {@link #offer()} is
     * signed with it.
     *
     * @param uri a URI such as {@code depin://10.0.0.5:7400}, as {@link OfferTerms} requires
     * @throws InvalidArgumentException if it is not one
     */
    public void advertise(String uri) {
        // Validates it as the terms will, so that a bad address fails here and not at the next offer().
        new OfferTerms(uri, List.of(executor.device()), region, kernels, price, stake, clock.instant().plus(offerTtl),
                sla);
        synchronized (this) {
            endpoint = uri;
        }
    }

    /**
     * The node's current signed offer; re-signed with a fresh expiry once less than half
     * of its time to live is left, and at once after {@link #advertise}.
     *
     * @return the offer
     */
    public ProviderOffer offer() {
        ProviderOffer current = offer;
        if (stale(current)) {
            synchronized (this) {
                current = offer;
                if (stale(current)) {
                    current = ProviderOffer.sign(key, new OfferTerms(endpoint, List.of(executor.device()), region,
                            kernels, price, stake, clock.instant().plus(offerTtl), sla,
                            inputCache == null ? 0 : inputCache.limits().maxBytes(), limits, holdTerms()));
                    offer = current;
                }
            }
        }
        return current;
    }

    /**
     * What the input cache holds, as the offer states it: its idle time to live is the longest
     * hold it accepts (see the leave-outputs check in {@code execute}), its per-peer share what one
     * buyer may keep. None without a cache.
     */
    private dev.depin.provider.HoldTerms holdTerms() {
        if (inputCache == null) {
            return null;
        }
        InputCache.Limits l = inputCache.limits();
        return new dev.depin.provider.HoldTerms(l.idleTtl(), l.maxEntries(), l.maxBytesPerPeer(),
                l.maxEntriesPerPeer());
    }

    private boolean stale(ProviderOffer current) {
        return current == null || !current.terms().endpoint().equals(endpoint)
                || clock.instant().plus(renewWithin).isAfter(current.terms().validUntil());
    }

    /**
     * Accepts one attempt into the bounded queue. Admission checks and input hashing run
     * on the worker, so a caller (a transport's I/O thread) is never held up.
     *
     * @param request  the attempt
     * @param progress told when the attempt is accepted and when it starts running; called on
     *                 the caller's thread or a worker, must not block
     * @param sink     where the outputs are streamed, after the receipt is signed and before
     *                 the wipe
     * @return the attempt; its result fails with {@link ProviderRejectedException} when the
     *         node refuses it (busy, closed, kernel not offered, bad inputs)
     * @throws InvalidArgumentException on nulls
     */
    public NodeAttempt submit(ExecutionRequest request, Consumer<Progress> progress, OutputSink sink) {
        return submit(request, progress, sink, TransportBuffers.NONE);
    }

    /**
     * Accepts one attempt whose transport holds buffers of its own (the bytes the inputs
     * arrived in): they are wiped after the executor's buffers, and their records are part
     * of the signed wipe attestation.
     *
     * @param request   the attempt
     * @param progress  told when the attempt is accepted and when it starts running; called
     *                  on the caller's thread or a worker, must not block
     * @param sink      where the outputs are streamed, after the receipt is signed and
     *                  before the wipe
     * @param transport the transport's buffers of this attempt, wiped on a worker after the
     *                  outputs were sent
     * @return the attempt, as {@link #submit(ExecutionRequest, Consumer, OutputSink)}
     * @throws InvalidArgumentException on nulls
     */
    public NodeAttempt submit(ExecutionRequest request, Consumer<Progress> progress, OutputSink sink,
                              TransportBuffers transport) {
        return submit(request, progress, sink, transport, "");
    }

    /**
     * Accepts one attempt on behalf of a buyer the transport authenticated. The queue is
     * shared fairly: waiting attempts are taken from each buyer in turn, so one buyer's
     * backlog delays another's jobs by at most one of its own per turn.
     *
     * @param request   the attempt
     * @param progress  as {@link #submit(ExecutionRequest, Consumer, OutputSink, TransportBuffers)}
     * @param sink      as {@link #submit(ExecutionRequest, Consumer, OutputSink, TransportBuffers)}
     * @param transport as {@link #submit(ExecutionRequest, Consumer, OutputSink, TransportBuffers)}
     * @param buyer     who asks (e.g. the hex of its authenticated key); attempts of one buyer
     *                  queue behind each other, not behind other buyers'
     * @return the attempt, as {@link #submit(ExecutionRequest, Consumer, OutputSink)}
     * @throws InvalidArgumentException on nulls
     */
    public NodeAttempt submit(ExecutionRequest request, Consumer<Progress> progress, OutputSink sink,
                              TransportBuffers transport, String buyer) {
        return submit(request, progress, sink, transport, buyer, InputCaching.NONE);
    }

    /**
     * Accepts one attempt whose inputs may come from, or go to, the node's {@link InputCache}.
     * The request's inputs and {@code caching.cached()} together must name every declared
     * input once; cached ones are staged from the cache (their roots were checked when they
     * were inserted), and with {@code caching.keep()} the others are copied into the cache
     * for this buyer and checked there (a copy whose root does not match is wiped and the
     * attempt refused). The node closes the leases in every case.
     *
     * @param request   the attempt; its inputs are those the buyer sent
     * @param progress  as {@link #submit(ExecutionRequest, Consumer, OutputSink, TransportBuffers)}
     * @param sink      as {@link #submit(ExecutionRequest, Consumer, OutputSink, TransportBuffers)}
     * @param transport as {@link #submit(ExecutionRequest, Consumer, OutputSink, TransportBuffers)}
     * @param buyer     who asks: the key cache entries belong to
     * @param caching   what comes from the cache and whether the buyer lets the node keep inputs
     * @return the attempt, as {@link #submit(ExecutionRequest, Consumer, OutputSink)}
     * @throws InvalidArgumentException on nulls
     */
    public NodeAttempt submit(ExecutionRequest request, Consumer<Progress> progress, OutputSink sink,
                              TransportBuffers transport, String buyer, InputCaching caching) {
        if (caching == null || buyer == null || request == null || progress == null || sink == null
                || transport == null) {
            if (caching != null) {
                caching.release();
            }
            InvalidArgumentException.requireNonNull(caching, "input caching");
        }
        InvalidArgumentException.requireNonNull(buyer, "buyer");
        InvalidArgumentException.requireNonNull(request, "execution request");
        InvalidArgumentException.requireNonNull(progress, "progress listener");
        InvalidArgumentException.requireNonNull(sink, "output sink");
        InvalidArgumentException.requireNonNull(transport, "transport buffers");
        Task task = new Task(request, progress, sink, transport, buyer, caching);
        Optional<String> unpaid = admissionRefusal(request, true);
        if (unpaid.isPresent()) {
            task.refuse(new ProviderRejectedException(unpaid.get()));
            return task;
        }
        if (closed.get()) {
            meters.error("closed");
            task.refuse(new ProviderRejectedException("provider " + nodeId().shortId() + " is closed: try another"));
            return task;
        }
        try {
            workers.execute(task);
        } catch (RejectedExecutionException e) {
            meters.error(closed.get() ? "closed" : "busy");
            task.refuse(new ProviderRejectedException("provider " + nodeId().shortId() + " is "
                    + (closed.get() ? "closed" : "busy (" + workers.getQueue().size() + " attempts queued)")
                    + ": try another provider"));
            return task;
        }
        task.accepted();
        return task;
    }

    /**
     * The admission check of a private network: on a node built with
     * {@link Builder#requireHoldCertificates}, a job runs only with a valid certificate from that
     * ledger for exactly its spec and this node as payee. {@link #submit} checks it before the
     * job takes a queue slot (one signature check; for a v2 certificate an audit path, and its
     * batch root's signature once per batch), so unpaid work costs the node nothing else;
     * a transport may check it earlier, before it receives the inputs. A certificate pays for
     * one attempt: {@link #submit} spends it, and any later attempt that sends it again (a
     * replay, by the buyer or anyone who saw it) is refused until it expires.
     *
     * @param request the attempt (its inputs are not looked at)
     * @return why the request is refused, or empty to admit it
     * @throws InvalidArgumentException if {@code request} is null
     */
    public Optional<String> admissionRefusal(ExecutionRequest request) {
        InvalidArgumentException.requireNonNull(request, "execution request");
        return admissionRefusal(request, false);
    }

    /**
     * @param spend whether an admitted certificate is spent now (by {@link #submit}, once the
     *              attempt is about to take a queue slot); a transport's early check only looks
     */
    private Optional<String> admissionRefusal(ExecutionRequest request, boolean spend) {
        if (requiredLedger == null) {
            return Optional.empty();
        }
        if (request.holdCertificate().isEmpty()) {
            return Optional.of("provider " + nodeId().shortId() + " runs only jobs whose money is held: send the hold certificate "
                    + "of ledger " + requiredLedger.nodeId().shortId() + " with job " + request.jobId());
        }
        HoldCertificate c = request.holdCertificate().get();
        Instant now = clock.instant();
        try {
            c.verify(requiredLedger, nodeId(), request.spec().hash(), price, now, verifiedRoots);
        } catch (dev.depin.crypto.VerificationException e) {
            return Optional.of("provider " + nodeId().shortId() + " refuses job " + request.jobId() + ": "
                    + e.getMessage());
        }
        String by = "job " + request.jobId() + " attempt " + request.attempt();
        Optional<String> earlier = spend ? spentHolds.spend(c, by, now) : spentHolds.spentBy(c);
        return earlier.map(e -> "provider " + nodeId().shortId() + " refuses " + by + ": hold certificate "
                + c.hold() + " was already spent by " + e + "; a certificate pays for one attempt, so hold the "
                + "money again for this one");
    }

    /**
     * Group commit for signatures. A job with nothing queued behind it, whose buyer is not
     * behind, is sealed at once on its worker, with whatever else is pending: a lone job waits
     * for nothing (the hand-off to the sealer would only add a thread wake-up to its latency).
     * A job with attempts queued behind it waits for them to share its signature: the next
     * worker to find the queue empty seals them all. So does a job whose buyer said it had
     * {@link ExecutionRequest#BEHIND} or more results waiting for its verifier: that buyer is
     * the slower side, the node's queue is empty between its jobs, and the signature it will
     * check once for several jobs costs it less than the wait; the first job of a buyer that
     * has caught up seals them. The sealer seals whatever is pending {@link #SEAL_LINGER_NANOS}
     * after the first such job at the latest, so a job never waits longer than that for its
     * signature, whatever runs behind it. Under load each batch then holds the jobs of a linger
     * (one signature by the node, one verification by each buyer) instead of the one or two
     * that finished while the previous signature was being made.
     *
     * @param resultsQueued what the finished job's buyer said was waiting for its verifier
     */
    private void requestSeal(int resultsQueued) {
        if (sealsAtOnce(workers.getQueue().isEmpty(), resultsQueued)) {
            batches.seal();
            return;
        }
        if (sealScheduled.compareAndSet(false, true)) {
            try {
                sealer.schedule(() -> {
                    sealScheduled.set(false);
                    batches.seal();
                }, sealLingerNanos, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                sealScheduled.set(false);
                batches.seal(); // closing: seal on this thread rather than strand the job
            }
        }
    }

    /**
     * @param queueEmpty    whether no attempt waits for a worker
     * @param resultsQueued the finished job's buyer's results waiting for its verifier
     * @return whether the finished job is sealed now, with whatever is pending
     */
    static boolean sealsAtOnce(boolean queueEmpty, int resultsQueued) {
        return queueEmpty && resultsQueued < ExecutionRequest.BEHIND;
    }

    private static void safe(Consumer<Progress> progress, Progress p) {
        try {
            progress.accept(p);
        } catch (RuntimeException e) {
            LOG.debug("progress listener threw {}; ignoring it", e.toString());
        }
    }

    /** One attempt on this node, from the queue to release. */
    private final class Task implements Runnable, NodeAttempt {
        private final ExecutionRequest request;
        private final Consumer<Progress> progress;
        private final OutputSink sink;
        private final TransportBuffers transport;
        private final String peer;
        private final InputCaching caching;
        /** Inputs the cache holds for the peer after staging (written by the worker before the result). */
        private final Set<String> kept = java.util.concurrent.ConcurrentHashMap.newKeySet();
        /** Outputs the cache holds for the peer (written by the worker before the result). */
        private final Set<String> keptOutputs = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final CompletableFuture<NodeResult> result = new CompletableFuture<>();
        /** The receipt signed before the wipe, or null once the result came without one (see {@link #receiptBeforeWipe}). */
        private final CompletableFuture<Envelope> receiptFirst = new CompletableFuture<>();
        private final CompletableFuture<Void> released = new CompletableFuture<>();
        private final long arrived = System.nanoTime();
        private volatile boolean cancelRequested;
        private volatile ExecutionContext context;
        /** The energy signed in this attempt's receipt, or null (written by the worker before the result). */
        private volatile ReceiptEnergy energy;
        /** The transport sending the rest of the outputs after the worker moved on, or null. */
        private volatile OutputDrain drain;
        private boolean acceptedSent;

        Task(ExecutionRequest request, Consumer<Progress> progress, OutputSink sink, TransportBuffers transport,
             String peer, InputCaching caching) {
            this.peer = peer;
            this.caching = caching;
            this.request = request;
            this.progress = progress;
            this.sink = sink;
            this.transport = transport;
            // Whatever ends the attempt, a receipt not released early is not coming.
            result.whenComplete((r, t) -> receiptFirst.complete(null));
        }

        /**
         * Reports ACCEPTED once, from whichever thread gets here first: the submitter after
         * queueing, or the worker before RUNNING (it may start the task before the submitter
         * returns), so ACCEPTED always precedes RUNNING.
         */
        synchronized void accepted() {
            if (!acceptedSent) {
                acceptedSent = true;
                safe(progress, Progress.ACCEPTED);
            }
        }

        /** Tells the listener of a completed attempt that a hold pays for (a claimer), on this thread. */
        private void paid(NodeResult done) {
            if (onPaid == null || request.holdCertificate().isEmpty()) {
                return;
            }
            try {
                // What the buyer's engine posts and the settlement service allows a claim: the charge
                // at this node's price, bounded by the hold and by the price its certificate names.
                HoldCertificate c = request.holdCertificate().get();
                long bytes = request.spec().bytesMoved();
                MicroUsd charge = dev.depin.settlement.Escrow.payable(price, done.deviceNanos(), bytes, c.amount());
                if (c.price().isPresent()) {
                    MicroUsd bound = dev.depin.settlement.Escrow.payable(c.price().get(), done.deviceNanos(), bytes,
                            c.amount());
                    charge = bound.micros() < charge.micros() ? bound : charge;
                }
                onPaid.accept(new PaidAttempt(c, done, charge));
            } catch (RuntimeException e) {
                LOG.warn("the paid-attempt listener failed for attempt {}#{}: {}", request.jobId(), request.attempt(),
                        e.toString());
            }
        }

        private void ended(String outcome, long deviceNanos) {
            try {
                meters.ended(request.spec(), outcome, System.nanoTime() - arrived, deviceNanos, energy);
            } catch (RuntimeException e) {
                LOG.debug("metrics for attempt {}#{} not recorded: {}", request.jobId(), request.attempt(), e.toString());
            }
        }

        @Override
        public Set<String> inputsKept() {
            return Set.copyOf(kept);
        }

        @Override
        public Set<String> outputsKept() {
            return Set.copyOf(keptOutputs);
        }

        void refuse(DepinException e) {
            caching.release();
            failed.incrementAndGet();
            result.completeExceptionally(e);
            released.complete(null);
        }

        @Override
        public CompletableFuture<NodeResult> result() {
            return result;
        }

        @Override
        public CompletableFuture<Void> released() {
            return released;
        }

        @Override
        public CompletableFuture<Envelope> receiptBeforeWipe() {
            return receiptFirst;
        }

        @Override
        public void cancel(String reason) {
            cancelRequested = true;
            ExecutionContext ctx = context;
            if (ctx != null) {
                ctx.cancel();
            }
            OutputDrain d = drain;
            if (d != null) {
                d.cancel(reason);
            }
            if (workers.remove(this)) {
                // Never started: nothing runs, so it is released now.
                caching.release();
                cancelled.incrementAndGet();
                ended("cancelled", 0);
                result.completeExceptionally(new ExecutionCancelledException("attempt " + request.jobId() + "#"
                        + request.attempt() + " cancelled before it started: " + reason));
                released.complete(null);
            }
        }

        @Override
        public void run() {
            slots.acquireUninterruptibly(); // free unless a waiting thread runs an attempt here
            try {
                runNow();
            } finally {
                slots.release();
            }
        }

        /**
         * Runs the attempt on the calling thread if no worker has taken it yet and the node has
         * a free slot (the thread that would otherwise wait for it: no hand-off to a worker and
         * back). The worker woken for it then finds nothing to do.
         */
        @Override
        public boolean runHere() {
            if (closed.get() || Thread.currentThread().isInterrupted() || !slots.tryAcquire()) {
                return false;
            }
            try {
                if (!workers.remove(this)) {
                    return false; // a worker has it, or it was cancelled
                }
                runNow();
                return true;
            } finally {
                slots.release();
            }
        }

        private void runNow() {
            running.add(this);
            try {
                if (cancelRequested || closed.get()) {
                    cancelled.incrementAndGet();
                    ended("cancelled", 0);
                    result.completeExceptionally(new ExecutionCancelledException("attempt " + request.jobId() + "#"
                            + request.attempt() + " cancelled before it started"));
                    return;
                }
                CompletableFuture<NodeResult> r = execute(this);
                if (r.isDone()) {
                    NodeResult done = r.join();
                    // Counted before the result completes, as below: the response to the buyer
                    // runs inside complete() and must see the count.
                    completed.incrementAndGet();
                    if (result.complete(done)) {
                        ended("completed", done.deviceNanos());
                        paid(done);
                    } else {
                        completed.decrementAndGet();
                    }
                } else {
                    // Batched, or outputs still draining: the job's work is done and the executor's
                    // buffers are wiped; its signature comes with the batch or after the drain. The
                    // worker moves on, so concurrent jobs share one signature.
                    r.whenComplete((ok, t) -> {
                        if (t != null) {
                            Throwable cause = t instanceof java.util.concurrent.CompletionException
                                    && t.getCause() != null ? t.getCause() : t;
                            if (cause instanceof ExecutionCancelledException) {
                                cancelled.incrementAndGet();
                                ended("cancelled", 0);
                            } else {
                                failed.incrementAndGet();
                                meters.error("failed");
                                ended("failed", 0);
                            }
                            result.completeExceptionally(cause);
                        } else {
                            // Counted before the result completes: its dependents (the response to
                            // the buyer) run inside complete(), and must see the count; undone if
                            // the attempt was cancelled meanwhile.
                            completed.incrementAndGet();
                            if (!result.complete(ok)) {
                                completed.decrementAndGet();
                            } else {
                                ended("completed", ok.deviceNanos());
                                paid(ok);
                            }
                        }
                    });
                }
            } catch (ExecutionCancelledException e) {
                cancelled.incrementAndGet();
                ended("cancelled", 0);
                result.completeExceptionally(e);
            } catch (Throwable t) {
                failed.incrementAndGet();
                meters.error(t instanceof ProviderRejectedException ? "refused" : "failed");
                ended("failed", 0);
                LOG.debug("attempt {}#{} failed on {}: {}", request.jobId(), request.attempt(), nodeId().shortId(),
                        t.toString());
                result.completeExceptionally(t instanceof DepinException ? t
                        : new ExecutionFailedException("provider " + nodeId().shortId() + " failed: " + t, t));
            } finally {
                caching.release();
                context = null;
                running.remove(this);
                released.complete(null);
            }
        }
    }

    private CompletableFuture<NodeResult> execute(Task task) {
        ExecutionRequest request = task.request;
        JobSpec spec = request.spec();
        admit(spec);
        Map<String, ByteBuffer> inputs = request.inputs();
        Map<String, InputCache.Lease> cached = task.caching.cached();
        int covered = 0;
        for (InputRef in : spec.inputs()) {
            InputCache.Lease lease = cached.get(in.name());
            if (lease != null && (inputCache == null || lease.cache() != inputCache || !lease.matches(task.peer, in))) {
                throw new ProviderRejectedException("input '" + in.name() + "' was taken from a cache entry that is "
                        + "not this node's entry of that root for this buyer: transport bug, report it");
            }
            covered += (inputs.containsKey(in.name()) ? 1 : 0) + (lease != null ? 1 : 0);
        }
        if (covered != spec.inputs().size() || inputs.size() + cached.size() != spec.inputs().size()) {
            throw new ProviderRejectedException("request carries inputs " + inputs.keySet()
                    + (cached.isEmpty() ? "" : " and cached inputs " + cached.keySet()) + " but the spec declares "
                    + spec.inputs().stream().map(InputRef::name).toList());
        }
        java.time.Duration leave = request.delivery().leaveOutputsFor();
        if (leave != null) {
            if (inputCache == null) {
                throw new ProviderRejectedException("provider " + nodeId().shortId() + " keeps no data between jobs "
                        + "(no input cache), so it cannot hold this job's outputs: choose a provider whose offer "
                        + "states inputCacheBytes, or return the outputs");
            }
            if (leave.compareTo(inputCache.limits().idleTtl()) > 0) {
                throw new ProviderRejectedException("provider " + nodeId().shortId() + " holds outputs for at most "
                        + inputCache.limits().idleTtl() + ", not " + leave + ": ask leaveOutputsOnNode(ttl) with "
                        + "ttl <= " + inputCache.limits().idleTtl() + ", or choose another provider");
            }
            // Before the kernel runs: a job whose outputs cannot be kept is not computed for nothing.
            String noRoom = inputCache.holdRefusal(task.peer,
                    spec.outputs().stream().mapToLong(BufferDecl::bytes).toArray());
            if (noRoom != null) {
                throw new ProviderRejectedException("provider " + nodeId().shortId() + " cannot hold this job's "
                        + "outputs for " + leave + ": it " + noRoom + "; return the outputs, leave fewer, or try "
                        + "again once held outputs have expired");
            }
        }
        // Outputs handed over by the context that the cache did not take: wiped with the job, or
        // in the finally below if the attempt fails before its wipe.
        Map<String, byte[]> handedOver = new java.util.LinkedHashMap<>();
        try (ExecutionContext ctx = executor.open(spec.kernel(), spec.params())) {
            task.context = ctx;
            if (task.cancelRequested) {
                ctx.cancel();
            }
            // Buffers that are the cache's entries (inputs read in place, outputs it took over).
            List<WipeRecord> inCache = new ArrayList<>();
            for (InputRef in : spec.inputs()) {
                InputCache.Lease lease = cached.get(in.name());
                if (lease != null && task.caching.inPlace() && ctx.readInPlace(in.name(), lease.view())) {
                    // The kernel reads the cache entry where it lies (read-only): no copy to make or
                    // wipe. Its lease is held until the attempt ends (the finally below), so the entry
                    // is not evicted, nor wiped, while the context can still read it.
                    task.kept.add(in.name());
                    inCache.add(new WipeRecord(WipeRecord.HOST, in.name(), in.bytes(), 0, 0,
                            WipeRecord.CACHE_IN_PLACE, in.merkleRoot()));
                    continue;
                }
                stageInput(task, in, inputs.get(in.name()), lease, ctx.input(in.name()));
                if (lease != null) {
                    lease.close(); // staged: the executor has its own copy
                }
            }
            if (inCache.isEmpty()) {
                task.caching.release(); // staged: the executor has its own copies
            }
            task.accepted();
            safe(task.progress, Progress.RUNNING);
            // The energy is measured around the kernel: begun just before, ended (always) just after.
            EnergyMeter.Span span = energyMeter == null ? null : energyMeter.begin();
            ExecutionTiming timing;
            boolean metered = energyMeter == null;
            try {
                ctx.run();
                timing = ctx.timing();
                if (!metered) {
                    metered = true;
                    task.energy = plausible(energyMeter.end(span, timing.deviceNanos()), timing);
                }
            } finally {
                if (!metered) {
                    energyMeter.end(span, 0);
                }
            }
            ReceiptDevice device = receiptDevice();
            ExecutionReceipt.Builder rb = ExecutionReceipt.builder()
                    .jobId(request.jobId()).attempt(request.attempt()).specHash(spec.hash())
                    .kernelId(spec.kernel().id()).kernelHash(spec.kernel().codeHash())
                    .nonce(Hex.encode(request.nonce())).merkleChunkBytes(JobSpec.MERKLE_CHUNK_BYTES)
                    .executorKind(executor.kind()).device(device)
                    .startedAt(timing.startedAt()).endedAt(timing.endedAt()).deviceTimeNanos(timing.deviceNanos())
                    .assurance(Assurance.signature()).energy(task.energy);
            for (InputRef in : spec.inputs()) {
                // stage() recomputed these roots from the bytes received.
                rb.input(new BufferDigest(in.name(), in.merkleRoot(), in.bytes()));
            }
            for (BufferDecl d : spec.outputs()) {
                ByteBuffer out = ctx.output(d.name());
                if (out.remaining() != d.bytes()) {
                    throw new ExecutionFailedException("executor " + executor.kind() + " produced " + out.remaining()
                            + " bytes for output '" + d.name() + "', not " + d.bytes() + ": executor bug, report it");
                }
                // The executor's tree of the output, built as the kernel finished its blocks (the
                // CPU SGEMM's rows), its last leaves hashed now on the pool; else its root computed
                // where the output lives (a device); else the node hashes the bytes here.
                Optional<MerkleTree> built = ctx.outputTree(d.name(), hashing);
                Optional<byte[]> computed = built.isPresent() ? built.map(MerkleTree::root)
                        : ctx.outputRoot(d.name());
                // An output left here is read later in chunks with their proofs: its tree, built
                // once, gives the root and those proofs, so no byte is hashed twice.
                MerkleTree tree = built.orElseGet(() -> computed.isEmpty() && leave != null
                        ? MerkleTree.of(out, JobSpec.MERKLE_CHUNK_BYTES, hashing) : null);
                byte[] root = computed.orElseGet(() -> tree != null ? tree.root()
                        : Merkle.root(out, JobSpec.MERKLE_CHUNK_BYTES, hashing));
                rb.output(new BufferDigest(d.name(), Hex.encode(root), d.bytes()));
                if (leave != null) {
                    // Left here instead of sent: held by the root the receipt commits to, for its time to live.
                    InputRef ref = new InputRef(d.name(), d.bytes(), Hex.encode(root));
                    java.util.function.Supplier<ProviderRejectedException> noRoom = () ->
                            new ProviderRejectedException("provider " + nodeId().shortId() + " has no room to hold "
                                    + "output '" + d.name() + "' (" + d.bytes() + " bytes) for " + leave + ": its "
                                    + "cache is full of data held or in use; return the outputs or try later");
                    // For a buyer that takes it, the cache takes the job's buffer itself over as the
                    // held entry (no copy, and no copy of the job's left to wipe); stated so in the
                    // attestation. Else the output is copied into the cache and the job's buffer wiped.
                    byte[] own = task.caching.inPlace() ? ctx.keepOutput(d.name()).orElse(null) : null;
                    if (own != null) {
                        Optional<InputCache.Held> held;
                        try {
                            held = inputCache.insertHeldOwned(task.peer, ref, own, leave, tree);
                        } catch (RuntimeException | Error e) {
                            HostWipe.wipe(d.name(), own, (byte) 0); // no longer the context's to wipe
                            throw e;
                        }
                        if (held.isEmpty()) {
                            HostWipe.wipe(d.name(), own, (byte) 0);
                            throw noRoom.get();
                        }
                        held.get().lease().close();
                        if (held.get().adopted()) {
                            inCache.add(new WipeRecord(WipeRecord.HOST, d.name(), d.bytes(), 0, 0,
                                    WipeRecord.CACHE_IN_PLACE, ref.merkleRoot()));
                        } else {
                            handedOver.put(d.name(), own); // the entry held these bytes already
                        }
                    } else {
                        inputCache.insertHeld(task.peer, ref, out, leave, tree).orElseThrow(noRoom).close();
                    }
                    task.keptOutputs.add(d.name());
                } else if (task.caching.keepOutputs() && inputCache != null) {
                    // Kept by the root the receipt commits to, for a following job of this buyer (a chain).
                    inputCache.insertComputed(task.peer, new InputRef(d.name(), d.bytes(), Hex.encode(root)), out)
                            .ifPresent(l -> {
                                l.close();
                                task.keptOutputs.add(d.name());
                            });
                }
            }
            ExecutionReceipt statement = rb.build();
            OutputDrain drain = leave != null ? null : sendOutputs(task, ctx, spec);
            // A large job whose outputs are all handed over (or left here) releases its receipt
            // now, signed alone, and its wipe attestation after the wipe: the buyer's checks of the
            // outputs overlap the wipe. Payment still needs both (docs/decisions.md, "The receipt
            // before the wipe"). Else one signature per job, or none here when batching: the batch
            // signs both statements.
            boolean receiptFirst = drain == null && bufferBytes(spec) >= RECEIPT_FIRST_BYTES;
            Envelope receipt = batches == null || receiptFirst ? statement.sign(key) : null;
            if (receiptFirst) {
                cancelled(task);
                task.receiptFirst.complete(receipt);
            }
            Instant wipeStart = clock.instant();
            byte pattern = wipePattern();
            // On the hashing pool too: the kernel is done, and the buyer waits for this attestation.
            List<WipeRecord> records = new ArrayList<>(ctx.wipe(pattern, hashing));
            handedOver.forEach((name, bytes) -> records.add(HostWipe.wipe(name, bytes, pattern)));
            handedOver.clear();
            // The cache's entries (inputs read in place, left outputs taken over): not the job's to
            // wipe (wiped when evicted, and attested to this buyer then); stated so, with their roots.
            records.addAll(inCache);
            // The transport's own copies of this job's bytes (e.g. the frames its inputs came in).
            records.addAll(task.transport.wipe(pattern));
            if (inputCache != null) {
                // This buyer's cache entries evicted or expired since its last attempt.
                records.addAll(inputCache.takeWipeRecords(task.peer));
            }
            if (drain == null) {
                return attest(task, statement, receipt, timing, device, wipeStart, records);
            }
            // The worker moves on; the rest of the outputs drain from the transport's copies,
            // and the attestation is signed once those copies are wiped too, so it covers them.
            draining.add(task);
            return drain.drained().whenComplete((v, t) -> draining.remove(task)).thenCompose(v -> {
                records.addAll(drain.wipe(pattern));
                return attest(task, statement, receipt, timing, device, wipeStart, records);
            });
        } finally {
            for (byte[] bytes : handedOver.values()) {
                java.util.Arrays.fill(bytes, (byte) 0); // failed before its wipe: overwritten, unrecorded
            }
        }
    }

    /** @return the bytes of a job's declared inputs and outputs (what its wipe covers, at least) */
    private static long bufferBytes(JobSpec spec) {
        long n = 0;
        for (InputRef in : spec.inputs()) {
            n += in.bytes();
        }
        for (BufferDecl d : spec.outputs()) {
            n += d.bytes();
        }
        return n;
    }

    /** The energy to sign, or null when the receipt could not carry it (a power source gone wrong). */
    private ReceiptEnergy plausible(ReceiptEnergy e, ExecutionTiming timing) {
        String why = e == null ? null : e.implausibility(timing.deviceNanos(), timing.startedAt(), timing.endedAt());
        if (why != null) {
            LOG.warn("node {} states no energy for this attempt: {} (is its power source right?)",
                    key.nodeId().shortId(), why);
            return null;
        }
        return e;
    }

    /**
     * Hands the outputs to the transport: all at once to a {@link DrainingSink}, which may keep
     * sending after this returns (the returned drain), else chunk by chunk on this worker.
     *
     * @return the drain still sending, or null when every byte was handed over here
     */
    private static OutputDrain sendOutputs(Task task, ExecutionContext ctx, JobSpec spec) {
        if (!(task.sink instanceof DrainingSink ds)) {
            for (BufferDecl d : spec.outputs()) {
                send(task, d.name(), ctx.output(d.name()));
            }
            return null;
        }
        cancelled(task);
        Map<String, ByteBuffer> outputs = new java.util.LinkedHashMap<>();
        for (BufferDecl d : spec.outputs()) {
            outputs.put(d.name(), ctx.output(d.name()));
        }
        OutputDrain drain = ds.sendAll(outputs).orElse(null);
        if (drain != null) {
            task.drain = drain;
            if (task.cancelRequested) {
                drain.cancel("attempt " + task.request.jobId() + "#" + task.request.attempt() + " cancelled");
            }
        }
        return drain;
    }

    private static void cancelled(Task task) {
        if (task.cancelRequested) {
            throw new ExecutionCancelledException("attempt " + task.request.jobId() + "#"
                    + task.request.attempt() + " cancelled while sending its outputs");
        }
    }

    /** Signs the wipe attestation over {@code records} (or adds it to the next batch). */
    private CompletableFuture<NodeResult> attest(Task task, ExecutionReceipt statement, Envelope receipt,
                                                 ExecutionTiming timing, ReceiptDevice device, Instant wipeStart,
                                                 List<WipeRecord> records) {
        ExecutionRequest request = task.request;
        WipeAttestation.Builder wb = WipeAttestation.builder().startedAt(wipeStart).endedAt(clock.instant())
                .device(device);
        if (receipt != null) {
            wb.receipt(receipt);
        } else {
            wb.receiptDigest(statement.statementDigestHex());
        }
        records.forEach(wb::buffer);
        WipeAttestation wipe = wb.build();
        if (receipt != null) {
            return CompletableFuture.completedFuture(new NodeResult(request.jobId(), request.attempt(), nodeId(),
                    executor.kind(), timing.startedAt(), timing.endedAt(), timing.deviceNanos(), receipt,
                    wipe.sign(key), null));
        }
        CompletableFuture<dev.depin.crypto.BatchedReceipt> sealed = batches.add(statement, wipe);
        requestSeal(request.resultsQueued());
        return sealed.thenApply(b -> new NodeResult(request.jobId(), request.attempt(), nodeId(), executor.kind(),
                timing.startedAt(), timing.endedAt(), timing.deviceNanos(), null, null, b));
    }

    /**
     * Stages one input: from its cache entry (checked against its root when it was inserted,
     * not hashed again), or from the bytes received, which with the buyer's consent are first
     * copied into a new cache entry and checked there (each byte hashed once), else staged and
     * hashed as they pass.
     */
    private void stageInput(Task task, InputRef in, ByteBuffer data, InputCache.Lease lease, ByteBuffer into) {
        if (lease != null) {
            into.put(lease.view());
            task.kept.add(in.name());
            return;
        }
        if (task.caching.keep() && inputCache != null && data != null && data.remaining() == in.bytes()) {
            Optional<InputCache.Lease> entry = inputCache.insert(task.peer, in, data);
            if (entry.isPresent()) {
                try (InputCache.Lease l = entry.get()) {
                    into.put(l.view());
                }
                task.kept.add(in.name());
                return;
            }
        }
        stage(in, data, into, hashing);
    }

    /**
     * Copies one input into the executor's buffer and hashes the bytes now in the provider's
     * memory (what its receipt vouches for): chunk by chunk as they pass for small inputs, and
     * for large ones after the copy on several cores, which is faster than one streaming pass.
     */
    private static void stage(InputRef in, ByteBuffer data, ByteBuffer into, dev.depin.crypto.Parallelism hashing) {
        if (data == null || data.remaining() != in.bytes()) {
            throw new ProviderRejectedException("input '" + in.name() + "' has "
                    + (data == null ? "no bytes" : data.remaining() + " bytes") + " but the spec declares "
                    + in.bytes() + ": resend the job");
        }
        if (hashing.threads() > 1 && data.remaining() >= PARALLEL_HASH_BYTES) {
            int at = into.position();
            into.put(data.duplicate());
            ByteBuffer staged = into.duplicate().position(at).limit(at + (int) in.bytes());
            checkRoot(in, Hex.encode(Merkle.root(staged, JobSpec.MERKLE_CHUNK_BYTES, hashing)));
            return;
        }
        Merkle.Builder merkle = Merkle.builder(JobSpec.MERKLE_CHUNK_BYTES);
        ByteBuffer src = data.duplicate();
        while (src.hasRemaining()) {
            int n = Math.min(src.remaining(), JobSpec.MERKLE_CHUNK_BYTES);
            ByteBuffer chunk = src.slice().limit(n);
            merkle.update(chunk.duplicate());
            into.put(chunk);
            src.position(src.position() + n);
        }
        checkRoot(in, Hex.encode(merkle.root()));
    }

    private static void checkRoot(InputRef in, String root) {
        if (!root.equals(in.merkleRoot())) {
            throw new ProviderRejectedException("input '" + in.name() + "' hashes to Merkle root " + root
                    + " but the spec commits to " + in.merkleRoot() + ": the bytes were altered in transit");
        }
    }

    private static void send(Task task, String name, ByteBuffer out) {
        ByteBuffer src = out.duplicate();
        while (src.hasRemaining()) {
            cancelled(task);
            int n = Math.min(src.remaining(), SEND_CHUNK);
            task.sink.write(name, src.slice().limit(n));
            src.position(src.position() + n);
        }
        if (out.remaining() == 0) {
            task.sink.write(name, out);
        }
    }

    private static byte wipePattern() {
        byte[] b = new byte[1];
        do {
            PATTERNS.nextBytes(b);
        } while (b[0] == 0);
        return b[0];
    }

    private ReceiptDevice receiptDevice() {
        DeviceInfo d = executor.device();
        boolean gpu = d.kind() == DeviceKind.CUDA;
        return new ReceiptDevice(d.model(), gpu ? d.units() : null, "-".equals(d.driverVersion()) ? null
                : d.driverVersion(), gpu ? d.runtimeVersion() : null);
    }

    /**
     * Refuses new attempts, fails the queued ones, cancels the running ones and waits up to
     * 10 s for them to stop, then closes the executor. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<Runnable> queued = new ArrayList<>();
        workers.getQueue().drainTo(queued);
        for (Runnable r : queued) {
            Task t = (Task) r;
            meters.error("closed");
            t.refuse(new ProviderRejectedException("provider " + nodeId().shortId()
                    + " closed before the attempt started: try another provider"));
        }
        for (Task t : running) {
            t.cancel("provider closing");
        }
        for (Task t : draining) {
            t.cancel("provider closing");
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("provider {}: attempts still running 10 s after close; closing the executor anyway",
                        nodeId().shortId());
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
        awaitRunHere();
        if (batches != null) {
            batches.close(); // seals whatever is pending
            sealer.shutdown();
        }
        if (inputCache != null) {
            cacheSweeper.shutdownNow();
            inputCache.close();
        }
        hashing.close();
        executor.close();
    }

    /** Waits up to 10 s for attempts that waiting threads run here ({@link Task#runHere()}) to stop. */
    private void awaitRunHere() {
        int all = workers.getMaximumPoolSize();
        try {
            if (slots.tryAcquire(all, 10, TimeUnit.SECONDS)) {
                slots.release(all);
            } else {
                LOG.warn("provider {}: an attempt run by its waiting thread is still running 10 s after close; "
                        + "closing the executor anyway", nodeId().shortId());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "ProviderNode[" + nodeId().shortId() + " " + region + " " + executor.kind() + "]";
    }

    /** Builds a {@link ProviderNode}. */
    public static final class Builder {
        private dev.depin.crypto.NodePublicKey requiredLedger;
        private final NodeKeyPair key;
        private final DeviceExecutor executor;
        private String endpoint;
        private Region region = new Region("US", "");
        private Price price = new Price(MicroUsd.ofUsd("0.0001"), MicroUsd.ofUsd("0.01"));
        private MicroUsd stake = MicroUsd.ofUsd("100");
        private dev.depin.provider.SlaTerms sla;
        private Duration offerTtl = Duration.ofMinutes(5);
        private int workers = 1;
        private int queueCapacity = 256;
        private Clock clock = Clock.systemUTC();
        private int batchJobs = DEFAULT_RECEIPT_BATCH;
        private long sealLingerNanos = SEAL_LINGER_NANOS;
        private JobLimits limits = JobLimits.forHeap(Runtime.getRuntime().maxMemory());
        private io.micrometer.core.instrument.MeterRegistry registry;
        private java.util.function.DoubleSupplier watts;
        private String energySource;
        private InputCache.Limits cacheLimits;
        private java.util.function.Consumer<PaidAttempt> onPaid;

        private Builder(NodeKeyPair key, DeviceExecutor executor) {
            this.key = InvalidArgumentException.requireNonNull(key, "provider key");
            this.executor = InvalidArgumentException.requireNonNull(executor, "executor");
        }

        /**
         * @param endpoint where buyers reach this node, a URI; default {@code local:<short id>}
         *                 ({@code ProviderServer} sets {@code depin://host:port} once it listens)
         * @return this builder
         */
        public Builder endpoint(String endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /**
         * @param region where the hardware is
         * @return this builder
         */
        public Builder region(Region region) {
            this.region = region;
            return this;
        }

        /**
         * @param price what the node charges
         * @return this builder
         */
        public Builder price(Price price) {
            this.price = price;
            return this;
        }

        /**
         * @param stake what the node has at stake
         * @return this builder
         */
        public Builder stake(MicroUsd stake) {
            this.stake = stake;
            return this;
        }

        /**
         * What the node promises in every offer it signs: time to a verified result per job
         * size class and the credits it pays back from its stake when it does not keep that
         * ({@link dev.depin.provider.SlaTerms}). Buyers measure it and claim the credits
         * ({@code dev.depin.sla}). Default none.
         *
         * @param terms the SLA, or null for none
         * @return this builder
         */
        public Builder sla(dev.depin.provider.SlaTerms terms) {
            this.sla = terms;
            return this;
        }

        /**
         * @param ttl how long each signed offer is valid; 1 second to 1 day
         * @return this builder
         */
        public Builder offerTtl(Duration ttl) {
            InvalidArgumentException.requireNonNull(ttl, "offer time to live");
            if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofDays(1)) > 0) {
                throw new InvalidArgumentException("offer time to live " + ttl + " must be between 1 s and 1 day");
            }
            this.offerTtl = ttl;
            return this;
        }

        /**
         * @param workers       attempts run at once, 1 to 64
         * @param queueCapacity attempts that may wait, 1 to 65536
         * @return this builder
         */
        public Builder concurrency(int workers, int queueCapacity) {
            if (workers < 1 || workers > 64 || queueCapacity < 1 || queueCapacity > 65536) {
                throw new InvalidArgumentException("workers " + workers + " and queue capacity " + queueCapacity
                        + " must be in 1..64 and 1..65536");
            }
            this.workers = workers;
            this.queueCapacity = queueCapacity;
            return this;
        }

        /**
         * @param clock the clock for offer expiry and deadlines; default UTC system clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Signs receipts and wipe attestations in batches of up to {@code maxJobs} jobs, one
         * Ed25519 signature per batch (DESIGN §4): each buyer gets its job's statements with
         * inclusion proofs in the signed batch, and verifies the batch signature once for all
         * its jobs in that batch. Batching adapts to load (a group commit): a job with no attempt
         * queued behind it is signed at once (alone, a batch of one job: one signature over its
         * receipt and its wipe instead of two), and a job with attempts queued behind it is
         * signed with them when the queue empties, or {@link #SEAL_LINGER_NANOS} after it
         * finished at the latest. No job ever waits for a batch to fill.
         *
         * <p>On by default ({@value #DEFAULT_RECEIPT_BATCH}): a job's evidence is then one
         * {@code BatchedReceipt} instead of two envelopes. Use 0 where third-party tools that
         * read single envelopes (e.g. {@code verify_receipt.py}) must check the evidence.
         *
         * @param maxJobs jobs per batch, 2 to 65536 (default {@value #DEFAULT_RECEIPT_BATCH}); 0
         *                signs every job's receipt and wipe attestation on their own
         * @return this builder
         */
        public Builder receiptBatching(int maxJobs) {
            if (maxJobs != 0 && (maxJobs < 2 || maxJobs > 65_536)) {
                throw new InvalidArgumentException("receipt batching of " + maxJobs
                        + " jobs: give 2 to 65536, or 0 to sign every job on its own");
            }
            this.batchJobs = maxJobs;
            return this;
        }

        /**
         * The longest a finished job waits for company in its batch (tests: a linger longer than
         * any test, so which jobs share a batch depends on the order of events, not on time).
         */
        Builder sealLinger(Duration linger) {
            this.sealLingerNanos = linger.toNanos();
            return this;
        }

        /**
         * Publishes the node's meters in {@code registry} (names and units in docs/metrics.md):
         * attempts by outcome and in flight, attempt latency histograms per kernel, bytes in and
         * out, device time, earnings at its price, errors by reason. Without one, nothing is
         * recorded.
         *
         * @param registry where the meters go
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            this.registry = InvalidArgumentException.requireNonNull(registry, "meter registry");
            return this;
        }

        /**
         * Bounds what one job may make this node allocate and send, checked before any input
         * is received ({@link #admit}), and stated in the node's signed offers
         * ({@link OfferTerms#limits()}), so that buyers do not send it larger ones. The worker
         * pool runs at most {@code workers} jobs at once, so the node's job memory is bounded by
         * {@code workers × maxJobBytes}.
         *
         * <p>The default follows the JVM's heap ({@link JobLimits#forHeap}): an eighth of
         * {@link Runtime#maxMemory()} per job, at most 1 GiB, half of it output; so a node started
         * with {@code -Xmx512m} offers jobs of about 64 MiB, one with {@code -Xmx8g} or more 1 GiB jobs. A
         * node served over a transport with its own input budgets must not offer more than they
         * admit for one job (depin-grpc's {@code ProviderServer} refuses to start otherwise).
         *
         * @param maxOutputBytes the most output bytes one job may declare (default: a sixteenth of
         *                       the maximum heap, at most 512 MiB)
         * @param maxJobBytes    the most input plus output bytes of one job (default: an eighth
         *                       of the maximum heap, at most 1 GiB)
         * @return this builder
         * @throws InvalidArgumentException unless {@code 1 <= maxOutputBytes <= maxJobBytes}
         */
        public Builder jobLimits(long maxOutputBytes, long maxJobBytes) {
            this.limits = new JobLimits(maxOutputBytes, maxJobBytes);
            return this;
        }

        /**
         * Where the node's energy per attempt comes from. Each attempt's energy is signed in its
         * receipt ({@link ExecutionReceipt#energy()}) and the same number is added to
         * {@code depin.node.energy} with its source. <b>Measured</b>: the readings integrated
         * over the attempt's execution on this node's {@link #clock(Clock) clock} (a reading is
         * taken as each execution starts and ends and held until the next), shared equally
         * between the executions running at each moment. <b>Estimated</b>: the reading times the
         * attempt's device time. An attempt whose energy is not known (a NaN reading during it)
         * states none.
         *
         * @param watts    the power of the device the executor runs on now, in watts; NaN when
         *                 not known at the moment
         * @param measured true when read from the device (e.g. GPU power readings), false
         *                 for an estimate (a rated board power)
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder power(java.util.function.DoubleSupplier watts, boolean measured) {
            this.watts = InvalidArgumentException.requireNonNull(watts, "power source");
            this.energySource = measured ? "measured" : "estimated";
            return this;
        }

        /**
         * A private network: admit a job only with a {@link dev.depin.settlement.HoldCertificate}
         * signed by {@code ledgerKey}, for exactly the job's spec, paying this node, not expired.
         * Without it (the default, an open network) the node runs work for anyone who connects.
         *
         * @param ledgerKey the settlement ledger's public key
         * @return this builder
         * @throws InvalidArgumentException if null
         */
        public Builder requireHoldCertificates(dev.depin.crypto.NodePublicKey ledgerKey) {
            this.requiredLedger = InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
            return this;
        }

        /**
         * Keeps the inputs buyers send, by Merkle root, within {@code limits}, for the same
         * buyer's later jobs, which then send only the roots (over gRPC; see
         * {@link InputCache} for who may use an entry, eviction and wipes). A buyer's inputs
         * are kept only when it asks for it ({@link InputCaching#keep()}). Off by default: a
         * node keeps nothing past a job unless its operator gives it memory for that.
         *
         * @param limits what the cache may hold
         * @return this builder
         * @throws InvalidArgumentException if null
         */
        public Builder inputCache(InputCache.Limits limits) {
            this.cacheLimits = InvalidArgumentException.requireNonNull(limits, "input cache limits");
            return this;
        }

        /**
         * Tells {@code listener} of every attempt this node completed that came with a hold
         * certificate (a private network's paid work), with its receipt and what the node charges
         * for it: what a claimer needs to claim the hold if the buyer never posts (see
         * depin-grpc's {@code ClaimAgent}). Called on the node's threads after the result was
         * handed over, so it must only queue; a listener that throws is logged and ignored.
         *
         * @param listener who is told
         * @return this builder
         * @throws InvalidArgumentException if null
         */
        public Builder onPaidAttempt(java.util.function.Consumer<PaidAttempt> listener) {
            this.onPaid = InvalidArgumentException.requireNonNull(listener, "paid-attempt listener");
            return this;
        }

        /** @return the node, with its worker pool started */
        public ProviderNode build() {
            return new ProviderNode(this);
        }
    }
}
