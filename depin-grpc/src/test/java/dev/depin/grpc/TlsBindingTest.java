package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.TlsBinding;
import dev.depin.grpc.internal.wire.ApplyRequest;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.ledger.JdbcLedger;
import dev.depin.node.ProviderNode;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Balance;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS transport keys certified by node identities, attacked: a binding signed by another
 * identity, a binding copied onto another P-256 key, an expired or not yet valid binding,
 * no binding, malformed DER, a plain Ed25519 certificate of an older peer, a non-P-256 key,
 * a certificate not self-signed. Each is refused with its own message, first by the check
 * alone, then over a real handshake against both TLS implementations (the buyer's call fails
 * UNAVAILABLE and names the reason), and a forged operator identity moves no money through
 * the settlement service. OpenSSL and the JDK's TLS interoperate with the same certificates.
 */
class TlsBindingTest {
    private static final long SEED = 0x715b1d1e6L;
    private static final SplittableRandom RND = new SplittableRandom(SEED);
    private static final NodeKeyPair VICTIM = key();
    private static final NodeKeyPair ATTACKER = key();
    private static final Instant NOW = Instant.now();
    private static final Instant FROM = NOW.minus(Duration.ofHours(1));
    private static final Instant UNTIL = NOW.plus(Duration.ofDays(1));

