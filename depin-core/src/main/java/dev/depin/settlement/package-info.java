/**
 * Money as values: accounts, operations (mint, transfer, hold, post, void, expire, slash),
 * their durable results, balances and statements, and one exception per refusal.
 *
 * <p>Holds are two-phase transfers in TigerBeetle's style: a hold reserves the payer's
 * funds; it resolves exactly once, by a post (full or partial; the rest returns), a void,
 * or an expiry. Every operation carries an {@link dev.depin.settlement.OperationKey}; a
 * retry with the same fields returns the original {@link dev.depin.settlement.Applied}.
 *
 * <pre>{@code
 * OperationKey hold = OperationKey.of(jobId, attempt, "hold");
 * settlement.apply(new Operation.Hold(hold, buyer, provider, MicroUsd.ofUsd("0.25"), deadline)).join();
 * settlement.apply(new Operation.Post(OperationKey.of(jobId, attempt, "post"), hold, charge)).join();
 * }</pre>
 */
package dev.depin.settlement;
