package dev.depin.settlement;

import dev.depin.InvalidArgumentException;

/**
 * The idempotency key of one ledger operation.
 *
 * <p>An operation applies at most once per key: a retry with the same key and the same
 * fields returns the original result; the same key with different fields is refused with
 * {@link SettlementException} ({@code IDEMPOTENCY_CONFLICT}). For a job's money the key is
 * {@code job id / attempt / operation} ({@link #of(String, int, String)}).
 *
 * @param value the key, 1 to 200 characters from {@code [A-Za-z0-9:._/-]}
 */
public record OperationKey(String value) {
    /** The longest key. */
    private static final int MAX_LENGTH = 200;

    /**
     * Checks the key.
     *
     * @param value the key, 1 to 200 characters from {@code [A-Za-z0-9:._/-]}
     * @throws InvalidArgumentException if the key is null or malformed
     */
    public OperationKey {
        InvalidArgumentException.requireNonNull(value, "operation key");
        if (!AccountId.wellFormed(value, MAX_LENGTH, true)) {
            throw new InvalidArgumentException("operation key '" + value
                    + "' is malformed: use 1 to 200 characters from A-Z a-z 0-9 : . _ / -");
        }
    }

    /**
     * The key of one operation of one attempt of a job, {@code jobId/attempt/operation}.
     *
     * @param jobId     the job's id
     * @param attempt   the attempt number, &ge; 0
     * @param operation what is done, such as {@code hold}, {@code post}, {@code void}
     * @return the key
     * @throws InvalidArgumentException if a part is malformed or the attempt is negative
     */
    public static OperationKey of(String jobId, int attempt, String operation) {
        if (attempt < 0) {
            throw new InvalidArgumentException("attempt is " + attempt + ": attempts count from 0");
        }
        return new OperationKey(jobId + "/" + attempt + "/" + operation);
    }

    /**
     * A key given as text.
     *
     * @param value the key
     * @return the key
     * @throws InvalidArgumentException if the key is malformed
     */
    public static OperationKey of(String value) {
        return new OperationKey(value);
    }

    @Override
    public String toString() {
        return value;
    }
}
