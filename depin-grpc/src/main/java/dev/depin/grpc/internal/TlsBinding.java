package dev.depin.grpc.internal;

import dev.depin.DepinException;
import dev.depin.crypto.BadSignatureException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;

/**
 * The binding of a TLS transport key to a node identity, carried in a non-critical X.509
 * extension of the transport key's self-signed certificate (docs/decisions.md, "TLS keys
 * certified by the node identity"). BoringSSL does not do Ed25519 in TLS, so each process
 * makes a fresh ECDSA P-256 key for TLS and its Ed25519 node key signs this statement:
 * <pre>
 * PAE("application/vnd.depin.tls-key-binding.v1",
 *     "depin TLS 1.3 transport key\0" || node key (32) || SHA-256(TLS SubjectPublicKeyInfo DER) (32)
 *     || notBefore (8, big-endian Unix seconds) || notAfter (8))
 * </pre>
 * The extension ({@link #OID}, under the UUID arc 2.25 of ITU-T X.667) holds the DER
 * {@code SEQUENCE { version INTEGER (1), nodeKey OCTET STRING (32), notBefore INTEGER,
 * notAfter INTEGER, tlsKeySha256 OCTET STRING (32), signature OCTET STRING (64) }}.
 *
 * @param nodeKey      the node identity that signed
 * @param notBefore    start of the binding's validity, Unix seconds
 * @param notAfter     end of the binding's validity, Unix seconds
 * @param tlsKeySha256 SHA-256 of the bound TLS key's DER SubjectPublicKeyInfo
 * @param signature    the node key's Ed25519 signature over the statement
 */
