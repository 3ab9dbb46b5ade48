package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.grpc.internal.wire.Cancel;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.OutputChunk;
import dev.depin.grpc.internal.wire.Result;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OutputAssembler;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.nio.ByteBuffer;
import java.time.Instant;
import dev.depin.job.InputRef;
import dev.depin.network.spi.InputTransfer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The buyer's side of one Execute stream: sends Start and the inputs under flow control,
 * assembles the outputs as they arrive (bounded by the spec, hashed on arrival), completes
 * the response on the Result and {@code released} when the provider closes the stream.
 *
 * <p>A small job (inputs and outputs each at most {@link Wire#INLINE_BYTES} in total) sends
 * its inputs inside Start and asks for the compact reply: one message up, its outputs and
 * the Result down; the first of those stands for ACCEPTED and RUNNING. With no input sent by
 * root as well, the buyer half-closes with Start, so the node closes the stream as soon as it
 * has let go (no half-close round trip after the Result), and a cancel resets the stream
 * instead of sending Cancel. Inputs are sent from
 * the request's buffers without a copy. Callbacks may run on a transport thread: nothing
 * here blocks.
 */
public final class RemoteAttempt implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
    private final NodeId providerId;
    private final String provider;
    private final ExecutionRequest request;
    private final Consumer<ComputeNetwork.Progress> progress;
    private final OutputAssembler assembler;
    private final ArrayDeque<Map.Entry<String, ByteBuffer>> pending = new ArrayDeque<>();
    private final CompletableFuture<ExecutionResponse> response = new CompletableFuture<>();
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    private ClientCallStreamObserver<ExecuteRequest> requests;
    private final boolean inline;
    private final boolean compact;
    private boolean started;
    private boolean halfClosed;
    /**
     * Whether the buyer half-closed with its Start (every input inside it, none by root: the
     * node can ask for nothing more): the node then closes the stream as soon as it has let go,
     * and a cancel before the result cuts the stream instead of sending Cancel.
     */
    private final boolean closeWithStart;
    /** Whether the Result arrived (a cancel then changes nothing); guarded by this. */
    private boolean resultIn;
    /** The wipe attestation its Result announced (Result.wipe_follows), or null; guarded by this. */
    private CompletableFuture<Envelope> wipeToFollow;
    private boolean cancelSent;
    /** Compact reply: whether ACCEPTED and RUNNING were reported (touched by inbound callbacks only). */
    private boolean running;
    /** Whether the first output chunk or the result arrived (the first byte reported; the stream's thread only). */
    private boolean firstByteSeen;
    /** Whether the buyer lets the provider keep the inputs it sends. */
    private final boolean keep;
    /** Whether the buyer lets the provider keep the outputs too. */
    private final boolean keepOutputs;
    /** What each provider holds of this buyer's inputs, or null without input caching. */
    private final HeldInputs held;
    /** Inputs sent by root only, in declaration order. */
    private final List<String> byRoot = new ArrayList<>();
    /** Inputs sent by root that the provider asked for (guarded by this). */
    private final List<String> resent = new ArrayList<>();
    /** Input bytes put into messages (guarded by this). */
    private long sentBytes;

    /**
     * An attempt that sends every input and lets the provider keep none.
     *
     * @param provider the provider's node id
     * @param request  what to run
     * @param progress told of progress
     */
    public RemoteAttempt(NodeId provider, ExecutionRequest request, Consumer<ComputeNetwork.Progress> progress) {
        this(provider, request, progress, null);
    }

    /**
     * @param provider the provider's node id
     * @param request  what to run
     * @param progress told of progress
     * @param held     with input caching: what the providers hold of this buyer's inputs (inputs
     *                 held are sent by root only, and the provider may keep the others); null
     *                 sends every input and lets the provider keep none
     */
    public RemoteAttempt(NodeId provider, ExecutionRequest request, Consumer<ComputeNetwork.Progress> progress,
                         HeldInputs held) {
        this(provider, request, progress, held, false);
    }

    /**
     * @param provider    the provider's node id
     * @param request     what to run
     * @param progress    told of progress
     * @param held        as {@link #RemoteAttempt(NodeId, ExecutionRequest, Consumer, HeldInputs)}
     * @param keepOutputs with {@code held}: the provider may also keep the outputs, by root, for a
     *                    following job that takes them as inputs
     */
    public RemoteAttempt(NodeId provider, ExecutionRequest request, Consumer<ComputeNetwork.Progress> progress,
                         HeldInputs held, boolean keepOutputs) {
        this.keepOutputs = held != null && keepOutputs;
        this.providerId = provider;
        this.provider = provider.shortId();
        this.request = request;
        this.progress = progress;
        this.assembler = request.newAssembler();
        this.keep = held != null;
        this.held = held;
        Map<String, ByteBuffer> bytes = request.inputs();
        long rest = 0;
        for (InputRef in : request.spec().inputs()) {
            if (request.delivery().heldInputs().contains(in.name())) {
                byRoot.add(in.name()); // an earlier job's output left there: no bytes to send instead
            } else if (held != null && held.holds(provider, in)) {
                byRoot.add(in.name());
            } else {
                pending.add(Map.entry(in.name(), bytes.get(in.name())));
                rest += in.bytes();
            }
        }
        this.inline = rest <= Wire.INLINE_BYTES && !pending.isEmpty();
        this.closeWithStart = inline && byRoot.isEmpty();
        this.compact = (inline || (pending.isEmpty() && !byRoot.isEmpty()))
                && total(request.expectedOutputs().values().stream().mapToLong(Long::longValue).toArray())
                <= Wire.INLINE_BYTES;
    }

    /**
     * @return whether this attempt's call is marked {@link InlineCalls#HEADER}: every input inside
     *         Start, none by root, outputs of at most one chunk
     */
    public boolean inlineCall() {
        return InlineCalls.qualifies(closeWithStart,
                total(request.expectedOutputs().values().stream().mapToLong(Long::longValue).toArray()));
    }

    private static long total(long[] sizes) {
        long t = 0;
        for (long n : sizes) {
            t += n;
        }
        return t;
    }

    /** @return the dispatch the engine holds */
    public Dispatch dispatch() {
        return Dispatch.of(response, released, this::cancel);
    }

    /**
     * @return whether the Start message has been handed to the stream (before that, no job
     *         data can have reached the provider, so the attempt may be opened again)
     */
    public synchronized boolean started() {
        return started;
    }

    /** @return completes when the stream has ended */
    public CompletableFuture<Void> released() {
        return released;
    }

    @Override
    public synchronized void beforeStart(ClientCallStreamObserver<ExecuteRequest> stream) {
        this.requests = stream;
        stream.setOnReadyHandler(this::pump);
    }

    /** Sends Start, then input chunks while the stream is ready (gRPC flow control). */
    private synchronized void pump() {
        if (released.isDone() || cancelSent) {
            return;
        }
        if (!started) {
            sendStart();
        }
        while (requests.isReady() && !pending.isEmpty()) {
            Map.Entry<String, ByteBuffer> in = pending.peek();
            ByteBuffer b = in.getValue();
            if (!b.hasRemaining()) {
                pending.poll();
                continue;
            }
            int n = Math.min(b.remaining(), Wire.CHUNK_BYTES);
            ByteBuffer part = b.slice().limit(n);
            b.position(b.position() + n);
            sentBytes += n;
            requests.onNext(ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName(in.getKey())
                    .setData(ByteString.copyFrom(part))).build());
        }
    }

    /** Sends Start (with the inputs inside it, and the half-close when nothing can follow); under this. */
    private void sendStart() {
        started = true;
        Start.Builder start = Start.newBuilder().setJobId(request.jobId()).setAttempt(request.attempt())
                .setSpecJson(UnsafeByteOperations.unsafeWrap(request.spec().canonicalJson())) // a fresh array
                .setNonce(ByteString.copyFrom(request.nonce())).setCompact(compact)
                .setResultsQueued(request.resultsQueued());
        request.holdCertificate().ifPresent(c -> start.setHoldCertificate(ByteString.copyFrom(c.toBytes())));
        start.setKeepInputs(keep).addAllByRoot(byRoot).setKeepOutputs(keepOutputs).setWipeMayFollow(true)
                .setBuffersInPlace(true).setBatchedParts(true);
        request.delivery().leave().ifPresent(d -> start.setLeaveOutputsMillis(d.toMillis()));
        if (inline) {
            // The request's buffers are immutable views: serialized as they are, no copy.
            for (Map.Entry<String, ByteBuffer> in : pending) {
                start.addInputs(InputChunk.newBuilder().setName(in.getKey())
                        .setData(UnsafeByteOperations.unsafeWrap(in.getValue())));
                sentBytes += in.getValue().remaining();
            }
            pending.clear();
        }
        requests.onNext(ExecuteRequest.newBuilder().setStart(start).build());
        if (closeWithStart) {
            // Nothing can follow (no Need without inputs by root): half-close now, so the
            // node closes the stream as soon as it has let go, not a round trip after its Result.
            halfClosed = true;
            requests.onCompleted();
        }
    }

    /** Asks the provider to stop: a Cancel on the stream, which ends once it has let go. */
    private synchronized void cancel(String reason) {
        if (released.isDone() || cancelSent || resultIn) {
            return;
        }
        cancelSent = true;
        if (halfClosed) {
            // Half-closed with Start: no Cancel message can follow; cutting the stream (RST_STREAM)
            // makes the node stop the attempt. A cancel is rare, so the node's rapid-reset guard
            // does not see it at the rate of jobs.
            requests.cancel("cancelled: " + reason, null);
            return;
        }
        if (requests == null || !started) {
            if (requests != null) {
                requests.cancel("cancelled before the attempt started: " + reason, null);
            }
            return;
        }
        try {
            requests.onNext(ExecuteRequest.newBuilder().setCancel(Cancel.newBuilder().setReason(reason)).build());
        } catch (RuntimeException e) {
            requests.cancel(reason, e);
        }
    }

    /**
     * Cuts the stream at once (the network is closing, or the provider misbehaved).
     *
     * @param why the reason
     */
    public synchronized void abort(String why) {
        if (requests != null && !released.isDone()) {
            requests.cancel(why, null);
        }
        fail(new NetworkException(why));
    }

    @Override
    public void onNext(ExecuteResponse m) {
        try {
            switch (m.getKindCase()) {
                case PROGRESS -> {
                    switch (m.getProgress().getStage()) {
                        case ACCEPTED -> progress.accept(ComputeNetwork.Progress.ACCEPTED);
                        case RUNNING -> progress.accept(ComputeNetwork.Progress.RUNNING);
                        default -> throw new NetworkException("provider " + provider + " sent an unknown stage");
                    }
                }
                case OUTPUT -> {
                    OutputChunk c = m.getOutput();
                    ranIfCompact();
                    firstByte();
                    assembler.write(c.getName(), c.getData().asReadOnlyByteBuffer());
                }
                case RESULT -> {
                    ranIfCompact();
                    firstByte();
                    result(m.getResult());
                }
                case FOLDED -> throw new NetworkException("a folded answer on an Execute stream (only a session's job, "
                        + "whose Start asked for it, is answered folded)");
                case NEED -> need(m.getNeed().getNamesList());
                case WIPE -> wipeFollowing(m.getWipe().getWipeEnvelope());
                default -> throw new NetworkException("provider " + provider + " sent a message of unknown kind");
            }
        } catch (RuntimeException e) {
            abort("provider " + provider + " broke the protocol: " + e.getMessage());
        }
    }

    /**
     * A session job's folded answer, from its session ({@link SessionClient}): the one kind of
     * message only a session carries, so {@link #onNext} refuses it on an Execute stream.
     */
    void onFolded(ExecuteResponse m) {
        try {
            folded(m.getFolded());
        } catch (RuntimeException e) {
            abort("provider " + provider + " broke the protocol: " + e.getMessage());
        }
    }

    /**
     * A session job's outputs, Result and end in one message (Start.folded): each declared output
     * exactly once and whole, in declaration order (nothing came before it), then the Result as
     * if it came alone, and an end that says OK. Any other shape is a broken protocol: the attempt
     * fails (and the engine sends the job elsewhere) before anything of it is delivered.
     */
    private void folded(dev.depin.grpc.internal.wire.Folded f) {
        if (firstByteSeen) {
            throw new NetworkException("a folded answer after other output or a result");
        }
        if (!f.hasResult()) {
            throw new NetworkException("a folded answer without a result");
        }
        if (f.getEnded().getCode() != 0) {
            throw new NetworkException("a folded answer whose end (" + Status.fromCodeValue(f.getEnded().getCode())
                    .getCode() + ": " + Wire.shorten(f.getEnded().getDescription()) + ") contradicts its result");
        }
        List<dev.depin.kernel.BufferDecl> declared = request.delivery().leavesOutputs() ? List.of()
                : request.spec().outputs();
        if (f.getOutputsCount() != declared.size()) {
            throw new NetworkException("a folded answer with " + f.getOutputsCount() + " outputs; job " + request.jobId()
                    + " declares " + declared.size() + (declared.isEmpty() ? " to receive" : " (" + names(declared) + ")"));
        }
        for (int i = 0; i < declared.size(); i++) {
            OutputChunk c = f.getOutputs(i);
            dev.depin.kernel.BufferDecl d = declared.get(i);
            if (!c.getName().equals(d.name())) {
                throw new NetworkException("a folded answer whose output " + (i + 1) + " is '" + Wire.shorten(c.getName())
                        + "'; job " + request.jobId() + " declares '" + d.name() + "' there (each output once, in "
                        + "declaration order: " + names(declared) + ")");
            }
            if (c.getData().size() != d.bytes()) {
                throw new NetworkException("a folded answer with " + c.getData().size() + " bytes of output '" + d.name()
                        + "', which is declared with " + d.bytes() + " (a folded output comes whole)");
            }
        }
        ranIfCompact();
        firstByte();
        for (OutputChunk c : f.getOutputsList()) {
            assembler.write(c.getName(), c.getData().asReadOnlyByteBuffer());
        }
        result(f.getResult());
    }

    private static String names(List<dev.depin.kernel.BufferDecl> declared) {
        return declared.stream().map(dev.depin.kernel.BufferDecl::name).collect(java.util.stream.Collectors.joining(", "));
    }

    /**
     * The provider does not hold some inputs sent by root (evicted, expired, restarted): they
     * are streamed now, on this stream, as without the cache. Not a failure.
     */
    private synchronized void need(List<String> names) {
        if (!resent.isEmpty() || names.isEmpty()) {
            throw new NetworkException("a second or empty Need");
        }
        Map<String, ByteBuffer> bytes = request.inputs();
        for (String name : names) {
            if (!byRoot.contains(name) || resent.contains(name)) {
                throw new NetworkException("Need for input '" + Wire.shorten(name) + "', which was not sent by root");
            }
            if (request.delivery().heldInputs().contains(name)) {
                // An earlier job's output the node no longer holds: the buyer has no bytes to send.
                InputRef in = request.spec().inputs().stream().filter(i -> i.name().equals(name)).findFirst()
                        .orElseThrow();
                if (requests != null && !released.isDone()) {
                    requests.cancel("input " + name + " is gone", null);
                }
                fail(dev.depin.network.OutputGoneException.heldInput(provider, name, in.merkleRoot(), in.bytes()));
                return;
            }
            resent.add(name);
            pending.add(Map.entry(name, bytes.get(name)));
            request.spec().inputs().stream().filter(i -> i.name().equals(name)).findFirst()
                    .ifPresent(in -> held.forget(providerId, in));
        }
        pump();
    }

    /**
     * The first message of the result (an output chunk, or the result itself) arrived: the
     * attempt's first byte, as the buyer's SLA times it. Reported once, on the stream's thread,
     * before the result completes the response.
     */
    private void firstByte() {
        if (!firstByteSeen) {
            firstByteSeen = true;
            progress.accept(ComputeNetwork.Progress.FIRST_BYTE);
        }
    }

    /** A compact reply sends no Progress: its first output or its result means it was accepted and ran. */
    private void ranIfCompact() {
        if (compact && !running) {
            running = true;
            progress.accept(ComputeNetwork.Progress.ACCEPTED);
            progress.accept(ComputeNetwork.Progress.RUNNING);
        }
    }

    private void result(Result r) {
        if (response.isDone()) {
            throw new NetworkException("a second result");
        }
        Envelope receipt = null;
        Envelope wipe = null;
        BatchedReceipt batched = null;
        CompletableFuture<Envelope> toFollow = null;
        boolean parts = r.hasBatchedParts();
        if (parts && (!r.getBatchedReceipt().isEmpty() || !r.getReceiptEnvelope().isEmpty()
                || !r.getWipeEnvelope().isEmpty())) {
            throw new NetworkException("a result with a batched receipt in parts also carries a batched receipt or an "
                    + "envelope");
        }
        if (r.getWipeFollows()) {
            if (parts || !r.getBatchedReceipt().isEmpty() || !r.getWipeEnvelope().isEmpty()) {
                throw new NetworkException("a result whose wipe attestation follows carries a batch or an attestation");
            }
            receipt = Envelope.parse(r.getReceiptEnvelope().toByteArray(), Wire.MAX_PROOF_BYTES);
            toFollow = new CompletableFuture<>();
        } else if (parts) {
            // Only a node that read this buyer's Start.batched_parts sends it; an older node sends the JSON form below.
            batched = BatchedWire.receipt(r.getBatchedParts(), Wire.MAX_PROOF_BYTES);
        } else if (!r.getBatchedReceipt().isEmpty()) {
            batched = BatchedReceipt.parse(r.getBatchedReceipt().toByteArray(), Wire.MAX_PROOF_BYTES);
        } else {
            receipt = Envelope.parse(r.getReceiptEnvelope().toByteArray(), Wire.MAX_PROOF_BYTES);
            wipe = Envelope.parse(r.getWipeEnvelope().toByteArray(), Wire.MAX_PROOF_BYTES);
        }
        List<String> kept = new ArrayList<>();
        for (InputRef in : request.spec().inputs()) {
            if (r.getKeptInputsList().contains(in.name())) {
                kept.add(in.name());
                if (held != null) {
                    held.remember(providerId, in);
                }
            }
        }
        java.util.Map<String, dev.depin.network.spi.ReceivedOutput> outputs = assembler.finish();
        List<String> keptOutputs = new ArrayList<>();
        for (dev.depin.kernel.BufferDecl d : request.spec().outputs()) {
            dev.depin.network.spi.ReceivedOutput o = outputs.get(d.name());
            if (request.delivery().leavesOutputs()) {
                if (!r.getKeptOutputsList().contains(d.name())) {
                    throw new NetworkException("provider " + provider + " did not keep output '" + d.name()
                            + "', which this job leaves on it");
                }
                keptOutputs.add(d.name());
            } else if (r.getKeptOutputsList().contains(d.name()) && o != null) {
                keptOutputs.add(d.name());
                if (held != null) {
                    // By the root the buyer computed on arrival: a following job's input with these bytes goes by root.
                    held.remember(providerId, new InputRef(d.name(), o.bytes(), o.merkleRootHex()));
                }
            }
        }
        InputTransfer transfer;
        synchronized (this) {
            List<String> fromCache = new ArrayList<>(byRoot);
            fromCache.removeAll(resent);
            transfer = new InputTransfer(request.spec().inputs().stream().mapToLong(InputRef::bytes).sum(), sentBytes,
                    fromCache, resent, kept, keptOutputs);
        }
        ExecutionResponse resp = new ExecutionResponse(r.getJobId(), r.getAttempt(), NodeId.parse(r.getProvider()),
                r.getExecutorKind(), outputs, instant(r.getStartedAtEpochNanos()),
                instant(r.getEndedAtEpochNanos()), r.getDeviceNanos(), receipt, wipe, batched, transfer, toFollow);
        synchronized (this) {
            resultIn = true;
            wipeToFollow = toFollow;
            if (!halfClosed && !released.isDone()) {
                halfClosed = true;
                requests.onCompleted();
            }
        }
        response.complete(resp);
    }

    /** The wipe attestation that follows a Result with wipe_follows: exactly one, after that Result. */
    private void wipeFollowing(com.google.protobuf.ByteString envelope) {
        CompletableFuture<Envelope> toFollow;
        synchronized (this) {
            toFollow = wipeToFollow;
        }
        if (toFollow == null || toFollow.isDone()) {
            throw new NetworkException("a wipe attestation that no result announced");
        }
        toFollow.complete(Envelope.parse(envelope.toByteArray(), Wire.MAX_PROOF_BYTES));
    }

    private static Instant instant(long epochNanos) {
        return Instant.ofEpochSecond(Math.floorDiv(epochNanos, 1_000_000_000L),
                Math.floorMod(epochNanos, 1_000_000_000L));
    }

    @Override
    public void onError(Throwable t) {
        fail(Wire.fromStatus(provider, t));
    }

    @Override
    public void onCompleted() {
        fail(new NetworkException("provider " + provider + " ended the attempt without a result"));
    }

    private void fail(Throwable t) {
        response.completeExceptionally(t);
        CompletableFuture<Envelope> toFollow;
        synchronized (this) {
            toFollow = wipeToFollow;
        }
        if (toFollow != null) {
            // Ended (closed, reset, deadline, broken protocol) before the attestation came: no attempt counts on its receipt alone.
            toFollow.completeExceptionally(new NetworkException("provider " + provider + " ended the stream without "
                    + "the wipe attestation its result announced: " + t.getMessage()));
        }
        released.complete(null);
    }
}
