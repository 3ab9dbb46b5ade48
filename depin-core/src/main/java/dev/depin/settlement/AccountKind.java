package dev.depin.settlement;

/** What an account is for; the ledger refuses operations that do not fit the kind. */
public enum AccountKind {
    /** A compute buyer's funds: holds are taken from it, refunds return to it. */
    BUYER,
    /** A provider's earnings: posts pay into it. */
    PROVIDER,
    /** A provider's stake: the only kind a slash takes from. */
    STAKE,
    /** Fees collected by the operator of a network. */
    FEES,
    /** Burned funds ({@link AccountId#BURN}); nothing leaves it. */
    BURN,
    /** The issuer ({@link AccountId#ISSUER}); mints come from it and it may go below zero. */
    ISSUER
}
