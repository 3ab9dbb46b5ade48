package dev.depin.executor.internal;

import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.executor.spi.ExecutorProvider;

/** Registers the CPU reference executor; always available. */
public final class CpuExecutorProvider implements ExecutorProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public Availability availability() {
        return Availability.yes(Runtime.getRuntime().availableProcessors() + " CPU cores");
    }

    @Override
    public DeviceExecutor create(ExecutorOptions options) {
        dev.depin.InvalidArgumentException.requireNonNull(options, "executor options");
        if (options.deviceIndex() != 0) {
            throw new dev.depin.InvalidArgumentException("the CPU executor has one device, index 0, not "
                    + options.deviceIndex() + ": use index 0");
        }
        return new CpuExecutor(options.hostThreads());
    }
}
