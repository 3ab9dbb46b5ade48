package dev.depin.examples.cli;

import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ForwardingExecutionContext;
import dev.depin.executor.spi.ForwardingExecutor;
import dev.depin.executor.spi.HostArena;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The demo's dishonest provider, built only from the public executor SPI: it wraps a real
 * executor and, for its first SGEMM job and then a seeded fraction of the others, hands the
 * node a copy of C with one element changed by a large amount (the first always, so that a
 * demo shows the liar caught whatever the schedule and however few SGEMMs it is given). The node then commits to and signs the wrong bytes,
 * so the receipt is self-consistent and only a recomputation-based check (Freivalds) can
 * catch it. The corrupted copy lives in the wrapper's own {@link HostArena}, so it is
 * wiped and listed in the wipe attestation like every other buffer.
 */
final class DishonestExecutor extends ForwardingExecutor {
    private final double fraction;
    private final SplittableRandom rnd;
    /** Guarded by {@link #rnd}: whether an SGEMM has been seen yet. */
    private boolean sawSgemm;

    DishonestExecutor(DeviceExecutor honest, double fraction, long seed) {
        super(honest);
        this.fraction = fraction;
        this.rnd = new SplittableRandom(seed ^ 0xbadL);
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        boolean lie;
        synchronized (rnd) {
            boolean sgemm = "sgemm".equals(kernel.id());
            lie = sgemm && (!sawSgemm || rnd.nextDouble() < fraction);
            sawSgemm |= sgemm;
        }
        ExecutionContext inner = super.open(kernel, params);
        return lie ? new Lying(inner) : inner;
    }

    /** Delegates everything, but returns a corrupted copy of C. */
    private final class Lying extends ForwardingExecutionContext {
        private final HostArena arena = new HostArena();
        private ByteBuffer corrupted;

        Lying(ExecutionContext inner) {
            super(inner);
        }

        @Override
        public void run() {
            super.run();
            ByteBuffer c = super.output("c");
            corrupted = arena.buffer("c", c.remaining(), false);
            corrupted.put(c.duplicate()).flip();
            int i;
            synchronized (rnd) {
                i = rnd.nextInt(corrupted.remaining() / Float.BYTES) * Float.BYTES;
            }
            corrupted.order(ByteOrder.LITTLE_ENDIAN).putFloat(i, corrupted.getFloat(i) + 1.0f);
        }

        @Override
        public ByteBuffer output(String name) {
            return "c".equals(name) && corrupted != null ? corrupted.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN)
                    : super.output(name);
        }

        /**
         * Empty for C: a device executor would commit to the honest bytes on the device, so
         * the node must hash the corrupted copy it is handed, as it does for any executor
         * that offers no root.
         */
        @Override
        public Optional<byte[]> outputRoot(String name) {
            return "c".equals(name) ? Optional.empty() : super.outputRoot(name);
        }

        @Override
        public List<Allocation> allocations() {
            List<Allocation> all = new ArrayList<>(super.allocations());
            all.addAll(arena.allocations());
            return all;
        }

        @Override
        public List<WipeRecord> wipe(byte pattern) {
            List<WipeRecord> all = new ArrayList<>(super.wipe(pattern));
            all.addAll(arena.wipe(pattern));
            return all;
        }

        @Override
        public void close() {
            try {
                super.close();
            } finally {
                arena.close();
            }
        }
    }
}
