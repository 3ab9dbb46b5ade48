package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.WipeRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The host memory one job uses on a provider. Executors allocate every staging and
 * output buffer here, so that after the job the node can account for (and wipe) each
 * byte it held. Not thread-safe: one job, one workspace, one thread at a time.
 */
public final class JobWorkspace {
    private final List<Allocation> allocations = new ArrayList<>();
    private long bytes;

    /**
     * One host allocation.
     *
     * @param label what it holds: the kernel's buffer name ({@code "a"}, {@code "c"}) for
     *              staging copies of inputs and for outputs, {@code "scratch:..."} otherwise
     * @param array the backing array ({@code float[]} or {@code byte[]})
     */
    public record Allocation(String label, Object array) {
        /** @return the allocation's size in bytes */
        public long bytes() {
            return array instanceof float[] f ? (long) f.length * Float.BYTES : ((byte[]) array).length;
        }
    }

    /**
     * Allocates a zeroed float array of {@code count} elements.
     *
     * @param label what it will hold
     * @param count number of floats, &ge; 0
     * @return the array, owned by this workspace
     */
    public float[] floats(String label, int count) {
        check(label, count);
        float[] a = new float[count];
        track(label, a, (long) count * Float.BYTES);
        return a;
    }

    /**
     * Allocates a zeroed little-endian heap byte buffer.
     *
     * @param label what it will hold
     * @param size  size in bytes, &ge; 0
     * @return the buffer, backed by an array owned by this workspace
     */
    public ByteBuffer bytes(String label, int size) {
        check(label, size);
        byte[] a = new byte[size];
        track(label, a, size);
        return ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** @return every allocation so far, in order */
    public List<Allocation> allocations() {
        return Collections.unmodifiableList(allocations);
    }

    /** @return total bytes allocated */
    public long totalBytes() {
        return bytes;
    }

    /**
     * Overwrites every allocation with {@code pattern} and reads each back in full,
     * in allocation order, returning one record per allocation for the wipe attestation.
     * After this the workspace holds no job data; its arrays stay allocated (filled with
     * the pattern) until garbage-collected.
     *
     * @param pattern the overwrite byte
     * @return one host wipe record per allocation
     * @throws dev.depin.DepinException if a read-back differs from the pattern
     */
    public List<WipeRecord> wipe(byte pattern) {
        List<WipeRecord> records = new ArrayList<>(allocations.size());
        for (Allocation a : allocations) {
            records.add(a.array() instanceof float[] f
                    ? HostWipe.wipe(a.label(), f, pattern)
                    : HostWipe.wipe(a.label(), (byte[]) a.array(), pattern));
        }
        return records;
    }

    private void track(String label, Object array, long size) {
        allocations.add(new Allocation(label, array));
        bytes += size;
    }

    private static void check(String label, int size) {
        InvalidArgumentException.requireNonNull(label, "allocation label");
        if (size < 0) {
            throw new InvalidArgumentException("allocation '" + label + "' of " + size + " elements: size must be >= 0");
        }
    }
}
