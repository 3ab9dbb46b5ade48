package dev.depin.grpc;

/**
 * The {@link dev.depin.settlement.SettlementContract} through the settlement service as an older
 * client speaks to it: batches as the operations' JSON ({@code ApplyBatch}), not their binary form.
 */
class RemoteSettlementJsonContractTest extends RemoteSettlementContractTest {
    @Override
    boolean binary() {
        return false;
    }
}
