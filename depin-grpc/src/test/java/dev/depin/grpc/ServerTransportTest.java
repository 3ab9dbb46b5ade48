package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.ServerTransport;
import dev.depin.ledger.JdbcLedger;
import dev.depin.node.ProviderNode;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The limits every depin server shares ({@link ServerTransport}) hold on each of them — the
 * directory, a provider node and the settlement service — from a client that is not ours:
 * a connection that never starts its TLS handshake is closed, and a call whose headers pass
 * 16 KiB is refused while the same call with small headers reaches the server.
 */
class ServerTransportTest {
    /** A method no depin server has: a call to it that gets through is answered UNIMPLEMENTED. */
    private static final MethodDescriptor<byte[], byte[]> NO_SUCH_METHOD = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("depin.probe.Nothing/Call")
            .setRequestMarshaller(Hostile.RAW_BYTES).setResponseMarshaller(Hostile.RAW_BYTES).build();

    @TempDir
    static Path dir;
    private static DirectoryServer directory;
    private static ProviderServer provider;
    private static JdbcLedger ledger;
    private static LedgerServer settlement;
    private static final List<Server> SERVERS = new ArrayList<>();

    private record Server(String name, String address, NodePublicKey key) {
    }

    @BeforeAll
    static void start() throws Exception {
        directory = DirectoryServer.builder(NodeKeyPair.generate()).listen("127.0.0.1", 0).start();
        NodeKeyPair nodeKey = NodeKeyPair.generate();
        provider = ProviderServer.builder(ProviderNode.builder(nodeKey, new CpuExecutor(1)).build(), nodeKey)
                .listen("127.0.0.1", 0).start();
        NodeKeyPair ledgerKey = NodeKeyPair.generate();
        ledger = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).certifyHolds(ledgerKey).open();
        settlement = LedgerServer.builder(ledger, ledgerKey,
                LedgerAccess.builder().operator(NodeKeyPair.generate().publicKey()).build()).start();
        SERVERS.add(new Server("directory", directory.address(), directory.publicKey()));
        SERVERS.add(new Server("provider node", provider.address(), nodeKey.publicKey()));
        SERVERS.add(new Server("settlement service", settlement.address(), settlement.publicKey()));
    }

    @AfterAll
    static void stop() {
        if (settlement != null) {
            settlement.close();
        }
        if (ledger != null) {
            ledger.close();
        }
        if (provider != null) {
            provider.close();
        }
        if (directory != null) {
            directory.close();
        }
    }

    @Test
    void aConnectionThatNeverStartsItsHandshakeIsClosed() throws Exception {
        // All three at once: each is closed by its own handshake timeout (10 s), so the test
        // waits about that long once, not three times.
        List<CompletableFuture<String>> closed = new ArrayList<>();
        for (Server s : SERVERS) {
            closed.add(CompletableFuture.supplyAsync(() -> silentConnection(s)));
        }
        for (int i = 0; i < SERVERS.size(); i++) {
            assertEquals("closed", closed.get(i).get(2L * ServerTransport.HANDSHAKE_TIMEOUT_SECONDS + 30, TimeUnit.SECONDS),
                    SERVERS.get(i).name());
        }
    }

    /** Connects, sends nothing, and says how the connection ended. */
    private static String silentConnection(Server s) {
        String[] hostPort = s.address().split(":");
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])), 5_000);
            // Far past the server's timeout: a read that times out means the server kept it open.
            socket.setSoTimeout((ServerTransport.HANDSHAKE_TIMEOUT_SECONDS + 20) * 1_000);
            int first = socket.getInputStream().read();
            return first == -1 ? "closed" : "sent byte " + first + " before any ClientHello";
        } catch (SocketTimeoutException e) {
            return "still open after " + (ServerTransport.HANDSHAKE_TIMEOUT_SECONDS + 20) + " s";
        } catch (SocketException e) {
            return e.getMessage().contains("reset") ? "closed" : "failed: " + e;
        } catch (IOException e) {
            return "failed: " + e;
        }
    }

    @Test
    void headersPastTheLimitAreRefusedAndSmallOnesGetThrough() {
        for (Server s : SERVERS) {
            try (Hostile client = new Hostile(s.address(), s.key())) {
                StatusRuntimeException small = assertThrows(StatusRuntimeException.class,
                        () -> call(client, 1 << 10));
                assertEquals(Status.Code.UNIMPLEMENTED, small.getStatus().getCode(), s.name() + ": " + small);

                StatusRuntimeException large = assertThrows(StatusRuntimeException.class,
                        () -> call(client, ServerTransport.MAX_METADATA_BYTES + (4 << 10)));
                assertTrue(large.getStatus().getCode() != Status.Code.UNIMPLEMENTED,
                        s.name() + " let a call with 20 KiB of headers through: " + large);
                assertEquals(Status.Code.INTERNAL, large.getStatus().getCode(), s.name() + ": " + large);
                // Netty's client refuses to send what the server's SETTINGS_MAX_HEADER_LIST_SIZE
                // forbids: the limit reached the client from the server.
                assertTrue(String.valueOf(large.getCause()).contains("Header size exceeded max allowed size ("
                        + ServerTransport.MAX_METADATA_BYTES + ")"), s.name() + ": " + large.getCause());
            }
        }
    }

    private static byte[] call(Hostile client, int headerBytes) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("x-padding", Metadata.ASCII_STRING_MARSHALLER), "a".repeat(headerBytes));
        return ClientCalls.blockingUnaryCall(ClientInterceptors.intercept(client.channel,
                        MetadataUtils.newAttachHeadersInterceptor(headers)),
                NO_SUCH_METHOD, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
                new byte[0]);
    }
}
