package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.provider.DeviceInfo;
import java.util.Set;
import java.util.SortedSet;

/**
 * A {@link DeviceExecutor} that forwards every call to another one, for wrappers that change
 * one behaviour (a fault, a count, a delay, a dishonest provider in a demo) and keep the
 * rest. Every method of the SPI is forwarded here, so a method added to the SPI is forwarded
 * in one place and no wrapper silently falls back to an interface default that differs from
 * the wrapped executor's (as {@link #offeredKernels()} would for a CUDA executor).
 *
 * <p>Wrap contexts with {@link ForwardingExecutionContext} by overriding {@link #open}.
 */
public abstract class ForwardingExecutor implements DeviceExecutor {
    private final DeviceExecutor delegate;

    /**
     * @param delegate the executor that does the work
     * @throws InvalidArgumentException if {@code delegate} is null
     */
    protected ForwardingExecutor(DeviceExecutor delegate) {
        this.delegate = InvalidArgumentException.requireNonNull(delegate, "delegate executor");
    }

    /** @return the executor calls are forwarded to */
    protected final DeviceExecutor delegate() {
        return delegate;
    }

    @Override
    public String kind() {
        return delegate.kind();
    }

    @Override
    public DeviceInfo device() {
        return delegate.device();
    }

    @Override
    public Set<String> kernels() {
        return delegate.kernels();
    }

    @Override
    public boolean runsUserPtx() {
        return delegate.runsUserPtx();
    }

    @Override
    public SortedSet<String> offeredKernels() {
        return delegate.offeredKernels();
    }

    @Override
    public boolean supports(Kernel kernel) {
        return delegate.supports(kernel);
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        return delegate.open(kernel, params);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
