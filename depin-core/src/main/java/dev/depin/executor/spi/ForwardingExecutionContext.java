package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.WipeRecord;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * An {@link ExecutionContext} that forwards every call to another one; the context half of
 * {@link ForwardingExecutor}.
 *
 * <p>A wrapper that changes an output's bytes must also override {@link #outputRoot} (to
 * return empty, so that the node hashes the bytes it is handed) and must allocate its own
 * copies where they are wiped and listed (a {@link HostArena}, added to {@link #allocations}
 * and {@link #wipe}); forwarding those two unchanged would commit to bytes the wrapper does
 * not return, or leave a copy of job data unwiped. {@link #outputTree} is not forwarded (it is
 * empty here, and the node hashes what {@link #output} returns): a wrapper that returns the
 * delegate's outputs unchanged may forward it.
 */
public abstract class ForwardingExecutionContext implements ExecutionContext {
    private final ExecutionContext delegate;

    /**
     * @param delegate the context that does the work
     * @throws InvalidArgumentException if {@code delegate} is null
     */
    protected ForwardingExecutionContext(ExecutionContext delegate) {
        this.delegate = InvalidArgumentException.requireNonNull(delegate, "delegate context");
    }

    /** @return the context calls are forwarded to */
    protected final ExecutionContext delegate() {
        return delegate;
    }

    @Override
    public ByteBuffer input(String name) {
        return delegate.input(name);
    }

    @Override
    public void run() {
        delegate.run();
    }

    @Override
    public ByteBuffer output(String name) {
        return delegate.output(name);
    }

    @Override
    public Optional<byte[]> outputRoot(String name) {
        return delegate.outputRoot(name);
    }

    /**
     * Empty: not forwarded, so that a wrapper that changes an output never passes off the
     * delegate's tree of the bytes before the change. Override to forward where the outputs
     * are the delegate's.
     */
    @Override
    public Optional<dev.depin.crypto.MerkleTree> outputTree(String name, dev.depin.crypto.Parallelism parallelism) {
        return Optional.empty();
    }

    @Override
    public ExecutionTiming timing() {
        return delegate.timing();
    }

    @Override
    public void cancel() {
        delegate.cancel();
    }

    @Override
    public boolean isCancelled() {
        return delegate.isCancelled();
    }

    @Override
    public List<Allocation> allocations() {
        return delegate.allocations();
    }

    @Override
    public List<WipeRecord> wipe(byte pattern) {
        return delegate.wipe(pattern);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