    private static NodeKeyPair key() {
        byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = (byte) RND.nextInt(256);
        }
        return NodeKeyPair.fromSeed(seed);
    }

    /** A forged certificate, the key that signs it (the one the peer holds) and what the check must say. */
    private record Forgery(String name, X509Certificate cert, PrivateKey key, String refusal) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    /** A binding naming {@code named} and {@code bound}, signed by {@code signer}. */
    private static byte[] binding(NodeKeyPair signer, NodePublicKey named, PublicKey bound, Instant from, Instant until)
            throws Exception {
        byte[] hash = sha256(bound.getEncoded());
        byte[] sig = Envelope.sign(TlsBinding.PAYLOAD_TYPE, TlsBinding.statement(named, hash, from.getEpochSecond(),
                until.getEpochSecond()), signer).signatures().get(0).sig();
        return new TlsBinding(named, from.getEpochSecond(), until.getEpochSecond(), hash, sig).toDer();
    }

    private static byte[] der(Object... fields) throws Exception {
        ASN1EncodableVector v = new ASN1EncodableVector();
        for (Object f : fields) {
            v.add(f instanceof byte[] b ? new DEROctetString(b) : new ASN1Integer(((Number) f).longValue()));
        }
        return new DERSequence(v).getEncoded();
    }

    private static Forgery forged(String name, byte[] extension, String refusal) {
        KeyPair tls = NodeTls.transportKey();
        return new Forgery(name, NodeTls.certificate("forged", tls, FROM, UNTIL, extension), tls.getPrivate(), refusal);
    }

    private static String shortId(NodeKeyPair k) {
        return k.nodeId().shortId();
    }

    /** Every forgery, each claiming to be {@link #VICTIM} where it names anyone. */
    private static List<Forgery> forgeries() throws Exception {
        List<Forgery> all = new ArrayList<>();
        KeyPair tls = NodeTls.transportKey();
        all.add(new Forgery("binding signed by another identity", NodeTls.certificate("f", tls, FROM, UNTIL,
                binding(ATTACKER, VICTIM.publicKey(), tls.getPublic(), FROM, UNTIL)), tls.getPrivate(),
                "node identity binding is not signed by the node key it names (" + shortId(VICTIM) + "): refused"));
        // The victim's own binding (of the victim's TLS key), copied into a certificate of the attacker's key.
        NodeTls.Identity victim = NodeTls.identity(VICTIM);
        KeyPair other = NodeTls.transportKey();
        all.add(new Forgery("binding for another P-256 key", NodeTls.certificate("f", other, FROM, UNTIL,
                binding(VICTIM, VICTIM.publicKey(), victim.tls().getPublic(), FROM, UNTIL)), other.getPrivate(),
                "node identity binding of " + shortId(VICTIM) + " is for another TLS key than this certificate's: "
                        + "refused"));
        Instant ended = NOW.minus(Duration.ofMinutes(5));
        KeyPair e = NodeTls.transportKey();
        all.add(new Forgery("expired binding", NodeTls.certificate("f", e, FROM, UNTIL,
                binding(VICTIM, VICTIM.publicKey(), e.getPublic(), FROM.minus(Duration.ofDays(1)), ended)),
                e.getPrivate(), "node identity binding of " + shortId(VICTIM) + " expired at "
                + Instant.ofEpochSecond(ended.getEpochSecond()) + ": refused (the peer must restart to renew it)"));
        Instant starts = NOW.plus(Duration.ofMinutes(5));
        KeyPair f = NodeTls.transportKey();
        all.add(new Forgery("binding not yet valid", NodeTls.certificate("f", f, FROM, UNTIL,
                binding(VICTIM, VICTIM.publicKey(), f.getPublic(), starts, UNTIL)), f.getPrivate(),
                "node identity binding of " + shortId(VICTIM) + " is not valid before "
                        + Instant.ofEpochSecond(starts.getEpochSecond()) + ": refused (check the clocks)"));
        all.add(forged("no binding", null, "peer certificate carries no node identity binding (extension "
                + TlsBinding.OID + "): not a depin node's TLS certificate; refused"));
        String bad = "node identity binding is malformed (";
        all.add(forged("binding not DER", new byte[] {0x30, 0x05, 0x02, 0x01}, bad + "not DER): refused"));
        all.add(forged("binding of 5 fields", der(1, VICTIM.publicKey().raw(), 0, 1, new byte[32]),
                bad + "not a sequence of 6 fields): refused"));
        all.add(forged("binding version 2", der(2, VICTIM.publicKey().raw(), 0, 1, new byte[32], new byte[64]),
                bad + "version 2, this node reads version 1): refused"));
        all.add(forged("31-byte node key", der(1, new byte[31], 0, 1, new byte[32], new byte[64]),
                bad + "node key is not an OCTET STRING of 32 bytes): refused"));
        all.add(forged("63-byte signature", der(1, VICTIM.publicKey().raw(), 0, 1, new byte[32], new byte[63]),
                bad + "signature is not an OCTET STRING of 64 bytes): refused"));
        all.add(forged("time as an octet string", der(1, VICTIM.publicKey().raw(), new byte[8], 1, new byte[32],
                new byte[64]), bad + "notBefore is not an INTEGER): refused"));
        // notBefore = 2^80: no 64-bit time.
        ASN1EncodableVector v = new ASN1EncodableVector();
        v.add(new ASN1Integer(1));
        v.add(new DEROctetString(VICTIM.publicKey().raw()));
        v.add(new ASN1Integer(BigInteger.ONE.shiftLeft(80)));
        v.add(new ASN1Integer(1));
        v.add(new DEROctetString(new byte[32]));
        v.add(new DEROctetString(new byte[64]));
        byte[] withHuge = new DERSequence(v).getEncoded();
        byte[] big = der(1, VICTIM.publicKey().raw(), 0, 1, new byte[32], new byte[64]);
        all.add(forged("time past 64 bits", withHuge, bad + "an INTEGER out of range): refused"));
        byte[] trailing = Arrays.copyOf(big, big.length + 1);
        all.add(forged("trailing byte", trailing, bad + "not DER): refused"));
        all.add(forged("oversize extension", new DEROctetString(new byte[600]).getEncoded(),
                bad + "extension of 608 bytes, at most 512): refused"));
        // Not a certificate of a P-256 key.
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair p384 = g.generateKeyPair();
        all.add(new Forgery("P-384 key", selfSigned(p384, p384.getPrivate(), "SHA384withECDSA",
                binding(VICTIM, VICTIM.publicKey(), p384.getPublic(), FROM, UNTIL)), p384.getPrivate(),
                "peer TLS key is EC, not an ECDSA P-256 key bound to a node identity: refused"));
        // The victim's honest binding on a certificate another key signed.
        KeyPair a = NodeTls.transportKey();
        KeyPair b = NodeTls.transportKey();
        all.add(new Forgery("not self-signed", selfSigned(a, b.getPrivate(), "SHA256withECDSA",
                binding(VICTIM, VICTIM.publicKey(), a.getPublic(), FROM, UNTIL)), a.getPrivate(),
                "peer certificate is not self-signed by its TLS key: refused"));
        return all;
    }

    private static X509Certificate selfSigned(KeyPair subject, PrivateKey signer, String alg, byte[] ext)
            throws Exception {
        X500Name n = new X500Name("CN=forged");
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(n, BigInteger.TEN, Date.from(FROM),
                Date.from(UNTIL), n, subject.getPublic());
        b.addExtension(new org.bouncycastle.asn1.ASN1ObjectIdentifier(TlsBinding.OID), false, ext);
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer)));
    }

    /** The certificate format of depin before the binding: self-signed Ed25519 of the node key itself. */
    private static Forgery plainEd25519(NodeKeyPair node) throws Exception {
        KeyPair jdk = node.toJdk();
        X500Name n = new X500Name("CN=depin-node-" + node.nodeId().shortId());
        X509Certificate c = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(n,
                BigInteger.TWO, Date.from(FROM), Date.from(UNTIL), n, jdk.getPublic())
                .build(new JcaContentSignerBuilder("Ed25519").build(jdk.getPrivate())));
        return new Forgery("plain Ed25519 certificate", c, jdk.getPrivate(), "peer presents a plain Ed25519 node "
                + "certificate (depin before TLS keys were bound to node identities): refused; upgrade the peer");
    }

    @Test
    void check_eachForgeryIsRefusedWithItsOwnMessage() throws Exception {
        System.out.println("TlsBindingTest seed = " + SEED);
        List<Forgery> all = new ArrayList<>(forgeries());
        all.add(plainEd25519(VICTIM));
        for (Forgery f : all) {
            CertificateException e = assertThrows(CertificateException.class,
                    () -> NodeTls.check(new X509Certificate[] {f.cert()}, VICTIM.publicKey(), NOW), f.name());
            assertEquals(f.refusal(), e.getMessage(), f.name());
            // Unpinned (a provider accepting any buyer) refuses them the same way.
            assertEquals(f.refusal(), assertThrows(CertificateException.class,
                    () -> NodeTls.check(new X509Certificate[] {f.cert()}, null, NOW)).getMessage(), f.name());
        }
    }

    @Test
    void check_honestCertificateNamesItsNode_andOnlyThatNodeIsPinned() throws Exception {
        NodeTls.Identity id = NodeTls.identity(VICTIM);
        X509Certificate[] chain = {id.certificate()};
        assertEquals(VICTIM.publicKey(), NodeTls.check(chain, VICTIM.publicKey(), NOW));
        assertEquals(VICTIM.publicKey(), NodeTls.check(chain, null, NOW));
        assertEquals(VICTIM.publicKey(), NodeTls.keyOf(id.certificate()));
        assertEquals("EC", id.certificate().getPublicKey().getAlgorithm());
        assertTrue(!id.certificate().getCriticalExtensionOIDs().contains(TlsBinding.OID), "the binding is non-critical");
        assertEquals("peer key is not the key pinned by its offer: refused", assertThrows(CertificateException.class,
                () -> NodeTls.check(chain, ATTACKER.publicKey(), NOW)).getMessage());
        assertEquals("expected exactly one self-signed node certificate, got 2", assertThrows(
                CertificateException.class, () -> NodeTls.check(new X509Certificate[] {chain[0], chain[0]}, null, NOW))
                .getMessage());
        // The certificate's own validity is checked too: a year and an hour on, it has ended.
        Instant later = NOW.plus(Duration.ofDays(366));
        assertEquals("peer certificate is outside its validity (" + id.certificate().getNotBefore() + " to "
                + id.certificate().getNotAfter() + "): refused", assertThrows(CertificateException.class,
                () -> NodeTls.check(chain, null, later)).getMessage());
    }

    /** A gRPC server that completes a TLS 1.3 handshake with a forged certificate (the JDK's TLS serves any key). */
    private static Server hostileServer(Forgery f) throws Exception {
        SslContext ctx = GrpcSslContexts.configure(SslContextBuilder.forServer(f.key(), f.cert()), SslProvider.JDK)
                .protocols(NodeTls.PROTOCOL).build();
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(ctx).build().start();
    }

    private static String causes(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c).append(" <- ");
        }
        return b.toString();
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void handshake_buyerRefusesEachForgedProviderCertificate_callFailsUnavailableNamingWhy(SslProvider provider)
            throws Exception {
        List<Forgery> all = new ArrayList<>(forgeries());
        if (provider == SslProvider.JDK) {
            all.add(plainEd25519(VICTIM)); // BoringSSL offers no Ed25519 signature, so only the JDK can be shown one
        }
        NodeTls.Identity buyer = NodeTls.identity(ATTACKER);
        for (Forgery f : all) {
            Server hostile = hostileServer(f);
            ManagedChannel ch = NettyChannelBuilder.forTarget("127.0.0.1:" + hostile.getPort())
                    .sslContext(NodeTls.client(buyer, VICTIM.publicKey(), provider)).build();
            try {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ProviderGrpc
                        .newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .health(HealthRequest.getDefaultInstance()), f.name());
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), f.name() + ": " + e);
                String chain = causes(e);
                assertTrue(chain.contains(f.refusal()), f.name() + " over " + provider + ": " + chain);
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                hostile.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void handshake_plainEd25519ProviderIsRefusedByAnOpensslBuyerToo() throws Exception {
        Server hostile = hostileServer(plainEd25519(VICTIM));
        ManagedChannel ch = NettyChannelBuilder.forTarget("127.0.0.1:" + hostile.getPort())
                .sslContext(NodeTls.client(NodeTls.identity(ATTACKER), VICTIM.publicKey(), SslProvider.OPENSSL)).build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ProviderGrpc
                    .newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS).health(HealthRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            hostile.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void handshake_opensslAndJdkPeersInteroperate_andTheNodeIsKnownByItsEd25519Key() throws Exception {
        for (SslProvider server : List.of(SslProvider.OPENSSL, SslProvider.JDK)) {
            try (ProviderNode node = ProviderNode.builder(VICTIM, new CpuExecutor(1)).build()) {
                // The server's provider is the process's; the buyer's is chosen here, so both pairs are crossed.
                String before = System.getProperty(NodeTls.OPENSSL_PROPERTY);
                System.setProperty(NodeTls.OPENSSL_PROPERTY, Boolean.toString(server == SslProvider.OPENSSL));
                ProviderServer ps;
                try {
                    ps = ProviderServer.builder(node, VICTIM).start();
                } finally {
                    if (before == null) {
                        System.clearProperty(NodeTls.OPENSSL_PROPERTY);
                    } else {
                        System.setProperty(NodeTls.OPENSSL_PROPERTY, before);
                    }
                }
                try {
                    for (SslProvider client : List.of(SslProvider.OPENSSL, SslProvider.JDK)) {
                        ManagedChannel ch = NettyChannelBuilder.forTarget(ps.address())
                                .sslContext(NodeTls.client(NodeTls.identity(ATTACKER), VICTIM.publicKey(), client))
                                .build();
                        try {
                            HealthReply h = ProviderGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                                    .health(HealthRequest.getDefaultInstance());
                            assertEquals(VICTIM.nodeId().hex(), h.getNodeId(), server + " server, " + client + " client");
                        } finally {
                            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                        }
                    }
                } finally {
                    ps.close();
                }
            }
        }
    }

    @Test
    void handshake_forgedOperatorIdentityMovesNoMoney(@TempDir Path dir) throws Exception {
        NodeKeyPair ledgerKey = key();
        NodeKeyPair operator = key();
        AccountId buyer = AccountId.of("buyer:acme");
        try (JdbcLedger jdbc = JdbcLedger.builder().sqlite(dir.resolve("ledger.db")).open();
             LedgerServer server = LedgerServer.builder(jdbc, ledgerKey, LedgerAccess.builder()
                     .operator(operator.publicKey()).build()).start()) {
            jdbc.open(buyer, AccountKind.BUYER, false).join();
            List<Balance> before = jdbc.balances();
            byte[] mint = "{\"op\":\"mint\",\"key\":\"steal\",\"to\":\"buyer:acme\",\"amount\":1000000}"
                    .getBytes(StandardCharsets.UTF_8);
            // Each forgery claims the operator's key (the one allowed to mint).
            List<Forgery> all = new ArrayList<>();
            KeyPair tls = NodeTls.transportKey();
            all.add(new Forgery("signed by another identity", NodeTls.certificate("f", tls, FROM, UNTIL,
                    binding(ATTACKER, operator.publicKey(), tls.getPublic(), FROM, UNTIL)), tls.getPrivate(), ""));
            KeyPair other = NodeTls.transportKey();
            all.add(new Forgery("for another P-256 key", NodeTls.certificate("f", other, FROM, UNTIL,
                    binding(operator, operator.publicKey(), NodeTls.transportKey().getPublic(), FROM, UNTIL)),
                    other.getPrivate(), ""));
            KeyPair old = NodeTls.transportKey();
            all.add(new Forgery("expired", NodeTls.certificate("f", old, FROM, UNTIL, binding(operator,
                    operator.publicKey(), old.getPublic(), FROM.minus(Duration.ofDays(2)), NOW.minusSeconds(60))),
                    old.getPrivate(), ""));
            for (Forgery f : all) {
                SslContext ctx = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                        .keyManager(f.key(), f.cert()).protocols(NodeTls.PROTOCOL)
                        .trustManager(InsecureTrustManagerFactory.INSTANCE).build();
                ManagedChannel ch = NettyChannelBuilder.forTarget(server.address()).sslContext(ctx).build();
                try {
                    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> LedgerGrpc
                            .newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                            .apply(ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(mint)).build()));
                    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), f.name() + ": " + e);
                } finally {
                    ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
            assertEquals(before, jdbc.balances(), "no forged identity moved money");
            // The operator's real identity may mint: the refusals were the forgeries', not the request's.
            ManagedChannel real = NettyChannelBuilder.forTarget(server.address())
                    .sslContext(NodeTls.client(NodeTls.identity(operator), ledgerKey.publicKey())).build();
            try {
                LedgerGrpc.newBlockingStub(real).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .apply(ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(mint)).build());
            } finally {
                real.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            assertEquals(1_000_000, jdbc.balance(buyer).posted());
        }
    }
}
