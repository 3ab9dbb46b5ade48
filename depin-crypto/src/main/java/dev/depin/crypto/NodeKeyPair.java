package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A node's Ed25519 identity (RFC 8032), signing through BouncyCastle's lightweight API.
 * Thread-safe. {@link #toString()} shows only the public key.
 *
 * <p><b>Typed signing only.</b> A key pair signs nothing but DSSE PAE bytes, and only
 * through typed operations: {@link Envelope#sign(String, byte[], NodeKeyPair)} and the
 * message types built on it ({@link ExecutionReceipt#sign(NodeKeyPair)},
 * {@link WipeAttestation#sign(NodeKeyPair)}, {@link BatchSigner}). The payload type is
 * inside the signed bytes and, for in-toto statements, the predicate type inside the
 * payload, so a receipt signature can never pass as a wipe attestation, a batch or an
 * offer. There is deliberately no public method that signs raw bytes.
 *
 * <pre>{@code
 * NodeKeyPair keys = NodeKeyPair.generate(new SecureRandom());
 * Envelope env = Envelope.sign("application/vnd.example+json", payload, keys);
 * env.verify("application/vnd.example+json", keys.publicKey());   // throws if it does not hold
 * }</pre>
 */
public final class NodeKeyPair {
    /** Length of an Ed25519 private key (seed): 32 bytes. */
    public static final int SEED_LENGTH = 32;

    private final Ed25519PrivateKeyParameters privateKey;
    private final Ed25519PublicKeyParameters publicParams;
    private final NodePublicKey publicKey;

    private NodeKeyPair(Ed25519PrivateKeyParameters privateKey) {
        this.privateKey = privateKey;
        this.publicParams = privateKey.generatePublicKey();
        this.publicKey = NodePublicKey.of(publicParams);
    }

    /**
     * Generates a new key pair.
     *
     * @param random a cryptographically strong source; not {@code null}
     * @return the key pair
     */
    public static NodeKeyPair generate(SecureRandom random) {
        return new NodeKeyPair(new Ed25519PrivateKeyParameters(InvalidArgumentException.requireNonNull(random, "random")));
    }

    /**
     * Generates a new key pair from a fresh {@link SecureRandom}.
     *
     * @return the key pair
     */
    public static NodeKeyPair generate() {
        return generate(new SecureRandom());
    }

    /**
     * Rebuilds a key pair from its 32-byte RFC 8032 private key (seed).
     *
     * @param seed the private key; copied, and the copy is not exposed
     * @return the key pair
     */
    public static NodeKeyPair fromSeed(byte[] seed) {
        InvalidArgumentException.requireNonNull(seed, "seed");
        if (seed.length != SEED_LENGTH) {
            throw new InvalidArgumentException("an Ed25519 private key has 32 bytes, got " + seed.length);
        }
        return new NodeKeyPair(new Ed25519PrivateKeyParameters(seed, 0));
    }

    /**
     * The public half.
     *
     * @return the public key
     */
    public NodePublicKey publicKey() {
        return publicKey;
    }

    /**
     * This node's id.
     *
     * @return SHA-256 of the public key, as hex
     */
    public NodeId nodeId() {
        return publicKey.nodeId();
    }

    /**
     * Plain RFC 8032 Ed25519 signature over {@code message}. Package-private: only the
     * typed operations of this package sign, always over PAE bytes; tests use it for the
     * RFC 8032 vectors.
     *
     * @param message the bytes to sign
     * @return the 64-byte signature
     */
    byte[] sign(byte[] message) {
        InvalidArgumentException.requireNonNull(message, "message");
        byte[] sig = new byte[NodePublicKey.SIGNATURE_LENGTH];
        privateKey.sign(Ed25519.Algorithm.Ed25519, publicParams, null, message, 0, message.length, sig, 0);
        return sig;
    }

    /**
     * Signs DSSE {@link Dsse#pae(String, byte[]) PAE}(payloadType, payload). Package-private:
     * reached through {@link Envelope#sign(String, byte[], NodeKeyPair)}.
     *
     * @param payloadType the payload's type (bound into the signature)
     * @param payload     the payload bytes
     * @return the 64-byte signature
     */
    byte[] sign(String payloadType, byte[] payload) {
        return sign(Dsse.pae(payloadType, payload));
    }

    /**
     * The 32-byte private key (seed). Handle with care and zero the array after use.
     *
     * @return a copy of the seed
     */
    public byte[] seed() {
        return privateKey.getEncoded();
    }

    /**
     * The JDK form of this key pair (e.g. for a self-signed TLS certificate).
     *
     * @return an Ed25519 {@link KeyPair}
     */
    public KeyPair toJdk() {
        byte[] seed = seed();
        byte[] pkcs8 = Arrays.copyOf(PKCS8_PREFIX, PKCS8_PREFIX.length + SEED_LENGTH);
        System.arraycopy(seed, 0, pkcs8, PKCS8_PREFIX.length, SEED_LENGTH);
        try {
            java.security.KeyFactory kf = java.security.KeyFactory.getInstance("Ed25519");
            return new KeyPair(publicKey.toJdk(), kf.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new dev.depin.DepinException("the JDK cannot load an Ed25519 key: run on Java 15 or later", e);
        } finally {
            Arrays.fill(seed, (byte) 0);
            Arrays.fill(pkcs8, (byte) 0);
        }
    }

    /** DER prefix of an Ed25519 PKCS#8 PrivateKeyInfo (RFC 8410), followed by the 32-byte seed. */
    static final byte[] PKCS8_PREFIX = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
            0x04, 0x22, 0x04, 0x20};

    /** Shows the public key and node id only; never the private key. */
    @Override
    public String toString() {
        return "NodeKeyPair[node " + nodeId().hex() + ", private key hidden]";
    }
}
