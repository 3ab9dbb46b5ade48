package dev.depin.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.ledger.JdbcLedger;
import dev.depin.settlement.Balance;

/** What every kill test of the settlement path checks last in the ledger file it left. */
final class LedgerBooks {
    private LedgerBooks() {
    }

    /** The audit is sound, nothing is held any more, and the posted balances sum to zero. */
    static void assertClosed(JdbcLedger jdbc) {
        assertTrue(jdbc.audit().sound(), () -> "audit: " + jdbc.audit().violations());
        long sum = 0;
        for (Balance b : jdbc.balances()) {
            sum += b.posted();
            assertEquals(0, b.held(), b.toString());
        }
        assertEquals(0, sum, "the books sum to zero");
    }
}
