package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.DirectoryClient;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutual TLS 1.3 with pinned Ed25519 keys: a provider whose key is not its offer's, a client
 * without a certificate, TLS 1.2 and plaintext are each refused during or before the
 * handshake, so no job data flows; each refusal is set beside the same probe with the one
 * thing fixed, which succeeds. Each refusal at the node's handshake is counted by its reason in
 * {@code depin.node.transport.refusals} (kind {@code handshake}), and the honest probe beside it
 * is not.
 */
class TlsRefusalTest {
    private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private final NodeKeyPair buyerKey = NodeKeyPair.generate();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private DirectoryServer directory;
    private ProviderServer server;

    @BeforeEach
    void start() {
        directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
        server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).build(), providerKey)
                .directory(directory.address()).meterRegistry(meters).start();
        server.renewNow();
    }

    /** @return the node's handshake refusals with this reason so far */
    private double handshakes(String error) {
        var c = meters.find("depin.node.transport.refusals").tag("kind", "handshake").tag("error", error)
                .functionCounter();
        return c == null ? 0 : c.count();
    }

    /**
     * Waits (at most 30 s) until the node has counted {@code n} handshake refusals of reason
     * {@code error}, and asserts that it counted exactly that many and no refusal of another kind
     * or reason: the count is made on the node's event loop as the connection goes, a moment after
     * the client saw it fail.
     */
    private void assertRefused(String error, int n) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (handshakes(error) < n && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertEquals(n, handshakes(error), error + " refusals; all: " + refusals());
        assertEquals(n, server.transportRefusals(), "refusals of any kind: " + refusals());
    }

    private String refusals() {
        return meters.find("depin.node.transport.refusals").functionCounters().stream()
                .filter(c -> c.count() > 0).map(c -> c.getId().getTag("kind") + "/" + c.getId().getTag("error") + "="
                        + c.count()).toList().toString();
    }

    @AfterEach
    void stop() {
        server.close();
        directory.close();
    }

    private static Job reduce() {
        return Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 2).input("x", new float[] {1, 2}).build();
    }

    private static ExecutionRequest request(Job job) {
        return new ExecutionRequest("00112233445566778899aabbccddeeff", 1, job.spec(), job.inputs(),
                new byte[ExecutionRequest.NONCE_BYTES]);
    }

    @Test
    void dispatch_providerKeyNotTheOffersIsRefusedBeforeAnyJobData() throws Exception {
        // An impostor lists its own (validly signed) offer at the honest provider's address.
        NodeKeyPair impostorKey = NodeKeyPair.generate();
        try (ProviderNode impostor = ProviderNode.builder(impostorKey, new CpuExecutor(1)).build();
             DirectoryClient lister = new DirectoryClient(NodeTls.identity(impostorKey), directory.address(), null,
                     impostor::offer, server.address(), Duration.ofHours(1));
             GrpcNetwork net = GrpcNetwork.connect(directory.address())) {
            lister.renew();
            List<ProviderOffer> offers = net.offers(new OfferQuery("reduce-sum", Requirements.ANY, 10))
                    .get(10, TimeUnit.SECONDS);
            assertEquals(2, offers.size(), offers.toString());
            ProviderOffer fake = offers.stream().filter(o -> o.nodeId().equals(impostorKey.nodeId())).findFirst()
                    .orElseThrow();
            ProviderOffer real = offers.stream().filter(o -> o.nodeId().equals(providerKey.nodeId())).findFirst()
                    .orElseThrow();

            Dispatch d = net.dispatch(fake, request(reduce()), p -> { });
            ExecutionException e = assertThrows(ExecutionException.class, () -> d.response().get(10, TimeUnit.SECONDS));
            assertInstanceOf(NetworkException.class, e.getCause(), e.getCause().toString());
            assertTrue(e.getCause().getMessage().contains("UNAVAILABLE"), e.getCause().getMessage());
            d.released().get(10, TimeUnit.SECONDS);
            assertEquals(0, server.node().completedCount() + server.node().failedCount() + server.node().busy(),
                    "no job data may reach the provider over a refused handshake");
            assertEquals(0, impostor.completedCount());

            // The same address with the key its offer names works.
            Dispatch ok = net.dispatch(real, request(reduce()), p -> { });
            assertEquals(3f, ok.response().get(10, TimeUnit.SECONDS).outputBytes().get("sum").getFloat(0));
        }
        // The buyer refused the node (its key is not the impostor's offer's): the node counts the
        // handshake the client ended, nothing it refused itself.
        assertRefused("refused_by_client", 1);
    }

    @Test
    void handshake_clientWithoutCertificateIsRefused() throws Exception {
        // Without a client certificate: refused (TLS alert), so the call fails UNAVAILABLE.
        ManagedChannel anonymous = NettyChannelBuilder.forTarget(server.address())
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .protocols("TLSv1.3").trustManager(InsecureTrustManagerFactory.INSTANCE).build())
                .build();
        ManagedChannel authenticated = NettyChannelBuilder.forTarget(server.address())
                .sslContext(NodeTls.client(NodeTls.identity(buyerKey), providerKey.publicKey())).build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ProviderGrpc
                    .newBlockingStub(anonymous).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .health(HealthRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
            assertRefused("no_certificate", 1);
            HealthReply h = ProviderGrpc.newBlockingStub(authenticated).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .health(HealthRequest.getDefaultInstance());
            assertEquals(providerKey.nodeId().hex(), h.getNodeId());
            assertRefused("no_certificate", 1);
        } finally {
            anonymous.shutdownNow();
            authenticated.shutdownNow();
        }
    }

    private SSLSocket socket(String protocol) throws Exception {
        return socket(protocol, NodeTls.identity(buyerKey));
    }

    private SSLSocket socket(String protocol, NodeTls.Identity me) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("buyer", me.tls().getPrivate(), new char[0], new Certificate[] {me.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port());
        s.setSoTimeout(10_000);
        s.setEnabledProtocols(new String[] {protocol});
        return s;
    }

    @Test
    void handshake_tls12IsRefused() throws Exception {
        try (SSLSocket s = socket("TLSv1.2")) {
            SSLException e = assertThrows(SSLException.class, s::startHandshake);
            assertTrue(e.getMessage().contains("protocol_version") || e.getMessage().contains("protocol"),
                    e.getMessage());
        }
        assertRefused("protocol_version", 1);
        try (SSLSocket s = socket("TLSv1.3")) {
            s.startHandshake();
            assertEquals("TLSv1.3", s.getSession().getProtocol());
            assertEquals(providerKey.publicKey(), NodeTls.keyOf(s.getSession().getPeerCertificates()[0]));
        }
    }

    @Test
    void handshake_certificateOutsideItsValidityIsRefusedAndCounted() throws Exception {
        Instant past = Instant.now().minus(Duration.ofDays(2));
        assertHandshakeFails(NodeTls.identity(buyerKey, past, past.plus(Duration.ofDays(1))));
        assertRefused("bad_certificate", 1);
    }

    @Test
    void handshake_certificateOfAKeyTheClientDoesNotHoldIsRefusedAndCounted() throws Exception {
        // The buyer's certificate, presented with another TLS key: the proof of possession fails.
        NodeTls.Identity real = NodeTls.identity(buyerKey);
        NodeTls.Identity forged = new NodeTls.Identity(buyerKey, NodeTls.transportKey(), real.certificate());
        assertHandshakeFails(forged);
        assertRefused("bad_signature", 1);
    }

    /** Connects over TLS 1.3 as {@code me}; the node must refuse it. */
    private void assertHandshakeFails(NodeTls.Identity me) throws Exception {
        try (SSLSocket s = socket("TLSv1.3", me)) {
            // TLS 1.3: the client learns of the refusal on its first read, after its own handshake.
            assertThrows(IOException.class, () -> {
                s.startHandshake();
                s.getInputStream().read();
            });
        }
    }

    @Test
    void handshake_connectionsThatNeverFinishAreClosedAndCountedAsTimeouts() throws Exception {
        // One sends nothing at all (no ClientHello), one finishes TLS and never speaks HTTP/2, and
        // one connects and leaves at once: the server closes the first two at its handshake
        // timeout (timeout), the third is gone before (closed).
        try (Socket silent = new Socket("127.0.0.1", server.port()); SSLSocket mute = socket("TLSv1.3")) {
            mute.startHandshake();
            new Socket("127.0.0.1", server.port()).close();
            silent.setSoTimeout(60_000);
            mute.setSoTimeout(60_000);
            assertEquals(-1, silent.getInputStream().read(), "the silent connection was not closed");
            assertEquals(-1, mute.getInputStream().read(), "the connection without HTTP/2 was not closed");
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((handshakes("timeout") < 2 || handshakes("closed") < 1) && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertEquals(2, handshakes("timeout"), refusals());
        assertEquals(1, handshakes("closed"), refusals());
        assertEquals(3, server.transportRefusals(), refusals());
    }

    @Test
    void plaintext_framesBeforeAnyHandshakeAreRefusedAndTheServerKeepsServing() throws Exception {
        try (Socket raw = new Socket("127.0.0.1", server.port())) {
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write(H2_PREFACE);
            raw.getOutputStream().write(new byte[64]);
            raw.getOutputStream().flush();
            InputStream in = raw.getInputStream();
            byte[] buf = new byte[4096];
            try {
                int total = 0;
                for (int n; (n = in.read(buf)) > 0; ) {
                    total += n;
                    assertTrue(total < 1 << 16, "the server keeps talking plaintext");
                }
            } catch (IOException expected) {
                // connection reset: refused
            }
        }
        assertRefused("not_tls", 1);
        try (GrpcNetwork net = GrpcNetwork.connect(directory.address())) {
            ProviderOffer o = net.offers(new OfferQuery("reduce-sum", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS)
                    .get(0);
            assertEquals(3f, net.dispatch(o, request(reduce()), p -> { }).response().get(10, TimeUnit.SECONDS)
                    .outputBytes().get("sum").getFloat(0));
        }
    }
}
