package dev.depin.executor.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every {@link ExecutionContext} does the same way, so that an executor writes only its
 * launch, wipe and close: input and output lookup by name (with the errors the contract
 * suite expects), {@link #run()} exactly once with cancellation checked before and after the
 * launch, {@link #timing()}, and {@link #cancel()}.
 *
 * <p>A subclass registers each input buffer in its constructor ({@link #addInput}) and each
 * output buffer once it exists ({@link #addOutput}, at the latest in {@link #launch()});
 * {@link #input} hands out a writable little-endian duplicate, {@link #output} a read-only
 * one, both at position 0 with the declared size.
 */
public abstract class AbstractExecutionContext implements ExecutionContext {
    private final String where;
    private final Kernel kernel;
    private final LaunchParams params;
    private final Map<String, ByteBuffer> inputs = new LinkedHashMap<>();
    private final Map<String, ByteBuffer> outputs = new LinkedHashMap<>();
    private final Map<String, java.util.function.Supplier<ByteBuffer>> lazyInputs = new LinkedHashMap<>();
    private final java.util.Set<String> inPlace = new java.util.HashSet<>();
    private final java.util.Set<String> keptOutputs = new java.util.HashSet<>();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private boolean started;
    private volatile ExecutionTiming timing;

    /**
     * @param where  where the job runs, for messages: "the CPU", "CUDA device 0"
     * @param kernel the job's kernel
     * @param params its launch parameters
     */
    protected AbstractExecutionContext(String where, Kernel kernel, LaunchParams params) {
        this.where = InvalidArgumentException.requireNonNull(where, "where");
        this.kernel = InvalidArgumentException.requireNonNull(kernel, "kernel");
        this.params = InvalidArgumentException.requireNonNull(params, "launch parameters");
    }

    /** @return the job's kernel */
    protected final Kernel kernel() {
        return kernel;
    }

    /** @return the job's launch parameters */
    protected final LaunchParams params() {
        return params;
    }

    /**
     * Registers the buffer {@link #input} hands out for {@code name}.
     *
     * @param name   an input the kernel declares
     * @param buffer its buffer, exactly the declared size
     */
    protected final void addInput(String name, ByteBuffer buffer) {
        inputs.put(name, buffer);
    }

    /**
     * Registers the buffer {@link #output} hands out for {@code name}.
     *
     * @param name   an output the kernel declares
     * @param buffer its buffer, exactly the declared size
     */
    protected final void addOutput(String name, ByteBuffer buffer) {
        outputs.put(name, buffer);
    }

    /**
     * Declares input {@code name} whose buffer is made by {@code allocate} on the first
     * {@link #input} call (or by {@link #inputBuffer} at launch), so that an input read in place
     * ({@link #takeInPlace}) is never allocated.
     *
     * @param name     an input the kernel declares
     * @param allocate makes its buffer, exactly the declared size
     */
    protected final void addLazyInput(String name, java.util.function.Supplier<ByteBuffer> allocate) {
        lazyInputs.put(name, allocate);
    }

    /**
     * Marks a lazily declared input as read in place: it will never be allocated, and
     * {@link #input} refuses it from now on.
     *
     * @param name an input the kernel declares
     * @return false when the input's buffer already exists (filled by the caller), or it is not lazy
     * @throws ExecutionFailedException once the kernel has started
     */
    protected final boolean takeInPlace(String name) {
        if (started) {
            throw new ExecutionFailedException("input '" + name + "' offered in place after the kernel started");
        }
        if (lazyInputs.remove(name) == null) {
            return false;
        }
        inPlace.add(name);
        return true;
    }

    /**
     * The buffer of input {@code name} as {@link #input} hands it out (allocated now if it was
     * lazy and never asked for: the kernel then reads zeros), or null for an input read in place.
     *
     * @param name an input the kernel declares
     * @return the buffer, position 0, or null
     */
    protected final ByteBuffer inputBuffer(String name) {
        return inPlace.contains(name) ? null : input(name);
    }

    @Override
    public final ByteBuffer input(String name) {
        ByteBuffer b = inputs.get(name);
        if (b == null && inPlace.contains(name)) {
            throw new InvalidArgumentException("input '" + name + "' of kernel " + kernel.id() + " is read in place: "
                    + "it has no buffer to fill");
        }
        if (b == null) {
            java.util.function.Supplier<ByteBuffer> make = lazyInputs.remove(name);
            if (make != null) {
                b = make.get();
                inputs.put(name, b);
            }
        }
        if (b == null) {
            java.util.Set<String> all = new java.util.LinkedHashSet<>(inputs.keySet());
            all.addAll(lazyInputs.keySet());
            all.addAll(inPlace);
            throw new InvalidArgumentException("kernel " + kernel.id() + " has no input '" + name + "': it reads "
                    + all);
        }
        return b.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public final void run() {
        if (started) {
            throw new ExecutionFailedException("this execution context already ran: open a new one per job");
        }
        started = true;
        checkCancelled();
        Instant startedAt = Instant.now();
        long deviceNanos = launch();
        checkCancelled();
        Instant endedAt = Instant.now();
        timing = new ExecutionTiming(startedAt, endedAt.isBefore(startedAt) ? startedAt : endedAt,
                Math.max(0, deviceNanos));
    }

    /**
     * Runs the kernel on the registered inputs and leaves its results in the registered
     * outputs; called once, by {@link #run()}.
     *
     * @return nanoseconds the device worked on the kernel
     * @throws ExecutionFailedException    if the device fails
     * @throws ExecutionCancelledException if the job was cancelled at a launch boundary
     */
    protected abstract long launch();

    /** @return whether {@link #run()} has started (outputs may be written from then on) */
    protected final boolean started() {
        return started;
    }

    /**
     * Forgets output {@code name}'s buffer (handed to the caller, {@link #keepOutput}):
     * {@link #output} refuses it from now on.
     *
     * @param name an output the kernel declares
     */
    protected final void dropOutput(String name) {
        if (outputs.remove(name) != null) {
            keptOutputs.add(name);
        }
    }

    @Override
    public final ByteBuffer output(String name) {
        requireRan();
        ByteBuffer b = outputs.get(name);
        if (b == null && keptOutputs.contains(name)) {
            throw new InvalidArgumentException("output '" + name + "' of kernel " + kernel.id() + " was handed over "
                    + "(keepOutput): this context no longer holds it");
        }
        if (b == null) {
            throw new InvalidArgumentException("kernel " + kernel.id() + " has no output '" + name + "': it writes "
                    + kernel.outputs(params).stream().map(dev.depin.kernel.BufferDecl::name).toList());
        }
        return b.asReadOnlyBuffer().clear().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public final ExecutionTiming timing() {
        requireRan();
        return timing;
    }

    /**
     * @throws ExecutionFailedException unless {@link #run()} completed
     */
    protected final void requireRan() {
        if (timing == null) {
            throw new ExecutionFailedException("kernel " + kernel.id() + " has not run in this context: call run()");
        }
    }

    @Override
    public final void cancel() {
        cancelled.set(true);
    }

    @Override
    public final boolean isCancelled() {
        return cancelled.get();
    }

    /**
     * @throws ExecutionCancelledException if {@link #cancel()} was called
     */
    protected final void checkCancelled() {
        if (cancelled.get()) {
            throw new ExecutionCancelledException(kernel.id() + " on " + where + " was cancelled");
        }
    }
}
