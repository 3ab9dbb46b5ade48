package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import dev.depin.DepinException;
import dev.depin.crypto.internal.Sha256;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * Overwrites host buffers with a byte pattern, reads every byte back, checks it, and
 * returns a {@link WipeRecord} whose digest ({@value WipeRecord#HOST_READBACK_SHA256}) is
 * SHA-256 of the bytes read back. For a complete wipe that digest is deterministic —
 * SHA-256 of {@code n} copies of the pattern, {@link #expectedDigest(long, int)} — so a
 * verifier can recompute it.
 *
 * <p>What this establishes: the buffer, as this JVM sees it, holds only the pattern. It
 * does not reach copies the JVM or OS made elsewhere (a garbage collector's earlier
 * copies of heap arrays, swap, kernel buffers); it is not NIST SP 800-88 Purge.
 *
 * <pre>{@code
 * WipeRecord w = HostWipe.wipe("A", hostBufferA, (byte) 0);
 * }</pre>
 */
public final class HostWipe {
    private static final int BLOCK = 64 * 1024;

    private HostWipe() {
    }

    /**
     * Wipes the whole buffer, from index 0 to its capacity, whatever its position and limit
     * (which are left unchanged).
     *
     * @param label   the buffer's name
     * @param buffer  a writable heap or direct buffer
     * @param pattern the overwrite byte
     * @return the record
     * @throws dev.depin.InvalidArgumentException if the buffer is read-only
     * @throws DepinException           if a byte read back differs from the pattern
     */
    public static WipeRecord wipe(String label, ByteBuffer buffer, byte pattern) {
        InvalidArgumentException.requireNonNull(label, "label");
        InvalidArgumentException.requireNonNull(buffer, "buffer");
        if (buffer.isReadOnly()) {
            throw new InvalidArgumentException("buffer '" + label + "' is read-only: wipe the writable buffer it views");
        }
        int n = buffer.capacity();
        if (buffer.hasArray()) {
            return wipe(label, buffer.array(), buffer.arrayOffset(), n, pattern);
        }
        ByteBuffer b = buffer.duplicate().clear();
        long word = (pattern & 0xffL) * 0x0101010101010101L;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            b.putLong(i, word);
        }
        for (; i < n; i++) {
            b.put(i, pattern);
        }
        MessageDigest md = Sha256.newDigest();
        byte[] scratch = new byte[Math.min(BLOCK, Math.max(n, 1))];
        for (int off = 0; off < n; off += scratch.length) {
            int len = Math.min(scratch.length, n - off);
            b.get(off, scratch, 0, len);
            checkPattern(label, scratch, 0, len, pattern, off);
            md.update(scratch, 0, len);
        }
        return record(label, n, pattern, md);
    }

    /**
     * Wipes a whole byte array.
     *
     * @param label   the buffer's name
     * @param array   the array
     * @param pattern the overwrite byte
     * @return the record
     */
    public static WipeRecord wipe(String label, byte[] array, byte pattern) {
        InvalidArgumentException.requireNonNull(array, "array");
        return wipe(label, array, 0, array.length, pattern);
    }

    /**
     * Wipes a whole float array: every float's 4 bytes are set to the pattern byte. The
     * digest covers the floats as 4-byte groups (byte order is irrelevant, every byte is
     * the pattern).
     *
     * @param label   the buffer's name
     * @param array   the array
     * @param pattern the overwrite byte
     * @return the record ({@code bytes} = 4 × length)
     */
    public static WipeRecord wipe(String label, float[] array, byte pattern) {
        InvalidArgumentException.requireNonNull(label, "label");
        InvalidArgumentException.requireNonNull(array, "array");
        int bits = (pattern & 0xff) * 0x01010101;
        float f = Float.intBitsToFloat(bits);
        Arrays.fill(array, f);
        MessageDigest md = Sha256.newDigest();
        ByteBuffer scratch = ByteBuffer.allocate(BLOCK);
        for (int i = 0; i < array.length; ) {
            scratch.clear();
            int end = Math.min(array.length, i + BLOCK / 4);
            for (int j = i; j < end; j++) {
                int got = Float.floatToRawIntBits(array[j]);
                if (got != bits) {
                    throw new DepinException("wipe of '" + label + "' failed: float " + j + " reads back as 0x"
                            + Integer.toHexString(got) + " instead of 0x" + Integer.toHexString(bits)
                            + ": the memory was modified concurrently; stop and investigate");
                }
                scratch.putInt(got);
            }
            md.update(scratch.array(), 0, scratch.position());
            i = end;
        }
        return record(label, 4L * array.length, pattern, md);
    }

    private static WipeRecord wipe(String label, byte[] a, int off, int len, byte pattern) {
        InvalidArgumentException.requireNonNull(label, "label");
        Arrays.fill(a, off, off + len, pattern);
        MessageDigest md = Sha256.newDigest();
        for (int o = 0; o < len; o += BLOCK) {
            int l = Math.min(BLOCK, len - o);
            checkPattern(label, a, off + o, l, pattern, o);
            md.update(a, off + o, l);
        }
        return record(label, len, pattern, md);
    }

    private static void checkPattern(String label, byte[] a, int from, int len, byte pattern, long base) {
        int bad = -1;
        for (int i = 0; i < len; i++) {
            if (a[from + i] != pattern) {
                bad = i;
                break;
            }
        }
        if (bad >= 0) {
            throw new DepinException("wipe of '" + label + "' failed: byte " + (base + bad) + " reads back as 0x"
                    + String.format("%02x", a[from + bad] & 0xff) + " instead of 0x" + String.format("%02x", pattern & 0xff)
                    + ": the memory was modified concurrently; stop and investigate");
        }
    }

    private static WipeRecord record(String label, long n, byte pattern, MessageDigest md) {
        return new WipeRecord(WipeRecord.HOST, label, n, n, pattern & 0xff, WipeRecord.HOST_READBACK_SHA256,
                Hex.encode(md.digest()));
    }

    /**
     * SHA-256 of {@code bytes} copies of {@code pattern}: the digest a complete host
     * read-back must produce. Costs one SHA-256 pass over {@code bytes} bytes.
     *
     * @param bytes   the buffer size
     * @param pattern the pattern byte value, 0..255
     * @return hex digest
     */
    public static String expectedDigest(long bytes, int pattern) {
        if (bytes < 0 || pattern < 0 || pattern > 255) {
            throw new InvalidArgumentException("need bytes >= 0 and pattern in 0..255, got " + bytes + ", " + pattern);
        }
        byte[] block = new byte[(int) Math.min(BLOCK, Math.max(bytes, 1))];
        Arrays.fill(block, (byte) pattern);
        MessageDigest md = Sha256.newDigest();
        for (long left = bytes; left > 0; ) {
            int l = (int) Math.min(block.length, left);
            md.update(block, 0, l);
            left -= l;
        }
        return Hex.encode(md.digest());
    }
}
