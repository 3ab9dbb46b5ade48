package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;

/**
 * How to start an executor.
 *
 * @param deviceIndex which device of the provider's kind (0 for the first GPU; the CPU
 *                    executor has only device 0)
 * @param hostThreads CPU threads the executor may use for host-side work (all of its
 *                    compute, for the CPU executor), 1 to 1024
 */
public record ExecutorOptions(int deviceIndex, int hostThreads) {
    /**
     * Creates options after checking their ranges.
     *
     * @param deviceIndex which device of the provider's kind, counting from 0
     * @param hostThreads CPU threads for host-side work, 1 to 1024
     * @throws InvalidArgumentException if a number is out of range
     */
    public ExecutorOptions {
        if (deviceIndex < 0) {
            throw new InvalidArgumentException("device index is " + deviceIndex + ": devices count from 0");
        }
        if (hostThreads < 1 || hostThreads > 1024) {
            throw new InvalidArgumentException("host threads is " + hostThreads + ": give 1 to 1024");
        }
    }

    /**
     * @param hostThreads CPU threads, 1 to 1024
     * @return options for the first device
     */
    public static ExecutorOptions threads(int hostThreads) {
        return new ExecutorOptions(0, hostThreads);
    }

    /** @return options for the first device with every available core */
    public static ExecutorOptions defaults() {
        return threads(Math.min(1024, Runtime.getRuntime().availableProcessors()));
    }
}
