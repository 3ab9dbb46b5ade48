package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Merkle;
import dev.depin.network.NetworkException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Assembles a provider's outputs on the buyer's side as chunks arrive: each output goes
 * into one buffer of exactly its declared size (no second copy), and its Merkle root is
 * computed as the bytes come in, so that verification never hashes them again. Anything
 * beyond what the spec declares is refused at once, so a hostile provider cannot make the
 * buyer allocate or hold more than the job's outputs.
 *
 * <p>One assembler per attempt; not thread-safe (a transport writes from one thread at a
 * time per attempt).
 *
 * <pre>{@code
 * OutputAssembler asm = OutputAssembler.of(Map.of("c", 4L * m * n), JobSpec.MERKLE_CHUNK_BYTES);
 * asm.write("c", chunk);               // as each chunk arrives
 * Map<String, ReceivedOutput> outs = asm.finish();
 * }</pre>
 */
public final class OutputAssembler implements OutputSink {
    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private final int chunkSize;
    private boolean finished;

    private static final class Slot {
        final long size;
        final Merkle.Builder merkle;
        ByteBuffer buffer;
        /** The buyer's observer of this output's chunks ({@link ArrivalTaps}), null without one or once it threw. */
        Consumer<ByteBuffer> tap;
        /** Whether the tap saw every byte (it never threw). */
        boolean tapIntact = true;

        Slot(long size, int chunkSize) {
            this.size = size;
            this.merkle = Merkle.builder(chunkSize);
        }
    }

    private OutputAssembler(Map<String, Long> expected, int chunkSize,
                            Map<String, Consumer<ByteBuffer>> taps) {
        this.chunkSize = chunkSize;
        expected.forEach((name, size) -> {
            InvalidArgumentException.requireNonNull(name, "output name");
            if (size == null || size < 0 || size > Integer.MAX_VALUE - 8) {
                throw new InvalidArgumentException("output '" + name + "' size " + size
                        + " must be 0 to " + (Integer.MAX_VALUE - 8) + " bytes");
            }
            Slot slot = new Slot(size, chunkSize);
            slot.tap = taps.get(name);
            slots.put(name, slot);
        });
    }

    /**
     * @param expected  every output's name and exact size, in order
     * @param chunkSize the Merkle chunk (leaf) size ({@link dev.depin.job.JobSpec#MERKLE_CHUNK_BYTES} for jobs)
     * @return an assembler expecting exactly those outputs
     * @throws InvalidArgumentException on a null map, name or size out of range
     */
    public static OutputAssembler of(Map<String, Long> expected, int chunkSize) {
        InvalidArgumentException.requireNonNull(expected, "expected outputs");
        return new OutputAssembler(expected, Merkle.checkChunkSize(chunkSize), Map.of());
    }

    /** An assembler that feeds {@code taps}, which it takes (none if another assembler took them first). */
    static OutputAssembler of(Map<String, Long> expected, int chunkSize, ArrivalTaps taps) {
        InvalidArgumentException.requireNonNull(expected, "expected outputs");
        return new OutputAssembler(expected, Merkle.checkChunkSize(chunkSize), taps.take());
    }

    @Override
    public void write(String name, ByteBuffer chunk) {
        InvalidArgumentException.requireNonNull(chunk, "output chunk");
        if (finished) {
            throw new NetworkException("output '" + name + "' arrived after the response was complete: "
                    + "the provider's stream is malformed");
        }
        Slot s = name == null ? null : slots.get(name);
        if (s == null) {
            throw new NetworkException("provider sent bytes for output '" + name + "', which the spec does not "
                    + "declare (it declares " + slots.keySet() + ")");
        }
        if (s.buffer == null) {
            s.buffer = ByteBuffer.allocate((int) s.size).order(ByteOrder.LITTLE_ENDIAN);
        }
        int n = chunk.remaining();
        if (n > s.buffer.remaining()) {
            throw new NetworkException("provider sent more than the " + s.size + " bytes output '" + name
                    + "' declares: refused");
        }
        ByteBuffer src = chunk.duplicate();
        int at = s.buffer.position();
        s.buffer.put(src);
        s.merkle.update(s.buffer.duplicate().position(at).limit(at + n));
        if (s.tap != null) {
            try {
                // Right after hashing: the chunk is still in cache.
                s.tap.accept(s.buffer.asReadOnlyBuffer().position(at).limit(at + n));
            } catch (RuntimeException e) {
                // The buyer's own observer failed: it sees nothing more, and the output says so.
                s.tap = null;
                s.tapIntact = false;
            }
        }
    }

    /**
     * Ends the response.
     *
     * @return every output with the root computed on arrival, in declaration order
     * @throws NetworkException if an output is incomplete
     */
    public Map<String, ReceivedOutput> finish() {
        if (finished) {
            throw new NetworkException("this response was already assembled: use one assembler per attempt");
        }
        Map<String, ReceivedOutput> out = new LinkedHashMap<>();
        for (Map.Entry<String, Slot> e : slots.entrySet()) {
            Slot s = e.getValue();
            long got = s.buffer == null ? 0 : s.buffer.position();
            if (got != s.size) {
                throw new NetworkException("output '" + e.getKey() + "' stopped at " + got + " of its " + s.size
                        + " bytes: the provider's response is incomplete");
            }
            ByteBuffer data = s.buffer == null ? ByteBuffer.allocate(0) : s.buffer.flip();
            out.put(e.getKey(), new ReceivedOutput(data, s.merkle.root(), s.tapIntact ? s.tap : null));
        }
        finished = true;
        return Collections.unmodifiableMap(out);
    }

    /** @return the Merkle chunk size */
    public int chunkSize() {
        return chunkSize;
    }
}
