package dev.depin.cuda.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.cuda.Cuda;
import dev.depin.cuda.CudaExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.executor.spi.ExecutorProvider;

/**
 * Registers the CUDA executor with {@link java.util.ServiceLoader}. Constructing it and
 * asking its name or rank loads no native code; {@link #availability()} runs the
 * {@link Cuda} probe once (which a system property {@value Cuda#DISABLE_PROPERTY} turns off).
 */
public final class CudaExecutorProvider implements ExecutorProvider {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int rank() {
        return 100;
    }

    @Override
    public Availability availability() {
        try {
            if (Cuda.isAvailable()) {
                return Availability.yes(Cuda.deviceCount() + " CUDA device(s)");
            }
            Throwable cause = Cuda.unavailabilityCause();
            return Availability.no(cause == null ? "unknown" : cause.getMessage());
        } catch (Throwable t) {
            return Availability.no("CUDA probe failed: " + t);
        }
    }

    @Override
    public DeviceExecutor create(ExecutorOptions options) {
        InvalidArgumentException.requireNonNull(options, "executor options");
        if (!Cuda.isAvailable()) {
            throw new ExecutionFailedException("CUDA is unavailable: " + availability().cause()
                    + "; use the CPU executor");
        }
        return new CudaExecutor(options.deviceIndex());
    }
}
