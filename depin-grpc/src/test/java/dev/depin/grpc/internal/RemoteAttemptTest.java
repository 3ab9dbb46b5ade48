package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.job.InputRef;
import dev.depin.job.Job;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.SmallRequests;
import io.grpc.stub.ClientCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What the buyer puts on an Execute stream: a small job whose inputs all travel inside Start
 * half-closes with it (the node then closes without waiting for a half-close after its Result)
 * and is cancelled by resetting the stream; a job with an input by root, or with chunked
 * inputs, keeps its request side open (the node may ask for inputs, chunks follow) and cancels
 * with a Cancel message carrying the reason.
 */
class RemoteAttemptTest {
    private static final long SEED = 0x5EA1C105EL;

    /** Records what the attempt does to its stream; always ready. */
    private static final class Recorder extends ClientCallStreamObserver<ExecuteRequest> {
        final List<ExecuteRequest> sent = new ArrayList<>();
        Runnable onReady;
        boolean halfClosed;
        String cancelled;

        @Override
        public void onNext(ExecuteRequest value) {
            if (halfClosed || cancelled != null) {
                throw new IllegalStateException("a message after the half-close or the cancel");
            }
            sent.add(value);
        }

        @Override
        public void onError(Throwable t) {
            throw new IllegalStateException("the buyer never fails its own request side", t);
        }

        @Override
        public void onCompleted() {
            halfClosed = true;
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setOnReadyHandler(Runnable onReadyHandler) {
            this.onReady = onReadyHandler;
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void request(int count) {
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }

        @Override
        public void cancel(String message, Throwable cause) {
            cancelled = message;
        }
    }

    private static ExecutionRequest request(Job job) {
        return new ExecutionRequest("00112233445566778899aabbccddeeff", 1, job.spec(), job.inputs(),
                new byte[ExecutionRequest.NONCE_BYTES]);
    }

    private static Recorder open(RemoteAttempt attempt) {
        Recorder r = new Recorder();
        attempt.beforeStart(r);
        r.onReady.run();
        return r;
    }

    @Test
    void inlineJob_halfClosesWithStart_andCancelResetsTheStream() {
        System.out.println("RemoteAttemptTest seed " + SEED);
        NodeId provider = NodeKeyPair.generate().nodeId();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED), 257, 2);
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { });
        Recorder r = open(attempt);
        assertEquals(1, r.sent.size(), "one message: " + r.sent);
        assertEquals(2, r.sent.get(0).getStart().getInputsCount(), "both inputs inside Start");
        assertTrue(r.sent.get(0).getStart().getCompact());
        assertTrue(r.halfClosed, "half-closed with Start");
        attempt.dispatch().cancel("the buyer gave up");
        assertEquals("cancelled: the buyer gave up", r.cancelled);
        assertEquals(1, r.sent.size(), "no Cancel message after the half-close");
        attempt.dispatch().cancel("again");
        assertEquals("cancelled: the buyer gave up", r.cancelled, "a second cancel changes nothing");
    }

    @Test
    void inputByRoot_keepsTheRequestSideOpen_andCancelIsAMessage() {
        NodeId provider = NodeKeyPair.generate().nodeId();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED + 1), 1000, 2);
        InputRef x = job.spec().inputs().get(0);
        HeldInputs held = new HeldInputs();
        held.remember(provider, x);
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { }, held);
        Recorder r = open(attempt);
        assertEquals(1, r.sent.size(), "one message: " + r.sent);
        assertEquals(List.of(x.name()), r.sent.get(0).getStart().getByRootList());
        assertFalse(r.halfClosed, "the node may still answer Need");
        attempt.dispatch().cancel("the buyer gave up");
        assertNull(r.cancelled, "not reset");
        assertEquals(2, r.sent.size());
        assertEquals("the buyer gave up", r.sent.get(1).getCancel().getReason());
    }

    @Test
    void chunkedInputs_keepTheRequestSideOpen() {
        // 2 × 40,000 floats = 320,000 bytes: above the 256 KiB that fit inside Start.
        NodeId provider = NodeKeyPair.generate().nodeId();
        Job job = SmallRequests.saxpy(new SplittableRandom(SEED + 2), 40_000, 2);
        RemoteAttempt attempt = new RemoteAttempt(provider, request(job), p -> { });
        Recorder r = open(attempt);
        assertEquals(0, r.sent.get(0).getStart().getInputsCount());
        assertTrue(r.sent.size() > 1, "chunks follow Start");
        assertTrue(r.sent.stream().skip(1).allMatch(ExecuteRequest::hasInput));
        assertFalse(r.halfClosed);
    }
}
