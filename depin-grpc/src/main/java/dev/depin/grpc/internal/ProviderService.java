package dev.depin.grpc.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.depin.DepinException;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.WipeRecord;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
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
import dev.depin.job.InputRef;
import dev.depin.job.JobSpec;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.TransportBuffers;
import dev.depin.node.NodeAttempt;
import dev.depin.node.NodeResult;
import dev.depin.node.ProviderNode;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The provider side of the wire contract: one {@link ExecuteCall} per Execute stream feeds a
 * {@link ProviderNode}. Inputs are received into buffers of exactly the sizes the spec
 * declares, reserved against a bound on the bytes all streams hold at once; outputs are sent
 * from the node's worker, which waits while the buyer's stream is not ready (gRPC flow
 * control), so a slow buyer slows its own job and holds no unbounded memory.
 *
 * <p>Small jobs take the short path: inputs inside Start are used where they arrived (the
 * request's input buffers are views of the received frame), and with a compact Start no
 * Progress is sent. Every frame is read into an array this service owns ({@link Frame}):
 * frames are zeroed once used, and the frame or buffers that held a job's inputs until it
 * ran are wiped with the job's pattern and listed in its wipe attestation. Outputs are sent
 * from the executor's buffers without a copy of ours (the executor's wipe covers them).
 * gRPC's and Netty's own buffers (framing, TLS records) are out of reach: see docs.
 *
 * <p>Every handler here returns without blocking (the server could run them on its transport
 * threads; see docs/decisions.md for why it does not).
 */
