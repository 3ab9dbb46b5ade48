package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Exact results of {@link Earnings} on cases computed by hand. */
class EarningsTest {

    private static BigDecimal d(String s) {
        return new BigDecimal(s);
    }

    @Test
    void compute_rtx4090FullDay() {
        // 450 W x 24 h = 10.8 kWh x $0.20 = $2.16/day; x 30 = $64.80/month.
        // $1,800 over 36 months: 1800 / 1080 days = $1.666666.. -> $1.666667/day; 1800 / 36 = $50/month.
        // gross $5/day, $150/month. net/day = 5 - 2.16 - 1.666667 = $1.173333; net/month = 150 - 64.8 - 50 = $35.20.
        Earnings.Card card = new Earnings.Card(450, d("100"), d("0.20"), d("1800"), 36);
        Earnings.Result r = Earnings.compute(card, d("5"));
        assertEquals(5_000_000, r.grossDay());
        assertEquals(2_160_000, r.energyDay());
        assertEquals(1_666_667, r.depreciationDay());
        assertEquals(1_173_333, r.netDay());
        assertEquals(150_000_000, r.grossMonth());
        assertEquals(64_800_000, r.energyMonth());
        assertEquals(50_000_000, r.depreciationMonth());
        assertEquals(35_200_000, r.netMonth());
    }

    @Test
    void breakEvenPerHour_rtx4090FullDay() {
        // (2.16 + 1800/1080) / 24 = (2.16 + 1.6666..) / 24 = 3.82666.. / 24 = 0.1594444.. -> $0.159444 per GPU-hour.
        Earnings.Card card = new Earnings.Card(450, d("100"), d("0.20"), d("1800"), 36);
        assertEquals(OptionalLong.of(159_444), Earnings.breakEvenPerHour(card));
    }

    @Test
    void compute_hourlyPriceHalfUtilization() {
        // 50% of 24 h = 12 h. gross = $0.30 x 12 = $3.60/day, $108/month.
        // energy = 350 W x 12 h = 4.2 kWh x $0.10 = $0.42/day, $12.60/month.
        // depreciation = $1,080 / (36 x 30) = $1.00/day, 1080 / 36 = $30/month.
        // net = 3.60 - 0.42 - 1.00 = $2.18/day; 108 - 12.6 - 30 = $65.40/month.
        // break-even = (0.42 + 1.00) / 12 = 0.1183333.. -> $0.118333.
        Earnings.Card card = new Earnings.Card(350, d("50"), d("0.10"), d("1080"), 36);
        BigDecimal gross = Earnings.grossPerDay(card, d("0.30"));
        assertEquals(0, d("3.60").compareTo(gross));
        Earnings.Result r = Earnings.compute(card, gross);
        assertEquals(3_600_000, r.grossDay());
        assertEquals(420_000, r.energyDay());
        assertEquals(1_000_000, r.depreciationDay());
        assertEquals(2_180_000, r.netDay());
        assertEquals(108_000_000, r.grossMonth());
        assertEquals(12_600_000, r.energyMonth());
        assertEquals(30_000_000, r.depreciationMonth());
        assertEquals(65_400_000, r.netMonth());
        assertEquals(OptionalLong.of(118_333), Earnings.breakEvenPerHour(card));
    }

    @Test
    void breakEven_netIsZeroAtThatPrice() {
        // 700 W, 100%, $0.125/kWh, $36,000 over 40 months (1200 days):
        // energy = 16.8 kWh x 0.125 = $2.10/day; depreciation = 36000 / 1200 = $30/day;
        // break-even = 32.10 / 24 = $1.3375 exactly, and gross at that price = $32.10: net 0.
        Earnings.Card card = new Earnings.Card(700, d("100"), d("0.125"), d("36000"), 40);
        assertEquals(OptionalLong.of(1_337_500), Earnings.breakEvenPerHour(card));
        Earnings.Result r = Earnings.compute(card, Earnings.grossPerDay(card, d("1.3375")));
        assertEquals(0, r.netDay());
        assertEquals(0, r.netMonth());
    }

    @Test
    void compute_zeroUtilization() {
        // No hours: no revenue at any hourly price, no energy; depreciation is still due:
        // 1080 / 1080 = $1.00/day, $30/month. No break-even price exists.
        Earnings.Card card = new Earnings.Card(450, d("0"), d("0.30"), d("1080"), 36);
        Earnings.Result r = Earnings.compute(card, Earnings.grossPerDay(card, d("2.00")));
        assertEquals(0, r.grossDay());
        assertEquals(0, r.energyDay());
        assertEquals(-1_000_000, r.netDay());
        assertEquals(-30_000_000, r.netMonth());
        assertTrue(Earnings.breakEvenPerHour(card).isEmpty());
    }

    @Test
    void compute_roundsHalfUpOnce() {
        // 1 W x 24 h = 0.024 kWh x $0.0000625 = $0.0000015 -> 1.5 micro-USD -> 2 (half up), not 1 or 0.
        Earnings.Card card = new Earnings.Card(1, d("100"), d("0.0000625"), d("0"), 1);
        assertEquals(2, Earnings.compute(card, d("0")).energyDay());
    }

    @Test
    void card_badInputs() {
        assertThrows(IllegalArgumentException.class, () -> new Earnings.Card(0, d("50"), d("0.1"), d("1"), 36));
        assertThrows(IllegalArgumentException.class, () -> new Earnings.Card(450, d("100.1"), d("0.1"), d("1"), 36));
        assertThrows(IllegalArgumentException.class, () -> new Earnings.Card(450, d("-1"), d("0.1"), d("1"), 36));
        assertThrows(IllegalArgumentException.class, () -> new Earnings.Card(450, d("50"), d("-0.1"), d("1"), 36));
        assertThrows(IllegalArgumentException.class, () -> new Earnings.Card(450, d("50"), d("0.1"), d("-1"), 36));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Earnings.Card(450, d("50"), d("0.1"), d("1"), 0));
        assertTrue(e.getMessage().contains("life of 0 months"), e.getMessage());
        Earnings.Card card = new Earnings.Card(450, d("50"), d("0.1"), d("1"), 36);
        assertThrows(IllegalArgumentException.class, () -> Earnings.compute(card, d("-3")));
        assertThrows(IllegalArgumentException.class, () -> Earnings.grossPerDay(card, d("-0.01")));
    }

    @Test
    void decimal_rejectsNonPlainNumbers() {
        for (String bad : new String[] {"", "abc", "1e3", "0.1.2", "NaN", "1,5", "$3", "1234567890123"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Earnings.decimal(bad, "--kwh-price"));
            assertTrue(e.getMessage().startsWith("--kwh-price '"), e.getMessage());
        }
        assertEquals(0, d("0.5").compareTo(Earnings.decimal(".5", "x")));
    }

    @Test
    void usd_formatsWithoutRoundingAgain() {
        assertEquals("$1.44", Earnings.usd(1_440_000));
        assertEquals("$0.043333", Earnings.usd(43_333));
        assertEquals("-$1.00", Earnings.usd(-1_000_000));
        assertEquals("$0.00", Earnings.usd(0));
    }
}
