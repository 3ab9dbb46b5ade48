package dev.depin.money;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MicroUsdTest {

    /** Fixed seed: every run sees the same amounts. Printed so a failure can be replayed. */
    private static final long SEED = 0x00D0_11A5_2024L;

    @BeforeAll
    static void printSeed() {
        System.out.println("MicroUsdTest seed=" + SEED);
    }

    // ----------------------------------------------------------------------- ofUsd

    @Test
    void ofUsd_quarter_is250000Micros() {
        assertEquals(250_000L, MicroUsd.ofUsd("0.25").micros());
    }

    @Test
    void ofUsd_wholeDollar_isOneMillionMicros() {
        assertEquals(1_000_000L, MicroUsd.ofUsd("1").micros());
        assertEquals(1_000_000L, MicroUsd.ofUsd("1.000000").micros());
    }

    @Test
    void ofUsd_oneMicro_isOne() {
        assertEquals(1L, MicroUsd.ofUsd("0.000001").micros());
    }

    @Test
    void ofUsd_zero_isZero() {
        assertEquals(MicroUsd.ZERO, MicroUsd.ofUsd("0"));
        assertEquals(MicroUsd.ZERO, MicroUsd.ofUsd("0.000000"));
    }

    @Test
    void ofUsd_trailingZerosPastSixDecimals_valueIsExact() {
        // 0.0000010 is exactly one micro-USD: the extra digit is a zero, nothing is rounded.
        assertEquals(1L, MicroUsd.ofUsd("0.0000010").micros());
    }

    @Test
    void ofUsd_largestAmount_isLongMaxMicros() {
        assertEquals(Long.MAX_VALUE, MicroUsd.ofUsd("9223372036854.775807").micros());
    }

    @Test
    void ofUsd_negative_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, () -> MicroUsd.ofUsd("-1"));
        assertTrue(e.getMessage().contains("zero or positive"), e.getMessage());
    }

    @Test
    void ofUsd_negativeMicro_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> MicroUsd.ofUsd("-0.000001"));
        assertTrue(e.getMessage().contains("zero or positive"), e.getMessage());
    }

    @Test
    void ofUsd_sevenDecimals_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> MicroUsd.ofUsd("0.0000001"));
        assertTrue(e.getMessage().contains("more than six decimal places"), e.getMessage());
        assertTrue(e.getMessage().contains("0.0000001"), e.getMessage());
    }

    @Test
    void ofUsd_sevenDecimalsOnLargerAmount_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> MicroUsd.ofUsd("12.3456789"));
        assertTrue(e.getMessage().contains("more than six decimal places"), e.getMessage());
    }

    @Test
    void ofUsd_oneMicroPastLongMax_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> MicroUsd.ofUsd("9223372036854.775808"));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
    }

    @Test
    void ofUsd_notANumber_rejected() {
        for (String bad : new String[] {"abc", "", " ", "1,5", "$1", "0.25 USD", "NaN", "Infinity", "0x10"}) {
            InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                    () -> MicroUsd.ofUsd(bad), "'" + bad + "'");
            assertTrue(e.getMessage().contains("is not a decimal dollar amount"), bad + " -> " + e.getMessage());
        }
    }

    @Test
    void ofUsd_null_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, () -> MicroUsd.ofUsd(null));
        assertTrue(e.getMessage().contains("null"), e.getMessage());
    }

    /**
     * A nine-character exponent must be rejected as "too large" at once. BigDecimal's
     * {@code setScale(0)} on 1E+9999999 materialises a 10^9999999 BigInteger first, which
     * takes about ten seconds of CPU (1e99999999: minutes), so text from a config file or a
     * peer can stall the caller. The rejection must not depend on the exponent's size. The
     * 30 s limit is a hang guard (the regression takes minutes), not a speed measurement.
     */
    @Test
    void ofUsd_hugeExponent_rejectedQuickly() {
        for (String absurd : new String[] {"1e9999999", "1e99999999", "-1e99999999", "1e-99999999"}) {
            InvalidArgumentException e = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> assertThrowsExactly(InvalidArgumentException.class, () -> MicroUsd.ofUsd(absurd)));
            assertTrue(e.getMessage().contains("too large") || e.getMessage().contains("decimal places"),
                    absurd + ": " + e.getMessage());
        }
    }

    @Test
    void ofUsd_randomAmounts_matchIndependentDecimalParse() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 2_000; i++) {
            long dollars = rnd.nextLong(0, 9_223_372_036_854L);
            int micros = rnd.nextInt(1_000_000);
            String text = dollars + "." + String.format("%06d", micros);
            assertEquals(dollars * 1_000_000L + micros, MicroUsd.ofUsd(text).micros(), text);
        }
    }

    // ----------------------------------------------------------------- constructor

    @Test
    void ofMicros_negative_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> MicroUsd.ofMicros(-1));
        assertTrue(e.getMessage().contains("-1 micro-USD"), e.getMessage());
    }

    // --------------------------------------------------------------------- toString

    @Test
    void toString_sixDecimalsWithDollarSign() {
        assertEquals("$0.012500", MicroUsd.ofMicros(12_500).toString());
        assertEquals("$0.000000", MicroUsd.ZERO.toString());
        assertEquals("$0.000001", MicroUsd.ofMicros(1).toString());
        assertEquals("$1.000000", MicroUsd.ofMicros(1_000_000).toString());
        assertEquals("$9223372036854.775807", MicroUsd.ofMicros(Long.MAX_VALUE).toString());
    }

    @Test
    void toString_randomAmounts_matchIndependentFormatAndParseBack() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        for (int i = 0; i < 2_000; i++) {
            long m = rnd.nextLong(0, Long.MAX_VALUE);
            String expected = "$" + (m / 1_000_000) + "." + String.format("%06d", m % 1_000_000);
            MicroUsd amount = MicroUsd.ofMicros(m);
            assertEquals(expected, amount.toString());
            assertEquals(amount, MicroUsd.ofUsd(amount.toString().substring(1)));
        }
    }

    @Test
    void toUsd_isExactDecimal() {
        assertEquals(0, new BigDecimal("0.000001").compareTo(MicroUsd.ofMicros(1).toUsd()));
        assertEquals(0, new BigDecimal("9223372036854.775807").compareTo(MicroUsd.ofMicros(Long.MAX_VALUE).toUsd()));
    }

    // ------------------------------------------------------------------ arithmetic

    @Test
    void plus_addsExactly() {
        assertEquals(MicroUsd.ofMicros(Long.MAX_VALUE),
                MicroUsd.ofMicros(Long.MAX_VALUE - 7).plus(MicroUsd.ofMicros(7)));
        assertEquals(MicroUsd.ofMicros(250_001), MicroUsd.ofUsd("0.25").plus(MicroUsd.ofMicros(1)));
    }

    @Test
    void plus_overflow_throwsArithmeticException() {
        MicroUsd max = MicroUsd.ofMicros(Long.MAX_VALUE);
        assertThrowsExactly(ArithmeticException.class, () -> max.plus(MicroUsd.ofMicros(1)));
    }

    @Test
    void times_multipliesExactly() {
        assertEquals(MicroUsd.ofMicros(750_000), MicroUsd.ofUsd("0.25").times(3));
        assertEquals(MicroUsd.ZERO, MicroUsd.ofUsd("5").times(0));
    }

    @Test
    void times_overflow_throwsArithmeticException() {
        assertThrowsExactly(ArithmeticException.class, () -> MicroUsd.ofMicros(Long.MAX_VALUE / 2 + 1).times(2));
        assertThrowsExactly(ArithmeticException.class, () -> MicroUsd.ofMicros(3_037_000_500L).times(3_037_000_500L));
    }

    @Test
    void times_negativeFactor_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> MicroUsd.ofMicros(5).times(-1));
        assertTrue(e.getMessage().contains("zero or positive"), e.getMessage());
    }

    @Test
    void compareTo_ordersByAmount() {
        assertTrue(MicroUsd.ofMicros(1).compareTo(MicroUsd.ofMicros(2)) < 0);
        assertTrue(MicroUsd.ofMicros(2).compareTo(MicroUsd.ofMicros(1)) > 0);
        assertEquals(0, MicroUsd.ofUsd("1").compareTo(MicroUsd.ofMicros(1_000_000)));
    }
}
