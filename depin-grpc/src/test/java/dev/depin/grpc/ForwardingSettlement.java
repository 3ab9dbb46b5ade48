package dev.depin.grpc;

import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.spi.ClaimDisputes;
import dev.depin.settlement.spi.Settlement;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A buyer's settlement that forwards everything to a {@link RemoteSettlement}; tests override {@link #apply}. */
class ForwardingSettlement implements Settlement, ClaimDisputes {
    final RemoteSettlement inner;

    ForwardingSettlement(RemoteSettlement inner) {
        this.inner = inner;
    }

    @Override
    public CompletableFuture<Applied> apply(Operation op) {
        return inner.apply(op);
    }

    @Override
    public CompletableFuture<List<Applied>> dispute(OperationKey hold, byte[] record, Map<String, ByteBuffer> inputs,
                                                    Map<String, ByteBuffer> outputs) {
        return inner.dispute(hold, record, inputs, outputs);
    }

    @Override
    public CompletableFuture<Balance> open(AccountId account, AccountKind kind, boolean allowCredit) {
        return inner.open(account, kind, allowCredit);
    }

    @Override
    public Balance balance(AccountId account) {
        return inner.balance(account);
    }

    @Override
    public List<Balance> balances() {
        return inner.balances();
    }

    @Override
    public List<StatementLine> statement(AccountId account) {
        return inner.statement(account);
    }

    @Override
    public List<OpenHold> openHolds() {
        return inner.openHolds();
    }

    @Override
    public Optional<HoldRecord> hold(OperationKey key) {
        return inner.hold(key);
    }

    @Override
    public void close() {
        inner.close();
    }
}
