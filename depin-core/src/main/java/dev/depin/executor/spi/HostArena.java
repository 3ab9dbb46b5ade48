package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.WipeRecord;
import dev.depin.kernel.KernelReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The host memory of one job: every heap or direct buffer and every working array an
 * {@link ExecutionContext} allocates on the host, so that the context can wipe and list
 * each of them. Executors (ours and third parties') allocate host memory here rather
 * than with {@code new}; device memory is tracked by the executor itself.
 *
 * <p>Thread-safe. {@link #close()} overwrites anything not yet wiped and drops every
 * reference; a closed arena allocates nothing.
 */
public final class HostArena implements KernelReference.Scratch, AutoCloseable {
    private final List<Entry> entries = new ArrayList<>();
    private boolean wiped;
    private boolean closed;

    private record Entry(String label, Object memory, long bytes) {
    }

    /**
     * Allocates a zeroed little-endian buffer.
     *
     * @param label  what it will hold (an input or output name, or {@code scratch:...})
     * @param bytes  size, 0 to {@link Integer#MAX_VALUE}
     * @param direct off-heap ({@link ByteBuffer#allocateDirect}) rather than on the heap
     * @return the buffer, owned by this arena
     * @throws InvalidArgumentException on a null label or a size out of range
     * @throws ExecutionFailedException if the arena is closed or memory runs out
     */
    public synchronized ByteBuffer buffer(String label, long bytes, boolean direct) {
        check(label, bytes, Integer.MAX_VALUE);
        ByteBuffer b;
        try {
            b = direct ? ByteBuffer.allocateDirect((int) bytes) : ByteBuffer.allocate((int) bytes);
        } catch (OutOfMemoryError e) {
            throw new ExecutionFailedException("cannot allocate " + bytes + " bytes of host memory for '" + label
                    + "': give the JVM more memory (-Xmx / -XX:MaxDirectMemorySize) or run a smaller job", e);
        }
        b.order(ByteOrder.LITTLE_ENDIAN);
        entries.add(new Entry(label, b, bytes));
        wiped = false;
        return b;
    }

    /**
     * Allocates a zeroed float array (for CPU kernels that work on arrays).
     *
     * @param label what it will hold
     * @param count number of floats, &ge; 0
     * @return the array, owned by this arena
     */
    @Override
    public synchronized float[] floats(String label, int count) {
        check(label, count, Integer.MAX_VALUE);
        float[] a;
        try {
            a = new float[count];
        } catch (OutOfMemoryError e) {
            throw new ExecutionFailedException("cannot allocate " + count + " floats for '" + label
                    + "': give the JVM more memory or run a smaller job", e);
        }
        entries.add(new Entry(label, a, (long) count * Float.BYTES));
        wiped = false;
        return a;
    }

    /**
     * Allocates {@code count} zeroed float arrays of {@code width} floats, tracked as one
     * allocation: wiped row by row and recorded once, {@code count × width × 4} bytes (for CPU
     * kernels whose inner loops need one array per row).
     *
     * @param label what they will hold
     * @param count number of arrays, &ge; 0
     * @param width floats per array, &ge; 0
     * @return the arrays, owned by this arena
     */
    @Override
    public synchronized float[][] rows(String label, int count, int width) {
        check(label, count, Integer.MAX_VALUE);
        check(label, width, Integer.MAX_VALUE);
        float[][] r;
        try {
            r = new float[count][width];
        } catch (OutOfMemoryError e) {
            throw new ExecutionFailedException("cannot allocate " + count + " rows of " + width + " floats for '"
                    + label + "': give the JVM more memory or run a smaller job", e);
        }
        entries.add(new Entry(label, r, (long) count * width * Float.BYTES));
        wiped = false;
        return r;
    }

    /** @return every allocation so far, in order, as {@link WipeRecord#HOST} allocations */
    public synchronized List<ExecutionContext.Allocation> allocations() {
        List<ExecutionContext.Allocation> list = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            list.add(new ExecutionContext.Allocation(WipeRecord.HOST, e.label(), e.bytes()));
        }
        return list;
    }

    /** @return total bytes allocated */
    public synchronized long totalBytes() {
        long total = 0;
        for (Entry e : entries) {
            total += e.bytes();
        }
        return total;
    }

    /**
     * Overwrites every allocation with {@code pattern} and reads each back in full, in
     * allocation order.
     *
     * @param pattern the overwrite byte
     * @return one host wipe record per allocation
     * @throws ExecutionFailedException if a read-back differs from the pattern
     */
    public List<WipeRecord> wipe(byte pattern) {
        return wipe(pattern, Parallelism.callerThread());
    }

    /**
     * As {@link #wipe(byte)}, each allocation over 1 MiB cut into ranges that
     * {@code parallelism}'s threads fill and compare at once ({@link HostWipe#wipe(String,
     * ByteBuffer, byte, Parallelism)}): the same bytes written and read back, the same records.
     *
     * @param pattern     the overwrite byte
     * @param parallelism where the ranges may run besides the calling thread
     * @return one host wipe record per allocation
     * @throws InvalidArgumentException if {@code parallelism} is null
     * @throws ExecutionFailedException if a read-back differs from the pattern
     */
    public synchronized List<WipeRecord> wipe(byte pattern, Parallelism parallelism) {
        InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        List<WipeRecord> records = new ArrayList<>(entries.size());
        try {
            for (Entry e : entries) {
                if (e.memory() instanceof float[] f) {
                    records.add(HostWipe.wipe(e.label(), f, pattern, parallelism));
                } else if (e.memory() instanceof float[][] rows) {
                    records.add(wipeRows(e.label(), rows, e.bytes(), pattern));
                } else {
                    records.add(HostWipe.wipe(e.label(), ((ByteBuffer) e.memory()).duplicate().clear(), pattern,
                            parallelism));
                }
            }
        } catch (RuntimeException e) {
            throw new ExecutionFailedException("host wipe failed: " + e.getMessage(), e);
        }
        wiped = true;
        return records;
    }

    /**
     * Wipes each row as {@link HostWipe#wipe(String, float[], byte)} does (which throws on a
     * mismatch) and states the rows as one buffer: the record {@code HostWipe} gives an array of
     * all their bytes, which a verifier checks the same way.
     */
    private static WipeRecord wipeRows(String label, float[][] rows, long bytes, byte pattern) {
        for (float[] row : rows) {
            HostWipe.wipe(label, row, pattern);
        }
        int p = pattern & 0xff;
        return new WipeRecord(WipeRecord.HOST, label, bytes, bytes, p, WipeRecord.HOST_READBACK_COMPARE,
                HostWipe.checkDigest(WipeRecord.HOST, label, bytes, p, 0));
    }

    /**
     * Gives up a heap buffer this arena allocated ({@link #buffer} with {@code direct} false):
     * the caller owns its array from now on, and this arena neither wipes nor lists it.
     *
     * @param label the buffer's label (the only allocation with it)
     * @return its array (the whole buffer), or null when there is no single heap buffer of that label
     */
    public synchronized byte[] release(String label) {
        Entry found = null;
        for (Entry e : entries) {
            if (e.label().equals(label)) {
                if (found != null) {
                    return null;
                }
                found = e;
            }
        }
        if (found == null || closed || !(found.memory() instanceof ByteBuffer b) || b.isDirect() || !b.hasArray()
                || b.arrayOffset() != 0 || b.array().length != found.bytes()) {
            return null;
        }
        entries.remove(found);
        return b.array();
    }

    /** Overwrites whatever was not wiped yet and drops every reference. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!wiped && !entries.isEmpty()) {
            try {
                wipe((byte) 0x5a);
            } catch (RuntimeException e) {
                // Nothing more to do: the memory is dropped below either way.
            }
        }
        entries.clear();
    }

    private void check(String label, long size, long max) {
        InvalidArgumentException.requireNonNull(label, "allocation label");
        if (size < 0 || size > max) {
            throw new InvalidArgumentException("allocation '" + label + "' of " + size + " must be 0 to " + max);
        }
        if (closed) {
            throw new ExecutionFailedException("this job's host arena is closed: open a new execution context");
        }
    }
}