public final class ProviderService extends ProviderGrpc.ProviderImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderService.class);

    private final ProviderNode node;
    private final long maxInputBytes;
    private final long stallNanos;
    private final AtomicLong reserved = new AtomicLong();

    /**
     * @param node          the node that runs the jobs
     * @param maxInputBytes the most input bytes all streams may hold at once
     * @param stallMillis   how long an output stream may stay not ready before the attempt is
     *                      stopped
     */
    public ProviderService(ProviderNode node, long maxInputBytes, long stallMillis) {
        this.node = node;
        this.maxInputBytes = maxInputBytes;
        this.stallNanos = TimeUnit.MILLISECONDS.toNanos(stallMillis);
    }

    /** @return input bytes reserved by streams right now */
    public long reservedInputBytes() {
        return reserved.get();
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
        ServiceDescriptor old = generated.getServiceDescriptor();
        ServiceDescriptor.Builder d = ServiceDescriptor.newBuilder(old.getName())
                .setSchemaDescriptor(old.getSchemaDescriptor()).addMethod(owned);
        List<ServerMethodDefinition<?, ?>> others = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : generated.getMethods()) {
            if (!m.getMethodDescriptor().getFullMethodName().equals(execute.getFullMethodName())) {
                others.add(m);
                d.addMethod(m.getMethodDescriptor());
            }
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(d.build())
                .addMethod(owned, ServerCalls.asyncBidiStreamingCall(this::openExecute));
        others.forEach(b::addMethod);
        return b.build();
    }

    private StreamObserver<Frame> openExecute(StreamObserver<ExecuteResponse> responses) {
        ServerCallStreamObserver<ExecuteResponse> out = (ServerCallStreamObserver<ExecuteResponse>) responses;
        ExecuteCall call = new ExecuteCall(out);
        out.setOnCancelHandler(call::onCallCancelled);
        out.setOnReadyHandler(call::onReady);
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

    /** One Execute stream: receives, submits, streams back, and ends after the node let go. */
    private final class ExecuteCall implements StreamObserver<Frame> {
        private final ServerCallStreamObserver<ExecuteResponse> out;
        private final Object sendLock = new Object();
        private final Object readyLock = new Object();
        private final Received received = new Received();
        // Touched only by gRPC's serialized inbound callbacks (and finish, under sendLock).
        private ExecutionRequest header;
        private Map<String, ByteBuffer> inputs;
        private long missing;
        private long reservation;
        private boolean compact;
        private volatile NodeAttempt attempt;
        private volatile boolean ended;
        private volatile boolean cancelled;
        private volatile Status violation;

        ExecuteCall(ServerCallStreamObserver<ExecuteResponse> out) {
            this.out = out;
        }

        @Override
        public void onNext(Frame frame) {
            boolean kept = false;
            try {
                ExecuteRequest req = frame.message();
                if (ended || violation != null) {
                    return;
                }
                if (req == null) {
                    throw refuse("a request to " + ProviderGrpc.getExecuteMethod().getFullMethodName()
                            + " that is not a valid protobuf message: refused");
                }
                switch (req.getKindCase()) {
                    case START -> kept = start(req.getStart(), frame);
                    case INPUT -> {
                        if (input(req.getInput())) {
                            // The node may wipe as soon as the job is queued: the frame is zeroed and counted first.
                            received.used(frame);
                            kept = true;
                            submit();
                        }
                    }
                    case CANCEL -> cancel(req.getCancel().getReason());
                    default -> throw refuse("a message of unknown kind: malformed stream");
                }
            } catch (RefusedException e) {
                violation(e.status);
            } catch (DepinException e) {
                violation(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            } catch (RuntimeException e) {
                violation(Status.INVALID_ARGUMENT.withDescription("malformed request: " + e));
            } finally {
                if (!kept) {
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
            NodeAttempt a = attempt;
            if (a == null) {
                end(status);
            } else {
                violation = status;
                a.cancel("the buyer broke the protocol: " + status.getDescription());
            }
        }

        /** @return whether the frame is kept: its bytes are the job's inputs */
        private boolean start(Start s, Frame frame) {
            if (header != null) {
                throw refuse("a second Start on one stream: malformed stream");
            }
            JobSpec spec = JobSpec.fromJson(s.getSpecJson().toByteArray());
            java.util.Optional<dev.depin.settlement.HoldCertificate> certificate = java.util.Optional.empty();
            if (!s.getHoldCertificate().isEmpty()) {
                try {
                    certificate = java.util.Optional.of(dev.depin.settlement.HoldCertificate.parse(
                            s.getHoldCertificate().toByteArray()));
                } catch (dev.depin.crypto.VerificationException e) {
                    throw new RefusedException(Status.PERMISSION_DENIED.withDescription(e.getMessage()));
                }
            }
            header = new ExecutionRequest(s.getJobId(), s.getAttempt() < 1 ? 0 : s.getAttempt(), spec, Map.of(),
                    s.getNonce().toByteArray(), certificate);
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
            if (total > maxInputBytes) {
                throw new RefusedException(Status.RESOURCE_EXHAUSTED.withDescription("job " + header.jobId()
                        + " declares " + total + " input bytes; this node takes at most " + maxInputBytes));
            }
            long now = reserved.addAndGet(total);
            if (now > maxInputBytes) {
                reserved.addAndGet(-total);
                throw new RefusedException(Status.RESOURCE_EXHAUSTED.withDescription("node is busy receiving "
                        + (now - total) + " input bytes of other jobs: try later or another provider"));
            }
            reservation = total;
            compact = s.getCompact();
            if (s.getInputsCount() > 0) {
                Map<String, ByteBuffer> ready = inline(spec, s.getInputsList());
                received.keep(frame); // before submit: the node's wipe may run as soon as it is queued
                submit(ready);
                return true;
            }
            inputs = new LinkedHashMap<>();
            for (InputRef in : spec.inputs()) {
                inputs.put(in.name(), ByteBuffer.allocate((int) in.bytes()));
            }
            received.assembling(inputs);
            missing = total;
            if (missing == 0) {
                submit();
            }
            return false;
        }

        /** Every declared input, whole, inside Start: views of the received frame, no copy. */
        private Map<String, ByteBuffer> inline(JobSpec spec, List<InputChunk> chunks) {
            Map<String, InputRef> declared = new HashMap<>();
            spec.inputs().forEach(in -> declared.put(in.name(), in));
            Map<String, ByteBuffer> ready = new LinkedHashMap<>();
            for (InputChunk c : chunks) {
                InputRef in = declared.get(c.getName());
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
            if (ready.size() != declared.size()) {
                throw refuse("Start carries inputs " + ready.keySet() + " but job " + header.jobId() + " declares "
                        + declared.keySet() + ": send every input inside Start, or none");
            }
            return ready;
        }

        /**
         * Copies one chunk into its input's buffer.
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
            ByteBuffer b = inputs.get(c.getName());
            if (b == null) {
                throw refuse("input '" + Wire.shorten(c.getName()) + "' is not declared by job " + header.jobId()
                        + " (it declares " + inputs.keySet() + ")");
            }
            int n = c.getData().size();
            if (n > b.remaining()) {
                throw refuse("input '" + c.getName() + "' grows past its declared " + b.capacity() + " bytes: refused");
            }
            c.getData().copyTo(b);
            missing -= n;
            return missing == 0;
        }

        private void submit() {
            Map<String, ByteBuffer> ready = new LinkedHashMap<>();
            inputs.forEach((k, v) -> ready.put(k, v.duplicate().flip()));
            submit(ready);
        }

        private void submit(Map<String, ByteBuffer> ready) {
            ExecutionRequest request = new ExecutionRequest(header.jobId(), header.attempt(), header.spec(), ready,
                    header.nonce(), header.holdCertificate());
            NodeAttempt a = node.submit(request, this::progress, this::sendOutput, received);
            attempt = a;
            a.result().whenComplete((r, e) -> {
                if (r != null) {
                    try {
                        sendResult(r);
                    } catch (RuntimeException sendFailed) {
                        LOG.debug("result of job {} not sent: {}", r.jobId(), sendFailed.toString());
                    }
                }
                a.released().whenComplete((v, e2) -> end(violation != null ? violation
                        : e == null ? Status.OK : Wire.statusOf(e)));
            });
            if (cancelled) {
                a.cancel("the buyer's stream ended");
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
            if (attempt == null && !ended) {
                end(Status.INVALID_ARGUMENT.withDescription(header == null ? "stream ended before Start"
                        : "stream ended with " + missing + " input bytes missing"));
            }
        }

        /** The buyer cancelled, its deadline passed, or the connection broke. */
        void onCallCancelled() {
            cancelled = true;
            synchronized (readyLock) {
                readyLock.notifyAll();
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
        }

        private void progress(ComputeNetwork.Progress p) {
            if (compact) {
                return; // the buyer reads its first output or the result as ACCEPTED and RUNNING
            }
            send(ExecuteResponse.newBuilder().setProgress(Progress.newBuilder().setStage(
                    p == ComputeNetwork.Progress.ACCEPTED ? Progress.Stage.ACCEPTED : Progress.Stage.RUNNING)).build());
        }

        /** On the node's worker: waits for the stream to be ready before each chunk. */
        private void sendOutput(String name, ByteBuffer chunk) {
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
                while (!out.isReady()) {
                    if (cancelled || ended) {
                        throw new NetworkException("the buyer's stream ended while outputs were being sent");
                    }
                    long left = until - System.nanoTime();
                    if (left <= 0) {
                        throw new NetworkException("the buyer read no output for "
                                + TimeUnit.NANOSECONDS.toMillis(stallNanos) + " ms: attempt stopped");
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

        private void sendResult(NodeResult r) {
            Result.Builder b = Result.newBuilder().setJobId(r.jobId()).setAttempt(r.attempt())
                    .setProvider(r.provider().hex()).setExecutorKind(r.executorKind())
                    .setStartedAtEpochNanos(nanos(r.startedAt())).setEndedAtEpochNanos(nanos(r.endedAt()))
                    .setDeviceNanos(r.deviceNanos());
            if (r.batched() != null) {
                b.setBatchedReceipt(ByteString.copyFrom(r.batched().toJsonBytes()));
            } else {
                b.setReceiptEnvelope(ByteString.copyFrom(r.receipt().toJsonBytes()))
                        .setWipeEnvelope(ByteString.copyFrom(r.wipe().toJsonBytes()));
            }
            send(ExecuteResponse.newBuilder().setResult(b).build());
        }

        private void send(ExecuteResponse m) {
            synchronized (sendLock) {
                if (ended || cancelled) {
                    throw new NetworkException("the buyer's stream has ended");
                }
                out.onNext(m);
            }
        }

        /** Closes the stream once, frees and wipes the receive buffers. */
        private void end(Status status) {
            synchronized (sendLock) {
                if (ended) {
                    return;
                }
                ended = true;
                try {
                    if (!cancelled) {
                        if (status.isOk()) {
                            out.onCompleted();
                        } else {
                            out.onError(status.asRuntimeException());
                        }
                    }
                } catch (RuntimeException e) {
                    LOG.debug("closing an Execute stream failed: {}", e.toString());
                }
                received.release();
                reserved.addAndGet(-reservation);
                reservation = 0;
            }
            synchronized (readyLock) {
                readyLock.notifyAll();
            }
        }

        private RefusedException refuse(String why) {
            return new RefusedException(Status.INVALID_ARGUMENT.withDescription(why));
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
        private byte[] kept;
        private Map<String, ByteBuffer> assembled = Map.of();
        private long zeroedFrameBytes;

        synchronized void keep(Frame frame) {
            kept = frame.bytes();
        }

        synchronized void assembling(Map<String, ByteBuffer> buffers) {
            assembled = buffers;
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
            assembled.forEach((name, b) -> records.add(HostWipe.wipe("transport:received:" + name, b, pattern)));
            if (zeroedFrameBytes > 0) {
                // Each of these frames was overwritten with zeros and read back when it was used.
                records.add(new WipeRecord(WipeRecord.HOST, FRAMES, zeroedFrameBytes, zeroedFrameBytes, 0,
                        WipeRecord.HOST_READBACK_COMPARE, HostWipe.checkDigest(WipeRecord.HOST, FRAMES,
                        zeroedFrameBytes, 0, 0)));
            }
            return records;
        }

        /** The stream ended: zero whatever is held, wiped by the node or not. */
        synchronized void release() {
            if (kept != null) {
                Arrays.fill(kept, (byte) 0);
            }
            assembled.values().forEach(b -> Arrays.fill(b.array(), (byte) 0));
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
