package dev.depin.settlement;

import dev.depin.settlement.spi.Settlement;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A settlement that forwards everything to another; tests override what they change (in core's
 * test jar, so that every module's tests wrap a ledger the same way).
 */
public class ForwardingLedger implements Settlement {
    private final Settlement delegate;

    /** @param delegate the settlement everything goes to */
    public ForwardingLedger(Settlement delegate) {
        this.delegate = delegate;
    }

    @Override
    public CompletableFuture<Applied> apply(Operation op) {
        return delegate.apply(op);
    }

    @Override
    public CompletableFuture<Balance> open(AccountId account, AccountKind kind, boolean allowCredit) {
        return delegate.open(account, kind, allowCredit);
    }

    @Override
    public Balance balance(AccountId account) {
        return delegate.balance(account);
    }

    @Override
    public List<Balance> balances() {
        return delegate.balances();
    }

    @Override
    public List<StatementLine> statement(AccountId account) {
        return delegate.statement(account);
    }

    @Override
    public List<OpenHold> openHolds() {
        return delegate.openHolds();
    }

    @Override
    public Optional<HoldRecord> hold(OperationKey key) {
        return delegate.hold(key);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
