package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.internal.Buffers;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;

/**
 * What an executor returns: the output buffers by name and how long the device worked.
 *
 * @param outputs     output buffers by name, little-endian, position 0 (read-only views)
 * @param startedAt   when the kernel started
 * @param endedAt     when it ended
 * @param deviceNanos device time in nanoseconds (kernel time measured by the device
 *                    where it can, wall time of the compute phase on the CPU)
 */
public record ExecutionOutput(Map<String, ByteBuffer> outputs, Instant startedAt, Instant endedAt, long deviceNanos) {
    /** @throws InvalidArgumentException on nulls or negative device time */
    public ExecutionOutput {
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        InvalidArgumentException.requireNonNull(startedAt, "start time");
        InvalidArgumentException.requireNonNull(endedAt, "end time");
        if (deviceNanos < 0) {
            throw new InvalidArgumentException("device time is " + deviceNanos + " ns: it must be >= 0");
        }
        outputs = Buffers.freeze(outputs, "outputs");
    }
}
