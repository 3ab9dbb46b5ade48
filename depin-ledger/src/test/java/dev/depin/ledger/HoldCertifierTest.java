package dev.depin.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.VerifiedRoots;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The holds of one group commit are certified under one signed root. */
class HoldCertifierTest {
    private static final NodeKeyPair LEDGER_KEY = NodeKeyPair.fromSeed(new byte[32]);
    private static final AccountId BUYER = AccountId.of("buyer:acme");
    private static final AccountId PAYEE = AccountId.of("provider:" + LEDGER_KEY.nodeId().hex());
    private static final String SPEC = "5e".repeat(32);

    /** The system clock, except that the writer thread's next reading waits until {@link #open} is counted down. */
    private static final class GateClock extends Clock {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch open = new CountDownLatch(1);
        volatile boolean armed;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            if (armed && Thread.currentThread().getName().equals("depin-ledger-writer")) {
                armed = false;
                entered.countDown();
                try {
                    open.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return Instant.now();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Operation.Hold hold(String key) {
        return new Operation.Hold(OperationKey.of(key), BUYER, PAYEE, MicroUsd.ofMicros(10), Instant.now().plusSeconds(600),
                Optional.of(SPEC));
    }

    @Test
    void certify_holdsOfOneGroupCommit_shareOneRoot() throws Exception {
        GateClock clock = new GateClock();
        try (JdbcLedger ledger = JdbcLedger.builder().sqlite(Databases.temporaryDirectory("depin-certifier")
                .resolve("l.db")).clock(clock).certifyHolds(LEDGER_KEY).open()) {
            ledger.open(BUYER, AccountKind.BUYER, false).join();
            ledger.open(PAYEE, AccountKind.PROVIDER, false).join();
            ledger.apply(new Operation.Mint(OperationKey.of("fund"), BUYER, MicroUsd.ofUsd("1"))).join();
            // Hold the writer inside a group of one, queue 100 holds behind it: they make the next
            // group. Between them, transfers whose completion takes a millisecond on the writer's
            // thread (as a loaded machine would make it): the certifier, free meanwhile, must still
            // wait for the whole group.
            clock.armed = true;
            CompletableFuture<Applied> alone = ledger.apply(hold("h/alone"));
            assertTrue(clock.entered.await(30, TimeUnit.SECONDS), "the writer did not read the clock");
            List<CompletableFuture<Applied>> group = new ArrayList<>();
            List<CompletableFuture<Void>> slow = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                group.add(ledger.apply(hold("h/" + i)));
                slow.add(ledger.apply(new Operation.Transfer(OperationKey.of("t/" + i), BUYER, PAYEE, MicroUsd.ofMicros(1)))
                        .thenRun(() -> sleep(1)));
            }
            clock.open.countDown();
            assertEquals(1, alone.get(30, TimeUnit.SECONDS).certificate().orElseThrow().batch().orElseThrow().leafCount());
            HoldCertificate first = group.get(0).get(30, TimeUnit.SECONDS).certificate().orElseThrow();
            VerifiedRoots roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
            for (int i = 0; i < group.size(); i++) {
                HoldCertificate c = group.get(i).get(30, TimeUnit.SECONDS).certificate().orElseThrow();
                assertEquals(OperationKey.of("h/" + i), c.hold());
                assertEquals(100, c.batch().orElseThrow().leafCount(), "hold " + i + " was certified apart from its group");
                assertEquals(i, c.batch().orElseThrow().leafIndex());
                assertArrayEquals(first.envelope().payload(), c.envelope().payload(), "hold " + i + " under another root");
                c.verifyIssuer(LEDGER_KEY.publicKey(), roots);
            }
            CompletableFuture.allOf(slow.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
    }
}
