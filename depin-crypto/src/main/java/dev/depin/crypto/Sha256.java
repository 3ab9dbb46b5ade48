package dev.depin.crypto;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256, the one hash of depin: node ids, spec and kernel hashes, Merkle trees, receipt
 * digests. It runs on the JDK's {@link MessageDigest}, which HotSpot intrinsifies with
 * SHA-NI / ARMv8 SHA where the CPU has them (BouncyCastle's digest is pure Java and much
 * slower). Thread-safe: every call uses its own digest.
 *
 * <pre>{@code
 * byte[] d = Sha256.digest(bytes);              // 32 bytes
 * String h = Sha256.hex(bytes);                 // 64 lower-case hex characters
 * byte[] e = Sha256.digest(directBuffer);       // remaining bytes; position unchanged
 * }</pre>
 */
public final class Sha256 {
    /** Digest length in bytes: 32. */
    public static final int LENGTH = 32;
    /**
     * A digest never updated, cloned for each use: {@link MessageDigest#getInstance} looks the
     * provider up on every call, which was 2 % of a small job's samples (several digests a job).
     * {@code null} if this JDK has no SHA-256 or its digest cannot be cloned ({@link #newDigest}
     * then asks the providers and says what is missing).
     */
    private static final MessageDigest PROTOTYPE = prototype();

    private Sha256() {
    }

    private static MessageDigest prototype() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.clone(); // a provider whose digest cannot be cloned is asked each time instead
            return md;
        } catch (NoSuchAlgorithmException | CloneNotSupportedException e) {
            return null;
        }
    }

    /**
     * A fresh SHA-256 {@link MessageDigest} for streaming use. A digest is not
     * thread-safe: use one per thread or task.
     *
     * @return a new digest
     */
    public static MessageDigest newDigest() {
        try {
            if (PROTOTYPE != null) {
                return (MessageDigest) PROTOTYPE.clone();
            }
            return MessageDigest.getInstance("SHA-256");
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("a SHA-256 digest that cloned once refused to clone again", e);
        } catch (NoSuchAlgorithmException e) {
            throw new DepinException("SHA-256 is not available in this JDK: run on a standard Java 17+ runtime", e);
        }
    }

    /**
     * SHA-256 of a byte array.
     *
     * @param data the bytes; not {@code null}
     * @return the 32-byte digest
     */
    public static byte[] digest(byte[] data) {
        return newDigest().digest(InvalidArgumentException.requireNonNull(data, "data"));
    }

    /**
     * SHA-256 of the remaining bytes of a buffer (heap, direct or read-only). Neither the
     * buffer's content nor its position is changed, and a heap buffer is not copied.
     *
     * @param data the bytes; not {@code null}
     * @return the 32-byte digest
     */
    public static byte[] digest(ByteBuffer data) {
        InvalidArgumentException.requireNonNull(data, "data");
        MessageDigest md = newDigest();
        if (data.hasArray()) {
            md.update(data.array(), data.arrayOffset() + data.position(), data.remaining());
        } else {
            md.update(data.duplicate());
        }
        return md.digest();
    }

    /**
     * Lower-case hex SHA-256 of a byte array (the textual form of spec, kernel and device
     * hashes).
     *
     * @param data the bytes; not {@code null}
     * @return 64 lower-case hex characters
     */
    public static String hex(byte[] data) {
        return Hex.encode(digest(data));
    }
}
