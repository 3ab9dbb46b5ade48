package dev.depin.grpc.internal;

import dev.depin.crypto.NodePublicKey;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one peer may keep open on a server whose calls are short (the settlement service): calls
 * open at once per key and per remote address ({@link AddressGroup}), and how long a call's
 * request may take to arrive. A call counts from its headers until its stream is gone, so a
 * request never sent whole (slowloris), an answer never read (a stalled reader whose flow-control
 * window is shut) and a call being served all count against the peer that opened it, never
 * against anyone else; past either limit a call is refused RESOURCE_EXHAUSTED before the
 * service sees it. A call that sends one request and has not sent it whole within the receive
 * timeout is ended DEADLINE_EXCEEDED (the service never saw it); calls that stream their
 * requests (a dispute's upload) keep their own deadline.
 *
 * <p>Runs inside {@link PeerKeys} (it reads the peer's key and address from the call's context).
 */
public final class CallLimits implements ServerInterceptor {
    private final int maxPerKey;
    private final int maxPerAddress;
    private final long receiveMillis;
    private final ScheduledExecutorService timer;
    private final ConcurrentHashMap<Object, AtomicInteger> open = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    /**
     * @param maxPerKey     calls one key may have open at once, over all its connections
     * @param maxPerAddress calls one address may have open at once, over all its keys
     * @param receiveMillis how long a one-request call may take to send its request whole
     * @param timer         where the receive deadlines run
     * @throws dev.depin.InvalidArgumentException unless every bound is positive and a key's at most an address's
     */
    public CallLimits(int maxPerKey, int maxPerAddress, long receiveMillis, ScheduledExecutorService timer) {
        if (maxPerKey < 1 || maxPerAddress < maxPerKey || receiveMillis < 1) {
            throw new dev.depin.InvalidArgumentException("call limits of " + maxPerKey + " per key, " + maxPerAddress
                    + " per address and a " + receiveMillis + " ms receive timeout: give positive values, per key at "
                    + "most per address");
        }
        this.maxPerKey = maxPerKey;
        this.maxPerAddress = maxPerAddress;
        this.receiveMillis = receiveMillis;
        this.timer = timer;
    }

    /** @return calls open now, over all peers */
    public int open() {
        return total.get();
    }

    /** @return the calls open now of a key, or of an address group ({@link AddressGroup#of}'s text) */
    public int open(Object who) {
        AtomicInteger n = open.get(who);
        return n == null ? 0 : n.get();
    }

    private boolean take(Object who, int max) {
        boolean[] got = new boolean[1];
        open.compute(who, (k, n) -> {
            int now = n == null ? 0 : n.get();
            if (now >= max) {
                return n;
            }
            got[0] = true;
            AtomicInteger count = n == null ? new AtomicInteger() : n;
            count.incrementAndGet();
            return count;
        });
        return got[0];
    }

    private void give(Object who) {
        open.computeIfPresent(who, (k, n) -> n.decrementAndGet() == 0 ? null : n);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        NodePublicKey peer = PeerKeys.PEER.get();
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        if (!take(peer, maxPerKey)) {
            return refused(call, "key " + peer.nodeId().shortId() + " has " + maxPerKey + " calls open, the most this "
                    + "service allows per key: wait for answers (and read them) before opening more");
        }
        if (address != null && !take(address, maxPerAddress)) {
            give(peer);
            return refused(call, "address " + address + " has " + maxPerAddress + " calls open over all its keys, "
                    + "the most this service allows per address: wait for answers (and read them) before opening more");
        }
        total.incrementAndGet();
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                total.decrementAndGet();
                give(peer);
                if (address != null) {
                    give(address);
                }
            }
        };
        // 0 waiting for the request, 1 received (the service has it), 2 ended for being late.
        AtomicInteger state = new AtomicInteger();
        ScheduledFuture<?> deadline = !call.getMethodDescriptor().getType().clientSendsOneMessage() ? null
                : timer.schedule(() -> {
                    if (state.compareAndSet(0, 2)) {
                        call.close(Status.DEADLINE_EXCEEDED.withDescription("the request did not arrive whole within "
                                + receiveMillis + " ms of the call's start: send it at once"), new Metadata());
                    }
                }, receiveMillis, TimeUnit.MILLISECONDS);
        ServerCall.Listener<Q> listener;
        try {
            listener = next.startCall(call, headers);
        } catch (RuntimeException e) {
            release.run();
            if (deadline != null) {
                deadline.cancel(false);
            }
            throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onMessage(Q message) {
                if (state.get() != 2) {
                    super.onMessage(message);
                }
            }

            @Override
            public void onHalfClose() {
                if (deadline == null) {
                    super.onHalfClose();
                } else if (state.compareAndSet(0, 1)) {
                    deadline.cancel(false);
                    super.onHalfClose();
                }
            }

            @Override
            public void onCancel() {
                end();
                super.onCancel();
            }

            @Override
            public void onComplete() {
                end();
                super.onComplete();
            }

            private void end() {
                if (deadline != null) {
                    deadline.cancel(false);
                }
                release.run();
            }
        };
    }

    private static <Q, A> ServerCall.Listener<Q> refused(ServerCall<Q, A> call, String why) {
        call.close(Status.RESOURCE_EXHAUSTED.withDescription(why), new Metadata());
        return new ServerCall.Listener<>() { };
    }
}
