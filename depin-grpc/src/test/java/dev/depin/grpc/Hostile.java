package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stranger written for attacks: its own self-made key, its own mutual-TLS channel, and raw
 * protobuf messages on the generated stub (no GrpcNetwork, none of the buyer's manners).
 * Public, in this module's test jar, for the attacks on {@code depin node} itself
 * (depin-examples' NodeLimitsAttackTest).
 */
public final class Hostile implements AutoCloseable {
    /** Messages as bytes, unparsed: what a client that is not ours sends and reads. */
    static final MethodDescriptor.Marshaller<byte[]> RAW_BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    };

    /** The stranger's self-made key. */
    public final NodeKeyPair key;
    /** Its own mutual-TLS channel. */
    public final ManagedChannel channel;

    public Hostile(String address, NodePublicKey provider) {
        this(address, provider, NodeKeyPair.generate());
    }

    /** A stranger with a key of its own choosing: another connection of the same peer. */
    public Hostile(String address, NodePublicKey provider, NodeKeyPair key) {
        this(address, provider, key, null);
    }

    /**
     * A stranger connecting from {@code localHost} (null: wherever the system picks, 127.0.0.1
     * on loopback). Every 127.x.y.z address is loopback on Linux, so a stranger "from
     * 127.0.0.2" is another address to the node than the honest buyers' 127.0.0.1.
     */
    public Hostile(String address, NodePublicKey provider, NodeKeyPair key, String localHost) {
        this.key = key;
        channel = from(NettyChannelBuilder.forTarget(address), localHost)
                .sslContext(NodeTls.client(NodeTls.identity(key), provider))
                // A fixed 1 MiB window (gRPC's initial one, without BDP growth): what a reader
                // that never reads lets the provider send is the same in every run.
                .flowControlWindow(1 << 20)
                .maxInboundMessageSize(8 << 20).build();
    }

    /** Binds the builder's connections to {@code localHost} (null: as the system picks). */
    public static NettyChannelBuilder from(NettyChannelBuilder b, String localHost) {
        if (localHost == null) {
            return b;
        }
        return b.localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
            @Override
            public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote,
                                                              io.grpc.Attributes attrs) {
                return new java.net.InetSocketAddress(localHost, 0);
            }
        });
    }

    /** A reduce-sum job whose one input declares {@code bytes} bytes (a stranger need not send them all). */
    public static Job declaring(int bytes) {
        return Job.builder(dev.depin.kernel.BuiltinKernel.REDUCE_SUM).param("n", bytes / 4)
                .input("x", new float[bytes / 4]).build();
    }

    /**
     * Waits (at most 10 s) until the server holds no input bytes, streams or attempts, and
     * asserts that it got there: everything the strangers made it hold was released.
     */
    public static void awaitReleased(ProviderServer server) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((server.reservedInputBytes() != 0 || server.openStreams() != 0 || server.node().busy() != 0)
                && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        org.junit.jupiter.api.Assertions.assertEquals(0, server.reservedInputBytes(), "input bytes still held");
        org.junit.jupiter.api.Assertions.assertEquals(0, server.openStreams(), "streams still open");
        org.junit.jupiter.api.Assertions.assertEquals(0, server.node().busy(), "attempts left on the node");
        org.junit.jupiter.api.Assertions.assertEquals(0, server.maxHeldByOneAddress()[0],
                "streams still counted for an address");
    }

    public static ExecuteRequest start(Job job, String jobId) {
        return ExecuteRequest.newBuilder().setStart(Start.newBuilder().setJobId(jobId).setAttempt(1)
                .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                .setNonce(ByteString.copyFrom(new byte[32]))).build();
    }

    /**
     * A Start whose inputs all follow "by root" although the node holds none of them: a node
     * that admits the stream answers at once with a Need for every input and then waits for
     * their bytes, so the Need is the stranger's sign that the node counted the stream.
     */
    public static ExecuteRequest startByRoot(Job job, String jobId) {
        Start.Builder s = start(job, jobId).getStart().toBuilder();
        job.spec().inputs().forEach(in -> s.addByRoot(in.name()));
        return ExecuteRequest.newBuilder().setStart(s).build();
    }

    public static ExecuteRequest input(String name, byte[] bytes, int from, int length) {
        return ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName(name)
                .setData(ByteString.copyFrom(bytes, from, length))).build();
    }

    public static String jobId(int i) {
        return String.format("%032x", i);
    }

    /**
     * Sends {@code bytes} as the one message of an Execute stream, unparsed (not a protobuf
     * message, or one past the node's size limit), and waits (at most 10 s) for how it ended.
     */
    public static Status rawExecute(ManagedChannel channel, byte[] bytes) throws Exception {
        MethodDescriptor<byte[], byte[]> execute = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
                .setFullMethodName(ProviderGrpc.getExecuteMethod().getFullMethodName())
                .setRequestMarshaller(RAW_BYTES).setResponseMarshaller(RAW_BYTES).build();
        io.grpc.ClientCall<byte[], byte[]> call = channel.newCall(execute,
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
        CompletableFuture<Status> status = new CompletableFuture<>();
        call.start(new io.grpc.ClientCall.Listener<>() {
            @Override
            public void onClose(Status s, io.grpc.Metadata trailers) {
                status.complete(s);
            }
        }, new io.grpc.Metadata());
        call.request(1);
        call.sendMessage(bytes);
        return status.get(10, TimeUnit.SECONDS);
    }

    /**
     * Opens an Execute stream. With {@code read} false the stream never asks for a message:
     * it grants the provider no flow-control credit beyond the initial window (a stalled reader).
     */
    public Stream open(boolean read) {
        Stream s = new Stream(read);
        ProviderGrpc.newStub(channel).execute(s);
        return s;
    }

    /** One raw Execute stream and what the provider did with it. */
    public static final class Stream implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
        public final CompletableFuture<Status> status = new CompletableFuture<>();
        public final AtomicLong outputBytes = new AtomicLong();
        /** Every output byte read, by output, in order. */
        public final java.util.Map<String, java.io.ByteArrayOutputStream> outputs = new java.util.concurrent.ConcurrentHashMap<>();
        public volatile dev.depin.grpc.internal.wire.Result result;
        /** The wipe attestations that followed a Result (Result.wipe_follows), in order. */
        public final java.util.List<dev.depin.grpc.internal.wire.WipeFollowing> wipes =
                new java.util.concurrent.CopyOnWriteArrayList<>();
        /** The kind of each message the provider sent, in order ("output", "result", ...). */
        public final java.util.List<String> kinds = new java.util.concurrent.CopyOnWriteArrayList<>();
        /** The names of the first Need the provider sent (the inputs it asks for). */
        public final CompletableFuture<java.util.List<String>> need = new CompletableFuture<>();
        private final boolean read;
        public ClientCallStreamObserver<ExecuteRequest> requests;

        Stream(boolean read) {
            this.read = read;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requestStream) {
            requests = requestStream;
            if (!read) {
                requestStream.disableAutoRequestWithInitial(0);
            }
        }

        public void send(ExecuteRequest m) {
            requests.onNext(m);
        }

        @Override
        public void onNext(ExecuteResponse value) {
            kinds.add(value.getKindCase().name().toLowerCase(java.util.Locale.ROOT));
            if (value.hasWipe()) {
                wipes.add(value.getWipe());
            }
            if (value.hasOutput()) {
                outputBytes.addAndGet(value.getOutput().getData().size());
                outputs.computeIfAbsent(value.getOutput().getName(), k -> new java.io.ByteArrayOutputStream())
                        .writeBytes(value.getOutput().getData().toByteArray());
            }
            if (value.hasNeed()) {
                need.complete(java.util.List.copyOf(value.getNeed().getNamesList()));
            }
            if (value.hasResult()) {
                result = value.getResult();
            }
        }

        @Override
        public void onError(Throwable t) {
            status.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            status.complete(Status.OK);
        }

        /**
         * @return how the stream ended, waiting at most {@code seconds}: {@code CODE: description}
         *         (for callers outside this module that do not handle gRPC's types)
         */
        public String awaitEnd(long seconds) throws Exception {
            Status s = await(seconds);
            return s.getCode() + ": " + s.getDescription();
        }

        /** Cancels the stream (RST_STREAM CANCEL). */
        public void cancel() {
            requests.cancel("the stranger goes", null);
        }

        public Status await(long seconds) throws Exception {
            return status.get(seconds, TimeUnit.SECONDS);
        }
    }

    /** Cuts the channel and waits until its transports are gone (their buffers released). */
    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
