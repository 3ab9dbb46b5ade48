package dev.depin.crypto;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;

/**
 * Overwrites host buffers with a byte pattern, reads every byte back and compares it
 * with the pattern, and returns a {@link WipeRecord} (method
 * {@value WipeRecord#HOST_READBACK_COMPARE}).
 *
 * <h2>Why a compare, not a hash of the memory</h2>
 * After a complete wipe the buffer's content is fully determined by its size and the
 * pattern, so a SHA-256 of the read-back would be a number anyone (including a provider
 * that never read anything back) can compute in advance: it adds no evidence, only a
 * full hashing pass on the provider and another on every verifier. The read-back is a
 * comparison at memory speed ({@link Arrays#mismatch}, vectorized by the JIT); any byte
 * that differs aborts the wipe with an exception. The record's {@code checkDigest} is
 * {@link #checkDigest(String, String, long, int, long)}: SHA-256 over a fixed transcript
 * of what was checked and the result (zero mismatches), which binds those facts into the
 * signed attestation and costs the verifier O(1).
 *
 * <p>What this establishes: the buffer, as this JVM sees it, held only the pattern when it
 * was read back. It does not reach copies the JVM or OS made elsewhere (a garbage
 * collector's earlier copies of heap arrays, swap, kernel buffers); it is not NIST
 * SP 800-88 Purge, and the attestation built from it says so.
 *
 * <pre>{@code
 * WipeRecord w = HostWipe.wipe("a", stagingCopyOfA, (byte) 0xa5);
 * }</pre>
 */
public final class HostWipe {
    /** Domain tag of the check transcript. */
    public static final String CHECK_DOMAIN = "depin/wipe-check/v1";
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
     * @throws InvalidArgumentException if the buffer is read-only
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
        // Direct memory: bulk copies from a pattern block and a vectorized bulk compare
        // (ByteBuffer.mismatch), not per-element checked accessors.
        ByteBuffer b = buffer.duplicate().clear();
        byte[] block = patternBlock(n, pattern);
        for (int o = 0; o < n; o += block.length) {
            b.put(o, block, 0, Math.min(block.length, n - o));
        }
        ByteBuffer expect = ByteBuffer.wrap(block);
        for (int o = 0; o < n; o += block.length) {
            int l = Math.min(block.length, n - o);
            int at = b.slice(o, l).mismatch(expect.slice(0, l));
            if (at >= 0) {
                fail(label, (long) o + at, pattern);
            }
        }
        return record(label, n, pattern);
    }

    /**
     * Wipes a whole byte array.
     *
     * @param label   the buffer's name
     * @param array   the array
     * @param pattern the overwrite byte
     * @return the record
     * @throws DepinException if a byte read back differs from the pattern
     */
    public static WipeRecord wipe(String label, byte[] array, byte pattern) {
        InvalidArgumentException.requireNonNull(array, "array");
        return wipe(label, array, 0, array.length, pattern);
    }

    /**
     * Wipes a whole float array: every float's 4 bytes are set to the pattern byte and
     * every float's raw bits are read back and compared (so NaN patterns are compared
     * bit for bit, not as NaN).
     *
     * @param label   the buffer's name
     * @param array   the array
     * @param pattern the overwrite byte
     * @return the record ({@code bytes} = 4 × length)
     * @throws DepinException if a float read back differs from the pattern
     */
    public static WipeRecord wipe(String label, float[] array, byte pattern) {
        InvalidArgumentException.requireNonNull(label, "label");
        InvalidArgumentException.requireNonNull(array, "array");
        int bits = (pattern & 0xff) * 0x01010101;
        Arrays.fill(array, Float.intBitsToFloat(bits));
        int bad = -1;
        for (int i = 0; i < array.length; i++) {
            bad = Float.floatToRawIntBits(array[i]) != bits && bad < 0 ? i : bad;
        }
        if (bad >= 0) {
            fail(label, 4L * bad, pattern);
        }
        return record(label, 4L * array.length, pattern);
    }

    private static WipeRecord wipe(String label, byte[] a, int off, int len, byte pattern) {
        InvalidArgumentException.requireNonNull(label, "label");
        Arrays.fill(a, off, off + len, pattern);
        byte[] block = patternBlock(len, pattern);
        for (int o = 0; o < len; o += block.length) {
            int l = Math.min(block.length, len - o);
            int at = Arrays.mismatch(a, off + o, off + o + l, block, 0, l);
            if (at >= 0) {
                fail(label, (long) o + at, pattern);
            }
        }
        return record(label, len, pattern);
    }

    /** A block of at most 64 KiB filled with the pattern, to copy from and compare with. */
    private static byte[] patternBlock(int len, byte pattern) {
        byte[] block = new byte[Math.min(BLOCK, Math.max(len, 1))];
        Arrays.fill(block, pattern);
        return block;
    }

    private static void fail(String label, long at, byte pattern) {
        throw new DepinException("wipe of '" + label + "' failed: byte " + at + " does not read back as 0x"
                + String.format("%02x", pattern & 0xff) + ": the memory was modified concurrently; stop and investigate");
    }

    private static WipeRecord record(String label, long n, byte pattern) {
        return new WipeRecord(WipeRecord.HOST, label, n, n, pattern & 0xff, WipeRecord.HOST_READBACK_COMPARE,
                checkDigest(WipeRecord.HOST, label, n, pattern & 0xff, 0));
    }

    /**
     * The digest of a read-back check's transcript: SHA-256 of the UTF-8 text
     * {@code "depin/wipe-check/v1\n" + location + "\n" + label + "\n" + bytes + "\n" +
     * pattern (two hex digits) + "\n" + mismatches}. A verifier recomputes it from the
     * record's own fields with {@code mismatches = 0}.
     *
     * @param location   {@value WipeRecord#HOST} or {@value WipeRecord#DEVICE}
     * @param label      the buffer's name
     * @param bytes      bytes read back and compared
     * @param pattern    the pattern, 0..255
     * @param mismatches bytes that differed from the pattern
     * @return lower-case hex digest
     */
    public static String checkDigest(String location, String label, long bytes, int pattern, long mismatches) {
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(label, "label");
        if (bytes < 0 || pattern < 0 || pattern > 255 || mismatches < 0) {
            throw new InvalidArgumentException("need bytes >= 0, pattern in 0..255 and mismatches >= 0, got " + bytes
                    + ", " + pattern + ", " + mismatches);
        }
        MessageDigest md = Sha256.newDigest();
        md.update((CHECK_DOMAIN + "\n" + location + "\n" + label + "\n" + bytes + "\n"
                + Hex.encode(new byte[] {(byte) pattern}) + "\n" + mismatches).getBytes(StandardCharsets.UTF_8));
        return Hex.encode(md.digest());
    }
}
