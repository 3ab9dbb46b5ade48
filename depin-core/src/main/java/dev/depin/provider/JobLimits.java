package dev.depin.provider;

import dev.depin.InvalidArgumentException;

/**
 * The largest job a provider takes, as its signed offer states it: the output bytes one job may
 * declare, and the input plus output bytes (its working memory for a built-in kernel) one job
 * may need. A node refuses a larger job at admission before holding any of its bytes; a buyer
 * reads the same numbers from the offer and never sends it one.
 *
 * @param maxOutputBytes the most output bytes one job may declare, &ge; 1
 * @param maxJobBytes    the most input plus output bytes of one job, &ge; {@code maxOutputBytes}
 */
public record JobLimits(long maxOutputBytes, long maxJobBytes) {
    /** Most bytes per job {@link #forHeap} gives, on a heap of 8 GiB or more: 1 GiB. */
    public static final long HEAP_DEFAULT_CAP = 1L << 30;
    /** {@link #forHeap} gives one job this fraction of the heap: 1/8. */
    public static final int HEAP_DIVISOR = 8;

    /**
     * @param maxOutputBytes the most output bytes one job may declare, &ge; 1
     * @param maxJobBytes    the most input plus output bytes of one job, &ge; {@code maxOutputBytes}
     * @throws InvalidArgumentException unless {@code 1 <= maxOutputBytes <= maxJobBytes}
     */
    public JobLimits {
        if (maxOutputBytes < 1 || maxJobBytes < maxOutputBytes) {
            throw new InvalidArgumentException("job limits of " + maxOutputBytes + " output bytes and " + maxJobBytes
                    + " bytes in all: give 1 <= output <= all");
        }
    }

    /**
     * Limits for jobs of at most {@code maxJobBytes}, of which at most half may be output (at
     * least 1 byte): the share an operator gets when giving only the job size.
     *
     * @param maxJobBytes the most input plus output bytes of one job, &ge; 1
     * @return the limits
     * @throws InvalidArgumentException unless {@code maxJobBytes >= 1}
     */
    public static JobLimits ofJobBytes(long maxJobBytes) {
        if (maxJobBytes < 1) {
            throw new InvalidArgumentException("job limit of " + maxJobBytes + " bytes: give at least 1");
        }
        return new JobLimits(Math.max(1, maxJobBytes / 2), maxJobBytes);
    }

    /**
     * A node's default limits on a JVM whose maximum heap is {@code maxHeapBytes}: one job gets
     * an eighth of the heap, at most {@link #HEAP_DEFAULT_CAP} (1 GiB from an 8 GiB heap up), and
     * half of that may be output ({@link #ofJobBytes}). An eighth is the share a served node's
     * transport lets one peer's inputs hold by default (depin-grpc {@code ProviderServer}: a
     * quarter of the heap for all streams, half of that per peer), so a default offer never
     * states a job that a default server refuses for its size; a job also takes that much in its
     * execution context again (CPU executor: heap buffers), within the heap's other half.
     *
     * @param maxHeapBytes the JVM's maximum heap ({@link Runtime#maxMemory()}), &ge; 1
     * @return {@code ofJobBytes(min(1 GiB, max(1, maxHeapBytes / 8)))}
     * @throws InvalidArgumentException unless {@code maxHeapBytes >= 1}
     */
    public static JobLimits forHeap(long maxHeapBytes) {
        if (maxHeapBytes < 1) {
            throw new InvalidArgumentException("maximum heap of " + maxHeapBytes + " bytes: give at least 1");
        }
        return ofJobBytes(Math.min(HEAP_DEFAULT_CAP, Math.max(1, maxHeapBytes / HEAP_DIVISOR)));
    }

    /**
     * Why a job of this size is refused under these limits.
     *
     * @param outputBytes the output bytes the job declares (saturated at {@code Long.MAX_VALUE})
     * @param jobBytes    its input plus output bytes (saturated likewise)
     * @return the reason, such as {@code "takes at most 1048576 output bytes per job"}, or
     *         {@code null} when the job fits
     */
    public String refusal(long outputBytes, long jobBytes) {
        if (outputBytes > maxOutputBytes) {
            return "takes at most " + maxOutputBytes + " output bytes per job, this one declares " + outputBytes;
        }
        if (jobBytes > maxJobBytes) {
            return "takes at most " + maxJobBytes + " input + output bytes per job, this one needs " + jobBytes;
        }
        return null;
    }
}
