package dev.depin.grpc;

import dev.depin.InvalidArgumentException;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How a call that failed for a transient reason (the peer unreachable, or no answer in time)
 * is tried again: at most {@code maxAttempts} tries in all, and before try {@code n + 1} a
 * pause of {@code d = min(maxBackoff, initialBackoff × 2^(n-1))}, shortened at random by up to
 * {@code jitter × d} so that many clients that failed together do not come back together.
 *
 * <pre>{@code
 * GrpcNetwork net = GrpcNetwork.builder().directory("10.0.0.1:7000").directory("10.0.0.2:7000")
 *         .directoryRetry(new RetryPolicy(6, Duration.ofMillis(100), Duration.ofSeconds(2), 0.5))
 *         .build();
 * }</pre>
 *
 * @param maxAttempts    tries in all, the first included: 1 (no retry) to 100
 * @param initialBackoff pause before the first retry, 1 ms to 1 minute
 * @param maxBackoff     longest pause, from {@code initialBackoff} to 10 minutes
 * @param jitter         fraction of each pause that is random, 0 to 1
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double jitter) {
    /** One try, no retry. */
    public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1), 0);

    /**
     * The default for directory queries and renewals: 5 tries, 100 ms doubling to at most
     * 2 s, half of each pause random (at most 1.5 s of pauses in all).
     */
    public static final RetryPolicy DIRECTORY_DEFAULT = new RetryPolicy(5, Duration.ofMillis(100),
            Duration.ofSeconds(2), 0.5);

    /**
     * Validates the policy.
     *
     * @param maxAttempts    tries in all, the first included: 1 (no retry) to 100
     * @param initialBackoff pause before the first retry, 1 ms to 1 minute
     * @param maxBackoff     longest pause, from {@code initialBackoff} to 10 minutes
     * @param jitter         fraction of each pause that is random, 0 to 1
     * @throws InvalidArgumentException if a value is out of its range
     */
    public RetryPolicy {
        if (maxAttempts < 1 || maxAttempts > 100) {
            throw new InvalidArgumentException("retry max attempts is " + maxAttempts
                    + ": give 1 (no retry) to 100 tries in all");
        }
        InvalidArgumentException.requireNonNull(initialBackoff, "initial backoff");
        InvalidArgumentException.requireNonNull(maxBackoff, "max backoff");
        if (initialBackoff.compareTo(Duration.ofMillis(1)) < 0 || initialBackoff.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new InvalidArgumentException("initial backoff " + initialBackoff + " must be 1 ms to 1 minute");
        }
        if (maxBackoff.compareTo(initialBackoff) < 0 || maxBackoff.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new InvalidArgumentException("max backoff " + maxBackoff + " must be at least the initial backoff ("
                    + initialBackoff + ") and at most 10 minutes");
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new InvalidArgumentException("jitter " + jitter + " must be a fraction from 0 to 1");
        }
    }

    /**
     * The pause before a retry.
     *
     * @param retry  which retry: 1 for the second try, 2 for the third, ...
     * @param random a number in [0, 1), e.g. from {@link ThreadLocalRandom}
     * @return the pause, in milliseconds: at least {@code (1 - jitter) × d}, at most {@code d}
     * @throws InvalidArgumentException if {@code retry < 1} or {@code random} is outside [0, 1)
     */
    public long backoffMillis(int retry, double random) {
        if (retry < 1) {
            throw new InvalidArgumentException("retry " + retry + " must be 1 or more (1 is the second try)");
        }
        if (!(random >= 0 && random < 1)) {
            throw new InvalidArgumentException("random " + random + " must be in [0, 1)");
        }
        long max = maxBackoff.toMillis();
        long d = initialBackoff.toMillis();
        for (int i = 1; i < retry && d < max; i++) {
            d *= 2;
        }
        d = Math.min(d, max);
        return d - (long) (d * jitter * random);
    }
}