public record TlsBinding(NodePublicKey nodeKey, long notBefore, long notAfter, byte[] tlsKeySha256,
                         byte[] signature) {
    /** The extension's OID: a private arc (a UUID under 2.25), not registered elsewhere. */
    public static final String OID = "2.25.334665534784156618297435938212445406591";
    /** The DSSE payload type of the signed statement (domain separation from every other signature). */
    public static final String PAYLOAD_TYPE = "application/vnd.depin.tls-key-binding.v1";
    /** The purpose, first in the statement: a binding certifies a TLS 1.3 transport key only. */
    public static final String PURPOSE = "depin TLS 1.3 transport key";
    /** The only version of the extension. */
    public static final int VERSION = 1;
    private static final int HASH_BYTES = 32;
    /** More than any well-formed extension needs (about 150 bytes): bigger is refused unparsed. */
    private static final int MAX_EXTENSION_BYTES = 512;

    /**
     * Validates and copies.
     *
     * @param nodeKey      the node identity that signed
     * @param notBefore    start of validity, Unix seconds
     * @param notAfter     end of validity, Unix seconds
     * @param tlsKeySha256 32 bytes
     * @param signature    64 bytes
     */
    public TlsBinding {
        if (nodeKey == null || tlsKeySha256 == null || signature == null) {
            throw new DepinException("a TLS key binding needs a node key, a TLS key hash and a signature");
        }
        if (tlsKeySha256.length != HASH_BYTES || signature.length != NodePublicKey.SIGNATURE_LENGTH) {
            throw new DepinException("a TLS key binding has a 32-byte key hash and a 64-byte signature, got "
                    + tlsKeySha256.length + " and " + signature.length);
        }
        tlsKeySha256 = tlsKeySha256.clone();
        signature = signature.clone();
    }

    @Override
    public byte[] tlsKeySha256() {
        return tlsKeySha256.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /**
     * Signs the binding of {@code tlsKey} to {@code node} for the given window.
     *
     * @param node      the node identity
     * @param tlsKey    the TLS transport key
     * @param notBefore start of validity
     * @param notAfter  end of validity
     * @return the signed binding
     */
    public static TlsBinding sign(NodeKeyPair node, PublicKey tlsKey, Instant notBefore, Instant notAfter) {
        byte[] hash = sha256(tlsKey.getEncoded());
        long nb = notBefore.getEpochSecond();
        long na = notAfter.getEpochSecond();
        byte[] sig = Envelope.sign(PAYLOAD_TYPE, statement(node.publicKey(), hash, nb, na), node).signatures().get(0)
                .sig();
        return new TlsBinding(node.publicKey(), nb, na, hash, sig);
    }

    /**
     * The signed statement's bytes (before DSSE PAE).
     *
     * @param node         the node key
     * @param tlsKeySha256 SHA-256 of the TLS key's SubjectPublicKeyInfo
     * @param notBefore    Unix seconds
     * @param notAfter     Unix seconds
     * @return the statement
     */
    public static byte[] statement(NodePublicKey node, byte[] tlsKeySha256, long notBefore, long notAfter) {
        byte[] purpose = (PURPOSE + "\0").getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(purpose.length + NodePublicKey.LENGTH + HASH_BYTES + 16).put(purpose)
                .put(node.raw()).put(tlsKeySha256).putLong(notBefore).putLong(notAfter).array();
    }

    /**
     * The extension's DER value (what goes inside the extension's OCTET STRING).
     *
     * @return DER bytes
     */
    public byte[] toDer() {
        ASN1EncodableVector v = new ASN1EncodableVector();
        v.add(new ASN1Integer(VERSION));
        v.add(new DEROctetString(nodeKey.raw()));
        v.add(new ASN1Integer(notBefore));
        v.add(new ASN1Integer(notAfter));
        v.add(new DEROctetString(tlsKeySha256));
        v.add(new DEROctetString(signature));
        try {
            return new DERSequence(v).getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new DepinException("could not encode a TLS key binding: " + e.getMessage(), e);
        }
    }

    /**
     * Reads the binding a certificate carries, without checking it.
     *
     * @param cert a peer certificate
     * @return the binding
     * @throws CertificateException naming what is missing or malformed
     */
    public static TlsBinding of(X509Certificate cert) throws CertificateException {
        byte[] wrapped = cert.getExtensionValue(OID);
        if (wrapped == null) {
            throw new CertificateException("peer certificate carries no node identity binding (extension " + OID
                    + "): not a depin node's TLS certificate; refused");
        }
        if (wrapped.length > MAX_EXTENSION_BYTES) {
            throw malformed("extension of " + wrapped.length + " bytes, at most " + MAX_EXTENSION_BYTES);
        }
        try {
            byte[] der = ASN1OctetString.getInstance(ASN1Primitive.fromByteArray(wrapped)).getOctets();
            ASN1Primitive p = ASN1Primitive.fromByteArray(der);
            if (!Arrays.equals(p.getEncoded(ASN1Encoding.DER), der)) {
                throw malformed("not DER");
            }
            if (!(p instanceof ASN1Sequence s) || s.size() != 6) {
                throw malformed("not a sequence of 6 fields");
            }
            int version = integer(s.getObjectAt(0), "version").intValueExact();
            if (version != VERSION) {
                throw malformed("version " + version + ", this node reads version " + VERSION);
            }
            byte[] key = octets(s.getObjectAt(1), "node key", NodePublicKey.LENGTH);
            long nb = integer(s.getObjectAt(2), "notBefore").longValueExact();
            long na = integer(s.getObjectAt(3), "notAfter").longValueExact();
            byte[] hash = octets(s.getObjectAt(4), "TLS key hash", HASH_BYTES);
            byte[] sig = octets(s.getObjectAt(5), "signature", NodePublicKey.SIGNATURE_LENGTH);
            NodePublicKey node;
            try {
                node = NodePublicKey.of(key);
            } catch (DepinException e) {
                throw malformed("node key: " + e.getMessage());
            }
            return new TlsBinding(node, nb, na, hash, sig);
        } catch (IOException | IllegalArgumentException e) {
            throw malformed("not DER");
        } catch (ArithmeticException e) {
            throw malformed("an INTEGER out of range");
        }
    }

    /**
     * Checks that {@code cert}'s binding is signed by the node key it names, binds exactly
     * the certificate's own key, and is valid at {@code now}.
     *
     * @param cert a self-signed TLS certificate whose signature was already checked
     * @param now  the time to check validity at
     * @return the node key the certificate's TLS key speaks for
     * @throws CertificateException naming the first thing that does not hold
     */
    public static NodePublicKey verify(X509Certificate cert, Instant now) throws CertificateException {
        TlsBinding b = of(cert);
        if (!MessageDigest.isEqual(b.tlsKeySha256, sha256(cert.getPublicKey().getEncoded()))) {
            throw new CertificateException("node identity binding of " + b.nodeKey.nodeId().shortId()
                    + " is for another TLS key than this certificate's: refused");
        }
        try {
            b.nodeKey.verify(PAYLOAD_TYPE, statement(b.nodeKey, b.tlsKeySha256, b.notBefore, b.notAfter), b.signature);
        } catch (BadSignatureException e) {
            throw new CertificateException("node identity binding is not signed by the node key it names ("
                    + b.nodeKey.nodeId().shortId() + "): refused", e);
        }
        long t = now.getEpochSecond();
        if (t < b.notBefore) {
            throw new CertificateException("node identity binding of " + b.nodeKey.nodeId().shortId()
                    + " is not valid before " + Instant.ofEpochSecond(b.notBefore) + ": refused (check the clocks)");
        }
        if (t > b.notAfter) {
            throw new CertificateException("node identity binding of " + b.nodeKey.nodeId().shortId()
                    + " expired at " + Instant.ofEpochSecond(b.notAfter) + ": refused (the peer must restart to renew it)");
        }
        return b.nodeKey;
    }

    private static BigInteger integer(ASN1Encodable e, String what) throws CertificateException {
        if (!(e instanceof ASN1Integer i)) {
            throw malformed(what + " is not an INTEGER");
        }
        return i.getValue();
    }

    private static byte[] octets(ASN1Encodable e, String what, int length) throws CertificateException {
        if (!(e instanceof ASN1OctetString o) || o.getOctets().length != length) {
            throw malformed(what + " is not an OCTET STRING of " + length + " bytes");
        }
        return o.getOctets();
    }

    private static CertificateException malformed(String why) {
        return new CertificateException("node identity binding is malformed (" + why + "): refused");
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new DepinException("this JDK has no SHA-256", e);
        }
    }
}
