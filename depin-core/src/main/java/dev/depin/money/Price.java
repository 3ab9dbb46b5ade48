package dev.depin.money;

import dev.depin.InvalidArgumentException;

/**
 * What a provider charges, in USD terms: per device-second of execution and per
 * gigabyte (10^9 bytes) moved in or out.
 *
 * @param perDeviceSecond micro-USD per second of device time
 * @param perGigabyte     micro-USD per 10^9 bytes transferred (inputs plus outputs)
 */
public record Price(MicroUsd perDeviceSecond, MicroUsd perGigabyte) {
    /**
     * Checks that both parts are given.
     *
     * @param perDeviceSecond micro-USD per second of device time
     * @param perGigabyte     micro-USD per 10^9 bytes transferred (inputs plus outputs)
     * @throws InvalidArgumentException if either part is null
     */
    public Price {
        InvalidArgumentException.requireNonNull(perDeviceSecond, "price per device-second");
        InvalidArgumentException.requireNonNull(perGigabyte, "price per gigabyte");
    }

    /**
     * The charge for a job, rounded up to whole micro-USD: never undercharges the
     * provider by a rounding step. Exact integer arithmetic, no floating point.
     *
     * @param deviceNanos device time in nanoseconds, &ge; 0
     * @param bytesMoved  bytes in plus bytes out, &ge; 0
     * @return the charge
     * @throws InvalidArgumentException if an argument is negative
     */
    public MicroUsd charge(long deviceNanos, long bytesMoved) {
        if (deviceNanos < 0 || bytesMoved < 0) {
            throw new InvalidArgumentException("device time " + deviceNanos + " ns and bytes moved "
                    + bytesMoved + " must both be >= 0");
        }
        long time = ceilMulDiv(perDeviceSecond.micros(), deviceNanos, 1_000_000_000L);
        long data = ceilMulDiv(perGigabyte.micros(), bytesMoved, 1_000_000_000L);
        return MicroUsd.ofMicros(Math.addExact(time, data));
    }

    private static long ceilMulDiv(long a, long b, long d) {
        java.math.BigInteger p = java.math.BigInteger.valueOf(a).multiply(java.math.BigInteger.valueOf(b));
        java.math.BigInteger[] qr = p.divideAndRemainder(java.math.BigInteger.valueOf(d));
        return (qr[1].signum() == 0 ? qr[0] : qr[0].add(java.math.BigInteger.ONE)).longValueExact();
    }
}
