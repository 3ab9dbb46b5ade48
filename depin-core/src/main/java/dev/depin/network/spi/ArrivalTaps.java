package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The buyer's own observers of one attempt's outputs as they arrive, carried by the attempt's
 * {@link ExecutionRequest} ({@link ExecutionRequest#taps()}): the {@link OutputAssembler} that
 * {@link ExecutionRequest#newAssembler()} builds for the attempt hands each received chunk of a
 * tapped output to its tap, after hashing it, while the bytes are still in cache (a prepared
 * Freivalds check sums C this way).
 *
 * <p>Networks need do nothing but build the attempt's assembler with
 * {@link ExecutionRequest#newAssembler()} from the request they were given (or a copy of it made
 * with its {@code with...} methods, which keep the taps). A network that assembles outputs some
 * other way, or rebuilds the request, simply leaves the taps untaken: the outputs then say they
 * were not observed ({@link ReceivedOutput#observedBy}) and the buyer checks the bytes
 * themselves, with a fresh seed. A tap never changes what is received, hashed or verified; one
 * that throws is dropped for the rest of the attempt, and its output says it was not observed
 * completely.
 *
 * <p>Buyer-side only: nothing here is sent anywhere, and nothing is shared between attempts or
 * clients. The taps belong to the one request object that carries them (and its copies): the
 * first assembler built from it takes them, so a second assembler for the same attempt (a
 * transport that resends) feeds nothing twice; the buyer {@link #detach detaches} them when the
 * attempt is over, so an assembler built later takes none. Thread-safe.
 *
 * <pre>{@code
 * ArrivalTaps taps = ArrivalTaps.of(Map.of("c", chunk -> sum(chunk)));
 * Dispatch d = network.dispatch(offer, request.withTaps(taps), progress -> { });
 * // ... once the attempt is over, whatever became of it:
 * taps.detach();
 * }</pre>
 */
public final class ArrivalTaps {
    private static final ArrivalTaps NONE = new ArrivalTaps(null);

    /**
     * Output name → tap until an assembler takes them or the buyer detaches them, then null;
     * null in {@link #none}.
     */
    private final AtomicReference<Map<String, Consumer<ByteBuffer>>> taps;

    private ArrivalTaps(Map<String, Consumer<ByteBuffer>> taps) {
        this.taps = taps == null ? null : new AtomicReference<>(taps);
    }

    /** @return no taps: what a request carries unless the buyer taps it (immutable, shared) */
    public static ArrivalTaps none() {
        return NONE;
    }

    /**
     * Taps for one attempt: its first assembler hands each tap every received chunk of its output
     * (a read-only view, in order, on the transport's thread), after hashing it.
     *
     * @param taps output name → tap; not null, no null names or taps (copied)
     * @return taps to carry with the attempt's request ({@link ExecutionRequest#withTaps}); fresh
     *         ones each call, even for equal maps
     * @throws InvalidArgumentException on nulls
     */
    public static ArrivalTaps of(Map<String, Consumer<ByteBuffer>> taps) {
        InvalidArgumentException.requireNonNull(taps, "taps");
        Map<String, Consumer<ByteBuffer>> copy = new LinkedHashMap<>();
        taps.forEach((output, tap) -> {
            InvalidArgumentException.requireNonNull(output, "output name");
            InvalidArgumentException.requireNonNull(tap, "tap of output '" + output + "'");
            copy.put(output, tap);
        });
        return new ArrivalTaps(Collections.unmodifiableMap(copy));
    }

    /** @return the taps, for the one assembler that takes them; an empty map once taken or detached */
    Map<String, Consumer<ByteBuffer>> take() {
        Map<String, Consumer<ByteBuffer>> t = taps == null ? null : taps.getAndSet(null);
        return t == null ? Map.of() : t;
    }

    /**
     * Lets go of the taps that no assembler took (an attempt that never reached one, or is over):
     * an assembler built from the request afterwards takes none. Idempotent; taps an assembler
     * already took stay with it until it finishes.
     */
    public void detach() {
        if (taps != null) {
            taps.set(null);
        }
    }

    /** @return whether taps wait for an assembler: not {@link #none}, not yet taken, not detached */
    public boolean pending() {
        return taps != null && taps.get() != null;
    }

    /** Output names and state only: a tap may hold secrets (a prepared check's seed). */
    @Override
    public String toString() {
        Map<String, Consumer<ByteBuffer>> t = taps == null ? null : taps.get();
        return taps == null ? "ArrivalTaps[none]" : t == null ? "ArrivalTaps[taken or detached]"
                : "ArrivalTaps" + t.keySet();
    }
}
