package dev.depin.settlement;

/** The operation does not fit an account's kind (a slash from an account that is not a stake, money into the issuer, money out of the burn account). Nothing was changed. */
public final class AccountKindException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public AccountKindException(String message) {
        super(message);
    }
}
