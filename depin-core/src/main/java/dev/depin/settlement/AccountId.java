package dev.depin.settlement;

import dev.depin.InvalidArgumentException;

/**
 * The name of a ledger account, such as {@code buyer:acme} or {@code stake:3fa1...}.
 *
 * <p>1 to 128 characters from {@code [A-Za-z0-9:._-]}, so that account names are safe in
 * file names, logs and SQL without quoting.
 *
 * @param value the account's name
 */
public record AccountId(String value) {
    /** The longest account name. */
    private static final int MAX_LENGTH = 128;

    /** The ledger's issuer: every mint is a transfer from it, so it is the only account below zero. */
    public static final AccountId ISSUER = new AccountId("system:issuer");

    /** Where burned (slashed and not refunded) stake goes. */
    public static final AccountId BURN = new AccountId("system:burn");

    /**
     * Checks the name.
     *
     * @param value the account's name, 1 to 128 characters from {@code [A-Za-z0-9:._-]}
     * @throws InvalidArgumentException if the name is null or malformed
     */
    public AccountId {
        InvalidArgumentException.requireNonNull(value, "account id");
        if (!wellFormed(value, MAX_LENGTH, false)) {
            throw new InvalidArgumentException("account id '" + value
                    + "' is malformed: use 1 to 128 characters from A-Z a-z 0-9 : . _ -");
        }
    }

    /**
     * An account id.
     *
     * @param value the account's name
     * @return the id
     * @throws InvalidArgumentException if the name is malformed
     */
    public static AccountId of(String value) {
        return new AccountId(value);
    }

    /**
     * Whether {@code value} is 1 to {@code maxLength} characters from {@code [A-Za-z0-9:._-]}, and
     * {@code /} where {@code slash}: written out instead of a regular expression, because every
     * operation the ledger applies checks several ids and keys, and the matcher was a measured
     * share of the settlement service's CPU. Shared with {@link OperationKey}.
     */
    static boolean wellFormed(String value, int maxLength, boolean slash) {
        int n = value.length();
        if (n == 0 || n > maxLength) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '.'
                    || c == '_' || c == '-' || (slash && c == '/'))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return value;
    }
}
