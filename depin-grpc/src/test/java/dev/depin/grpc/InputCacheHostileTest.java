package dev.depin.grpc;

import static dev.depin.grpc.CacheFixtures.bytes;
import static dev.depin.grpc.CacheFixtures.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.depin.crypto.Hex;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.Need;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.InputRef;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.node.InputCache;
import dev.depin.node.ProviderNode;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile use of the input cache on raw Execute streams: a peer that names another buyer's
 * root, a root claimed with another size, and malformed by-root declarations. None of them
 * reaches a cached entry that is not the peer's own bytes.
 */
class InputCacheHostileTest {
    private static final long SEED = 0x15BAD5L;
    private final SplittableRandom random = new SplittableRandom(SEED);
    private final NodeKeyPair nodeKey = NodeKeyPair.generate();
    private final NodeKeyPair owner = NodeKeyPair.generate();
    private ProviderNode node;
    private DirectoryServer directory;
    private ProviderServer server;

    @BeforeEach
    void start() {
        System.out.println("InputCacheHostileTest seed 0x" + Long.toHexString(SEED));
        node = ProviderNode.builder(nodeKey, new CpuExecutor(1)).receiptBatching(0)
                .inputCache(InputCache.Limits.of(16L << 20, 64)).build();
        directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
        server = ProviderServer.builder(node, nodeKey).listen("127.0.0.1", 0)
                .directory(directory.address(), directory.publicKey()).renewEvery(Duration.ofSeconds(5)).start();
    }

    @AfterEach
    void stop() {
        server.close();
        directory.close();
    }

    private Job saxpy(int n) {
        return CacheFixtures.saxpy(floats(random, n), floats(random, n), 50_000);
    }

    /** One raw Execute stream under a chosen key: what it received, and how it ended. */
    private final class Stream implements AutoCloseable {
        final ManagedChannel channel;
        final LinkedBlockingQueue<ExecuteResponse> received = new LinkedBlockingQueue<>();
        final CompletableFuture<Status> status = new CompletableFuture<>();
        final StreamObserver<ExecuteRequest> out;

        Stream(NodeKeyPair as) {
            channel = NettyChannelBuilder.forTarget(server.address())
                    .sslContext(NodeTls.client(NodeTls.identity(as), nodeKey.publicKey())).build();
            out = ProviderGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).execute(new StreamObserver<>() {
                @Override
                public void onNext(ExecuteResponse value) {
                    received.add(value);
                }

                @Override
                public void onError(Throwable t) {
                    status.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    status.complete(Status.OK);
                }
            });
        }

        void start(byte[] specJson, boolean keep, List<String> byRoot, List<InputChunk> inline) {
            Start.Builder s = Start.newBuilder().setJobId("0123456789abcdef0123456789abcdef").setAttempt(1)
                    .setSpecJson(ByteString.copyFrom(specJson)).setNonce(ByteString.copyFrom(new byte[32]))
                    .setKeepInputs(keep).addAllByRoot(byRoot).addAllInputs(inline);
            out.onNext(ExecuteRequest.newBuilder().setStart(s).build());
        }

