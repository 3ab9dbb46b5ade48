package dev.depin.crypto;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where the data-parallel loops of hashing and verification ({@link Merkle#root(java.nio.ByteBuffer,
 * int, Parallelism)}, {@link MerkleTree#of(java.nio.ByteBuffer, int, Parallelism)},
 * {@link dev.depin.crypto.verify.Freivalds}) may run besides the calling thread. depin-crypto
 * has no global thread pool: without a {@code Parallelism} every loop runs in the calling
 * thread ({@link #callerThread()}), and threads exist only where a caller created or lent
 * them, owned by the object that closes them.
 *
 * <ul>
 *   <li>{@link #callerThread()}: sequential, in the calling thread (the default).</li>
 *   <li>{@link #using(Executor, int)}: borrows the caller's executor; {@link #close()} does
 *       not shut it down.</li>
 *   <li>{@link #newPool(int)}: owns {@code threads - 1} daemon threads (the calling thread
 *       is the other one); {@link #close()} shuts them down.</li>
 * </ul>
 *
 * <p>The calling thread always works too, and waits only for ranges that another thread has
 * already started, so a loop completes even when the executor is saturated or is the pool
 * the caller itself runs on. Work is split into contiguous index ranges and each range
 * writes only its own result slots, so results never depend on the number of threads.
 * Thread-safe: one instance may serve many concurrent loops.
 *
 * <pre>{@code
 * try (Parallelism pool = Parallelism.newPool(Runtime.getRuntime().availableProcessors())) {
 *     byte[] root = Merkle.root(bigBuffer, Merkle.DEFAULT_CHUNK_SIZE, pool);
 *     VerificationReport r = Freivalds.verify(a, 0, b, 0, c, 0, m, k, n, options, seed, pool);
 * }
 * }</pre>
 */
public final class Parallelism implements AutoCloseable {
    private static final Parallelism CALLER_THREAD = new Parallelism(null, 1, null, "caller thread");
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final Executor executor;
    private final int threads;
    private final ExecutorService owned;
    private final String description;
    private volatile boolean closed;

    private Parallelism(Executor executor, int threads, ExecutorService owned, String description) {
        this.executor = executor;
        this.threads = threads;
        this.owned = owned;
        this.description = description;
    }

    /**
     * A body over a half-open index range, run by {@link #forRange(int, int, Range)}.
     */
    @FunctionalInterface
    public interface Range {
        /**
         * Processes indices {@code [from, to)}; writes only results that belong to them.
         *
         * @param from first index, inclusive
         * @param to   last index, exclusive
         */
        void run(int from, int to);
    }

    /**
     * Sequential: every loop runs in the calling thread. Closing it does nothing.
     *
     * @return the shared sequential instance
     */
    public static Parallelism callerThread() {
        return CALLER_THREAD;
    }

    /**
     * Borrows {@code executor}: loops run on the calling thread and on up to
     * {@code threads - 1} tasks submitted to {@code executor}. {@link #close()} does not shut
     * the executor down; its owner does. A task the executor rejects is done by the calling
     * thread instead.
     *
     * @param executor where helper tasks run; not {@code null}
     * @param threads  most threads working on one loop, the calling thread included, 1..1024
     * @return the parallelism
     * @throws dev.depin.InvalidArgumentException if {@code executor} is null or {@code threads}
     *                                            is out of range
     */
    public static Parallelism using(Executor executor, int threads) {
        InvalidArgumentException.requireNonNull(executor, "executor");
        checkThreads(threads);
        return new Parallelism(executor, threads, null, "borrowed executor, " + threads + " thread(s)");
    }

    /**
     * Creates and owns a pool of {@code threads - 1} daemon threads named
     * {@code depin-crypto-<pool>-<n>} (the calling thread is the other one). Close it when
     * done: {@link #close()} shuts the pool down.
     *
     * @param threads threads working on one loop, the calling thread included, 1..1024
     *                (e.g. {@code Runtime.getRuntime().availableProcessors()})
     * @return the parallelism, to be closed by the caller
     * @throws dev.depin.InvalidArgumentException if {@code threads} is out of range
     */
    public static Parallelism newPool(int threads) {
        checkThreads(threads);
        if (threads == 1) {
            return new Parallelism(null, 1, null, "own pool, 1 thread");
        }
        int id = POOLS.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "depin-crypto-" + id + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        ExecutorService pool = Executors.newFixedThreadPool(threads - 1, factory);
        return new Parallelism(pool, threads, pool, "own pool, " + threads + " thread(s)");
    }

    private static void checkThreads(int threads) {
        if (threads < 1 || threads > 1024) {
            throw new InvalidArgumentException("threads must be in 1..1024, got " + threads
                    + ": pass e.g. Runtime.getRuntime().availableProcessors()");
        }
    }

    /**
     * Most threads that work on one loop, the calling thread included (1 once closed).
     *
     * @return at least 1
     */
    public int threads() {
        return closed ? 1 : threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} cut into contiguous ranges of at least
     * {@code grain} indices, on the calling thread and this instance's helpers, and returns
     * when every range is done. If a range throws, the remaining ranges are skipped and the
     * first exception is rethrown here (a checked one wrapped in a {@link DepinException}).
     *
     * @param n     number of indices; nothing runs if {@code n <= 0}
     * @param grain fewest indices per range, at least 1 (smaller values are raised to 1)
     * @param body  the work; not {@code null}
     */
    public void forRange(int n, int grain, Range body) {
        InvalidArgumentException.requireNonNull(body, "body");
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, Math.max(grain, n / (threads * 4)));
        int ranges = (int) ((n + (long) g - 1) / g);
        if (executor == null || threads == 1 || ranges == 1 || closed) {
            body.run(0, n);
            return;
        }
        Loop loop = new Loop(n, g, ranges, body);
        int helpers = Math.min(threads - 1, ranges - 1);
        for (int i = 0; i < helpers; i++) {
            try {
                executor.execute(loop::work);
            } catch (RejectedExecutionException e) {
                break;   // e.g. a pool shut down concurrently: the calling thread does the rest
            }
        }
        loop.work();
        loop.await();
        Throwable t = loop.failure.get();
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error err) {
            throw err;
        }
        if (t != null) {
            throw new DepinException("a parallel range failed: " + t, t);
        }
    }

    /**
     * Releases what this instance owns: the pool of {@link #newPool(int)} is shut down (a loop
     * in progress still completes, on its calling thread if need be); a borrowed executor is
     * left alone. Later loops run in their calling thread only, as with
     * {@link #callerThread()}. Idempotent; closing {@link #callerThread()} does nothing.
     */
    @Override
    public void close() {
        if (this == CALLER_THREAD) {
            return;
        }
        closed = true;
        if (owned != null) {
            owned.shutdown();
        }
    }

    @Override
    public String toString() {
        return "Parallelism[" + description + (closed ? ", closed" : "") + "]";
    }

    /** One loop: ranges are claimed from a counter; the caller waits only for claimed ranges. */
    private static final class Loop {
        private final int n;
        private final int grain;
        private final int ranges;
        private final Range body;
        private final AtomicInteger next = new AtomicInteger();
        private final CountDownLatch done;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Loop(int n, int grain, int ranges, Range body) {
            this.n = n;
            this.grain = grain;
            this.ranges = ranges;
            this.body = body;
            this.done = new CountDownLatch(ranges);
        }

        void work() {
            int r;
            while ((r = next.getAndIncrement()) < ranges) {
                try {
                    if (failure.get() == null) {
                        int from = r * grain;
                        body.run(from, (int) Math.min(n, (long) from + grain));
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            }
        }

        void await() {
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;   // the ranges write into the caller's arrays: wait for them
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
