package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place where named byte buffers are frozen and handed out, and where float32
 * little-endian bytes are converted to and from {@code float[]}.
 */
public final class Buffers {
    private Buffers() {
    }

    /**
     * Read-only little-endian views of each buffer's remaining bytes, in the map's order.
     * The views share content with the originals (no copy): callers must not modify those.
     *
     * @param buffers name to buffer; neither may be null
     * @param what    what the map holds, for messages ("inputs", "outputs")
     * @return an unmodifiable map of read-only views
     */
    public static Map<String, ByteBuffer> freeze(Map<String, ByteBuffer> buffers, String what) {
        InvalidArgumentException.requireNonNull(buffers, what);
        Map<String, ByteBuffer> copy = new LinkedHashMap<>();
        buffers.forEach((k, v) -> copy.put(InvalidArgumentException.requireNonNull(k, "a name in " + what),
                InvalidArgumentException.requireNonNull(v, what + " '" + k + "'").asReadOnlyBuffer()
                        .order(ByteOrder.LITTLE_ENDIAN)));
        return Collections.unmodifiableMap(copy);
    }

    /**
     * Fresh views (own position and limit) of frozen buffers, so that a caller reading one
     * cannot move another caller's position.
     *
     * @param frozen a map returned by {@link #freeze}
     * @return an unmodifiable map of fresh read-only views
     */
    public static Map<String, ByteBuffer> views(Map<String, ByteBuffer> frozen) {
        Map<String, ByteBuffer> views = new LinkedHashMap<>();
        frozen.forEach((k, v) -> views.put(k, v.duplicate().order(ByteOrder.LITTLE_ENDIAN)));
        return Collections.unmodifiableMap(views);
    }

    /**
     * Copies a buffer's bytes out as floats.
     *
     * @param b the bytes, read from position to limit whatever its byte order; its position
     *          is left unchanged; not null. A trailing partial float (fewer than 4 bytes) is
     *          ignored
     * @return the remaining bytes of {@code b} as float32 little-endian values (a copy)
     */
    public static float[] floats(ByteBuffer b) {
        float[] f = new float[b.remaining() / Float.BYTES];
        b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    /**
     * Copies a range of a buffer's floats out.
     *
     * @param b     the bytes, read as little-endian float32 from its position, whatever its
     *              byte order; its position is left unchanged; not null
     * @param from  index of the first float, counted in floats from {@code b}'s position, &ge; 0
     * @param count how many floats, &ge; 0; {@code from + count} must not pass the last whole
     *              float of {@code b}
     * @return {@code count} floats of {@code b} from float index {@code from} (a copy)
     * @throws IndexOutOfBoundsException if the range does not lie within {@code b}
     */
    public static float[] floats(ByteBuffer b, int from, int count) {
        float[] f = new float[count];
        b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(from, f);
        return f;
    }

    /**
     * Views a buffer's bytes as floats without copying.
     *
     * @param b the bytes, from position to limit, whatever its byte order; its position is
     *          left unchanged; not null. The view sees later changes to them
     * @return a float32 little-endian view of the remaining bytes of {@code b} (no copy)
     */
    public static java.nio.FloatBuffer floatView(ByteBuffer b) {
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    /**
     * Copies floats into a new buffer.
     *
     * @param f the values; not null. Its length times 4 must fit an {@code int}
     * @return a new little-endian heap buffer holding {@code f}, position 0, limit
     *         {@code 4 * f.length}
     * @throws ArithmeticException if {@code f} is too long for one buffer
     */
    public static ByteBuffer littleEndian(float[] f) {
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(f.length, Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b;
    }
}
