package dev.depin.crypto;

import dev.depin.InvalidArgumentException;


/**
 * A node's identity: lower-case hex of SHA-256 over its raw 32-byte Ed25519 public key.
 * Identity is the key; whoever holds the private key is the node.
 *
 * <pre>{@code
 * NodeId id = NodeId.of(keyPair.publicKey());
 * log.info("node {}", id.shortId());   // first 12 hex characters, for display only
 * }</pre>
 *
 * @param hex 64 lower-case hex characters
 */
public record NodeId(String hex) implements Comparable<NodeId> {
    /** Number of characters of {@link #shortId()}. */
    public static final int SHORT_LENGTH = 12;

    /**
     * Validates the hex form.
     *
     * @param hex 64 lower-case hex characters
     */
    public NodeId {
        InvalidArgumentException.requireNonNull(hex, "hex");
        if (!Hex.isLowerHex(hex, 64)) {
            throw new InvalidArgumentException("a NodeId is 64 lower-case hex characters (SHA-256 of the "
                    + "Ed25519 public key), got " + (hex.length() > 80 ? hex.length() + " characters" : "'" + hex + "'"));
        }
    }

    /**
     * The id of a public key.
     *
     * @param publicKey the node's public key; not {@code null}
     * @return its id
     */
    public static NodeId of(NodePublicKey publicKey) {
        return ofRawKey(InvalidArgumentException.requireNonNull(publicKey, "publicKey").raw());
    }

    /**
     * The id of a raw 32-byte Ed25519 public key.
     *
     * @param rawPublicKey the 32 bytes of the key (RFC 8032 encoding)
     * @return its id
     */
    public static NodeId ofRawKey(byte[] rawPublicKey) {
        InvalidArgumentException.requireNonNull(rawPublicKey, "rawPublicKey");
        if (rawPublicKey.length != NodePublicKey.LENGTH) {
            throw new InvalidArgumentException("an Ed25519 public key has 32 bytes, got " + rawPublicKey.length);
        }
        return new NodeId(Hex.encode(Sha256.digest(rawPublicKey)));
    }

    /**
     * Parses a hex id (same as the constructor; reads better at call sites).
     *
     * @param hex 64 lower-case hex characters
     * @return the id
     */
    public static NodeId parse(String hex) {
        return new NodeId(hex);
    }

    /**
     * The first {@value #SHORT_LENGTH} hex characters, for logs and display; never use it
     * to identify a node.
     *
     * @return the abbreviated id
     */
    public String shortId() {
        return hex.substring(0, SHORT_LENGTH);
    }

    /**
     * The id's 32 bytes.
     *
     * @return a new array
     */
    public byte[] bytes() {
        return Hex.decode(hex);
    }

    @Override
    public int compareTo(NodeId o) {
        return hex.compareTo(o.hex);
    }

    /** Returns the full hex id. */
    @Override
    public String toString() {
        return hex;
    }
}
