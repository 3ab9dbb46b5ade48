package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import java.time.Instant;

/**
 * When a kernel ran and how long the device worked.
 *
 * @param startedAt   when the kernel started
 * @param endedAt     when it ended
 * @param deviceNanos device time in nanoseconds (kernel time measured by the device where
 *                    it can, wall time of the compute phase on the CPU)
 */
public record ExecutionTiming(Instant startedAt, Instant endedAt, long deviceNanos) {
    /**
     * Creates a timing after checking that it is consistent.
     *
     * @param startedAt   when the kernel started; not null
     * @param endedAt     when it ended; not null and not before {@code startedAt}
     * @param deviceNanos device time in nanoseconds, &ge; 0
     * @throws InvalidArgumentException on nulls, an end before the start, or negative device time
     */
    public ExecutionTiming {
        InvalidArgumentException.requireNonNull(startedAt, "start time");
        InvalidArgumentException.requireNonNull(endedAt, "end time");
        if (deviceNanos < 0) {
            throw new InvalidArgumentException("device time is " + deviceNanos + " ns: it must be >= 0");
        }
        if (endedAt.isBefore(startedAt)) {
            throw new InvalidArgumentException("execution ended at " + endedAt + ", before it started at " + startedAt);
        }
    }
}
