package dev.depin.grpc.internal;

import dev.depin.network.spi.ExecutionRequest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the node makes of a job's batching hint (docs/decisions.md, "Session jobs share signatures"). */
class ProviderServiceTest {
    @Test
    void resultsQueued_loneSessionJobOrExecuteStream_keepsTheBuyersHint() {
        assertEquals(0, ProviderService.resultsQueued(0, 0));
        assertEquals(1, ProviderService.resultsQueued(1, ExecutionRequest.BEHIND - 1));
        assertEquals(Integer.MAX_VALUE, ProviderService.resultsQueued(-1, 0), "a uint32 above 2^31-1: far behind");
    }

    @Test
    void resultsQueued_sessionJobWithOthersInFlight_batchedAsABuyerThatIsBehind() {
        assertEquals(ExecutionRequest.BEHIND, ProviderService.resultsQueued(0, ExecutionRequest.BEHIND));
        assertEquals(ExecutionRequest.BEHIND, ProviderService.resultsQueued(1, Wire.SESSION_JOBS - 1));
        assertEquals(9, ProviderService.resultsQueued(9, 63), "a higher hint is kept");
    }
}
