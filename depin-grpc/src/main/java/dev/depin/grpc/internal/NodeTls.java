package dev.depin.grpc.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.network.NetworkException;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.CertificateVerifier;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/**
 * TLS 1.3 with both sides authenticated by node identities (no CA). BoringSSL does not do
 * Ed25519 in TLS, so each identity makes a fresh ECDSA P-256 transport key whose
 * self-signed certificate carries a {@link TlsBinding}: the node's Ed25519 key signing that
 * P-256 key, its validity and its purpose. The server requires a client certificate, and
 * each side checks the peer's certificate with a {@link PinningTrustManager} — against one
 * pinned node key (a buyer dialling the provider named in an offer), or any node key (a
 * provider accepting buyers, who are identified by their key). The peer is identified by
 * the Ed25519 key of its binding ({@link #keyOf}), so everything keyed by node id is as
 * before. OpenSSL (BoringSSL through netty-tcnative) is used where it loads, the JDK's TLS
 * otherwise or with {@code -Ddepin.tls.openssl=false}; both speak the same certificates.
 * Plain Ed25519 certificates (depin before the binding) are refused.
 */
public final class NodeTls {
    /** Only TLS 1.3: a peer offering TLS 1.2 is refused with protocol_version. */
    public static final String PROTOCOL = "TLSv1.3";
    /** System property that turns OpenSSL off ({@code false}): the JDK's TLS is then used. */
    public static final String OPENSSL_PROPERTY = "depin.tls.openssl";
    private static final Duration CERT_VALIDITY = Duration.ofDays(365);
    private static final Duration CLOCK_SKEW = Duration.ofHours(1);

    private NodeTls() {
    }

    /**
     * A node identity, its TLS transport key pair and the self-signed certificate that binds
     * the transport key to the identity.
     *
     * @param key         the node identity
     * @param tls         the TLS transport key pair (ECDSA P-256)
     * @param certificate the transport key's certificate, carrying the {@link TlsBinding}
     */
    public record Identity(NodeKeyPair key, KeyPair tls, X509Certificate certificate) {
    }

