package dev.depin.grpc;

import dev.depin.crypto.Hex;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ForwardingExecutionContext;
import dev.depin.executor.spi.ForwardingExecutor;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
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
final class FaultyExecutor extends ForwardingExecutor {
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
        super(inner);
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
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        return new Context(delegate().open(kernel, params));
    }

    private final class Context extends ForwardingExecutionContext {
        private final CountDownLatch cancelled = new CountDownLatch(1);

        Context(ExecutionContext ctx) {
            super(ctx);
        }

        @Override
        public void run() {
            String key = key(input("x"));
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
            super.run();
            ran.accept(key);
        }

        @Override
        public void cancel() {
            cancelled.countDown();
            super.cancel();
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
