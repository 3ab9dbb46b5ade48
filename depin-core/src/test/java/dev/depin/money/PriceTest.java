package dev.depin.money;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PriceTest {

    /** Fixed seed: every run sees the same prices and volumes. Printed so a failure can be replayed. */
    private static final long SEED = 0x9B1C_E000_2024L;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long BYTES_PER_GIGABYTE = 1_000_000_000L;

    @BeforeAll
    static void printSeed() {
        System.out.println("PriceTest seed=" + SEED);
    }

    private static Price price(long perSecondMicros, long perGigabyteMicros) {
        return new Price(MicroUsd.ofMicros(perSecondMicros), MicroUsd.ofMicros(perGigabyteMicros));
    }

    /** ceil(a * b / d), computed independently of the code under test. */
    private static BigInteger ceilMulDiv(long a, long b, long d) {
        BigInteger p = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b));
        BigInteger dd = BigInteger.valueOf(d);
        return p.add(dd).subtract(BigInteger.ONE).divide(dd);
    }

    @Test
    void charge_oneMicroPerSecondForOneNanosecond_roundsUpToOne() {
        assertEquals(1L, price(1, 0).charge(1, 0).micros());
    }

    @Test
    void charge_oneMicroPerGigabyteForOneByte_roundsUpToOne() {
        assertEquals(1L, price(0, 1).charge(0, 1).micros());
    }

    @Test
    void charge_zeroTimeAndZeroBytes_isZero() {
        assertEquals(MicroUsd.ZERO, price(7, 11).charge(0, 0));
        assertEquals(MicroUsd.ZERO, price(Long.MAX_VALUE, Long.MAX_VALUE).charge(0, 0));
    }

    @Test
    void charge_freePrice_isZeroForAnyVolume() {
        assertEquals(MicroUsd.ZERO, price(0, 0).charge(Long.MAX_VALUE, Long.MAX_VALUE));
    }

    @Test
    void charge_oneSecondAtSeven_isSeven() {
        assertEquals(7L, price(7, 0).charge(NANOS_PER_SECOND, 0).micros());
    }

    @Test
    void charge_oneNanosecondPastOneSecondAtSeven_roundsUpToEight() {
        assertEquals(8L, price(7, 0).charge(NANOS_PER_SECOND + 1, 0).micros());
    }

    @Test
    void charge_oneNanosecondShortOfOneSecondAtSeven_roundsUpToSeven() {
        assertEquals(7L, price(7, 0).charge(NANOS_PER_SECOND - 1, 0).micros());
    }

    @Test
    void charge_timeAndData_roundedSeparatelyThenSummed() {
        // time: ceil(3 * 1 / 1e9) = 1; data: ceil(5 * 1 / 1e9) = 1
        assertEquals(2L, price(3, 5).charge(1, 1).micros());
        // 2.5 s at 4 = 10; 3 GB at 10_000 = 30_000
        assertEquals(30_010L, price(4, 10_000).charge(2_500_000_000L, 3 * BYTES_PER_GIGABYTE).micros());
    }

    @Test
    void charge_productOverflowsLongButChargeFits_exact() {
        // 3,000 USD per second for 1,000 seconds: a * b = 3e21 overflows a long, the charge 3e12 does not
        long perSecond = 3_000_000_000L;
        long nanos = 1_000L * NANOS_PER_SECOND;
        assertEquals(3_000_000_000_000L, price(perSecond, 0).charge(nanos, 0).micros());
    }

    @Test
    void charge_exactlyLongMax_returned() {
        assertEquals(Long.MAX_VALUE, price(Long.MAX_VALUE, 0).charge(NANOS_PER_SECOND, 0).micros());
    }

    @Test
    void charge_timeChargeExceedsLong_throwsArithmeticException() {
        Price p = price(Long.MAX_VALUE, 0);
        assertThrowsExactly(ArithmeticException.class, () -> p.charge(NANOS_PER_SECOND + 1, 0));
        assertThrowsExactly(ArithmeticException.class, () -> p.charge(Long.MAX_VALUE, 0));
    }

    @Test
    void charge_dataChargeExceedsLong_throwsArithmeticException() {
        Price p = price(0, Long.MAX_VALUE);
        assertThrowsExactly(ArithmeticException.class, () -> p.charge(0, Long.MAX_VALUE));
    }

    @Test
    void charge_sumOfTimeAndDataExceedsLong_throwsArithmeticException() {
        // time charge is exactly Long.MAX_VALUE, data charge is 1
        Price p = price(Long.MAX_VALUE, 1);
        assertThrowsExactly(ArithmeticException.class, () -> p.charge(NANOS_PER_SECOND, 1));
    }

    @Test
    void charge_randomVolumes_matchIndependentCeiling() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        int fits = 0;
        int overflows = 0;
        for (int i = 0; i < 5_000; i++) {
            // log-uniform magnitudes, so that small, large and overflowing charges all occur
            long perSecond = rnd.nextLong(0, 1L << rnd.nextInt(1, 63));
            long perGigabyte = rnd.nextLong(0, 1L << rnd.nextInt(1, 63));
            long nanos = rnd.nextLong(0, 1L << rnd.nextInt(1, 63));
            long bytes = rnd.nextLong(0, 1L << rnd.nextInt(1, 63));
            BigInteger expected = ceilMulDiv(perSecond, nanos, NANOS_PER_SECOND)
                    .add(ceilMulDiv(perGigabyte, bytes, BYTES_PER_GIGABYTE));
            Price p = price(perSecond, perGigabyte);
            String what = perSecond + "/s x " + nanos + " ns + " + perGigabyte + "/GB x " + bytes + " B";
            if (expected.bitLength() < 64) {
                assertEquals(expected.longValueExact(), p.charge(nanos, bytes).micros(), what);
                fits++;
            } else {
                assertThrowsExactly(ArithmeticException.class, () -> p.charge(nanos, bytes), what);
                overflows++;
            }
        }
        // both branches must have been exercised, or this test proves little
        assertTrue(fits > 500 && overflows > 500, "fits=" + fits + " overflows=" + overflows);
    }

    @Test
    void charge_randomSmallVolumes_neverUndercharge() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        for (int i = 0; i < 5_000; i++) {
            long perSecond = rnd.nextLong(1, 1_000_000);
            long nanos = rnd.nextLong(1, 10 * NANOS_PER_SECOND);
            long charged = price(perSecond, 0).charge(nanos, 0).micros();
            // charged * 1e9 >= perSecond * nanos, and one micro less would be below it
            BigInteger owed = BigInteger.valueOf(perSecond).multiply(BigInteger.valueOf(nanos));
            BigInteger paid = BigInteger.valueOf(charged).multiply(BigInteger.valueOf(NANOS_PER_SECOND));
            assertTrue(paid.compareTo(owed) >= 0, perSecond + "/s x " + nanos + " ns undercharged: " + charged);
            assertTrue(paid.subtract(BigInteger.valueOf(NANOS_PER_SECOND)).compareTo(owed) < 0,
                    perSecond + "/s x " + nanos + " ns overcharged: " + charged);
        }
    }

    @Test
    void charge_negativeArguments_rejected() {
        Price p = price(1, 1);
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, () -> p.charge(-1, 0));
        assertTrue(e.getMessage().contains("must both be >= 0"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> p.charge(0, -1));
        assertTrue(e.getMessage().contains("must both be >= 0"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> p.charge(Long.MIN_VALUE, Long.MIN_VALUE));
        assertTrue(e.getMessage().contains("must both be >= 0"), e.getMessage());
    }

    @Test
    void constructor_nullParts_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new Price(null, MicroUsd.ZERO));
        assertTrue(e.getMessage().contains("price per device-second"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> new Price(MicroUsd.ZERO, null));
        assertTrue(e.getMessage().contains("price per gigabyte"), e.getMessage());
    }
}
