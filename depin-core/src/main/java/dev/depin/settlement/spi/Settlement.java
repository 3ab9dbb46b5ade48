package dev.depin.settlement.spi;

import dev.depin.settlement.SettlementException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.StatementLine;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where a job's money moves: a double-entry ledger of accounts with two-phase holds.
 *
 * <p>Contract for every implementation:
 * <ul>
 *   <li>{@link #apply} applies an operation at most once per key, atomically and durably:
 *       its future completes normally only after the operation is durable. An identical
 *       retry (same key and {@link Operation#fields()}) completes with the original
 *       {@link Applied}; the same key with other fields fails with
 *       {@link dev.depin.settlement.SettlementException} ({@code IDEMPOTENCY_CONFLICT}).</li>
 *   <li>A refusal fails the future with a specific
 *       {@link dev.depin.settlement.SettlementException} subclass and changes nothing.</li>
 *   <li>The sum of the posted balances over all accounts is always zero (the issuer is
 *       below zero by what was minted); no account but the issuer or one opened with credit
 *       has {@code posted - held} below zero; a hold resolves exactly once.</li>
 *   <li>Futures complete on the implementation's threads: callers must not block those
 *       threads in their continuations.</li>
 * </ul>
 */
public interface Settlement extends AutoCloseable {

    /**
     * Opens an account, or confirms an existing one with the same kind and credit setting.
     *
     * @param account     the account
     * @param kind        its kind; not {@link AccountKind#ISSUER} or {@link AccountKind#BURN},
     *                    which the ledger opens itself
     * @param allowCredit whether it may go below zero
     * @return its balance once the account is durable; fails with
     *         {@link dev.depin.settlement.SettlementException} ({@code ACCOUNT_CONFLICT}) if it exists with another
     *         kind or credit setting
     * @throws dev.depin.InvalidArgumentException if an argument is null or the kind is one the
     *                                            ledger opens itself
     */
    CompletableFuture<Balance> open(AccountId account, AccountKind kind, boolean allowCredit);

    /**
     * Applies an operation exactly once per key.
     *
     * @param operation the operation
     * @return its durable result, or a failure with the specific refusal
     * @throws dev.depin.InvalidArgumentException if {@code operation} is null
     */
    CompletableFuture<Applied> apply(Operation operation);

    /**
     * Applies several operations, each exactly as {@link #apply} would apply it alone, in the
     * order given; an implementation that commits in groups may take them together (one group
     * commit rather than whatever part of them happened to be queued when its writer woke).
     * What {@code apply} would throw for one operation fails that operation's future instead,
     * and the others still apply. The default applies them one by one.
     *
     * @param operations the operations; none null
     * @return one future per operation, in the same order
     * @throws dev.depin.InvalidArgumentException if {@code operations} is null
     */
    default List<CompletableFuture<Applied>> applyAll(List<Operation> operations) {
        dev.depin.InvalidArgumentException.requireNonNull(operations, "operations");
        List<CompletableFuture<Applied>> out = new java.util.ArrayList<>(operations.size());
        for (Operation op : operations) {
            try {
                out.add(apply(op));
            } catch (RuntimeException e) {
                out.add(CompletableFuture.failedFuture(e));
            }
        }
        return out;
    }

    /**
     * As {@link #applyAll(List)}, for operations that come from {@code source} (a peer's
     * address, say): an implementation that queues operations may take the queued operations of
     * different sources in turns, so that one source's backlog does not hold back another's
     * operations, while the operations of one source keep their order. The default ignores the
     * source.
     *
     * @param operations the operations; none null
     * @param source     who they come from; compared with {@code equals}
     * @return one future per operation, in the same order
     * @throws dev.depin.InvalidArgumentException if {@code operations} or {@code source} is null
     */
    default List<CompletableFuture<Applied>> applyAll(List<Operation> operations, String source) {
        dev.depin.InvalidArgumentException.requireNonNull(source, "source");
        return applyAll(operations);
    }

    /**
     * An account's balance as of the last durable operation.
     *
     * @param account the account
     * @return its balance
     * @throws dev.depin.settlement.SettlementException (UNKNOWN_ACCOUNT) if it was never opened
     * @throws dev.depin.settlement.LedgerFailureException  if the ledger cannot be read
     */
    Balance balance(AccountId account);

    /**
     * Every account's balance.
     *
     * @return the balances, ordered by account id
     * @throws dev.depin.settlement.LedgerFailureException if the ledger cannot be read
     */
    List<Balance> balances();

    /**
     * An account's posted movements, oldest first, with the running balance.
     *
     * @param account the account
     * @return its statement
     * @throws dev.depin.settlement.SettlementException (UNKNOWN_ACCOUNT) if it was never opened
     * @throws dev.depin.settlement.LedgerFailureException  if the ledger cannot be read
     */
    List<StatementLine> statement(AccountId account);

    /**
     * Holds not yet posted, voided or expired, oldest first: what a restarted buyer resolves.
     *
     * @return the open holds
     * @throws dev.depin.settlement.LedgerFailureException if the ledger cannot be read
     */
    List<OpenHold> openHolds();

    /**
     * A hold by its key, open or resolved: its payer, payee, amount, expiry, spec hash and
     * state. A settlement service decides with it who may post, void or claim a hold.
     *
     * @param key the hold's key
     * @return the hold, or empty if no hold has that key
     * @throws dev.depin.InvalidArgumentException          if {@code key} is null
     * @throws dev.depin.settlement.LedgerFailureException if the ledger cannot be read
     */
    Optional<HoldRecord> hold(OperationKey key);

    /**
     * Stops taking operations, finishes those already queued, and releases the ledger's
     * resources. Operations submitted afterwards fail with
     * {@link dev.depin.settlement.LedgerFailureException}.
     */
    @Override
    void close();
}
