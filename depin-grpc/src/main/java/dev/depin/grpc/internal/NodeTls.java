package dev.depin.grpc.internal;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.network.NetworkException;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
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
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/**
 * TLS 1.3 with both sides authenticated by self-signed Ed25519 certificates made from node
 * identities (no CA): the server requires a client certificate, and each side checks the
 * peer's certificate with a {@link PinningTrustManager} — against one pinned key (a buyer
 * dialling the provider named in an offer), or any well-formed self-signed Ed25519
 * certificate (a provider accepting buyers, who are identified by their key).
 */
public final class NodeTls {
    /** Only TLS 1.3: a peer offering TLS 1.2 is refused with protocol_version. */
    public static final String PROTOCOL = "TLSv1.3";
    private static final Duration CERT_VALIDITY = Duration.ofDays(365);

    private NodeTls() {
    }

    /** A node identity as a JDK key pair and the self-signed certificate made from it. */
    public record Identity(NodeKeyPair key, KeyPair jdk, X509Certificate certificate) {
    }

    /**
     * Makes the self-signed Ed25519 certificate of a node identity, valid from an hour ago
     * (clock skew) for a year.
     *
     * @param key the node's identity
     * @return the identity with its certificate
     */
    public static Identity identity(NodeKeyPair key) {
        try {
            KeyPair jdk = key.toJdk();
            X500Name name = new X500Name("CN=depin-node-" + key.nodeId().shortId());
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name,
                    new BigInteger(64, new SecureRandom()).add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CERT_VALIDITY)), name,
                    jdk.getPublic());
            X509CertificateHolder holder = b.build(new JcaContentSignerBuilder("Ed25519").build(jdk.getPrivate()));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holder);
            return new Identity(key, jdk, cert);
        } catch (OperatorCreationException | CertificateException e) {
            throw new NetworkException("could not make the TLS certificate of node " + key.nodeId().shortId()
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * A gRPC server context: TLS 1.3 only, client certificate required, any self-signed
     * Ed25519 client certificate accepted (the caller reads the peer's key from the session).
     *
     * @param self the server's identity
     * @return the context
     */
    public static SslContext server(Identity self) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forServer(self.jdk().getPrivate(), self.certificate()),
                            SslProvider.JDK)
                    .protocols(PROTOCOL)
                    .clientAuth(ClientAuth.REQUIRE)
                    .trustManager(new PinningTrustManager(null))
                    .build();
        } catch (SSLException e) {
            throw new NetworkException("could not set up TLS for node " + self.key().nodeId().shortId() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * A gRPC client context: TLS 1.3 only, our certificate presented, the server's key
     * checked against {@code pinned}.
     *
     * @param self   the client's identity
     * @param pinned the key the server must hold, or {@code null} to accept any well-formed
     *               self-signed Ed25519 certificate (a directory whose key is not known)
     * @return the context
     */
    public static SslContext client(Identity self, NodePublicKey pinned) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .keyManager(self.jdk().getPrivate(), self.certificate())
                    .protocols(PROTOCOL)
                    .trustManager(new PinningTrustManager(pinned))
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
            Files.writeString(privateKey, pem(self.jdk().getPrivate()), StandardCharsets.US_ASCII);
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
     * The node key behind a peer certificate.
     *
     * @param cert a certificate checked by a {@link PinningTrustManager}
     * @return its key as a node key
     */
    public static NodePublicKey keyOf(java.security.cert.Certificate cert) {
        return NodePublicKey.fromX509(cert.getPublicKey().getEncoded());
    }

    /**
     * Accepts exactly one self-signed, currently valid Ed25519 certificate whose key is the
     * pinned one (or any key when nothing is pinned). Overrides every check method, so the
     * JDK's endpoint identification (host names, which self-signed node certificates do not
     * carry) never runs: the key is the identity.
     */
    static final class PinningTrustManager extends X509ExtendedTrustManager {
        private final byte[] pinned;

        PinningTrustManager(NodePublicKey pinned) {
            this.pinned = pinned == null ? null : pinned.x509();
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length != 1) {
                throw new CertificateException("expected exactly one self-signed node certificate, got "
                        + (chain == null ? 0 : chain.length));
            }
            X509Certificate c = chain[0];
            PublicKey key = c.getPublicKey();
            if (!"Ed25519".equals(key.getAlgorithm()) && !"EdDSA".equals(key.getAlgorithm())) {
                throw new CertificateException("peer key is " + key.getAlgorithm() + ", not an Ed25519 node key");
            }
            if (pinned != null && !MessageDigest.isEqual(pinned, key.getEncoded())) {
                throw new CertificateException("peer key is not the key pinned by its offer: refused");
            }
            c.checkValidity();
            try {
                c.verify(key);
            } catch (GeneralSecurityException e) {
                throw new CertificateException("peer certificate is not self-signed by its key: " + e.getMessage(), e);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
