package dev.depin.network.spi;

import java.nio.ByteBuffer;

/**
 * Where a provider's output bytes go, chunk by chunk, in order per output: the buyer's
 * {@link OutputAssembler} in process, or a stream to the buyer over a network.
 */
@FunctionalInterface
public interface OutputSink {
    /**
     * Appends the remaining bytes of {@code chunk} to output {@code name}.
     *
     * @param name  a declared output
     * @param chunk the next bytes; read, not kept
     * @throws dev.depin.network.NetworkException if the output is unknown, already
     *                                            complete, or would grow past its declared size
     */
    void write(String name, ByteBuffer chunk);
}
