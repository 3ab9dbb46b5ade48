package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The buyer's own observers of an attempt's outputs as they arrive: the
 * {@link OutputAssembler} that {@link ExecutionRequest#newAssembler()} builds for the attempt
 * hands each received chunk of a tapped output to its tap, after hashing it, while the bytes
 * are still in cache (a prepared Freivalds check sums C this way). Networks need do nothing:
 * the assembler finds the taps by the attempt's challenge nonce, which every copy of the
 * request keeps. A tap never changes what is received, hashed or verified; one that throws is
 * dropped for the rest of the attempt, and the {@link ReceivedOutput} then says it was not
 * observed completely ({@link ReceivedOutput#observedBy}), so the caller falls back to
 * checking the bytes themselves.
 *
 * <p>Buyer-side only: nothing here is sent anywhere. Taps are per attempt and removed when the
 * assembler takes them or by {@link #detach}.
 */
public final class ArrivalTaps {
    private static final Map<String, Map<String, Consumer<ByteBuffer>>> TAPS = new ConcurrentHashMap<>();

    private ArrivalTaps() {
    }

    private static String key(ExecutionRequest request) {
        return request.jobId() + "#" + request.attempt() + "/" + Hex.encode(request.nonce());
    }

    /**
     * Taps one output of the attempt: its next assembler hands {@code tap} each received chunk of
     * {@code output} (a read-only view, in order), after hashing it.
     *
     * @param request the attempt; not null
     * @param output  the output's name; not null
     * @param tap     called on the transport's thread, one chunk at a time; not null
     * @throws InvalidArgumentException on nulls
     */
    public static void attach(ExecutionRequest request, String output, Consumer<ByteBuffer> tap) {
        InvalidArgumentException.requireNonNull(request, "request");
        InvalidArgumentException.requireNonNull(output, "output name");
        InvalidArgumentException.requireNonNull(tap, "tap");
        TAPS.computeIfAbsent(key(request), k -> new ConcurrentHashMap<>()).put(output, tap);
    }

    /**
     * Removes the attempt's taps that no assembler took (an attempt that never reached one).
     *
     * @param request the attempt; not null
     */
    public static void detach(ExecutionRequest request) {
        InvalidArgumentException.requireNonNull(request, "request");
        TAPS.remove(key(request));
    }

    /** @return the attempt's taps, removed from here (the assembler owns them now), or an empty map */
    static Map<String, Consumer<ByteBuffer>> take(ExecutionRequest request) {
        Map<String, Consumer<ByteBuffer>> t = TAPS.remove(key(request));
        return t == null ? Map.of() : t;
    }

    /** @return attempts with taps not yet taken (for tests: every attempt's taps are taken or detached) */
    static int pending() {
        return TAPS.size();
    }
}
