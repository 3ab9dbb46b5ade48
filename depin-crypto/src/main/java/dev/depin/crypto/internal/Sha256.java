package dev.depin.crypto.internal;

import dev.depin.DepinException;

import java.nio.ByteBuffer;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 through the JDK's {@link MessageDigest} (HotSpot intrinsifies it with SHA-NI /
 * ARMv8 SHA where the CPU has them; BouncyCastle's digest is pure Java and much slower).
 */
public final class Sha256 {
    /** Digest length in bytes. */
    public static final int LENGTH = 32;

    private Sha256() {
    }

    /**
     * A fresh SHA-256 digest (not thread-safe: one per thread or task).
     *
     * @return a new digest
     */
    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new DepinException("SHA-256 is not available in this JDK: run on a standard Java 17+ runtime", e);
        }
    }

    /**
     * SHA-256 of a byte array.
     *
     * @param data the bytes
     * @return the 32-byte digest
     */
    public static byte[] hash(byte[] data) {
        return newDigest().digest(data);
    }

    /**
     * Feeds {@code len} bytes of {@code buf} starting at absolute index {@code pos} into
     * {@code md}, without copying a heap buffer and without moving {@code buf}'s position.
     *
     * @param md  the digest
     * @param buf the buffer (heap, direct or read-only)
     * @param pos absolute start index
     * @param len number of bytes
     */
    public static void update(MessageDigest md, ByteBuffer buf, int pos, int len) {
        if (len == 0) {
            return;
        }
        if (buf.hasArray()) {
            md.update(buf.array(), buf.arrayOffset() + pos, len);
        } else {
            // Direct or read-only: the JDK reads it through its own small temp buffer.
            ByteBuffer view = buf.duplicate();
            view.limit(pos + len).position(pos);
            md.update(view);
        }
    }

    /**
     * Finishes {@code md} into {@code out} at {@code off}.
     *
     * @param md  the digest
     * @param out destination
     * @param off offset in {@code out}
     */
    public static void digestInto(MessageDigest md, byte[] out, int off) {
        try {
            md.digest(out, off, LENGTH);
        } catch (DigestException e) {
            throw new IllegalStateException("SHA-256 digest into a 32-byte slot failed", e);
        }
    }
}