    /**
     * The TLS implementation this process uses: OpenSSL where netty-tcnative loads and
     * {@value #OPENSSL_PROPERTY} is not {@code false}, the JDK's otherwise.
     *
     * @return the provider
     */
    public static SslProvider provider() {
        return !"false".equalsIgnoreCase(System.getProperty(OPENSSL_PROPERTY)) && OpenSsl.isAvailable()
                ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /**
     * Makes a fresh P-256 transport key for a node identity and its self-signed certificate,
     * whose binding and validity run from an hour ago (clock skew) for a year.
     *
     * @param key the node's identity
     * @return the identity with its transport key and certificate
     */
    public static Identity identity(NodeKeyPair key) {
        Instant now = Instant.now();
        return identity(key, now.minus(CLOCK_SKEW), now.plus(CERT_VALIDITY));
    }

    /**
     * Makes a fresh P-256 transport key for a node identity, bound for the given window.
     *
     * @param key       the node's identity
     * @param notBefore start of the certificate's and the binding's validity
     * @param notAfter  end of both
     * @return the identity with its transport key and certificate
     */
    public static Identity identity(NodeKeyPair key, Instant notBefore, Instant notAfter) {
        KeyPair tls = transportKey();
        TlsBinding binding = TlsBinding.sign(key, tls.getPublic(), notBefore, notAfter);
        return new Identity(key, tls, certificate(key.nodeId().shortId(), tls, notBefore, notAfter,
                binding.toDer()));
    }

    /**
     * A fresh ECDSA P-256 key pair.
     *
     * @return the key pair
     */
    public static KeyPair transportKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new NetworkException("this JDK cannot make an ECDSA P-256 key for TLS: " + e.getMessage(), e);
        }
    }

    /**
     * A self-signed certificate of {@code tls} carrying {@code bindingDer} (or nothing when
     * null) as the non-critical {@link TlsBinding#OID} extension.
     *
     * @param name       the short node id put in the subject
     * @param tls        the key pair certified and signing
     * @param notBefore  start of validity
     * @param notAfter   end of validity
     * @param bindingDer the extension's value, or {@code null} for none
     * @return the certificate
     */
    public static X509Certificate certificate(String name, KeyPair tls, Instant notBefore, Instant notAfter,
                                              byte[] bindingDer) {
        try {
            X500Name subject = new X500Name("CN=depin-node-" + name);
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject,
                    new BigInteger(64, new SecureRandom()).add(BigInteger.ONE), Date.from(notBefore),
                    Date.from(notAfter), subject, tls.getPublic());
            if (bindingDer != null) {
                b.addExtension(new ASN1ObjectIdentifier(TlsBinding.OID), false, bindingDer);
            }
            X509CertificateHolder holder = b.build(new JcaContentSignerBuilder("SHA256withECDSA")
                    .build(tls.getPrivate()));
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (OperatorCreationException | CertificateException | IOException e) {
            throw new NetworkException("could not make the TLS certificate of node " + name + ": " + e.getMessage(),
                    e);
        }
    }

    /**
     * A gRPC server context: TLS 1.3 only, client certificate required, any node's bound
     * certificate accepted (the caller reads the peer's key from the session).
     *
     * @param self the server's identity
     * @return the context
     */
    public static SslContext server(Identity self) {
        return server(self, provider());
    }

    /**
     * {@link #server(Identity)} with a given TLS implementation.
     *
     * @param self     the server's identity
     * @param provider OpenSSL or the JDK's
     * @return the context
     */
    public static SslContext server(Identity self, SslProvider provider) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forServer(self.tls().getPrivate(), self.certificate()),
                            provider)
                    .protocols(PROTOCOL)
                    .clientAuth(ClientAuth.REQUIRE)
                    .trustManager(new PinningTrustManager(null, provider == SslProvider.OPENSSL))
                    .build();
        } catch (SSLException e) {
            throw new NetworkException("could not set up TLS for node " + self.key().nodeId().shortId() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * A gRPC client context: TLS 1.3 only, our certificate presented, the server's node key
     * checked against {@code pinned}.
     *
     * @param self   the client's identity
     * @param pinned the node key the server must hold, or {@code null} to accept any node's
     *               bound certificate (a directory whose key is not known)
     * @return the context
     */
    public static SslContext client(Identity self, NodePublicKey pinned) {
        return client(self, pinned, provider());
    }

    /**
     * {@link #client(Identity, NodePublicKey)} with a given TLS implementation.
     *
     * @param self     the client's identity
     * @param pinned   the node key the server must hold, or {@code null} for any
     * @param provider OpenSSL or the JDK's
     * @return the context
     */
    public static SslContext client(Identity self, NodePublicKey pinned, SslProvider provider) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forClient(), provider)
                    .keyManager(self.tls().getPrivate(), self.certificate())
                    .protocols(PROTOCOL)
                    .trustManager(new PinningTrustManager(pinned, provider == SslProvider.OPENSSL))
                    .build();
        } catch (SSLException e) {
            throw new NetworkException("could not set up TLS for node " + self.key().nodeId().shortId() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Writes an identity's certificate and private key as PEM files (the key as PKCS#8,
     * readable by its owner only where the file system has POSIX permissions), for tools
     * such as {@code openssl s_client}.
     *
     * @param self        the identity
     * @param certificate where to write the certificate
     * @param privateKey  where to write the private key
     * @throws NetworkException if a file cannot be written
     */
    public static void writePem(Identity self, Path certificate, Path privateKey) {
        try {
            Files.writeString(certificate, pem(self.certificate()), StandardCharsets.US_ASCII);
            Files.deleteIfExists(privateKey);
            Files.createFile(privateKey);
            try {
                Files.setPosixFilePermissions(privateKey, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: its defaults apply
            }
            Files.writeString(privateKey, pem(new JcaPKCS8Generator(self.tls().getPrivate(), null).generate()), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new NetworkException("could not write the PEM files of node " + self.key().nodeId().shortId()
                    + " to " + certificate + " and " + privateKey + ": " + e.getMessage(), e);
        }
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    /**
     * The node key behind a peer certificate: the Ed25519 key of its {@link TlsBinding}.
     *
     * @param cert a certificate checked by a {@link PinningTrustManager}
     * @return the node key its TLS key speaks for
     * @throws NetworkException if the certificate carries no readable binding
     */
    public static NodePublicKey keyOf(java.security.cert.Certificate cert) {
        if (!(cert instanceof X509Certificate x)) {
            throw new NetworkException("peer certificate is not X.509: not a depin node's TLS certificate");
        }
        try {
            return TlsBinding.of(x).nodeKey();
        } catch (CertificateException e) {
            throw new NetworkException(e.getMessage(), e);
        }
    }

    /**
     * Checks one peer certificate as {@link PinningTrustManager} does (tests and tools).
     *
     * @param chain  the peer's chain
     * @param pinned the node key it must speak for, or {@code null} for any
     * @param now    the time to check validity at
     * @return the node key
     * @throws CertificateException naming the first thing that does not hold
     */
    public static NodePublicKey check(X509Certificate[] chain, NodePublicKey pinned, Instant now)
            throws CertificateException {
        if (chain == null || chain.length != 1) {
            throw new CertificateException("expected exactly one self-signed node certificate, got "
                    + (chain == null ? 0 : chain.length));
        }
        X509Certificate c = chain[0];
        PublicKey key = c.getPublicKey();
        if ("Ed25519".equals(key.getAlgorithm()) || "EdDSA".equals(key.getAlgorithm())) {
            throw new CertificateException("peer presents a plain Ed25519 node certificate (depin before TLS keys "
                    + "were bound to node identities): refused; upgrade the peer");
        }
        if (!isP256(key)) {
            throw new CertificateException("peer TLS key is " + key.getAlgorithm()
                    + ", not an ECDSA P-256 key bound to a node identity: refused");
        }
        try {
            c.verify(key);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("peer certificate is not self-signed by its TLS key: refused", e);
        }
        try {
            c.checkValidity(Date.from(now));
        } catch (CertificateException e) {
            throw new CertificateException("peer certificate is outside its validity (" + c.getNotBefore() + " to "
                    + c.getNotAfter() + "): refused", e);
        }
        NodePublicKey node = TlsBinding.verify(c, now);
        if (pinned != null && !pinned.equals(node)) {
            throw new CertificateException("peer key is not the key pinned by its offer: refused");
        }
        return node;
    }

    private static final ASN1ObjectIdentifier EC_PUBLIC_KEY = new ASN1ObjectIdentifier("1.2.840.10045.2.1");
    private static final ASN1ObjectIdentifier P256 = new ASN1ObjectIdentifier("1.2.840.10045.3.1.7");

    private static boolean isP256(PublicKey key) {
        try {
            AlgorithmIdentifier a = SubjectPublicKeyInfo.getInstance(key.getEncoded()).getAlgorithm();
            return EC_PUBLIC_KEY.equals(a.getAlgorithm()) && P256.equals(a.getParameters());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Accepts exactly one self-signed, currently valid P-256 certificate whose binding is
     * signed by the pinned node key (or any node key when nothing is pinned), on a TLS 1.3
     * session. Overrides every check method, so the JDK's endpoint identification (host
     * names, which node certificates do not carry) never runs: the key is the identity.
     * Under OpenSSL a refusal is an {@link OpenSslCertificateException} with
     * X509_V_ERR_CERT_REJECTED, so the peer gets a bad_certificate alert instead of
     * internal_error.
     */
    static final class PinningTrustManager extends X509ExtendedTrustManager {
        private final NodePublicKey pinned;
        private final boolean openssl;

        PinningTrustManager(NodePublicKey pinned, boolean openssl) {
            this.pinned = pinned;
            this.openssl = openssl;
        }

        private void check(X509Certificate[] chain, SSLSession handshake) throws CertificateException {
            try {
                if (handshake != null && handshake.getProtocol() != null
                        && handshake.getProtocol().startsWith("TLS") && !PROTOCOL.equals(handshake.getProtocol())) {
                    throw new CertificateException("peer negotiated " + handshake.getProtocol()
                            + ": node certificates are for TLS 1.3 only; refused");
                }
                NodeTls.check(chain, pinned, Instant.now());
            } catch (CertificateException e) {
                if (openssl) {
                    throw new OpenSslCertificateException(e.getMessage(), e,
                            CertificateVerifier.X509_V_ERR_CERT_REJECTED);
                }
                throw e;
            }
        }

        private static SSLSession session(SSLEngine engine) {
            return engine == null ? null : engine.getHandshakeSession();
        }

        private static SSLSession session(Socket socket) {
            return socket instanceof SSLSocket s ? s.getHandshakeSession() : null;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain, session(socket));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain, session(socket));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain, session(engine));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain, session(engine));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, null);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, null);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
