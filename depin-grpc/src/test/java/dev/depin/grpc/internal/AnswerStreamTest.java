package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A listing sent under its reader's flow control ({@link AnswerStream}), over real gRPC on
 * Netty with mutual TLS, as the settlement service serves: a reader that never reads (a gRPC
 * client call that never requests a message, so its 64 KiB window is never given back) gets no
 * more pages made than its window, the service's {@value AnswerStream#QUEUED_BYTES} bytes and
 * one page allow, and is cut off after the stall timeout (its connection closed, its slot let go
 * once, the stall counted); a reader that reads gets
 * every item, in order, and is never cancelled.
 */
class AnswerStreamTest {
    private static final int ITEMS = 20_000;
    private static final int ITEM_BYTES = 100;
    private static final int WINDOW = 64 << 10;
    private static final int PAGE_BYTES = LedgerWire.PAGE * ITEM_BYTES;
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    private static final MethodDescriptor<byte[], byte[]> LIST = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("test.Answers/List")
            .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

    private static final dev.depin.crypto.NodeKeyPair SERVER_KEY = dev.depin.crypto.NodeKeyPair.generate();
    private static final dev.depin.crypto.NodeKeyPair CLIENT_KEY = dev.depin.crypto.NodeKeyPair.generate();
    private final TransportRefusals transport = new TransportRefusals(null, "test");
    private final List<byte[]> items = new ArrayList<>();
    private final AtomicInteger pages = new AtomicInteger();
    private final AtomicInteger releases = new AtomicInteger();
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    private final LedgerRefusals refusals = new LedgerRefusals();
    private ScheduledExecutorService timer;
    private Server server;
    private ManagedChannel channel;
    private volatile long stallMillis;

    @BeforeEach
    void start() throws IOException {
        for (int i = 0; i < ITEMS; i++) {
            byte[] item = new byte[ITEM_BYTES];
            java.util.Arrays.fill(item, (byte) i);
            item[0] = (byte) (i >>> 8);
            item[1] = (byte) i;
            items.add(item);
        }
        timer = Executors.newSingleThreadScheduledExecutor();
        ServerServiceDefinition service = ServerServiceDefinition.builder("test.Answers")
                .addMethod(LIST, ServerCalls.asyncServerStreamingCall((request, out) -> {
                    java.net.SocketAddress remote = PeerKeys.CONNECTION.get();
                    new AnswerStream<byte[], byte[]>((ServerCallStreamObserver<byte[]>) out, items, page -> {
                        pages.incrementAndGet();
                        byte[] all = new byte[page.size() * ITEM_BYTES];
                        for (int i = 0; i < page.size(); i++) {
                            System.arraycopy(page.get(i), 0, all, i * ITEM_BYTES, ITEM_BYTES);
                        }
                        return all;
                    }, () -> transport.closeConnection(remote), stallMillis, timer, refusals, () -> {
                        releases.incrementAndGet();
                        released.complete(null);
                    }).start();
                })).build();
        server = ServerTransport.mutualTls("127.0.0.1", 0, NodeTls.identity(SERVER_KEY), transport)
                .addService(ServerTransport.authenticated(service)).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
                .sslContext(NodeTls.client(NodeTls.identity(CLIENT_KEY), SERVER_KEY.publicKey()))
                .flowControlWindow(WINDOW).build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        timer.shutdownNow();
    }

    /** Opens the listing; the reader asks for {@code request} messages (0: it never reads). */
    private ClientCall<byte[], byte[]> open(int request, List<byte[]> got, CompletableFuture<Status> closed) {
        ClientCall<byte[], byte[]> call = channel.newCall(LIST, CallOptions.DEFAULT.withDeadlineAfter(120,
                TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                got.add(message);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.sendMessage(new byte[0]);
        call.halfClose();
        if (request > 0) {
            call.request(request);
        }
        return call;
    }

    @Test
    void neverRead_queuesAtMostItsWindowTheBoundAndOnePage_thenCancelledAndReleasedOnce() throws Exception {
        stallMillis = 300;
        List<byte[]> got = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = open(0, got, closed);
        released.get(60, TimeUnit.SECONDS);
        assertEquals(1, releases.get(), "the slot let go once");
        assertEquals(1, refusals.count(LedgerRefusals.Reason.REPLY_STALLED));
        // The client learns of the closed connection once it reads what it holds (gRPC delivers
        // the status after the messages): the pages its window took, and no more.
        call.request(Integer.MAX_VALUE);
        Status status = closed.get(60, TimeUnit.SECONDS);
        assertEquals(Status.Code.UNAVAILABLE, status.getCode(), "its connection closed: " + status);
        assertTrue(got.size() <= WINDOW / PAGE_BYTES + 1, got.size() + " pages reached the reader");
        // Pages made: what the reader's window took, what the service may queue, and the page that crossed it.
        int bound = (WINDOW + AnswerStream.QUEUED_BYTES) / PAGE_BYTES + 2;
        assertTrue(pages.get() >= 1 && pages.get() <= bound, pages.get() + " pages of " + ITEMS / LedgerWire.PAGE
                + " made for a reader that never read (at most " + bound + ")");
    }

    @Test
    void read_everyItemInOrder_neverCancelled() throws Exception {
        stallMillis = 600_000;
        List<byte[]> got = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Status> closed = new CompletableFuture<>();
        open(Integer.MAX_VALUE, got, closed);
        Status status = closed.get(60, TimeUnit.SECONDS);
        assertEquals(Status.Code.OK, status.getCode(), status.toString());
        released.get(60, TimeUnit.SECONDS);
        assertEquals(1, releases.get());
        assertEquals(0, refusals.count(LedgerRefusals.Reason.REPLY_STALLED));
        assertEquals(ITEMS / LedgerWire.PAGE, got.size());
        for (int p = 0; p < got.size(); p++) {
            for (int i = 0; i < LedgerWire.PAGE; i++) {
                int n = p * LedgerWire.PAGE + i;
                assertEquals((byte) (n >>> 8), got.get(p)[i * ITEM_BYTES], "item " + n);
                assertEquals((byte) n, got.get(p)[i * ITEM_BYTES + 1], "item " + n);
            }
        }
        assertEquals(ITEMS / LedgerWire.PAGE, pages.get());
    }
}
