package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.TlsBinding;
import io.netty.handler.ssl.SslProvider;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import dev.depin.node.ProviderNode;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Probes a provider node with {@code openssl s_client}, a TLS stack other than ours: with
 * a node certificate the handshake completes (TLS 1.3, ALPN h2), and each of these is
 * refused during the handshake with a TLS alert: no client certificate, TLS 1.2 only, a
 * client certificate whose key is not the key that signed it, a P-256 certificate without
 * a node identity binding, and a plain Ed25519 certificate of depin before the binding. The other way round, with {@code openssl s_server} as a
 * provider holding another key than its offer's, the buyer refuses the handshake. openssl
 * must be installed (it is here and in CI); the
 * test does not skip without it.
 */
class OpensslProbeTest {
    /**
     * What openssl sends once connected: not an HTTP/2 preface, so a node that let the
     * handshake complete closes the connection (and openssl, told to ignore the end of its
     * input, exits) instead of waiting for requests.
     */
    private static final byte[] NOT_HTTP2 = "not http/2\r\n\r\n".repeat(4).getBytes(StandardCharsets.US_ASCII);

    /** The node's TLS implementation decides which alert a refused certificate gets. */
    private static final boolean OPENSSL = NodeTls.provider() == SslProvider.OPENSSL;
    @TempDir
    Path dir;
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private ProviderServer server;

