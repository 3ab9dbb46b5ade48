package dev.depin.network.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a request says about its buyer's verifier: checked, defaulted, carried along. */
class ExecutionRequestTest {
    private static final String ID = "0123456789abcdef0123456789abcdef";

    private static Job job() {
        return Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 3).input("x", new float[] {1, 2, 3}).build();
    }

    @Test
    void resultsQueued_negative_refused() {
        Job job = job();
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> new ExecutionRequest(ID, 1,
                job.spec(), job.inputs(), new byte[ExecutionRequest.NONCE_BYTES], Optional.empty(), Delivery.RETURN,
                -1));
        assertEquals("results queued is -1: give 0 when none are waiting for the buyer's verifier", e.getMessage());
    }

    @Test
    void resultsQueued_defaultsToZero_andTravelsWithTheRequest() {
        Job job = job();
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        assertEquals(0, new ExecutionRequest(ID, 1, job.spec(), job.inputs(), nonce).resultsQueued());
        assertEquals(0, new ExecutionRequest(ID, 1, job.spec(), job.inputs(), nonce, Optional.empty(),
                Delivery.RETURN).resultsQueued());
        ExecutionRequest behind = new ExecutionRequest(ID, 1, job.spec(), job.inputs(), nonce, Optional.empty(),
                Delivery.RETURN, 17);
        assertEquals(17, behind.resultsQueued());
        assertEquals(17, behind.withDelivery(new Delivery(Set.of(), null)).resultsQueued());
    }
}
