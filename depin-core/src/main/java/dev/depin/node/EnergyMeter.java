package dev.depin.node;

import dev.depin.crypto.ReceiptEnergy;
import java.time.Clock;
import java.time.Instant;
import java.util.function.DoubleSupplier;

/**
 * The energy of each attempt, computed once: the number signed in its receipt is the number
 * added to {@code depin.node.energy}. Rules (docs/decisions.md, "Energy in the receipt"):
 * <ul>
 *   <li><b>measured</b>: the power readings integrated over the attempt's execution (from just
 *       before the kernel starts to just after it ends), each reading held until the next
 *       (a reading is taken at every start and end of an execution on the node), and at each
 *       moment <b>shared equally between the executions running then</b>: two attempts on one GPU
 *       for a second at 300 W are 150 J each, so the attempts' energies add up to the energy the
 *       device drew while busy, never more. An interval whose reading is unknown (NaN) makes the
 *       energy of every attempt running through it unknown (none is stated).</li>
 *   <li><b>estimated</b>: the stated board power times the attempt's device time, per attempt
 *       (concurrent attempts each count the full board power: an upper bound).</li>
 * </ul>
 */
final class EnergyMeter {
    private final DoubleSupplier watts;
    private final boolean measured;
    private final Clock clock;
    /** Guarded by this: the last event's time (epoch nanos), the reading held since, executions running. */
    private long last;
    private double held = Double.NaN;
    private int active;
    /** Guarded by this: joules per running execution since the node started (the sum of power / n dt). */
    private double perShare;
    /** Guarded by this: intervals with executions running whose power was unknown. */
    private long gaps;

    /**
     * @param watts    the power now, in watts; NaN when unknown
     * @param measured whether {@code watts} is read from the device
     * @param clock    the node's clock: measured energy integrates over its time
     */
    EnergyMeter(DoubleSupplier watts, boolean measured, Clock clock) {
        this.watts = watts;
        this.measured = measured;
        this.clock = clock;
    }

    /** An execution in progress: where the share integral stood when it began. */
    record Span(double perShare, long gaps) {
    }

    /**
     * An execution starts on the device.
     *
     * @return its span, to give to {@link #end}
     */
    Span begin() {
        if (!measured) {
            return null;
        }
        synchronized (this) {
            advance();
            active++;
            return new Span(perShare, gaps);
        }
    }

    /**
     * An execution ended (or failed: {@code span} must be ended either way).
     *
     * @param span        what {@link #begin} returned
     * @param deviceNanos its device time
     * @return its energy, or null when not known
     */
    ReceiptEnergy end(Span span, long deviceNanos) {
        double joules;
        if (measured) {
            synchronized (this) {
                advance();
                active--;
                joules = gaps == span.gaps() ? perShare - span.perShare() : Double.NaN;
            }
        } else {
            joules = watts.getAsDouble() * (deviceNanos / 1e9);
        }
        if (!Double.isFinite(joules) || joules < 0 || joules * 1e3 > ReceiptEnergy.MAX_MILLIJOULES) {
            return null;
        }
        return ReceiptEnergy.ofJoules(joules, measured ? ReceiptEnergy.Source.MEASURED
                : ReceiptEnergy.Source.ESTIMATED);
    }

    /** Adds the held reading over the time since the last event, shared by those running; reads anew. */
    private void advance() {
        Instant t = clock.instant();
        long now = t.getEpochSecond() * 1_000_000_000L + t.getNano();
        if (active > 0 && now > last) {
            if (Double.isFinite(held) && held >= 0) {
                perShare += held * ((now - last) / 1e9) / active;
            } else {
                gaps++;
            }
        }
        last = Math.max(last, now);
        held = watts.getAsDouble();
    }
}
