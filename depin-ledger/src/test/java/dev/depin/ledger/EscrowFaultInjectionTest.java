package dev.depin.ledger;

import dev.depin.client.FaultInjectionTest;
import dev.depin.job.JobResult;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's fault-injection suite (refused, silent, throwing and tampering networks,
 * cancels from every side, deadlines, the client and the network closed mid-run) with every
 * job paying through a real SQLite ledger. After each sub-run, with the client closed: no
 * hold is left open, the ledger sums to zero, the buyer has lost exactly what the providers
 * gained, and every settled job resolved each of its holds exactly once.
 */
class EscrowFaultInjectionTest extends FaultInjectionTest {
    private static final MicroUsd FUNDS = MicroUsd.ofUsd("1000000");
    private static JdbcLedger ledger;

    @BeforeAll
    static void openLedger() {
        ledger = Databases.sqlite().builder().open();
    }

    @AfterAll
    static void closeLedger() {
        ledger.close();
    }

    private static AccountId buyer(int run) {
        return AccountId.of("buyer:run-" + run);
    }

    @Override
    protected int subRuns() {
        return 5; // sub-runs 3 and 4 close the client and the network midway
    }

    @Override
    protected Escrow escrow(int run) {
        ledger.open(buyer(run), AccountKind.BUYER, false).join();
        ledger.apply(new Operation.Mint(OperationKey.of("fund-" + run), buyer(run), FUNDS)).join();
        return Escrow.builder(ledger, buyer(run)).session("run-" + run).build();
    }

    @Override
    protected void afterSubRun(int run, List<JobResult> results) {
        String where = "sub-run " + run;
        assertEquals(List.of(), ledger.openHolds(), where + ": holds left open");
        long sum = 0;
        long providers = 0;
        for (Balance b : ledger.balances()) {
            sum += b.posted();
            assertEquals(0, b.held(), where + ": " + b);
            if (b.kind() == AccountKind.PROVIDER) {
                providers += b.posted();
            }
        }
        assertEquals(0, sum, where + ": the ledger does not sum to zero");
        // No provider has a stake here, so nothing is slashed: what the buyers lost, providers gained.
        long spent = 0;
        for (int r = 0; r <= run; r++) {
            spent += FUNDS.micros() - ledger.balance(buyer(r)).posted();
        }
        assertEquals(providers, spent, where + ": buyers' losses and providers' gains differ");
        long paid = 0;
        for (JobResult r : results) {
            Map<OperationKey, Integer> resolutions = new HashMap<>();
            Set<OperationKey> holds = new HashSet<>();
            for (Applied a : r.settlement().operations()) {
                if (a.operation() instanceof Operation.Hold h) {
                    holds.add(h.key());
                } else if (a.operation() instanceof Operation.Post p) {
                    resolutions.merge(p.hold(), 1, Integer::sum);
                } else if (a.operation() instanceof Operation.VoidHold v) {
                    resolutions.merge(v.hold(), 1, Integer::sum);
                }
            }
            assertEquals(holds, resolutions.keySet(), where + " job " + r.jobId() + ": " + r.settlement());
            resolutions.values().forEach(n -> assertEquals(1, n, where + " job " + r.jobId()));
            assertTrue(r.settlement().operations().stream().anyMatch(a -> a.operation() instanceof Operation.Post),
                    where + " job " + r.jobId() + " settled without a post");
            paid += r.settlement().paid().micros();
        }
        long spentThisRun = FUNDS.micros() - ledger.balance(buyer(run)).posted();
        assertEquals(paid, spentThisRun, where + ": the settled jobs' payments are not what the buyer spent");
    }
}
