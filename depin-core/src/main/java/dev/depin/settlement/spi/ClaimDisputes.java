package dev.depin.settlement.spi;

import dev.depin.settlement.Applied;
import dev.depin.settlement.OperationKey;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link Settlement} that re-checks a buyer's dispute of a provider's claim (a settlement
 * service; depin-grpc's {@code RemoteSettlement}). The engine uses it when the void of a disputed
 * attempt's hold is refused because the provider claimed the hold first ({@code HOLD_CLAIMED}):
 * it files the attempt's dispute record, with the job's inputs and the outputs the provider
 * delivered, and the hold is voided if the re-check upholds it.
 */
public interface ClaimDisputes {
    /**
     * Disputes a claimed hold.
     *
     * @param hold    the claimed hold
     * @param record  the JSON form of the claimed receipt's dispute record
     *                ({@code dev.depin.job.DisputeRecord#toJson()}: bytes, so that this SPI does not
     *                depend on the job API, which depends on settlement)
     * @param inputs  the job's inputs, by name
     * @param outputs the outputs the provider delivered, by name
     * @return the operations applied (the dispute, the void, perhaps a slash); fails with
     *         {@link dev.depin.settlement.SettlementException} ({@code DISPUTE_REJECTED} when the
     *         re-check does not uphold it, or the refusal)
     */
    CompletableFuture<List<Applied>> dispute(OperationKey hold, byte[] record, Map<String, ByteBuffer> inputs,
                                             Map<String, ByteBuffer> outputs);
}
