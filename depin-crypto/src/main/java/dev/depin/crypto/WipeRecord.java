package dev.depin.crypto;

import dev.depin.InvalidArgumentException;

/**
 * One buffer's overwrite, as the provider states it: "overwrote {@code bytesOverwritten}
 * of {@code bytes} bytes of buffer {@code label} in {@code location} memory with pattern
 * {@code pattern}, read it back by {@code method}, and the check's digest was
 * {@code checkDigest}". It does not claim the data is unrecoverable.
 *
 * @param location         {@value #HOST} or {@value #DEVICE}
 * @param label            the buffer's name (e.g. the job's input/output name)
 * @param bytes            the buffer's size
 * @param bytesOverwritten bytes overwritten with the pattern (&le; bytes)
 * @param pattern          the overwrite byte, 0..255
 * @param method           {@value #HOST_READBACK_COMPARE} or {@value #DEVICE_READBACK_REDUCTION}
 * @param checkDigest      hex digest of the read-back check
 */
public record WipeRecord(String location, String label, long bytes, long bytesOverwritten, int pattern,
                         String method, String checkDigest) {
    /** Host (CPU) memory. */
    public static final String HOST = "host";
    /** Device (GPU) memory. */
    public static final String DEVICE = "device";
    /**
     * Every byte was read back on the host and compared with the pattern, with no
     * mismatch; {@code checkDigest} is {@link HostWipe#checkDigest} of that check's
     * transcript, which anyone can recompute from the record.
     */
    public static final String HOST_READBACK_COMPARE = "host-readback-compare";
    /**
     * The buffer was read back by a reduction kernel on the device; {@code checkDigest} is
     * that kernel's result, defined by the executor (not recomputable on the host).
     */
    public static final String DEVICE_READBACK_REDUCTION = "device-readback-reduction";
    /**
     * Not a wipe: the buffer is the node's input cache entry of this root, kept there with the
     * buyer's consent, so the job made no copy of it to wipe. Either an input the buyer sent by
     * root that the kernel read where the cache holds it, or an output the buyer left on the node
     * that the cache took over from the job instead of copying it. {@code bytesOverwritten} and
     * {@code pattern} are 0 and {@code checkDigest} is the buffer's Merkle root, the entry's key;
     * the entry is wiped when it is evicted or expires, and that wipe's record
     * ({@code cache:evicted:<root>} or {@code cache:expired:<root>}) comes in the attestation of
     * the buyer's next attempt on the node. Verifiers accept it only for a buffer they allow, with
     * that root and size ({@link WipeAttestation#verify(Envelope, Envelope, NodePublicKey,
     * java.util.Map, java.util.Map)}); a node sends it only to a buyer that asked for it. Added
     * 2026-12-07 (issue 15).
     */
    public static final String CACHE_IN_PLACE = "cache-in-place";

    /**
     * Validates.
     *
     * @param location         {@value #HOST} or {@value #DEVICE}
     * @param label            the buffer's name (e.g. the job's input/output name)
     * @param bytes            the buffer's size
     * @param bytesOverwritten bytes overwritten with the pattern (&le; bytes)
     * @param pattern          the overwrite byte, 0..255
     * @param method           {@value #HOST_READBACK_COMPARE} or {@value #DEVICE_READBACK_REDUCTION}
     * @param checkDigest      hex digest of the read-back check
     */
    public WipeRecord {
        if (!HOST.equals(location) && !DEVICE.equals(location)) {
            throw new InvalidArgumentException("location must be 'host' or 'device', got " + location);
        }
        InvalidArgumentException.requireNonNull(label, "label");
        if (label.isEmpty()) {
            throw new InvalidArgumentException("label must not be empty");
        }
        if (bytes < 0 || bytesOverwritten < 0 || bytesOverwritten > bytes) {
            throw new InvalidArgumentException("need 0 <= bytesOverwritten <= bytes, got " + bytesOverwritten + " of "
                    + bytes + " for '" + label + "'");
        }
        if (pattern < 0 || pattern > 255) {
            throw new InvalidArgumentException("pattern is a byte value 0..255, got " + pattern);
        }
        InvalidArgumentException.requireNonNull(method, "method");
        if (method.isEmpty()) {
            throw new InvalidArgumentException("method must not be empty");
        }
        InvalidArgumentException.requireNonNull(checkDigest, "checkDigest");
        if (checkDigest.isEmpty() || checkDigest.length() > 256 || !Hex.isLowerHex(checkDigest, checkDigest.length())) {
            throw new InvalidArgumentException("checkDigest must be lower-case hex, got '" + checkDigest + "'");
        }
    }

    /**
     * The pattern as two hex digits.
     *
     * @return e.g. {@code "00"}
     */
    public String patternHex() {
        return Hex.encode(new byte[] {(byte) pattern});
    }
}
