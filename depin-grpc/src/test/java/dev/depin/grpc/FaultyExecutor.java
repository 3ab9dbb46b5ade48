package dev.depin.grpc;

import dev.depin.crypto.Hex;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionTiming;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.provider.DeviceInfo;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A real executor with a count and a fault: every run that finishes is reported with the
 * SHA-256 of its input {@code x} (so a test with distinct inputs per job counts executions per
 * job, across all nodes that share a map, or across processes); a run whose key {@code stalls} accepts the job
 * and never finishes until it is cancelled (a stalled provider), counted in {@link #stalled}
 * and {@link #cancelledStalls}.
 */
final class FaultyExecutor implements DeviceExecutor {
    private final DeviceExecutor inner;
    private final Consumer<String> ran;
    private final Predicate<String> stalls;
    /** Runs that stalled. */
    final AtomicInteger stalled = new AtomicInteger();
    /** Stalled runs that were then cancelled (the buyer gave up and told the provider). */
    final AtomicInteger cancelledStalls = new AtomicInteger();

    /**
     * @param inner      does the work
     * @param executions finished runs by input key, shared by the nodes of a test
     * @param stalls     which input keys stall
     */
    FaultyExecutor(DeviceExecutor inner, Map<String, AtomicInteger> executions, Predicate<String> stalls) {
        this(inner, k -> executions.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet(), stalls);
    }

    /**
     * @param inner  does the work
     * @param ran    told the input key of each run that finished
     * @param stalls which input keys stall
     */
    FaultyExecutor(DeviceExecutor inner, Consumer<String> ran, Predicate<String> stalls) {
        this.inner = inner;
        this.ran = ran;
        this.stalls = stalls;
    }

    /**
     * @param x a job's input {@code x}
     * @return the key its executions are counted under
     */
    static String key(ByteBuffer x) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(x.duplicate());
            return Hex.encode(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return a map to count executions in */
    static Map<String, AtomicInteger> counts() {
        return new ConcurrentHashMap<>();
    }

    @Override
    public String kind() {
        return inner.kind();
    }

    @Override
    public DeviceInfo device() {
        return inner.device();
    }

    @Override
    public Set<String> kernels() {
        return inner.kernels();
    }

    @Override
    public boolean runsUserPtx() {
        return inner.runsUserPtx();
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        return new Context(inner.open(kernel, params));
    }

    @Override
    public void close() {
        inner.close();
    }

    private final class Context implements ExecutionContext {
        private final ExecutionContext ctx;
        private final CountDownLatch cancelled = new CountDownLatch(1);

        Context(ExecutionContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public ByteBuffer input(String name) {
            return ctx.input(name);
        }

        @Override
        public void run() {
            String key = key(ctx.input("x"));
            if (stalls.test(key)) {
                stalled.incrementAndGet();
                try {
                    cancelled.await(); // never answers unless cancelled
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                cancelledStalls.incrementAndGet();
                throw new ExecutionCancelledException("stalled run cancelled");
            }
            ctx.run();
            ran.accept(key);
        }

        @Override
        public ByteBuffer output(String name) {
            return ctx.output(name);
        }

        @Override
        public Optional<byte[]> outputRoot(String name) {
            return ctx.outputRoot(name);
        }

        @Override
        public ExecutionTiming timing() {
            return ctx.timing();
        }

        @Override
        public void cancel() {
            cancelled.countDown();
            ctx.cancel();
        }

        @Override
        public boolean isCancelled() {
            return ctx.isCancelled();
        }

        @Override
        public List<Allocation> allocations() {
            return ctx.allocations();
        }

        @Override
        public List<WipeRecord> wipe(byte pattern) {
            return ctx.wipe(pattern);
        }

        @Override
        public void close() {
            ctx.close();
        }
    }

    /**
     * Waits until {@code count} reaches {@code at least}; for liveness only.
     *
     * @param count   what to watch
     * @param atLeast the value to reach
     * @param seconds the most to wait
     * @return whether it was reached
     * @throws InterruptedException if interrupted
     */
    static boolean await(AtomicInteger count, int atLeast, long seconds) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (count.get() < atLeast) {
            if (System.nanoTime() > until) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }
}