    @BeforeEach
    void start() {
        server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).build(), providerKey)
                .start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** What openssl printed and how it ended. */
    private record Probe(int exit, String output) {
    }

    private Probe sClient(String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                "-alpn", "h2", "-brief", "-ign_eof"));
        cmd.addAll(List.of(extra));
        return run(cmd);
    }

    private Probe run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write(NOT_HTTP2);
            p.getOutputStream().flush();
        } catch (IOException e) {
            // openssl already gave up: its output says why
        }
        try (InputStream in = p.getInputStream()) {
            byte[] out = in.readAllBytes(); // until openssl exits (liveness bound below)
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl did not finish");
            String text = new String(out, StandardCharsets.UTF_8);
            System.out.println(String.join(" ", cmd) + " -> exit " + p.exitValue() + "\n" + text);
            return new Probe(p.exitValue(), text);
        } finally {
            p.getOutputStream().close();
            p.destroyForcibly();
        }
    }

    private List<String> identity(String name, NodeKeyPair key) {
        Path cert = dir.resolve(name + ".crt");
        Path pkey = dir.resolve(name + ".key");
        NodeTls.writePem(NodeTls.identity(key), cert, pkey);
        return List.of("-cert", cert.toString(), "-key", pkey.toString());
    }

    @Test
    void sClient_nodeCertificateCompletesTheHandshake() throws Exception {
        Probe p = sClient(identity("buyer", NodeKeyPair.generate()).toArray(String[]::new));
        assertTrue(p.output().contains("Protocol version: TLSv1.3"), p.output());
        assertTrue(p.output().contains("depin-node-" + providerKey.nodeId().shortId()), p.output());
        assertTrue(!p.output().contains("alert"), p.output());
        assertEquals(0, p.exit(), p.output());
    }

    @Test
    void sClient_withoutClientCertificateIsRefusedWithAnAlert() throws Exception {
        Probe p = sClient();
        if (OPENSSL) {
            assertRefused(p, "certificate required", 116); // BoringSSL's TLS 1.3 alert for a missing certificate
        } else {
            assertRefused(p, "bad certificate", 42);
        }
    }

    @Test
    void sClient_tls12OnlyIsRefusedWithProtocolVersion() throws Exception {
        Probe p = sClient(with(identity("buyer", NodeKeyPair.generate()), "-tls1_2"));
        assertRefused(p, "protocol version", 70);
    }

    @Test
    void sClient_certificateWhoseKeyIsNotItsSignersIsRefused() throws Exception {
        // The certificate names P-256 key A (with A's valid node binding) but key B signed it.
        NodeKeyPair node = NodeKeyPair.generate();
        KeyPair a = NodeTls.transportKey();
        KeyPair b = NodeTls.transportKey();
        Instant now = Instant.now();
        X509Certificate honest = NodeTls.certificate("x", a, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)),
                TlsBinding.sign(node, a.getPublic(), now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)))
                        .toDer());
        X500Name name = new X500Name("CN=depin-node-" + node.nodeId().shortId());
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.TWO,
                honest.getNotBefore(), honest.getNotAfter(), name, a.getPublic());
        builder.addExtension(new ASN1ObjectIdentifier(TlsBinding.OID), false,
                ASN1OctetString.getInstance(honest.getExtensionValue(TlsBinding.OID)).getOctets());
        X509Certificate forged = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(b.getPrivate())));
        Path cert = dir.resolve("forged.crt");
        Path key = dir.resolve("forged.key");
        NodeTls.writePem(new NodeTls.Identity(node, a, forged), cert, key);
        Probe p = sClient("-cert", cert.toString(), "-key", key.toString());
        assertCertificateRefused(p);
    }

    @Test
    void sClient_p256CertificateWithoutNodeBindingIsRefused() throws Exception {
        Path cert = dir.resolve("p256.crt");
        Path key = dir.resolve("p256.key");
        Probe made = run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-subj", "/CN=not-a-node", "-days", "1"));
        assertEquals(0, made.exit(), made.output());
        Probe p = sClient("-cert", cert.toString(), "-key", key.toString());
        assertCertificateRefused(p);
    }

    @Test
    void sClient_plainEd25519NodeCertificateOfAnOlderPeerIsRefused() throws Exception {
        // The certificate format before TLS keys were bound to node identities.
        NodeKeyPair old = NodeKeyPair.generate();
        KeyPair jdk = old.toJdk();
        X500Name name = new X500Name("CN=depin-node-" + old.nodeId().shortId());
        Instant now = Instant.now();
        X509Certificate plain = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                name, BigInteger.TWO, Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))),
                name, jdk.getPublic()).build(new JcaContentSignerBuilder("Ed25519").build(jdk.getPrivate())));
        Path cert = dir.resolve("ed25519.crt");
        Path key = dir.resolve("ed25519.key");
        NodeTls.writePem(new NodeTls.Identity(old, jdk, plain), cert, key);
        Probe p = sClient("-cert", cert.toString(), "-key", key.toString());
        if (OPENSSL) {
            // BoringSSL asks for no Ed25519 signature, so openssl has no certificate it may send.
            assertRefused(p, "certificate required", 116);
        } else {
            assertCertificateRefused(p);
        }
    }

    @Test
    void sServer_providerWhoseKeyIsNotTheOffersIsRefusedByTheBuyer() throws Exception {
        // openssl serves as the provider, with a valid node certificate of another key than
        // the one the buyer pins (the offer's): the buyer aborts the handshake.
        List<String> impostor = identity("impostor", NodeKeyPair.generate());
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_server", "-accept", "127.0.0.1:" + port,
                "-naccept", "1", "-tls1_3", "-alpn", "h2", "-Verify", "1"));
        cmd.addAll(impostor);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ManagedChannel buyer = null;
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder seen = new StringBuilder();
            for (String line; (line = out.readLine()) != null && !line.contains("ACCEPT"); ) {
                seen.append(line).append('\n');
            }
            buyer = NettyChannelBuilder.forTarget("127.0.0.1:" + port).sslContext(NodeTls.client(NodeTls.identity(
                    NodeKeyPair.generate()), providerKey.publicKey())).build();
            ManagedChannel c = buyer;
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ProviderGrpc.newBlockingStub(c)
                    .withDeadlineAfter(30, TimeUnit.SECONDS).health(HealthRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
            for (String line; (line = out.readLine()) != null; ) { // s_server exits after its one connection
                seen.append(line).append('\n');
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl did not finish");
            System.out.println(String.join(" ", cmd) + "\n" + seen);
            String alert = OPENSSL ? "alert bad certificate" : "alert certificate unknown";
            assertTrue(seen.toString().contains(alert), seen.toString());
            assertTrue(seen.toString().contains("SSL alert number " + (OPENSSL ? 42 : 46)), seen.toString());
        } finally {
            if (buyer != null) {
                buyer.shutdownNow();
            }
            p.destroyForcibly();
        }
    }

    private static String[] with(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    /**
     * The handshake failed on a TLS alert from the node, of the given kind. (In TLS 1.3 the
     * client has sent its Finished before the server judges its certificate, so openssl may
     * print CONNECTION ESTABLISHED first; the alert then ends the connection before any
     * application data.)
     */
    /** A certificate refused by the node's trust manager: bad_certificate under OpenSSL, certificate_unknown under JSSE. */
    private static void assertCertificateRefused(Probe p) {
        if (OPENSSL) {
            assertRefused(p, "bad certificate", 42);
        } else {
            assertRefused(p, "certificate unknown", 46);
        }
    }

    private static void assertRefused(Probe p, String alert, int number) {
        assertTrue(p.output().contains("alert " + alert), p.output());
        assertTrue(p.output().contains("SSL alert number " + number), p.output());
        assertNotEquals(0, p.exit(), p.output());
    }
}
