package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.BlockingExecutor;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.InlineCalls;
import dev.depin.grpc.internal.Wire;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.Cancel;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input from a buyer — malformed messages, streams that break the protocol, oversized or
 * endless inputs, streams that stop half way — gets a status code and a closed stream, and
 * changes nothing else: after each, the node holds no attempt and no input bytes, has
 * completed nothing, and still runs a good job.
 */
class BadPeerTest {
    private static final String JOB_ID = "00112233445566778899aabbccddeeff";
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private DirectoryServer directory;
    private ProviderServer server;
    /** Runs a job only when released, so a job sent in full cannot complete while a test probes it. */
    private final BlockingExecutor slow = new BlockingExecutor(new CpuExecutor(1));
    private ManagedChannel channel;

    @BeforeEach
    void start() {
        directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
        // The smallest input budgets a server takes (4 MiB per peer), and jobs that fit them.
        server = ProviderServer.builder(ProviderNode.builder(providerKey, slow).jobLimits(1 << 20, 4 << 20).build(),
                        providerKey).maxInputBytes(8 << 20).directory(directory.address()).start();
        server.renewNow();
        channel = NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), providerKey.publicKey()))
                .maxInboundMessageSize(8 << 20).build();
    }

    /** Nothing else changed: the node is idle and empty, and a good job still runs. */
    @AfterEach
    void unharmedThenStop() throws Exception {
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((server.node().busy() != 0 || server.reservedInputBytes() != 0) && System.nanoTime() < until) {
                Thread.sleep(2);
            }
            assertEquals(0, server.node().busy(), "attempts left on the node");
            assertEquals(0, server.reservedInputBytes(), "input bytes still held");
            assertEquals(0, server.node().completedCount(), "a bad stream completed a job");
            slow.release(1_000); // every later run proceeds
            try (GrpcNetwork net = GrpcNetwork.connect(directory.address())) {
                ProviderOffer o = net.offers(new OfferQuery("reduce-sum", Requirements.ANY, 10))
                        .get(10, TimeUnit.SECONDS).get(0);
                Job job = reduce(4);
                ExecutionRequest r = new ExecutionRequest(JOB_ID, 1, job.spec(), job.inputs(),
                        new byte[ExecutionRequest.NONCE_BYTES]);
                assertEquals(4f, net.dispatch(o, r, p -> { }).response().get(10, TimeUnit.SECONDS).outputBytes()
                        .get("sum").getFloat(0));
            }
        } finally {
            channel.shutdownNow();
            server.close();
            directory.close();
        }
    }

    private static Job reduce(int n) {
        float[] x = new float[n];
        java.util.Arrays.fill(x, 1f);
        return Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x).build();
    }

    private static ExecuteRequest start(Job job, String jobId) {
        return ExecuteRequest.newBuilder().setStart(Start.newBuilder().setJobId(jobId).setAttempt(1)
                .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                .setNonce(ByteString.copyFrom(new byte[32]))).build();
    }

    private static ExecuteRequest input(String name, int bytes) {
        return ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName(name)
                .setData(ByteString.copyFrom(new byte[bytes]))).build();
    }

    /** Collects what the provider answers and the status it ends with. */
    private static final class Answer implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
        final CompletableFuture<Status> status = new CompletableFuture<>();
        ClientCallStreamObserver<ExecuteRequest> requests;

        @Override
        public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requestStream) {
            requests = requestStream;
        }

        @Override
        public void onNext(ExecuteResponse value) {
        }

        @Override
        public void onError(Throwable t) {
            status.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            status.complete(Status.OK);
        }

        Status await() throws Exception {
            return status.get(10, TimeUnit.SECONDS);
        }
    }

    private Status send(boolean halfClose, ExecuteRequest... messages) throws Exception {
        Answer a = new Answer();
        StreamObserver<ExecuteRequest> out = ProviderGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .execute(a);
        for (ExecuteRequest m : messages) {
            out.onNext(m);
        }
        if (halfClose) {
            out.onCompleted();
        }
        return a.await();
    }

    private static void assertStatus(Status.Code code, Status s, String... words) {
        assertEquals(code, s.getCode(), s.toString());
        for (String w : words) {
            assertTrue(String.valueOf(s.getDescription()).contains(w), s.toString());
        }
    }

    /**
     * A call marked {@value InlineCalls#HEADER} runs its callbacks on the node's event loop, so
     * it may carry its job inside Start only: a chunk after Start is refused, and the node keeps
     * nothing of the stream (checked after each test).
     */
    @Test
    void execute_inputChunkOnACallMarkedInline() throws Exception {
        Answer a = new Answer();
        StreamObserver<ExecuteRequest> out = ProviderGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .withInterceptors(InlineCalls.mark()).execute(a);
        out.onNext(start(reduce(4), JOB_ID));
        out.onNext(input("x", 16));
        assertStatus(Status.Code.INVALID_ARGUMENT, a.await(), "input chunk on a call marked depin-inline");
    }

    /** The mark buys no more event-loop time than a small job: larger jobs marked are refused before their inputs. */
    @Test
    void execute_jobLargerThanInlineOnACallMarkedInline() throws Exception {
        int n = Wire.INLINE_BYTES / Float.BYTES + 1; // one float past what a buyer marks
        Answer a = new Answer();
        ProviderGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).withInterceptors(InlineCalls.mark())
                .execute(a).onNext(start(reduce(n), JOB_ID));
        assertStatus(Status.Code.INVALID_ARGUMENT, a.await(), "a job that declares more than " + Wire.INLINE_BYTES
                + " input bytes on a call marked depin-inline: refused");

        // Inputs of 2.4 KB, an output of 360,000 bytes.
        Job wide = Job.builder(BuiltinKernel.SGEMM).param("m", 300).param("n", 300).param("k", 1)
                .input("a", new float[300]).input("b", new float[300]).build();
        Answer b = new Answer();
        ProviderGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).withInterceptors(InlineCalls.mark())
                .execute(b).onNext(start(wide, JOB_ID));
        assertStatus(Status.Code.INVALID_ARGUMENT, b.await(), "a job that declares more than " + Wire.INLINE_BYTES
                + " output bytes on a call marked depin-inline: refused");
    }

    @Test
    void execute_inputBeforeStart() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, input("x", 4)), "before Start");
    }

    @Test
    void execute_messageOfNoKind() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, ExecuteRequest.getDefaultInstance()), "unknown kind");
    }

    @Test
    void execute_malformedSpec() throws Exception {
        ExecuteRequest bad = ExecuteRequest.newBuilder().setStart(Start.newBuilder().setJobId(JOB_ID).setAttempt(1)
                .setSpecJson(ByteString.copyFromUtf8("{\"format\": \"depin.job/v1\", \"kernel\": "))
                .setNonce(ByteString.copyFrom(new byte[32]))).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, bad));
    }

    @Test
    void execute_malformedJobIdAndNonce() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, start(reduce(4), "not-a-job-id")), "job id");
        ExecuteRequest shortNonce = start(reduce(4), JOB_ID).toBuilder()
                .setStart(start(reduce(4), JOB_ID).getStart().toBuilder().setNonce(ByteString.copyFrom(new byte[3])))
                .build();
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, shortNonce), "nonce");
    }

    @Test
    void execute_secondStart() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, start(reduce(1024), JOB_ID),
                start(reduce(1024), JOB_ID)), "second Start");
    }

    @Test
    void execute_unknownInput() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, start(reduce(4), JOB_ID), input("y", 4)),
                "not declared");
    }

    @Test
    void execute_inputGrowingPastItsDeclaredSize() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(false, start(reduce(4), JOB_ID), input("x", 20)),
                "grows past");
    }

    @Test
    void execute_endlessInputAfterTheInputsWereComplete() throws Exception {
        Job job = reduce(4);
        Answer a = new Answer();
        StreamObserver<ExecuteRequest> out = ProviderGrpc.newStub(channel).execute(a);
        out.onNext(start(job, JOB_ID));
        out.onNext(ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName("x")
                .setData(ByteString.copyFrom(job.inputs().get("x")))).build());
        assertTrue(slow.awaitStarted(10), "the complete job never started");
        for (int i = 0; i < 10_000 && !a.status.isDone(); i++) {
            out.onNext(input("x", 4096));
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, a.await(), "after every input was complete");
        assertEquals(1, server.node().cancelledCount(), "the running attempt is stopped");
    }

    @Test
    void execute_declaredInputsAboveTheNodesBound() throws Exception {
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, send(false, start(reduce(1 << 21), JOB_ID)),
                "this node takes at most 4194304 per peer");
    }

    @Test
    void execute_oversizedMessage() throws Exception {
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, send(false, start(reduce(1 << 18), JOB_ID),
                input("x", 5 << 20)));
    }

    @Test
    void execute_streamEndingWithInputsMissing() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, send(true, start(reduce(1 << 18), JOB_ID), input("x", 512 << 10)),
                "missing");
    }

    @Test
    void execute_streamCutHalfWay() throws Exception {
        Answer a = new Answer();
        StreamObserver<ExecuteRequest> out = ProviderGrpc.newStub(channel).execute(a);
        out.onNext(start(reduce(1 << 18), JOB_ID));
        out.onNext(input("x", 512 << 10));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.reservedInputBytes() == 0 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertEquals(512L << 10, server.reservedInputBytes(),
                "what the stream sent is held (allocated as it arrives), not the 1 MiB it declared");
        a.requests.cancel("buyer vanished", null);
        assertEquals(Status.Code.CANCELLED, a.await().getCode());
    }

    @Test
    void execute_cancelBeforeTheInputsWereComplete() throws Exception {
        assertStatus(Status.Code.CANCELLED, send(false, start(reduce(1 << 10), JOB_ID),
                ExecuteRequest.newBuilder().setCancel(Cancel.newBuilder().setReason("changed my mind")).build()));
    }

    @Test
    void execute_bytesThatAreNoProtobufMessage() throws Exception {
        Status s = Hostile.rawExecute(channel, "\u00ff\u00ff\u00ff\u00ff garbage".getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(List.of(Status.Code.INTERNAL, Status.Code.INVALID_ARGUMENT).contains(s.getCode()), s.toString());
    }
}
