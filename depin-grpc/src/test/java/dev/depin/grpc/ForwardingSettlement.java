package dev.depin.grpc;

import dev.depin.settlement.Applied;
import dev.depin.settlement.ForwardingLedger;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.spi.ClaimDisputes;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** A buyer's settlement that forwards everything to a {@link RemoteSettlement}; tests override {@link #apply}. */
class ForwardingSettlement extends ForwardingLedger implements ClaimDisputes {
    final RemoteSettlement inner;

    ForwardingSettlement(RemoteSettlement inner) {
        super(inner);
        this.inner = inner;
    }

    @Override
    public CompletableFuture<List<Applied>> dispute(OperationKey hold, byte[] record, Map<String, ByteBuffer> inputs,
                                                    Map<String, ByteBuffer> outputs) {
        return inner.dispute(hold, record, inputs, outputs);
    }
}
