package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

import java.security.PublicKey;
import java.util.Arrays;

/**
 * A node's Ed25519 public key (RFC 8032), verified through BouncyCastle's lightweight API
 * (several times faster than the JDK's SunEC EdDSA). Immutable and thread-safe.
 *
 * <p>Verification never returns a boolean: it returns normally or throws
 * {@link BadSignatureException}.
 *
 * <pre>{@code
 * NodePublicKey key = NodePublicKey.of(raw32);
 * key.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, payload, signature);   // PAE-bound, domain-separated
 * }</pre>
 */
public final class NodePublicKey {
    /** Raw Ed25519 public key length: 32 bytes. */
    public static final int LENGTH = 32;
    /** Ed25519 signature length: 64 bytes. */
    public static final int SIGNATURE_LENGTH = 64;

    private final byte[] raw;
    private final Ed25519PublicKeyParameters params;
    private final NodeId nodeId;
    /** Computed once: a settlement service looks a caller's key up in maps on every operation. */
    private final int hash;

    private NodePublicKey(byte[] raw, Ed25519PublicKeyParameters params) {
        this.raw = raw;
        this.params = params;
        this.nodeId = NodeId.ofRawKey(raw);
        this.hash = Arrays.hashCode(raw);
    }

    static NodePublicKey of(Ed25519PublicKeyParameters params) {
        return new NodePublicKey(params.getEncoded(), params);
    }

    /**
     * A public key from its raw 32-byte RFC 8032 encoding.
     *
     * @param raw the 32 bytes; copied
     * @return the key
     * @throws dev.depin.InvalidArgumentException if the length is wrong or the bytes are not a valid point
     */
    public static NodePublicKey of(byte[] raw) {
        InvalidArgumentException.requireNonNull(raw, "raw");
        if (raw.length != LENGTH) {
            throw new InvalidArgumentException("an Ed25519 public key has 32 bytes, got " + raw.length);
        }
        byte[] copy = raw.clone();
        Ed25519PublicKeyParameters p;
        try {
            p = new Ed25519PublicKeyParameters(copy, 0);
        } catch (RuntimeException e) {
            throw new InvalidArgumentException("these 32 bytes are not a valid Ed25519 public key ("
                    + e.getMessage() + "): check that the raw RFC 8032 encoding was sent");
        }
        return new NodePublicKey(copy, p);
    }

    /**
     * A public key from a JDK Ed25519 public key (e.g. a TLS peer certificate's key).
     *
     * @param key an Ed25519 key whose encoding is X.509 SubjectPublicKeyInfo
     * @return the key
     * @throws dev.depin.InvalidArgumentException if it is not an Ed25519 key
     */
    public static NodePublicKey fromJdk(PublicKey key) {
        InvalidArgumentException.requireNonNull(key, "key");
        return fromX509(key.getEncoded());
    }

    /**
     * A public key from its DER X.509 SubjectPublicKeyInfo encoding.
     *
     * @param der the DER bytes
     * @return the key
     * @throws dev.depin.InvalidArgumentException if it is not an Ed25519 SubjectPublicKeyInfo
     */
    public static NodePublicKey fromX509(byte[] der) {
        InvalidArgumentException.requireNonNull(der, "der");
        // Ed25519 SPKI is a fixed 12-byte prefix followed by the 32-byte key (RFC 8410).
        if (der.length != X509_PREFIX.length + LENGTH
                || !Arrays.equals(der, 0, X509_PREFIX.length, X509_PREFIX, 0, X509_PREFIX.length)) {
            throw new InvalidArgumentException("not an Ed25519 SubjectPublicKeyInfo (RFC 8410): "
                    + "depin node keys are Ed25519 only");
        }
        return of(Arrays.copyOfRange(der, X509_PREFIX.length, der.length));
    }

    /** DER prefix of an Ed25519 SubjectPublicKeyInfo: SEQ { SEQ { OID 1.3.101.112 } BIT STRING }. */
    static final byte[] X509_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    /**
     * The raw 32-byte RFC 8032 encoding.
     *
     * @return a copy
     */
    public byte[] raw() {
        return raw.clone();
    }

    /**
     * The DER X.509 SubjectPublicKeyInfo encoding (what a certificate or PEM file holds).
     *
     * @return a new array
     */
    public byte[] x509() {
        byte[] out = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + LENGTH);
        System.arraycopy(raw, 0, out, X509_PREFIX.length, LENGTH);
        return out;
    }

    /**
     * The JDK form of this key (for TLS certificates and {@code java.security.Signature}).
     *
     * @return an Ed25519 {@link PublicKey}
     */
    public PublicKey toJdk() {
        try {
            return java.security.KeyFactory.getInstance("Ed25519")
                    .generatePublic(new java.security.spec.X509EncodedKeySpec(x509()));
        } catch (java.security.GeneralSecurityException e) {
            throw new dev.depin.DepinException("the JDK cannot load an Ed25519 key: run on Java 15 or later", e);
        }
    }

    /**
     * This key's node id (SHA-256 of the raw key).
     *
     * @return the id
     */
    public NodeId nodeId() {
        return nodeId;
    }

    /**
     * Verifies a plain RFC 8032 Ed25519 signature over {@code message}. Package-private:
     * signatures in depin cover DSSE PAE bytes, which bind the payload type (domain
     * separation); use {@link #verify(String, byte[], byte[])} or {@link Envelope#verify}.
     *
     * @param message   the signed bytes
     * @param signature the 64-byte signature
     * @throws BadSignatureException if the signature does not verify
     */
    void verify(byte[] message, byte[] signature) {
        InvalidArgumentException.requireNonNull(message, "message");
        InvalidArgumentException.requireNonNull(signature, "signature");
        if (signature.length != SIGNATURE_LENGTH
                || !params.verify(Ed25519.Algorithm.Ed25519, null, message, 0, message.length, signature, 0)) {
            throw new BadSignatureException("signature does not verify under key " + nodeId.shortId()
                    + " (" + signature.length + "-byte signature over " + message.length + " bytes): "
                    + "the data or the signature was altered, or another key signed it; reject it");
        }
    }

    /**
     * Verifies a signature over DSSE {@link Dsse#pae(String, byte[]) PAE}(payloadType, payload).
     *
     * @param payloadType the payload type the signer meant
     * @param payload     the payload bytes
     * @param signature   the 64-byte signature
     * @throws BadSignatureException if it does not verify
     */
    public void verify(String payloadType, byte[] payload, byte[] signature) {
        verify(Dsse.pae(payloadType, payload), signature);
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof NodePublicKey k && k.hash == hash && Arrays.equals(raw, k.raw);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return "NodePublicKey[" + Hex.encode(raw) + ", node " + nodeId.shortId() + "]";
    }
}
