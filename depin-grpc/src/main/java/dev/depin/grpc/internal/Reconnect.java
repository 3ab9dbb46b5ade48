package dev.depin.grpc.internal;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Our retries replace gRPC's own reconnect backoff (1 s growing to 2 minutes): a channel whose
 * connection failed stays in TRANSIENT_FAILURE until that backoff ends, failing every call at
 * once, so a retry first cuts the backoff short and waits for the channel to leave that
 * state (it then queues calls while it connects).
 */
public final class Reconnect {
    /** The longest a retry waits for a channel to leave TRANSIENT_FAILURE before it goes ahead anyway. */
    private static final long MAX_WAIT_MS = 1_000;

    private Reconnect() {
    }

    /**
     * Runs {@code next} once the channel is not failing: at once, or when it has left
     * TRANSIENT_FAILURE after its reconnect backoff was cut short (or after a second at most).
     *
     * @param channel the channel
     * @param next    what to run; runs exactly once, on this thread or on another
     */
    public static void thenRun(ManagedChannel channel, Runnable next) {
        if (channel.getState(false) != ConnectivityState.TRANSIENT_FAILURE) {
            next.run();
            return;
        }
        AtomicBoolean once = new AtomicBoolean();
        Runnable go = () -> {
            if (once.compareAndSet(false, true)) {
                next.run();
            }
        };
        channel.notifyWhenStateChanged(ConnectivityState.TRANSIENT_FAILURE, go);
        channel.resetConnectBackoff();
        CompletableFuture.delayedExecutor(MAX_WAIT_MS, TimeUnit.MILLISECONDS).execute(go);
    }

    /**
     * Blocks until the channel is not failing, as {@link #thenRun} would wait.
     *
     * @param channel the channel
     * @throws InterruptedException if interrupted while waiting
     */
    public static void await(ManagedChannel channel) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        thenRun(channel, done::countDown);
        done.await(MAX_WAIT_MS * 2, TimeUnit.MILLISECONDS);
    }
}
