package dev.depin.executor;

import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionTiming;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.provider.DeviceInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * A dishonest executor for tests: wraps a real one and alters each output after the
 * kernel ran and before the provider commits to it, so the provider signs a receipt over
 * the altered bytes (a signed lie that only a result check can catch). The altered copy
 * is overwritten by {@link ExecutionContext#wipe} and {@link ExecutionContext#close}
 * like the real buffers.
 */
public final class CorruptingExecutor implements DeviceExecutor {
    private final DeviceExecutor inner;
    private final BiConsumer<String, ByteBuffer> corrupt;

    /**
     * @param inner   the honest executor
     * @param corrupt called once per output with its name and a writable little-endian copy
     */
    public CorruptingExecutor(DeviceExecutor inner, BiConsumer<String, ByteBuffer> corrupt) {
        this.inner = inner;
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
    public String kind() {
        return inner.kind();
    }

    @Override
    public DeviceInfo device() {
        return inner.device();
    }

    @Override
    public Set<String> kernels() {
        return inner.kernels();
    }

    @Override
    public boolean runsUserPtx() {
        return inner.runsUserPtx();
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        return new Context(inner.open(kernel, params));
    }

    @Override
    public void close() {
        inner.close();
    }

    private final class Context implements ExecutionContext {
        private final ExecutionContext ctx;
        private final Map<String, ByteBuffer> altered = new HashMap<>();

        Context(ExecutionContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public ByteBuffer input(String name) {
            return ctx.input(name);
        }

        @Override
        public void run() {
            ctx.run();
        }

        @Override
        public ByteBuffer output(String name) {
            ByteBuffer a = altered.computeIfAbsent(name, n -> {
                ByteBuffer real = ctx.output(n);
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
        public ExecutionTiming timing() {
            return ctx.timing();
        }

        @Override
        public void cancel() {
            ctx.cancel();
        }

        @Override
        public boolean isCancelled() {
            return ctx.isCancelled();
        }

        @Override
        public List<Allocation> allocations() {
            return ctx.allocations();
        }

        @Override
        public List<WipeRecord> wipe(byte pattern) {
            overwrite(pattern);
            return ctx.wipe(pattern);
        }

        @Override
        public void close() {
            overwrite((byte) 0x5a);
            ctx.close();
        }

        private void overwrite(byte pattern) {
            for (ByteBuffer b : altered.values()) {
                for (int i = 0; i < b.capacity(); i++) {
                    b.put(i, pattern);
                }
            }
        }
    }
}
