package dev.depin.executor;

import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ForwardingExecutionContext;
import dev.depin.executor.spi.ForwardingExecutor;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * A dishonest executor for tests: wraps a real one and alters each output after the
 * kernel ran and before the provider commits to it, so the provider signs a receipt over
 * the altered bytes (a signed lie that only a result check can catch). The altered copy
 * is overwritten by {@link ExecutionContext#wipe} and {@link ExecutionContext#close}
 * like the real buffers.
 */
public final class CorruptingExecutor extends ForwardingExecutor {
    private final BiConsumer<String, ByteBuffer> corrupt;

    /**
     * @param inner   the honest executor
     * @param corrupt called once per output with its name and a writable little-endian copy
     */
    public CorruptingExecutor(DeviceExecutor inner, BiConsumer<String, ByteBuffer> corrupt) {
        super(inner);
        this.corrupt = corrupt;
    }

    /** @return a corruption that adds 1.0 to the middle float of every output */
    public static BiConsumer<String, ByteBuffer> addOneToMiddleElement() {
        return (name, data) -> {
            int at = (data.remaining() / 4 / 2) * 4;
            data.putFloat(at, data.getFloat(at) + 1.0f);
        };
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        return new Context(delegate().open(kernel, params));
    }

    private final class Context extends ForwardingExecutionContext {
        private final Map<String, ByteBuffer> altered = new HashMap<>();

        Context(ExecutionContext ctx) {
            super(ctx);
        }

        @Override
        public ByteBuffer output(String name) {
            ByteBuffer a = altered.computeIfAbsent(name, n -> {
                ByteBuffer real = super.output(n);
                ByteBuffer copy = ByteBuffer.allocate(real.remaining()).order(ByteOrder.LITTLE_ENDIAN);
                copy.put(real.duplicate()).flip();
                corrupt.accept(n, copy);
                return copy;
            });
            return a.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public Optional<byte[]> outputRoot(String name) {
            return Optional.empty(); // the provider must hash the altered bytes
        }

        @Override
        public List<WipeRecord> wipe(byte pattern) {
            overwrite(pattern);
            return super.wipe(pattern);
        }

        @Override
        public void close() {
            overwrite((byte) 0x5a);
            super.close();
        }

        private void overwrite(byte pattern) {
            for (ByteBuffer b : altered.values()) {
                Arrays.fill(b.array(), b.arrayOffset(), b.arrayOffset() + b.capacity(), pattern);
            }
        }
    }
}
