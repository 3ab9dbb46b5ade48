package dev.depin.grpc;

import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.provider.ProviderOffer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Honest buyers while an attack runs: {@code threads} loops, each dispatching small SAXPY
 * jobs with fresh random inputs through a {@link GrpcNetwork} to one provider's offer and
 * checking every output element; successes, failures (with their messages) and latencies
 * are kept.
 */
final class HonestLoad implements AutoCloseable {
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();
    final AtomicInteger ok = new AtomicInteger();
    final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    final List<Long> latenciesNanos = Collections.synchronizedList(new ArrayList<>());

    HonestLoad(GrpcNetwork net, ProviderOffer offer, int loops, long seed, int n) {
        for (int t = 0; t < loops; t++) {
            SplittableRandom rnd = new SplittableRandom(seed + t);
            Thread th = new Thread(() -> {
                int i = 0;
                while (!stop.get()) {
                    Saxpy s = new Saxpy(rnd, n, Duration.ofSeconds(60));
                    String id = String.format("%016x%016x", rnd.nextLong(), i++);
                    ExecutionRequest r = new ExecutionRequest(id, 1, s.job.spec(), s.job.inputs(),
                            new byte[ExecutionRequest.NONCE_BYTES]);
                    long t0 = System.nanoTime();
                    try {
                        ExecutionResponse resp = net.dispatch(offer, r, p -> { }).response().get(60, TimeUnit.SECONDS);
                        s.check(resp.outputBytes().get("out"));
                        latenciesNanos.add(System.nanoTime() - t0);
                        ok.incrementAndGet();
                    } catch (Throwable e) {
                        failures.add(e.toString());
                    }
                }
            }, "honest-" + t);
            th.setDaemon(true);
            threads.add(th);
            th.start();
        }
    }

    /** Waits until at least {@code jobs} honest jobs succeeded (or 60 s passed). */
    void awaitOk(int jobs) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (ok.get() < jobs && System.nanoTime() < until) {
            Thread.sleep(5);
        }
    }

    /**
     * Waits for {@code more} honest jobs to succeed from now, stops the loops, and asserts that
     * none failed and that they did succeed (the attack did not stop them).
     */
    void finishAfter(int more) throws InterruptedException {
        int before = ok.get();
        awaitOk(before + more);
        close();
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), failures, "honest jobs failed during the attack");
        org.junit.jupiter.api.Assertions.assertTrue(ok.get() >= before + more,
                "honest jobs stopped completing: " + ok.get() + " (" + before + " before)");
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join(70_000);
        }
    }
}
