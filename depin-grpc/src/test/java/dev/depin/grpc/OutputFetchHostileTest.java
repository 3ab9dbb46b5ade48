package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.OutputFetch;
import dev.depin.grpc.internal.wire.FetchReply;
import dev.depin.grpc.internal.wire.FetchRequest;
import dev.depin.grpc.internal.wire.FetchedChunk;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.JobSpec;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A hostile provider answering Fetch: a raw server on the generated stub that serves an
 * output's chunks with its honest proofs, then alters one thing in the reply. The buyer's
 * fetch refuses each alteration with its exact message and returns no byte of that call.
 */
class OutputFetchHostileTest {
    private static final long SEED = 0xBAD_F37CL;
    /** Not a multiple of any chunk size: 73 full 4 KiB chunks and one of 1,569 bytes. */
    private static final int BYTES = 300_577;

    private final byte[] data = new byte[BYTES];
    private MerkleTree tree;
    private String root;
    private volatile UnaryOperator<FetchReply> tamper = UnaryOperator.identity();
    private Server server;
    private ManagedChannel channel;
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private String provider;

    @BeforeEach
    void start() throws Exception {
        System.out.println("OutputFetchHostileTest seed 0x" + Long.toHexString(SEED));
        new SplittableRandom(SEED).nextBytes(data);
        tree = MerkleTree.of(ByteBuffer.wrap(data), JobSpec.MERKLE_CHUNK_BYTES);
        root = tree.rootHex();
        provider = providerKey.nodeId().shortId();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(NodeTls.server(NodeTls.identity(providerKey)))
                .addService(new ProviderGrpc.ProviderImplBase() {
                    @Override
                    public void fetch(FetchRequest request, StreamObserver<FetchReply> responses) {
                        responses.onNext(tamper.apply(OutputFetch.serve(ByteBuffer.wrap(data).asReadOnlyBuffer(),
                                tree, request)));
                        responses.onCompleted();
                    }
                }).build().start();
        channel = NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort())
                .sslContext(NodeTls.client(NodeTls.identity(NodeKeyPair.generate()), providerKey.publicKey()))
                .maxInboundMessageSize(8 << 20).build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private List<ByteBuffer> fetch(int chunkBytes, List<Integer> chunks) throws Exception {
        return OutputFetch.fetch(channel, provider, root, BYTES, chunkBytes, chunks).get(30, TimeUnit.SECONDS);
    }

    private String refused(int chunkBytes, List<Integer> chunks, UnaryOperator<FetchReply> t) {
        tamper = t;
        ExecutionException e = assertThrows(ExecutionException.class, () -> fetch(chunkBytes, chunks));
        assertInstanceOf(VerificationException.class, e.getCause());
        return e.getCause().getMessage();
    }

    private static FetchReply edit(FetchReply r, int k, UnaryOperator<FetchedChunk.Builder> f) {
        return r.toBuilder().setChunks(k, f.apply(r.getChunks(k).toBuilder())).build();
    }

    private static ByteString flip(ByteString b, int at) {
        byte[] a = b.toByteArray();
        a[at] ^= 0x01;
        return ByteString.copyFrom(a);
    }

    private String message(String what) {
        return "MERKLE_PROOF_INVALID: provider " + provider + " " + what + " of output " + root
                + ": nothing of this fetch is used; treat the provider as untrusted";
    }

    @Test
    void honestReplies_verifyAndEqualTheBytes() throws Exception {
        List<ByteBuffer> got = fetch(65_536, List.of(0, 3, 4));
        assertEquals(ByteBuffer.wrap(data, 0, 65_536), got.get(0));
        assertEquals(ByteBuffer.wrap(data, 3 * 65_536, 65_536), got.get(1));
        assertEquals(ByteBuffer.wrap(data, 4 * 65_536, BYTES - 4 * 65_536), got.get(2), "the short last chunk");
        assertEquals(ByteBuffer.wrap(data), fetch(1 << 20, List.of(0)).get(0), "one chunk holds it all");
    }

    @Test
    void aFlippedByteInOneChunk_isRefused() {
        assertEquals(message("sent chunk 73 of 74 that does not lead to the root its receipt signed"),
                refused(4096, List.of(5, 73), r -> edit(r, 1, c -> c.setData(flip(c.getData(), 1000)))));
        assertEquals(message("sent chunk 0 of 1 that does not lead to the root its receipt signed"),
                refused(1 << 20, List.of(0), r -> edit(r, 0, c -> c.setData(flip(c.getData(), BYTES - 1)))));
    }

    @Test
    void aTamperedProof_isRefused() {
        String wrong = message("sent chunk 2 of 5 that does not lead to the root its receipt signed");
        assertEquals(wrong, refused(65_536, List.of(2), r -> edit(r, 0, c -> c.setPath(1, flip(c.getPath(1), 31)))));
        assertEquals(wrong, refused(65_536, List.of(2), r -> edit(r, 0, c -> c.clearPath()
                .addAllPath(r.getChunks(0).getPathList().subList(1, r.getChunks(0).getPathCount())))));
        assertEquals(message("sent a path hash of 31 bytes for chunk 2"), refused(65_536, List.of(2),
                r -> edit(r, 0, c -> c.setPath(0, c.getPath(0).substring(1)))));
    }

    @Test
    void theWrongChunkOrLengthOrCount_isRefused() {
        // Chunk 3's honest bytes and proof, offered as chunk 4: the index is checked, not trusted.
        assertEquals(message("sent chunk 3 where chunk 4 was asked"), refused(4096, List.of(4),
                r -> FetchReply.newBuilder().addChunks(OutputFetch.serve(ByteBuffer.wrap(data), tree,
                        FetchRequest.newBuilder().setRoot(root).setBytes(BYTES).setChunkBytes(4096).addChunks(3)
                                .build()).getChunks(0)).build()));
        assertEquals(message("sent 1568 bytes for chunk 73, which has 1569"), refused(4096, List.of(73),
                r -> edit(r, 0, c -> c.setData(c.getData().substring(1)))));
        assertEquals(message("sent 1 chunk(s) for 2 asked"), refused(4096, List.of(0, 1),
                r -> r.toBuilder().removeChunks(1).build()));
        assertEquals(message("sent 0 chunk(s) for 1 asked"), refused(4096, List.of(0),
                r -> FetchReply.getDefaultInstance()));
    }
}