        void send(String name, byte[] data) {
            out.onNext(ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName(name)
                    .setData(ByteString.copyFrom(data))).build());
        }

        ExecuteResponse next() throws InterruptedException {
            ExecuteResponse r = received.poll(30, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("nothing received; status " + status.getNow(null));
            }
            return r;
        }

        Status end() throws Exception {
            Status s = status.get(30, TimeUnit.SECONDS);
            if (s.isOk()) {
                return s;
            }
            return s;
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** The owner runs the job with keep: the node then holds x and y for the owner only. */
    private void ownerKeeps(Job job) throws Exception {
        try (Stream s = new Stream(owner)) {
            s.start(job.spec().canonicalJson(), true, List.of(), List.of(
                    InputChunk.newBuilder().setName("x").setData(ByteString.copyFrom(bytes(job.inputs().get("x")))).build(),
                    InputChunk.newBuilder().setName("y").setData(ByteString.copyFrom(bytes(job.inputs().get("y")))).build()));
            ExecuteResponse r;
            do {
                r = s.next();
            } while (!r.hasResult());
            assertEquals(List.of("x", "y"), r.getResult().getKeptInputsList());
            s.out.onCompleted();
            assertEquals(Status.Code.OK, s.end().getCode());
        }
        InputCache cache = node.inputCache().orElseThrow();
        for (InputRef in : job.spec().inputs()) {
            assertTrue(cache.holds(owner.nodeId().hex(), in));
        }
    }

    @Test
    void aStrangerNamingAnotherBuyersRootsIsAskedForTheBytesAndForgedBytesAreRefused() throws Exception {
        Job job = saxpy(1000);
        ownerKeeps(job);
        NodeKeyPair stranger = NodeKeyPair.generate();
        try (Stream s = new Stream(stranger)) {
            s.start(job.spec().canonicalJson(), true, List.of("x", "y"), List.of());
            ExecuteResponse need = s.next();
            assertEquals(Need.newBuilder().addNames("x").addNames("y").build(), need.getNeed(),
                    "the stranger was served the owner's bytes");
            byte[] forged = new byte[4000]; // the right size, not the bytes
            s.send("x", forged);
            s.send("y", bytes(job.inputs().get("y")));
            Status st = s.end();
            String forgedRoot = Hex.encode(Merkle.root(forged, JobSpec.MERKLE_CHUNK_BYTES));
            assertEquals(Status.Code.FAILED_PRECONDITION, st.getCode(), st.toString());
            assertEquals("input 'x' hashes to Merkle root " + forgedRoot + " but the spec commits to "
                    + job.spec().inputs().get(0).merkleRoot() + ": the bytes were altered in transit",
                    st.getDescription());
        }
        InputCache cache = node.inputCache().orElseThrow();
        assertFalse(cache.holds(stranger.nodeId().hex(), job.spec().inputs().get(0)), "forged bytes were cached");
        assertEquals(8000, cache.bytesOf(owner.nodeId().hex()), "the owner's entries were touched");
        assertEquals(0, cache.hits(), "a stranger hit the owner's entries");
    }

    @Test
    void theOwnersRootClaimedWithAnotherSizeIsAMissAndItsBytesCannotMatch() throws Exception {
        Job job = saxpy(1000);
        ownerKeeps(job);
        Job longer = saxpy(1001);
        // longer's spec, with x claiming the owner's 4,000-byte root for 4,004 bytes.
        String json = new String(longer.spec().canonicalJson(), StandardCharsets.UTF_8)
                .replace(longer.spec().inputs().get(0).merkleRoot(), job.spec().inputs().get(0).merkleRoot());
        try (Stream s = new Stream(owner)) {
            s.start(json.getBytes(StandardCharsets.UTF_8), true, List.of("x"), List.of());
            assertEquals(List.of("x"), s.next().getNeed().getNamesList());
            byte[] padded = java.util.Arrays.copyOf(bytes(job.inputs().get("x")), 4004);
            s.send("x", padded);
            s.send("y", bytes(longer.inputs().get("y")));
            Status st = s.end();
            assertEquals(Status.Code.FAILED_PRECONDITION, st.getCode(), st.toString());
            assertTrue(st.getDescription().startsWith("input 'x' hashes to Merkle root "
                    + Hex.encode(Merkle.root(padded, JobSpec.MERKLE_CHUNK_BYTES)) + " but the spec commits to "
                    + job.spec().inputs().get(0).merkleRoot()), st.getDescription());
        }
        assertEquals(0, node.inputCache().orElseThrow().hits());
    }

    @Test
    void malformedByRootDeclarationsAreRefused() throws Exception {
        Job job = saxpy(10);
        byte[] spec = job.spec().canonicalJson();
        InputChunk x = InputChunk.newBuilder().setName("x").setData(ByteString.copyFrom(bytes(job.inputs().get("x"))))
                .build();
        assertRefused(spec, List.of("z"), List.of(), "input 'z' sent by root is not declared by job "
                + "0123456789abcdef0123456789abcdef (it declares ");
        assertRefused(spec, List.of("x", "x"), List.of(), "input 'x' sent by root twice: malformed stream");
        assertRefused(spec, List.of("x"), List.of(x), "input 'x' is sent by root and inside Start: malformed stream");
        // A chunk for an input the node holds (sent by root, no Need) is refused.
        ownerKeeps(job);
        try (Stream s = new Stream(owner)) {
            s.start(spec, true, List.of("x"), List.of());
            s.send("x", bytes(job.inputs().get("x")));
            Status st = s.end();
            assertEquals(Status.Code.INVALID_ARGUMENT, st.getCode(), st.toString());
            assertEquals("input 'x' was sent by root and this node holds it: no bytes of it may follow",
                    st.getDescription());
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.reservedInputBytes() != 0 && System.nanoTime() < until) {
            Thread.sleep(2);
        }
        assertEquals(0, server.reservedInputBytes());
    }

    private void assertRefused(byte[] spec, List<String> byRoot, List<InputChunk> inline, String prefix)
            throws Exception {
        try (Stream s = new Stream(owner)) {
            s.start(spec, true, byRoot, inline);
            Status st = s.end();
            assertEquals(Status.Code.INVALID_ARGUMENT, st.getCode(), st.toString());
            assertTrue(String.valueOf(st.getDescription()).startsWith(prefix), st.toString());
        }
    }
}
