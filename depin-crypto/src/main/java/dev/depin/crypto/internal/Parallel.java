package dev.depin.crypto.internal;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * One shared pool of daemon threads (one per core, created on first use) for the
 * data-parallel loops of hashing and verification. Work is split into contiguous index
 * ranges; callers write results only to their own slots, so results never depend on the
 * number of threads.
 */
public final class Parallel {
    private static volatile ForkJoinPool pool;

    private Parallel() {
    }

    /** A body over a half-open index range. */
    @FunctionalInterface
    public interface RangeBody {
        /** Processes indices {@code [from, to)}. */
        void run(int from, int to);
    }

    /** Threads available for parallel loops. */
    public static int parallelism() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into ranges of at least {@code grain}
     * indices; sequential in the calling thread if there is one core or one range.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int threads = parallelism();
        grain = Math.max(1, Math.max(grain, n / (threads * 4)));
        if (threads == 1 || n <= grain) {
            body.run(0, n);
            return;
        }
        pool().invoke(new Task(body, 0, n, grain));
    }

    static ForkJoinPool pool() {
        ForkJoinPool p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                p = pool;
                if (p == null) {
                    ForkJoinPool.ForkJoinWorkerThreadFactory factory = fjp -> {
                        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(fjp);
                        t.setDaemon(true);
                        t.setName("depin-crypto-" + t.getPoolIndex());
                        return t;
                    };
                    p = new ForkJoinPool(parallelism(), factory, null, false);
                    pool = p;
                }
            }
        }
        return p;
    }

    private static final class Task extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient RangeBody body;
        private final int from;
        private final int to;
        private final int grain;

        Task(RangeBody body, int from, int to, int grain) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (to - from <= grain) {
                body.run(from, to);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Task(body, from, mid, grain), new Task(body, mid, to, grain));
        }
    }
}
