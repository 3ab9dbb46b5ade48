package dev.depin.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.depin.crypto.ReceiptEnergy;
import dev.depin.settlement.SettlementContract.ManualClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * How an attempt's energy is attributed: readings held between events and shared equally by the
 * executions running, so that overlapping attempts add up to what the device drew; an unknown
 * reading makes the energy of the attempts through it unknown; an estimate is watts times device time.
 */
class EnergyMeterTest {
    private final ManualClock clock = new ManualClock(Instant.parse("2026-12-06T02:00:00Z"));
    private double watts = 300;

    private void after(long millis) {
        clock.advance(Duration.ofMillis(millis));
    }

    @Test
    void measured_overlappingAttempts_shareThePowerAndAddUpToTheDevice() {
        EnergyMeter m = new EnergyMeter(() -> watts, true, clock);
        EnergyMeter.Span a = m.begin();                 // t = 0: A alone at 300 W
        after(1_000);
        EnergyMeter.Span b = m.begin();                 // t = 1 s: A 300 J; then A and B share 300 W
        after(2_000);
        watts = 500;                                    // read at the next event, held from then on
        ReceiptEnergy ea = m.end(a, 123);               // t = 3 s: A 300 + 300 = 600 J
        after(1_000);
        ReceiptEnergy eb = m.end(b, 456);               // t = 4 s: B 300 + 500 = 800 J
        assertEquals(new ReceiptEnergy(600_000, ReceiptEnergy.Source.MEASURED), ea);
        assertEquals(new ReceiptEnergy(800_000, ReceiptEnergy.Source.MEASURED), eb);
        // 300 W for 3 s and 500 W for 1 s: the device drew 1,400 J, and no joule is counted twice.
        assertEquals(1_400_000, ea.millijoules() + eb.millijoules());
        after(7_000);                                   // idle: nobody is charged
        EnergyMeter.Span c = m.begin();
        after(333);
        assertEquals(new ReceiptEnergy(166_500, ReceiptEnergy.Source.MEASURED), m.end(c, 1));
    }

    @Test
    void measured_anUnknownReading_leavesTheAttemptsThroughItWithoutEnergy() {
        EnergyMeter m = new EnergyMeter(() -> watts, true, clock);
        EnergyMeter.Span a = m.begin();
        after(500);
        watts = Double.NaN;
        EnergyMeter.Span b = m.begin();                 // A has 150 J; the reading is now unknown
        after(500);
        watts = 200;
        EnergyMeter.Span c = m.begin();                 // an unknown half second for A and B
        after(1_500);
        assertNull(m.end(a, 1));
        assertNull(m.end(b, 1));
        // C began after the gap: 200 W shared by three for 1.5 s, then by one.
        after(300);
        assertEquals(new ReceiptEnergy(160_000, ReceiptEnergy.Source.MEASURED), m.end(c, 1));
    }

    @Test
    void estimated_isTheBoardPowerTimesDeviceTime() {
        EnergyMeter m = new EnergyMeter(() -> watts, false, clock);
        EnergyMeter.Span a = m.begin();
        after(60_000);                                  // wall time does not count, device time does
        assertEquals(new ReceiptEnergy(370_370, ReceiptEnergy.Source.ESTIMATED), m.end(a, 1_234_567_890L));
        watts = -1;
        assertNull(m.end(m.begin(), 5));
        watts = Double.POSITIVE_INFINITY;
        assertNull(m.end(m.begin(), 5));
    }
}
