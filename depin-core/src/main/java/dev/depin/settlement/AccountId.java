package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.util.regex.Pattern;

/**
 * The name of a ledger account, such as {@code buyer:acme} or {@code stake:3fa1...}.
 *
 * <p>1 to 128 characters from {@code [A-Za-z0-9:._-]}, so that account names are safe in
 * file names, logs and SQL without quoting.
 *
 * @param value the account's name
 */
public record AccountId(String value) {
    private static final Pattern FORM = Pattern.compile("[A-Za-z0-9:._-]{1,128}");

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
        if (!FORM.matcher(value).matches()) {
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

    @Override
    public String toString() {
        return value;
    }
}
