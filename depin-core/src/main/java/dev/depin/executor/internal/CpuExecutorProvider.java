package dev.depin.executor.internal;

import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.Executor;
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
    public Executor create(int hostThreads) {
        return new CpuExecutor(hostThreads);
    }
}
