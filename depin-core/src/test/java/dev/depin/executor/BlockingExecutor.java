package dev.depin.executor;

import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ForwardingExecutionContext;
import dev.depin.executor.spi.ForwardingExecutor;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A slow executor for tests: wraps a real one, and each {@link ExecutionContext#run()}
 * blocks until the test {@link #release releases} a run or the context is cancelled (then
 * it throws {@link ExecutionCancelledException}, as at a launch boundary). It logs what
 * happened, in order: {@code run}, {@code cancel}, {@code context-closed},
 * {@code executor-closed}.
 */
public final class BlockingExecutor extends ForwardingExecutor {
    private final boolean honoursCancel;
    private final Semaphore permits = new Semaphore(0);
    private final CountDownLatch started = new CountDownLatch(1);
    private int runsStarted; // guarded by this
    /** What happened, in order. */
    public final List<String> log = new CopyOnWriteArrayList<>();

    /** @param inner the executor that does the work once released */
    public BlockingExecutor(DeviceExecutor inner) {
        this(inner, true);
    }

    /**
     * @param inner         the executor that does the work once released
     * @param honoursCancel false for a device that cannot stop a launch: a cancelled run
     *                      still blocks until released, then stops at the launch boundary
     */
    public BlockingExecutor(DeviceExecutor inner, boolean honoursCancel) {
        super(inner);
        this.honoursCancel = honoursCancel;
    }

    /** Lets {@code runs} blocked or future runs proceed. */
    public void release(int runs) {
        permits.release(runs);
    }

    /**
     * @param seconds how long to wait
     * @return whether a run has started
     */
    public boolean awaitStarted(long seconds) throws InterruptedException {
        return started.await(seconds, TimeUnit.SECONDS);
    }

    /**
     * @param runs    how many runs, counted since this executor was made
     * @param seconds how long to wait
     * @return whether that many runs have started
     */
    public synchronized boolean awaitRuns(int runs, long seconds) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        for (long left; runsStarted < runs; ) {
            if ((left = end - System.nanoTime()) <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private synchronized void runStarted() {
        runsStarted++;
        notifyAll();
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        return new Context(delegate().open(kernel, params));
    }

    @Override
    public void close() {
        log.add("executor-closed");
        super.close();
    }

    private final class Context extends ForwardingExecutionContext {
        private final CountDownLatch cancelled = new CountDownLatch(1);

        Context(ExecutionContext ctx) {
            super(ctx);
        }

        @Override
        public void run() {
            log.add("run");
            started.countDown();
            runStarted();
            try {
                while (!permits.tryAcquire(1, TimeUnit.MILLISECONDS)) {
                    if (honoursCancel && cancelled.await(1, TimeUnit.MILLISECONDS)) {
                        throw new ExecutionCancelledException("blocked run cancelled");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ExecutionCancelledException("blocked run interrupted");
            }
            super.run(); // a cancelled context stops here, at its launch boundary
        }

        @Override
        public void cancel() {
            log.add("cancel");
            cancelled.countDown();
            super.cancel();
        }

        @Override
        public void close() {
            log.add("context-closed");
            super.close();
        }
    }
}
