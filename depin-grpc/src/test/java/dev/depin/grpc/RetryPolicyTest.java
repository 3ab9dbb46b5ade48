package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backoff grows exponentially to its cap, jitter only shortens it, and bad settings are refused. */
class RetryPolicyTest {

    @Test
    void backoffMillis_doublesUpToTheCapAndJitterShortensWithinItsFraction() {
        long seed = 0x5EED0011L;
        System.out.println("RetryPolicyTest seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 500; i++) {
            long initial = 1 + rnd.nextLong(i % 2 == 0 ? 10 : 60_000);
            long max = initial + rnd.nextLong(i % 3 == 0 ? 1 : 600_000 - initial + 1);
            double jitter = i % 5 == 0 ? 0 : i % 5 == 1 ? 1 : rnd.nextDouble();
            RetryPolicy p = new RetryPolicy(1 + rnd.nextInt(100), Duration.ofMillis(initial), Duration.ofMillis(max),
                    jitter);
            long nominal = initial;
            for (int retry : new int[] {1, 2, 3, 7, 20, 63, 64, 1000, Integer.MAX_VALUE}) {
                long d = Math.min(max, retryNominal(initial, max, retry));
                assertEquals(d, p.backoffMillis(retry, 0), "no randomness, no shortening: " + p + " retry " + retry);
                double r = rnd.nextDouble();
                long got = p.backoffMillis(retry, r);
                assertTrue(got <= d && got >= d - (long) Math.ceil(d * jitter), p + " retry " + retry + ": " + got);
                assertTrue(d >= nominal || d == max, "never shrinks with more retries");
                nominal = d;
            }
        }
    }

    private static long retryNominal(long initial, long max, int retry) {
        long d = initial;
        for (int i = 1; i < retry && d < max; i++) {
            d *= 2;
        }
        return d;
    }

    @Test
    void directoryDefault_pausesAtMostOneAndAHalfSecondsInAll() {
        RetryPolicy p = RetryPolicy.DIRECTORY_DEFAULT;
        long total = 0;
        for (int retry = 1; retry < p.maxAttempts(); retry++) {
            total += p.backoffMillis(retry, 0);
        }
        assertEquals(100 + 200 + 400 + 800, total);
        assertEquals(1, RetryPolicy.NONE.maxAttempts());
    }

    @Test
    void constructor_outOfRangeValuesAreRefusedWithTheReason() {
        Duration ms = Duration.ofMillis(1);
        assertRefused("retry max attempts is 0: give 1 (no retry) to 100", () -> new RetryPolicy(0, ms, ms, 0));
        assertRefused("retry max attempts is 101", () -> new RetryPolicy(101, ms, ms, 0));
        assertRefused("initial backoff PT0S must be 1 ms to 1 minute",
                () -> new RetryPolicy(2, Duration.ZERO, ms, 0));
        assertRefused("initial backoff PT1M0.001S must be 1 ms to 1 minute",
                () -> new RetryPolicy(2, Duration.ofMillis(60_001), Duration.ofMinutes(2), 0));
        assertRefused("max backoff PT0.001S must be at least the initial backoff (PT0.002S)",
                () -> new RetryPolicy(2, Duration.ofMillis(2), ms, 0));
        assertRefused("and at most 10 minutes", () -> new RetryPolicy(2, ms, Duration.ofMinutes(11), 0));
        assertRefused("jitter 1.5 must be a fraction from 0 to 1", () -> new RetryPolicy(2, ms, ms, 1.5));
        assertRefused("jitter -0.1 must be", () -> new RetryPolicy(2, ms, ms, -0.1));
        assertRefused("jitter NaN must be", () -> new RetryPolicy(2, ms, ms, Double.NaN));
        assertRefused("initial backoff", () -> new RetryPolicy(2, null, ms, 0));
        assertRefused("max backoff", () -> new RetryPolicy(2, ms, null, 0));
        assertRefused("retry 0 must be 1 or more", () -> RetryPolicy.NONE.backoffMillis(0, 0.5));
        assertRefused("random 1.0 must be in [0, 1)", () -> RetryPolicy.NONE.backoffMillis(1, 1.0));
    }

    private static void assertRefused(String message, Runnable r) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
