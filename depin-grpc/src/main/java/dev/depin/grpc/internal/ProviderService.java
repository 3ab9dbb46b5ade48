package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.depin.DepinException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.WipeRecord;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.JobEnded;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.OfferRequest;
import dev.depin.grpc.internal.wire.OutputChunk;
import dev.depin.grpc.internal.wire.Progress;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Result;
import dev.depin.grpc.internal.wire.SignedOffer;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.grpc.internal.wire.WipeFollowing;
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.DrainingSink;
import dev.depin.network.spi.OutputDrain;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.TransportBuffers;
import dev.depin.grpc.internal.wire.Need;
import dev.depin.node.InputCache;
import dev.depin.node.InputCaching;
import dev.depin.node.NodeAttempt;
import dev.depin.node.NodeResult;
import dev.depin.node.ProviderNode;
import dev.depin.provider.JobTooLargeException;
import dev.depin.provider.ProviderRejectedException;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The provider side of the wire contract: one {@link ExecuteCall} per Execute stream feeds a
 * {@link ProviderNode}. A job is admitted at its Start (kernel, deadline, output and memory
 * limits, the peer's stream and job counts) before any input is held; inputs are received
 * into buffers that grow as bytes arrive (never past the declared sizes), each growth
 * reserved against the node's and the peer's input bounds ({@link StreamLimits}); a stream
 * that stops sending before its inputs are complete is closed by a deadline. Outputs are sent
 * from the node's worker, which waits while the buyer's stream is not ready (gRPC flow
 * control) for at most the stall limit, so a slow buyer slows its own job, a stalled one
 * loses it, and neither holds unbounded memory or a worker for long.
 *
 * <p>Small jobs take the short path: inputs inside Start are used where they arrived (the
 * request's input buffers are views of the received frame), and with a compact Start no
 * Progress is sent. Every frame is read into an array this service owns ({@link Frame}):
 * frames are zeroed once used, and the frame or buffers that held a job's inputs until it
 * ran are wiped with the job's pattern and listed in its wipe attestation. Outputs are sent
 * from the executor's buffers without a copy of ours (the executor's wipe covers them), except
 * for a session job whose buyer takes its answer folded (Start.folded): its outputs are copied
 * before the wipe, sent with its Result and end in one message, then zeroed and owed to the
 * peer's next attestation (docs/decisions.md, "A session job's outputs, Result and end folded").
 * gRPC's and Netty's own buffers (framing, TLS records) are out of reach: see docs.
 *
 * <p>Every handler here returns without blocking (the server could run them on its transport
 * threads; see docs/decisions.md for why it does not).
 */
public final class ProviderService extends ProviderGrpc.ProviderImplBase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderService.class);
    /** A stream's first allocation for an input, unless the input is smaller. */
    private static final int FIRST_ALLOCATION = 64 << 10;

    private final ProviderNode node;
    /** Whether the Session method is served. */
    private final boolean sessions;
    private final StreamLimits limits;
    private final long stallNanos;
    private final long idleNanos;
    private final long receiveNanos;
    private final PeerLedger ledger;
    private final ScheduledThreadPoolExecutor deadlines;
    private final CancelledDrains cancelledDrains = new CancelledDrains(CancelledDrains.LABEL);
    /**
     * Output bytes of folded session answers (Start.folded), copied out of the executor's
     * buffers before its wipe, zeroed and read back once the message carrying them was handed to
     * gRPC (or the job ended without it), owed to the peer's next attestation as one record.
     */
    private final CancelledDrains foldedOutputs = new CancelledDrains(CancelledDrains.FOLDED_LABEL);
    private final RefusedStarts refusedStarts;
    private final java.util.concurrent.atomic.AtomicInteger drains = new java.util.concurrent.atomic.AtomicInteger();
    /** Streams this node reset at the transport because their reader stalled ({@link StreamResets}). */
    private final java.util.concurrent.atomic.AtomicLong resets = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Streams the node has ended whose end gRPC has not yet reported taken (everything sent, the
     * buyer's half closed), with when they ended; swept by {@link #resetUntaken}.
     */
    private final Map<ExecuteCall, Long> ending = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger openSessions = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong sessionJobs = new java.util.concurrent.atomic.AtomicLong();
    /** Session streams open per peer (at most {@link Wire#SESSIONS_PER_PEER}). */
    private final Map<NodePublicKey, Integer> sessionsOpen = new java.util.concurrent.ConcurrentHashMap<>();
    /** Sessions open, for {@link #sweepSessions}. */
    private final java.util.Set<Session> liveSessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Whether a session job whose buyer sets Start.folded is answered folded (false: as a node before it). */
    private volatile boolean foldSessionEnds = true;
    /** How long a session with no job in flight and no message from its buyer stays open. */
    private final long sessionIdleNanos;
    /** The sessions' clock (their idle limit, their jobs' deadlines, the stall limit): System.nanoTime but in tests. */
    private volatile java.util.function.LongSupplier sessionTicker = System::nanoTime;
    private volatile CallMeters sessionMeters;
    /** Fetch calls in progress per peer. */
    private final Map<NodePublicKey, Integer> fetching =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param node          the node that runs the jobs
     * @param limits        what streams may hold, in all and per peer, and for how long
     * @param addressLimits what the streams of one remote address may hold, over all its keys
     * @param refusedAddresses the server's per-address refusals: each refused Start counts
     *                      there (its threshold is {@link AddressLimits#maxRefusedStarts()})
     * @param sessions      whether the node serves the Session method (many small jobs on one
     *                      stream); without it the method answers UNIMPLEMENTED, as a node
     *                      from before it did
     */
    public ProviderService(ProviderNode node, StreamLimits limits, AddressLimits addressLimits,
                           AddressRefusals refusedAddresses, boolean sessions) {
        this.sessions = sessions;
        this.node = node;
        this.limits = limits;
        this.stallNanos = TimeUnit.MILLISECONDS.toNanos(limits.stallMillis());
        this.idleNanos = TimeUnit.MILLISECONDS.toNanos(limits.receiveIdleMillis());
        this.receiveNanos = TimeUnit.MILLISECONDS.toNanos(limits.receiveMillis());
        this.sessionIdleNanos = TimeUnit.MILLISECONDS.toNanos(limits.sessionIdleMillis());
        this.ledger = new PeerLedger(limits, addressLimits);
        this.refusedStarts = new RefusedStarts(refusedAddresses);
        this.deadlines = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "depin-provider-" + node.nodeId().shortId() + "-stream-deadlines");
            t.setDaemon(true);
            return t;
        });
        deadlines.setRemoveOnCancelPolicy(true);
        long sweep = Math.max(TimeUnit.MILLISECONDS.toNanos(50), stallNanos / 2);
        deadlines.scheduleWithFixedDelay(this::resetUntaken, sweep, sweep, TimeUnit.NANOSECONDS);
    }

    /**
     * Resets the streams whose reader has not taken their end (the last outputs, the result,
     * the status) within the half-close grace and the stall limit after the node ended them:
     * until then gRPC and Netty hold what was queued for them ({@link StreamResets}). One sweep
     * for all streams instead of a timer per stream.
     */
    private void resetUntaken() {
        long now = System.nanoTime();
        long after = TimeUnit.MILLISECONDS.toNanos(HALF_CLOSE_GRACE_MS) + stallNanos;
        for (Map.Entry<ExecuteCall, Long> e : ending.entrySet()) {
            if (now - e.getValue() > after && ending.remove(e.getKey(), e.getValue())) {
                e.getKey().resetStalled("the buyer took no part of the stream's end for "
                        + TimeUnit.NANOSECONDS.toMillis(after) + " ms after the node ended it");
            }
        }
    }

    /** @return input bytes held right now by streams that are receiving or whose job is queued or running */
    public long reservedInputBytes() {
        return ledger.bytes();
    }

    /** @return output bytes of finished jobs held right now for readers that have not read them */
    public long drainingOutputBytes() {
        return ledger.drainBytes();
    }

    /**
     * @return Execute streams this node has reset at the transport (HTTP/2 {@code RST_STREAM})
     *         because their reader took nothing for the stall limit, so that gRPC and Netty let go
     *         of what they had queued for it
     */
    public long stalledStreamsReset() {
        return resets.get();
    }

    /** @return output drains in progress right now: finished jobs whose worker moved on before the reader took everything */
    public int drains() {
        return drains.get();
    }

    /**
     * Whether a session job whose buyer takes the folded answer (Start.folded) gets it: its
     * outputs, Result and end in one message (default true). False answers it with separate
     * messages, as a node from before the field did (tests of old nodes).
     *
     * @param fold whether to fold
     */
    public void foldSessionEnds(boolean fold) {
        this.foldSessionEnds = fold;
    }

    /** @param meters where each Session job's end is counted (method SessionJob), or null */
    public void meterSessionJobs(CallMeters meters) {
        this.sessionMeters = meters;
    }

    /** @return Session streams open right now, over all peers */
    public int openSessions() {
        return openSessions.get();
    }

    /**
     * Replaces the sessions' clock, read by their idle limit, their jobs' deadlines and their
     * stall limit (tests move it by hand and then call {@link #sweepSessions}).
     *
     * @param ticker nanoseconds, as {@link System#nanoTime}
     */
    public void sessionTicker(java.util.function.LongSupplier ticker) {
        this.sessionTicker = java.util.Objects.requireNonNull(ticker, "ticker");
    }

    /** Runs every open session's timer check now (as its own timer does, on the caller's thread). */
    public void sweepSessions() {
        for (Session s : liveSessions) {
            s.sweep();
        }
    }

    /** @return jobs whose Start came on a Session stream (taken or refused) since the service began */
    public long sessionJobs() {
        return sessionJobs.get();
    }

    /** @return Execute streams open right now, over all peers */
    public int openStreams() {
        return ledger.streams();
    }

    /** @return the most one peer holds right now: {streams, jobs, input bytes, unread output bytes} */
    public long[] maxHeldByOnePeer() {
        return ledger.maxPerPeer();
    }

    /** @return the most one remote address holds right now over all its keys: {streams, input bytes} */
    public long[] maxHeldByOneAddress() {
        return ledger.maxPerAddress();
    }

    /** @return peers holding anything right now */
    public int peersHolding() {
        return ledger.peers();
    }

    /** Stops the deadline timer (the server has stopped its streams). */
    @Override
    public void close() {
        deadlines.shutdownNow();
    }

    /**
     * The service as served: the generated methods, with Execute reading each request into
     * a {@link Frame} this service owns instead of protobuf's own copies.
     *
     * @return the service definition
     */
    public ServerServiceDefinition definition() {
        ServerServiceDefinition generated = bindService();
        MethodDescriptor<ExecuteRequest, ExecuteResponse> execute = ProviderGrpc.getExecuteMethod();
        MethodDescriptor<Frame, ExecuteResponse> owned = execute.toBuilder(Frame.MARSHALLER,
                execute.getResponseMarshaller()).build();
        MethodDescriptor<ExecuteRequest, ExecuteResponse> session = ProviderGrpc.getSessionMethod();
        MethodDescriptor<Frame, ExecuteResponse> ownedSession = session.toBuilder(Frame.MARSHALLER,
                session.getResponseMarshaller()).build();
        ServiceDescriptor old = generated.getServiceDescriptor();
        ServiceDescriptor.Builder d = ServiceDescriptor.newBuilder(old.getName())
                .setSchemaDescriptor(old.getSchemaDescriptor()).addMethod(owned);
        if (sessions) {
            d.addMethod(ownedSession);
        }
        List<ServerMethodDefinition<?, ?>> others = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : generated.getMethods()) {
            String name = m.getMethodDescriptor().getFullMethodName();
            if (!name.equals(execute.getFullMethodName()) && !name.equals(session.getFullMethodName())) {
                others.add(m);
                d.addMethod(m.getMethodDescriptor());
            }
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(d.build())
                .addMethod(owned, ServerCalls.asyncBidiStreamingCall(this::openExecute));
        if (sessions) {
            b.addMethod(ownedSession, ServerCalls.asyncBidiStreamingCall(this::openSession));
        }
        others.forEach(b::addMethod);
        return io.grpc.ServerInterceptors.intercept(b.build(), InlineCalls.context());
    }

    private StreamObserver<Frame> openExecute(StreamObserver<ExecuteResponse> responses) {
        ServerCallStreamObserver<ExecuteResponse> out = (ServerCallStreamObserver<ExecuteResponse>) responses;
        NodePublicKey peer = PeerKeys.PEER.get(); // PeerKeys refused every call without one
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        // A peer (or an address) that keeps sending jobs this node never takes is refused here,
        // before its Start is read and parsed.
        String refused = refusedStarts.check(peer, address, System.nanoTime());
        if (refused == null) {
            refused = ledger.openStream(peer, address);
        }
        if (refused != null) {
            out.onError(Status.RESOURCE_EXHAUSTED.withDescription(refused).asRuntimeException());
            return new Discard();
        }
        ExecuteCall call = new ExecuteCall(out, peer, address, InlineCalls.refusesChunks(), StreamResets.starting());
        out.setOnCancelHandler(call::onCallCancelled);
        out.setOnReadyHandler(call::onReady);
        out.setOnCloseHandler(call::onTransportClosed);
        call.armDeadline();
        return call;
    }

    @Override
    public void getOffer(OfferRequest request, StreamObserver<SignedOffer> responses) {
        responses.onNext(SignedOffer.newBuilder().setOfferJson(ByteString.copyFrom(node.offer().toJson())).build());
        responses.onCompleted();
    }

    @Override
    public void health(HealthRequest request, StreamObserver<HealthReply> responses) {
        responses.onNext(HealthReply.newBuilder().setStatus(HealthReply.Status.SERVING)
                .setNodeId(node.nodeId().hex()).setBusy(node.busy()).build());
        responses.onCompleted();
    }

    /**
     * Chunks of an entry the node keeps for this peer, with their proofs ({@link OutputFetch}).
     * A root the node does not hold for this peer (another peer's, evicted, expired, or from
     * before a restart) gets NOT_FOUND with the same words whatever the reason, so a peer
     * learns nothing of what others hold.
     *
     * @param request   the root, size, chunk size and chunk indices asked for
     * @param responses where the reply goes
     */
    @Override
    public void fetch(dev.depin.grpc.internal.wire.FetchRequest request,
                      StreamObserver<dev.depin.grpc.internal.wire.FetchReply> responses) {
        NodePublicKey peer = PeerKeys.PEER.get();
        String bad = OutputFetch.malformed(request.getRoot(), request.getBytes(), request.getChunkBytes(),
                request.getChunksList());
        if (bad != null) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("fetch: " + bad)
                    .asRuntimeException());
            return;
        }
        if (fetching.merge(peer, 1, Integer::sum) > OutputFetch.MAX_CALLS_PER_PEER) {
            fetchEnded(peer);
            responses.onError(Status.RESOURCE_EXHAUSTED.withDescription("this peer has "
                    + OutputFetch.MAX_CALLS_PER_PEER + " Fetch calls in progress already: wait for one")
                    .asRuntimeException());
            return;
        }
        try {
            java.util.Optional<InputCache.Lease> lease = node.inputCache().flatMap(c -> c.acquire(peer.nodeId().hex(),
                    new InputRef("fetched", request.getBytes(), request.getRoot())));
            if (lease.isEmpty()) {
                responses.onError(Status.NOT_FOUND.withDescription("this node holds no output of root "
                        + request.getRoot() + " and " + request.getBytes() + " bytes for you").asRuntimeException());
                return;
            }
            dev.depin.grpc.internal.wire.FetchReply reply;
            try (InputCache.Lease l = lease.get()) {
                reply = OutputFetch.serve(l.view(), l.tree(), request);
            }
            responses.onNext(reply);
            responses.onCompleted();
        } catch (RuntimeException e) {
            LOG.warn("Fetch of {} for peer {} failed: {}", request.getRoot(), peer.nodeId().shortId(), e.toString());
            responses.onError(Status.INTERNAL.withDescription("fetch failed on the node").asRuntimeException());
        } finally {
            fetchEnded(peer);
        }
    }

    private void fetchEnded(NodePublicKey peer) {
        fetching.computeIfPresent(peer, (p, n) -> n <= 1 ? null : n - 1);
    }

    private StreamObserver<Frame> openSession(StreamObserver<ExecuteResponse> responses) {
        ServerCallStreamObserver<ExecuteResponse> out = (ServerCallStreamObserver<ExecuteResponse>) responses;
        NodePublicKey peer = PeerKeys.PEER.get();
        if (sessionsOpen.merge(peer, 1, Integer::sum) > Wire.SESSIONS_PER_PEER) {
            sessionsOpen.computeIfPresent(peer, (k, n) -> n <= 1 ? null : n - 1);
            out.onError(Status.RESOURCE_EXHAUSTED.withDescription("this peer has " + Wire.SESSIONS_PER_PEER
                    + " sessions open already, the most one peer may have: send its jobs on them").asRuntimeException());
            return new Discard();
        }
        Session s = new Session(out, peer, AddressGroup.of(PeerKeys.REMOTE.get()));
        out.disableAutoRequest(); // read one message at a time, and only while the buyer reads
        out.setOnCancelHandler(() -> s.broken(null));
        out.setOnReadyHandler(s::onReady);
        openSessions.incrementAndGet();
        liveSessions.add(s);
        s.open();
        return s;
    }

    /**
     * Many small jobs of one peer on one stream (the Session method, docs/decisions.md). Each
     * job is an {@link ExecuteCall} on a {@link SessionJob}, a stream of its own as far as the
     * call can tell: it is counted as one Execute stream and one job against every per-peer and
     * per-address limit, refused, admitted, run, wiped and ended exactly as on its own stream,
     * and its end becomes a JobEnded message. The session adds what one stream per job got
     * from HTTP/2: the job numbers (each Start takes the next), at most {@link Wire#SESSION_JOBS}
     * jobs in flight, inbound flow control (one message is read at a time, and none while the
     * buyer does not read), a stalled reader's cancellation and an idle limit, checked by one
     * timer per session.
     */
    private final class Session implements StreamObserver<Frame> {
        private final ServerCallStreamObserver<ExecuteResponse> out;
        private final NodePublicKey peer;
        private final String address;
        /** Serializes writes to {@link #out} and guards the fields below it. */
        private final Object lock = new Object();
        /** Jobs started and not yet ended, by number. */
        private final Map<Long, SessionJob> jobs = new java.util.concurrent.ConcurrentHashMap<>();
        private boolean ended;
        private boolean requested;
        private boolean buyerDone;
        /** Whether the session's end was counted in {@link #openSessions}. */
        private boolean counted;
        private ScheduledFuture<?> sweep;
        /** The highest job number started; touched by the serialized inbound callbacks only. */
        private long last;
        /** The last message from the buyer or job end: the idle limit counts from it. */
        private volatile long lastActiveNanos = sessionTicker.getAsLong();
        private volatile long lastReadyNanos = lastActiveNanos;

        Session(ServerCallStreamObserver<ExecuteResponse> out, NodePublicKey peer, String address) {
            this.out = out;
            this.peer = peer;
            this.address = address;
        }

        /** Says the session is served (so the buyer stops falling back) and reads the first message. */
        void open() {
            synchronized (lock) {
                out.onNext(ExecuteResponse.getDefaultInstance());
                long every = Math.max(TimeUnit.MILLISECONDS.toNanos(50), Math.min(stallNanos / 4,
                        TimeUnit.SECONDS.toNanos(1)));
                try {
                    sweep = deadlines.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    sweep = null; // the service is closing: the server closes the stream
                }
            }
            more();
        }

        @Override
        public void onNext(Frame frame) {
            lastActiveNanos = sessionTicker.getAsLong();
            boolean over;
            synchronized (lock) {
                requested = false;
                over = ended;
            }
            boolean handed = false;
            try {
                if (over) {
                    return; // zeroed below
                }
                ExecuteRequest req = frame.message();
                if (req == null) {
                    refuse("a message that is not a valid protobuf request: session closed");
                    return;
                }
                long n = req.getSessionJob();
                switch (req.getKindCase()) {
                    case START -> handed = start(n, frame, req.getStart(), req.getTimeoutMillis());
                    case CANCEL -> {
                        if (n < 1 || n > last) {
                            refuse("a Cancel for job number " + Long.toUnsignedString(n) + ", which this session "
                                    + "has not started (its last is " + last + "): session closed");
                            return;
                        }
                        SessionJob j = jobs.get(n);
                        if (j != null) { // else ended meanwhile: nothing to cancel
                            handed = true;
                            j.call.onNext(frame);
                        }
                    }
                    case INPUT -> refuse("an input chunk on a session (each job travels whole inside its Start): "
                            + "session closed; send a job whose inputs are streamed on its own Execute stream");
                    default -> refuse("a message of unknown kind on a session: session closed");
                }
            } finally {
                if (!handed) {
                    Arrays.fill(frame.bytes(), (byte) 0);
                }
                more();
            }
        }

        /** @return whether the frame went to a job's call (which owns it from then on) */
        private boolean start(long n, Frame frame, Start s, long timeoutMillis) {
            if (n != last + 1) {
                refuse("a Start with job number " + Long.toUnsignedString(n) + " after job " + last
                        + ": each Start on a session takes the next number, from 1; session closed");
                return false;
            }
            last = n;
            sessionJobs.incrementAndGet();
            String refused = null;
            if (jobs.size() >= Wire.SESSION_JOBS) {
                refusedStarts.refused(peer, address, System.nanoTime());
                refused = "this session has " + Wire.SESSION_JOBS + " jobs in flight, the most one session may have: "
                        + "wait for a JobEnded before the next Start";
            } else if (s.getByRootCount() > 0) {
                refusedStarts.refused(peer, address, System.nanoTime());
                jobEnded(n, Status.INVALID_ARGUMENT.withDescription("a Start that sends inputs by root on a "
                        + "session: send it on its own Execute stream"), null);
                return false;
            }
            if (refused == null) {
                // As openExecute: a peer that keeps sending jobs this node never takes is refused
                // before its Start is parsed; each job counts as one Execute stream.
                refused = refusedStarts.check(peer, address, System.nanoTime());
            }
            if (refused == null) {
                refused = ledger.openStream(peer, address);
            }
            if (refused != null) {
                jobEnded(n, Status.RESOURCE_EXHAUSTED.withDescription(refused), null);
                return false;
            }
            SessionJob j = new SessionJob(this, n);
            j.call = new ExecuteCall(j, peer, address, true, null, true);
            jobs.put(n, j);
            j.call.othersInFlight = jobs.size() - 1;
            j.call.onNext(frame);
            j.deadline(sessionTicker.getAsLong(), timeoutMillis);
            j.call.onCompleted(); // the whole job came in its Start: as a buyer that half-closes with it
            boolean broken;
            synchronized (lock) {
                broken = ended;
            }
            if (broken) {
                j.call.onCallCancelled(); // the session broke while the job was taken: as a cut stream
            }
            return true;
        }

        /** Requests the next message, unless one is requested, the buyer does not read, or the session ended. */
        private void more() {
            synchronized (lock) {
                if (ended || requested || buyerDone || !out.isReady()) {
                    return;
                }
                requested = true;
                out.request(1);
            }
        }

        void onReady() {
            lastReadyNanos = System.nanoTime();
            for (SessionJob j : jobs.values()) {
                j.call.onReady();
            }
            more();
        }

        /** One job's message, tagged with its number. */
        void send(long n, ExecuteResponse m) {
            synchronized (lock) {
                if (ended) {
                    throw new NetworkException("the buyer's session has ended");
                }
                out.onNext(m.toBuilder().setSessionJob(n).build());
            }
        }

        /**
         * A job's stream ended: its JobEnded (or, for a job that ended OK, its folded answer) goes
         * out and its number is free of the in-flight count.
         *
         * @return whether the message was handed to gRPC (false: the session has ended)
         */
        boolean jobEnded(long n, Status status, dev.depin.grpc.internal.wire.Folded.Builder fold) {
            boolean close;
            SessionJob j = jobs.remove(n);
            lastActiveNanos = sessionTicker.getAsLong();
            CallMeters m = sessionMeters;
            if (m != null) {
                m.record("SessionJob", status.getCode(), j == null ? 0 : System.nanoTime() - j.startedNanos);
            }
            synchronized (lock) {
                if (ended) {
                    return false;
                }
                out.onNext(fold != null && status.isOk()
                        ? ExecuteResponse.newBuilder().setSessionJob(n).setFolded(fold).build()
                        : ExecuteResponse.newBuilder().setSessionJob(n).setEnded(JobEnded.newBuilder()
                        .setCode(status.getCode().value()).setDescription(
                                status.getDescription() == null ? "" : status.getDescription())).build());
                close = buyerDone && jobs.isEmpty();
            }
            if (close) {
                close(Status.OK);
            }
            return true;
        }

        /** Ends the session with the status (once); jobs still in flight are stopped as if their streams were cut. */
        private void close(Status status) {
            synchronized (lock) {
                if (ended) {
                    return;
                }
                try {
                    if (status.isOk()) {
                        out.onCompleted();
                    } else {
                        out.onError(status.asRuntimeException());
                    }
                } catch (RuntimeException e) {
                    LOG.debug("closing a session failed: {}", e.toString());
                }
            }
            broken(status);
        }

        /** The buyer cancelled the session, the connection broke, or the node closed it: every job is cut. */
        void broken(Status why) {
            synchronized (lock) {
                if (!counted) {
                    counted = true;
                    openSessions.decrementAndGet();
                    sessionsOpen.computeIfPresent(peer, (k, c) -> c <= 1 ? null : c - 1);
                }
                ended = true;
                if (sweep != null) {
                    sweep.cancel(false);
                    sweep = null;
                }
            }
            liveSessions.remove(this);
            if (why != null && !why.isOk()) {
                LOG.debug("session of peer {} closed: {}", peer.nodeId().shortId(), why);
            }
            for (SessionJob j : new ArrayList<>(jobs.values())) {
                j.call.onCallCancelled();
            }
            jobs.clear();
        }

        /** A message that breaks the session's rules: the whole session ends with INVALID_ARGUMENT. */
        private void refuse(String why) {
            refusedStarts.refused(peer, address, System.nanoTime());
            close(Status.INVALID_ARGUMENT.withDescription(why));
        }

        /**
         * The session's one timer: a buyer that reads nothing for the stall limit, jobs past their
         * deadline, a session idle too long.
         */
        private void sweep() {
            long now = sessionTicker.getAsLong();
            if (out.isReady()) {
                lastReadyNanos = now;
            } else if (now - lastReadyNanos > stallNanos) {
                close(Status.CANCELLED.withDescription("the buyer read nothing on this session for "
                        + TimeUnit.NANOSECONDS.toMillis(stallNanos) + " ms: session closed, its jobs stopped"));
                return;
            }
            for (SessionJob j : jobs.values()) {
                if (now - j.deadlineNanos >= 0) {
                    j.call.expireJob(j.deadlineWhy());
                }
            }
            if (jobs.isEmpty() && now - lastActiveNanos > sessionIdleNanos) {
                close(Status.OK);
            }
        }

        @Override
        public void onError(Throwable t) {
            broken(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            boolean close;
            synchronized (lock) {
                buyerDone = true;
                close = jobs.isEmpty();
            }
            if (close) {
                close(Status.OK);
            }
        }
    }

    /**
     * The hint a job's signature is batched by ({@link ExecutionRequest#resultsQueued}): what the
     * buyer sent, raised to {@link ExecutionRequest#BEHIND} for a Session job that came while
     * that many of its session's jobs were in flight here. Such a buyer keeps a window of jobs
     * open and sends the next Starts as it verifies, one message at a time, so the node's queue
     * is empty between them and each job would be signed on its own (3.6 jobs per signature over
     * mTLS against 10 in process at 64 in flight); more of its jobs finish within the seal
     * linger, and this one waits (at most the linger) to share their signature. A lone job, with
     * fewer in flight, is still signed at once.
     *
     * @param sent           the Start's results_queued (a uint32: negative reads as very far behind)
     * @param othersInFlight the session's other jobs in flight when the Start came (0 on an Execute stream)
     * @return the hint the node batches the job's signature by
     */
    static int resultsQueued(int sent, int othersInFlight) {
        int hint = sent < 0 ? Integer.MAX_VALUE : sent;
        return othersInFlight >= ExecutionRequest.BEHIND ? Math.max(hint, ExecutionRequest.BEHIND) : hint;
    }

    /** One job of a {@link Session}, as its {@link ExecuteCall} sees its stream. */
    private static final class SessionJob extends ServerCallStreamObserver<ExecuteResponse> {
        private final Session session;
        private final long n;
        private final long startedNanos = System.nanoTime();
        ExecuteCall call;
        /** When the node stops the job (the session's clock); written last, after the two fields below. */
        private volatile long deadlineNanos = Long.MAX_VALUE;
        /** The job's spec, id and deadline, for the message when the deadline passes; null until set. */
        private ExecutionRequest deadlineOf;
        /** The buyer's time limit in ms when it is the sooner of the two, else 0 (the spec's deadline). */
        private long deadlineLimitMillis;
        /** The folded answer that stands for this job's end if it ends OK (set before the end, on its call's thread). */
        volatile dev.depin.grpc.internal.wire.Folded.Builder fold;
        /** Whether the folded answer was handed to gRPC. */
        volatile boolean foldSent;

        SessionJob(Session session, long n) {
            this.session = session;
            this.n = n;
        }

        /**
         * Sets the job's deadline once its Start is read: its spec's deadline, or the buyer's time
         * limit for it (ExecuteRequest.timeout_millis, as grpc-timeout for an Execute stream) if
         * sooner. A job refused at its Start has ended already and gets none.
         *
         * @param readNanos     when the Start was read (the session's clock)
         * @param timeoutMillis the buyer's limit, 0 for none
         */
        void deadline(long readNanos, long timeoutMillis) {
            ExecutionRequest header = call.header();
            if (header == null) {
                return;
            }
            JobSpec spec = header.spec();
            long untilSpec;
            try {
                untilSpec = spec.deadline().toEpochMilli() - System.currentTimeMillis();
            } catch (ArithmeticException e) {
                untilSpec = Long.MAX_VALUE;
            }
            // A uint64 above Long.MAX_VALUE reads negative: no limit besides the spec's.
            boolean limited = timeoutMillis > 0 && timeoutMillis < untilSpec;
            long millis = Math.max(0, limited ? timeoutMillis : untilSpec);
            // The message is built only if the deadline passes (once per expired job, not per job).
            deadlineOf = header;
            deadlineLimitMillis = limited ? timeoutMillis : 0;
            deadlineNanos = readNanos + Math.min(TimeUnit.MILLISECONDS.toNanos(millis), Long.MAX_VALUE / 4);
        }

        /** @return what the job's end says when its deadline passed (after {@link #deadlineNanos} was read) */
        String deadlineWhy() {
            ExecutionRequest header = deadlineOf;
            long limit = deadlineLimitMillis;
            return "job " + header.jobId() + (limit > 0 ? " passed its time limit of " + limit
                    + " ms on this session" : " passed its deadline " + header.spec().deadline())
                    + " on the node: stopped, nothing of it is held";
        }

        @Override
        public void onNext(ExecuteResponse m) {
            session.send(n, m);
        }

        @Override
        public void onError(Throwable t) {
            session.jobEnded(n, Status.fromThrowable(t), null);
        }

        @Override
        public void onCompleted() {
            foldSent = session.jobEnded(n, Status.OK, fold);
        }

        @Override
        public boolean isReady() {
            return session.out.isReady();
        }

        @Override
        public boolean isCancelled() {
            synchronized (session.lock) {
                return session.ended;
            }
        }

        @Override
        public void setOnCancelHandler(Runnable r) {
            throw new UnsupportedOperationException("a session job is cut by its session");
        }

        @Override
        public void setOnReadyHandler(Runnable r) {
            throw new UnsupportedOperationException("a session job is told by its session");
        }

        @Override
        public void setCompression(String compression) {
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void request(int count) {
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }
    }

    /** A refused stream: whatever still arrives is zeroed and dropped. */
    private static final class Discard implements StreamObserver<Frame> {
        @Override
        public void onNext(Frame frame) {
            Arrays.fill(frame.bytes(), (byte) 0);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }

    /** One input being received: allocated as its bytes arrive, never past its declared size. */
    private static final class Incoming {
        final String name;
        final int declared;
        byte[] data = new byte[0];
        int filled;

        Incoming(String name, int declared) {
            this.name = name;
            this.declared = declared;
        }
    }

    /** One Execute stream: receives, submits, streams back, and ends after the node let go. */
    /** How long a finished stream waits for the buyer's half-close before it is closed anyway. */
    private static final long HALF_CLOSE_GRACE_MS = 2_000;

    private final class ExecuteCall implements StreamObserver<Frame>, DrainingSink {
        private final ServerCallStreamObserver<ExecuteResponse> out;
        private final NodePublicKey peer;
        /** The peer's {@link AddressGroup}, or null (not an IP connection). */
        private final String address;
        /** Whether this stream was counted as a refused Start already (once per stream). */
        private volatile boolean refusalCounted;
        private final Object sendLock = new Object();
        private final Object readyLock = new Object();
        private final Received received;
        /** Marked {@link InlineCalls#HEADER}: its callbacks run on the event loop, so it may stream no input. */
        private final boolean inline;
        /** Where an inline job came ("on a call marked depin-inline", "on a session") and what to do instead. */
        private final String marked;
        private final String instead;
        private final long openedNanos = System.nanoTime();
        private volatile long lastFrameNanos = openedNanos;
        // Touched only by gRPC's serialized inbound callbacks.
        private ExecutionRequest header;
        private Map<String, Incoming> inputs;
        private long missing;
        private boolean compact;
        private boolean keepInputs;
        private boolean keepOutputs;
        /** The buyer takes a large job's receipt before its wipe attestation (Start.wipe_may_follow). */
        private boolean wipeMayFollow;
        /** The buyer takes cached inputs read in place (Start.buffers_in_place). */
        private boolean buffersInPlace;
        /** The buyer takes a batched receipt in parts (Start.batched_parts). */
        private boolean batchedParts;
        /** One job of a Session. */
        private final boolean session;
        /**
         * A Session job whose buyer takes its outputs, Result and end in one message
         * (Start.folded); cleared when its outputs could not be held and went out unfolded.
         */
        private volatile boolean folding;
        /** The outputs held for the folded answer, copied before the executor's wipe; guarded by sendLock. */
        private Held held;
        private java.util.Set<String> byRoot = java.util.Set.of();
        private Map<String, ByteBuffer> insideStart = Map.of();
        // Guarded by sendLock.
        /** Cache entries taken for inputs sent by root; the node's once submitted, else released by end(). */
        private Map<String, InputCache.Lease> leases = Map.of();
        private long reservation;
        private boolean jobCounted;
        private ScheduledFuture<?> deadline;
        private boolean submitted;
        private volatile NodeAttempt attempt;
        private volatile boolean ended;
        private volatile boolean cancelled;
        /** Guarded by sendLock: the buyer half-closed its side (it sends no more). */
        private boolean buyerHalfClosed;
        /** Guarded by sendLock: a successful stream's close, held until the buyer half-closes. */
        private java.util.concurrent.ScheduledFuture<?> closeLater;
        private volatile Status violation;
        /** A Session's job: the session's other jobs in flight when its Start came (0 on an Execute stream). */
        int othersInFlight;
        /** The job's deadline passed ({@link #expireJob}): the status its end says, once the node let go. */
        private volatile Status expired;

        /** The rest of the outputs, sent as the reader grants credit; guarded by sendLock. */
        private Drain drain;
        /** The call's context, to reset its stream ({@link StreamResets}); null when the server cannot. */
        private final io.grpc.Context.CancellableContext transport;
        /** gRPC reported the stream closed (everything sent and the buyer's half closed). */
        private volatile boolean transportClosed;
        /** The node reset the stream (once). */
        private final java.util.concurrent.atomic.AtomicBoolean resetAsked = new java.util.concurrent.atomic.AtomicBoolean();

        ExecuteCall(ServerCallStreamObserver<ExecuteResponse> out, NodePublicKey peer, String address,
                    boolean inline, io.grpc.Context.CancellableContext transport) {
            this(out, peer, address, inline, transport, false);
        }

        /**
         * @param transport the call's context, to reset its stream; null for a job of a Session
         *                  (whose stall the session's own timer handles: resetting would cut every job on it)
         * @param session   one job of a Session (its refusals name the session, not the header)
         */
        ExecuteCall(ServerCallStreamObserver<ExecuteResponse> out, NodePublicKey peer, String address,
                    boolean inline, io.grpc.Context.CancellableContext transport, boolean session) {
            this.marked = session ? "on a session" : "on a call marked " + InlineCalls.HEADER;
            this.instead = session ? "send a job this large on its own Execute stream"
                    : "send a job this large without the header";
            this.inline = inline;
            this.transport = transport;
            this.out = out;
            this.peer = peer;
            this.address = address;
            this.session = session;
            // A session job's whole request is its Start (as a buyer that half-closes with it):
            // its end is never held for a half-close, so a folded answer goes out inside end(),
            // before end() zeroes the copies it carries, however soon the job finishes.
            this.buyerHalfClosed = session;
            this.received = new Received(cancelledDrains, foldedOutputs, peer);
        }

        /**
         * Until its inputs are complete, a stream must keep sending: it is closed when nothing
         * arrives for the receive idle limit, or when its inputs are not complete within the
         * receive limit, and whatever it held is released.
         */
        /** @return the job as its Start declared it, or null before a Start was accepted */
        ExecutionRequest header() {
            return header;
        }

        /**
         * The job's deadline passed (a Session's job: its session checks it, as gRPC checks an
         * Execute stream's): the job is stopped, queued or running, as a stream whose deadline
         * passed is, and ends with DEADLINE_EXCEEDED once the node has let go of it.
         *
         * @param why what passed, for the buyer
         */
        void expireJob(String why) {
            Status status = Status.DEADLINE_EXCEEDED.withDescription(why);
            NodeAttempt a;
            synchronized (sendLock) {
                if (ended || expired != null) {
                    return;
                }
                if (!submitted) {
                    end(status);
                    return;
                }
                expired = status;
                a = attempt;
            }
            if (a != null) { // else submit() cancels it once it has it
                a.cancel(why);
            }
        }

        void armDeadline() {
            schedule(Math.min(idleNanos, receiveNanos));
        }

        private void schedule(long delayNanos) {
            synchronized (sendLock) {
                if (ended || submitted) {
                    return;
                }
                try {
                    deadline = deadlines.schedule(this::checkDeadline, delayNanos, TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    deadline = null; // the service is closing: the server closes the stream
                }
            }
        }

        private void checkDeadline() {
            long now = System.nanoTime();
            long idleLeft = lastFrameNanos + idleNanos - now;
            long totalLeft = openedNanos + receiveNanos - now;
            if (totalLeft <= 0) {
                expire("inputs not complete " + limits.receiveMillis() + " ms after the stream opened (" + missing
                        + " bytes missing): this node closes streams that receive slower than its receive limit");
            } else if (idleLeft <= 0) {
                expire("nothing received for " + limits.receiveIdleMillis() + " ms while "
                        + (header == null ? "waiting for Start" : missing + " input bytes are missing")
                        + ": this node closes idle receiving streams");
            } else {
                schedule(Math.min(idleLeft, totalLeft));
            }
        }

        private void expire(String why) {
            synchronized (sendLock) {
                if (ended || submitted) {
                    return;
                }
                LOG.debug("Execute stream of peer {} closed: {}", peer.nodeId().shortId(), why);
                end(Status.DEADLINE_EXCEEDED.withDescription(why));
            }
        }

        @Override
        public void onNext(Frame frame) {
            lastFrameNanos = System.nanoTime();
            boolean frameDone = false; // kept (its bytes are the inputs) or already zeroed
            try {
                ExecuteRequest req = frame.message();
                if (ended || violation != null) {
                    return;
                }
                if (req == null) {
                    // Counted here as a malformed stream (not in the server's gate, which counts Malformed's).
                    throw refuse("a message on " + ProviderGrpc.getExecuteMethod().getFullMethodName()
                            + " that is not a valid protobuf message: malformed stream");
                }
                switch (req.getKindCase()) {
                    case START -> frameDone = start(req.getStart(), frame);
                    case INPUT -> {
                        if (inline) {
                            throw refuse("an input chunk " + marked + " (whose job "
                                    + "travels inside its Start): refused; send the header only with every input "
                                    + "inside Start");
                        }
                        if (input(req.getInput())) {
                            // The chunk is copied out: zero its frame before the job is queued,
                            // so the node's wipe (which may run at once) counts it.
                            received.used(frame);
                            frameDone = true;
                            submit();
                        }
                    }
                    case CANCEL -> cancel(req.getCancel().getReason());
                    default -> throw refuse("a message of unknown kind: malformed stream");
                }
            } catch (RefusedException e) {
                violation(e.status);
            } catch (JobTooLargeException e) {
                violation(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()));
            } catch (ProviderRejectedException e) {
                violation(Wire.statusOf(e));
            } catch (DepinException e) {
                violation(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            } catch (RuntimeException e) {
                violation(Status.INVALID_ARGUMENT.withDescription("malformed request: " + e));
            } finally {
                if (!frameDone) {
                    received.used(frame);
                }
            }
        }

        /**
         * Refuses the stream: at once when nothing was submitted; otherwise the attempt is
         * stopped first and the stream ends with this status once the node has let go (its
         * buffers are in use until then).
         */
        private void violation(Status status) {
            malformed(status);
            NodeAttempt a = attempt;
            if (a == null) {
                end(status);
            } else {
                violation = status;
                a.cancel("the buyer broke the protocol: " + status.getDescription());
            }
        }

        /** @return whether the frame is dealt with: kept (its bytes are the job's inputs) or already zeroed */
        private boolean start(Start s, Frame frame) {
            if (header != null) {
                throw refuse("a second Start on one stream: malformed stream");
            }
            JobSpec spec;
            try {
                spec = checkStart(s);
            } catch (RuntimeException e) {
                refusalCounted = true;
                refusedStarts.refused(peer, address, System.nanoTime()); // refused whenever sent: counted
                throw e;
            }
            return accept(s, frame, spec);
        }

        /**
         * Parses the Start and checks what makes this node refuse the job whenever it is sent:
         * the spec, the hold certificate where one is required, the declared input bytes, and
         * the node's kernel, deadline, output and memory limits. Sets {@link #header}.
         */
        /**
         * A call marked {@value InlineCalls#HEADER} runs its callbacks on the event loop, which
         * every other call on that connection's loop waits behind: it may carry only what an
         * honest buyer marks ({@link InlineCalls#qualifies}), inputs and outputs of at most
         * {@link Wire#INLINE_BYTES} each in all, so the mark buys a peer no more loop time than
         * a small job. Checked before the job's certificate, admission or inputs are read.
         */
        private void refuseUnlessInline(JobSpec spec) {
            long in = 0;
            for (InputRef i : spec.inputs()) {
                in += i.bytes();
                if (in > Wire.INLINE_BYTES) {
                    throw new RefusedException(Status.INVALID_ARGUMENT.withDescription("a job that declares more than "
                            + Wire.INLINE_BYTES + " input bytes " + marked + ": refused; " + instead));
                }
            }
            long out = 0;
            for (dev.depin.kernel.BufferDecl d : spec.outputs()) {
                out += d.bytes();
                if (out > Wire.INLINE_BYTES) {
                    throw new RefusedException(Status.INVALID_ARGUMENT.withDescription("a job that declares more than "
                            + Wire.INLINE_BYTES + " output bytes " + marked + ": refused; " + instead));
                }
            }
        }

        private JobSpec checkStart(Start s) {
            JobSpec spec = JobSpec.fromJson(s.getSpecJson().toByteArray());
            if (inline) {
                refuseUnlessInline(spec);
            }
            java.util.Optional<dev.depin.settlement.HoldCertificate> certificate = java.util.Optional.empty();
            if (!s.getHoldCertificate().isEmpty()) {
                try {
                    certificate = java.util.Optional.of(dev.depin.settlement.HoldCertificate.parse(
                            s.getHoldCertificate().toByteArray()));
                } catch (dev.depin.crypto.VerificationException e) {
                    throw new RefusedException(Status.PERMISSION_DENIED.withDescription(e.getMessage()));
                }
            }
            java.time.Duration leave = null;
            if (s.getLeaveOutputsMillis() != 0) {
                leave = java.time.Duration.ofMillis(s.getLeaveOutputsMillis());
                if (s.getLeaveOutputsMillis() < 0 || leave.compareTo(dev.depin.network.spi.Delivery.MAX_LEAVE) > 0) {
                    throw new RefusedException(Status.INVALID_ARGUMENT.withDescription("leave_outputs_millis "
                            + s.getLeaveOutputsMillis() + " is outside 1 ms to " + dev.depin.network.spi.Delivery.MAX_LEAVE));
                }
            }
            // A uint32 above Integer.MAX_VALUE reads negative: still "very far behind" (a hint only).
            int resultsQueued = resultsQueued(s.getResultsQueued(), othersInFlight);
            header = new ExecutionRequest(s.getJobId(), s.getAttempt() < 1 ? 0 : s.getAttempt(), spec, Map.of(),
                    s.getNonce().toByteArray(), certificate, new dev.depin.network.spi.Delivery(java.util.Set.of(), leave),
                    resultsQueued);
            // A private network's node refuses unpaid work here, before it reserves input bytes.
            java.util.Optional<String> unpaid = node.admissionRefusal(header);
            if (unpaid.isPresent()) {
                throw new RefusedException(Status.PERMISSION_DENIED.withDescription(unpaid.get()));
            }
            long total = 0;
            for (InputRef in : spec.inputs()) {
                if (in.bytes() > Integer.MAX_VALUE - 8) {
                    throw new RefusedException(Status.RESOURCE_EXHAUSTED.withDescription("input '" + in.name()
                            + "' declares " + in.bytes() + " bytes; one input holds at most 2 GiB"));
                }
                total += in.bytes();
            }
            if (total > limits.maxInputBytesPerPeer()) {
                throw new RefusedException(Status.RESOURCE_EXHAUSTED.withDescription("job " + header.jobId()
                        + " declares " + total + " input bytes; this node takes at most "
                        + limits.maxInputBytesPerPeer() + " per peer (" + limits.maxInputBytes() + " in all)"));
            }
            // Kernel, deadline, output and working-memory limits (payment was checked above, with
            // its own status): refused before a byte of input is held.
            node.admit(header.spec());
            return spec;
        }

        /** Counts the job for the peer (refused when its share is in use) and sets up its inputs. */
        private boolean accept(Start s, Frame frame, JobSpec spec) {
            synchronized (sendLock) {
                if (ended) {
                    return false;
                }
                long outputBytes = 0;
                for (dev.depin.kernel.BufferDecl d : spec.outputs()) {
                    // Each within maxOutputBytes (node.admit checked); none sent when they stay here.
                    outputBytes += s.getLeaveOutputsMillis() == 0 ? d.bytes() : 0;
                }
                String busy = ledger.startJob(peer, header.jobId(), outputBytes);
                if (busy != null) {
                    throw new RefusedException(Status.RESOURCE_EXHAUSTED.withDescription(busy));
                }
                jobCounted = true;
            }
            compact = s.getCompact();
            keepInputs = s.getKeepInputs();
            keepOutputs = s.getKeepOutputs();
            wipeMayFollow = s.getWipeMayFollow();
            buffersInPlace = s.getBuffersInPlace();
            batchedParts = s.getBatchedParts();
            folding = session && foldSessionEnds && s.getFolded();
            byRoot = byRoot(spec, s.getByRootList());
            List<String> need = new ArrayList<>();
            if (!byRoot.isEmpty()) {
                // Only this peer's own entries: a root it never sent is a miss, and its bytes are asked for.
                java.util.Optional<InputCache> cache = node.inputCache();
                Map<String, InputCache.Lease> held = new HashMap<>();
                for (InputRef in : spec.inputs()) {
                    if (byRoot.contains(in.name())) {
                        java.util.Optional<InputCache.Lease> l = cache.isPresent()
                                ? cache.get().acquire(peer.nodeId().hex(), in) : java.util.Optional.empty();
                        if (l.isPresent()) {
                            held.put(in.name(), l.get());
                        } else {
                            need.add(in.name());
                        }
                    }
                }
                synchronized (sendLock) {
                    if (ended) {
                        held.values().forEach(InputCache.Lease::close);
                        return false;
                    }
                    leases = held; // released by end() unless handed to the node
                }
            }
            boolean kept = false;
            if (s.getInputsCount() > 0) {
                reserve(frame.bytes().length); // the frame is held until the job is wiped
                insideStart = inline(spec, s.getInputsList());
                received.keep(frame); // before submit: the node's wipe may run as soon as it is queued
                kept = true;
            }
            inputs = new LinkedHashMap<>();
            long awaited = 0;
            for (InputRef in : spec.inputs()) {
                boolean expected = byRoot.contains(in.name()) ? need.contains(in.name())
                        : !insideStart.containsKey(in.name());
                if (expected) {
                    inputs.put(in.name(), new Incoming(in.name(), (int) in.bytes()));
                    awaited += in.bytes();
                }
            }
            received.assembling(inputs);
            missing = awaited;
            if (missing == 0) {
                if (!kept) {
                    received.used(frame); // before the job is queued, as for a last chunk
                }
                submit();
                return true;
            }
            if (!need.isEmpty()) {
                // One message, only on a miss: the common case (every root held) costs no round trip.
                send(ExecuteResponse.newBuilder().setNeed(Need.newBuilder().addAllNames(need)).build());
            }
            return kept;
        }

        /** The inputs Start sends by root: declared, each once. */
        private java.util.Set<String> byRoot(JobSpec spec, List<String> names) {
            java.util.Set<String> declared = new java.util.HashSet<>();
            spec.inputs().forEach(in -> declared.add(in.name()));
            java.util.Set<String> set = new java.util.LinkedHashSet<>();
            for (String n : names) {
                if (!declared.contains(n)) {
                    throw refuse("input '" + Wire.shorten(n) + "' sent by root is not declared by job "
                            + header.jobId() + " (it declares " + declared + ")");
                }
                if (!set.add(n)) {
                    throw refuse("input '" + n + "' sent by root twice: malformed stream");
                }
            }
            return set;
        }

        /** Every declared input, whole, inside Start: views of the received frame, no copy. */
        private Map<String, ByteBuffer> inline(JobSpec spec, List<InputChunk> chunks) {
            Map<String, InputRef> declared = new HashMap<>();
            spec.inputs().forEach(in -> declared.put(in.name(), in));
            Map<String, ByteBuffer> ready = new LinkedHashMap<>();
            for (InputChunk c : chunks) {
                InputRef in = declared.get(c.getName());
                if (in != null && byRoot.contains(in.name())) {
                    throw refuse("input '" + in.name() + "' is sent by root and inside Start: malformed stream");
                }
                if (in == null) {
                    throw refuse("input '" + Wire.shorten(c.getName()) + "' is not declared by job " + header.jobId()
                            + " (it declares " + declared.keySet() + ")");
                }
                if (c.getData().size() != in.bytes()) {
                    throw refuse("input '" + in.name() + "' inside Start has " + c.getData().size()
                            + " bytes but the spec declares " + in.bytes() + ": send inputs whole or in chunks");
                }
                if (ready.put(in.name(), c.getData().asReadOnlyByteBuffer()) != null) {
                    throw refuse("input '" + in.name() + "' twice inside Start: malformed stream");
                }
            }
            if (ready.size() + byRoot.size() != declared.size()) {
                throw refuse("Start carries inputs " + ready.keySet() + " but job " + header.jobId() + " declares "
                        + declared.keySet() + (byRoot.isEmpty() ? ": send every input inside Start, or none"
                        : " and sends " + byRoot + " by root: send every other input inside Start, or none"));
            }
            return ready;
        }

        /**
         * Copies one chunk into its input's buffer, which grows (at most doubling, never past
         * the declared size) as bytes arrive: a stream holds what it sent, not what it
         * announced.
         *
         * @return whether every input is now complete (the job is ready to submit)
         */
        private boolean input(InputChunk c) {
            if (header == null) {
                throw refuse("input before Start: malformed stream");
            }
            if (attempt != null) {
                throw refuse("input '" + Wire.shorten(c.getName()) + "' after every input was complete: refused");
            }
            Incoming in = inputs.get(c.getName());
            if (in == null && byRoot.contains(c.getName())) {
                throw refuse("input '" + c.getName() + "' was sent by root and this node holds it: no bytes of it "
                        + "may follow");
            }
            if (in == null && insideStart.containsKey(c.getName())) {
                throw refuse("input '" + c.getName() + "' came inside Start: no chunk of it may follow");
            }
            if (in == null) {
                throw refuse("input '" + Wire.shorten(c.getName()) + "' is not declared by job " + header.jobId()
                        + " (it declares " + inputs.keySet() + ")");
            }
            int n = c.getData().size();
            if (n > in.declared - in.filled) {
                throw refuse("input '" + in.name + "' grows past its declared " + in.declared + " bytes: refused");
            }
            int need = in.filled + n;
            if (need > in.data.length) {
                int grown = (int) Math.min(in.declared, Math.max(need, Math.max(FIRST_ALLOCATION,
                        2L * in.data.length)));
                reserve(grown - in.data.length);
                received.grow(in, grown);
            }
            received.write(in, c.getData());
            missing -= n;
            return missing == 0;
        }

        /** Counts {@code n} more held bytes against the node's and the peer's input limits. */
        private void reserve(long n) {
            synchronized (sendLock) {
                if (ended) {
                    throw new RefusedException(Status.CANCELLED.withDescription("the stream has ended"));
                }
                String why = ledger.reserve(peer, address, n);
                if (why != null) {
                    throw new RefusedException(Status.RESOURCE_EXHAUSTED.withDescription(why));
                }
                reservation += n;
            }
        }

        private void submit() {
            Map<String, ByteBuffer> ready = new LinkedHashMap<>(insideStart);
            inputs.forEach((k, v) -> ready.put(k, ByteBuffer.wrap(v.data, 0, v.filled)));
            ExecutionRequest request = new ExecutionRequest(header.jobId(), header.attempt(), header.spec(), ready,
                    header.nonce(), header.holdCertificate(), header.delivery(), header.resultsQueued());
            synchronized (sendLock) {
                if (ended) {
                    return; // closed meanwhile (deadline or cancel): its buffers are released
                }
                submitted = true; // the receive deadlines no longer apply
                if (deadline != null) {
                    deadline.cancel(false);
                    deadline = null;
                }
            }
            // Not under sendLock: the node reports progress, which sends under that lock, from
            // its worker while holding the attempt's own monitor. The node owns the leases now.
            NodeAttempt a = node.submit(request, this::progress, this, received, peer.nodeId().hex(),
                    new InputCaching(keepInputs, leases, keepOutputs, buffersInPlace));
            attempt = a;
            // A large job's receipt, released before the wipe, goes out at once to a buyer that
            // takes it so; the attestation follows with the result. Whether it went is known before
            // the result is sent: the node completes the receipt before (or as) the result.
            CompletableFuture<Boolean> receiptSent = wipeMayFollow
                    ? a.receiptBeforeWipe().thenApply(receipt -> receipt != null && sendReceiptFirst(a, receipt))
                    : CompletableFuture.completedFuture(false);
            a.result().whenComplete((r, e) -> receiptSent.whenComplete((sent, x) -> {
                if (r != null && folding && !Boolean.TRUE.equals(sent)) {
                    // One message for the outputs, the Result and the end, once the node let go.
                    a.released().whenComplete((v, e2) -> endFolded(a, r));
                    return;
                }
                boolean delivered = false;
                if (r != null) {
                    try {
                        if (Boolean.TRUE.equals(sent)) {
                            send(ExecuteResponse.newBuilder().setWipe(WipeFollowing.newBuilder().setWipeEnvelope(
                                    UnsafeByteOperations.unsafeWrap(r.wipe().toJsonBytes()))).build());
                        } else {
                            sendResult(a, r);
                        }
                        delivered = true;
                    } catch (RuntimeException sendFailed) {
                        LOG.debug("result of job {} not sent: {}", r.jobId(), sendFailed.toString());
                    }
                }
                if (!delivered) {
                    // The cancelled drains its attestation listed are owed to the peer's next one.
                    received.giveBack();
                }
                a.released().whenComplete((v, e2) -> end(violation != null ? violation
                        : e == null ? Status.OK : expired != null ? expired : Wire.statusOf(e)));
            }));
            if (cancelled) {
                a.cancel("the buyer's stream ended");
            } else if (expired != null) {
                a.cancel(expired.getDescription());
            }
        }

        private void cancel(String reason) {
            NodeAttempt a = attempt;
            if (a != null) {
                a.cancel("buyer: " + Wire.shorten(reason));
            } else {
                end(Status.CANCELLED.withDescription("cancelled by the buyer before the inputs were complete"));
            }
        }

        @Override
        public void onError(Throwable t) {
            onCallCancelled();
        }

        @Override
        public void onCompleted() {
            synchronized (sendLock) {
                buyerHalfClosed = true;
                if (closeLater != null && closeLater.cancel(false)) {
                    closeLater = null;
                    closeOk();
                }
            }
            if (attempt == null && !ended) {
                Status malformed = Status.INVALID_ARGUMENT.withDescription(header == null ? "stream ended before Start"
                        : "stream ended with " + missing + " input bytes missing");
                malformed(malformed);
                end(malformed);
            }
        }

        /** The buyer cancelled, its deadline passed, the connection broke, or the node reset the stream. */
        void onCallCancelled() {
            cancelled = true;
            ending.remove(this);
            synchronized (readyLock) {
                readyLock.notifyAll();
            }
            Drain d;
            synchronized (sendLock) {
                d = drain;
            }
            if (d != null) {
                d.fail(new NetworkException("the buyer's stream ended (cancelled, deadline passed or connection lost) "
                        + "while outputs were being sent"));
            }
            NodeAttempt a = attempt;
            if (a != null) {
                a.cancel("the buyer's stream ended (cancelled, deadline passed or connection lost)");
            } else {
                end(Status.CANCELLED);
            }
        }

        void onReady() {
            synchronized (readyLock) {
                readyLock.notifyAll();
            }
            Drain d;
            synchronized (sendLock) {
                d = drain;
            }
            if (d != null) {
                d.pump();
            }
        }

        private void progress(ComputeNetwork.Progress p) {
            if (compact || p == ComputeNetwork.Progress.FIRST_BYTE) {
                // Compact: the buyer reads its first output or the result as ACCEPTED and RUNNING.
                // FIRST_BYTE is the buyer's transport's to report, never the node's.
                return;
            }
            send(ExecuteResponse.newBuilder().setProgress(Progress.newBuilder().setStage(
                    p == ComputeNetwork.Progress.ACCEPTED ? Progress.Stage.ACCEPTED : Progress.Stage.RUNNING)).build());
        }

        /**
         * On the node's worker: sends the outputs from the executor's buffers while the stream
         * has flow-control credit; when it has none, copies the rest into a {@link Drain} (within
         * the node's and the peer's budgets for unread outputs) and returns it, so the worker
         * moves on. A rest larger than a peer may hold at all is sent from this worker as the
         * reader grants credit, as {@link #write} does.
         */
        @Override
        public java.util.Optional<OutputDrain> sendAll(Map<String, ByteBuffer> outputs) {
            if (folding) {
                if (hold(outputs)) {
                    return java.util.Optional.empty(); // sent with the Result and the end, in one message
                }
                folding = false; // sent now: the Result and the end follow as separate messages
            }
            List<String> names = new ArrayList<>(outputs.keySet());
            List<ByteBuffer> rests = new ArrayList<>();
            outputs.values().forEach(b -> rests.add(b.duplicate()));
            boolean waitHere = false;
            for (int i = 0; i < names.size(); i++) {
                ByteBuffer rest = rests.get(i);
                while (rest.hasRemaining()) {
                    if (!out.isReady()) {
                        if (!waitHere) {
                            Drain d = detach(names.subList(i, names.size()), rests.subList(i, rests.size()));
                            if (d != null) {
                                return java.util.Optional.of(d);
                            }
                            waitHere = true;
                        }
                        awaitReady();
                    }
                    int n = Math.min(rest.remaining(), Wire.CHUNK_BYTES);
                    ByteBuffer part = rest.slice().limit(n);
                    rest.position(rest.position() + n);
                    // No copy: gRPC serializes the message into its own buffers inside onNext, while
                    // the executor's output (wiped after this returns) still holds the bytes.
                    send(ExecuteResponse.newBuilder().setOutput(OutputChunk.newBuilder().setName(names.get(i))
                            .setData(UnsafeByteOperations.unsafeWrap(part))).build());
                }
            }
            return java.util.Optional.empty();
        }

        /**
         * Copies the outputs out of the executor's buffers (which the node wipes next) for the
         * folded answer, reserved against the peer's and the node's budgets for unread outputs
         * as a drain's copies are. A session job's outputs are at most {@link Wire#INLINE_BYTES}
         * in all, so the folded message stays one chunk of outputs plus the Result.
         *
         * @return whether they are held; false (no room in the budgets, or more than one chunk):
         *         the caller sends them now, unfolded
         */
        private boolean hold(Map<String, ByteBuffer> outputs) {
            long total = 0;
            for (ByteBuffer b : outputs.values()) {
                total += b.remaining();
            }
            if (total > Wire.INLINE_BYTES) {
                return false;
            }
            synchronized (sendLock) {
                if (ended || cancelled) {
                    throw new NetworkException("the buyer's stream has ended");
                }
                if (total > 0 && ledger.reserveDrain(peer, total) != null) {
                    return false;
                }
                List<String> names = new ArrayList<>(outputs.size());
                List<byte[]> copies = new ArrayList<>(outputs.size());
                for (Map.Entry<String, ByteBuffer> o : outputs.entrySet()) {
                    byte[] copy = new byte[o.getValue().remaining()];
                    o.getValue().duplicate().get(copy);
                    names.add(o.getKey());
                    copies.add(copy);
                }
                held = new Held(names, copies, total);
            }
            return true;
        }

        /**
         * The job's end for a buyer that takes it folded: once the node let go (work stopped,
         * buffers wiped, attestation signed), its held outputs, its Result and its end go as one
         * message, in place of its JobEnded; a job whose buyer broke the protocol meanwhile is
         * told as before (outputs, Result, then the end with that status).
         */
        private void endFolded(NodeAttempt a, NodeResult r) {
            Status broke = violation;
            boolean delivered = false;
            if (broke == null) {
                try {
                    SessionJob job = (SessionJob) out;
                    dev.depin.grpc.internal.wire.Folded.Builder f = dev.depin.grpc.internal.wire.Folded.newBuilder();
                    synchronized (sendLock) {
                        if (held != null) {
                            for (int i = 0; i < held.names.size(); i++) {
                                // Not copied again: gRPC serializes the message inside onNext, and
                                // end() zeroes the copies after.
                                f.addOutputs(OutputChunk.newBuilder().setName(held.names.get(i))
                                        .setData(UnsafeByteOperations.unsafeWrap(held.copies.get(i))));
                            }
                        }
                    }
                    f.setResult(result(a, r));
                    job.fold = f;
                    end(Status.OK); // the session sends the folded message as this job's end
                    delivered = job.foldSent;
                } catch (RuntimeException e) {
                    LOG.debug("folded answer of job {} not sent: {}", r.jobId(), e.toString());
                    end(Status.INTERNAL.withDescription("the node could not send the job's answer: " + e));
                }
            } else {
                try {
                    sendHeld();
                    sendResult(a, r);
                    delivered = true;
                } catch (RuntimeException e) {
                    LOG.debug("result of job {} not sent: {}", r.jobId(), e.toString());
                }
                end(broke);
            }
            if (!delivered) {
                received.giveBack();
            }
        }

        /** Sends the held outputs unfolded (their copies are zeroed by end()). */
        private void sendHeld() {
            synchronized (sendLock) {
                if (held != null) {
                    for (int i = 0; i < held.names.size(); i++) {
                        byte[] b = held.copies.get(i);
                        for (int at = 0; at < b.length; at += Wire.CHUNK_BYTES) {
                            send(ExecuteResponse.newBuilder().setOutput(OutputChunk.newBuilder().setName(held.names
                                    .get(i)).setData(UnsafeByteOperations.unsafeWrap(b, at,
                                    Math.min(Wire.CHUNK_BYTES, b.length - at)))).build());
                        }
                    }
                }
            }
        }

        /** Zeroes the held copies (checked), owes them to the peer's next attestation, releases their budget; under sendLock. */
        private void dropHeld() {
            if (held == null) {
                return;
            }
            long bytes = 0;
            for (byte[] b : held.copies) {
                if (b.length > 0) {
                    HostWipe.wipe(CancelledDrains.FOLDED_LABEL, b, (byte) 0);
                    bytes += b.length;
                }
            }
            foldedOutputs.add(peer, bytes);
            if (held.reserved > 0) {
                ledger.releaseDrain(peer, held.reserved);
            }
            held = null;
        }

        /**
         * Copies the unsent rest of the outputs into a drain, reserved against the budgets.
         *
         * @return the drain, already sending; null when the rest is more than one peer may hold
         *         (the caller then sends it itself)
         * @throws ProviderRejectedException when the peer or the node already holds too much
         */
        private Drain detach(List<String> names, List<ByteBuffer> rests) {
            long total = 0;
            for (ByteBuffer b : rests) {
                total += b.remaining();
            }
            if (total > limits.maxDrainBytesPerPeer()) {
                return null;
            }
            Drain d;
            synchronized (sendLock) {
                if (ended || cancelled) {
                    throw new NetworkException("the buyer's stream has ended");
                }
                String why = ledger.reserveDrain(peer, total);
                if (why != null) {
                    throw new ProviderRejectedException(why);
                }
                List<String> held = new ArrayList<>();
                List<byte[]> copies = new ArrayList<>();
                for (int i = 0; i < names.size(); i++) {
                    ByteBuffer b = rests.get(i);
                    if (b.hasRemaining()) {
                        byte[] copy = new byte[b.remaining()];
                        b.duplicate().get(copy);
                        held.add(names.get(i));
                        copies.add(copy);
                    }
                }
                d = new Drain(held, copies, total);
                drain = d;
                drains.incrementAndGet();
            }
            d.armStall(stallNanos);
            d.pump();
            return d;
        }

        /** The plain sink (a node that does not hand over all outputs at once): sends from this thread. */
        @Override
        public void write(String name, ByteBuffer chunk) {
            ByteBuffer rest = chunk.duplicate();
            while (rest.hasRemaining()) {
                int n = Math.min(rest.remaining(), Wire.CHUNK_BYTES);
                ByteBuffer part = rest.slice().limit(n);
                rest.position(rest.position() + n);
                awaitReady();
                // No copy: gRPC serializes the message into its own buffers inside onNext, while
                // the executor's output (wiped after the send) still holds the bytes.
                send(ExecuteResponse.newBuilder().setOutput(OutputChunk.newBuilder().setName(name)
                        .setData(UnsafeByteOperations.unsafeWrap(part))).build());
            }
        }

        private void awaitReady() {
            long until = System.nanoTime() + stallNanos;
            synchronized (readyLock) {
                while (!out.isReady() || cancelled || ended) {
                    if (cancelled || ended) {
                        throw new NetworkException("the buyer's stream ended while outputs were being sent");
                    }
                    long left = until - System.nanoTime();
                    if (left <= 0) {
                        String why = "the buyer read no output for " + TimeUnit.NANOSECONDS.toMillis(stallNanos)
                                + " ms: attempt stopped";
                        resetStalled(why);
                        throw new NetworkException(why);
                    }
                    try {
                        readyLock.wait(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(left))));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new NetworkException("interrupted while waiting for the buyer to read outputs");
                    }
                }
            }
        }

        private void sendResult(NodeAttempt a, NodeResult r) {
            send(ExecuteResponse.newBuilder().setResult(result(a, r)).build());
        }

        /** @return the Result message of a finished attempt */
        private Result.Builder result(NodeAttempt a, NodeResult r) {
            Result.Builder b = Result.newBuilder().setJobId(r.jobId()).setAttempt(r.attempt())
                    .setProvider(r.provider().hex()).setExecutorKind(r.executorKind())
                    .setStartedAtEpochNanos(nanos(r.startedAt())).setEndedAtEpochNanos(nanos(r.endedAt()))
                    .setDeviceNanos(r.deviceNanos());
            // Each JSON array is fresh and never written again: wrapped, not copied.
            if (r.batched() != null && batchedParts) {
                b.setBatchedParts(BatchedWire.parts(r.batched()));
            } else if (r.batched() != null) {
                b.setBatchedReceipt(UnsafeByteOperations.unsafeWrap(r.batched().toJsonBytes()));
            } else {
                b.setReceiptEnvelope(UnsafeByteOperations.unsafeWrap(r.receipt().toJsonBytes()))
                        .setWipeEnvelope(UnsafeByteOperations.unsafeWrap(r.wipe().toJsonBytes()));
            }
            return kept(a, b);
        }

        /**
         * Sends a large job's receipt, signed before the wipe, as a Result that says its wipe
         * attestation follows (on the node's worker, before the wipe).
         *
         * @return whether it was sent (else the stream has ended, and the result is not sent either)
         */
        private boolean sendReceiptFirst(NodeAttempt a, Envelope receipt) {
            try {
                sendHeld(); // outputs always precede the Result
                ExecutionReceipt stated = ExecutionReceipt.readUnverified(receipt);
                Result.Builder b = Result.newBuilder().setJobId(stated.jobId()).setAttempt(stated.attempt())
                        .setProvider(node.nodeId().hex()).setExecutorKind(stated.executorKind())
                        .setStartedAtEpochNanos(nanos(stated.startedAt()))
                        .setEndedAtEpochNanos(nanos(stated.endedAt())).setDeviceNanos(stated.deviceTimeNanos())
                        .setReceiptEnvelope(UnsafeByteOperations.unsafeWrap(receipt.toJsonBytes()))
                        .setWipeFollows(true);
                send(ExecuteResponse.newBuilder().setResult(kept(a, b)).build());
                return true;
            } catch (RuntimeException e) {
                LOG.debug("receipt of job {} not sent before its wipe: {}", header.jobId(), e.toString());
                return false;
            }
        }

        /** Adds the inputs and outputs the node now holds for the buyer. */
        private Result.Builder kept(NodeAttempt a, Result.Builder b) {
            header.spec().inputs().stream().map(InputRef::name).filter(a.inputsKept()::contains)
                    .forEach(b::addKeptInputs);
            header.spec().outputs().stream().map(dev.depin.kernel.BufferDecl::name)
                    .filter(a.outputsKept()::contains).forEach(b::addKeptOutputs);
            return b;
        }

        private void send(ExecuteResponse m) {
            synchronized (sendLock) {
                if (ended || cancelled) {
                    throw new NetworkException("the buyer's stream has ended");
                }
                out.onNext(m);
            }
        }

        /** Ends a successful stream with its trailers; under sendLock. */
        /** gRPC reports the stream closed: the buyer took everything and half-closed. */
        void onTransportClosed() {
            transportClosed = true;
            ending.remove(this);
        }

        /**
         * The buyer took nothing for the stall limit: resets its stream, so the transport drops
         * what it queued for it (the status included: the buyer reads nothing anyway).
         */
        void resetStalled(String why) {
            if (transport == null || transportClosed || cancelled || transport.isCancelled()
                    || !resetAsked.compareAndSet(false, true)) {
                return;
            }
            resets.incrementAndGet(); // first: the buyer may see the reset before cancel returns
            StreamResets.reset(transport, why);
        }

        private void closeOk() {
            if (cancelled) {
                return;
            }
            try {
                out.onCompleted();
            } catch (RuntimeException e) {
                LOG.debug("closing an Execute stream failed: {}", e.toString());
            }
        }

        /** Closes the stream once, frees and wipes the receive buffers, releases what it held. */
        private void end(Status status) {
            synchronized (sendLock) {
                if (ended) {
                    return;
                }
                ended = true;
                if (deadline != null) {
                    deadline.cancel(false);
                    deadline = null;
                }
                try {
                    if (!cancelled) {
                        if (status.isOk() && !buyerHalfClosed) {
                            // The buyer half-closes once it has the result; closing first makes its
                            // gRPC cancel its open half with RST_STREAM, one per job, and at about
                            // 1,000 jobs/s the rapid-reset guard (maxRstFramesPerWindow) would send
                            // honest buyers GOAWAY. Hold the close for that half-close, briefly.
                            // Everything the stream held is released below as before.
                            try {
                                closeLater = deadlines.schedule(() -> {
                                    synchronized (sendLock) {
                                        if (closeLater != null) {
                                            closeLater = null;
                                            closeOk();
                                        }
                                    }
                                }, HALF_CLOSE_GRACE_MS, TimeUnit.MILLISECONDS);
                            } catch (RejectedExecutionException e) {
                                closeOk(); // the service is closing
                            }
                        } else if (status.isOk()) {
                            out.onCompleted();
                        } else {
                            out.onError(status.asRuntimeException());
                        }
                    }
                } catch (RuntimeException e) {
                    LOG.debug("closing an Execute stream failed: {}", e.toString());
                }
                received.release();
                dropHeld(); // after the folded message (if any) was handed to gRPC above
                if (drain != null) {
                    drain.fail(new NetworkException("the stream ended while outputs were being sent"));
                }
                if (!submitted) {
                    leases.values().forEach(InputCache.Lease::close);
                }
                ledger.release(peer, address, reservation);
                reservation = 0;
                if (jobCounted) {
                    ledger.endJob(peer);
                    jobCounted = false;
                }
                ledger.closeStream(peer, address);
                if (!cancelled && !transportClosed && transport != null) {
                    ending.put(this, System.nanoTime()); // until gRPC reports the end taken
                }
            }
            synchronized (readyLock) {
                readyLock.notifyAll();
            }
        }

        private RefusedException refuse(String why) {
            return new RefusedException(Status.INVALID_ARGUMENT.withDescription(why));
        }

        /**
         * Counts a malformed stream (INVALID_ARGUMENT: a frame that is not protobuf, a second
         * Start, an input not declared, a stream ended before its inputs) as a refused Start of
         * its peer and address, once per stream: no buyer of this SDK sends one.
         */
        private void malformed(Status status) {
            if (status.getCode() == Status.Code.INVALID_ARGUMENT && !refusalCounted) {
                refusalCounted = true;
                refusedStarts.refused(peer, address, System.nanoTime());
            }
        }

        /**
         * The rest of a finished job's outputs, copied out of the executor before its wipe and
         * sent whenever the stream is ready (gRPC's onReady), without a worker. A reader that
         * takes nothing for the stall limit has the drain stopped. Its copies are wiped with the
         * job's pattern once the last byte was handed to gRPC (the node then signs the
         * attestation that lists them), or zeroed at once when it stops; those zeroed bytes are
         * listed in the peer's next attestation ({@link CancelledDrains}).
         */
        private record Held(List<String> names, List<byte[]> copies, long reserved) {
        }

        private final class Drain implements OutputDrain {
            private static final String LABEL = "transport:drain:";
            private final CompletableFuture<Void> drained = new CompletableFuture<>();
            private final List<String> names;
            private final List<byte[]> copies;
            // Guarded by sendLock.
            private long reserved;
            private int index;
            private int at;
            private boolean over;
            private long progressNanos = System.nanoTime();
            private ScheduledFuture<?> stall;

            Drain(List<String> names, List<byte[]> copies, long reserved) {
                this.names = names;
                this.copies = copies;
                this.reserved = reserved;
            }

            void armStall(long delayNanos) {
                synchronized (sendLock) {
                    if (over) {
                        return;
                    }
                    try {
                        stall = deadlines.schedule(this::checkStall, delayNanos, TimeUnit.NANOSECONDS);
                    } catch (RejectedExecutionException e) {
                        stall = null; // the service is closing: the server cancels the stream
                    }
                }
            }

            private void checkStall() {
                long left;
                synchronized (sendLock) {
                    if (over) {
                        return;
                    }
                    left = progressNanos + stallNanos - System.nanoTime();
                }
                if (left <= 0) {
                    String why = "the buyer read no output for " + TimeUnit.NANOSECONDS.toMillis(stallNanos)
                            + " ms: attempt stopped";
                    fail(new NetworkException(why));
                    resetStalled(why);
                } else {
                    armStall(left);
                }
            }

            /** Sends while the stream is ready; completes the drain after its last byte. */
            void pump() {
                boolean finished = false;
                RuntimeException broken = null;
                synchronized (sendLock) {
                    if (over) {
                        return;
                    }
                    if (!ended && !cancelled) {
                        try {
                            while (index < copies.size() && out.isReady()) {
                                byte[] b = copies.get(index);
                                int n = Math.min(b.length - at, Wire.CHUNK_BYTES);
                                // gRPC serializes the message inside onNext: the copy may be wiped after.
                                out.onNext(ExecuteResponse.newBuilder().setOutput(OutputChunk.newBuilder()
                                        .setName(names.get(index)).setData(UnsafeByteOperations.unsafeWrap(b, at, n)))
                                        .build());
                                at += n;
                                progressNanos = System.nanoTime();
                                if (at == b.length) {
                                    index++;
                                    at = 0;
                                }
                            }
                        } catch (RuntimeException e) {
                            broken = e;
                        }
                        if (broken == null && index < copies.size()) {
                            return; // onReady calls again
                        }
                        if (broken == null) {
                            over = true;
                            stopTimer();
                            finished = true;
                        }
                    }
                }
                if (finished) {
                    drained.complete(null); // the node wipes the copies and signs, on this thread
                } else {
                    fail(new NetworkException("the buyer's stream ended while outputs were being sent"
                            + (broken == null ? "" : ": " + broken)));
                }
            }

            @Override
            public CompletableFuture<Void> drained() {
                return drained;
            }

            @Override
            public List<WipeRecord> wipe(byte pattern) {
                List<WipeRecord> records = new ArrayList<>();
                synchronized (sendLock) {
                    for (int i = 0; i < copies.size(); i++) {
                        records.add(HostWipe.wipe(LABEL + names.get(i), copies.get(i), pattern));
                    }
                    releaseBudget();
                }
                return records;
            }

            @Override
            public void cancel(String reason) {
                fail(new ExecutionCancelledException("outputs not sent: " + reason));
            }

            /** Stops the drain unless it is over: zeroes its copies (checked) and releases the budget. */
            void fail(RuntimeException why) {
                synchronized (sendLock) {
                    if (over && reserved == 0) {
                        return; // wiped or zeroed already
                    }
                    boolean wasOver = over;
                    over = true;
                    stopTimer();
                    if (wasOver) {
                        // Sent, but the node never wiped it (it failed meanwhile): zero it now.
                        zero();
                        return;
                    }
                    zero();
                }
                drained.completeExceptionally(why);
            }

            private void zero() {
                long bytes = 0;
                for (byte[] b : copies) {
                    HostWipe.wipe(CancelledDrains.LABEL, b, (byte) 0);
                    bytes += b.length;
                }
                cancelledDrains.add(peer, bytes);
                releaseBudget();
            }

            private void releaseBudget() {
                if (reserved > 0) {
                    ledger.releaseDrain(peer, reserved);
                    reserved = 0;
                    drains.decrementAndGet();
                }
            }

            private void stopTimer() {
                if (stall != null) {
                    stall.cancel(false);
                    stall = null;
                }
            }
        }
    }

    /**
     * What the stream received and still holds: the frame whose bytes are the inputs (inputs
     * inside Start), or the buffers the chunks were copied into. Other frames are zeroed as
     * soon as they were used, and counted. The node wipes what is held with the job's pattern
     * and lists it in the attestation; whatever the node never wiped (refused, cancelled or
     * failed attempts) is zeroed when the stream ends.
     */
    private static final class Received implements TransportBuffers {
        private static final String FRAMES = "transport:received-frames";
        private static final String OUTGROWN = "transport:outgrown-input-buffers";
        private byte[] kept;
        private Map<String, Incoming> assembled = Map.of();
        private long zeroedFrameBytes;
        private long zeroedOutgrownBytes;
        private boolean released;
        /** The bytes of the peer's cancelled drains and sent folded outputs owed to its next attestation. */
        private final CancelledDrains drains;
        private final CancelledDrains folds;
        private final NodePublicKey peer;
        /** What this attempt's attestation took of them: owed again if it is never delivered. */
        private long drainsTaken;
        private long foldsTaken;

        Received(CancelledDrains drains, CancelledDrains folds, NodePublicKey peer) {
            this.drains = drains;
            this.folds = folds;
            this.peer = peer;
        }

        /** The owed bytes this attempt's attestation listed are owed again (it was not delivered). */
        synchronized void giveBack() {
            drains.add(peer, drainsTaken);
            folds.add(peer, foldsTaken);
            drainsTaken = 0;
            foldsTaken = 0;
        }

        synchronized void keep(Frame frame) {
            kept = frame.bytes();
        }

        synchronized void assembling(Map<String, Incoming> buffers) {
            assembled = buffers;
        }

        /** Moves an input into a larger array; the old one is zeroed (checked) and counted. */
        synchronized void grow(Incoming in, int capacity) {
            if (released) {
                throw new NetworkException("the stream has ended");
            }
            byte[] old = in.data;
            in.data = Arrays.copyOf(old, capacity);
            if (old.length > 0) {
                HostWipe.wipe(OUTGROWN, old, (byte) 0);
                zeroedOutgrownBytes += old.length;
            }
        }

        /** Appends a chunk's bytes; the stream may have been closed meanwhile (a deadline). */
        synchronized void write(Incoming in, ByteString data) {
            if (released) {
                throw new NetworkException("the stream has ended");
            }
            data.copyTo(in.data, in.filled);
            in.filled += data.size();
        }

        /** Zeroes a frame that was used (copied out, or refused), checking every byte. */
        synchronized void used(Frame frame) {
            byte[] b = frame.bytes();
            if (b.length > 0) {
                HostWipe.wipe(FRAMES, b, (byte) 0);
                zeroedFrameBytes += b.length;
            }
        }

        @Override
        public synchronized List<WipeRecord> wipe(byte pattern) {
            List<WipeRecord> records = new ArrayList<>();
            if (kept != null) {
                records.add(HostWipe.wipe("transport:received-start", kept, pattern));
            }
            assembled.forEach((name, in) -> records.add(HostWipe.wipe("transport:received:" + name, in.data,
                    pattern)));
            zeroed(records, FRAMES, zeroedFrameBytes);
            zeroed(records, OUTGROWN, zeroedOutgrownBytes);
            long bytes = drains.take(peer);
            drainsTaken += bytes;
            zeroed(records, drains.label, bytes);
            bytes = folds.take(peer);
            foldsTaken += bytes;
            zeroed(records, folds.label, bytes);
            return records;
        }

        /** Buffers already overwritten with zeros and read back when they were let go. */
        private static void zeroed(List<WipeRecord> records, String label, long bytes) {
            if (bytes > 0) {
                records.add(new WipeRecord(WipeRecord.HOST, label, bytes, bytes, 0,
                        WipeRecord.HOST_READBACK_COMPARE, HostWipe.checkDigest(WipeRecord.HOST, label, bytes, 0, 0)));
            }
        }

        /** The stream ended: zero whatever is held, wiped by the node or not. */
        synchronized void release() {
            released = true;
            if (kept != null) {
                Arrays.fill(kept, (byte) 0);
            }
            assembled.values().forEach(in -> Arrays.fill(in.data, (byte) 0));
        }
    }

    /**
     * Output bytes of drains that stopped (their reader stalled or went away) per peer, zeroed
     * and read back when they stopped, owed to that peer's next wipe attestation as one record
     * ({@value #LABEL}, pattern 00), as the input cache owes its evictions. At most
     * {@value #MAX_PEERS} peers are remembered: a peer that never comes back is forgotten first.
     */
    private static final class CancelledDrains {
        static final String LABEL = "transport:cancelled-drains";
        static final String FOLDED_LABEL = "transport:folded-outputs";
        final String label;
        private static final int MAX_PEERS = 4096;
        private final Map<NodePublicKey, Long> owed = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<NodePublicKey, Long> eldest) {
                return size() > MAX_PEERS;
            }
        };

        CancelledDrains(String label) {
            this.label = label;
        }

        synchronized void add(NodePublicKey peer, long bytes) {
            if (bytes > 0) {
                owed.merge(peer, bytes, Long::sum);
            }
        }

        /** @return the bytes owed to the peer's next attestation, now no longer owed */
        synchronized long take(NodePublicKey peer) {
            Long bytes = owed.remove(peer);
            return bytes == null ? 0 : bytes;
        }

        synchronized int peers() {
            return owed.size();
        }
    }

    private static long nanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    /** A refusal with its status, thrown inside the inbound handler. */
    private static final class RefusedException extends RuntimeException {
        final transient Status status;

        RefusedException(Status status) {
            super(status.getDescription(), null, false, false);
            this.status = status;
        }
    }
}
