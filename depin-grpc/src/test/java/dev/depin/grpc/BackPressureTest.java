package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.ProviderNode;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Outputs go out under gRPC flow control: a buyer that stops reading holds the provider's
 * worker at the next chunk (no unbounded buffering on either side), and one that never reads
 * again has its attempt stopped after the stall timeout (the stream ends with ABORTED and the
 * reason), and the node lets go of it and of its inputs.
 */
class BackPressureTest {
    private static final int N = 4 << 20; // 16 MiB of output

    @Test
    void outputs_aBuyerThatStopsReadingHoldsTheProviderThenStopsIt() throws Exception {
        NodeKeyPair key = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(key, new CpuExecutor(1)).build();
        try (ProviderServer server = ProviderServer.builder(node, key).stallTimeout(Duration.ofMillis(1500)).start()) {
            ManagedChannel channel = NettyChannelBuilder.forTarget(server.address())
                    .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), key.publicKey()))
                    .maxInboundMessageSize(8 << 20).build();
            try {
                float[] x = new float[N];
                Job job = Job.builder(BuiltinKernel.SAXPY).param("n", N).param("alpha", 2).input("x", x).input("y", x)
                        .timeout(Duration.ofSeconds(60)).build();
                AtomicLong outputBytes = new AtomicLong();
                CompletableFuture<Status> status = new CompletableFuture<>();
                ClientResponseObserver<ExecuteRequest, ExecuteResponse> reader = new ClientResponseObserver<>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requests) {
                        requests.disableAutoRequestWithInitial(4); // then never asks for more
                    }

                    @Override
                    public void onNext(ExecuteResponse m) {
                        outputBytes.addAndGet(m.getOutput().getData().size());
                    }

                    @Override
                    public void onError(Throwable t) {
                        status.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        status.complete(Status.OK);
                    }
                };
                var out = ProviderGrpc.newStub(channel).execute(reader);
                out.onNext(ExecuteRequest.newBuilder().setStart(Start.newBuilder().setJobId(
                        "00112233445566778899aabbccddeeff").setAttempt(1)
                        .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                        .setNonce(ByteString.copyFrom(new byte[32]))).build());
                for (Map.Entry<String, ByteBuffer> in : job.inputs().entrySet()) {
                    ByteBuffer b = in.getValue();
                    while (b.hasRemaining()) {
                        int n = Math.min(b.remaining(), 1 << 20);
                        ByteBuffer part = b.slice().limit(n);
                        b.position(b.position() + n);
                        out.onNext(ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName(in.getKey())
                                .setData(ByteString.copyFrom(part))).build());
                    }
                }
                // The buyer never reads again, so it would not even see the stream's end (gRPC delivers
                // the status after the messages asked for); the provider's side is what is checked.
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while ((node.failedCount() == 0 || node.busy() != 0 || server.reservedInputBytes() != 0)
                        && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertTrue(outputBytes.get() < 4L * N, "the buyer read only what it asked for");
                assertTrue(!status.isDone() || !status.get().isOk(), "the stalled attempt did not complete");
                assertEquals(0, node.busy());
                assertEquals(0, server.reservedInputBytes());
                assertEquals(0, node.completedCount());
                assertEquals(1, node.failedCount(), "the stalled attempt was stopped");
                out.onError(Status.CANCELLED.asRuntimeException());
            } finally {
                channel.shutdownNow();
            }
        }
    }
}
