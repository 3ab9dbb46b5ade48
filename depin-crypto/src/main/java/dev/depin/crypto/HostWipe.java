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
    /** Bytes of one range of a parallel wipe. */
    private static final int PIECE = 1 << 20;

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
        return wipe(label, buffer, pattern, Parallelism.callerThread());
    }

    /**
     * As {@link #wipe(String, ByteBuffer, byte)}, with the buffer cut into ranges of
     * {@value #PIECE} bytes that {@code parallelism}'s threads fill and compare at once (the
     * calling thread works too). Every byte is still written and read back; the record is the
     * same.
     *
     * @param label       the buffer's name
     * @param buffer      a writable heap or direct buffer
     * @param pattern     the overwrite byte
     * @param parallelism where the ranges may run besides the calling thread
     * @return the record
     * @throws InvalidArgumentException if the buffer is read-only, or an argument is null
     * @throws DepinException           if a byte read back differs from the pattern
     */
    public static WipeRecord wipe(String label, ByteBuffer buffer, byte pattern, Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(label, "label");
        InvalidArgumentException.requireNonNull(buffer, "buffer");
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        if (buffer.isReadOnly()) {
            throw new InvalidArgumentException("buffer '" + label + "' is read-only: wipe the writable buffer it views");
        }
        int n = buffer.capacity();
        if (buffer.hasArray()) {
            byte[] a = buffer.array();
            int off = buffer.arrayOffset();
            byte[] block = patternBlock(n, pattern);
            inPieces(n, parallelism, (from, to) -> wipeArray(label, a, off, from, to, block, pattern));
            return record(label, n, pattern);
        }
        // Direct memory: bulk copies from a pattern block and a vectorized bulk compare
        // (ByteBuffer.mismatch), not per-element checked accessors; each block is read back
        // right after it is written.
        byte[] block = patternBlock(n, pattern);
        inPieces(n, parallelism, (from, to) -> {
            ByteBuffer b = buffer.duplicate().clear();
            ByteBuffer expect = ByteBuffer.wrap(block);
            for (int o = from; o < to; o += block.length) {
                int l = Math.min(block.length, to - o);
                b.put(o, block, 0, l);
                int at = b.slice(o, l).mismatch(expect.slice(0, l));
                if (at >= 0) {
                    fail(label, (long) o + at, pattern);
                }
            }
        });
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
        InvalidArgumentException.requireNonNull(label, "label");
        InvalidArgumentException.requireNonNull(array, "array");
        byte[] block = patternBlock(array.length, pattern);
        wipeArray(label, array, 0, 0, array.length, block, pattern);
        return record(label, array.length, pattern);
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
        return wipe(label, array, pattern, Parallelism.callerThread());
    }

    /**
     * As {@link #wipe(String, float[], byte)}, with the array cut into ranges of
     * {@value #PIECE} bytes that {@code parallelism}'s threads fill and compare at once.
     *
     * @param label       the buffer's name
     * @param array       the array
     * @param pattern     the overwrite byte
     * @param parallelism where the ranges may run besides the calling thread
     * @return the record ({@code bytes} = 4 × length)
     * @throws InvalidArgumentException if an argument is null
     * @throws DepinException           if a float read back differs from the pattern
     */
    public static WipeRecord wipe(String label, float[] array, byte pattern, Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(label, "label");
        InvalidArgumentException.requireNonNull(array, "array");
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        int bits = (pattern & 0xff) * 0x01010101;
        float value = Float.intBitsToFloat(bits);
        // Arrays.mismatch compares floats as Float.floatToIntBits does: exact for every pattern
        // but 0xff, whose float is a NaN that any other NaN would pass as; that one is compared
        // bit by bit.
        float[] block = Float.isNaN(value) ? null : new float[Math.min(BLOCK / Float.BYTES, Math.max(array.length, 1))];
        if (block != null) {
            Arrays.fill(block, value);
        }
        inPieces(array.length, parallelism, (from, to) -> {
            for (int o = from; o < to; o += BLOCK / Float.BYTES) {
                int e = Math.min(to, o + BLOCK / Float.BYTES);
                Arrays.fill(array, o, e, value);
                int bad = -1;
                if (block != null) {
                    int at = Arrays.mismatch(array, o, e, block, 0, e - o);
                    bad = at < 0 ? -1 : o + at;
                } else {
                    for (int i = o; i < e; i++) {
                        bad = Float.floatToRawIntBits(array[i]) != bits && bad < 0 ? i : bad;
                    }
                }
                if (bad >= 0) {
                    fail(label, 4L * bad, pattern);
                }
            }
        }, Float.BYTES);
        return record(label, 4L * array.length, pattern);
    }

    /** Fills and compares {@code a[off + from, off + to)} block by block, each read back while still in cache. */
    private static void wipeArray(String label, byte[] a, int off, int from, int to, byte[] block, byte pattern) {
        for (int o = from; o < to; o += block.length) {
            int l = Math.min(block.length, to - o);
            Arrays.fill(a, off + o, off + o + l, pattern);
            int at = Arrays.mismatch(a, off + o, off + o + l, block, 0, l);
            if (at >= 0) {
                fail(label, (long) o + at, pattern);
            }
        }
    }

    private static void inPieces(int n, Parallelism parallelism, Parallelism.Range body) {
        inPieces(n, parallelism, body, 1);
    }

    /** Runs {@code body} over {@code [0, n)} elements of {@code size} bytes, in pieces of {@value #PIECE} bytes. */
    private static void inPieces(int n, Parallelism parallelism, Parallelism.Range body, int size) {
        int per = PIECE / size;
        int pieces = (int) (((long) n + per - 1) / per);
        if (pieces <= 1 || parallelism.threads() == 1) {
            body.run(0, n);
            return;
        }
        parallelism.forRange(pieces, 1, (p0, p1) -> body.run((int) Math.min(n, (long) p0 * per),
                (int) Math.min(n, (long) p1 * per)));
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
